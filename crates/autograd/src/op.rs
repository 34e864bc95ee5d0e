//! The closed set of recorded operations. Every derivative rule lives in
//! one `match` in `backward.rs`.

use smallvec::{smallvec, SmallVec};

use crate::Tensor;

/// The index of a node on its tape.
pub(crate) type NodeId = usize;

/// Inputs of a node: two at most, except for `Concat`.
pub(crate) type Inputs = SmallVec<[NodeId; 2]>;

/// A recorded operation and what its derivative rule needs besides the
/// input and output values (which stay on the tape).
#[derive(Clone, Debug)]
pub(crate) enum Op<T> {
    /// A leaf that requires grad.
    Leaf,
    /// A value nobody differentiates: data, or anything computed from
    /// constants only, or while recording is off.
    Constant,
    Add(NodeId, NodeId),
    Sub(NodeId, NodeId),
    Mul(NodeId, NodeId),
    Div(NodeId, NodeId),
    AddScalar(NodeId),
    MulScalar(NodeId, T),
    Neg(NodeId),
    Exp(NodeId),
    Log(NodeId),
    Sqrt(NodeId),
    Powf(NodeId, T),
    Square(NodeId),
    Abs(NodeId),
    Tanh(NodeId),
    Sigmoid(NodeId),
    /// `g ⊙ (1 - y²)` from a gradient `g` and tanh's output `y`: tanh's rule, fused.
    TanhBackward(NodeId, NodeId),
    /// `g ⊙ s ⊙ (1 - s)` from a gradient `g` and sigmoid's output `s`: sigmoid's rule, fused.
    SigmoidBackward(NodeId, NodeId),
    Relu(NodeId),
    Softplus(NodeId),
    NormalCdf(NodeId),
    Sin(NodeId),
    Cos(NodeId),
    MatMul {
        a: NodeId,
        b: NodeId,
        trans_a: bool,
        trans_b: bool,
    },
    Transpose(NodeId, usize, usize),
    Reshape(NodeId),
    BroadcastTo(NodeId),
    SumTo(NodeId),
    Gather {
        x: NodeId,
        dim: usize,
        index: Tensor<usize>,
    },
    ScatterAdd {
        src: NodeId,
        dim: usize,
        index: Tensor<usize>,
    },
    Concat {
        parts: SmallVec<[NodeId; 4]>,
        dim: usize,
    },
    Narrow {
        x: NodeId,
        dim: usize,
        start: usize,
    },
}

impl<T> Op<T> {
    /// The op's name, as users call it (for messages and anomaly reports).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Leaf => "leaf",
            Op::Constant => "constant",
            Op::Add(..) => "add",
            Op::Sub(..) => "sub",
            Op::Mul(..) => "mul",
            Op::Div(..) => "div",
            Op::AddScalar(..) => "add_scalar",
            Op::MulScalar(..) => "mul_scalar",
            Op::Neg(..) => "neg",
            Op::Exp(..) => "exp",
            Op::Log(..) => "log",
            Op::Sqrt(..) => "sqrt",
            Op::Powf(..) => "powf",
            Op::Square(..) => "square",
            Op::Abs(..) => "abs",
            Op::Tanh(..) => "tanh",
            Op::Sigmoid(..) => "sigmoid",
            Op::TanhBackward(..) => "tanh_backward",
            Op::SigmoidBackward(..) => "sigmoid_backward",
            Op::Relu(..) => "relu",
            Op::Softplus(..) => "softplus",
            Op::NormalCdf(..) => "normal_cdf",
            Op::Sin(..) => "sin",
            Op::Cos(..) => "cos",
            Op::MatMul { .. } => "matmul",
            Op::Transpose(..) => "transpose",
            Op::Reshape(..) => "reshape",
            Op::BroadcastTo(..) => "broadcast_to",
            Op::SumTo(..) => "sum_to",
            Op::Gather { .. } => "gather",
            Op::ScatterAdd { .. } => "scatter_add",
            Op::Concat { .. } => "concat",
            Op::Narrow { .. } => "narrow",
        }
    }

    /// The nodes this op reads, in the order its rule returns gradients.
    pub(crate) fn inputs(&self) -> Inputs {
        match *self {
            Op::Leaf | Op::Constant => SmallVec::new(),
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) => smallvec![a, b],
            Op::MatMul { a, b, .. } => smallvec![a, b],
            Op::TanhBackward(g, y) | Op::SigmoidBackward(g, y) => smallvec![g, y],
            Op::AddScalar(x)
            | Op::MulScalar(x, _)
            | Op::Neg(x)
            | Op::Exp(x)
            | Op::Log(x)
            | Op::Sqrt(x)
            | Op::Powf(x, _)
            | Op::Square(x)
            | Op::Abs(x)
            | Op::Tanh(x)
            | Op::Sigmoid(x)
            | Op::Relu(x)
            | Op::Softplus(x)
            | Op::NormalCdf(x)
            | Op::Sin(x)
            | Op::Cos(x)
            | Op::Transpose(x, ..)
            | Op::Reshape(x)
            | Op::BroadcastTo(x)
            | Op::SumTo(x)
            | Op::Gather { x, .. }
            | Op::ScatterAdd { src: x, .. }
            | Op::Narrow { x, .. } => smallvec![x],
            Op::Concat { ref parts, .. } => parts.iter().copied().collect(),
        }
    }
}
