//! Reductions: sums to a (broadcast-compatible) shape, along a dim, and max.

use super::{simd, strided, Tensor};
use crate::shape::{broadcast_strides, broadcasts_to, check_dim, numel, without_dim as squeeze};
use crate::{Element, Shape};

impl<T: Element> Tensor<T> {
    /// The sum of all elements (of any view), in row-major order.
    fn total(&self) -> T {
        if self.is_contiguous() {
            return self.as_slice().iter().copied().sum();
        }
        let mut out = [T::zero()];
        let none = Shape::from_elem(0, self.ndim());
        simd::dispatch(
            #[inline(always)]
            || {
                strided::accumulate_strided(
                    &mut out,
                    &none,
                    (&self.data, self.offset(), &self.strides()),
                    &self.shape,
                    T::zero(),
                )
            },
        );
        out[0]
    }

    /// The sum of all elements, as a scalar tensor of shape `[]`.
    pub fn sum(&self) -> Self {
        Self::scalar(self.total())
    }

    /// The mean of all elements, as a scalar tensor of shape `[]`.
    pub fn mean(&self) -> Self {
        let n = T::from_f64(self.numel() as f64);
        Self::scalar(self.total() / n)
    }

    /// Sums the dimensions along which `shape` was broadcast to this
    /// tensor's shape: the adjoint of [`Tensor::broadcast_to`], and how a
    /// broadcast operand's gradient is brought back to its own shape.
    /// Panics when `shape` does not broadcast to `self.shape()`.
    pub fn sum_to(&self, shape: &[usize]) -> Self {
        assert!(
            broadcasts_to(shape, self.shape()),
            "sum_to: shape {shape:?} does not broadcast to {:?}",
            self.shape()
        );
        if shape == self.shape() {
            return self.clone();
        }
        let mut out = vec![T::zero(); numel(shape)];
        if out.len() == 1 {
            out[0] = self.total();
            return Self::from_parts(out, Shape::from_slice(shape));
        }
        // `out` read as the full shape: stride 0 along the summed dimensions
        let out_strides = broadcast_strides(shape, self.shape());
        simd::dispatch(
            #[inline(always)]
            || {
                strided::accumulate_strided(
                    &mut out,
                    &out_strides,
                    (&self.data, self.offset(), &self.strides()),
                    &self.shape,
                    T::zero(),
                )
            },
        );
        Self::from_parts(out, Shape::from_slice(shape))
    }

    /// Sums along `dim`, keeping it with size 1 when `keepdim`.
    pub fn sum_dim(&self, dim: usize, keepdim: bool) -> Self {
        check_dim("sum_dim", dim, self.shape());
        let mut kept = Shape::from_slice(self.shape());
        kept[dim] = 1;
        let summed = self.sum_to(&kept);
        if keepdim {
            summed
        } else {
            summed.reshape(&squeeze(self.shape(), dim))
        }
    }

    /// The mean along `dim`, keeping it with size 1 when `keepdim`.
    pub fn mean_dim(&self, dim: usize, keepdim: bool) -> Self {
        let n = T::from_f64(self.shape()[dim] as f64);
        self.sum_dim(dim, keepdim).map(|x| x / n)
    }

    /// The index of the largest element along `dim` (the first one on ties;
    /// a NaN counts as largest), with `dim` kept as size 1.
    pub fn argmax_dim(&self, dim: usize) -> Tensor<usize> {
        check_dim("argmax_dim", dim, self.shape());
        let shape = self.shape();
        let size = shape[dim];
        assert!(
            size > 0,
            "argmax_dim: dimension {dim} of shape {shape:?} is empty"
        );
        let inner: usize = shape[dim + 1..].iter().product();
        let outer: usize = shape[..dim].iter().product();
        let this = self.contiguous();
        let data = this.as_slice();
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let base = o * size * inner + i;
                let mut best = 0;
                let mut best_value = data[base];
                for k in 1..size {
                    let v = data[base + k * inner];
                    if !best_value.is_nan() && (v > best_value || v.is_nan()) {
                        best = k;
                        best_value = v;
                    }
                }
                out.push(best);
            }
        }
        let mut kept = Shape::from_slice(shape);
        kept[dim] = 1;
        Tensor::from_parts(out, kept)
    }

    /// The largest element along `dim`, keeping it with size 1 when `keepdim`.
    pub fn max_dim(&self, dim: usize, keepdim: bool) -> Self {
        let index = self.argmax_dim(dim);
        let values = self.gather(dim, &index);
        if keepdim {
            values
        } else {
            values.reshape(&squeeze(self.shape(), dim))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_along_each_dim_and_to_broadcast_shapes() {
        let a = Tensor::from_vec((0..6).map(f64::from).collect(), &[2, 3]);
        assert_eq!(a.sum().item(), 15.0);
        assert_eq!(a.sum_dim(0, false).to_vec(), vec![3.0, 5.0, 7.0]);
        assert_eq!(a.sum_dim(1, true).shape(), &[2, 1]);
        assert_eq!(a.sum_dim(1, true).to_vec(), vec![3.0, 12.0]);
        assert_eq!(a.sum_to(&[3]).to_vec(), vec![3.0, 5.0, 7.0]);
        assert_eq!(a.sum_to(&[1, 1]).to_vec(), vec![15.0]);
        let b = Tensor::from_vec((0..24).map(f64::from).collect(), &[2, 3, 4]);
        let mid = b.sum_to(&[1, 3, 1]);
        assert_eq!(mid.to_vec(), vec![60.0, 92.0, 124.0]);
        assert_eq!(
            b.mean_dim(2, false).to_vec(),
            vec![1.5, 5.5, 9.5, 13.5, 17.5, 21.5]
        );
    }

    #[test]
    fn reductions_of_views_equal_those_of_materialised_copies() {
        // integer values: every sum is exact, whatever the order
        let a = Tensor::from_vec(
            (0..60).map(|i| f64::from((i * 7) % 11)).collect(),
            &[3, 4, 5],
        );
        let views = [
            a.permute(&[2, 0, 1]),
            a.narrow(2, 1, 3),
            a.narrow(0, 1, 2),
            a.narrow(1, 0, 1).broadcast_to(&[3, 6, 5]),
            a.transpose(0, 2).narrow(1, 1, 2),
        ];
        for v in &views {
            let d = v.contiguous();
            assert_eq!(v.sum(), d.sum(), "{v:?}");
            assert_eq!(v.mean(), d.mean());
            for dim in 0..3 {
                assert_eq!(
                    v.sum_dim(dim, true),
                    d.sum_dim(dim, true),
                    "{v:?} dim {dim}"
                );
                assert_eq!(v.max_dim(dim, false), d.max_dim(dim, false));
                assert_eq!(v.argmax_dim(dim), d.argmax_dim(dim));
            }
            let s = v.shape();
            for to in [
                vec![s[1], 1],
                vec![s[2]],
                vec![s[0], 1, s[2]],
                vec![1, 1, 1],
            ] {
                assert_eq!(v.sum_to(&to), d.sum_to(&to), "{v:?} to {to:?}");
            }
        }
    }

    #[test]
    fn max_and_argmax_along_a_dim() {
        let a = Tensor::from_vec(vec![1.0, 5.0, 2.0, 7.0, 0.0, 7.0], &[2, 3]);
        assert_eq!(a.argmax_dim(1).to_vec(), vec![1, 0]);
        assert_eq!(a.max_dim(1, false).to_vec(), vec![5.0, 7.0]);
        assert_eq!(a.max_dim(0, true).to_vec(), vec![7.0, 5.0, 7.0]);
    }
}
