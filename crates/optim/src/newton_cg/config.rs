//! The hyperparameters of Newton-CG (Hessian-free optimization).

use crate::{validate, OptimError};

/// The hyperparameters of [`NewtonCg`](crate::NewtonCg). The defaults
/// follow Martens (2010) where the paper gives them: CG warm-started from
/// `0.95` times the previous direction, Levenberg-Marquardt factors 3/2
/// and 2/3 at reduction ratios 1/4 and 3/4, the relative-progress stop
/// with `eps = 5e-4`, backtracking by 0.8.
///
/// ```
/// use curvature_optim::NewtonCgConfig;
/// let config = NewtonCgConfig { damping: 0.0, max_cg_iter: 100, ..Default::default() };
/// assert_eq!(config.lr, 1.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NewtonCgConfig {
    /// Scale of the accepted direction; `> 0`. Default 1 (a Newton step).
    pub lr: f64,
    /// The initial Tikhonov damping `lambda` of the quadratic model
    /// `q(p) = g.p + 1/2 p.(H + lambda I)p`; `>= 0`. Default 1e-3. Adapted
    /// every step (see `adapt_damping`).
    pub damping: f64,
    /// Adapt the damping from the reduction ratio `rho` (actual over
    /// predicted decrease): times 3/2 when `rho < 1/4`, times 2/3 when
    /// `rho > 3/4` (Levenberg-Marquardt, Martens 2010). Default true.
    pub adapt_damping: bool,
    /// Conjugate-gradient iterations per step (Hessian-vector products);
    /// `>= 1`. Default 100.
    pub max_cg_iter: usize,
    /// Stop CG when the residual's norm is at most this times the
    /// gradient's; `>= 0`. Default 1e-10.
    pub cg_tolerance: f64,
    /// Martens' relative-progress stop: after `k = max(10, i / 10)`
    /// iterations, stop when the model's value improved by less than
    /// `k * progress_tolerance` relative over the last `k`; `>= 0` (0
    /// turns it off). Default 5e-4.
    pub progress_tolerance: f64,
    /// CG starts from this times the previous step's direction; in
    /// `[0, 1]` (0: from zero). Default 0.95.
    pub warm_start: f64,
    /// Backtracking: the step `alpha` shrinks by this factor until the
    /// loss decreases by at least `1e-2 alpha g.p`; in `(0, 1)`.
    /// Default 0.8.
    pub backtrack: f64,
    /// Trials of the backtracking before the step is abandoned (no move,
    /// more damping); `>= 1`. Default 30.
    pub max_backtracks: usize,
    /// Use Gauss-Newton-vector products `J^T H_L J v` instead of exact
    /// Hessian-vector products: positive semi-definite for a convex loss
    /// of the model's output. Needs an objective split into a model and a
    /// loss ([`GaussNewtonObjective`](crate::GaussNewtonObjective)).
    /// Default false.
    pub gauss_newton: bool,
}

impl Default for NewtonCgConfig {
    fn default() -> Self {
        Self {
            lr: 1.0,
            damping: 1e-3,
            adapt_damping: true,
            max_cg_iter: 100,
            cg_tolerance: 1e-10,
            progress_tolerance: 5e-4,
            warm_start: 0.95,
            backtrack: 0.8,
            max_backtracks: 30,
            gauss_newton: false,
        }
    }
}

impl NewtonCgConfig {
    pub(crate) fn validate(&self) -> Result<(), OptimError> {
        validate::positive("lr", self.lr)?;
        validate::non_negative("damping", self.damping)?;
        validate::at_least_one("max_cg_iter", self.max_cg_iter as u64)?;
        validate::non_negative("cg_tolerance", self.cg_tolerance)?;
        validate::non_negative("progress_tolerance", self.progress_tolerance)?;
        validate::unit_interval("warm_start", self.warm_start)?;
        if !(self.backtrack > 0.0 && self.backtrack < 1.0) {
            return Err(OptimError::invalid(
                "backtrack",
                self.backtrack,
                "must be in (0, 1)",
            ));
        }
        validate::at_least_one("max_backtracks", self.max_backtracks as u64)
    }
}
