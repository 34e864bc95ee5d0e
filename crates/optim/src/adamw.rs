//! AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay.

use std::fmt;

use curvature_autograd::{Element, Parameters, Tensor};

use crate::adam::AdamCore;
use crate::{
    AdamConfig, FirstOrderOptimizer, Needs, Objective, OptimError, Optimizer, OptimizerState, Step,
    Work,
};

/// The hyperparameters of [`AdamW`]: those of Adam, with PyTorch's AdamW
/// default `weight_decay = 1e-2`.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamWConfig {
    /// Learning rate; `> 0`. Default `1e-3`.
    pub lr: f64,
    /// Moment decay rates; each in `[0, 1)`. Default `(0.9, 0.999)`.
    pub betas: (f64, f64),
    /// Added to the denominator; `>= 0`. Default `1e-8`.
    pub eps: f64,
    /// Decoupled decay: `p <- p (1 - lr weight_decay)` before the Adam
    /// update; `>= 0`. Default `1e-2`.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 1e-2,
        }
    }
}

impl From<&AdamWConfig> for AdamConfig {
    fn from(c: &AdamWConfig) -> Self {
        AdamConfig {
            lr: c.lr,
            betas: c.betas,
            eps: c.eps,
            weight_decay: c.weight_decay,
        }
    }
}

/// AdamW, as `torch.optim.AdamW` (without `amsgrad`): the decay shrinks
/// the parameters directly, and the moments see the bare gradient `g`.
///
/// ```text
/// p <- p (1 - lr weight_decay)
/// m <- beta1 m + (1 - beta1) g
/// v <- beta2 v + (1 - beta2) g^2
/// p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// ```
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_optim::{AdamW, AdamWConfig, Optimizer};
///
/// // with no loss gradient, decoupled decay alone shrinks p by (1 - lr wd) per step
/// let mut params = vec![Tensor::scalar(2.0_f64)];
/// let mut adamw = AdamW::new(AdamWConfig { lr: 0.1, weight_decay: 0.5, ..Default::default() })?;
/// adamw.step(&mut params, |_, tape, p| &p[0] * &tape.scalar(0.0))?;
/// assert!((params[0].item() - 2.0 * (1.0 - 0.1 * 0.5)).abs() < 1e-15);
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
#[derive(Clone, Debug)]
pub struct AdamW<T> {
    core: AdamCore<T>,
    config: AdamWConfig,
}

impl<T: Element> AdamW<T> {
    /// AdamW with these hyperparameters, checked: an error names the first
    /// one out of range and its value.
    pub fn new(config: AdamWConfig) -> Result<Self, OptimError> {
        Ok(Self {
            core: AdamCore::new(AdamConfig::from(&config), true, "adamw")?,
            config,
        })
    }

    /// The hyperparameters (the learning rate as last set).
    pub fn config(&self) -> &AdamWConfig {
        &self.config
    }
}

/// The method and its hyperparameters, for logs:
/// `adamw (lr 0.001, betas (0.9, 0.999), eps 1e-8, weight decay 0.01)`.
impl<T> fmt::Display for AdamW<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.describe(f)
    }
}

impl<T: Element> Optimizer<T> for AdamW<T> {
    fn needs(&self, objective: &dyn Objective<T>) -> Result<Needs, OptimError> {
        self.core.needs(objective)
    }

    fn update(&mut self, step: &mut Step<'_, T>) -> Result<(), OptimError> {
        self.core.update(step)
    }

    fn work(&self) -> Work {
        self.core.work
    }

    fn record_work(&mut self, work: Work) {
        self.core.work += work;
    }

    fn learning_rate(&self) -> f64 {
        self.core.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError> {
        self.core.set_learning_rate(lr)?;
        self.config.lr = lr;
        Ok(())
    }

    fn step_count(&self) -> u64 {
        self.core.step_count()
    }

    fn state(&self) -> OptimizerState<T> {
        self.core.state()
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<(), OptimError> {
        self.core.load_state(state)
    }
}

impl<T: Element> FirstOrderOptimizer<T> for AdamW<T> {
    fn step_with_grads<P>(&mut self, params: &mut P, grads: &[Tensor<T>]) -> Result<(), OptimError>
    where
        P: Parameters<T> + ?Sized,
    {
        self.core.step_with_grads(params, grads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_pytorchs_and_state_is_tagged_adamw() {
        let c = AdamWConfig::default();
        assert_eq!(
            (c.lr, c.betas, c.eps, c.weight_decay),
            (1e-3, (0.9, 0.999), 1e-8, 1e-2)
        );
        let w = AdamW::<f64>::new(c).unwrap();
        let e = crate::Adam::<f64>::new(AdamConfig::default())
            .unwrap()
            .load_state(&w.state())
            .unwrap_err();
        assert!(e.to_string().contains("adamw"), "{e}");
    }

    #[test]
    fn invalid_weight_decay_names_the_value() {
        let e = AdamW::<f64>::new(AdamWConfig {
            weight_decay: -0.01,
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("weight_decay = -0.01"), "{e}");
    }
}
