//! Gather and its adjoint, scatter-add (class labels, max along a dim).

use crate::op::{op_family, Op};
use crate::{Element, Tensor, Var};

op_family! {
    /// Ops that pick or place elements by an index tensor.
    "index" enum Index {
        /// PyTorch's `gather` along `dim`.
        Gather { dim: usize, index: Tensor<usize> } "gather",
            "the adjoint of gather is scatter_add: g.scatter_add(dim, index, input shape)",
            |c| c.g.scatter_add(dim, &index, &c.x[0].shape());
        /// The adjoint of gather.
        ScatterAdd { dim: usize, index: Tensor<usize> } "scatter_add",
            "the adjoint of scatter_add is gather: g.gather(dim, index)",
            |c| c.g.gather(dim, &index);
    }
}

impl<T: Element> Var<T> {
    /// PyTorch's `gather` along `dim` (see [`Tensor::gather`]): picks, for
    /// instance, the logit of each row's class label.
    pub fn gather(&self, dim: usize, index: &Tensor<usize>) -> Var<T> {
        let value = self.with_value(|x| x.gather(dim, index));
        let op = Op::Index(Index::Gather {
            dim,
            index: index.clone(),
        });
        self.record(op, &[self], value)
    }

    /// The adjoint of [`Var::gather`]: zeros of `shape` with `self` added at
    /// the indexed positions along `dim`.
    pub fn scatter_add(&self, dim: usize, index: &Tensor<usize>, shape: &[usize]) -> Var<T> {
        let value = self.with_value(|x| x.scatter_add(dim, index, shape));
        let op = Op::Index(Index::ScatterAdd {
            dim,
            index: index.clone(),
        });
        self.record(op, &[self], value)
    }
}
