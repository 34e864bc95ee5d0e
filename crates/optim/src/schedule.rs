//! Learning-rate schedules: small values that map a step index to a
//! learning rate, composed by wrapping (a warm-up around a decay).

use curvature_autograd::Element;

use crate::{validate, OptimError, Optimizer};

/// A learning rate as a function of the step index.
///
/// `step` is the number of optimizer steps already taken, so
/// `lr_at(optimizer.step_count())` is the rate for the step about to be
/// taken, and `lr_at(0)` the rate of the first step.
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_optim::{CosineAnnealing, LinearWarmup, LrSchedule, Optimizer, Sgd, SgdConfig};
///
/// // 10 warm-up steps from lr/10, then cosine annealing to 0 over 90 steps
/// let schedule = LinearWarmup::new(CosineAnnealing::new(0.1, 0.0, 90)?, 10, 0.1)?;
/// let mut params = vec![Tensor::scalar(1.0_f64)];
/// let mut sgd = Sgd::new(SgdConfig::new(schedule.lr_at(0)))?;
/// for _ in 0..100 {
///     schedule.apply(&mut sgd)?;
///     sgd.step(&mut params, |_, _, p| p[0].square())?;
/// }
/// assert!((schedule.lr_at(0) - 0.01).abs() < 1e-15);
/// assert_eq!(schedule.lr_at(10), 0.1);
/// assert_eq!(schedule.lr_at(100), 0.0);
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
pub trait LrSchedule {
    /// The learning rate for the step with this index (0-based).
    fn lr_at(&self, step: u64) -> f64;

    /// Sets the optimizer's learning rate for its next step.
    fn apply<T: Element, O: Optimizer<T> + ?Sized>(
        &self,
        optimizer: &mut O,
    ) -> Result<(), OptimError>
    where
        Self: Sized,
    {
        optimizer.set_learning_rate(self.lr_at(optimizer.step_count()))
    }
}

/// A boxed schedule (`Box<dyn LrSchedule>` included) is a schedule, so a
/// schedule chosen at run time can be wrapped like any other.
///
/// ```
/// use curvature_optim::{Constant, CosineAnnealing, LinearWarmup, LrSchedule};
///
/// let cosine = true;
/// let decay: Box<dyn LrSchedule> = if cosine {
///     Box::new(CosineAnnealing::new(0.1, 0.0, 90)?)
/// } else {
///     Box::new(Constant::new(0.1)?)
/// };
/// let schedule = LinearWarmup::new(decay, 10, 0.1)?;
/// assert_eq!((schedule.lr_at(10), schedule.lr_at(100)), (0.1, 0.0));
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
impl<S: LrSchedule + ?Sized> LrSchedule for Box<S> {
    fn lr_at(&self, step: u64) -> f64 {
        (**self).lr_at(step)
    }
}

/// A borrowed schedule is a schedule: a warm-up can wrap `&schedule`
/// without taking it.
impl<S: LrSchedule + ?Sized> LrSchedule for &S {
    fn lr_at(&self, step: u64) -> f64 {
        (**self).lr_at(step)
    }
}

/// The same for a mutable borrow.
impl<S: LrSchedule + ?Sized> LrSchedule for &mut S {
    fn lr_at(&self, step: u64) -> f64 {
        (**self).lr_at(step)
    }
}

/// A constant learning rate: the base case for [`LinearWarmup`].
#[derive(Clone, Debug, PartialEq)]
pub struct Constant {
    lr: f64,
}

impl Constant {
    /// The rate `lr` (`> 0`) at every step.
    pub fn new(lr: f64) -> Result<Self, OptimError> {
        validate::positive("lr", lr)?;
        Ok(Self { lr })
    }
}

impl LrSchedule for Constant {
    fn lr_at(&self, _step: u64) -> f64 {
        self.lr
    }
}

/// Step decay, as PyTorch's `StepLR`: `base_lr * gamma^floor(step / step_size)`.
///
/// ```
/// use curvature_optim::{LrSchedule, StepDecay};
/// let s = StepDecay::new(0.1, 30, 0.5)?;
/// assert_eq!((s.lr_at(29), s.lr_at(30), s.lr_at(60)), (0.1, 0.05, 0.025));
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StepDecay {
    base_lr: f64,
    step_size: u64,
    gamma: f64,
}

impl StepDecay {
    /// Multiplies `base_lr` (`> 0`) by `gamma` (in `(0, 1]`) every
    /// `step_size` (`>= 1`) steps.
    pub fn new(base_lr: f64, step_size: u64, gamma: f64) -> Result<Self, OptimError> {
        validate::positive("base_lr", base_lr)?;
        validate::at_least_one("step_size", step_size)?;
        validate::half_open_unit("gamma", gamma)?;
        Ok(Self {
            base_lr,
            step_size,
            gamma,
        })
    }
}

impl LrSchedule for StepDecay {
    fn lr_at(&self, step: u64) -> f64 {
        self.base_lr * self.gamma.powf((step / self.step_size) as f64)
    }
}

/// Decay at given milestones, as PyTorch's `MultiStepLR` (the schedule of
/// the AdaHessian authors' CIFAR runs: `gamma = 0.1` at epochs 80 and 120):
/// `base_lr * gamma^(number of milestones <= step)`.
///
/// ```
/// use curvature_optim::{LrSchedule, MultiStepDecay};
/// let s = MultiStepDecay::new(0.15, vec![80, 120], 0.1)?;
/// assert_eq!(s.lr_at(79), 0.15);
/// assert!((s.lr_at(80) - 0.015).abs() < 1e-15 && (s.lr_at(120) - 0.0015).abs() < 1e-15);
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MultiStepDecay {
    base_lr: f64,
    milestones: Vec<u64>,
    gamma: f64,
}

impl MultiStepDecay {
    /// Multiplies `base_lr` (`> 0`) by `gamma` (in `(0, 1]`) at each
    /// milestone (step indices, strictly increasing).
    pub fn new(base_lr: f64, milestones: Vec<u64>, gamma: f64) -> Result<Self, OptimError> {
        validate::positive("base_lr", base_lr)?;
        validate::half_open_unit("gamma", gamma)?;
        if milestones.windows(2).any(|w| w[0] >= w[1]) {
            return Err(OptimError::invalid(
                "milestones",
                format!("{milestones:?}"),
                "must be strictly increasing",
            ));
        }
        Ok(Self {
            base_lr,
            milestones,
            gamma,
        })
    }
}

impl LrSchedule for MultiStepDecay {
    fn lr_at(&self, step: u64) -> f64 {
        let passed = self.milestones.iter().filter(|&&m| m <= step).count();
        self.base_lr * self.gamma.powf(passed as f64)
    }
}

/// Cosine annealing without restarts (Loshchilov & Hutter's SGDR schedule,
/// PyTorch's `CosineAnnealingLR` closed form) from `base_lr` to `min_lr`
/// over `period` steps, then `min_lr`:
/// `min_lr + (base_lr - min_lr) (1 + cos(pi min(step, period) / period)) / 2`.
///
/// ```
/// use curvature_optim::{CosineAnnealing, LrSchedule};
/// let s = CosineAnnealing::new(1.0, 0.0, 100)?;
/// assert_eq!(s.lr_at(0), 1.0);
/// assert!((s.lr_at(50) - 0.5).abs() < 1e-15);
/// assert_eq!((s.lr_at(100), s.lr_at(1000)), (0.0, 0.0));
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CosineAnnealing {
    base_lr: f64,
    min_lr: f64,
    period: u64,
}

impl CosineAnnealing {
    /// From `base_lr` (`> 0`) down to `min_lr` (in `[0, base_lr]`) over
    /// `period` (`>= 1`) steps.
    pub fn new(base_lr: f64, min_lr: f64, period: u64) -> Result<Self, OptimError> {
        validate::positive("base_lr", base_lr)?;
        validate::non_negative("min_lr", min_lr)?;
        if min_lr > base_lr {
            return Err(OptimError::invalid(
                "min_lr",
                min_lr,
                "must not exceed base_lr",
            ));
        }
        validate::at_least_one("period", period)?;
        Ok(Self {
            base_lr,
            min_lr,
            period,
        })
    }
}

impl LrSchedule for CosineAnnealing {
    fn lr_at(&self, step: u64) -> f64 {
        if step >= self.period {
            return self.min_lr;
        }
        let progress = step as f64 / self.period as f64;
        self.min_lr
            + (self.base_lr - self.min_lr) * (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0
    }
}

/// Linear warm-up in front of another schedule: for `step < warmup_steps`
/// the rate is `inner.lr_at(0)` times a factor rising linearly from
/// `start_factor` at step 0 towards 1 (PyTorch's `LinearLR`); from
/// `warmup_steps` on it is `inner.lr_at(step - warmup_steps)`, so the
/// inner schedule starts when the warm-up ends.
///
/// ```
/// use curvature_optim::{Constant, LinearWarmup, LrSchedule, StepDecay};
/// let s = LinearWarmup::new(Constant::new(1.0)?, 4, 0.2)?;
/// let rates: Vec<f64> = (0..6).map(|t| s.lr_at(t)).collect();
/// assert_eq!(rates, vec![0.2, 0.4, 0.6000000000000001, 0.8, 1.0, 1.0]);
/// let s = LinearWarmup::new(StepDecay::new(1.0, 10, 0.5)?, 5, 0.5)?;
/// assert_eq!((s.lr_at(5), s.lr_at(15)), (1.0, 0.5));
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LinearWarmup<S> {
    inner: S,
    warmup_steps: u64,
    start_factor: f64,
}

impl<S: LrSchedule> LinearWarmup<S> {
    /// Warm-up over `warmup_steps` (`>= 1`) steps starting at
    /// `start_factor` (in `(0, 1]`) times the inner schedule's first rate.
    pub fn new(inner: S, warmup_steps: u64, start_factor: f64) -> Result<Self, OptimError> {
        validate::at_least_one("warmup_steps", warmup_steps)?;
        validate::half_open_unit("start_factor", start_factor)?;
        Ok(Self {
            inner,
            warmup_steps,
            start_factor,
        })
    }

    /// The schedule that follows the warm-up.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: LrSchedule> LrSchedule for LinearWarmup<S> {
    fn lr_at(&self, step: u64) -> f64 {
        if step >= self.warmup_steps {
            return self.inner.lr_at(step - self.warmup_steps);
        }
        let progress = step as f64 / self.warmup_steps as f64;
        self.inner.lr_at(0) * (self.start_factor + (1.0 - self.start_factor) * progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_decay_matches_the_closed_form() {
        let s = StepDecay::new(0.2, 3, 0.1).unwrap();
        for t in 0..12 {
            let want = 0.2 * 0.1_f64.powi((t / 3) as i32);
            assert!((s.lr_at(t) - want).abs() < 1e-15 * want.max(1e-300));
        }
    }

    #[test]
    fn cosine_is_monotone_from_base_to_min_and_symmetric_about_the_middle() {
        let s = CosineAnnealing::new(0.5, 0.1, 40).unwrap();
        assert_eq!(s.lr_at(0), 0.5);
        assert!((s.lr_at(20) - 0.3).abs() < 1e-15);
        for t in 0..40 {
            assert!(s.lr_at(t + 1) <= s.lr_at(t));
            let (a, b) = (s.lr_at(t) - 0.3, 0.3 - s.lr_at(40 - t));
            assert!((a - b).abs() < 1e-12);
        }
        assert_eq!(s.lr_at(41), 0.1);
    }

    #[test]
    fn warmup_is_linear_continuous_and_composes() {
        let s = LinearWarmup::new(CosineAnnealing::new(1.0, 0.0, 10).unwrap(), 5, 0.0001).unwrap();
        for t in 0..4 {
            let slope = s.lr_at(t + 1) - s.lr_at(t);
            assert!((slope - (1.0 - 0.0001) / 5.0).abs() < 1e-12);
        }
        assert_eq!(s.lr_at(5), 1.0);
        assert_eq!(s.lr_at(15), 0.0);
        let nested = LinearWarmup::new(s.clone(), 2, 0.5).unwrap();
        assert_eq!(nested.lr_at(2), s.lr_at(0));
        assert_eq!(nested.inner(), &s);
    }

    #[test]
    fn a_boxed_schedule_is_a_schedule_and_drives_an_optimizer() {
        use crate::{Sgd, SgdConfig};
        use curvature_autograd::Tensor;

        let schedules: Vec<Box<dyn LrSchedule>> = vec![
            Box::new(Constant::new(0.5).unwrap()),
            Box::new(StepDecay::new(0.5, 2, 0.5).unwrap()),
            Box::new(
                LinearWarmup::new(CosineAnnealing::new(0.5, 0.0, 4).unwrap(), 2, 0.5).unwrap(),
            ),
        ];
        let want = [
            vec![0.5; 6],
            vec![0.5, 0.5, 0.25, 0.25, 0.125, 0.125],
            vec![
                0.25,
                0.375,
                0.5,
                0.42677669529663687,
                0.25,
                0.07322330470336313,
            ],
        ];
        for (schedule, want) in schedules.iter().zip(want) {
            // a warm-up wraps the boxed schedule, and a borrow of it
            let warm = LinearWarmup::new(schedule, 1, 0.5).unwrap();
            assert_eq!(warm.lr_at(1), schedule.lr_at(0));
            let mut sgd = Sgd::new(SgdConfig::new(1.0)).unwrap();
            let mut params = vec![Tensor::scalar(1.0_f64)];
            let mut used = Vec::new();
            for _ in 0..6 {
                schedule.apply(&mut sgd).unwrap();
                used.push(sgd.learning_rate());
                sgd.step(&mut params, |_, _, p| p[0].square()).unwrap();
            }
            for (u, w) in used.iter().zip(&want) {
                assert!((u - w).abs() < 1e-15, "{used:?} != {want:?}");
            }
        }
    }

    #[test]
    fn invalid_schedules_name_the_value() {
        let e = StepDecay::new(0.1, 0, 0.5).unwrap_err().to_string();
        assert!(e.contains("step_size = 0"), "{e}");
        let e = StepDecay::new(0.1, 1, 1.5).unwrap_err().to_string();
        assert!(e.contains("gamma = 1.5"), "{e}");
        let e = CosineAnnealing::new(0.1, 0.2, 10).unwrap_err().to_string();
        assert!(e.contains("min_lr = 0.2"), "{e}");
        let e = LinearWarmup::new(Constant::new(0.1).unwrap(), 3, 0.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("start_factor = 0"), "{e}");
        let e = MultiStepDecay::new(0.1, vec![5, 5], 0.1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("milestones = [5, 5]"), "{e}");
        assert!(Constant::new(-1.0).is_err());
    }
}
