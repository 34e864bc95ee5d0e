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

    /// tanh's derivative rule as one fused op: `self ⊙ (1 - y²)` for a
    /// gradient `self` and tanh's output `y` (same shape). It has its own
    /// rule, so it differentiates again like any op; fusing saves three
    /// passes over memory per tanh in every backward sweep.
    pub fn tanh_backward(&self, y: &Var<T>) -> Var<T> {
        self.check_same_tape(y, "tanh_backward");
        let value = self
            .value()
            .zip_map(&y.value(), "tanh_backward", |a, y| a * (T::one() - y * y));
        self.record(Op::TanhBackward(self.id, y.id), value)
    }

    /// sigmoid's derivative rule as one fused op: `self ⊙ s ⊙ (1 - s)` for a
    /// gradient `self` and sigmoid's output `s` (same shape).
    pub fn sigmoid_backward(&self, s: &Var<T>) -> Var<T> {
        self.check_same_tape(s, "sigmoid_backward");
        let value = self
            .value()
            .zip_map(&s.value(), "sigmoid_backward", |a, s| {
                a * s * (T::one() - s)
            });
        self.record(Op::SigmoidBackward(self.id, s.id), value)
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

#[cfg(test)]
mod tests {
    use crate::{gradcheck, gradgradcheck, seeded_rng, CheckOptions, Tape, Tensor, Var};

    #[test]
    fn fused_backward_ops_pass_gradcheck_and_gradgradcheck() {
        let mut rng = seeded_rng(11);
        let a = Tensor::randn(&[3, 4], 0.0, 1.0, &mut rng);
        let y = Tensor::rand_uniform(&[3, 4], -0.9, 0.9, &mut rng);
        let s = Tensor::rand_uniform(&[3, 4], 0.1, 0.9, &mut rng);
        let opts = CheckOptions::default();
        let tanh_b = |_: &Tape<f64>, p: &[Var<f64>]| p[0].tanh_backward(&p[1]);
        let sig_b = |_: &Tape<f64>, p: &[Var<f64>]| p[0].sigmoid_backward(&p[1]);
        for report in [
            gradcheck(tanh_b, &[a.clone(), y.clone()], &opts),
            gradgradcheck(tanh_b, &[a.clone(), y], &opts),
            gradcheck(sig_b, &[a.clone(), s.clone()], &opts),
            gradgradcheck(sig_b, &[a, s], &opts),
        ] {
            assert!(report.passed, "{report}");
        }
    }
}
