//! Adam (Kingma & Ba, 2015) with PyTorch's formulas and defaults, and the
//! update it shares with AdamW.

use std::fmt;

use curvature_autograd::{Element, Parameters, Tensor};

use crate::optimizer::{
    bias_correction, check_finite, check_like_parameters, check_parameters_like_state,
    check_zero_denominators,
};
use crate::state::check_shapes;
use crate::{
    validate, FirstOrderOptimizer, Needs, Objective, OptimError, Optimizer, OptimizerState, Step,
    Work,
};

/// The hyperparameters of [`Adam`], with PyTorch's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate; `> 0`. Default `1e-3`.
    pub lr: f64,
    /// Decay rates of the gradient's first and second moment averages;
    /// each in `[0, 1)`. Default `(0.9, 0.999)`.
    pub betas: (f64, f64),
    /// Added to the denominator; `>= 0`. Default `1e-8`.
    pub eps: f64,
    /// L2 penalty added to the gradient (`g + weight_decay * p`, coupled,
    /// as `torch.optim.Adam`); `>= 0`. Default 0. See [`AdamW`](crate::AdamW)
    /// for decoupled decay.
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamConfig {
    pub(crate) fn validate(&self) -> Result<(), OptimError> {
        validate::positive("lr", self.lr)?;
        validate::beta("betas.0", self.betas.0)?;
        validate::beta("betas.1", self.betas.1)?;
        validate::non_negative("eps", self.eps)?;
        validate::non_negative("weight_decay", self.weight_decay)
    }
}

/// The state and update shared by Adam and AdamW; they differ only in how
/// weight decay enters.
#[derive(Clone, Debug)]
pub(crate) struct AdamCore<T> {
    pub(crate) config: AdamConfig,
    decoupled: bool,
    name: &'static str,
    step: u64,
    exp_avg: Vec<Tensor<T>>,
    exp_avg_sq: Vec<Tensor<T>>,
    pub(crate) work: Work,
}

impl<T> AdamCore<T> {
    /// `name (lr 0.001, betas (0.9, 0.999), eps 1e-8, weight decay 0)`.
    pub(crate) fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        write!(
            f,
            "{} (lr {}, betas ({}, {}), eps {:e}, weight decay {})",
            self.name, c.lr, c.betas.0, c.betas.1, c.eps, c.weight_decay
        )
    }
}

impl<T: Element> AdamCore<T> {
    pub(crate) fn new(
        config: AdamConfig,
        decoupled: bool,
        name: &'static str,
    ) -> Result<Self, OptimError> {
        config.validate()?;
        Ok(Self {
            config,
            decoupled,
            name,
            step: 0,
            exp_avg: Vec::new(),
            exp_avg_sq: Vec::new(),
            work: Work::default(),
        })
    }

    pub(crate) fn needs(&self, objective: &dyn Objective<T>) -> Result<Needs, OptimError> {
        check_parameters_like_state(objective, &self.exp_avg)?;
        Ok(Needs::default())
    }

    pub(crate) fn update(&mut self, step: &mut Step<'_, T>) -> Result<(), OptimError> {
        let commit = step.commit();
        self.step_with_grads(commit.objective, commit.gradient)
    }

    pub(crate) fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError> {
        validate::non_negative("lr", lr)?;
        self.config.lr = lr;
        Ok(())
    }

    pub(crate) fn step_count(&self) -> u64 {
        self.step
    }

    pub(crate) fn state(&self) -> OptimizerState<T> {
        let mut state = OptimizerState::new(self.name, self.step);
        state.insert_per_parameter("exp_avg", &self.exp_avg);
        state.insert_per_parameter("exp_avg_sq", &self.exp_avg_sq);
        state
    }

    pub(crate) fn load_state(&mut self, state: &OptimizerState<T>) -> Result<(), OptimError> {
        let mut buffers = state.per_parameter(self.name, &["exp_avg", "exp_avg_sq"])?;
        let exp_avg_sq = buffers.pop().unwrap_or_default();
        let exp_avg = buffers.pop().unwrap_or_default();
        if !self.exp_avg.is_empty() {
            let shapes: Vec<&[usize]> = self.exp_avg.iter().map(|b| b.shape()).collect();
            check_shapes(&exp_avg, &shapes)?;
        }
        self.exp_avg = exp_avg;
        self.exp_avg_sq = exp_avg_sq;
        self.step = state.step;
        Ok(())
    }

    pub(crate) fn step_with_grads<P>(
        &mut self,
        params: &mut P,
        grads: &[Tensor<T>],
    ) -> Result<(), OptimError>
    where
        P: Parameters<T> + ?Sized,
    {
        let t = self.step + 1;
        check_parameters_like_state(&*params, &self.exp_avg)?;
        check_like_parameters(&*params, grads, "gradient")?;
        check_finite(&*params, grads, "gradient", t)?;

        let c = &self.config;
        let (b1, b2) = (T::from_f64(c.betas.0), T::from_f64(c.betas.1));
        let (one, zero) = (T::one(), T::zero());
        let lr = T::from_f64(c.lr);
        let eps = T::from_f64(c.eps);
        let wd = T::from_f64(c.weight_decay);
        let step_size = T::from_f64(c.lr / bias_correction(c.betas.0, t));
        let bc2_sqrt = T::from_f64(bias_correction(c.betas.1, t).sqrt());
        let decoupled = self.decoupled;
        if self.exp_avg.is_empty() {
            self.exp_avg = grads.iter().map(Tensor::zeros_like).collect();
            self.exp_avg_sq = grads.iter().map(Tensor::zeros_like).collect();
        }
        // The gradient the moments see: with coupled (L2) decay, g + wd p.
        let grad = |g: T, p: T| if decoupled { g } else { g + wd * p };
        if c.eps == 0.0 {
            let ps = params.parameters();
            let bad = (0..grads.len()).map(|i| {
                let (m, v) = (self.exp_avg[i].as_slice(), self.exp_avg_sq[i].as_slice());
                let (g, p) = (grads[i].as_slice(), ps[i].as_slice());
                (0..g.len()).any(|j| {
                    let g = grad(g[j], p[j]);
                    b2 * v[j] + (one - b2) * g * g == zero && b1 * m[j] + (one - b1) * g != zero
                })
            });
            check_zero_denominators(&*params, t, bad)?;
        }
        for (i, p) in params.parameters_mut().into_iter().enumerate() {
            let p = p.make_mut();
            let m = self.exp_avg[i].make_mut();
            let v = self.exp_avg_sq[i].make_mut();
            let g = grads[i].as_slice();
            for j in 0..p.len() {
                if decoupled {
                    p[j] = p[j] * (one - lr * wd);
                }
                let g = grad(g[j], p[j]);
                m[j] = b1 * m[j] + (one - b1) * g;
                v[j] = b2 * v[j] + (one - b2) * g * g;
                let denom = v[j].sqrt() / bc2_sqrt + eps;
                // 0 / 0 only with eps = 0 and nothing learned yet: no move.
                if denom != zero {
                    p[j] = p[j] - step_size * (m[j] / denom);
                }
            }
        }
        self.step = t;
        Ok(())
    }
}

/// Adam, as `torch.optim.Adam` (without `amsgrad`). With
/// `g = grad + weight_decay * p` and step `t` (from 1):
///
/// ```text
/// m <- beta1 m + (1 - beta1) g
/// v <- beta2 v + (1 - beta2) g^2
/// p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// ```
///
/// The moment buffers are sized on the first step; a later step whose
/// parameters differ in number or shape is an error.
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_optim::{Adam, AdamConfig, Optimizer};
///
/// // minimise (x - 1)^2 + (y + 2)^2
/// let target = Tensor::from_vec(vec![1.0_f64, -2.0], &[2]);
/// let mut params = vec![Tensor::zeros(&[2])];
/// let mut adam = Adam::new(AdamConfig { lr: 0.05, ..AdamConfig::default() })?;
/// let mut loss = f64::INFINITY;
/// for _ in 0..500 {
///     loss = adam.step(&mut params, |_, tape, p| {
///         (&p[0] - &tape.constant(&target)).square().sum()
///     })?;
/// }
/// assert!(loss < 1e-6, "{loss}");
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adam<T> {
    core: AdamCore<T>,
}

impl<T: Element> Adam<T> {
    /// Adam with these hyperparameters, checked: an error names the first
    /// one out of range and its value.
    pub fn new(config: AdamConfig) -> Result<Self, OptimError> {
        Ok(Self {
            core: AdamCore::new(config, false, "adam")?,
        })
    }

    /// The hyperparameters (the learning rate as last set).
    pub fn config(&self) -> &AdamConfig {
        &self.core.config
    }
}

/// The method and its hyperparameters, for logs:
/// `adam (lr 0.001, betas (0.9, 0.999), eps 1e-8, weight decay 0)`.
impl<T> fmt::Display for Adam<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.describe(f)
    }
}

impl<T: Element> Optimizer<T> for Adam<T> {
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
        self.core.set_learning_rate(lr)
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

impl<T: Element> FirstOrderOptimizer<T> for Adam<T> {
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
    fn defaults_are_pytorchs() {
        let c = AdamConfig::default();
        assert_eq!(
            (c.lr, c.betas, c.eps, c.weight_decay),
            (1e-3, (0.9, 0.999), 1e-8, 0.0)
        );
    }

    #[test]
    fn invalid_hyperparameters_are_errors_naming_the_value() {
        let err = |c: AdamConfig| Adam::<f32>::new(c).unwrap_err().to_string();
        let e = err(AdamConfig {
            lr: 0.0,
            ..Default::default()
        });
        assert!(e.contains("lr = 0"), "{e}");
        let e = err(AdamConfig {
            betas: (1.0, 0.999),
            ..Default::default()
        });
        assert!(e.contains("betas.0 = 1"), "{e}");
        let e = err(AdamConfig {
            betas: (0.9, -0.5),
            ..Default::default()
        });
        assert!(e.contains("betas.1 = -0.5"), "{e}");
        let e = err(AdamConfig {
            eps: -1e-8,
            ..Default::default()
        });
        assert!(e.contains("eps = -0.00000001"), "{e}");
        let e = err(AdamConfig {
            weight_decay: f64::NAN,
            ..Default::default()
        });
        assert!(e.contains("weight_decay = NaN"), "{e}");
    }

    #[test]
    fn eps_zero_moves_nothing_where_nothing_was_learned_and_refuses_infinite_steps() {
        let mut adam = Adam::new(AdamConfig {
            eps: 0.0,
            betas: (0.9, 0.0),
            ..Default::default()
        })
        .unwrap();
        let mut params = vec![Tensor::from_vec(vec![1.0_f64, 2.0], &[2])];
        // zero gradient on the second element: 0 / 0, no move
        adam.step_with_grads(&mut params, &[Tensor::from_vec(vec![1.0, 0.0], &[2])])
            .unwrap();
        assert_eq!(params[0].as_slice()[1], 2.0);
        // beta2 = 0 forgets v while m remembers: an infinite step is refused
        let before = params.clone();
        let e = adam
            .step_with_grads(&mut params, &[Tensor::from_vec(vec![0.0, 0.0], &[2])])
            .unwrap_err();
        assert!(
            matches!(
                e,
                OptimError::NonFinite {
                    what: "update",
                    index: 0,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(params, before);
        assert_eq!(adam.step_count(), 1);
    }
}
