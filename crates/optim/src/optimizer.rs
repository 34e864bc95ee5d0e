//! The `Optimizer` trait shared by first- and second-order methods, and the
//! checks every step runs before it changes anything.

use std::fmt;

use curvature_autograd::{Element, Parameters, Tape, Tensor, Var};

use crate::driver::{self, Needs, Step, Work};
use crate::{ClosureObjective, Objective, OptimError, OptimizerState};

/// An optimizer that updates parameter tensors in place.
///
/// A step is given the parameters and a closure that builds the loss on a
/// fresh [`Tape`] from the bound parameters (one leaf `Var` per parameter,
/// in [`Parameters::parameters`] order). The closure also receives the
/// parameter owner itself, immutably, so a model can be both updated and
/// used to compute its own loss. Each optimizer runs exactly the backward
/// passes it needs (one gradient for SGD and Adam; a gradient with its
/// graph kept and then Hessian-vector products for AdaHessian), drops the
/// tape, updates the parameters in place, and returns the loss value
/// computed *before* the update.
///
/// A step is all or nothing: when the loss, a gradient or a curvature
/// estimate is not finite, or a shape differs from the optimizer's state,
/// it returns an error that names the parameter and changes nothing.
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_optim::{Optimizer, Sgd, SgdConfig};
///
/// // minimise (w - 3)^2
/// let mut params = vec![Tensor::scalar(0.0_f64)];
/// let mut sgd = Sgd::new(SgdConfig::new(0.25))?;
/// for _ in 0..50 {
///     sgd.step(&mut params, |_, _, p| (&p[0] - 3.0).square())?;
/// }
/// assert!((params[0].item() - 3.0).abs() < 1e-9);
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
///
/// # Trait objects
///
/// The trait is object-safe: a `Box<dyn Optimizer<T>>` chooses the method
/// at run time and steps with the same call. An optimizer implements
/// [`step_objective`], the object-safe step on an [`Objective`] (the
/// parameters and the loss taken together, so the closure still sees the
/// parameter owner with its concrete type); the generic [`step`] is
/// provided, and wraps its two arguments in a [`ClosureObjective`].
/// `Box<O>` and `&mut O` are optimizers when `O` is, and `Display`
/// describes the optimizer and its hyperparameters for logs.
///
/// [`step`] needs a sized receiver (a generic method has no vtable entry):
/// call it on the `Box`, or on any `O: Optimizer<T>` in generic code
/// (`&mut dyn Optimizer<T>` included, through the `&mut O` impl); on a
/// bare `dyn Optimizer<T>` place, call [`step_objective`].
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_optim::{AdaHessian, AdaHessianConfig, Adam, AdamConfig, OptimError, Optimizer, Sgd, SgdConfig};
///
/// /// An optimizer chosen by name, as from a command-line flag.
/// fn by_name(name: &str, params: &Vec<Tensor<f64>>) -> Result<Box<dyn Optimizer<f64>>, OptimError> {
///     Ok(match name {
///         "sgd" => Box::new(Sgd::new(SgdConfig::new(0.1))?),
///         "adam" => Box::new(Adam::new(AdamConfig { lr: 0.1, ..Default::default() })?),
///         _ => Box::new(AdaHessian::new(params, AdaHessianConfig { lr: 1.0, ..Default::default() })?),
///     })
/// }
///
/// for name in ["sgd", "adam", "adahessian"] {
///     let mut params = vec![Tensor::scalar(0.0_f64)];
///     let mut opt = by_name(name, &params)?;
///     println!("{opt}"); // e.g. "sgd (lr 0.1, momentum 0, weight decay 0)"
///     for _ in 0..500 {
///         opt.step(&mut params, |_, _, p| (&p[0] - 3.0).square())?;
///     }
///     assert!((params[0].item() - 3.0).abs() < 1e-2, "{opt}: {}", params[0].item());
///     assert_eq!(opt.step_count(), 500);
/// }
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
///
/// [`step`]: Optimizer::step
/// [`step_objective`]: Optimizer::step_objective
pub trait Optimizer<T: Element>: fmt::Display {
    /// What the method needs from the tape at its next step (step
    /// [`Optimizer::step_count`] + 1): the gradient always; a Hutchinson
    /// diagonal, Hessian-vector products, evaluations at trial points as
    /// declared. Also checks `objective`'s parameters against the
    /// optimizer's state (their number and shapes), before anything is
    /// evaluated.
    fn needs(&self, objective: &dyn Objective<T>) -> Result<Needs, OptimError>;

    /// The method's update, given what the driver measured at the step's
    /// starting point. It may ask `step` for more (Hessian-vector
    /// products, losses at trial points), then writes the parameters
    /// through [`Step::commit`] and advances its step count. It checks
    /// everything that can fail before it writes (to the parameters or to
    /// its own state), so an error leaves both unchanged.
    fn update(&mut self, step: &mut Step<'_, T>) -> Result<(), OptimError>;

    /// One optimization step on `objective`: evaluates its loss on a fresh
    /// tape, computes what the method needs from it, updates its
    /// parameters in place and returns the loss before the update.
    ///
    /// The object-safe form of [`Optimizer::step`]. Provided: the one step
    /// driver runs [`Optimizer::needs`], the evaluation and its checks,
    /// and [`Optimizer::update`]; optimizers do not override it.
    fn step_objective(&mut self, objective: &mut dyn Objective<T>) -> Result<T, OptimError> {
        driver::drive(self, objective)
    }

    /// The work done by the steps so far (loss evaluations, gradients,
    /// Hessian-vector products), failed steps included. Not part of the
    /// saved state. Provided: zeros, for an optimizer that does not count.
    fn work(&self) -> Work {
        Work::default()
    }

    /// Adds a step's work to [`Optimizer::work`]; the driver calls it
    /// after every step. Provided: does nothing.
    fn record_work(&mut self, work: Work) {
        let _ = work;
    }

    /// One optimization step: evaluates `loss` on a fresh tape, computes
    /// what the method needs from it, updates `params` in place and
    /// returns the loss before the update. `loss` receives `params`
    /// itself (immutably), the tape, and the parameters bound on it.
    ///
    /// Provided: it calls [`Optimizer::step_objective`] with a
    /// [`ClosureObjective`].
    fn step<P, F>(&mut self, params: &mut P, loss: F) -> Result<T, OptimError>
    where
        Self: Sized,
        P: Parameters<T> + ?Sized,
        F: Fn(&P, &Tape<T>, &[Var<T>]) -> Var<T>,
    {
        self.step_objective(&mut ClosureObjective::new(params, loss))
    }

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate (a schedule calls this between steps). It
    /// must be finite and `>= 0`: 0 is allowed here, unlike at
    /// construction, because schedules such as cosine annealing reach it.
    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError>;

    /// The number of steps taken (restored by [`Optimizer::load_state`]).
    fn step_count(&self) -> u64;

    /// The optimizer's state: step count and per-parameter buffers.
    fn state(&self) -> OptimizerState<T>;

    /// Restores a state saved by [`Optimizer::state`] of the same kind of
    /// optimizer. Errors, changing nothing, when a buffer is missing,
    /// unknown, or has a shape that differs from the parameters'.
    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<(), OptimError>;
}

/// A boxed optimizer (`Box<dyn Optimizer<T>>` included) is an optimizer.
impl<T: Element, O: Optimizer<T> + ?Sized> Optimizer<T> for Box<O> {
    fn needs(&self, objective: &dyn Objective<T>) -> Result<Needs, OptimError> {
        (**self).needs(objective)
    }

    fn update(&mut self, step: &mut Step<'_, T>) -> Result<(), OptimError> {
        (**self).update(step)
    }

    fn step_objective(&mut self, objective: &mut dyn Objective<T>) -> Result<T, OptimError> {
        (**self).step_objective(objective)
    }

    fn work(&self) -> Work {
        (**self).work()
    }

    fn record_work(&mut self, work: Work) {
        (**self).record_work(work)
    }

    fn learning_rate(&self) -> f64 {
        (**self).learning_rate()
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError> {
        (**self).set_learning_rate(lr)
    }

    fn step_count(&self) -> u64 {
        (**self).step_count()
    }

    fn state(&self) -> OptimizerState<T> {
        (**self).state()
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<(), OptimError> {
        (**self).load_state(state)
    }
}

/// A borrowed optimizer is an optimizer, so generic code that takes an
/// `O: Optimizer<T>` by value also takes `&mut opt`.
impl<T: Element, O: Optimizer<T> + ?Sized> Optimizer<T> for &mut O {
    fn needs(&self, objective: &dyn Objective<T>) -> Result<Needs, OptimError> {
        (**self).needs(objective)
    }

    fn update(&mut self, step: &mut Step<'_, T>) -> Result<(), OptimError> {
        (**self).update(step)
    }

    fn step_objective(&mut self, objective: &mut dyn Objective<T>) -> Result<T, OptimError> {
        (**self).step_objective(objective)
    }

    fn work(&self) -> Work {
        (**self).work()
    }

    fn record_work(&mut self, work: Work) {
        (**self).record_work(work)
    }

    fn learning_rate(&self) -> f64 {
        (**self).learning_rate()
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError> {
        (**self).set_learning_rate(lr)
    }

    fn step_count(&self) -> u64 {
        (**self).step_count()
    }

    fn state(&self) -> OptimizerState<T> {
        (**self).state()
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<(), OptimError> {
        (**self).load_state(state)
    }
}

/// A first-order optimizer, which can also step from gradients computed
/// elsewhere (a custom backward pass, accumulated micro-batches, ...).
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_optim::{FirstOrderOptimizer, Sgd, SgdConfig};
///
/// let mut params = vec![Tensor::from_vec(vec![1.0_f64, 2.0], &[2])];
/// let grads = vec![Tensor::from_vec(vec![0.5_f64, -1.0], &[2])];
/// let mut sgd = Sgd::new(SgdConfig::new(0.1))?;
/// sgd.step_with_grads(&mut params, &grads)?;
/// assert_eq!(params[0].to_vec(), vec![0.95, 2.1]);
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
pub trait FirstOrderOptimizer<T: Element>: Optimizer<T> {
    /// Updates `params` in place from `grads` (one per parameter, same shapes).
    fn step_with_grads<P>(&mut self, params: &mut P, grads: &[Tensor<T>]) -> Result<(), OptimError>
    where
        P: Parameters<T> + ?Sized;
}

/// The name of parameter `index`, for error messages.
pub(crate) fn parameter_name<T: Element, P: Parameters<T> + ?Sized>(
    params: &P,
    index: usize,
) -> String {
    params
        .parameter_names()
        .into_iter()
        .nth(index)
        .unwrap_or_else(|| index.to_string())
}

/// Checks the loss returned by a closure: one element, finite.
pub(crate) fn loss_value<T: Element>(loss: &Var<T>, step: u64) -> Result<T, OptimError> {
    if loss.numel() != 1 {
        return Err(OptimError::LossNotScalar {
            shape: loss.shape().to_vec(),
        });
    }
    let value = loss.item();
    if !value.is_finite() {
        return Err(OptimError::NonFiniteLoss {
            value: value.as_f64(),
            step,
        });
    }
    Ok(value)
}

/// Checks that `tensors` (gradients or curvature estimates) are all finite.
pub(crate) fn check_finite<T: Element, P: Parameters<T> + ?Sized>(
    params: &P,
    tensors: &[Tensor<T>],
    what: &'static str,
    step: u64,
) -> Result<(), OptimError> {
    match tensors.iter().position(|t| !t.all_finite()) {
        None => Ok(()),
        Some(index) => Err(OptimError::NonFinite {
            what,
            parameter: parameter_name(params, index),
            index,
            step,
        }),
    }
}

/// Checks that `tensors` match the parameters in number and shape.
pub(crate) fn check_like_parameters<T: Element, P: Parameters<T> + ?Sized>(
    params: &P,
    tensors: &[Tensor<T>],
    what: &'static str,
) -> Result<(), OptimError> {
    let ps = params.parameters();
    if ps.len() != tensors.len() {
        return Err(OptimError::Count {
            what,
            expected: ps.len(),
            got: tensors.len(),
        });
    }
    match ps
        .iter()
        .zip(tensors)
        .position(|(p, t)| p.shape() != t.shape())
    {
        None => Ok(()),
        Some(index) => Err(OptimError::Shape {
            what,
            parameter: parameter_name(params, index),
            index,
            expected: ps[index].shape().to_vec(),
            got: tensors[index].shape().to_vec(),
        }),
    }
}

/// Checks that the parameters match the shapes the optimizer's state was
/// built for (an empty `state` means the state is not sized yet).
pub(crate) fn check_parameters_like_state<T: Element, P: Parameters<T> + ?Sized>(
    params: &P,
    state: &[Tensor<T>],
) -> Result<(), OptimError> {
    let shapes: Vec<&[usize]> = state.iter().map(Tensor::shape).collect();
    check_parameters_like_shapes(params, &shapes)
}

/// Checks that the parameters have these shapes, in number and in order
/// (an empty `shapes` means nothing is known yet).
pub(crate) fn check_parameters_like_shapes<T: Element, P: Parameters<T> + ?Sized>(
    params: &P,
    shapes: &[&[usize]],
) -> Result<(), OptimError> {
    if shapes.is_empty() {
        return Ok(());
    }
    let ps = params.parameters();
    if ps.len() != shapes.len() {
        return Err(OptimError::Count {
            what: "parameters",
            expected: shapes.len(),
            got: ps.len(),
        });
    }
    match ps.iter().zip(shapes).position(|(p, s)| p.shape() != *s) {
        None => Ok(()),
        Some(index) => Err(OptimError::Shape {
            what: "parameter",
            parameter: parameter_name(params, index),
            index,
            expected: shapes[index].to_vec(),
            got: ps[index].shape().to_vec(),
        }),
    }
}

/// `1 - beta^t`, the bias correction of a moving average started at 0.
pub(crate) fn bias_correction(beta: f64, step: u64) -> f64 {
    1.0 - beta.powf(step as f64)
}

/// With `eps = 0`, an element whose second-moment average is 0 while its
/// first moment is not would take an infinite step: refuse it before
/// anything changes. (A 0/0 element, nothing learned yet, moves by 0.)
pub(crate) fn check_zero_denominators<T: Element, P: Parameters<T> + ?Sized>(
    params: &P,
    step: u64,
    per_parameter: impl Iterator<Item = bool>,
) -> Result<(), OptimError> {
    for (index, bad) in per_parameter.enumerate() {
        if bad {
            return Err(OptimError::NonFinite {
                what: "update",
                parameter: parameter_name(params, index),
                index,
                step,
            });
        }
    }
    Ok(())
}
