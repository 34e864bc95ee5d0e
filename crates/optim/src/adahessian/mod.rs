//! AdaHessian (Yao, Gholami, Shen, Mustafa, Keutzer, Mahoney, 2020): Adam
//! with the squared gradient replaced by a squared Hutchinson estimate of
//! the Hessian's diagonal. The full specification, and how it compares
//! with other public versions, is `docs/adahessian.md`.

mod averaging;
mod config;

pub use averaging::Averaging;
pub use config::{AdaHessianConfig, Estimate};

use std::fmt;

use curvature_autograd::{seeded_rng, Element, Parameters, SeededRng, Tape, Tensor, Var};

use crate::optimizer::{
    bias_correction, check_finite, check_parameters_like_state, check_zero_denominators, loss_value,
};
use crate::state::check_shapes;
use crate::{validate, Objective, OptimError, Optimizer, OptimizerState};

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
/// `avg` is the parameter's declared [`Averaging`]. Each step runs the
/// loss closure once on a fresh tape; on steps that refresh `D` it keeps
/// the gradient's graph (`grad_graph`) and runs one more reverse sweep per
/// draw for `H z = ∇<g, z>`; on the other steps, one plain gradient. The
/// tape is dropped before the parameters are updated in place.
///
/// The Rademacher draws of step `t` come from the optimizer's own
/// generator ([`seeded_rng`], xoshiro256++) seeded from `(seed, t)`, so a
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
    hvp_count: u64,
    exp_avg: Vec<Tensor<T>>,
    exp_hessian_diag_sq: Vec<Tensor<T>>,
    hessian_diag: Vec<Tensor<T>>,
    /// Scratch for the new estimate: the mean of `z ⊙ Hz` over the draws
    /// of the current step, then the pending `D` (absolute value and
    /// averaging applied) until the step can no longer fail.
    draws: Vec<Vec<T>>,
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
            hvp_count: 0,
            exp_avg: zeros.clone(),
            exp_hessian_diag_sq: zeros.clone(),
            draws: zeros.iter().map(|z| z.to_vec()).collect(),
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
        self.hvp_count
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

    /// The generator of the draws at step `t`: a function of `(seed, t)`
    /// only, so a resumed run draws what the uninterrupted one would have.
    fn rng_for_step(&self, t: u64) -> SeededRng {
        seeded_rng(self.config.seed ^ splitmix64(t))
    }

    /// Fills `self.draws` with the mean of `z ⊙ Hz` over `n_samples`
    /// Rademacher draws, given the gradient with its graph kept.
    fn hutchinson(&mut self, tape: &Tape<T>, grads: &[Var<T>], vars: &[Var<T>], t: u64) {
        let mut rng = self.rng_for_step(t);
        let n = self.config.n_samples;
        for s in 0..n {
            let zs: Vec<Tensor<T>> = self
                .exp_avg
                .iter()
                .map(|p| Tensor::rademacher(p.shape(), &mut rng))
                .collect();
            // Hz = ∇<g, z>: one more reverse sweep through the recorded
            // gradient, seeded with z (the vector-Jacobian product of g)
            let hzs = tape.grad_many(grads, &zs, vars);
            self.hvp_count += 1;
            for ((acc, z), hz) in self.draws.iter_mut().zip(&zs).zip(&hzs) {
                for ((a, &z), &hz) in acc.iter_mut().zip(z.as_slice()).zip(hz.as_slice()) {
                    *a = if s == 0 { z * hz } else { *a + z * hz };
                }
            }
        }
        if n > 1 {
            let scale = T::one() / T::from_f64(n as f64);
            for a in self.draws.iter_mut().flatten() {
                *a = *a * scale;
            }
        }
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

/// SplitMix64's output function: spreads consecutive steps over the seed space.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
    fn step_objective(&mut self, objective: &mut dyn Objective<T>) -> Result<T, OptimError> {
        let params = objective;
        let t = self.step + 1;
        // The state was sized at construction: even an empty one is binding.
        let count = params.parameters().len();
        if count != self.exp_avg.len() {
            return Err(OptimError::Count {
                what: "parameters",
                expected: self.exp_avg.len(),
                got: count,
            });
        }
        check_parameters_like_state(&*params, &self.exp_avg)?;
        let refresh = self.refreshes_at(t);

        // Everything the tape is needed for, in a scope that drops it: the
        // parameters' storage is then unshared and updated without a copy.
        let (value, grads) = {
            let tape = Tape::new();
            let vars = params.bind(&tape);
            let out = params.loss(&tape, &vars);
            let value = loss_value(&out, t)?;
            let grads = if refresh {
                let g = tape.grad_graph(&out, &vars);
                let values: Vec<Tensor<T>> = g.iter().map(Var::value).collect();
                check_finite(&*params, &values, "gradient", t)?;
                self.hutchinson(&tape, &g, &vars, t);
                values
            } else {
                let g = tape.grad(&out, &vars);
                check_finite(&*params, &g, "gradient", t)?;
                g
            };
            (value, grads)
        };

        if refresh {
            if let Some(index) = self
                .draws
                .iter()
                .position(|d| d.iter().any(|x| !x.is_finite()))
            {
                return Err(OptimError::NonFinite {
                    what: "Hessian diagonal estimate",
                    parameter: crate::optimizer::parameter_name(&*params, index),
                    index,
                    step: t,
                });
            }
            // The new D, pending in `draws` until nothing can fail any more.
            let absolute = self.config.estimate == Estimate::Absolute;
            for ((d, averaging), p) in self
                .draws
                .iter_mut()
                .zip(&self.averaging)
                .zip(&self.exp_avg)
            {
                if absolute {
                    d.iter_mut().for_each(|x| *x = x.abs());
                }
                averaging.apply(p.shape(), d);
            }
        }

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
            if refresh {
                &self.draws[i]
            } else {
                self.hessian_diag[i].as_slice()
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

        if refresh {
            for (d, pending) in self.hessian_diag.iter_mut().zip(&self.draws) {
                d.make_mut().copy_from_slice(pending);
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
        Ok(value)
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
