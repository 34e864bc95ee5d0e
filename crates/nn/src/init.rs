//! Seeded initialisers, with fan-in and fan-out as PyTorch's
//! `torch.nn.init` computes them.
//!
//! Every function draws from the generator it is given; pass a portable
//! one ([`curvature_autograd::seeded_rng`], xoshiro256++) so the same seed
//! gives the same weights on every machine and release. Samples are drawn
//! in `f64` and rounded to `T`, so an `f32` and an `f64` model built from
//! the same seed agree to `f32` precision.
//!
//! ```
//! use curvature_autograd::{seeded_rng, Tensor};
//! use curvature_nn::init::{kaiming_uniform, FanMode, Nonlinearity};
//!
//! // PyTorch's default for a Linear weight [out, in]: bound 1/sqrt(in).
//! let w: Tensor<f32> = kaiming_uniform(
//!     &[8, 4], FanMode::FanIn, Nonlinearity::LeakyRelu(5f64.sqrt()), &mut seeded_rng(0));
//! assert!(w.as_slice().iter().all(|x| x.abs() <= 0.5));
//! ```

use curvature_autograd::{Element, Tensor};
use rand::Rng;

/// Which fan scales a Kaiming initialisation: `FanIn` preserves the
/// variance of activations in the forward pass, `FanOut` that of gradients
/// in the backward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// The number of inputs of a unit (`shape[1] * receptive field`).
    FanIn,
    /// The number of outputs of a unit (`shape[0] * receptive field`).
    FanOut,
}

/// The nonlinearity that follows a layer, which sets the initialisation
/// gain as PyTorch's `torch.nn.init.calculate_gain`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// No nonlinearity: gain 1.
    Linear,
    /// Logistic sigmoid: gain 1.
    Sigmoid,
    /// Hyperbolic tangent: gain 5/3.
    Tanh,
    /// ReLU: gain sqrt(2).
    Relu,
    /// Leaky ReLU with this negative slope: gain sqrt(2 / (1 + slope^2)).
    LeakyRelu(f64),
    /// SELU: gain 3/4.
    Selu,
}

impl Nonlinearity {
    /// The recommended gain, as `torch.nn.init.calculate_gain`.
    pub fn gain(self) -> f64 {
        match self {
            Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
            Nonlinearity::Tanh => 5.0 / 3.0,
            Nonlinearity::Relu => 2f64.sqrt(),
            Nonlinearity::LeakyRelu(slope) => (2.0 / (1.0 + slope * slope)).sqrt(),
            Nonlinearity::Selu => 0.75,
        }
    }
}

/// `(fan_in, fan_out)` of a weight of this shape, as PyTorch: for
/// `[out, in, k...]`, `fan_in = in * prod(k)` and `fan_out = out * prod(k)`.
/// Panics for fewer than two dimensions (a bias has no fan).
pub fn fan_in_and_fan_out(shape: &[usize]) -> (usize, usize) {
    assert!(
        shape.len() >= 2,
        "fan_in_and_fan_out: shape {shape:?} has fewer than 2 dimensions"
    );
    let receptive_field: usize = shape[2..].iter().product();
    (shape[1] * receptive_field, shape[0] * receptive_field)
}

/// Samples from `U(low, high)`.
pub fn uniform<T: Element, R: Rng + ?Sized>(
    shape: &[usize],
    low: f64,
    high: f64,
    rng: &mut R,
) -> Tensor<T> {
    assert!(
        low < high,
        "uniform: the range [{low}, {high}) is empty; low must be below high"
    );
    Tensor::rand_uniform(shape, low, high, rng)
}

/// Samples from `N(mean, std^2)`.
pub fn normal<T: Element, R: Rng + ?Sized>(
    shape: &[usize],
    mean: f64,
    std: f64,
    rng: &mut R,
) -> Tensor<T> {
    assert!(
        std >= 0.0,
        "normal: the standard deviation {std} is negative"
    );
    Tensor::randn(shape, mean, std, rng)
}

/// Glorot's uniform initialisation: `U(-a, a)` with
/// `a = gain * sqrt(6 / (fan_in + fan_out))`.
pub fn xavier_uniform<T: Element, R: Rng + ?Sized>(
    shape: &[usize],
    gain: f64,
    rng: &mut R,
) -> Tensor<T> {
    let (fan_in, fan_out) = fan_in_and_fan_out(shape);
    let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
    symmetric_uniform(shape, 3f64.sqrt() * std, rng)
}

/// Glorot's normal initialisation: `N(0, std^2)` with
/// `std = gain * sqrt(2 / (fan_in + fan_out))`.
pub fn xavier_normal<T: Element, R: Rng + ?Sized>(
    shape: &[usize],
    gain: f64,
    rng: &mut R,
) -> Tensor<T> {
    let (fan_in, fan_out) = fan_in_and_fan_out(shape);
    let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
    Tensor::randn(shape, 0.0, std, rng)
}

/// He's uniform initialisation: `U(-b, b)` with
/// `b = gain * sqrt(3 / fan)`, `fan` chosen by `mode`.
///
/// PyTorch's default for `Linear` weights is
/// `kaiming_uniform(shape, FanIn, LeakyRelu(sqrt 5))`, i.e.
/// `U(-1/sqrt(in), 1/sqrt(in))`.
pub fn kaiming_uniform<T: Element, R: Rng + ?Sized>(
    shape: &[usize],
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut R,
) -> Tensor<T> {
    let std = nonlinearity.gain() / (fan(shape, mode) as f64).sqrt();
    symmetric_uniform(shape, 3f64.sqrt() * std, rng)
}

/// He's normal initialisation: `N(0, std^2)` with `std = gain / sqrt(fan)`.
pub fn kaiming_normal<T: Element, R: Rng + ?Sized>(
    shape: &[usize],
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut R,
) -> Tensor<T> {
    let std = nonlinearity.gain() / (fan(shape, mode) as f64).sqrt();
    Tensor::randn(shape, 0.0, std, rng)
}

fn fan(shape: &[usize], mode: FanMode) -> usize {
    let (fan_in, fan_out) = fan_in_and_fan_out(shape);
    let fan = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    assert!(
        fan > 0,
        "kaiming: shape {shape:?} has a zero {mode:?}, so no scale can be computed"
    );
    fan
}

/// `U(-bound, bound)`; a zero bound gives zeros.
pub(crate) fn symmetric_uniform<T: Element, R: Rng + ?Sized>(
    shape: &[usize],
    bound: f64,
    rng: &mut R,
) -> Tensor<T> {
    if bound > 0.0 {
        Tensor::rand_uniform(shape, -bound, bound, rng)
    } else {
        Tensor::zeros(shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvature_autograd::seeded_rng;

    fn moments(t: &Tensor<f64>) -> (f64, f64) {
        let v = t.as_slice();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    #[test]
    fn fans_follow_pytorch_for_linear_and_conv_shapes() {
        assert_eq!(fan_in_and_fan_out(&[32, 2]), (2, 32));
        assert_eq!(fan_in_and_fan_out(&[16, 3, 5, 5]), (75, 400));
    }

    #[test]
    #[should_panic(expected = "fewer than 2 dimensions")]
    fn fans_of_a_bias_are_a_programming_error() {
        fan_in_and_fan_out(&[5]);
    }

    #[test]
    fn gains_match_calculate_gain() {
        assert_eq!(Nonlinearity::Linear.gain(), 1.0);
        assert!((Nonlinearity::Tanh.gain() - 5.0 / 3.0).abs() < 1e-15);
        assert!((Nonlinearity::Relu.gain() - 2f64.sqrt()).abs() < 1e-15);
        let a = 5f64.sqrt();
        assert!((Nonlinearity::LeakyRelu(a).gain() - (1.0f64 / 3.0).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn kaiming_uniform_with_sqrt5_is_bounded_by_one_over_sqrt_fan_in() {
        let shape = [200, 25];
        let w: Tensor<f64> = kaiming_uniform(
            &shape,
            FanMode::FanIn,
            Nonlinearity::LeakyRelu(5f64.sqrt()),
            &mut seeded_rng(1),
        );
        let bound = 1.0 / 5.0;
        assert!(w.as_slice().iter().all(|x| x.abs() <= bound));
        let max = w.as_slice().iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(
            max > 0.95 * bound,
            "samples should fill the range, max {max}"
        );
    }

    #[test]
    fn normal_initialisers_have_the_documented_spread() {
        let mut rng = seeded_rng(2);
        let (mean, std) = moments(&xavier_normal(&[300, 100], 1.0, &mut rng));
        assert!(mean.abs() < 0.005);
        assert!((std - (2.0f64 / 400.0).sqrt()).abs() < 0.003, "{std}");
        let (_, std) = moments(&kaiming_normal(
            &[300, 100],
            FanMode::FanOut,
            Nonlinearity::Relu,
            &mut rng,
        ));
        assert!((std - (2.0f64 / 300.0).sqrt()).abs() < 0.003, "{std}");
        let (mean, std) = moments(&normal(&[100, 100], 3.0, 0.5, &mut rng));
        assert!((mean - 3.0).abs() < 0.02 && (std - 0.5).abs() < 0.02);
        let (_, std) = moments(&xavier_uniform(&[300, 100], 2.0, &mut rng));
        assert!((std - 2.0 * (2.0f64 / 400.0).sqrt()).abs() < 0.005, "{std}");
    }

    #[test]
    fn same_seed_same_weights_in_both_precisions() {
        let a: Tensor<f64> = uniform(&[4, 3], -1.0, 1.0, &mut seeded_rng(9));
        let b: Tensor<f64> = uniform(&[4, 3], -1.0, 1.0, &mut seeded_rng(9));
        let c: Tensor<f32> = uniform(&[4, 3], -1.0, 1.0, &mut seeded_rng(9));
        assert_eq!(a, b);
        assert_eq!(a.cast::<f32>(), c);
    }
}
