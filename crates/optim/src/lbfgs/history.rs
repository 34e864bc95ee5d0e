//! What L-BFGS carries from one call of `step` to the next, and its saved
//! form.

use curvature_autograd::{Element, Tensor};

use crate::state::{u64_from_tensor, u64_to_tensor};
use crate::{OptimError, OptimizerState};

/// What L-BFGS carries from one call of `step` to the next (PyTorch's
/// `optimizer.state`), flat over all parameters.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct History<T> {
    /// Iterations run since the start (PyTorch's `n_iter`).
    pub(super) n_iter: u64,
    /// Loss evaluations since the start (PyTorch's `func_evals`).
    pub(super) func_evals: u64,
    /// The last direction and step length.
    pub(super) d: Vec<T>,
    pub(super) t: T,
    /// The curvature pairs `y = g' - g`, `s = t d`, and `1 / (y . s)`.
    pub(super) old_dirs: Vec<Vec<T>>,
    pub(super) old_stps: Vec<Vec<T>>,
    pub(super) ro: Vec<T>,
    /// The initial inverse-Hessian scale `y . s / y . y`.
    pub(super) h_diag: T,
    /// The gradient and loss at the start of the last iteration.
    pub(super) prev_flat_grad: Vec<T>,
    pub(super) prev_loss: T,
}

impl<T: Element> History<T> {
    pub(super) fn new() -> Self {
        Self {
            n_iter: 0,
            func_evals: 0,
            d: Vec::new(),
            t: T::zero(),
            old_dirs: Vec::new(),
            old_stps: Vec::new(),
            ro: Vec::new(),
            h_diag: T::one(),
            prev_flat_grad: Vec::new(),
            prev_loss: T::zero(),
        }
    }
}

const NAMES: [&str; 8] = [
    "d",
    "prev_flat_grad",
    "old_dirs",
    "old_stps",
    "ro",
    "scalars",
    "n_iter",
    "func_evals",
];

impl<T: Element> History<T> {
    /// Writes the history into `state` under [`NAMES`].
    pub(super) fn save(&self, state: &mut OptimizerState<T>) {
        let n = self.d.len();
        let k = self.old_dirs.len();
        let stack = |rows: &[Vec<T>]| Tensor::from_vec(rows.concat(), &[k, n]);
        let entries = [
            ("d", Tensor::from_vec(self.d.clone(), &[n])),
            (
                "prev_flat_grad",
                Tensor::from_vec(self.prev_flat_grad.clone(), &[self.prev_flat_grad.len()]),
            ),
            ("old_dirs", stack(&self.old_dirs)),
            ("old_stps", stack(&self.old_stps)),
            ("ro", Tensor::from_vec(self.ro.clone(), &[k])),
            (
                "scalars",
                Tensor::from_vec(vec![self.t, self.h_diag, self.prev_loss], &[3]),
            ),
            ("n_iter", u64_to_tensor(self.n_iter)),
            ("func_evals", u64_to_tensor(self.func_evals)),
        ];
        for (name, t) in entries {
            state.tensors.insert(name.to_string(), t);
        }
    }

    /// Reads a history saved by [`History::save`], checking every entry;
    /// `expected` is the parameters' element count when it is known.
    pub(super) fn load(
        state: &OptimizerState<T>,
        expected: Option<usize>,
    ) -> Result<Self, OptimError> {
        if state.optimizer != "lbfgs" {
            return Err(OptimError::State(format!(
                "it was saved by {}, not lbfgs",
                state.optimizer
            )));
        }
        if let Some(key) = state.tensors.keys().find(|k| !NAMES.contains(&k.as_str())) {
            return Err(OptimError::State(format!(
                "unexpected entry {key:?} for lbfgs"
            )));
        }
        let get = |name: &str| {
            state
                .tensors
                .get(name)
                .ok_or_else(|| OptimError::State(format!("missing entry {name:?}")))
        };
        let d = get("d")?.to_vec();
        let n = d.len();
        if let Some(expected) = expected.filter(|&e| e != n) {
            return Err(OptimError::State(format!(
                "its direction has {n} elements, but the parameters have {expected}"
            )));
        }
        let ro = get("ro")?.to_vec();
        let k = ro.len();
        let rows = |name: &str| -> Result<Vec<Vec<T>>, OptimError> {
            let t = get(name)?;
            if t.shape() != [k, n] {
                return Err(OptimError::State(format!(
                    "entry {name:?} has shape {:?}, expected {:?}",
                    t.shape(),
                    [k, n]
                )));
            }
            Ok(t.to_vec()
                .chunks(n.max(1))
                .map(<[T]>::to_vec)
                .take(k)
                .collect())
        };
        let (old_dirs, old_stps) = (rows("old_dirs")?, rows("old_stps")?);
        let prev_flat_grad = get("prev_flat_grad")?.to_vec();
        let scalars = get("scalars")?.to_vec();
        if scalars.len() != 3 || (prev_flat_grad.len() != n && !prev_flat_grad.is_empty()) {
            return Err(OptimError::State(
                "entries \"scalars\" or \"prev_flat_grad\" have the wrong length".into(),
            ));
        }
        Ok(History {
            n_iter: u64_from_tensor(get("n_iter")?, "n_iter")?,
            func_evals: u64_from_tensor(get("func_evals")?, "func_evals")?,
            d,
            t: scalars[0],
            old_dirs,
            old_stps,
            ro,
            h_diag: scalars[1],
            prev_flat_grad,
            prev_loss: scalars[2],
        })
    }
}
