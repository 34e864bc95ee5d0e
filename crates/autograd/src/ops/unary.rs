//! Element-wise math and activations.

use crate::op::Op;
use crate::{Element, Tensor, Var};

impl<T: Element> Var<T> {
    fn unary(&self, op: Op<T>, f: impl Fn(&Tensor<T>) -> Tensor<T>) -> Var<T> {
        self.record(op, f(&self.value()))
    }

    /// `e^x`.
    pub fn exp(&self) -> Var<T> {
        self.unary(Op::Exp(self.id), Tensor::exp)
    }

    /// Natural logarithm.
    pub fn log(&self) -> Var<T> {
        self.unary(Op::Log(self.id), Tensor::log)
    }

    /// Square root.
    pub fn sqrt(&self) -> Var<T> {
        self.unary(Op::Sqrt(self.id), Tensor::sqrt)
    }

    /// `x^p` for a constant exponent `p`.
    pub fn powf(&self, p: T) -> Var<T> {
        self.unary(Op::Powf(self.id, p), |x| x.powf(p))
    }

    /// `x^2`.
    pub fn square(&self) -> Var<T> {
        self.unary(Op::Square(self.id), Tensor::square)
    }

    /// `|x|` (its derivative at 0 is taken as 0, as PyTorch).
    pub fn abs(&self) -> Var<T> {
        self.unary(Op::Abs(self.id), Tensor::abs)
    }

    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Var<T> {
        self.unary(Op::Tanh(self.id), Tensor::tanh)
    }

    /// Logistic sigmoid `1 / (1 + e^-x)`.
    pub fn sigmoid(&self) -> Var<T> {
        self.unary(Op::Sigmoid(self.id), Tensor::sigmoid)
    }

    /// `max(x, 0)` (its derivative at 0 is taken as 0, as PyTorch).
    pub fn relu(&self) -> Var<T> {
        self.unary(Op::Relu(self.id), Tensor::relu)
    }

    /// `log(1 + e^x)`, computed without overflow.
    pub fn softplus(&self) -> Var<T> {
        self.unary(Op::Softplus(self.id), Tensor::softplus)
    }

    /// The standard normal CDF `Phi(x)`.
    pub fn normal_cdf(&self) -> Var<T> {
        self.unary(Op::NormalCdf(self.id), Tensor::normal_cdf)
    }

    /// GELU, exact form as PyTorch's default: `x * Phi(x)`.
    pub fn gelu(&self) -> Var<T> {
        self * &self.normal_cdf()
    }

    /// Sine.
    pub fn sin(&self) -> Var<T> {
        self.unary(Op::Sin(self.id), Tensor::sin)
    }

    /// Cosine.
    pub fn cos(&self) -> Var<T> {
        self.unary(Op::Cos(self.id), Tensor::cos)
    }
}
