//! AdaHessian (Yao, Gholami, Shen, Mustafa, Keutzer, Mahoney, 2020): Adam
//! with the squared gradient replaced by a squared Hutchinson estimate of
//! the Hessian's diagonal. The full specification, and how it compares
//! with other public versions, is `docs/adahessian.md`.

mod averaging;
mod config;

pub use averaging::Averaging;
pub use config::{AdaHessianConfig, Estimate};

use std::fmt;

use curvature_autograd::{Element, Parameters, Tensor};

use crate::optimizer::{bias_correction, check_parameters_like_state, check_zero_denominators};
use crate::state::check_shapes;
use crate::{
    validate, HutchinsonDraws, Needs, Objective, OptimError, Optimizer, OptimizerState, Step, Work,
};

/// AdaHessian, following the authors' image-classification code. At step
/// `t` (from 1), with `g` the gradient and `D` the Hessian-diagonal
/// estimate:
///
/// ```text
/// D <- avg( |mean_s z_s ⊙ H z_s| )      z_s Rademacher, s = 1..n_samples,
///                                       on steps 1, 1 + N, 1 + 2N, ... (N = update_each)
/// m <- beta1 m + (1 - beta1) g
/// v <- beta2 v + (1 - beta2) D ⊙ D
/// p <- p - lr ( (m / (1 - beta1^t)) / ((v / (1 - beta2^t))^(k/2) + eps) + weight_decay p )
/// ```
///
/// `avg` is the parameter's declared [`Averaging`]. On the step driver,
/// AdaHessian declares a Hutchinson diagonal with `n_samples` draws on the
/// steps that refresh `D` and only the gradient on the others; the driver
/// runs the loss closure once on a fresh tape, keeps the gradient's graph
/// when `D` is refreshed and runs one more reverse sweep per draw for
/// `H z = ∇<g, z>`. The tape is dropped before the parameters are updated
/// in place.
///
/// The Rademacher draws of step `t` come from a generator
/// ([`curvature_autograd::seeded_rng`], xoshiro256++) seeded from `(seed, t)`, so a
/// run is reproducible on every machine and resumes exactly from a saved
/// [`OptimizerState`].
///
/// ```
/// use curvature_autograd::{Tape, Tensor, Var};
/// use curvature_optim::{AdaHessian, AdaHessianConfig, Optimizer};
///
/// // f(w) = 1/2 sum d_i w_i^2, curvatures four orders of magnitude apart
/// let d = Tensor::from_vec(vec![1.0_f64, 100.0, 10_000.0], &[3]);
/// let mut params = vec![Tensor::from_vec(vec![1.0, 1.0, 1.0], &[3])];
/// let config = AdaHessianConfig { lr: 1.0, betas: (0.0, 0.0), eps: 0.0, ..Default::default() };
/// let mut opt = AdaHessian::new(&params, config)?;
/// let loss = |_: &Vec<Tensor<f64>>, tape: &Tape<f64>, p: &[Var<f64>]| {
///     (&p[0].square() * &tape.constant(&d)).sum() * 0.5
/// };
/// opt.step(&mut params, loss)?;
/// // one Newton step: at the minimum, whatever z was drawn
/// assert!(params[0].as_slice().iter().all(|w| w.abs() < 1e-12));
/// assert_eq!(opt.hvp_count(), 1);
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
#[derive(Clone, Debug)]
pub struct AdaHessian<T> {
    config: AdaHessianConfig,
    averaging: Vec<Averaging>,
    step: u64,
    work: Work,
    exp_avg: Vec<Tensor<T>>,
    exp_hessian_diag_sq: Vec<Tensor<T>>,
    hessian_diag: Vec<Tensor<T>>,
}

impl<T: Element> AdaHessian<T> {
    /// AdaHessian for these parameters. Checks every hyperparameter (an
    /// error names the first one out of range and its value) and each
    /// parameter's averaging against its shape; sizes the state.
    pub fn new<P: Parameters<T> + ?Sized>(
        params: &P,
        config: AdaHessianConfig,
    ) -> Result<Self, OptimError> {
        config.validate()?;
        let averaging = averaging::resolve(params, &config.averaging, &config.averaging_overrides)?;
        let zeros: Vec<Tensor<T>> = params
            .parameters()
            .iter()
            .map(|p| Tensor::zeros(p.shape()))
            .collect();
        Ok(Self {
            config,
            averaging,
            step: 0,
            work: Work::default(),
            exp_avg: zeros.clone(),
            exp_hessian_diag_sq: zeros.clone(),
            hessian_diag: zeros,
        })
    }

    /// The hyperparameters (the learning rate as last set).
    pub fn config(&self) -> &AdaHessianConfig {
        &self.config
    }

    /// The averaging in force for each parameter (defaults and overrides resolved).
    pub fn averaging(&self) -> &[Averaging] {
        &self.averaging
    }

    /// The number of Hessian-vector products computed so far (`n_samples`
    /// per refresh of `D`). Not part of the saved state.
    pub fn hvp_count(&self) -> u64 {
        self.work.hessian_vector_products
    }

    /// The Hessian-diagonal estimate `D` used by the last step (after the
    /// absolute value, when [`Estimate::Absolute`], and the averaging,
    /// broadcast back to each parameter's shape); zeros before the first step.
    pub fn hessian_diagonal(&self) -> &[Tensor<T>] {
        &self.hessian_diag
    }

    /// Whether step `t` (from 1) computes a new `D`.
    fn refreshes_at(&self, t: u64) -> bool {
        (t - 1) % self.config.update_each as u64 == 0
    }
}

/// The scalars of one update, bias corrections included.
struct Coefficients<T> {
    b1: T,
    b2: T,
    bc1: T,
    bc2: T,
    lr: T,
    eps: T,
    wd: T,
}

/// The moment updates and the parameter step for every element of one
/// parameter; `power` raises the bias-corrected RMS curvature to `k`.
#[inline(always)]
fn update_elements<T: Element>(
    c: &Coefficients<T>,
    p: &mut [T],
    m: &mut [T],
    v: &mut [T],
    d: &[T],
    g: &[T],
    power: impl Fn(T) -> T,
) {
    let (one, zero) = (T::one(), T::zero());
    for j in 0..p.len() {
        m[j] = c.b1 * m[j] + (one - c.b1) * g[j];
        v[j] = c.b2 * v[j] + (one - c.b2) * d[j] * d[j];
        // eps sits outside the power, as in Adam: it bounds the step
        // where the curvature estimate vanishes, for every k.
        let denom = power((v[j] / c.bc2).sqrt()) + c.eps;
        // 0 / 0 only with eps = 0 and nothing learned yet: no move.
        let ratio = if denom == zero {
            zero
        } else {
            m[j] / c.bc1 / denom
        };
        p[j] = p[j] - c.lr * (ratio + c.wd * p[j]);
    }
}

/// The method and its hyperparameters, for logs: `adahessian (lr 0.15,
/// betas (0.9, 0.999), eps 1e-4, weight decay 0, hessian power 1, update
/// each 1, 1 sample per estimate)`.
impl<T> fmt::Display for AdaHessian<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        write!(
            f,
            "adahessian (lr {}, betas ({}, {}), eps {:e}, weight decay {}, \
             hessian power {}, update each {}, {} sample{} per estimate)",
            c.lr,
            c.betas.0,
            c.betas.1,
            c.eps,
            c.weight_decay,
            c.hessian_power,
            c.update_each,
            c.n_samples,
            if c.n_samples == 1 { "" } else { "s" }
        )
    }
}

impl<T: Element> Optimizer<T> for AdaHessian<T> {
    fn needs(&self, objective: &dyn Objective<T>) -> Result<Needs, OptimError> {
        // The state was sized at construction: even an empty one is binding.
        let count = objective.parameters().len();
        if count != self.exp_avg.len() {
            return Err(OptimError::Count {
                what: "parameters",
                expected: self.exp_avg.len(),
                got: count,
            });
        }
        check_parameters_like_state(objective, &self.exp_avg)?;
        let t = self.step + 1;
        // The draws of step t are a function of (seed, t) only, so a
        // resumed run draws what the uninterrupted one would have.
        let hutchinson = self
            .refreshes_at(t)
            .then(|| HutchinsonDraws::at_step(self.config.seed, t, self.config.n_samples));
        Ok(Needs {
            hutchinson,
            ..Needs::default()
        })
    }

    fn update(&mut self, step: &mut Step<'_, T>) -> Result<(), OptimError> {
        let t = step.number();
        let commit = step.commit();
        let params = commit.objective;
        let grads = commit.gradient;
        // The new D (the driver's estimate, checked finite), pending in
        // the step's buffer until nothing can fail any more.
        let mut pending: Option<&mut [Tensor<T>]> = commit.hessian_diagonal;
        if let Some(draws) = pending.as_deref_mut() {
            let absolute = self.config.estimate == Estimate::Absolute;
            for ((d, averaging), p) in draws.iter_mut().zip(&self.averaging).zip(&self.exp_avg) {
                let d = d.make_mut();
                if absolute {
                    d.iter_mut().for_each(|x| *x = x.abs());
                }
                averaging.apply(p.shape(), d);
            }
        }
        let pending = pending.as_deref();

        let c = &self.config;
        let (one, zero) = (T::one(), T::zero());
        let (b1, b2) = (T::from_f64(c.betas.0), T::from_f64(c.betas.1));
        let bc1 = T::from_f64(bias_correction(c.betas.0, t));
        let bc2 = T::from_f64(bias_correction(c.betas.1, t));
        let (lr, eps, wd) = (
            T::from_f64(c.lr),
            T::from_f64(c.eps),
            T::from_f64(c.weight_decay),
        );
        let k = T::from_f64(c.hessian_power);
        let newton = c.hessian_power == 1.0;
        let diag = |i: usize| -> &[T] {
            match pending {
                Some(draws) => draws[i].as_slice(),
                None => self.hessian_diag[i].as_slice(),
            }
        };

        // With eps = 0, refuse (before changing anything) an element whose
        // curvature average is 0 while its gradient average is not.
        if c.eps == 0.0 {
            let bad = (0..grads.len()).map(|i| {
                let (m, v) = (
                    self.exp_avg[i].as_slice(),
                    self.exp_hessian_diag_sq[i].as_slice(),
                );
                let (d, g) = (diag(i), grads[i].as_slice());
                (0..g.len()).any(|j| {
                    b2 * v[j] + (one - b2) * d[j] * d[j] == zero
                        && b1 * m[j] + (one - b1) * g[j] != zero
                })
            });
            check_zero_denominators(&*params, t, bad)?;
        }

        if let Some(draws) = pending {
            for (d, pending) in self.hessian_diag.iter_mut().zip(draws) {
                d.make_mut().copy_from_slice(pending.as_slice());
            }
        }

        let coefficients = Coefficients {
            b1,
            b2,
            bc1,
            bc2,
            lr,
            eps,
            wd,
        };
        for (i, p) in params.parameters_mut().into_iter().enumerate() {
            let p = p.make_mut();
            let m = self.exp_avg[i].make_mut();
            let v = self.exp_hessian_diag_sq[i].make_mut();
            let d = self.hessian_diag[i].as_slice();
            let g = grads[i].as_slice();
            // Two instances of the loop, so that k = 1 never evaluates `powf`.
            if newton {
                update_elements(&coefficients, p, m, v, d, g, |rms| rms);
            } else {
                update_elements(&coefficients, p, m, v, d, g, |rms| rms.powf(k));
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
        let mut state = OptimizerState::new("adahessian", self.step);
        state.insert_per_parameter("exp_avg", &self.exp_avg);
        state.insert_per_parameter("exp_hessian_diag_sq", &self.exp_hessian_diag_sq);
        state.insert_per_parameter("hessian_diag", &self.hessian_diag);
        state
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<(), OptimError> {
        let mut buffers = state.per_parameter(
            "adahessian",
            &["exp_avg", "exp_hessian_diag_sq", "hessian_diag"],
        )?;
        let shapes: Vec<&[usize]> = self.exp_avg.iter().map(|b| b.shape()).collect();
        check_shapes(&buffers[0], &shapes)?;
        self.hessian_diag = buffers.pop().unwrap_or_default();
        self.exp_hessian_diag_sq = buffers.pop().unwrap_or_default();
        self.exp_avg = buffers.pop().unwrap_or_default();
        self.step = state.step;
        Ok(())
    }
}
