//! Layout ops: views (reshape, broadcast, transpose, permute, narrow,
//! unsqueeze, squeeze) and copies (concat, index_select, gather/scatter).

use super::Tensor;
use crate::shape::{broadcasts_to, check_dim, expand_strides, numel, reshape_strides};
use crate::{Element, Shape};

/// `(outer, size, inner)`: the element counts before, along and after `dim`.
fn split_at_dim(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    (
        shape[..dim].iter().product(),
        shape[dim],
        shape[dim + 1..].iter().product(),
    )
}

impl<T: Copy> Tensor<T> {
    /// The same elements in the same row-major order with another shape of
    /// the same element count. A view sharing the storage (O(1)) whenever
    /// the layout allows, always for a contiguous tensor (PyTorch's rule:
    /// also for a transposed or broadcast view whose merged dimensions stay
    /// evenly spaced); otherwise a contiguous copy, as PyTorch's `reshape`.
    /// Panics, naming both shapes, when the element counts differ.
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// let a = Tensor::from_vec((0..6).map(f64::from).collect(), &[2, 3]);
    /// assert!(a.reshape(&[3, 2]).shares_storage(&a));      // a view
    /// let t = a.t().reshape(&[6]);                          // must copy
    /// assert!(!t.shares_storage(&a));
    /// assert_eq!(t.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    /// ```
    pub fn reshape(&self, shape: &[usize]) -> Self {
        crate::shape::check_reshape(self.shape(), shape);
        let shape = Shape::from_slice(shape);
        let strides = if self.is_contiguous() {
            Some(crate::shape::contiguous_strides(&shape))
        } else {
            reshape_strides(self.shape(), &self.strides(), &shape)
        };
        match strides {
            Some(strides) => self.view(shape, strides, self.offset()),
            None => Self::from_parts(self.to_vec(), shape),
        }
    }

    /// Expands size-1 (and missing leading) dimensions to `shape`, as
    /// PyTorch's `expand`: a view with stride 0 along every expanded
    /// dimension, no copy. Panics when it cannot.
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// let col = Tensor::from_vec(vec![1.0_f32, 2.0], &[2, 1]);
    /// let b = col.broadcast_to(&[2, 3]);
    /// assert_eq!(b.strides().as_slice(), &[1, 0]);
    /// assert_eq!(b.to_vec(), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    /// ```
    pub fn broadcast_to(&self, shape: &[usize]) -> Self {
        assert!(
            broadcasts_to(self.shape(), shape),
            "broadcast_to: cannot broadcast shape {:?} to {shape:?}",
            self.shape()
        );
        if self.shape() == shape {
            return self.clone();
        }
        let strides = expand_strides(self.shape(), &self.strides(), shape);
        self.view(Shape::from_slice(shape), strides, self.offset())
    }

    /// Swaps dimensions `d0` and `d1`: a view, no copy.
    pub fn transpose(&self, d0: usize, d1: usize) -> Self {
        check_dim("transpose", d0, self.shape());
        check_dim("transpose", d1, self.shape());
        if d0 == d1 {
            return self.clone();
        }
        let (mut shape, mut strides) = (self.shape.clone(), self.strides());
        strides.swap(d0, d1);
        shape.swap(d0, d1);
        self.view(shape, strides, self.offset())
    }

    /// The dimensions reordered: dimension `i` of the result is dimension
    /// `dims[i]` of `self` (PyTorch's `permute`); a view, no copy. Panics
    /// when `dims` is not a permutation of `0..ndim`.
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// let a = Tensor::from_vec((0..24).map(f64::from).collect(), &[2, 3, 4]);
    /// let p = a.permute(&[2, 0, 1]);
    /// assert_eq!(p.shape(), &[4, 2, 3]);
    /// assert_eq!(p.get(&[3, 1, 2]), a.get(&[1, 2, 3]));
    /// assert!(p.shares_storage(&a));
    /// ```
    pub fn permute(&self, dims: &[usize]) -> Self {
        let shape = crate::shape::permuted(self.shape(), dims);
        let own = self.strides();
        let strides = dims.iter().map(|&d| own[d]).collect();
        self.view(shape, strides, self.offset())
    }

    /// Inserts a dimension of size 1 at `dim` (`0..=ndim`): a view.
    pub fn unsqueeze(&self, dim: usize) -> Self {
        assert!(
            dim <= self.ndim(),
            "unsqueeze: dimension {dim} is out of range for shape {:?}",
            self.shape()
        );
        let (mut shape, mut strides) = (self.shape.clone(), self.strides());
        // any stride works for a size-1 dimension; this one keeps a
        // contiguous tensor's strides row-major
        let stride = if dim < self.ndim() {
            self.shape[dim] * strides[dim]
        } else {
            1
        };
        shape.insert(dim, 1);
        strides.insert(dim, stride);
        self.view(shape, strides, self.offset())
    }

    /// Removes dimension `dim`, which must have size 1: a view.
    pub fn squeeze(&self, dim: usize) -> Self {
        check_dim("squeeze", dim, self.shape());
        assert_eq!(
            self.shape[dim],
            1,
            "squeeze: dimension {dim} of shape {:?} is not 1",
            self.shape()
        );
        let (mut shape, mut strides) = (self.shape.clone(), self.strides());
        shape.remove(dim);
        strides.remove(dim);
        self.view(shape, strides, self.offset())
    }

    /// The transpose of a 2-D tensor (a view). Panics for other ranks.
    pub fn t(&self) -> Self {
        assert_eq!(
            self.ndim(),
            2,
            "t: expects a 2-D tensor, got shape {:?}",
            self.shape()
        );
        self.transpose(0, 1)
    }

    /// Joins tensors along `dim`; all other dimensions must agree.
    pub fn concat(tensors: &[&Self], dim: usize) -> Self {
        assert!(!tensors.is_empty(), "concat: no tensors given");
        let first = tensors[0].shape();
        check_dim("concat", dim, first);
        let mut shape = Shape::from_slice(first);
        shape[dim] = 0;
        for t in tensors {
            let ok = t.ndim() == first.len()
                && t.shape()
                    .iter()
                    .zip(first)
                    .enumerate()
                    .all(|(i, (a, b))| i == dim || a == b);
            assert!(
                ok,
                "concat: shapes {first:?} and {:?} differ outside dimension {dim}",
                t.shape()
            );
            shape[dim] += t.shape()[dim];
        }
        let (outer, _, inner) = split_at_dim(&shape, dim);
        let parts: Vec<Self> = tensors.iter().map(|t| t.contiguous()).collect();
        let mut data = Vec::with_capacity(numel(&shape));
        for o in 0..outer {
            for t in &parts {
                let chunk = t.shape()[dim] * inner;
                data.extend_from_slice(&t.as_slice()[o * chunk..(o + 1) * chunk]);
            }
        }
        Self::from_parts(data, shape)
    }

    /// The slice `start..start + len` along `dim`: a view, no copy.
    pub fn narrow(&self, dim: usize, start: usize, len: usize) -> Self {
        check_dim("narrow", dim, self.shape());
        let size = self.shape[dim];
        assert!(
            start + len <= size,
            "narrow: range {start}..{} is out of bounds for dimension {dim} of shape {:?}",
            start + len,
            self.shape()
        );
        let mut shape = self.shape.clone();
        shape[dim] = len;
        // an empty slice keeps the old offset, so it never points past the storage
        let strides = self.strides();
        let offset = if len == 0 {
            self.offset()
        } else {
            self.offset() + start * strides[dim]
        };
        self.view(shape, strides, offset)
    }

    /// The rows (entries along `dim`) at `indices`, in that order.
    pub fn index_select(&self, dim: usize, indices: &[usize]) -> Self {
        check_dim("index_select", dim, self.shape());
        let (outer, size, inner) = split_at_dim(self.shape(), dim);
        let this = self.contiguous();
        let mut data = Vec::with_capacity(outer * indices.len() * inner);
        for o in 0..outer {
            for &i in indices {
                assert!(
                    i < size,
                    "index_select: index {i} is out of range for dimension {dim} of shape {:?}",
                    self.shape()
                );
                let base = (o * size + i) * inner;
                data.extend_from_slice(&this.as_slice()[base..base + inner]);
            }
        }
        let mut shape = Shape::from_slice(self.shape());
        shape[dim] = indices.len();
        Self::from_parts(data, shape)
    }

    /// Checks that `index` fits `self` for gather along `dim` (equal sizes
    /// outside `dim`, every index below `self.shape()[dim]`).
    fn check_gather_index(&self, op: &str, dim: usize, index: &Tensor<usize>) {
        check_dim(op, dim, self.shape());
        let ok = index.ndim() == self.ndim()
            && index
                .shape()
                .iter()
                .zip(self.shape())
                .enumerate()
                .all(|(i, (a, b))| i == dim || a == b);
        assert!(
            ok,
            "{op}: index of shape {:?} does not match tensor of shape {:?} outside dimension {dim}",
            index.shape(),
            self.shape()
        );
        let size = self.shape()[dim];
        if let Some(&bad) = index.contiguous().as_slice().iter().find(|&&i| i >= size) {
            panic!(
                "{op}: index {bad} is out of range for dimension {dim} of shape {:?}",
                self.shape()
            );
        }
    }
}

impl<T: Element> Tensor<T> {
    /// PyTorch's `gather`: `out[.., k, ..] = self[.., index[.., k, ..], ..]`
    /// along `dim`; the output has the index's shape, which must equal
    /// `self`'s outside `dim`.
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// let logits = Tensor::from_vec(vec![0.1_f32, 0.7, 0.2, 0.5, 0.3, 0.2], &[2, 3]);
    /// let labels = Tensor::from_vec(vec![1_usize, 0], &[2, 1]);
    /// assert_eq!(logits.gather(1, &labels).to_vec(), vec![0.7, 0.5]);
    /// ```
    pub fn gather(&self, dim: usize, index: &Tensor<usize>) -> Self {
        self.check_gather_index("gather", dim, index);
        let (outer, size, inner) = split_at_dim(self.shape(), dim);
        let k = index.shape()[dim];
        let (this, index) = (self.contiguous(), index.contiguous());
        let (src, idx) = (this.as_slice(), index.as_slice());
        let mut data = Vec::with_capacity(index.numel());
        for o in 0..outer {
            for j in 0..k {
                for i in 0..inner {
                    let pick = idx[(o * k + j) * inner + i];
                    data.push(src[(o * size + pick) * inner + i]);
                }
            }
        }
        Self::from_parts(data, Shape::from_slice(index.shape()))
    }

    /// The adjoint of [`Tensor::gather`]: a tensor of `shape`, zero except
    /// that `self[.., k, ..]` is added at `[.., index[.., k, ..], ..]`.
    pub fn scatter_add(&self, dim: usize, index: &Tensor<usize>, shape: &[usize]) -> Self {
        assert_eq!(
            self.shape(),
            index.shape(),
            "scatter_add: source of shape {:?} and index of shape {:?} differ",
            self.shape(),
            index.shape()
        );
        let out = Self::zeros(shape);
        out.check_gather_index("scatter_add", dim, index);
        let (outer, size, inner) = split_at_dim(shape, dim);
        let k = index.shape()[dim];
        let mut data = out.into_vec();
        let (this, index) = (self.contiguous(), index.contiguous());
        let (src, idx) = (this.as_slice(), index.as_slice());
        for o in 0..outer {
            for j in 0..k {
                for i in 0..inner {
                    let at = (o * k + j) * inner + i;
                    data[(o * size + idx[at]) * inner + i] += src[at];
                }
            }
        }
        Self::from_parts(data, Shape::from_slice(shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_concat_narrow_and_gather() {
        let a = Tensor::from_vec((0..6).map(f64::from).collect(), &[2, 3]);
        assert_eq!(a.t().to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let c = Tensor::concat(&[&a, &a.narrow(1, 1, 2)], 1);
        assert_eq!(c.shape(), &[2, 5]);
        assert_eq!(
            c.to_vec(),
            vec![0.0, 1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 5.0]
        );
        let idx = Tensor::from_vec(vec![2, 0, 1, 1], &[2, 2]);
        let g = a.gather(1, &idx);
        assert_eq!(g.to_vec(), vec![2.0, 0.0, 4.0, 4.0]);
        let back = g.scatter_add(1, &idx, &[2, 3]);
        assert_eq!(back.to_vec(), vec![0.0, 0.0, 2.0, 0.0, 8.0, 0.0]);
        assert_eq!(a.index_select(0, &[1, 1, 0]).shape(), &[3, 3]);
        let b = Tensor::from_vec(vec![1.0, 2.0], &[2, 1]).broadcast_to(&[2, 3]);
        assert_eq!(b.to_vec(), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    }

    fn arange(shape: &[usize]) -> Tensor<f64> {
        Tensor::from_vec((0..numel(shape)).map(|i| i as f64).collect(), shape)
    }

    #[test]
    fn every_view_op_shares_storage_without_copying() {
        let a = arange(&[2, 3, 4]);
        let col = arange(&[3, 1]);
        let views = [
            a.transpose(0, 2),
            a.permute(&[1, 2, 0]),
            a.narrow(1, 1, 2),
            a.narrow(2, 3, 1),
            a.unsqueeze(1),
            a.unsqueeze(3),
            a.reshape(&[6, 4]),
            a.reshape(&[2, 3, 4, 1]).squeeze(3),
            a.transpose(0, 1).reshape(&[3, 2, 2, 2]),
            col.broadcast_to(&[5, 3, 7]),
        ];
        for v in &views {
            let base = if v.shares_storage(&col) { &col } else { &a };
            assert!(v.shares_storage(base), "{v:?} was copied");
        }
        assert_eq!(a.narrow(2, 3, 1).offset(), 3);
        assert_eq!(
            col.broadcast_to(&[5, 3, 7]).strides().as_slice(),
            &[0, 1, 0]
        );
    }

    #[test]
    fn views_of_views_read_the_elements_of_their_materialised_equivalents() {
        let a = arange(&[2, 3, 4]);
        // permute -> narrow -> transpose, element [i, j, k] = a[k, j, i + 1]
        let v = a.permute(&[2, 1, 0]).narrow(0, 1, 2).transpose(1, 2);
        assert_eq!(v.shape(), &[2, 2, 3]);
        let mut expected = Vec::new();
        for i in 0..2 {
            for k in 0..2 {
                for j in 0..3 {
                    expected.push(a.get(&[k, j, i + 1]));
                }
            }
        }
        assert_eq!(v.to_vec(), expected);
        // the same chain with every step materialised
        let copied = a
            .permute(&[2, 1, 0])
            .contiguous()
            .narrow(0, 1, 2)
            .contiguous()
            .transpose(1, 2)
            .contiguous();
        assert_eq!(v, copied);
        assert!(!v.is_contiguous() && copied.is_contiguous());
        assert_eq!(v.contiguous().as_slice(), copied.as_slice());
        assert_eq!(v.get(&[1, 0, 2]), copied.get(&[1, 0, 2]));

        // transpose of a narrow of a broadcast: every element is c[j]
        let c = Tensor::from_vec(vec![10.0, 20.0, 30.0], &[3, 1]);
        let w = c.broadcast_to(&[3, 4]).narrow(1, 1, 2).t();
        assert_eq!(w.shape(), &[2, 3]);
        assert_eq!(w.to_vec(), vec![10.0, 20.0, 30.0, 10.0, 20.0, 30.0]);
        assert!(w.shares_storage(&c));
        let u = w.unsqueeze(0).squeeze(0).narrow(1, 2, 1);
        assert_eq!((u.numel(), u.get(&[1, 0])), (2, 30.0));
    }

    #[test]
    fn contiguous_copies_only_what_is_not_contiguous() {
        let a = arange(&[3, 4]);
        assert!(a.contiguous().shares_storage(&a));
        // rows 1..3: contiguous at an offset, lent as is
        let rows = a.narrow(0, 1, 2);
        assert!(rows.is_contiguous() && rows.contiguous().shares_storage(&a));
        assert_eq!(rows.as_slice(), &[4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
        for v in [
            a.t(),
            a.narrow(1, 1, 2),
            a.narrow(0, 1, 1).broadcast_to(&[2, 4]),
        ] {
            let c = v.contiguous();
            assert!(!v.is_contiguous() && c.is_contiguous(), "{v:?}");
            assert!(!c.shares_storage(&a) && c.offset() == 0);
            assert_eq!(c.to_vec(), v.to_vec());
        }
    }

    #[test]
    fn reshape_of_a_non_contiguous_view_copies_in_its_row_major_order() {
        let a = arange(&[2, 3]);
        let t = a.t();
        let flat = t.reshape(&[6]);
        assert!(!flat.shares_storage(&a));
        assert_eq!(flat.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        // adding a unit dimension to a transpose stays a view
        let split = t.reshape(&[3, 1, 2]);
        assert!(split.shares_storage(&a));
        assert_eq!(split.to_vec(), t.to_vec());
        let n = arange(&[4, 4]).narrow(1, 0, 2).reshape(&[8]);
        assert_eq!(n.to_vec(), vec![0.0, 1.0, 4.0, 5.0, 8.0, 9.0, 12.0, 13.0]);
    }

    #[test]
    fn owned_access_to_a_view_copies_and_leaves_the_storage_alone() {
        let a = arange(&[2, 3]);
        let mut t = a.t();
        t.make_mut()[0] = -1.0;
        assert_eq!(t.to_vec(), vec![-1.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert!(t.is_contiguous() && !t.shares_storage(&a));
        assert_eq!(a.get(&[0, 0]), 0.0);
        assert_eq!(a.narrow(1, 1, 1).into_vec(), vec![1.0, 4.0]);
        let mut rows = a.narrow(0, 1, 1);
        rows.make_mut()[2] = 7.0;
        assert_eq!((rows.to_vec(), a.get(&[1, 2])), (vec![3.0, 4.0, 7.0], 5.0));
    }

    #[test]
    fn copying_ops_accept_views() {
        let a = arange(&[3, 4]);
        let t = a.t(); // [4, 3]
        let dense = t.contiguous();
        let idx = Tensor::from_vec(vec![2, 0, 1, 1, 0, 2, 2, 2], &[4, 2]);
        assert_eq!(t.gather(1, &idx), dense.gather(1, &idx));
        let idx_t = Tensor::from_vec(vec![2, 0, 1, 1, 0, 2, 2, 2], &[2, 4]).t();
        assert_eq!(t.gather(1, &idx_t), dense.gather(1, &idx_t.contiguous()));
        let src = a.narrow(1, 0, 2); // [3, 2] non-contiguous
        let sidx = Tensor::from_vec(vec![0, 3, 1, 1, 2, 0], &[3, 2]);
        assert_eq!(
            src.scatter_add(1, &sidx, &[3, 4]),
            src.contiguous().scatter_add(1, &sidx, &[3, 4])
        );
        assert_eq!(t.index_select(1, &[2, 0]), dense.index_select(1, &[2, 0]));
        let joined = Tensor::concat(&[&t, &a.narrow(0, 0, 2).t()], 1);
        assert_eq!(
            joined,
            Tensor::concat(&[&dense, &a.narrow(0, 0, 2).t().contiguous()], 1)
        );
    }

    #[test]
    #[should_panic(
        expected = "as_slice: the tensor of shape [3, 2] with strides [1, 3] is a non-contiguous view"
    )]
    fn as_slice_of_a_transpose_names_shape_and_strides() {
        let _ = arange(&[2, 3]).t().as_slice();
    }

    #[test]
    #[should_panic(expected = "permute: [0, 0] is not a permutation")]
    fn permute_rejects_a_repeated_dimension() {
        let _ = arange(&[2, 3]).permute(&[0, 0]);
    }

    #[test]
    #[should_panic(
        expected = "reshape: cannot reshape a tensor of shape [2, 3] (6 elements) to [4]"
    )]
    fn reshape_names_both_shapes() {
        let _ = Tensor::<f32>::zeros(&[2, 3]).reshape(&[4]);
    }
}
