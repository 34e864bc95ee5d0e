//! Newton-CG, or Hessian-free optimization (Martens 2010): each step
//! minimises the damped quadratic model of the loss by conjugate gradient
//! on exact Hessian-vector products, never forming the Hessian.

mod config;

pub use config::NewtonCgConfig;

use std::fmt;

use curvature_autograd::{Element, Tensor};

use crate::optimizer::check_parameters_like_shapes;
use crate::state::{u64_from_tensor, u64_to_tensor};
use crate::{validate, Needs, Objective, OptimError, Optimizer, OptimizerState, Step, Work};

/// Newton-CG (truncated Newton, Hessian-free). At step `t`, with `g` the
/// gradient, `H` the Hessian (through Hessian-vector products on the
/// step's tape) and `lambda` the damping:
///
/// ```text
/// p  ≈ argmin q_λ(p) = g.p + 1/2 p.(H + λ I)p    conjugate gradient from
///                                                 warm_start * p_{t-1}
/// ρ  = (f(x + p) - f(x)) / q_0(p)                 the reduction ratio
/// λ <- 3/2 λ if ρ < 1/4;  2/3 λ if ρ > 3/4       (Levenberg-Marquardt)
/// x <- x + α p,   α = lr 0.8^j, the first with f(x + α p) <= f(x) + 1e-2 α g.p
/// ```
///
/// With [`NewtonCgConfig::gauss_newton`], `H` is replaced by the
/// Gauss-Newton matrix `J^T H_L J` of a loss split into a model and a loss
/// of its output ([`GaussNewtonObjective`](crate::GaussNewtonObjective)),
/// through `functional::GaussNewton` products on the same tape: positive
/// semi-definite for a convex loss, so CG never meets negative curvature.
///
/// CG stops at `max_cg_iter` iterations, at a relative residual
/// `|r| <= cg_tolerance |g|`, on Martens' relative-progress rule, or at a
/// direction of non-positive curvature (then it keeps the iterate so far,
/// or `-g` if there is none). A direction that is not a descent direction
/// is replaced by `-g`. When no `α` is accepted after `max_backtracks`
/// trials, the parameters stay where they are and the damping grows.
///
/// On the step driver it needs Hessian-vector products (the gradient is
/// recorded with its graph and the tape kept for the CG loop) and
/// evaluations for the backtracking. A non-finite product or trial loss is
/// an error naming the CG or backtracking iteration; nothing is changed.
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_optim::{NewtonCg, NewtonCgConfig, Optimizer};
///
/// // an ill-conditioned quadratic: one Newton step lands on the minimum
/// let d = Tensor::from_vec(vec![1.0_f64, 1e2, 1e4], &[3]);
/// let mut params = vec![Tensor::from_vec(vec![1.0, 1.0, 1.0], &[3])];
/// let mut opt = NewtonCg::new(NewtonCgConfig { damping: 0.0, ..Default::default() })?;
/// opt.step(&mut params, |_, tape, p| (&p[0].square() * &tape.constant(&d)).sum() * 0.5)?;
/// assert!(params[0].as_slice().iter().all(|w| w.abs() < 1e-9), "{:?}", params[0]);
/// assert_eq!(opt.last_cg_iterations(), 3);
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
#[derive(Clone, Debug)]
pub struct NewtonCg<T> {
    config: NewtonCgConfig,
    step: u64,
    work: Work,
    damping: f64,
    /// The last step's CG solution, the next CG's warm start.
    direction: Vec<Tensor<T>>,
    shapes: Vec<Vec<usize>>,
    last_cg_iterations: usize,
    last_ratio: f64,
}

impl<T: Element> NewtonCg<T> {
    /// Newton-CG with these hyperparameters, checked: an error names the
    /// first one out of range and its value.
    pub fn new(config: NewtonCgConfig) -> Result<Self, OptimError> {
        config.validate()?;
        Ok(Self {
            damping: config.damping,
            config,
            step: 0,
            work: Work::default(),
            direction: Vec::new(),
            shapes: Vec::new(),
            last_cg_iterations: 0,
            last_ratio: f64::NAN,
        })
    }

    /// The hyperparameters (the learning rate as last set).
    pub fn config(&self) -> &NewtonCgConfig {
        &self.config
    }

    /// The damping `lambda` the next step will use.
    pub fn damping(&self) -> f64 {
        self.damping
    }

    /// CG iterations (Hessian-vector products, besides a warm start's
    /// residual) of the last step.
    pub fn last_cg_iterations(&self) -> usize {
        self.last_cg_iterations
    }

    /// The last step's reduction ratio `rho` (NaN before the first).
    pub fn last_reduction_ratio(&self) -> f64 {
        self.last_ratio
    }
}

fn flatten<T: Element>(tensors: &[Tensor<T>]) -> Vec<T> {
    tensors.iter().flat_map(Tensor::to_vec).collect()
}

fn unflatten<T: Element>(flat: &[T], shapes: &[Vec<usize>]) -> Vec<Tensor<T>> {
    let mut offset = 0;
    shapes
        .iter()
        .map(|s| {
            let n: usize = s.iter().product();
            let t = Tensor::from_vec(flat[offset..offset + n].to_vec(), s);
            offset += n;
            t
        })
        .collect()
}

fn dot<T: Element>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |s, (&a, &b)| s + a * b)
}

/// The result of the inner solve: the direction, and `p.r` (for the model's value).
struct Solution<T> {
    x: Vec<T>,
    x_dot_r: T,
    iterations: usize,
}

/// Conjugate gradient on `(B + λ I) x = -g` from `x0`, `B` the Hessian or
/// the Gauss-Newton matrix.
fn conjugate_gradient<T: Element>(
    step: &mut Step<'_, T>,
    shapes: &[Vec<usize>],
    g: &[T],
    x0: Vec<T>,
    lambda: T,
    config: &NewtonCgConfig,
) -> Result<Solution<T>, OptimError> {
    let gauss_newton = config.gauss_newton;
    let mut apply = |v: &[T], iteration: usize| -> Result<Vec<T>, OptimError> {
        let v_tensors = unflatten(v, shapes);
        let hv = if gauss_newton {
            step.gnvp(&v_tensors, "conjugate gradient", iteration)?
        } else {
            step.hvp(&v_tensors, "conjugate gradient", iteration)?
        };
        Ok(flatten(&hv)
            .into_iter()
            .zip(v)
            .map(|(h, &v)| h + lambda * v)
            .collect())
    };
    let zero = T::zero();
    let half = T::from_f64(0.5);
    let b: Vec<T> = g.iter().map(|&g| -g).collect();
    let mut x = x0;
    let mut r = if x.iter().any(|&v| v != zero) {
        let ax = apply(&x, 0)?;
        b.iter().zip(&ax).map(|(&b, &a)| b - a).collect()
    } else {
        b.clone()
    };
    let tolerance = T::from_f64(config.cg_tolerance) * dot(g, g).sqrt();
    let mut p = r.clone();
    let mut rr = dot(&r, &r);
    let mut values: Vec<T> = Vec::new();
    let mut iterations = 0;
    for i in 1..=config.max_cg_iter {
        if rr.sqrt() <= tolerance {
            break;
        }
        let ap = apply(&p, i)?;
        let pap = dot(&p, &ap);
        if pap <= zero {
            // non-positive curvature along p: keep what we have
            break;
        }
        let alpha = rr / pap;
        for ((x, r), (&p, &ap)) in x.iter_mut().zip(&mut r).zip(p.iter().zip(&ap)) {
            *x += alpha * p;
            *r = *r - alpha * ap;
        }
        let rr_new = dot(&r, &r);
        let beta = rr_new / rr;
        for (p, &r) in p.iter_mut().zip(&r) {
            *p = r + beta * *p;
        }
        rr = rr_new;
        iterations = i;
        // the damped model's value, phi(x) = -1/2 (b.x + r.x)
        let phi = -half * (dot(&b, &x) + dot(&r, &x));
        values.push(phi);
        let k = (i / 10).max(10);
        if config.progress_tolerance > 0.0 && i > k && phi < zero {
            let progress = (phi - values[i - 1 - k]) / phi;
            if progress < T::from_f64(k as f64 * config.progress_tolerance) {
                break;
            }
        }
    }
    let x_dot_r = dot(&x, &r);
    Ok(Solution {
        x,
        x_dot_r,
        iterations,
    })
}

/// `newton-cg (lr 1, damping 0.001, max cg iter 100, cg tolerance 1e-10)`.
impl<T> fmt::Display for NewtonCg<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        write!(
            f,
            "newton-cg (lr {}, damping {}, max cg iter {}, cg tolerance {:e}{})",
            c.lr,
            self.damping,
            c.max_cg_iter,
            c.cg_tolerance,
            if c.gauss_newton { ", gauss-newton" } else { "" }
        )
    }
}

impl<T: Element> Optimizer<T> for NewtonCg<T> {
    fn needs(&self, objective: &dyn Objective<T>) -> Result<Needs, OptimError> {
        let shapes: Vec<&[usize]> = self.shapes.iter().map(Vec::as_slice).collect();
        check_parameters_like_shapes(objective, &shapes)?;
        Ok(Needs {
            hvp: !self.config.gauss_newton,
            gauss_newton: self.config.gauss_newton,
            evaluations: true,
            ..Needs::default()
        })
    }

    fn update(&mut self, step: &mut Step<'_, T>) -> Result<(), OptimError> {
        let c = self.config.clone();
        let shapes: Vec<Vec<usize>> = step
            .parameters()
            .iter()
            .map(|p| p.shape().to_vec())
            .collect();
        let g = flatten(step.gradient());
        let x: Vec<T> = step.parameters().iter().flat_map(|p| p.to_vec()).collect();
        let f0 = step.loss();
        let lambda = T::from_f64(self.damping);
        let warm = T::from_f64(c.warm_start);
        let x0: Vec<T> = if self.direction.is_empty() {
            vec![T::zero(); g.len()]
        } else {
            flatten(&self.direction)
                .into_iter()
                .map(|d| warm * d)
                .collect()
        };
        let solution = conjugate_gradient(step, &shapes, &g, x0, lambda, &c)?;
        let half = T::from_f64(0.5);
        let (mut p, mut gp) = (solution.x, T::zero());
        // p.B p for the undamped model, from A p = -g - r: p.A p = -g.p - p.r
        let mut pbp = None;
        if !p.is_empty() {
            gp = dot(&g, &p);
            pbp = Some(-gp - solution.x_dot_r - lambda * dot(&p, &p));
        }
        if gp >= T::zero() {
            // not a descent direction (or none at all): steepest descent
            p = g.iter().map(|&g| -g).collect();
            gp = -dot(&g, &g);
            pbp = None;
        }
        let model = |alpha: T| match pbp {
            Some(pbp) => alpha * gp + half * alpha * alpha * pbp,
            None => alpha * gp,
        };

        let c1 = T::from_f64(1e-2);
        let mut alpha = T::from_f64(c.lr);
        let mut accepted = None;
        let mut ratio = f64::NAN;
        for trial in 1..=c.max_backtracks {
            let point: Vec<T> = x.iter().zip(&p).map(|(&x, &p)| x + alpha * p).collect();
            let f = step.evaluate(&unflatten(&point, &shapes), "backtracking", trial)?;
            if trial == 1 {
                let predicted = model(alpha);
                if predicted < T::zero() {
                    ratio = ((f - f0) / predicted).as_f64();
                }
            }
            if f <= f0 + c1 * alpha * gp {
                accepted = Some(point);
                break;
            }
            alpha = alpha * T::from_f64(c.backtrack);
        }
        let mut damping = self.damping;
        if c.adapt_damping {
            if accepted.is_none() || ratio < 0.25 {
                damping *= 1.5;
            } else if ratio > 0.75 {
                damping *= 2.0 / 3.0;
            }
        }

        let commit = step.commit();
        if let Some(point) = accepted {
            let mut offset = 0;
            for param in commit.objective.parameters_mut() {
                let param = param.make_mut();
                param.copy_from_slice(&point[offset..offset + param.len()]);
                offset += param.len();
            }
        }
        self.direction = unflatten(&p, &shapes);
        self.shapes = shapes;
        self.damping = damping;
        self.last_cg_iterations = solution.iterations;
        self.last_ratio = ratio;
        self.step += 1;
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

    /// `"{index}.direction"` per parameter (the warm start) and `damping`
    /// (the adapted lambda's `f64` bits in four 16-bit pieces, exact in
    /// `f32` too).
    fn state(&self) -> OptimizerState<T> {
        let mut state = OptimizerState::new("newton-cg", self.step);
        state.insert_per_parameter("direction", &self.direction);
        state
            .tensors
            .insert("damping".to_string(), u64_to_tensor(self.damping.to_bits()));
        state
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<(), OptimError> {
        let mut rest = state.clone();
        let damping = rest
            .tensors
            .remove("damping")
            .ok_or_else(|| OptimError::State("missing entry \"damping\"".into()))?;
        let damping = f64::from_bits(u64_from_tensor(&damping, "damping")?);
        if !(damping.is_finite() && damping >= 0.0) {
            return Err(OptimError::State(format!(
                "entry \"damping\" is {damping}, not a finite value >= 0"
            )));
        }
        let mut buffers = rest.per_parameter("newton-cg", &["direction"])?;
        let direction = buffers.pop().unwrap_or_default();
        if !self.shapes.is_empty() {
            let shapes: Vec<&[usize]> = self.shapes.iter().map(Vec::as_slice).collect();
            crate::state::check_shapes(&direction, &shapes)?;
        }
        self.shapes = direction.iter().map(|d| d.shape().to_vec()).collect();
        self.direction = direction;
        self.damping = damping;
        self.step = state.step;
        Ok(())
    }
}
