//! Gather and its adjoint, scatter-add (class labels, max along a dim).

use crate::op::Op;
use crate::{Element, Tensor, Var};

impl<T: Element> Var<T> {
    /// PyTorch's `gather` along `dim` (see [`Tensor::gather`]): picks, for
    /// instance, the logit of each row's class label.
    pub fn gather(&self, dim: usize, index: &Tensor<usize>) -> Var<T> {
        let value = self.value().gather(dim, index);
        let op = Op::Gather {
            x: self.id,
            dim,
            index: index.clone(),
        };
        self.record(op, value)
    }

    /// The adjoint of [`Var::gather`]: zeros of `shape` with `self` added at
    /// the indexed positions along `dim`.
    pub fn scatter_add(&self, dim: usize, index: &Tensor<usize>, shape: &[usize]) -> Var<T> {
        let value = self.value().scatter_add(dim, index, shape);
        let op = Op::ScatterAdd {
            src: self.id,
            dim,
            index: index.clone(),
        };
        self.record(op, value)
    }
}
