//! Layout ops: reshape, broadcast and its adjoint `sum_to`, transpose,
//! concat and narrow. The table holds each op's rule; its `Var` method
//! follows below it.

use crate::op::{op_family, Op};
use crate::shape::check_dim;
use crate::{Element, Tensor, Var};

op_family! {
    /// Ops that move, copy or sum elements without arithmetic on them.
    "layout" enum Layout {
        /// Swaps two dimensions.
        Transpose { d0: usize, d1: usize } "transpose",
            "the gradient is transposed back: g.transpose(d0, d1)",
            |c| c.g.transpose(d0, d1);
        /// Reorders the dimensions: dimension `i` of the output is `dims[i]` of the input.
        Permute { dims: Vec<usize> } "permute",
            "the gradient is permuted back by the inverse permutation",
            |c| {
                let mut inverse = vec![0; dims.len()];
                for (i, &d) in dims.iter().enumerate() {
                    inverse[d] = i;
                }
                c.g.permute(&inverse)
            };
        /// The same elements in another shape.
        Reshape {} "reshape",
            "the gradient is reshaped back to the input's shape",
            |c| c.g.reshape(&c.x[0].shape());
        /// Expands size-1 and missing leading dimensions.
        BroadcastTo {} "broadcast_to",
            "the adjoint of broadcasting is summing: g.sum_to(input shape)",
            |c| c.g.sum_to(&c.x[0].shape());
        /// Sums the dimensions that `shape` would broadcast along.
        SumTo {} "sum_to",
            "the adjoint of summing is broadcasting: g.broadcast_to(input shape)",
            |c| c.g.broadcast_to(&c.x[0].shape());
        /// Joins its inputs along `dim`.
        Concat { dim: usize } "concat",
            "each part's gradient is its slice of g along dim",
            |c| {
                let mut start = 0;
                c.x.iter()
                    .enumerate()
                    .map(|(i, part)| {
                        let len = part.shape()[dim];
                        let grad = c.when(i, || c.g.narrow(dim, start, len));
                        start += len;
                        grad
                    })
                    .collect::<Vec<_>>()
            };
        /// The slice `start..start + len` along `dim`.
        Narrow { dim: usize, start: usize } "narrow",
            "g padded with zeros back to the input's shape along dim",
            |c| {
                let full = c.x[0].shape();
                let len = c.g.shape()[dim];
                let zeros = |size: usize| {
                    let mut s = full.clone();
                    s[dim] = size;
                    c.out.constant_like(Tensor::zeros(&s))
                };
                let before = zeros(start);
                let after = zeros(full[dim] - start - len);
                let pieces = [&before, c.g, &after]
                    .into_iter()
                    .filter(|p| p.shape()[dim] > 0);
                Var::concat(pieces, dim)
            };
    }
}

impl<T: Element> Var<T> {
    /// The same elements with another shape of the same element count.
    pub fn reshape(&self, shape: &[usize]) -> Var<T> {
        if self.shape().as_slice() == shape {
            return self.clone();
        }
        crate::shape::check_reshape(&self.shape(), shape);
        let to = crate::Shape::from_slice(shape);
        let view = to.clone();
        self.record_view(Op::Layout(Layout::Reshape {}), to, move |x| {
            x.reshape(&view)
        })
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

    /// Sums the dimensions along which `shape` would broadcast to this
    /// value's shape (the adjoint of [`Var::broadcast_to`]).
    pub fn sum_to(&self, shape: &[usize]) -> Var<T> {
        if self.shape().as_slice() == shape {
            return self.clone();
        }
        let value = self.with_value(|x| x.sum_to(shape));
        self.record(Op::Layout(Layout::SumTo {}), &[self], value)
    }

    /// Expands size-1 (and missing leading) dimensions to `shape`.
    pub fn broadcast_to(&self, shape: &[usize]) -> Var<T> {
        if self.shape().as_slice() == shape {
            return self.clone();
        }
        self.record(
            Op::Layout(Layout::BroadcastTo {}),
            &[self],
            self.with_value(|x| x.broadcast_to(shape)),
        )
    }

    /// Swaps dimensions `d0` and `d1`: a view of the same storage, no copy
    /// (a later element-wise op reads it through its strides; a product
    /// passes the strides to GEMM).
    pub fn transpose(&self, d0: usize, d1: usize) -> Var<T> {
        let mut shape = self.shape();
        crate::shape::check_dim("transpose", d0, &shape);
        crate::shape::check_dim("transpose", d1, &shape);
        shape.swap(d0, d1);
        let op = Op::Layout(Layout::Transpose { d0, d1 });
        self.record_view(op, shape, move |x| x.transpose(d0, d1))
    }

    /// The dimensions reordered, as PyTorch's `permute`: dimension `i` of
    /// the result is dimension `dims[i]` of `self`. A view, no copy. Panics
    /// when `dims` is not a permutation of the dimensions.
    ///
    /// ```
    /// use curvature_autograd::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::<f64>::zeros(&[2, 3, 4]));
    /// assert_eq!(x.permute(&[2, 0, 1]).shape().as_slice(), &[4, 2, 3]);
    /// ```
    pub fn permute(&self, dims: &[usize]) -> Var<T> {
        let shape = crate::shape::permuted(&self.shape(), dims);
        let order = dims.to_vec();
        let op = Op::Layout(Layout::Permute {
            dims: dims.to_vec(),
        });
        self.record_view(op, shape, move |x| x.permute(&order))
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

    /// Joins values along `dim`; all other dimensions must agree. Takes
    /// anything that iterates over `Var`s or references to them.
    ///
    /// ```
    /// use curvature_autograd::{Tape, Tensor, Var};
    /// let tape = Tape::new();
    /// let parts = vec![tape.var(Tensor::<f64>::ones(&[2])), tape.var(Tensor::zeros(&[1]))];
    /// assert_eq!(Var::concat(&parts, 0).value().to_vec(), vec![1.0, 1.0, 0.0]);
    /// ```
    pub fn concat<I>(parts: I, dim: usize) -> Var<T>
    where
        I: IntoIterator,
        I::Item: AsRef<Var<T>>,
    {
        let parts: Vec<Var<T>> = parts.into_iter().map(|p| p.as_ref().clone()).collect();
        assert!(!parts.is_empty(), "concat: no values given");
        let first = &parts[0];
        for p in &parts {
            first.check_same_tape(p, "concat");
        }
        let values: Vec<Tensor<T>> = parts.iter().map(|p| p.value()).collect();
        let refs: Vec<&Tensor<T>> = values.iter().collect();
        let value = Tensor::concat(&refs, dim);
        let inputs: Vec<&Var<T>> = parts.iter().collect();
        first.record(Op::Layout(Layout::Concat { dim }), &inputs, value)
    }

    /// The slice `start..start + len` along `dim`.
    pub fn narrow(&self, dim: usize, start: usize, len: usize) -> Var<T> {
        let value = self.with_value(|x| x.narrow(dim, start, len));
        self.record(Op::Layout(Layout::Narrow { dim, start }), &[self], value)
    }
}
