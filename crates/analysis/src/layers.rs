//! Per-layer curvature: the top eigenvalue and the trace of each diagonal
//! block of the Hessian, one block per named parameter.

use curvature_autograd::Element;

use crate::{
    hutchinson_trace, top_eigenvalues, AnalysisError, EigenOptions, HessianOperator,
    SymmetricOperator, TraceOptions,
};

/// The curvature of one parameter's block `H_pp`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerCurvature {
    /// The parameter's name.
    pub name: String,
    /// Its number of elements (the block's dimension).
    pub len: usize,
    /// The block's top eigenvalue (as [`EigenOptions::which`] orders them).
    pub top_eigenvalue: f64,
    /// Whether the eigenvalue met its stopping rule.
    pub eigenvalue_converged: bool,
    /// Hutchinson's estimate of the block's trace.
    pub trace: f64,
    /// The trace's standard error.
    pub trace_std_error: f64,
    /// The products spent on this block (eigenvalue and trace).
    pub hvps: u64,
}

/// For each parameter the operator acts on, in order: the top eigenvalue
/// and the trace of its diagonal block of `H` (the other parameters held
/// fixed). The traces add up to the whole trace; the top eigenvalues do
/// not add up to anything (each is a lower bound on the whole top
/// eigenvalue, by Cauchy interlacing). Each product is a whole product
/// restricted to the block, so a layer costs as much per product as the
/// model.
///
/// ```
/// use curvature_analysis::{layer_curvature, EigenOptions, HessianOperator, TraceOptions};
/// use curvature_autograd::{Tape, Tensor, Var};
/// // f(a, b) = a0^2 + 3 a1^2 + a0 b0 + 5 b0^2 / 2: blocks diag(2, 6) and [5]
/// let params = vec![Tensor::zeros(&[2]), Tensor::zeros(&[1])];
/// let f = |_: &Tape<f64>, p: &[Var<f64>], _: &()| {
///     let a = &p[0];
///     let weights = Tensor::from_vec(vec![1.0, 3.0], &[2]);
///     (&a.square() * &weights).sum() + (&a.narrow(0, 0, 1) * &p[1]).sum() + p[1].square().sum() * 2.5
/// };
/// let op = HessianOperator::new(&params, f, &[()])?;
/// let eig = EigenOptions { tolerance: 1e-10, ..Default::default() };
/// let layers = layer_curvature(&op, &eig, &TraceOptions::default())?;
/// assert_eq!((layers[0].name.as_str(), layers[1].name.as_str()), ("0", "1"));
/// assert!((layers[0].top_eigenvalue - 6.0).abs() < 1e-9 && layers[0].trace == 8.0);
/// assert!((layers[1].top_eigenvalue - 5.0).abs() < 1e-9 && layers[1].trace == 5.0);
/// # Ok::<(), curvature_analysis::AnalysisError>(())
/// ```
pub fn layer_curvature<T: Element, B>(
    op: &HessianOperator<'_, T, B>,
    eigen: &EigenOptions,
    trace: &TraceOptions,
) -> Result<Vec<LayerCurvature>, AnalysisError> {
    op.blocks()
        .iter()
        .map(|block| {
            let layer = op.restrict_to(&[&block.name])?;
            let top = top_eigenvalues(&layer, 1, eigen)?;
            let tr = hutchinson_trace(&layer, trace)?;
            debug_assert_eq!(layer.dim(), block.len);
            Ok(LayerCurvature {
                name: block.name.clone(),
                len: block.len,
                top_eigenvalue: top.values[0],
                eigenvalue_converged: top.converged,
                trace: tr.estimate,
                trace_std_error: tr.std_error,
                hvps: layer.hvp_count(),
            })
        })
        .collect()
}
