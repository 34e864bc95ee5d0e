//! `Linear`: `y = x W^T + b`, stored as PyTorch stores it.

use curvature_autograd::{Element, ParameterKind, Parameters, Tensor, Var};
use rand::Rng;

use crate::init::{kaiming_uniform, symmetric_uniform, FanMode, Nonlinearity};
use crate::module::{check_param_count, Module};

/// A fully connected layer, `y = x W^T + b`, for inputs `[batch, in]`.
///
/// `weight` is `[out_features, in_features]` and `bias` `[out_features]`,
/// as PyTorch's `nn.Linear`, so weights load from PyTorch files unchanged.
/// The product is `x.matmul_nt(W)`: the transpose is a stride, never a copy.
/// Parameter names: `weight`, `bias`.
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_nn::{Linear, Module};
///
/// let w = Tensor::from_vec(vec![1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
/// let b = Tensor::from_vec(vec![0.5_f64, -0.5], &[2]);
/// let layer = Linear::from_tensors(w, b);
/// let x = Tensor::from_vec(vec![1.0, 0.0, -1.0], &[1, 3]);
/// assert_eq!(layer.predict(&x).to_vec(), vec![-1.5, -2.5]);
/// ```
#[derive(Clone, Debug)]
pub struct Linear<T> {
    weight: Tensor<T>,
    bias: Tensor<T>,
}

impl<T: Element> Linear<T> {
    /// A layer with PyTorch's default initialisation: the weight from
    /// Kaiming-uniform with `a = sqrt(5)` and the bias from
    /// `U(-1/sqrt(in), 1/sqrt(in))`, i.e. both `U(-1/sqrt(in), 1/sqrt(in))`,
    /// weight drawn first.
    pub fn new<R: Rng + ?Sized>(in_features: usize, out_features: usize, rng: &mut R) -> Self {
        let weight = kaiming_uniform(
            &[out_features, in_features],
            FanMode::FanIn,
            Nonlinearity::LeakyRelu(5f64.sqrt()),
            rng,
        );
        let bound = if in_features > 0 {
            1.0 / (in_features as f64).sqrt()
        } else {
            0.0
        };
        let bias = symmetric_uniform(&[out_features], bound, rng);
        Self { weight, bias }
    }

    /// A layer with the given weight `[out, in]` and bias `[out]`. Panics,
    /// naming both shapes, when they do not fit together.
    pub fn from_tensors(weight: Tensor<T>, bias: Tensor<T>) -> Self {
        assert!(
            weight.ndim() == 2 && bias.shape() == [weight.shape()[0]],
            "Linear::from_tensors: weight {:?} must be [out, in] and bias {:?} must be [out]",
            weight.shape(),
            bias.shape()
        );
        Self { weight, bias }
    }

    /// The number of input features.
    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }

    /// The number of output features.
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }

    /// The weight, `[out_features, in_features]`.
    pub fn weight(&self) -> &Tensor<T> {
        &self.weight
    }

    /// The bias, `[out_features]`.
    pub fn bias(&self) -> &Tensor<T> {
        &self.bias
    }
}

impl<T: Element> Parameters<T> for Linear<T> {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        vec![&self.weight, &self.bias]
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        vec![&mut self.weight, &mut self.bias]
    }

    fn parameter_names(&self) -> Vec<String> {
        vec!["weight".to_string(), "bias".to_string()]
    }

    fn parameter_kinds(&self) -> Vec<ParameterKind> {
        vec![ParameterKind::Weight, ParameterKind::Bias]
    }
}

impl<T: Element> Module<T> for Linear<T> {
    fn forward(&self, params: &[Var<T>], x: &Var<T>) -> Var<T> {
        check_param_count("Linear", params, 2);
        let x_shape = x.shape();
        assert!(
            x_shape.len() == 2 && x_shape[1] == self.in_features(),
            "Linear(in_features={}, out_features={}): input of shape {:?} must be [batch, {}]",
            self.in_features(),
            self.out_features(),
            x_shape.as_slice(),
            self.in_features()
        );
        &x.matmul_nt(&params[0]) + &params[1]
    }

    fn num_parameter_tensors(&self) -> usize {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvature_autograd::{gradcheck, gradgradcheck, seeded_rng, CheckOptions, Tape};

    #[test]
    fn forward_on_fixed_weights_is_x_w_transposed_plus_b() {
        let w = Tensor::from_vec(vec![1.0_f64, -1.0, 0.5, 2.0, 0.0, 1.0], &[3, 2]);
        let b = Tensor::from_vec(vec![0.1, 0.2, 0.3], &[3]);
        let layer = Linear::from_tensors(w, b);
        let x = Tensor::from_vec(vec![1.0, 2.0, -1.0, 3.0], &[2, 2]);
        let y = layer.predict(&x);
        assert_eq!(y.shape(), &[2, 3]);
        let expected = [-0.9, 4.7, 2.3, -3.9, 5.7, 3.3];
        for (a, e) in y.as_slice().iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{:?}", y);
        }
    }

    #[test]
    fn default_init_is_bounded_by_one_over_sqrt_in_and_seeded() {
        let a = Linear::<f64>::new(16, 8, &mut seeded_rng(3));
        let b = Linear::<f64>::new(16, 8, &mut seeded_rng(3));
        assert_eq!(a.weight(), b.weight());
        assert_eq!(a.bias(), b.bias());
        assert_eq!(a.weight().shape(), &[8, 16]);
        assert_eq!(a.bias().shape(), &[8]);
        let bound = 0.25;
        assert!(a.weight().as_slice().iter().all(|x| x.abs() <= bound));
        assert!(a.bias().as_slice().iter().all(|x| x.abs() <= bound));
        assert_eq!(a.parameter_count(), 16 * 8 + 8);
        assert_eq!(a.parameter_names(), vec!["weight", "bias"]);
    }

    #[test]
    fn linear_passes_gradcheck_and_gradgradcheck() {
        let layer = Linear::<f64>::new(3, 2, &mut seeded_rng(4));
        let x = Tensor::randn(&[4, 3], 0.0, 1.0, &mut seeded_rng(5));
        let f = |_: &Tape<f64>, p: &[Var<f64>]| layer.forward(&p[1..], &p[0]).tanh();
        let inputs = [x, layer.weight().clone(), layer.bias().clone()];
        let options = CheckOptions::default();
        let report = gradcheck(f, &inputs, &options);
        assert!(report.passed, "{report}");
        let report = gradgradcheck(f, &inputs, &options);
        assert!(report.passed, "{report}");
    }

    #[test]
    #[should_panic(expected = "must be [batch, 3]")]
    fn wrong_input_width_names_the_layer() {
        let layer = Linear::<f64>::new(3, 2, &mut seeded_rng(0));
        layer.predict(&Tensor::zeros(&[4, 2]));
    }

    #[test]
    #[should_panic(expected = "expects 2 parameter tensors, got 1")]
    fn wrong_parameter_count_is_reported() {
        let layer = Linear::<f64>::new(3, 2, &mut seeded_rng(0));
        let tape = Tape::new();
        let p = layer.bind(&tape);
        layer.forward(&p[..1], &tape.constant(Tensor::zeros(&[1, 3])));
    }
}
