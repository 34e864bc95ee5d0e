//! `Tensor<T>`: dense, row-major, contiguous, immutable storage shared by `Arc`.
//!
//! Tensors do arithmetic without any tape: optimizers and data code use them
//! directly. Every op returns a new tensor; cloning is an `Arc` increment.

mod elementwise;
mod layout;
mod matmul;
mod random;

pub use random::{seeded_rng, SeededRng};
mod reduce;
mod simd;

use std::fmt;
use std::sync::Arc;

use crate::shape::{numel, shape_of};
use crate::{Element, Error, Shape};

/// A dense tensor of `T` (`f32`, `f64`, or `usize` for indices).
///
/// ```
/// use curvature_autograd::Tensor;
/// let a = Tensor::from_vec(vec![1.0_f64, 2.0, 3.0, 4.0], &[2, 2]);
/// let b = Tensor::from_vec(vec![10.0_f64, 20.0], &[2]); // broadcasts over rows
/// assert_eq!((&a + &b).to_vec(), vec![11.0, 22.0, 13.0, 24.0]);
/// assert_eq!(a.matmul(&a).to_vec(), vec![7.0, 10.0, 15.0, 22.0]);
/// ```
#[derive(Clone)]
pub struct Tensor<T> {
    data: Arc<Vec<T>>,
    shape: Shape,
}

impl<T: Copy> Tensor<T> {
    /// A tensor from a row-major buffer. Panics, naming both, when the
    /// buffer's length is not the shape's element count; use
    /// [`Tensor::try_from_vec`] for data from outside the program.
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Self {
        match Self::try_from_vec(data, shape) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    /// The fallible form of [`Tensor::from_vec`].
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// assert!(Tensor::try_from_vec(vec![1.0_f32, 2.0, 3.0], &[2, 2]).is_err());
    /// ```
    pub fn try_from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self, Error> {
        let expected = numel(shape);
        if data.len() != expected {
            return Err(Error::ElementCount {
                op: "Tensor::from_vec",
                shape: shape.to_vec(),
                expected,
                got: data.len(),
            });
        }
        Ok(Self::from_parts(data, shape_of(shape)))
    }

    pub(crate) fn from_parts(data: Vec<T>, shape: Shape) -> Self {
        debug_assert_eq!(data.len(), numel(&shape));
        Self {
            data: Arc::new(data),
            shape,
        }
    }

    /// A tensor of this shape with every element `value`.
    pub fn full(shape: &[usize], value: T) -> Self {
        Self::from_parts(vec![value; numel(shape)], shape_of(shape))
    }

    /// The shape, outermost dimension first (`[]` for a scalar).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The elements in row-major order.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// A copy of the elements in row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        self.data.to_vec()
    }

    /// The elements, without a copy when this is the only handle to them.
    pub fn into_vec(self) -> Vec<T> {
        Arc::try_unwrap(self.data).unwrap_or_else(|shared| shared.to_vec())
    }

    /// Mutable access to the elements, copying them first if they are shared
    /// (copy-on-write): optimizers update parameters in place with it.
    pub fn make_mut(&mut self) -> &mut [T] {
        Arc::<Vec<T>>::make_mut(&mut self.data).as_mut_slice()
    }

    /// The single element of a one-element tensor. Panics otherwise.
    pub fn item(&self) -> T {
        assert_eq!(
            self.numel(),
            1,
            "item: tensor of shape {:?} has {} elements, not 1",
            self.shape(),
            self.numel()
        );
        self.data[0]
    }

    /// The element at a multi-dimensional index. Panics when out of range.
    pub fn get(&self, index: &[usize]) -> T {
        assert_eq!(
            index.len(),
            self.ndim(),
            "get: index {index:?} has the wrong rank for shape {:?}",
            self.shape()
        );
        let mut flat = 0;
        for (&i, &d) in index.iter().zip(self.shape.iter()) {
            assert!(
                i < d,
                "get: index {index:?} is out of range for shape {:?}",
                self.shape()
            );
            flat = flat * d + i;
        }
        self.data[flat]
    }

    /// Whether two handles share the same storage (no copy was made).
    pub fn shares_storage(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
    }
}

impl<T: Element> Tensor<T> {
    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::zero())
    }

    /// A tensor of ones.
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, T::one())
    }

    /// A 0-dimensional tensor (shape `[]`) holding one value.
    pub fn scalar(value: T) -> Self {
        Self::full(&[], value)
    }

    /// Zeros of the same shape.
    pub fn zeros_like(&self) -> Self {
        Self::zeros(self.shape())
    }

    /// Ones of the same shape.
    pub fn ones_like(&self) -> Self {
        Self::ones(self.shape())
    }

    /// A tensor of `f64` values converted to `T` (rounded for `f32`).
    pub fn from_f64_vec(data: Vec<f64>, shape: &[usize]) -> Self {
        Self::from_vec(data.into_iter().map(T::from_f64).collect(), shape)
    }

    /// The elements converted to `f64`.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        self.data.iter().map(|x| x.as_f64()).collect()
    }

    /// This tensor converted to another element type.
    pub fn cast<U: Element>(&self) -> Tensor<U> {
        Tensor::from_parts(
            self.data.iter().map(|x| U::from_f64(x.as_f64())).collect(),
            self.shape.clone(),
        )
    }

    /// Whether every element is finite (no NaN, no infinity).
    pub fn all_finite(&self) -> bool {
        self.data.iter().all(|x| x.is_finite())
    }

    /// Whether two tensors have the same shape and elements within
    /// `atol + rtol * |other|` of each other.
    pub fn allclose(&self, other: &Self, rtol: f64, atol: f64) -> bool {
        self.shape == other.shape
            && self.data.iter().zip(other.data.iter()).all(|(a, b)| {
                let (a, b) = (a.as_f64(), b.as_f64());
                (a - b).abs() <= atol + rtol * b.abs()
            })
    }
}

impl<T: fmt::Debug> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 16;
        write!(f, "Tensor(shape={:?}, data=", self.shape.as_slice())?;
        if self.data.len() <= SHOWN {
            write!(f, "{:?})", self.data.as_slice())
        } else {
            write!(f, "{:?}...)", &self.data[..SHOWN])
        }
    }
}

impl<T: PartialEq> PartialEq for Tensor<T> {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape && self.data == other.data
    }
}

/// `tape.var(&x)` and `tape.constant(&x)`: a reference is cloned, which
/// shares the storage (an `Arc` increment).
impl<T: Clone> From<&Tensor<T>> for Tensor<T> {
    fn from(t: &Tensor<T>) -> Self {
        t.clone()
    }
}
