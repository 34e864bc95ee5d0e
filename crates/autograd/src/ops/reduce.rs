//! Sums, means and maxima: all are `sum_to` (and `gather`) underneath, so
//! one derivative rule serves every reduction.

use crate::shape::{check_dim, without_dim as squeeze};
use crate::{Element, Shape, Var};

impl<T: Element> Var<T> {
    /// The sum of all elements (shape `[]`).
    pub fn sum(&self) -> Var<T> {
        self.sum_to(&[])
    }

    /// The mean of all elements (shape `[]`).
    pub fn mean(&self) -> Var<T> {
        let n = self.numel();
        self.sum().mul_scalar(T::one() / T::from_f64(n as f64))
    }

    /// Sums along `dim`, keeping it with size 1 when `keepdim`.
    pub fn sum_dim(&self, dim: usize, keepdim: bool) -> Var<T> {
        let shape = self.shape();
        check_dim("sum_dim", dim, &shape);
        let mut kept = shape.clone();
        kept[dim] = 1;
        let summed = self.sum_to(&kept);
        if keepdim {
            summed
        } else {
            summed.reshape(&squeeze(&shape, dim))
        }
    }

    /// The mean along `dim`, keeping it with size 1 when `keepdim`.
    pub fn mean_dim(&self, dim: usize, keepdim: bool) -> Var<T> {
        let shape = self.shape();
        check_dim("mean_dim", dim, &shape);
        let n = T::from_f64(shape[dim] as f64);
        self.sum_dim(dim, keepdim).mul_scalar(T::one() / n)
    }

    /// The largest element along `dim`, keeping it with size 1 when
    /// `keepdim`. Its gradient goes to the first largest element, as
    /// PyTorch's `max(dim)`.
    pub fn max_dim(&self, dim: usize, keepdim: bool) -> Var<T> {
        let shape: Shape = self.shape();
        check_dim("max_dim", dim, &shape);
        let index = self.with_value(|x| x.argmax_dim(dim));
        let values = self.gather(dim, &index);
        if keepdim {
            values
        } else {
            values.reshape(&squeeze(&shape, dim))
        }
    }
}
