//! The loss along directions in parameter space: a 1-D line and a 2-D
//! plane through the current parameters (PyHessian's loss-landscape plots,
//! usually along the top one or two Hessian eigenvectors).

use curvature_autograd::Element;

use crate::{AnalysisError, HessianOperator};

/// The loss on a line `theta + alpha d`.
#[derive(Clone, Debug, PartialEq)]
pub struct Landscape1d {
    /// The step sizes, as given.
    pub alphas: Vec<f64>,
    /// The loss at each.
    pub losses: Vec<f64>,
}

/// The loss on a plane `theta + alpha d1 + beta d2`.
#[derive(Clone, Debug, PartialEq)]
pub struct Landscape2d {
    /// The steps along `d1`, as given.
    pub alphas: Vec<f64>,
    /// The steps along `d2`, as given.
    pub betas: Vec<f64>,
    /// The loss at `(alphas[i], betas[j])` in `losses[i][j]`.
    pub losses: Vec<Vec<f64>>,
}

/// The operator's loss (averaged over its batches, weighted as it is) at
/// `theta + alpha d` for each `alpha`. The loss is evaluated on new
/// tensors, so the parameters are exactly as before, after an error too.
///
/// ```
/// use curvature_analysis::{loss_landscape_1d, HessianOperator};
/// use curvature_autograd::{Tape, Tensor, Var};
/// let params = vec![Tensor::from_vec(vec![1.0_f64, 2.0], &[2])];
/// let f = |_: &Tape<f64>, p: &[Var<f64>], _: &()| p[0].square().sum();
/// let op = HessianOperator::new(&params, f, &[()])?;
/// let line = loss_landscape_1d(&op, &[1.0, 0.0], &[-1.0, 0.0, 1.0])?;
/// assert_eq!(line.losses, vec![4.0, 5.0, 8.0]);
/// assert_eq!(params[0].to_vec(), vec![1.0, 2.0]);
/// # Ok::<(), curvature_analysis::AnalysisError>(())
/// ```
pub fn loss_landscape_1d<T: Element, B>(
    op: &HessianOperator<'_, T, B>,
    direction: &[f64],
    alphas: &[f64],
) -> Result<Landscape1d, AnalysisError> {
    let losses = alphas
        .iter()
        .map(|&a| op.loss_at(&[(direction, a)]))
        .collect::<Result<_, _>>()?;
    Ok(Landscape1d {
        alphas: alphas.to_vec(),
        losses,
    })
}

/// The operator's loss at `theta + alpha d1 + beta d2` on the grid of
/// `alphas` by `betas`; the parameters are exactly as before.
///
/// ```
/// use curvature_analysis::{loss_landscape_2d, HessianOperator};
/// use curvature_autograd::{Tape, Tensor, Var};
/// let params = vec![Tensor::from_vec(vec![0.0_f64, 0.0], &[2])];
/// let f = |_: &Tape<f64>, p: &[Var<f64>], _: &()| p[0].square().sum();
/// let op = HessianOperator::new(&params, f, &[()])?;
/// let plane = loss_landscape_2d(&op, &[1.0, 0.0], &[0.0, 1.0], &[0.0, 1.0], &[0.0, 2.0])?;
/// assert_eq!(plane.losses, vec![vec![0.0, 4.0], vec![1.0, 5.0]]);
/// # Ok::<(), curvature_analysis::AnalysisError>(())
/// ```
pub fn loss_landscape_2d<T: Element, B>(
    op: &HessianOperator<'_, T, B>,
    first: &[f64],
    second: &[f64],
    alphas: &[f64],
    betas: &[f64],
) -> Result<Landscape2d, AnalysisError> {
    let losses = alphas
        .iter()
        .map(|&a| {
            betas
                .iter()
                .map(|&b| op.loss_at(&[(first, a), (second, b)]))
                .collect::<Result<Vec<f64>, _>>()
        })
        .collect::<Result<_, _>>()?;
    Ok(Landscape2d {
        alphas: alphas.to_vec(),
        betas: betas.to_vec(),
        losses,
    })
}
