//! Stochastic gradient descent with momentum, dampening, Nesterov momentum
//! and (L2) weight decay, with PyTorch's formulas.

use std::fmt;

use curvature_autograd::{Element, Parameters, Tensor};

use crate::optimizer::{check_finite, check_like_parameters, check_parameters_like_shapes};
use crate::state::check_shapes;
use crate::{
    validate, FirstOrderOptimizer, Needs, Objective, OptimError, Optimizer, OptimizerState, Step,
    Work,
};

/// The hyperparameters of [`Sgd`]. The learning rate has no default (as in
/// PyTorch); [`SgdConfig::new`] sets it and leaves the rest at their
/// defaults (all 0, no Nesterov).
#[derive(Clone, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate; `> 0`.
    pub lr: f64,
    /// Momentum factor; `>= 0` (0: plain gradient descent).
    pub momentum: f64,
    /// Dampening of the gradient's contribution to the momentum; in `[0, 1]`.
    pub dampening: f64,
    /// Nesterov momentum; needs `momentum > 0` and `dampening = 0`.
    pub nesterov: bool,
    /// L2 penalty added to the gradient (`g + weight_decay * p`); `>= 0`.
    pub weight_decay: f64,
}

impl SgdConfig {
    /// The learning rate `lr`, everything else at its default.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    fn validate(&self) -> Result<(), OptimError> {
        validate::positive("lr", self.lr)?;
        validate::non_negative("momentum", self.momentum)?;
        validate::unit_interval("dampening", self.dampening)?;
        validate::non_negative("weight_decay", self.weight_decay)?;
        if self.nesterov && self.momentum <= 0.0 {
            return Err(OptimError::invalid(
                "momentum",
                self.momentum,
                "Nesterov momentum needs momentum > 0",
            ));
        }
        if self.nesterov && self.dampening != 0.0 {
            return Err(OptimError::invalid(
                "dampening",
                self.dampening,
                "Nesterov momentum needs dampening = 0",
            ));
        }
        Ok(())
    }
}

/// Stochastic gradient descent, as `torch.optim.SGD`. With
/// `d = g + weight_decay * p`:
///
/// ```text
/// b <- d                                  on the first step
/// b <- momentum * b + (1 - dampening) * d  afterwards
/// d <- d + momentum * b   (Nesterov)   or   d <- b   (classical momentum)
/// p <- p - lr * d
/// ```
///
/// Without momentum, `p <- p - lr * d`. The parameters' number and shapes
/// are recorded on the first step (with the momentum buffers); a later step
/// whose parameters differ in number or shape is an error, with or without
/// momentum.
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_optim::{Optimizer, Sgd, SgdConfig};
///
/// // f(x, y) = x^2 + 10 y^2, heavy-ball momentum
/// let mut params = vec![Tensor::from_vec(vec![1.0_f64, 1.0], &[2])];
/// let weights = Tensor::from_vec(vec![1.0, 10.0], &[2]);
/// let mut sgd = Sgd::new(SgdConfig { momentum: 0.9, ..SgdConfig::new(0.02) })?;
/// for _ in 0..300 {
///     sgd.step(&mut params, |_, tape, p| {
///         (&p[0].square() * &tape.constant(&weights)).sum()
///     })?;
/// }
/// assert!(params[0].as_slice().iter().all(|x| x.abs() < 1e-4));
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<T> {
    config: SgdConfig,
    step: u64,
    momentum_buffers: Vec<Tensor<T>>,
    /// The parameters' shapes, from the first step (or a loaded state).
    shapes: Vec<Vec<usize>>,
    work: Work,
}

impl<T: Element> Sgd<T> {
    /// SGD with these hyperparameters, checked: an error names the first
    /// one out of range and its value.
    pub fn new(config: SgdConfig) -> Result<Self, OptimError> {
        config.validate()?;
        Ok(Self {
            config,
            step: 0,
            momentum_buffers: Vec::new(),
            shapes: Vec::new(),
            work: Work::default(),
        })
    }

    /// Errors unless `params` are shaped as on the first step.
    fn check_parameters<P: Parameters<T> + ?Sized>(&self, params: &P) -> Result<(), OptimError> {
        let shapes: Vec<&[usize]> = self.shapes.iter().map(Vec::as_slice).collect();
        check_parameters_like_shapes(params, &shapes)
    }

    /// The hyperparameters (the learning rate as last set).
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }
}

/// The method and its hyperparameters, for logs:
/// `sgd (lr 0.1, momentum 0.9, weight decay 0)`, with `dampening` and
/// `nesterov` when they are set.
impl<T> fmt::Display for Sgd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        write!(
            f,
            "sgd (lr {}, momentum {}, weight decay {}",
            c.lr, c.momentum, c.weight_decay
        )?;
        if c.dampening != 0.0 {
            write!(f, ", dampening {}", c.dampening)?;
        }
        if c.nesterov {
            f.write_str(", nesterov")?;
        }
        f.write_str(")")
    }
}

impl<T: Element> Optimizer<T> for Sgd<T> {
    fn needs(&self, objective: &dyn Objective<T>) -> Result<Needs, OptimError> {
        self.check_parameters(objective)?;
        Ok(Needs::default())
    }

    fn update(&mut self, step: &mut Step<'_, T>) -> Result<(), OptimError> {
        let commit = step.commit();
        self.step_with_grads(commit.objective, commit.gradient)
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
        let mut state = OptimizerState::new("sgd", self.step);
        state.insert_per_parameter("momentum_buffer", &self.momentum_buffers);
        state
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<(), OptimError> {
        let names: &[&str] = if self.config.momentum > 0.0 {
            &["momentum_buffer"]
        } else {
            &[]
        };
        let mut buffers = state.per_parameter("sgd", names)?;
        let buffers = buffers.pop().unwrap_or_default();
        if !self.momentum_buffers.is_empty() {
            let shapes: Vec<&[usize]> = self.momentum_buffers.iter().map(|b| b.shape()).collect();
            check_shapes(&buffers, &shapes)?;
        }
        if !buffers.is_empty() {
            self.shapes = buffers.iter().map(|b| b.shape().to_vec()).collect();
        }
        self.momentum_buffers = buffers;
        self.step = state.step;
        Ok(())
    }
}

impl<T: Element> FirstOrderOptimizer<T> for Sgd<T> {
    fn step_with_grads<P>(&mut self, params: &mut P, grads: &[Tensor<T>]) -> Result<(), OptimError>
    where
        P: Parameters<T> + ?Sized,
    {
        let t = self.step + 1;
        self.check_parameters(&*params)?;
        check_like_parameters(&*params, grads, "gradient")?;
        check_finite(&*params, grads, "gradient", t)?;

        let c = &self.config;
        let lr = T::from_f64(c.lr);
        let wd = T::from_f64(c.weight_decay);
        let momentum = T::from_f64(c.momentum);
        let keep = T::one() - T::from_f64(c.dampening);
        if self.shapes.is_empty() {
            self.shapes = grads.iter().map(|g| g.shape().to_vec()).collect();
        }
        let first = self.momentum_buffers.is_empty();
        if c.momentum > 0.0 && first {
            self.momentum_buffers = grads.iter().map(Tensor::zeros_like).collect();
        }
        for (i, p) in params.parameters_mut().into_iter().enumerate() {
            let p = p.make_mut();
            let g = grads[i].as_slice();
            if c.momentum == 0.0 {
                for (p, &g) in p.iter_mut().zip(g) {
                    *p = *p - lr * (g + wd * *p);
                }
                continue;
            }
            let b = self.momentum_buffers[i].make_mut();
            for ((p, &g), b) in p.iter_mut().zip(g).zip(b.iter_mut()) {
                let d = g + wd * *p;
                *b = if first { d } else { momentum * *b + keep * d };
                let d = if c.nesterov { d + momentum * *b } else { *b };
                *p = *p - lr * d;
            }
        }
        self.step = t;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(config: SgdConfig) -> String {
        Sgd::<f64>::new(config).unwrap_err().to_string()
    }

    #[test]
    fn invalid_hyperparameters_are_errors_naming_the_value() {
        let e = err(SgdConfig::new(-0.1));
        assert!(e.contains("lr") && e.contains("-0.1"), "{e}");
        let e = err(SgdConfig {
            momentum: -1.0,
            ..SgdConfig::new(0.1)
        });
        assert!(e.contains("momentum") && e.contains("-1"), "{e}");
        let e = err(SgdConfig {
            weight_decay: -2.0,
            ..SgdConfig::new(0.1)
        });
        assert!(e.contains("weight_decay") && e.contains("-2"), "{e}");
        let e = err(SgdConfig {
            dampening: 1.5,
            ..SgdConfig::new(0.1)
        });
        assert!(e.contains("dampening") && e.contains("1.5"), "{e}");
        let e = err(SgdConfig {
            nesterov: true,
            ..SgdConfig::new(0.1)
        });
        assert!(e.contains("momentum") && e.contains("Nesterov"), "{e}");
        let e = err(SgdConfig {
            nesterov: true,
            momentum: 0.9,
            dampening: 0.1,
            ..SgdConfig::new(0.1)
        });
        assert!(e.contains("dampening") && e.contains("0.1"), "{e}");
    }

    #[test]
    fn learning_rate_is_readable_and_settable() {
        let mut sgd = Sgd::<f32>::new(SgdConfig::new(0.1)).unwrap();
        assert_eq!(sgd.learning_rate(), 0.1);
        sgd.set_learning_rate(0.05).unwrap();
        assert_eq!(sgd.learning_rate(), 0.05);
        assert!(sgd.set_learning_rate(f64::NAN).is_err());
        assert!(sgd.set_learning_rate(-1.0).is_err());
    }

    #[test]
    fn a_parameter_whose_shape_changes_is_an_error_not_a_panic() {
        let mut sgd = Sgd::new(SgdConfig {
            momentum: 0.9,
            ..SgdConfig::new(0.1)
        })
        .unwrap();
        let mut params = vec![Tensor::from_vec(vec![1.0_f64, 2.0], &[2])];
        sgd.step(&mut params, |_, _, p| p[0].square().sum())
            .unwrap();
        let mut other = vec![Tensor::from_vec(vec![1.0_f64, 2.0, 3.0], &[3])];
        let e = sgd
            .step(&mut other, |_, _, p| p[0].square().sum())
            .unwrap_err();
        assert!(matches!(e, OptimError::Shape { index: 0, .. }), "{e}");
        let e = sgd
            .step_with_grads(&mut params, &[Tensor::zeros(&[3])])
            .unwrap_err();
        assert!(
            matches!(
                e,
                OptimError::Shape {
                    what: "gradient",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn without_momentum_other_parameters_are_an_error_too() {
        let mut sgd = Sgd::new(SgdConfig::new(0.1)).unwrap();
        let mut params = vec![Tensor::from_vec(vec![1.0_f64, 2.0], &[2])];
        sgd.step(&mut params, |_, _, p| p[0].square().sum())
            .unwrap();
        let mut more = vec![Tensor::zeros(&[2]), Tensor::zeros(&[1])];
        let e = sgd
            .step(&mut more, |_, _, p| p[0].sum() + p[1].sum())
            .unwrap_err();
        assert!(
            matches!(
                e,
                OptimError::Count {
                    expected: 1,
                    got: 2,
                    ..
                }
            ),
            "{e}"
        );
        let mut other = vec![Tensor::zeros(&[3])];
        let e = sgd
            .step_with_grads(&mut other, &[Tensor::zeros(&[3])])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "parameter 0 (#0) has shape [3], but the optimizer state has shape [2]"
        );
        let e = sgd
            .step_with_grads(&mut params, &[Tensor::zeros(&[3])])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the gradient of parameter 0 (#0) has shape [3], but the parameter has shape [2]"
        );
    }
}
