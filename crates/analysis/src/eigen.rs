//! The top eigenvalues and eigenvectors of a symmetric operator: Lanczos
//! with full reorthogonalisation (the default), or power iteration with
//! deflation (PyHessian's method, kept as the reference).

use curvature_autograd::seeded_rng;

use crate::error::{check_at_least, check_tolerance};
use crate::lanczos::{LanczosProcess, Step};
use crate::vector::{axpy, dot, norm, normalize, orthogonalize, random_unit};
use crate::{AnalysisError, SymmetricOperator};

/// How to find the eigenvalues.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EigenMethod {
    /// Lanczos with full reorthogonalisation: one product per step, the
    /// Ritz pairs of the Krylov space; stops when every wanted pair's
    /// residual `|H x - theta x|` is below `tolerance` times the largest
    /// Ritz value in magnitude (an estimate of `|H|`).
    #[default]
    Lanczos,
    /// Power iteration with deflation, as PyHessian: for each eigenvalue
    /// in turn, iterate `v <- H v / |H v|` orthogonally to the eigenvectors
    /// already found, until the Rayleigh quotient changes by less than
    /// `tolerance` relative (`|l - l_prev| / (|l_prev| + 1e-6)`), at most
    /// `max_iterations` products each. It finds the eigenvalues of largest
    /// magnitude, whatever [`Which`] says.
    PowerIteration,
}

/// Which end of the spectrum Lanczos returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Which {
    /// The largest eigenvalues, most positive first (sharpness).
    #[default]
    Largest,
    /// The smallest eigenvalues, most negative first.
    Smallest,
    /// The eigenvalues of largest absolute value, largest first.
    LargestMagnitude,
}

/// Options of [`top_eigenvalues`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EigenOptions {
    /// Lanczos (default) or power iteration.
    pub method: EigenMethod,
    /// Which eigenvalues Lanczos returns (power iteration: always by magnitude).
    pub which: Which,
    /// The relative tolerance of the stopping rule (see [`EigenMethod`]); default 1e-3.
    pub tolerance: f64,
    /// Lanczos: the largest Krylov dimension (products in all). Power
    /// iteration: the most products per eigenvalue. Default 100, as PyHessian.
    pub max_iterations: usize,
    /// The seed of the start vectors; default 0.
    pub seed: u64,
}

impl Default for EigenOptions {
    fn default() -> Self {
        Self {
            method: EigenMethod::Lanczos,
            which: Which::Largest,
            tolerance: 1e-3,
            max_iterations: 100,
            seed: 0,
        }
    }
}

/// Eigenvalues with their unit eigenvectors and what they cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Eigenpairs {
    /// The eigenvalues, in the order asked for (see [`Which`]); power
    /// iteration gives them in the order found.
    pub values: Vec<f64>,
    /// The unit eigenvectors, flat over the operator's dimension.
    pub vectors: Vec<Vec<f64>>,
    /// `|H x - lambda x|` for each pair, as the method last measured it.
    pub residuals: Vec<f64>,
    /// The operator products spent.
    pub hvps: u64,
    /// Whether every pair met the stopping rule (otherwise the iteration
    /// limit ended it, and the values are the best estimates reached).
    pub converged: bool,
}

/// The top `k` eigenvalues and eigenvectors of `op`, by Lanczos (default)
/// or power iteration. Seeded: the same options give the same numbers.
///
/// Errors when `k` is 0 or larger than the operator's dimension, the
/// tolerance is not positive, `max_iterations` is 0 (or below `k` for
/// Lanczos), or an operator product fails (a non-finite loss).
///
/// ```
/// use curvature_analysis::{top_eigenvalues, EigenOptions, HessianOperator};
/// use curvature_autograd::{Tape, Tensor, Var};
/// // f(x) = 1/2 sum d_i x_i^2: H = diag(d)
/// let d = Tensor::from_vec(vec![3.0_f64, -1.0, 0.5, 2.0], &[4]);
/// let params = vec![Tensor::zeros(&[4])];
/// let f = |_: &Tape<f64>, p: &[Var<f64>], _: &()| (&p[0].square() * &d).sum() * 0.5;
/// let op = HessianOperator::new(&params, f, &[()])?;
/// let options = EigenOptions { tolerance: 1e-10, ..Default::default() };
/// let top = top_eigenvalues(&op, 2, &options)?;
/// assert!((top.values[0] - 3.0).abs() < 1e-9 && (top.values[1] - 2.0).abs() < 1e-9);
/// assert!(top.converged && top.hvps <= 4);
/// # Ok::<(), curvature_analysis::AnalysisError>(())
/// ```
pub fn top_eigenvalues<O: SymmetricOperator + ?Sized>(
    op: &O,
    k: usize,
    options: &EigenOptions,
) -> Result<Eigenpairs, AnalysisError> {
    let n = op.dim();
    if k > n {
        return Err(AnalysisError::TooManyEigenvalues { k, dimension: n });
    }
    check_at_least("k", k, 1, "ask for at least one eigenvalue")?;
    check_tolerance("eigenvalue", options.tolerance)?;
    check_at_least(
        "max_iterations",
        options.max_iterations,
        1,
        "at least one product is needed",
    )?;
    match options.method {
        EigenMethod::Lanczos => {
            check_at_least(
                "max_iterations",
                options.max_iterations,
                k,
                "Lanczos needs at least k steps for k eigenvalues",
            )?;
            lanczos(op, k, options)
        }
        EigenMethod::PowerIteration => power_iteration(op, k, options),
    }
}

/// The positions of the wanted Ritz values among `values` (ascending).
fn select(values: &[f64], k: usize, which: Which) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    match which {
        Which::Largest => order.reverse(),
        Which::Smallest => {}
        Which::LargestMagnitude => {
            order.sort_by(|&a, &b| values[b].abs().total_cmp(&values[a].abs()));
        }
    }
    order.truncate(k);
    order
}

fn lanczos<O: SymmetricOperator + ?Sized>(
    op: &O,
    k: usize,
    options: &EigenOptions,
) -> Result<Eigenpairs, AnalysisError> {
    let n = op.dim();
    let mut rng = seeded_rng(options.seed);
    let start = random_unit(n, &mut rng);
    let mut process = LanczosProcess::new(op, start, true);
    let max_steps = options.max_iterations.min(n);
    // At an exact breakdown every residual is zero, but a Krylov space
    // holds one copy of each eigenvalue: the answer is accepted only when
    // a restarted block leaves the wanted values unchanged.
    let mut at_last_breakdown: Option<Vec<f64>> = None;
    loop {
        let step = process.step(&mut rng)?;
        let m = process.len();
        let (values, s) = process.ritz();
        let wanted = select(&values, k, options.which);
        let norm_estimate = values.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        let converged = match step {
            Step::Exhausted => true,
            Step::Breakdown => {
                let top: Vec<f64> = wanted.iter().map(|&j| values[j]).collect();
                let same = at_last_breakdown.as_ref().is_some_and(|previous| {
                    previous.len() == top.len()
                        && previous
                            .iter()
                            .zip(&top)
                            .all(|(a, b)| (a - b).abs() <= options.tolerance * norm_estimate)
                });
                at_last_breakdown = Some(top);
                (same && m >= k) || !process.can_continue()
            }
            Step::Continued => {
                m >= k
                    && wanted
                        .iter()
                        .all(|&j| process.residual(&s, j) <= options.tolerance * norm_estimate)
            }
        };
        if converged || m >= max_steps {
            let wanted = select(&values, k.min(m), options.which);
            return Ok(Eigenpairs {
                values: wanted.iter().map(|&j| values[j]).collect(),
                vectors: wanted.iter().map(|&j| process.ritz_vector(&s, j)).collect(),
                residuals: wanted.iter().map(|&j| process.residual(&s, j)).collect(),
                hvps: process.products,
                converged: converged && m >= k,
            });
        }
    }
}

fn power_iteration<O: SymmetricOperator + ?Sized>(
    op: &O,
    k: usize,
    options: &EigenOptions,
) -> Result<Eigenpairs, AnalysisError> {
    let n = op.dim();
    let mut rng = seeded_rng(options.seed);
    let mut result = Eigenpairs {
        values: Vec::with_capacity(k),
        vectors: Vec::with_capacity(k),
        residuals: Vec::with_capacity(k),
        hvps: 0,
        converged: true,
    };
    for _ in 0..k {
        let mut v = random_unit(n, &mut rng);
        let mut previous: Option<f64> = None;
        let mut value = 0.0;
        let mut residual = f64::INFINITY;
        let mut converged = false;
        for _ in 0..options.max_iterations {
            // deflation: iterate in the complement of the vectors found
            orthogonalize(&mut v, &result.vectors);
            normalize(&mut v);
            let hv = op.apply(&v)?;
            result.hvps += 1;
            value = dot(&hv, &v);
            let mut r = hv.clone();
            axpy(-value, &v, &mut r);
            residual = norm(&r);
            let mut next = hv;
            if normalize(&mut next) == 0.0 {
                // H v = 0: v is an eigenvector of eigenvalue 0
                converged = true;
                break;
            }
            if let Some(p) = previous {
                if (value - p).abs() / (p.abs() + 1e-6) < options.tolerance {
                    converged = true;
                    // keep v, whose Rayleigh quotient is `value`
                    break;
                }
            }
            previous = Some(value);
            v = next;
        }
        orthogonalize(&mut v, &result.vectors);
        normalize(&mut v);
        result.values.push(value);
        result.vectors.push(v);
        result.residuals.push(residual);
        result.converged &= converged;
    }
    Ok(result)
}
