//! Sophia-H (Liu, Li, Hall, Liang, Ma 2023, "Sophia: A Scalable Stochastic
//! Second-order Optimizer for Language Model Pre-training"), the variant
//! whose curvature is a Hutchinson estimate of the Hessian's diagonal.

use std::fmt;

use curvature_autograd::{Element, Tensor};

use crate::optimizer::check_parameters_like_state;
use crate::state::check_shapes;
use crate::{
    validate, HutchinsonDraws, Needs, Objective, OptimError, Optimizer, OptimizerState, Step, Work,
};

/// The hyperparameters of [`SophiaH`], with the paper's defaults for
/// Sophia-H (its Algorithm 3 and section 3): betas (0.96, 0.99), gamma
/// 0.01, eps 1e-12, a new Hessian estimate every 10 steps. The learning
/// rate 6e-4 is the paper's for GPT-2 small; it bounds the move of each
/// coordinate per step.
///
/// ```
/// use curvature_optim::SophiaHConfig;
/// let c = SophiaHConfig::default();
/// assert_eq!((c.update_each, c.gamma), (10, 0.01));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SophiaHConfig {
    /// Learning rate `eta`: the largest move of a coordinate in one step
    /// (the clipped ratio is at most 1); `> 0`. Default 6e-4.
    pub lr: f64,
    /// Decay rates of the gradient's average and of the Hessian
    /// diagonal's average; each in `[0, 1)`. Default (0.96, 0.99).
    pub betas: (f64, f64),
    /// The scale `gamma` of the curvature in the denominator; `> 0`.
    /// Default 0.01.
    pub gamma: f64,
    /// The floor of the denominator; `> 0`. Default 1e-12.
    pub eps: f64,
    /// Decoupled weight decay: `p <- p (1 - lr weight_decay)` before the
    /// update; `>= 0`. Default 0.
    pub weight_decay: f64,
    /// A new Hutchinson estimate every `k` steps (steps 1, 1 + k, ...);
    /// `>= 1`. Default 10.
    pub update_each: usize,
    /// Rademacher draws averaged per estimate; `>= 1`. Default 1.
    pub n_samples: usize,
    /// Seed of the draws. Default 0.
    pub seed: u64,
}

impl Default for SophiaHConfig {
    fn default() -> Self {
        Self {
            lr: 6e-4,
            betas: (0.96, 0.99),
            gamma: 0.01,
            eps: 1e-12,
            weight_decay: 0.0,
            update_each: 10,
            n_samples: 1,
            seed: 0,
        }
    }
}

impl SophiaHConfig {
    fn validate(&self) -> Result<(), OptimError> {
        validate::positive("lr", self.lr)?;
        validate::beta("betas.0", self.betas.0)?;
        validate::beta("betas.1", self.betas.1)?;
        validate::positive("gamma", self.gamma)?;
        validate::positive("eps", self.eps)?;
        validate::non_negative("weight_decay", self.weight_decay)?;
        validate::at_least_one("update_each", self.update_each as u64)?;
        validate::at_least_one("n_samples", self.n_samples as u64)
    }
}

/// Sophia-H. At step `t` (from 1), with `g` the gradient:
///
/// ```text
/// m <- beta1 m + (1 - beta1) g
/// h <- beta2 h + (1 - beta2) mean_s z_s ⊙ H z_s    on steps 1, 1 + k, 1 + 2k, ...
/// p <- p (1 - lr weight_decay)
/// p <- p - lr clip(m / max(gamma h, eps), 1)      clip(x, 1) = max(-1, min(x, 1))
/// ```
///
/// No bias correction, as the paper. Where the estimate is negative or
/// tiny, `max(gamma h, eps)` makes the ratio large and the clip turns
/// the step into `lr sign(m)`: a sign-momentum step that does not follow
/// negative curvature. On the step driver it needs the gradient on every
/// step and a Hutchinson diagonal on refresh steps; the draws of step `t`
/// are those of [`HutchinsonDraws::at_step`]`(seed, t, n_samples)`.
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_optim::{Optimizer, SophiaH, SophiaHConfig};
///
/// // far from the minimum every coordinate moves by lr (the clip); near
/// // it, by lr / gamma times a Newton step
/// let mut params = vec![Tensor::from_vec(vec![1.0_f64, -2.0], &[2])];
/// let config = SophiaHConfig { lr: 0.05, update_each: 1, ..Default::default() };
/// let mut opt = SophiaH::new(config)?;
/// for _ in 0..1000 {
///     opt.step(&mut params, |_, _, p| p[0].square().sum())?;
/// }
/// assert!(params[0].as_slice().iter().all(|w| w.abs() < 1e-6), "{:?}", params[0]);
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
#[derive(Clone, Debug)]
pub struct SophiaH<T> {
    config: SophiaHConfig,
    step: u64,
    work: Work,
    exp_avg: Vec<Tensor<T>>,
    hessian: Vec<Tensor<T>>,
}

impl<T: Element> SophiaH<T> {
    /// Sophia-H with these hyperparameters, checked: an error names the
    /// first one out of range and its value. The state is sized on the
    /// first step.
    pub fn new(config: SophiaHConfig) -> Result<Self, OptimError> {
        config.validate()?;
        Ok(Self {
            config,
            step: 0,
            work: Work::default(),
            exp_avg: Vec::new(),
            hessian: Vec::new(),
        })
    }

    /// The hyperparameters (the learning rate as last set).
    pub fn config(&self) -> &SophiaHConfig {
        &self.config
    }

    /// The moving average `h` of the Hessian-diagonal estimates.
    pub fn hessian_diagonal(&self) -> &[Tensor<T>] {
        &self.hessian
    }

    /// Hessian-vector products computed so far (`n_samples` per refresh).
    pub fn hvp_count(&self) -> u64 {
        self.work.hessian_vector_products
    }

    fn refreshes_at(&self, t: u64) -> bool {
        (t - 1) % self.config.update_each as u64 == 0
    }
}

/// `sophia-h (lr 0.0006, betas (0.96, 0.99), gamma 0.01, eps 1e-12,
/// weight decay 0, update each 10, 1 sample per estimate)`.
impl<T> fmt::Display for SophiaH<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        write!(
            f,
            "sophia-h (lr {}, betas ({}, {}), gamma {}, eps {:e}, weight decay {}, \
             update each {}, {} sample{} per estimate)",
            c.lr,
            c.betas.0,
            c.betas.1,
            c.gamma,
            c.eps,
            c.weight_decay,
            c.update_each,
            c.n_samples,
            if c.n_samples == 1 { "" } else { "s" }
        )
    }
}

impl<T: Element> Optimizer<T> for SophiaH<T> {
    fn needs(&self, objective: &dyn Objective<T>) -> Result<Needs, OptimError> {
        check_parameters_like_state(objective, &self.exp_avg)?;
        let t = self.step + 1;
        let c = &self.config;
        Ok(Needs {
            hutchinson: self
                .refreshes_at(t)
                .then(|| HutchinsonDraws::at_step(c.seed, t, c.n_samples)),
            ..Needs::default()
        })
    }

    fn update(&mut self, step: &mut Step<'_, T>) -> Result<(), OptimError> {
        let t = step.number();
        let commit = step.commit();
        if self.exp_avg.is_empty() {
            self.exp_avg = commit.gradient.iter().map(Tensor::zeros_like).collect();
            self.hessian = commit.gradient.iter().map(Tensor::zeros_like).collect();
        }
        let c = &self.config;
        let one = T::one();
        let (b1, b2) = (T::from_f64(c.betas.0), T::from_f64(c.betas.1));
        let (lr, gamma, eps) = (T::from_f64(c.lr), T::from_f64(c.gamma), T::from_f64(c.eps));
        let decay = one - lr * T::from_f64(c.weight_decay);
        let estimate = commit.hessian_diagonal;
        for (i, p) in commit.objective.parameters_mut().into_iter().enumerate() {
            let p = p.make_mut();
            let m = self.exp_avg[i].make_mut();
            let h = self.hessian[i].make_mut();
            if let Some(estimate) = estimate.as_deref() {
                for (h, &e) in h.iter_mut().zip(estimate[i].as_slice()) {
                    *h = b2 * *h + (one - b2) * e;
                }
            }
            let g = commit.gradient[i].as_slice();
            for j in 0..p.len() {
                m[j] = b1 * m[j] + (one - b1) * g[j];
                let scaled = gamma * h[j];
                let denom = if scaled > eps { scaled } else { eps };
                let ratio = m[j] / denom;
                let clipped = if ratio > one {
                    one
                } else if ratio < -one {
                    -one
                } else {
                    ratio
                };
                p[j] = p[j] * decay - lr * clipped;
            }
        }
        self.step = t;
        Ok(())
    }

    fn work(&self) -> Work {
        self.work
    }

    fn record_work(&mut self, work: Work) {
        self.work += work;
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError> {
        validate::non_negative("lr", lr)?;
        self.config.lr = lr;
        Ok(())
    }

    fn step_count(&self) -> u64 {
        self.step
    }

    fn state(&self) -> OptimizerState<T> {
        let mut state = OptimizerState::new("sophia-h", self.step);
        state.insert_per_parameter("exp_avg", &self.exp_avg);
        state.insert_per_parameter("hessian", &self.hessian);
        state
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<(), OptimError> {
        let mut buffers = state.per_parameter("sophia-h", &["exp_avg", "hessian"])?;
        let hessian = buffers.pop().unwrap_or_default();
        let exp_avg = buffers.pop().unwrap_or_default();
        if !self.exp_avg.is_empty() {
            let shapes: Vec<&[usize]> = self.exp_avg.iter().map(|b| b.shape()).collect();
            check_shapes(&exp_avg, &shapes)?;
        }
        self.exp_avg = exp_avg;
        self.hessian = hessian;
        self.step = state.step;
        Ok(())
    }
}
