//! Element-wise functions of one tensor: the table of their forward
//! kernels and derivative rules.
//!
//! Each entry is the whole op: the method's doc, its name, its scalar
//! kernel `|x| ...` (from which `Tensor::name` and `Var::name` are
//! generated), its derivative as a formula, and its rule `|g, x, y| ...`,
//! written in recorded `Var` ops (`g` the output's gradient, `x` the input,
//! `y` the output), so that every order of derivative comes for free.

use crate::op::{Ctx, Grads, Op, OpInfo};
use crate::{Element, Tensor, Var};

macro_rules! unary_ops {
    ($(
        $(#[$doc:meta])*
        $name:ident $Variant:ident ($x:ident $(; $p:ident : $pty:ty)?) = $forward:expr,
        $formula:literal,
        |$g:ident, $xv:ident, $y:ident| $rule:expr;
    )*) => {
        /// An element-wise function of one input, with its parameter if any.
        #[derive(Clone, Copy, Debug)]
        pub(crate) enum Unary<T> {
            $( $Variant $(($pty))?, )*
        }

        impl<T: Element> Unary<T> {
            /// Every op of this family.
            pub(crate) const TABLE: &'static [OpInfo] = &[$(
                OpInfo {
                    name: stringify!($name),
                    family: "unary",
                    formula: $formula,
                    broadcasts: false,
                },
            )*];

            pub(crate) fn name(&self) -> &'static str {
                match self { $( Self::$Variant { .. } => stringify!($name), )* }
            }

            #[allow(unused_variables)]
            pub(crate) fn backward(&self, c: &Ctx<'_, T>) -> Grads<T> {
                let (g, x, y) = (c.g, &c.x[0], c.out);
                let grad = match *self {
                    $( Self::$Variant $(($p))? => {
                        let ($g, $xv, $y) = (g, x, y);
                        $rule
                    } )*
                };
                Grads::from(grad)
            }
        }

        impl<T: Element> Tensor<T> {
            $(
                $(#[$doc])*
                #[doc = ""]
                #[doc = concat!("Derivative: `", $formula, "`.")]
                pub fn $name(&self $(, $p: $pty)?) -> Tensor<T> {
                    self.map(#[inline(always)] |$x: T| $forward)
                }
            )*
        }

        impl<T: Element> Var<T> {
            $(
                $(#[$doc])*
                #[doc = ""]
                #[doc = concat!("Derivative: `", $formula, "`.")]
                pub fn $name(&self $(, $p: $pty)?) -> Var<T> {
                    let value = self.with_value(|x| x.$name($($p)?));
                    self.record(Op::Unary(Unary::$Variant $(($p))?), &[self], value)
                }
            )*
        }
    };
}

unary_ops! {
    /// `-x`.
    neg Neg(x) = -x,
        "d/dx (-x) = -1",
        |g, x, y| g.neg();
    /// `x + s` for a constant `s`.
    add_scalar AddScalar(x; s: T) = x + s,
        "d/dx (x + s) = 1",
        |g, x, y| g.clone();
    /// `x * s` for a constant `s`.
    mul_scalar MulScalar(x; s: T) = x * s,
        "d/dx (s x) = s",
        |g, x, y| g.mul_scalar(s);
    /// `e^x` (for `f32` a vectorised form within 2.5e-7 relative).
    exp Exp(x) = x.exp_fast(),
        "d/dx e^x = e^x",
        |g, x, y| g * y;
    /// Natural logarithm.
    log Log(x) = x.ln(),
        "d/dx log x = 1 / x",
        |g, x, y| g / x;
    /// Square root.
    sqrt Sqrt(x) = x.sqrt(),
        "d/dx sqrt x = 1 / (2 sqrt x)",
        |g, x, y| (g / y).mul_scalar(T::from_f64(0.5));
    /// `x^p` for a constant exponent `p`.
    powf Powf(x; p: T) = x.powf(p),
        "d/dx x^p = p x^(p-1)",
        |g, x, y| (g * &x.powf(p - T::one())).mul_scalar(p);
    /// `x^2`.
    square Square(x) = x * x,
        "d/dx x^2 = 2 x",
        |g, x, y| (g * x).mul_scalar(T::from_f64(2.0));
    /// `|x|` (its derivative at 0 is taken as 0, as PyTorch).
    abs Abs(x) = x.abs(),
        "d/dx |x| = sign x (0 at 0)",
        |g, x, y| g * &y.constant_like(x.value().sign());
    /// Hyperbolic tangent (for `f32` a vectorised rational form within 7 ulp).
    tanh Tanh(x) = x.tanh_fast(),
        "d/dx tanh x = 1 - tanh^2 x",
        |g, x, y| g.tanh_backward(y);
    /// Logistic sigmoid `1 / (1 + e^-x)`, without overflow for large `|x|`.
    sigmoid Sigmoid(x) = if x >= T::zero() {
            T::one() / (T::one() + (-x).exp())
        } else {
            let e = x.exp();
            e / (T::one() + e)
        },
        "d/dx sigmoid x = s (1 - s), s = sigmoid x",
        |g, x, y| g.sigmoid_backward(y);
    /// `max(x, 0)` (its derivative at 0 is taken as 0, as PyTorch).
    relu Relu(x) = if x > T::zero() { x } else { T::zero() },
        "d/dx relu x = 1 where x > 0, else 0",
        |g, x, y| g * &y.constant_like(x.value().positive_mask());
    /// `log(1 + e^x)`, computed as `max(x, 0) + log1p(e^-|x|)` so it never overflows.
    softplus Softplus(x) = x.max(T::zero()) + (-x.abs()).exp().ln_1p(),
        "d/dx log(1 + e^x) = sigmoid x",
        |g, x, y| g * &x.sigmoid();
    /// The standard normal CDF `Phi(x) = (1 + erf(x / sqrt 2)) / 2`.
    normal_cdf NormalCdf(x) = normal_cdf(x),
        "d/dx Phi(x) = exp(-x^2 / 2) / sqrt(2 pi)",
        |g, x, y| {
            let density = x.square().mul_scalar(T::from_f64(-0.5)).exp();
            (g * &density).mul_scalar(T::from_f64(1.0 / (2.0 * std::f64::consts::PI).sqrt()))
        };
    /// GELU, the exact (erf) form as PyTorch's default: `x Phi(x)`. One
    /// kernel forward and two backward (where `x * normal_cdf(x)` took two
    /// and eight), and the same value as that product, bit for bit.
    gelu Gelu(x) = x * normal_cdf(x),
        "d/dx x Phi(x) = Phi(x) + x phi(x), phi the standard normal density",
        |g, x, y| g * &x.gelu_derivative();
    /// The derivative of [`Var::gelu`], `Phi(x) + x phi(x)`, as its own
    /// kernel so that a GELU's gradient is two passes over the values.
    gelu_derivative GeluDerivative(x) = normal_cdf(x) + x * normal_density(x),
        "d/dx (Phi(x) + x phi(x)) = phi(x) (2 - x^2)",
        |g, x, y| {
            let density = x.square().mul_scalar(T::from_f64(-0.5)).exp().mul_scalar(
                T::from_f64(1.0 / (2.0 * std::f64::consts::PI).sqrt()),
            );
            g * &(&density * &x.square().neg().add_scalar(T::from_f64(2.0)))
        };
    /// Sine.
    sin Sin(x) = x.sin(),
        "d/dx sin x = cos x",
        |g, x, y| g * &x.cos();
    /// Cosine.
    cos Cos(x) = x.cos(),
        "d/dx cos x = -sin x",
        |g, x, y| (g * &x.sin()).neg();
    /// Arctangent.
    atan Atan(x) = x.atan(),
        "d/dx atan x = 1 / (1 + x^2)",
        |g, x, y| g / &x.square().add_scalar(T::one());
    /// `log(1 + x)`, accurate for small `x`.
    log1p Log1p(x) = x.ln_1p(),
        "d/dx log(1 + x) = 1 / (1 + x)",
        |g, x, y| g / &x.add_scalar(T::one());
}

/// The standard normal CDF `Phi(x) = (1 + erf(x / sqrt 2)) / 2`.
#[inline(always)]
fn normal_cdf<T: Element>(x: T) -> T {
    T::from_f64(0.5) * (T::one() + (x * T::from_f64(std::f64::consts::FRAC_1_SQRT_2)).erf())
}

/// The standard normal density `phi(x) = exp(-x^2 / 2) / sqrt(2 pi)`.
#[inline(always)]
fn normal_density<T: Element>(x: T) -> T {
    (x * x * T::from_f64(-0.5)).exp_fast() * T::from_f64(1.0 / (2.0 * std::f64::consts::PI).sqrt())
}

impl<T: Element> Var<T> {
    /// `1 / x`.
    pub fn recip(&self) -> Var<T> {
        self.powf(-T::one())
    }
}

impl<T: Element> Var<T> {
    /// Dropout, as PyTorch's `F.dropout` in training mode: each element is
    /// zeroed with probability `p` and the rest are scaled by `1 / (1 - p)`,
    /// with the mask drawn from the tape's own generator
    /// ([`crate::Tape::with_seed`]). The mask is a constant on the tape, so
    /// a gradient and the Hessian-vector products of the same step see the
    /// same mask; every derivative is that of a product with a constant.
    /// Panics unless `0 <= p < 1`. For evaluation, do not call it (the
    /// identity), as `nn::Dropout` does in evaluation mode.
    ///
    /// ```
    /// use curvature_autograd::{Tape, Tensor};
    /// let tape = Tape::with_seed(3);
    /// let x = tape.var(Tensor::<f64>::ones(&[1000]));
    /// let y = x.dropout(0.25).value().to_vec();
    /// assert!(y.iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-12));
    /// let kept = y.iter().filter(|&&v| v > 0.0).count();
    /// assert!((700..800).contains(&kept), "{kept}");
    /// ```
    pub fn dropout(&self, p: f64) -> Var<T> {
        assert!(
            (0.0..1.0).contains(&p),
            "dropout: the probability must be in [0, 1), got {p}"
        );
        if p == 0.0 {
            return self.clone();
        }
        let shape = self.shape();
        let scale = T::from_f64(1.0 / (1.0 - p));
        let mask = self.tape().with_rng(|rng| {
            let draws = Tensor::<T>::rand_uniform(&shape, 0.0, 1.0, rng);
            draws.map(|u| if u.as_f64() < p { T::zero() } else { scale })
        });
        self * &mask
    }
}
