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

    /// State saved and loaded with the parameters but never optimised
    /// (PyTorch's buffers: a batch norm's running statistics), with names
    /// in the same namespace as [`Parameters::parameter_names`], in a
    /// stable order. Checkpoints write them beside the parameters;
    /// optimizers ignore them. The default has none.
    fn buffers(&self) -> Vec<Buffer<T>> {
        Vec::new()
    }

    /// Replaces the buffers' values, in [`Parameters::buffers`] order
    /// (a checkpoint being loaded; the caller has checked the shapes).
    ///
    /// Panics, naming the counts, unless `values` holds one tensor per
    /// buffer; the default, for containers without buffers, accepts none.
    fn set_buffers(&mut self, values: Vec<Tensor<T>>) {
        assert!(
            values.is_empty(),
            "set_buffers: this container has no buffers, got {} values",
            values.len()
        );
    }
}

/// A named tensor of state that is not a parameter (see
/// [`Parameters::buffers`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Buffer<T: Element> {
    /// The name, PyTorch's `state_dict` key for `nn` modules.
    pub name: String,
    /// The value.
    pub value: Tensor<T>,
    /// Whether the buffer holds integers (a counter such as batch norm's
    /// `num_batches_tracked`), which checkpoints store as `I64`, as
    /// PyTorch does; otherwise it is stored in the parameters' dtype.
    pub integer: bool,
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
