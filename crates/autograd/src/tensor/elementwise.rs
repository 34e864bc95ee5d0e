//! Element-wise kernels on tensors: unary maps and binary ops with
//! PyTorch broadcasting.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::{simd, Tensor};
use crate::shape::{broadcast_shapes, broadcast_strides, numel};
use crate::{Element, Shape};

/// Writes `f(a[ia], b[ib])` for every index of `out_shape`, reading `a` and
/// `b` through broadcast strides (0 on expanded dimensions).
#[inline(always)]
fn broadcast_zip<T: Copy, F: Fn(T, T) -> T>(
    a: &[T],
    sa: &[usize],
    b: &[T],
    sb: &[usize],
    out_shape: &[usize],
    f: F,
) -> Vec<T> {
    let n = numel(out_shape);
    let mut out = Vec::with_capacity(n);
    let rank = out_shape.len();
    if rank == 0 {
        out.push(f(a[0], b[0]));
        return out;
    }
    let last = rank - 1;
    let inner = out_shape[last];
    if inner == 0 || n == 0 {
        return out;
    }
    let (ia, ib) = (sa[last], sb[last]);
    let mut index: Shape = Shape::from_elem(0, last);
    let (mut oa, mut ob) = (0usize, 0usize);
    for row in out.spare_capacity_mut().chunks_exact_mut(inner) {
        match (ia, ib) {
            (1, 1) => {
                for ((d, &x), &y) in row
                    .iter_mut()
                    .zip(&a[oa..oa + inner])
                    .zip(&b[ob..ob + inner])
                {
                    d.write(f(x, y));
                }
            }
            (1, 0) => {
                let y = b[ob];
                for (d, &x) in row.iter_mut().zip(&a[oa..oa + inner]) {
                    d.write(f(x, y));
                }
            }
            (0, 1) => {
                let x = a[oa];
                for (d, &y) in row.iter_mut().zip(&b[ob..ob + inner]) {
                    d.write(f(x, y));
                }
            }
            _ => {
                for (j, d) in row.iter_mut().enumerate() {
                    d.write(f(a[oa + j * ia], b[ob + j * ib]));
                }
            }
        }
        for d in (0..last).rev() {
            index[d] += 1;
            oa += sa[d];
            ob += sb[d];
            if index[d] < out_shape[d] {
                break;
            }
            oa -= sa[d] * out_shape[d];
            ob -= sb[d] * out_shape[d];
            index[d] = 0;
        }
    }
    // SAFETY: the rows cover all `n` elements, and each was written.
    unsafe { out.set_len(n) };
    out
}

impl<T: Element> Tensor<T> {
    /// Applies `f` to every element.
    pub fn map(&self, f: impl Fn(T) -> T) -> Self {
        Self::from_parts(simd::map(self.as_slice(), f), self.shape.clone())
    }

    /// Combines two tensors element-wise with broadcasting. Panics with a
    /// message naming `op` and both shapes when they do not broadcast.
    pub fn zip_map(&self, other: &Self, op: &str, f: impl Fn(T, T) -> T) -> Self {
        if self.shape == other.shape {
            let data = simd::zip(self.as_slice(), other.as_slice(), f);
            return Self::from_parts(data, self.shape.clone());
        }
        let out_shape = broadcast_shapes(self.shape(), other.shape()).unwrap_or_else(|| {
            panic!(
                "{op}: shapes {:?} and {:?} cannot be broadcast together",
                self.shape(),
                other.shape()
            )
        });
        // The common bias case: a full tensor and a row that repeats along
        // every leading dimension.
        let inner = out_shape.last().copied().unwrap_or(1);
        let is_row = |t: &Self| t.numel() == inner && t.shape().last() == Some(&inner);
        if inner > 0 && self.shape() == out_shape.as_slice() && is_row(other) {
            let data = simd::rows(self.as_slice(), other.as_slice(), f);
            return Self::from_parts(data, out_shape);
        }
        if inner > 0 && other.shape() == out_shape.as_slice() && is_row(self) {
            let data = simd::rows(other.as_slice(), self.as_slice(), |y, x| f(x, y));
            return Self::from_parts(data, out_shape);
        }
        let sa = broadcast_strides(self.shape(), &out_shape);
        let sb = broadcast_strides(other.shape(), &out_shape);
        let data = simd::dispatch(
            #[inline(always)]
            || broadcast_zip(self.as_slice(), &sa, other.as_slice(), &sb, &out_shape, f),
        );
        Self::from_parts(data, out_shape)
    }

    /// `sign(x)`: -1, 0 or 1 (0 at 0, as PyTorch).
    pub fn sign(&self) -> Self {
        self.map(|x| {
            if x > T::zero() {
                T::one()
            } else if x < T::zero() {
                -T::one()
            } else {
                T::zero()
            }
        })
    }
    /// 1 where `x > 0`, else 0.
    pub fn positive_mask(&self) -> Self {
        self.map(|x| if x > T::zero() { T::one() } else { T::zero() })
    }
}

macro_rules! tensor_binary_ops {
    ($($trait:ident $method:ident),*) => {$(
        impl<T: Element> $trait<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$method(self, rhs)
            }
        }
        impl<T: Element> $trait<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$method(&self, &rhs)
            }
        }
    )*};
}
tensor_binary_ops!(Add add, Sub sub, Mul mul, Div div);

macro_rules! tensor_scalar_ops {
    ($($t:ty),*) => {$(
        impl Add<$t> for &Tensor<$t> {
            type Output = Tensor<$t>;
            fn add(self, s: $t) -> Tensor<$t> { self.add_scalar(s) }
        }
        impl Sub<$t> for &Tensor<$t> {
            type Output = Tensor<$t>;
            fn sub(self, s: $t) -> Tensor<$t> { self.add_scalar(-s) }
        }
        impl Mul<$t> for &Tensor<$t> {
            type Output = Tensor<$t>;
            fn mul(self, s: $t) -> Tensor<$t> { self.mul_scalar(s) }
        }
        impl Div<$t> for &Tensor<$t> {
            type Output = Tensor<$t>;
            fn div(self, s: $t) -> Tensor<$t> { self.map(|x| x / s) }
        }
        impl Mul<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn mul(self, t: &Tensor<$t>) -> Tensor<$t> { t.mul_scalar(self) }
        }
        impl Add<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn add(self, t: &Tensor<$t>) -> Tensor<$t> { t.add_scalar(self) }
        }
    )*};
}
tensor_scalar_ops!(f32, f64);

impl<T: Element> Neg for &Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_matches_pytorch_on_every_layout() {
        let a = Tensor::from_vec((0..6).map(f64::from).collect(), &[2, 3]);
        let col = Tensor::from_vec(vec![10.0, 20.0], &[2, 1]);
        let row = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]);
        assert_eq!(
            (&a + &col).to_vec(),
            vec![10.0, 11.0, 12.0, 23.0, 24.0, 25.0]
        );
        assert_eq!((&a * &row).to_vec(), vec![0.0, 2.0, 6.0, 3.0, 8.0, 15.0]);
        assert_eq!((&col + &row).shape(), &[2, 3]);
        // a row first: the operands keep their order in the fast path
        assert_eq!((&row - &a).to_vec(), vec![1.0, 1.0, 1.0, -2.0, -2.0, -2.0]);
        let row2 = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3]);
        assert_eq!(
            (&a / &row2).to_vec(),
            vec![0.0, 0.5, 2.0 / 3.0, 3.0, 2.0, 5.0 / 3.0]
        );
        assert_eq!(
            (&col - &row).to_vec(),
            vec![9.0, 8.0, 7.0, 19.0, 18.0, 17.0]
        );
        let s = Tensor::scalar(2.0);
        assert_eq!((&a / &s).shape(), &[2, 3]);
    }

    #[test]
    #[should_panic(expected = "mul: shapes [2, 3] and [2] cannot be broadcast together")]
    fn broadcasting_failure_names_op_and_shapes() {
        let a = Tensor::<f32>::zeros(&[2, 3]);
        let _ = &a * &Tensor::zeros(&[2]);
    }

    #[test]
    fn fast_f32_tanh_is_within_7_ulp_everywhere() {
        let mut worst = 0;
        for i in -200_000..200_000 {
            let x = i as f32 * 1e-4;
            let exact = (x as f64).tanh() as f32;
            let fast = Tensor::scalar(x).tanh().item();
            worst = worst.max((exact.to_bits() as i64 - fast.to_bits() as i64).abs());
        }
        assert!(worst <= 7, "worst error {worst} ulp");
        assert_eq!(Tensor::scalar(1e30_f32).tanh().item(), 1.0);
        assert_eq!(Tensor::scalar(-1e30_f32).tanh().item(), -1.0);
        assert!(Tensor::scalar(f32::NAN).tanh().item().is_nan());
    }

    #[test]
    fn stable_forms_do_not_overflow() {
        let x = Tensor::from_vec(vec![-1000.0_f32, 0.0, 1000.0], &[3]);
        assert_eq!(x.sigmoid().to_vec(), vec![0.0, 0.5, 1.0]);
        let sp = x.softplus().to_vec();
        assert_eq!(sp[0], 0.0);
        assert!((sp[1] - std::f32::consts::LN_2).abs() < 1e-7);
        assert_eq!(sp[2], 1000.0);
    }
}
