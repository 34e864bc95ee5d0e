//! The trace of a symmetric operator by Hutchinson's estimator:
//! `tr(H) = E[z^T H z]` for Rademacher `z`, one product per sample.

use curvature_autograd::seeded_rng;

use crate::error::{check_at_least, check_tolerance};
use crate::vector::{dot, rademacher};
use crate::{AnalysisError, SymmetricOperator};

/// Options of [`hutchinson_trace`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceOptions {
    /// Stop when the running mean changes by less than this fraction of
    /// itself with one more sample (PyHessian's rule); default 1e-3.
    pub tolerance: f64,
    /// Draw at least this many samples before the rule may stop, so the
    /// standard error means something; default 10.
    pub min_samples: usize,
    /// Draw at most this many; default 100, as PyHessian.
    pub max_samples: usize,
    /// The seed of the Rademacher draws; default 0.
    pub seed: u64,
}

impl Default for TraceOptions {
    fn default() -> Self {
        Self {
            tolerance: 1e-3,
            min_samples: 10,
            max_samples: 100,
            seed: 0,
        }
    }
}

/// A trace estimate with its standard error and cost.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceEstimate {
    /// The mean of `z^T H z` over the samples.
    pub estimate: f64,
    /// The standard error of that mean: the samples' standard deviation
    /// over the square root of their number. Zero when every sample
    /// agrees (a diagonal `H`: each `z^T H z` is then the trace exactly).
    pub std_error: f64,
    /// Each sample `z^T H z`, in order.
    pub samples: Vec<f64>,
    /// The operator products spent (one per sample).
    pub hvps: u64,
    /// Whether the stopping rule was met before `max_samples`.
    pub converged: bool,
}

/// Hutchinson's estimate of `tr(op)`: Rademacher vectors `z`, the running
/// mean of `z^T H z` until it changes by less than `tolerance` relative
/// (after at least `min_samples`). Unbiased; its variance is
/// `2 sum_{i != j} H_ij^2` per sample, so it is exact for a diagonal `H`.
///
/// Errors on a tolerance that is not positive, `min_samples` 0 or above
/// `max_samples`, and a failing product (a non-finite loss).
///
/// ```
/// use curvature_analysis::{hutchinson_trace, HessianOperator, TraceOptions};
/// use curvature_autograd::{Tape, Tensor, Var};
/// // f(x) = 1/2 sum d_i x_i^2: a diagonal Hessian, so every sample is exact
/// let d = Tensor::from_vec(vec![3.0_f64, -1.0, 0.5, 2.0], &[4]);
/// let params = vec![Tensor::zeros(&[4])];
/// let f = |_: &Tape<f64>, p: &[Var<f64>], _: &()| (&p[0].square() * &d).sum() * 0.5;
/// let op = HessianOperator::new(&params, f, &[()])?;
/// let trace = hutchinson_trace(&op, &TraceOptions::default())?;
/// assert_eq!((trace.estimate, trace.std_error), (4.5, 0.0));
/// assert_eq!(trace.hvps, 10); // min_samples
/// # Ok::<(), curvature_analysis::AnalysisError>(())
/// ```
pub fn hutchinson_trace<O: SymmetricOperator + ?Sized>(
    op: &O,
    options: &TraceOptions,
) -> Result<TraceEstimate, AnalysisError> {
    check_tolerance("trace", options.tolerance)?;
    check_at_least("min_samples", options.min_samples, 1, "at least 1")?;
    check_at_least(
        "max_samples",
        options.max_samples,
        options.min_samples,
        "at least min_samples",
    )?;
    let n = op.dim();
    let mut rng = seeded_rng(options.seed);
    let mut samples = Vec::new();
    let mut mean = 0.0;
    let mut converged = false;
    while samples.len() < options.max_samples {
        let z = rademacher(n, &mut rng);
        let hz = op.apply(&z)?;
        samples.push(dot(&z, &hz));
        let previous = mean;
        mean = samples.iter().sum::<f64>() / samples.len() as f64;
        if samples.len() >= options.min_samples
            && samples.len() >= 2
            && (mean - previous).abs() <= options.tolerance * mean.abs()
        {
            converged = true;
            break;
        }
    }
    Ok(TraceEstimate {
        estimate: mean,
        std_error: standard_error(&samples),
        hvps: samples.len() as u64,
        samples,
        converged,
    })
}

/// The standard error of the mean of `samples` (0 for fewer than two).
pub(crate) fn standard_error(samples: &[f64]) -> f64 {
    let count = samples.len();
    if count < 2 {
        return 0.0;
    }
    let mean = samples.iter().sum::<f64>() / count as f64;
    let variance = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (count - 1) as f64;
    (variance / count as f64).sqrt()
}
