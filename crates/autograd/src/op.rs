//! What a tape node records, and how an op is declared.
//!
//! An op is declared once, in the table of its family (`ops/unary.rs`,
//! `ops/binary.rs`, `ops/shape.rs`, `ops/index.rs`, `ops/matmul.rs`,
//! `ops/conv.rs`):
//! its name, its derivative formula as one line of text, and its derivative
//! rule written in recorded `Var` ops. The element-wise tables also hold the
//! scalar forward kernel, from which the `Tensor` and `Var` methods are
//! generated, so an element-wise op is one table entry. The tables expand
//! to closed enums, so a node's op is a small value (no allocation) and the
//! list of every op is known at compile time: [`op_table`] returns it, and
//! a test fails when an op in it has no gradcheck and gradgradcheck case.

use smallvec::SmallVec;

use crate::ops::{Binary, Conv, Index, Layout, Product, Unary};
use crate::{Element, Var};

/// The index of a node on its tape.
pub(crate) type NodeId = usize;

/// The inputs of a node, in the order its rule returns gradients.
pub(crate) type Inputs = SmallVec<[NodeId; 2]>;

/// A recorded operation: which family, and the op's own parameters.
/// The input node ids are stored beside it, on the node.
#[derive(Clone, Debug)]
pub(crate) enum Op<T> {
    /// A leaf that requires grad.
    Leaf,
    /// A value nobody differentiates: data, anything computed from
    /// constants only, or anything computed while recording is off.
    Constant,
    Unary(Unary<T>),
    Binary(Binary),
    Layout(Layout),
    Index(Index),
    Product(Product),
    Conv(Conv),
}

impl<T: Element> Op<T> {
    /// The op's name, as users call it (for messages and anomaly reports).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Leaf => "leaf",
            Op::Constant => "constant",
            Op::Unary(op) => op.name(),
            Op::Binary(op) => op.name(),
            Op::Layout(op) => op.name(),
            Op::Index(op) => op.name(),
            Op::Product(op) => op.name(),
            Op::Conv(op) => op.name(),
        }
    }

    /// The gradient with respect to each input, given the gradient of the
    /// output; `None` where the input needs none.
    pub(crate) fn backward(&self, c: &Ctx<'_, T>) -> Grads<T> {
        match self {
            Op::Leaf | Op::Constant => Grads::none(),
            Op::Unary(op) => op.backward(c),
            Op::Binary(op) => op.backward(c),
            Op::Layout(op) => op.backward(c),
            Op::Index(op) => op.backward(c),
            Op::Product(op) => op.backward(c),
            Op::Conv(op) => op.backward(c),
        }
    }
}

/// What a derivative rule sees: its node's inputs and output as `Var`s,
/// the gradient `g` of the output, and which inputs need a gradient.
pub(crate) struct Ctx<'a, T: Element> {
    /// The node's inputs, in declaration order.
    pub x: &'a [Var<T>],
    /// The node's output.
    pub out: &'a Var<T>,
    /// The gradient of the output (the seed of this rule).
    pub g: &'a Var<T>,
    /// Whether input `i` lies on a path to a requested input.
    pub needs: &'a [bool],
}

impl<T: Element> Ctx<'_, T> {
    /// `f()` if input `i` needs a gradient: rules compute only what is needed.
    pub(crate) fn when(&self, i: usize, f: impl FnOnce() -> Var<T>) -> Option<Var<T>> {
        self.needs[i].then(f)
    }
}

/// The gradients a rule returns, one per input (`None`: not needed).
pub(crate) struct Grads<T>(pub(crate) SmallVec<[Option<Var<T>>; 2]>);

impl<T> Grads<T> {
    pub(crate) fn none() -> Self {
        Grads(SmallVec::new())
    }
}

impl<T> From<Var<T>> for Grads<T> {
    fn from(g: Var<T>) -> Self {
        Grads(smallvec::smallvec![Some(g)])
    }
}

impl<T> From<Vec<Option<Var<T>>>> for Grads<T> {
    fn from(gs: Vec<Option<Var<T>>>) -> Self {
        Grads(gs.into())
    }
}

impl<T> From<[Option<Var<T>>; 2]> for Grads<T> {
    fn from(gs: [Option<Var<T>>; 2]) -> Self {
        Grads(SmallVec::from_buf(gs))
    }
}

/// One op the engine records: its name, family and derivative formula.
/// [`op_table`] lists them all: the engine's table of derivative rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpInfo {
    /// The op's name, as its method is called (`"tanh"`, `"matmul"`).
    pub name: &'static str,
    /// The family table that declares it (`"unary"`, `"binary"`, `"layout"`,
    /// `"index"`, `"product"`, `"conv"`).
    pub family: &'static str,
    /// The derivative rule as a formula (`"d/dx tanh x = 1 - tanh^2 x"`).
    pub formula: &'static str,
    /// Whether the op broadcasts its operands as PyTorch does (its checks
    /// must then include a broadcasting case).
    pub broadcasts: bool,
}

/// Every primitive op the tape can record, with its derivative formula.
/// Composite ops (`softmax`, `gelu`, `mean`, `max_dim`, ...) are built from
/// these and need no rule of their own.
///
/// ```
/// let table = curvature_autograd::op_table();
/// let tanh = table.iter().find(|op| op.name == "tanh").unwrap();
/// assert_eq!(tanh.formula, "d/dx tanh x = 1 - tanh^2 x");
/// ```
pub fn op_table() -> Vec<OpInfo> {
    [
        Unary::<f64>::TABLE,
        Binary::TABLE,
        Layout::TABLE,
        Index::TABLE,
        Product::TABLE,
        Conv::TABLE,
    ]
    .concat()
}

/// Declares a family of structural ops: an enum whose variants carry each
/// op's parameters, with its name, its formula and its derivative rule.
///
/// ```text
/// /// doc
/// Variant { field: Type, .. } "name", "formula", |c| rule;
/// ```
///
/// The rule sees the fields by value and `c: &Ctx`; it returns one `Var`
/// (single-input ops) or `Grads` (several inputs).
macro_rules! op_family {
    (
        $(#[$enum_doc:meta])*
        $family:literal enum $Enum:ident {
            $(
                $(#[$doc:meta])*
                $Variant:ident { $($field:ident : $fty:ty),* $(,)? }
                $name:literal, $formula:literal,
                |$c:ident| $rule:expr;
            )*
        }
    ) => {
        $(#[$enum_doc])*
        #[derive(Clone, Debug)]
        pub(crate) enum $Enum {
            $( $(#[$doc])* $Variant { $($field: $fty),* }, )*
        }

        impl $Enum {
            /// Every op of this family.
            pub(crate) const TABLE: &'static [$crate::op::OpInfo] = &[$(
                $crate::op::OpInfo {
                    name: $name,
                    family: $family,
                    formula: $formula,
                    broadcasts: false,
                },
            )*];

            pub(crate) fn name(&self) -> &'static str {
                match self { $( Self::$Variant { .. } => $name, )* }
            }

            #[allow(unused_variables)]
            pub(crate) fn backward<T: $crate::Element>(
                &self,
                ctx: &$crate::op::Ctx<'_, T>,
            ) -> $crate::op::Grads<T> {
                match self.clone() {
                    $( Self::$Variant { $($field),* } => {
                        let $c = ctx;
                        $crate::op::Grads::from($rule)
                    } )*
                }
            }
        }
    };
}
pub(crate) use op_family;
