//! The Lanczos process with full reorthogonalisation: an orthonormal basis
//! `Q` of the Krylov space of a start vector and the tridiagonal `T = Q^T A Q`,
//! one operator product per step. Shared by the eigenvalue solver and by
//! stochastic Lanczos quadrature.

use rand::Rng;

use crate::tridiagonal::symmetric_tridiagonal_eigen;
use crate::vector::{axpy, dot, norm, normalize, orthogonalize, random_unit};
use crate::{AnalysisError, SymmetricOperator};

/// Below this fraction of the operator's norm estimate, the new direction
/// is taken as zero: the Krylov space is invariant (an exact breakdown).
const BREAKDOWN: f64 = 1e-10;

/// What the last step found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A new direction: the process can go on.
    Continued,
    /// The Krylov space is invariant under the operator: the Ritz pairs of
    /// `T` are exact eigenpairs. With restarts on, the next basis vector is
    /// a fresh random direction orthogonal to the basis.
    Breakdown,
    /// The basis spans the whole space.
    Exhausted,
}

pub(crate) struct LanczosProcess<'o, O: ?Sized> {
    op: &'o O,
    /// The orthonormal basis vectors applied so far.
    pub(crate) basis: Vec<Vec<f64>>,
    /// The diagonal of `T`.
    pub(crate) alpha: Vec<f64>,
    /// `coupling[j]` is `T[j, j + 1]`, and the last one the norm of the
    /// residual direction beyond the basis (0 after a breakdown).
    pub(crate) coupling: Vec<f64>,
    next: Option<Vec<f64>>,
    restart: bool,
    scale: f64,
    pub(crate) products: u64,
}

impl<'o, O: SymmetricOperator + ?Sized> LanczosProcess<'o, O> {
    /// Starts from `start` (normalised here). With `restart`, a breakdown
    /// continues from a random direction orthogonal to the basis (so that
    /// eigenvalues of multiplicity above one are found again), drawn from
    /// `rng`; without it, the process ends there.
    pub(crate) fn new(op: &'o O, mut start: Vec<f64>, restart: bool) -> Self {
        normalize(&mut start);
        Self {
            op,
            basis: Vec::new(),
            alpha: Vec::new(),
            coupling: Vec::new(),
            next: Some(start),
            restart,
            scale: 0.0,
            products: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.basis.len()
    }

    pub(crate) fn can_continue(&self) -> bool {
        self.next.is_some()
    }

    /// One product, one new basis vector. Panics when the process has ended.
    pub(crate) fn step<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Result<Step, AnalysisError> {
        let q = self.next.take().expect("the Lanczos process has ended");
        let mut w = self.op.apply(&q)?;
        self.products += 1;
        let a = dot(&w, &q);
        axpy(-a, &q, &mut w);
        if let (Some(previous), Some(&b)) = (self.basis.last(), self.coupling.last()) {
            axpy(-b, previous, &mut w);
        }
        self.basis.push(q);
        self.alpha.push(a);
        // full reorthogonalisation: no ghost copies of converged eigenvalues
        orthogonalize(&mut w, &self.basis);
        let b = norm(&w);
        self.scale = self.scale.max(a.abs()).max(b);
        let n = self.op.dim();
        if self.basis.len() == n {
            self.coupling.push(0.0);
            return Ok(Step::Exhausted);
        }
        if b <= BREAKDOWN * self.scale || b == 0.0 {
            self.coupling.push(0.0);
            if self.restart {
                let mut r = random_unit(n, rng);
                orthogonalize(&mut r, &self.basis);
                if normalize(&mut r) > BREAKDOWN {
                    self.next = Some(r);
                }
            }
            return Ok(Step::Breakdown);
        }
        w.iter_mut().for_each(|x| *x /= b);
        self.coupling.push(b);
        self.next = Some(w);
        Ok(Step::Continued)
    }

    /// The Ritz values of `T` (ascending) and the eigenvectors of `T`
    /// (row-major `m x m`, one per column).
    pub(crate) fn ritz(&self) -> (Vec<f64>, Vec<f64>) {
        let m = self.alpha.len();
        symmetric_tridiagonal_eigen(&self.alpha, &self.coupling[..m.saturating_sub(1)])
    }

    /// `Q s` for the eigenvector in column `j` of the `m x m` matrix `s`.
    pub(crate) fn ritz_vector(&self, s: &[f64], j: usize) -> Vec<f64> {
        let m = self.basis.len();
        let mut x = vec![0.0; self.op.dim()];
        for (i, q) in self.basis.iter().enumerate() {
            axpy(s[i * m + j], q, &mut x);
        }
        normalize(&mut x);
        x
    }

    /// The norm of `A x - theta x` for the Ritz pair in column `j`:
    /// the last coupling times the last component of its eigenvector of `T`.
    pub(crate) fn residual(&self, s: &[f64], j: usize) -> f64 {
        let m = self.basis.len();
        (self.coupling[m - 1] * s[(m - 1) * m + j]).abs()
    }
}
