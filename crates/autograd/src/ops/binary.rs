//! Element-wise functions of two tensors, broadcasting as PyTorch: the
//! table of their forward kernels and derivative rules.
//!
//! Each entry is the whole op: its doc, name, scalar kernel `|a, b| ...`
//! (from which `Tensor::name` and `Var::name` are generated), its
//! derivative as a formula, and its rule `|g, a, b, out| da, db`: the two
//! gradients at the broadcast shape, in recorded `Var` ops. The table sums
//! each back to its operand's shape (`sum_to`, the adjoint of broadcasting),
//! and computes only the gradients that are needed.

use crate::op::{Ctx, Grads, Op, OpInfo};
use crate::{Element, Tensor, Var};

macro_rules! binary_ops {
    ($(
        $(#[$doc:meta])*
        $name:ident $Variant:ident = |$a:ident, $b:ident| $forward:expr,
        $formula:literal,
        |$g:ident, $av:ident, $bv:ident, $out:ident| $da:expr, $db:expr;
    )*) => {
        /// An element-wise function of two inputs, broadcasting.
        #[derive(Clone, Copy, Debug)]
        pub(crate) enum Binary {
            $( $Variant, )*
        }

        impl Binary {
            /// Every op of this family.
            pub(crate) const TABLE: &'static [OpInfo] = &[$(
                OpInfo {
                    name: stringify!($name),
                    family: "binary",
                    formula: $formula,
                    broadcasts: true,
                },
            )*];

            pub(crate) fn name(&self) -> &'static str {
                match self { $( Self::$Variant => stringify!($name), )* }
            }

            #[allow(unused_variables)]
            pub(crate) fn backward<T: Element>(&self, c: &Ctx<'_, T>) -> Grads<T> {
                let (g, a, b, out) = (c.g, &c.x[0], &c.x[1], c.out);
                let (da, db) = (|| a.shape(), || b.shape());
                match self {
                    $( Self::$Variant => {
                        let ($g, $av, $bv, $out) = (g, a, b, out);
                        Grads::from([
                            c.when(0, || ($da).sum_to(&da())),
                            c.when(1, || ($db).sum_to(&db())),
                        ])
                    } )*
                }
            }
        }

        impl<T: Element> Tensor<T> {
            $(
                $(#[$doc])*
                #[doc = ""]
                #[doc = concat!("Derivative: `", $formula, "`.")]
                pub fn $name(&self, other: &Tensor<T>) -> Tensor<T> {
                    self.zip_map(other, stringify!($name), #[inline(always)] |$a: T, $b: T| $forward)
                }
            )*
        }

        impl<T: Element> Var<T> {
            $(
                $(#[$doc])*
                #[doc = ""]
                #[doc = concat!("Derivative: `", $formula, "`.")]
                pub fn $name(&self, other: &Var<T>) -> Var<T> {
                    self.check_same_tape(other, stringify!($name));
                    let value = self.with_value(|a| other.with_value(|b| a.$name(b)));
                    self.record(Op::Binary(Binary::$Variant), &[self, other], value)
                }
            )*
        }
    };
}

binary_ops! {
    /// `a + b`, broadcasting as PyTorch.
    add Add = |a, b| a + b,
        "d(a + b) = da + db",
        |g, a, b, out| g.clone(), g.clone();
    /// `a - b`, broadcasting as PyTorch.
    sub Sub = |a, b| a - b,
        "d(a - b) = da - db",
        |g, a, b, out| g.clone(), g.neg();
    /// `a * b` element-wise, broadcasting as PyTorch.
    mul Mul = |a, b| a * b,
        "d(a b) = b da + a db",
        |g, a, b, out| g * b, g * a;
    /// `a / b` element-wise, broadcasting as PyTorch.
    div Div = |a, b| a / b,
        "d(a / b) = da / b - (a / b) db / b",
        |g, a, b, out| g / b, (g * out / b).neg();
    /// tanh's derivative rule as one fused op: `a ⊙ (1 - y²)` for a
    /// gradient `a` and tanh's output `y`. It has its own rule, so it
    /// differentiates again like any op; fusing saves three passes over
    /// memory per tanh in every backward sweep.
    tanh_backward TanhBackward = |a, y| a * (T::one() - y * y),
        "tanh_backward(a, y) = a (1 - y^2): d/da = 1 - y^2, d/dy = -2 a y",
        |g, a, y, out| g.tanh_backward(y), (g * a * y).mul_scalar(T::from_f64(-2.0));
    /// sigmoid's derivative rule as one fused op: `a ⊙ s ⊙ (1 - s)` for a
    /// gradient `a` and sigmoid's output `s`.
    sigmoid_backward SigmoidBackward = |a, s| a * s * (T::one() - s),
        "sigmoid_backward(a, s) = a s (1 - s): d/da = s (1 - s), d/ds = a (1 - 2 s)",
        |g, a, s, out| g.sigmoid_backward(s),
            g * a * &s.mul_scalar(T::from_f64(-2.0)).add_scalar(T::one());
}
