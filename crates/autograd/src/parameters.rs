//! `Parameters`: something that owns tensors to optimise, in a stable order.
//!
//! `nn`'s modules and plain `Vec<Tensor>`s implement it, and `optim`'s
//! optimizers update through it, so neither crate depends on the other.

use crate::{Element, Tape, Tensor, Var};

/// What a parameter tensor is, as its module declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParameterKind {
    /// Nothing declared.
    Other,
    /// A dense weight matrix `[out, in]`.
    Weight,
    /// A bias vector.
    Bias,
    /// A convolution kernel `[out, in / groups, kh, kw]`, whose last two
    /// axes are spatial.
    ConvKernel,
}

/// Owns parameter tensors and visits them in a stable order.
///
/// ```
/// use curvature_autograd::{Parameters, Tape, Tensor};
/// let mut params = vec![Tensor::<f64>::zeros(&[2, 3]), Tensor::zeros(&[3])];
/// assert_eq!(params.parameter_count(), 9);
/// assert_eq!(params.parameter_names(), vec!["0", "1"]);
/// let tape = Tape::new();
/// let vars = params.bind(&tape); // leaves that require grad, same order
/// assert_eq!(vars.len(), 2);
/// params.parameters_mut()[1].make_mut()[0] = 1.0;
/// ```
pub trait Parameters<T: Element> {
    /// The parameter tensors, in a stable order.
    fn parameters(&self) -> Vec<&Tensor<T>>;

    /// The same tensors, mutable, in the same order.
    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>>;

    /// A name for each parameter, in the same order (PyTorch's
    /// `state_dict` keys for `nn` modules; the position by default).
    fn parameter_names(&self) -> Vec<String> {
        (0..self.parameters().len())
            .map(|i| i.to_string())
            .collect()
    }

    /// What each parameter is, in the same order: optimizers that treat
    /// kinds differently read it (AdaHessian averages a declared
    /// convolution kernel over its spatial axes, as its authors do). The
    /// default declares nothing ([`ParameterKind::Other`] for all).
    fn parameter_kinds(&self) -> Vec<ParameterKind> {
        vec![ParameterKind::Other; self.parameters().len()]
    }

    /// The total number of scalar parameters.
    fn parameter_count(&self) -> usize {
        self.parameters().iter().map(|p| p.numel()).sum()
    }

    /// Each parameter as a leaf on `tape` that requires grad, in order.
    fn bind(&self, tape: &Tape<T>) -> Vec<Var<T>> {
        self.parameters().into_iter().map(|p| tape.var(p)).collect()
    }
}

impl<T: Element> Parameters<T> for Vec<Tensor<T>> {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        self.iter().collect()
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        self.iter_mut().collect()
    }
}

impl<T: Element> Parameters<T> for [Tensor<T>] {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        self.iter().collect()
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        self.iter_mut().collect()
    }
}
