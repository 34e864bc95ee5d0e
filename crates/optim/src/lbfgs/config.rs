//! The hyperparameters of L-BFGS, with `torch.optim.LBFGS`'s defaults.

use crate::{validate, OptimError};

/// The line search L-BFGS runs along each direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LineSearch {
    /// None: a fixed step `lr` (the first iteration of a run scales it by
    /// `min(1, 1 / |g|_1)`), PyTorch's `line_search_fn=None`. The default.
    #[default]
    None,
    /// A line search satisfying the strong Wolfe conditions (`c1 = 1e-4`,
    /// `c2 = 0.9`), PyTorch's `line_search_fn="strong_wolfe"`.
    StrongWolfe,
}

/// The hyperparameters of [`Lbfgs`](crate::Lbfgs), with PyTorch's names
/// and defaults: lr 1, 20 iterations per step, `max_eval` 25
/// (`max_iter * 5 / 4`), `tolerance_grad` 1e-7, `tolerance_change` 1e-9,
/// `history_size` 100, no line search.
///
/// ```
/// use curvature_optim::{LbfgsConfig, LineSearch};
/// let config = LbfgsConfig { line_search: LineSearch::StrongWolfe, ..Default::default() };
/// assert_eq!(config.max_evaluations(), 25);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LbfgsConfig {
    /// Learning rate (the step along the direction, or the line search's
    /// first trial); `> 0`. Default 1.
    pub lr: f64,
    /// Iterations per call of `step`; `>= 1`. Default 20.
    pub max_iter: usize,
    /// Loss evaluations per call of `step`; `>= 1`. `None` (the default)
    /// means `max_iter * 5 / 4`.
    pub max_eval: Option<usize>,
    /// Stop when the largest gradient element is at most this; `>= 0`.
    /// Default 1e-7.
    pub tolerance_grad: f64,
    /// Stop when the step or the loss changes by less than this; `>= 0`.
    /// Default 1e-9.
    pub tolerance_change: f64,
    /// Curvature pairs kept; `>= 1`. Default 100.
    pub history_size: usize,
    /// The line search. Default none.
    pub line_search: LineSearch,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        Self {
            lr: 1.0,
            max_iter: 20,
            max_eval: None,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            history_size: 100,
            line_search: LineSearch::None,
        }
    }
}

impl LbfgsConfig {
    /// `max_eval`, or `max_iter * 5 / 4` when it is not set (PyTorch's rule).
    pub fn max_evaluations(&self) -> usize {
        self.max_eval.unwrap_or(self.max_iter * 5 / 4)
    }

    pub(crate) fn validate(&self) -> Result<(), OptimError> {
        validate::positive("lr", self.lr)?;
        validate::at_least_one("max_iter", self.max_iter as u64)?;
        if let Some(max_eval) = self.max_eval {
            validate::at_least_one("max_eval", max_eval as u64)?;
        }
        validate::non_negative("tolerance_grad", self.tolerance_grad)?;
        validate::non_negative("tolerance_change", self.tolerance_change)?;
        validate::at_least_one("history_size", self.history_size as u64)
    }
}
