//! The hyperparameters of AdaHessian, with the authors' defaults.

use super::Averaging;
use crate::{validate, OptimError};

/// Which Hessian-diagonal estimate AdaHessian uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Estimate {
    /// `|z ⊙ Hz|` (mean over draws first, then the absolute value), as the
    /// authors' code (`hv.abs()`). The default.
    #[default]
    Absolute,
    /// `z ⊙ Hz` as drawn: an unbiased estimate of `diag(H)`, which can be
    /// negative. It changes the update only where averaging mixes elements
    /// of different signs (the second moment squares `D`), and it is what
    /// [`AdaHessian::hessian_diagonal`](crate::AdaHessian::hessian_diagonal)
    /// reports, for diagnostics and tests.
    Signed,
}

/// The hyperparameters of [`AdaHessian`](crate::AdaHessian). The defaults
/// are the authors' (image-classification code): lr 0.15, betas
/// (0.9, 0.999), eps 1e-4, no weight decay, Hessian power 1, one draw per
/// step, a new estimate every step, no averaging, the absolute estimate.
///
/// ```
/// use curvature_optim::{AdaHessianConfig, Averaging};
/// let config = AdaHessianConfig {
///     lr: 0.1,
///     update_each: 4,
///     averaging_overrides: vec![(0, Averaging::conv_kernel())],
///     ..AdaHessianConfig::default()
/// };
/// assert_eq!(config.eps, 1e-4);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AdaHessianConfig {
    /// Learning rate; `> 0`. Default 0.15.
    pub lr: f64,
    /// Decay rates of the gradient's average and of the squared Hessian
    /// diagonal's average; each in `[0, 1)`. Default `(0.9, 0.999)`.
    pub betas: (f64, f64),
    /// Added to the denominator after the Hessian power; `>= 0`. Default 1e-4.
    pub eps: f64,
    /// Decoupled weight decay, scaled by the learning rate:
    /// `p <- p - lr (update + weight_decay p)`; `>= 0`. Default 0.
    pub weight_decay: f64,
    /// The power `k` of the (root-mean-square) Hessian diagonal in the
    /// denominator; in `(0, 1]`. 1 is Newton-like, 0.5 halfway to Adam's
    /// scale. Default 1.
    pub hessian_power: f64,
    /// Compute a new Hessian-diagonal estimate every `update_each` steps
    /// (steps 1, 1 + N, 1 + 2N, ...) and reuse the last one in between;
    /// `>= 1`. Default 1.
    pub update_each: usize,
    /// Rademacher draws (Hessian-vector products) averaged per estimate;
    /// `>= 1`. Default 1.
    pub n_samples: usize,
    /// The averaging of every parameter without an override, except that a
    /// parameter its module declares a convolution kernel
    /// (`ParameterKind::ConvKernel`, as `nn::Conv2d` does) is averaged over
    /// its spatial axes, the authors' rule ([`Averaging::conv_kernel`]).
    /// Default none.
    pub averaging: Averaging,
    /// Per-parameter averagings, by index in `Parameters::parameters`
    /// order; each is checked against that parameter's shape when the
    /// optimizer is built.
    pub averaging_overrides: Vec<(usize, Averaging)>,
    /// The absolute (default) or signed estimate.
    pub estimate: Estimate,
    /// Seed of the optimizer's own Rademacher generator. Default 0.
    pub seed: u64,
}

impl Default for AdaHessianConfig {
    fn default() -> Self {
        Self {
            lr: 0.15,
            betas: (0.9, 0.999),
            eps: 1e-4,
            weight_decay: 0.0,
            hessian_power: 1.0,
            update_each: 1,
            n_samples: 1,
            averaging: Averaging::None,
            averaging_overrides: Vec::new(),
            estimate: Estimate::Absolute,
            seed: 0,
        }
    }
}

impl AdaHessianConfig {
    pub(crate) fn validate(&self) -> Result<(), OptimError> {
        validate::positive("lr", self.lr)?;
        validate::beta("betas.0", self.betas.0)?;
        validate::beta("betas.1", self.betas.1)?;
        validate::non_negative("eps", self.eps)?;
        validate::non_negative("weight_decay", self.weight_decay)?;
        validate::half_open_unit("hessian_power", self.hessian_power)?;
        validate::at_least_one("update_each", self.update_each as u64)?;
        validate::at_least_one("n_samples", self.n_samples as u64)
    }
}
