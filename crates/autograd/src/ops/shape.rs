//! Reshape, broadcast, transpose, concat and narrow.

use smallvec::SmallVec;

use crate::op::Op;
use crate::shape::check_dim;
use crate::{Element, Tensor, Var};

impl<T: Element> Var<T> {
    /// The same elements with another shape of the same element count.
    pub fn reshape(&self, shape: &[usize]) -> Var<T> {
        if self.shape().as_slice() == shape {
            return self.clone();
        }
        self.record(Op::Reshape(self.id), self.value().reshape(shape))
    }

    /// All elements in one dimension.
    pub fn flatten(&self) -> Var<T> {
        self.reshape(&[self.numel()])
    }

    /// Inserts a dimension of size 1 at `dim`.
    pub fn unsqueeze(&self, dim: usize) -> Var<T> {
        let mut shape = self.shape();
        assert!(
            dim <= shape.len(),
            "unsqueeze: dimension {dim} is out of range for shape {shape:?}"
        );
        shape.insert(dim, 1);
        self.reshape(&shape)
    }

    /// Removes dimension `dim`, which must have size 1.
    pub fn squeeze(&self, dim: usize) -> Var<T> {
        let mut shape = self.shape();
        check_dim("squeeze", dim, &shape);
        assert_eq!(
            shape[dim], 1,
            "squeeze: dimension {dim} of shape {shape:?} is not 1"
        );
        shape.remove(dim);
        self.reshape(&shape)
    }

    /// Expands size-1 (and missing leading) dimensions to `shape`.
    pub fn broadcast_to(&self, shape: &[usize]) -> Var<T> {
        if self.shape().as_slice() == shape {
            return self.clone();
        }
        self.record(Op::BroadcastTo(self.id), self.value().broadcast_to(shape))
    }

    /// Swaps dimensions `d0` and `d1` (a copy; for products prefer
    /// [`Var::matmul_nt`] and [`Var::matmul_tn`], which transpose by strides).
    pub fn transpose(&self, d0: usize, d1: usize) -> Var<T> {
        self.record(
            Op::Transpose(self.id, d0, d1),
            self.value().transpose(d0, d1),
        )
    }

    /// The transpose of a 2-D value.
    pub fn t(&self) -> Var<T> {
        let shape = self.shape();
        assert_eq!(
            shape.len(),
            2,
            "t: expects a 2-D value, got shape {shape:?}"
        );
        self.transpose(0, 1)
    }

    /// Joins values along `dim`; all other dimensions must agree.
    pub fn concat(parts: &[&Var<T>], dim: usize) -> Var<T> {
        assert!(!parts.is_empty(), "concat: no values given");
        let first = parts[0];
        for p in parts {
            first.check_same_tape(p, "concat");
        }
        let values: Vec<Tensor<T>> = parts.iter().map(|p| p.value()).collect();
        let refs: Vec<&Tensor<T>> = values.iter().collect();
        let value = Tensor::concat(&refs, dim);
        let ids: SmallVec<[usize; 4]> = parts.iter().map(|p| p.id).collect();
        first.record(Op::Concat { parts: ids, dim }, value)
    }

    /// The slice `start..start + len` along `dim`.
    pub fn narrow(&self, dim: usize, start: usize, len: usize) -> Var<T> {
        let value = self.value().narrow(dim, start, len);
        self.record(
            Op::Narrow {
                x: self.id,
                dim,
                start,
            },
            value,
        )
    }
}
