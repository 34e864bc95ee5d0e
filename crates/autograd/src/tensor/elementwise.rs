//! Element-wise kernels on tensors: unary maps and binary ops with
//! PyTorch broadcasting.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::{simd, strided, Tensor};
use crate::shape::{broadcast_shapes, expand_strides};
use crate::Element;

impl<T: Element> Tensor<T> {
    /// Applies `f` to every element (of any view); the result is contiguous.
    pub fn map(&self, f: impl Fn(T) -> T + Sync) -> Self {
        if self.is_contiguous() {
            return Self::from_parts(simd::map(self.as_slice(), f), self.shape.clone());
        }
        // read across its storage's rows: copied by blocks, then mapped
        if strided::reads_across_rows(&self.shape, &self.strides()) {
            return self.contiguous().map(f);
        }
        let data = simd::dispatch(
            #[inline(always)]
            || strided::map_strided(&self.data, self.offset(), &self.strides(), &self.shape, f),
        );
        Self::from_parts(data, self.shape.clone())
    }

    /// Combines two tensors (of any layout) element-wise with broadcasting;
    /// the result is contiguous. Panics with a message naming `op` and both
    /// shapes when they do not broadcast.
    pub fn zip_map(&self, other: &Self, op: &str, f: impl Fn(T, T) -> T + Sync) -> Self {
        let (dense_a, dense_b) = (self.is_contiguous(), other.is_contiguous());
        if self.shape == other.shape && dense_a && dense_b {
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
        // One operand is a single value seen at every position (a scalar,
        // or the broadcast gradient of a sum or mean): a map of the other.
        if dense_b && other.shape() == out_shape.as_slice() {
            if let Some(x) = self.single_value() {
                let data = simd::map(other.as_slice(), |y| f(x, y));
                return Self::from_parts(data, out_shape);
            }
        }
        if dense_a && self.shape() == out_shape.as_slice() {
            if let Some(y) = other.single_value() {
                let data = simd::map(self.as_slice(), |x| f(x, y));
                return Self::from_parts(data, out_shape);
            }
        }
        // The common bias case: a full tensor and a row that repeats along
        // every leading dimension.
        let inner = out_shape.last().copied().unwrap_or(1);
        let is_row = |t: &Self| t.numel() == inner && t.shape().last() == Some(&inner);
        if inner > 0 && dense_a && dense_b && self.shape() == out_shape.as_slice() && is_row(other)
        {
            let data = simd::rows(self.as_slice(), other.as_slice(), f);
            return Self::from_parts(data, out_shape);
        }
        if inner > 0 && dense_a && dense_b && other.shape() == out_shape.as_slice() && is_row(self)
        {
            let data = simd::rows(other.as_slice(), self.as_slice(), |y, x| f(x, y));
            return Self::from_parts(data, out_shape);
        }
        // A full operand read across its storage's rows (a transpose, the
        // channels-last output of a convolution seen as NCHW): walking it
        // reads one cache line per element. Its transposing copy reads each
        // line once, and the op then walks rows.
        let across = |t: &Self, dense: bool| {
            !dense
                && t.shape() == out_shape.as_slice()
                && strided::reads_across_rows(t.shape(), &t.strides())
        };
        if across(self, dense_a) {
            return self.contiguous().zip_map(other, op, f);
        }
        if across(other, dense_b) {
            return self.zip_map(&other.contiguous(), op, f);
        }
        let sa = expand_strides(self.shape(), &self.strides(), &out_shape);
        let sb = expand_strides(other.shape(), &other.strides(), &out_shape);
        let data = simd::dispatch(
            #[inline(always)]
            || {
                strided::zip_strided(
                    (&self.data, self.offset(), &sa),
                    (&other.data, other.offset(), &sb),
                    &out_shape,
                    f,
                )
            },
        );
        Self::from_parts(data, out_shape)
    }

    /// The value, when every element is the same storage element (one
    /// element, or a broadcast of one: all strides 0).
    fn single_value(&self) -> Option<T> {
        let single = self.numel() == 1
            || self
                .view
                .as_ref()
                .is_some_and(|v| v.strides.iter().all(|&s| s == 0));
        (single && self.numel() > 0).then(|| self.data[self.offset()])
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
    fn elementwise_ops_on_views_equal_the_ops_on_materialised_copies() {
        let a = Tensor::from_vec(
            (0..20).map(|i| f64::from(i) * 0.37 - 3.0).collect(),
            &[4, 5],
        );
        let b = Tensor::from_vec(
            (0..20).map(|i| f64::from(i) * -0.21 + 1.5).collect(),
            &[5, 4],
        );
        let row = Tensor::from_vec(vec![1.0, -2.0, 3.0, 0.5], &[4]);
        let dense = |t: &Tensor<f64>| t.contiguous();
        let views = [
            (a.t(), b.clone()),                             // transpose with a dense partner
            (a.t(), a.t()),                                 // two non-contiguous, equal shapes
            (a.narrow(1, 1, 3), a.narrow(1, 2, 3)),         // inner narrows, offsets 1 and 2
            (a.narrow(0, 1, 2), a.narrow(0, 2, 2).t().t()), // contiguous at offsets
            (row.broadcast_to(&[5, 4]), b.clone()),         // stride 0 rows
            (b.clone(), a.narrow(0, 0, 1).t().broadcast_to(&[5, 4])), // stride 0 columns
        ];
        for (x, y) in &views {
            assert_eq!(x * y, &dense(x) * &dense(y), "{x:?} * {y:?}");
            assert_eq!(x - y, &dense(x) - &dense(y), "{x:?} - {y:?}");
            assert_eq!(x.tanh(), dense(x).tanh());
            assert_eq!(x.map(|v| v * 2.0 + 1.0), dense(x).map(|v| v * 2.0 + 1.0));
        }
        // broadcasting between views of different shapes
        let t = a.t(); // [5, 4]
        assert_eq!(&t + &row, &dense(&t) + &row);
        assert_eq!(
            &row / &t.add_scalar(10.0),
            &row / &dense(&t).add_scalar(10.0)
        );
        let col = a.narrow(1, 2, 1); // [4, 1], stride 5
        assert_eq!(
            &col * &row.unsqueeze(0),
            &dense(&col) * &row.reshape(&[1, 4])
        );
        assert_eq!(
            &t.unsqueeze(0) + &col.t(),
            &dense(&t).unsqueeze(0) + &dense(&col.t())
        );
        assert!((&t * &t).is_contiguous());
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

    /// The distance in units in the last place between two finite `f32`s of one sign.
    fn ulps(a: f32, b: f32) -> i64 {
        (a.to_bits() as i64 - b.to_bits() as i64).abs()
    }

    #[test]
    fn fast_f32_exp_is_within_2_ulp_and_keeps_its_limits() {
        // through the vectorised kernel, as the op runs it
        let xs: Vec<f32> = (-1_040_000..887_000).map(|i| i as f32 * 1e-4).collect();
        let fast = Tensor::from_vec(xs.clone(), &[xs.len()]).exp().to_vec();
        let mut worst = 0;
        for (&x, &y) in xs.iter().zip(&fast) {
            let exact = (x as f64).exp() as f32;
            if exact >= f32::MIN_POSITIVE {
                worst = worst.max(ulps(exact, y));
            } else {
                // subnormal results: absolute error within one subnormal step
                assert!((exact - y).abs() <= 1.5e-45, "exp({x}) = {y}, not {exact}");
            }
        }
        assert!(worst <= 2, "worst error {worst} ulp");
        let special = Tensor::from_vec(
            vec![
                0.0_f32,
                -0.0,
                f32::NEG_INFINITY,
                -1e30,
                -104.5,
                88.8,
                1e30,
                f32::INFINITY,
            ],
            &[8],
        );
        let e = special.exp().to_vec();
        assert_eq!(e[..6], [1.0, 1.0, 0.0, 0.0, 0.0, f32::INFINITY]);
        assert_eq!(e[6..], [f32::INFINITY, f32::INFINITY]);
        assert!(Tensor::scalar(f32::NAN).exp().item().is_nan());
        assert_eq!(Tensor::scalar(1.0_f64).exp().item(), 1.0_f64.exp());
    }

    #[test]
    fn fast_f32_erf_is_within_5e_7() {
        let erf = <f32 as Element>::erf;
        let xs: Vec<f32> = (-600_000..600_000).map(|i| i as f32 * 1e-5).collect();
        let cdf = Tensor::from_vec(xs.clone(), &[xs.len()])
            .normal_cdf()
            .to_vec();
        for (&x, &phi) in xs.iter().zip(&cdf) {
            let erf = erf(x) as f64;
            let exact = libm::erf(x as f64);
            assert!((erf - exact).abs() < 5e-7, "erf({x}) = {erf}, not {exact}");
            if x.abs() < 0.5 && x != 0.0 {
                assert!(
                    (erf / exact - 1.0).abs() < 3e-7,
                    "erf({x}) = {erf}, not {exact}"
                );
            }
            let exact_cdf = 0.5 * (1.0 + libm::erf(x as f64 / std::f64::consts::SQRT_2));
            assert!((phi as f64 - exact_cdf).abs() < 5e-7, "Phi({x}) = {phi}");
        }
        assert_eq!(erf(0.0), 0.0);
        // the form is clamped at |x| = 4, where it is within one ulp of 1
        assert!((1.0 - erf(1e30)).abs() < 1.2e-7);
        assert_eq!(erf(-1e30), -erf(1e30));
        assert!(erf(f32::NAN).is_nan());
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
