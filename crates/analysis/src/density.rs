//! The spectral density of a symmetric operator by stochastic Lanczos
//! quadrature (Ghorbani, Krishnan and Xiao 2019; PyHessian's `density`):
//! for each random unit start vector `v`, `m` Lanczos steps give a Gauss
//! quadrature rule (the Ritz values as nodes, the squared first components
//! of their eigenvectors of `T` as weights) with
//! `sum_i w_i f(theta_i) = v^T f(H) v`, exact for polynomials `f` of degree
//! below `2m`. Averaged over start vectors, it estimates `tr(f(H)) / n`:
//! the spectral density `(1/n) sum_j delta(lambda - lambda_j)`.

use curvature_autograd::seeded_rng;

use crate::error::check_at_least;
use crate::lanczos::{LanczosProcess, Step};
use crate::vector::random_unit;
use crate::{AnalysisError, SymmetricOperator};

/// Options of [`spectral_density`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DensityOptions {
    /// Lanczos steps per start vector (at most the dimension); default 100,
    /// as PyHessian. The quadrature's first `2 steps - 1` moments are exact
    /// for its start vector.
    pub steps: usize,
    /// The number of random start vectors averaged; default 1, as PyHessian.
    pub vectors: usize,
    /// The seed of the start vectors; default 0.
    pub seed: u64,
}

impl Default for DensityOptions {
    fn default() -> Self {
        Self {
            steps: 100,
            vectors: 1,
            seed: 0,
        }
    }
}

/// One Gauss quadrature rule per start vector, and what they cost.
#[derive(Clone, Debug, PartialEq)]
pub struct SpectralDensity {
    /// The nodes (Ritz values, ascending) of each start vector's rule.
    pub nodes: Vec<Vec<f64>>,
    /// Their weights, each rule's summing to 1.
    pub weights: Vec<Vec<f64>>,
    /// The operator products spent.
    pub hvps: u64,
}

/// A density sampled on an even grid.
#[derive(Clone, Debug, PartialEq)]
pub struct DensityGrid {
    /// The grid's points, ascending and evenly spaced.
    pub points: Vec<f64>,
    /// The density at each point: it integrates to about 1 over the grid.
    pub density: Vec<f64>,
    /// The Gaussian's standard deviation used.
    pub sigma: f64,
}

impl SpectralDensity {
    /// The estimate of the `p`-th spectral moment, `tr(H^p) / n`: the mean
    /// over start vectors of `sum_i w_i theta_i^p`.
    pub fn moment(&self, p: i32) -> f64 {
        let total: f64 = self
            .nodes
            .iter()
            .zip(&self.weights)
            .map(|(nodes, weights)| {
                nodes
                    .iter()
                    .zip(weights)
                    .map(|(t, w)| w * t.powi(p))
                    .sum::<f64>()
            })
            .sum();
        total / self.nodes.len() as f64
    }

    /// The density smoothed by a Gaussian of standard deviation `sigma`,
    /// at each of `points`: `sum_i w_i N(x; theta_i, sigma^2)`, averaged
    /// over the rules. Use it to draw several densities on one grid with
    /// one width. Panics when `sigma` is not positive.
    ///
    /// ```
    /// use curvature_analysis::SpectralDensity;
    /// let one_node = SpectralDensity { nodes: vec![vec![2.0]], weights: vec![vec![1.0]], hvps: 1 };
    /// let d = one_node.density_at(&[2.0, 3.0], 1.0);
    /// let peak = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
    /// assert!((d[0] - peak).abs() < 1e-15 && (d[1] - peak * (-0.5_f64).exp()).abs() < 1e-15);
    /// ```
    pub fn density_at(&self, points: &[f64], sigma: f64) -> Vec<f64> {
        assert!(
            sigma.is_finite() && sigma > 0.0,
            "density_at: sigma must be positive and finite, got {sigma}"
        );
        let norm = 1.0 / (self.nodes.len() as f64 * sigma * (2.0 * std::f64::consts::PI).sqrt());
        points
            .iter()
            .map(|&x| {
                let mut sum = 0.0;
                for (nodes, weights) in self.nodes.iter().zip(&self.weights) {
                    for (t, w) in nodes.iter().zip(weights) {
                        sum += w * (-(x - t).powi(2) / (2.0 * sigma * sigma)).exp();
                    }
                }
                sum * norm
            })
            .collect()
    }

    /// The smallest and largest node over all rules.
    pub fn range(&self) -> (f64, f64) {
        self.nodes
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &t| {
                (lo.min(t), hi.max(t))
            })
    }

    /// The density smoothed by a Gaussian of standard deviation
    /// `relative_sigma` times the width of the nodes' range, on `points`
    /// even points spanning the range widened by 5 sigma each side
    /// (PyHessian smooths the same way, with its own width). Panics when
    /// `points < 2` or `relative_sigma` is not positive.
    pub fn smoothed(&self, points: usize, relative_sigma: f64) -> DensityGrid {
        assert!(
            points >= 2,
            "smoothed: at least 2 grid points, got {points}"
        );
        assert!(
            relative_sigma.is_finite() && relative_sigma > 0.0,
            "smoothed: relative_sigma must be positive and finite, got {relative_sigma}"
        );
        let (lo, hi) = self.range();
        let width = (hi - lo).max(hi.abs().max(lo.abs()) * 1e-12).max(1e-300);
        let sigma = relative_sigma * width;
        let (start, end) = (lo - 5.0 * sigma, hi + 5.0 * sigma);
        let step = (end - start) / (points - 1) as f64;
        let grid: Vec<f64> = (0..points).map(|i| start + step * i as f64).collect();
        let density = self.density_at(&grid, sigma);
        DensityGrid {
            points: grid,
            density,
            sigma,
        }
    }
}

/// Stochastic Lanczos quadrature: `vectors` random unit start vectors,
/// `steps` Lanczos steps each (fewer when the Krylov space becomes
/// invariant, where the rule is already exact), `steps * vectors` products.
///
/// Errors when `steps` or `vectors` is 0, or a product fails.
///
/// ```
/// use curvature_analysis::{spectral_density, DensityOptions, HessianOperator};
/// use curvature_autograd::{Tape, Tensor, Var};
/// // H = diag(1, 2, 3, 4): with 4 steps the nodes are the eigenvalues
/// let d = Tensor::from_vec(vec![1.0_f64, 2.0, 3.0, 4.0], &[4]);
/// let params = vec![Tensor::zeros(&[4])];
/// let f = |_: &Tape<f64>, p: &[Var<f64>], _: &()| (&p[0].square() * &d).sum() * 0.5;
/// let op = HessianOperator::new(&params, f, &[()])?;
/// let slq = spectral_density(&op, &DensityOptions { steps: 4, vectors: 3, seed: 1 })?;
/// for nodes in &slq.nodes {
///     for (node, exact) in nodes.iter().zip([1.0, 2.0, 3.0, 4.0]) {
///         assert!((node - exact).abs() < 1e-10);
///     }
/// }
/// assert_eq!(slq.hvps, 12);
/// let grid = slq.smoothed(200, 0.02);
/// assert_eq!(grid.points.len(), 200);
/// # Ok::<(), curvature_analysis::AnalysisError>(())
/// ```
pub fn spectral_density<O: SymmetricOperator + ?Sized>(
    op: &O,
    options: &DensityOptions,
) -> Result<SpectralDensity, AnalysisError> {
    check_at_least("steps", options.steps, 1, "at least one Lanczos step")?;
    check_at_least("vectors", options.vectors, 1, "at least one start vector")?;
    let n = op.dim();
    let steps = options.steps.min(n);
    let mut rng = seeded_rng(options.seed);
    let mut result = SpectralDensity {
        nodes: Vec::with_capacity(options.vectors),
        weights: Vec::with_capacity(options.vectors),
        hvps: 0,
    };
    for _ in 0..options.vectors {
        let start = random_unit(n, &mut rng);
        // no restart: after a breakdown the rule is exact for this vector
        let mut process = LanczosProcess::new(op, start, false);
        while process.len() < steps {
            if process.step(&mut rng)? != Step::Continued {
                break;
            }
        }
        result.hvps += process.products;
        let (values, s) = process.ritz();
        let m = values.len();
        result.weights.push((0..m).map(|j| s[j] * s[j]).collect());
        result.nodes.push(values);
    }
    Ok(result)
}
