//! The `Module` trait: a function of its parameters and an input.

use curvature_autograd::{Element, Parameters, Tape, Tensor, Var};

/// A layer or a model: a differentiable function `forward(params, x)` of
/// its parameters and an input, as flax's `apply(params, x)`.
///
/// The module owns its parameter tensors (through [`Parameters`]) but
/// `forward` receives them as [`Var`]s bound on the caller's tape, in
/// [`Parameters::parameters`] order: usually from [`Parameters::bind`].
/// This lets an optimizer hold the model mutably while the loss closure it
/// runs reads the model immutably, and lets the same model be evaluated at
/// other parameter values (finite differences, line searches) without
/// copying it.
///
/// ```
/// use curvature_autograd::{Parameters, Tape, Tensor};
/// use curvature_nn::{Linear, Module};
///
/// let layer = Linear::<f64>::new(3, 2, &mut curvature_autograd::seeded_rng(0));
/// let tape = Tape::new();
/// let params = layer.bind(&tape); // [weight, bias], leaves that require grad
/// let x = tape.constant(Tensor::ones(&[4, 3]));
/// let y = layer.forward(&params, &x);
/// assert_eq!(y.shape().as_slice(), &[4, 2]);
/// let grads = tape.grad(&y.sum(), [&params[0], &params[1]]);
/// assert_eq!(grads[0].shape(), &[2, 3]);
/// ```
pub trait Module<T: Element>: Parameters<T> {
    /// The output for input `x`, with `params` the module's parameters
    /// bound on `x`'s tape, in [`Parameters::parameters`] order.
    ///
    /// Panics, naming the module, when `params` does not hold exactly
    /// [`Module::num_parameter_tensors`] tensors of the module's shapes, or
    /// when `x` has the wrong shape.
    fn forward(&self, params: &[Var<T>], x: &Var<T>) -> Var<T>;

    /// Switches training mode (`true`, the default of every module) or
    /// evaluation mode (`false`), as PyTorch's `module.train(mode)`: it
    /// changes modules such as [`crate::Dropout`], and containers pass it
    /// to their children. Modules without such behaviour ignore it.
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// The number of parameter tensors `forward` expects.
    fn num_parameter_tensors(&self) -> usize {
        self.parameters().len()
    }

    /// The output for a plain tensor, with the module's own parameters bound
    /// as constants on a fresh tape: nothing is recorded for a derivative.
    fn predict(&self, x: &Tensor<T>) -> Tensor<T> {
        let tape = Tape::new();
        let params: Vec<Var<T>> = self
            .parameters()
            .into_iter()
            .map(|p| tape.constant(p))
            .collect();
        self.forward(&params, &tape.constant(x)).value()
    }
}

/// Panics, naming the module, unless `params` holds `expected` tensors.
pub(crate) fn check_param_count<T: Element>(module: &str, params: &[Var<T>], expected: usize) {
    assert_eq!(
        params.len(),
        expected,
        "{module}: forward expects {expected} parameter tensors, got {}; \
         pass the module's parameters bound on the tape (`module.bind(&tape)`)",
        params.len()
    );
}
