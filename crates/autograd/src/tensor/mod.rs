//! `Tensor<T>`: a strided view (shape, strides, offset) over immutable
//! storage shared by `Arc`.
//!
//! Tensors do arithmetic without any tape: optimizers and data code use them
//! directly. Every op returns a new tensor; cloning is an `Arc` increment.
//! Layout ops (`transpose`, `permute`, `narrow`, `broadcast_to`,
//! `unsqueeze`, `squeeze`, and `reshape` where the layout allows) return
//! views of the same storage in O(1); kernels read views through
//! [`strided::Walk`], and results are always fresh contiguous tensors.

mod conv;
mod elementwise;
mod layout;
mod matmul;
mod random;

pub use conv::Window2d;
pub use random::{seeded_rng, SeededRng};
mod reduce;
mod simd;
mod strided;
mod transpose;

use std::fmt;
use std::sync::Arc;

use crate::shape::{contiguous_strides, numel, shape_of};
use crate::{Element, Error, Shape};

/// A tensor of `T` (`f32`, `f64`, or `usize` for indices): a strided view
/// of shared, immutable storage.
///
/// Element `[i0, i1, ..]` lives at `offset + i0 * strides[0] + i1 *
/// strides[1] + ..` of the storage. A tensor made from data, or returned
/// by an arithmetic op, is row-major contiguous; layout ops (`transpose`,
/// `permute`, `narrow`, `broadcast_to`, `unsqueeze`, `squeeze`, and
/// `reshape` when the layout allows) return views that share the storage
/// and cost O(1). [`Tensor::as_slice`] needs a contiguous tensor;
/// [`Tensor::contiguous`] makes one (without copying if it already is).
///
/// ```
/// use curvature_autograd::Tensor;
/// let a = Tensor::from_vec(vec![1.0_f64, 2.0, 3.0, 4.0], &[2, 2]);
/// let b = Tensor::from_vec(vec![10.0_f64, 20.0], &[2]); // broadcasts over rows
/// assert_eq!((&a + &b).to_vec(), vec![11.0, 22.0, 13.0, 24.0]);
/// assert_eq!(a.matmul(&a).to_vec(), vec![7.0, 10.0, 15.0, 22.0]);
/// ```
pub struct Tensor<T> {
    data: Arc<Vec<T>>,
    shape: Shape,
    /// `None` for the common case, a row-major tensor that is its whole
    /// storage: it costs nothing to make, clone or check. Views carry their
    /// strides and offset here.
    view: Option<Box<View>>,
}

/// The layout of a view that is not simply its whole storage, row-major.
#[derive(Clone, PartialEq)]
struct View {
    /// Elements between neighbours along each dimension (0 on broadcast
    /// dimensions).
    strides: Shape,
    /// Index in the storage of the first element.
    offset: usize,
}

// By hand: `SmallVec`'s own `clone` goes through a generic `extend`, which
// showed up at 3% of a small MLP's HVP; `from_slice` is a plain copy.
impl<T> Clone for Tensor<T> {
    #[inline]
    fn clone(&self) -> Self {
        Self {
            data: self.data.clone(),
            shape: Shape::from_slice(&self.shape),
            view: self.view.clone(),
        }
    }
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
            view: None,
        }
    }

    /// A view of this tensor's storage with another layout. The caller
    /// guarantees that every index of `shape` lands inside the storage.
    pub(crate) fn view(&self, shape: Shape, strides: Shape, offset: usize) -> Self {
        debug_assert_eq!(shape.len(), strides.len());
        debug_assert!(
            numel(&shape) == 0
                || offset
                    + shape
                        .iter()
                        .zip(&strides)
                        .map(|(&d, &s)| (d - 1) * s)
                        .sum::<usize>()
                    < self.data.len(),
            "view: shape {shape:?} strides {strides:?} offset {offset} overrun a storage of {}",
            self.data.len()
        );
        let whole = offset == 0
            && numel(&shape) == self.data.len()
            && strides == contiguous_strides(&shape);
        Self {
            data: self.data.clone(),
            shape,
            view: (!whole).then(|| Box::new(View { strides, offset })),
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
        numel(&self.shape)
    }

    /// The strides: how many storage elements apart neighbours are along
    /// each dimension (0 along a broadcast dimension).
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// let a = Tensor::<f32>::zeros(&[2, 3]);
    /// assert_eq!(a.strides().as_slice(), &[3, 1]);
    /// assert_eq!(a.t().strides().as_slice(), &[1, 3]);
    /// assert_eq!(Tensor::<f32>::zeros(&[3]).broadcast_to(&[2, 3]).strides().as_slice(), &[0, 1]);
    /// ```
    pub fn strides(&self) -> Shape {
        match &self.view {
            None => contiguous_strides(&self.shape),
            Some(v) => Shape::from_slice(&v.strides),
        }
    }

    /// The index in the shared storage of the first element (non-zero for
    /// some narrowed views).
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// let a = Tensor::from_vec((0..6).map(f64::from).collect(), &[2, 3]);
    /// assert_eq!(a.narrow(1, 1, 2).offset(), 1);
    /// ```
    pub fn offset(&self) -> usize {
        self.view.as_ref().map_or(0, |v| v.offset)
    }

    /// Whether the elements lie row-major and back to back in storage, so
    /// that [`Tensor::as_slice`] can lend them (strides of size-1
    /// dimensions do not matter; the offset may be anything).
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// let a = Tensor::<f32>::zeros(&[2, 3]);
    /// assert!(a.is_contiguous());
    /// assert!(!a.t().is_contiguous());
    /// assert!(a.narrow(0, 1, 1).is_contiguous());
    /// ```
    pub fn is_contiguous(&self) -> bool {
        let Some(view) = &self.view else {
            return true;
        };
        let mut expected = 1;
        for (&d, &s) in self.shape.iter().zip(&view.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected *= d;
        }
        true
    }

    /// This tensor with its elements row-major and contiguous: the same
    /// tensor (a clone, no copy) when it already [is
    /// contiguous](Tensor::is_contiguous), at whatever offset, and otherwise
    /// a copy into a fresh buffer.
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// let t = a.t().contiguous();
    /// assert!(t.is_contiguous() && !t.shares_storage(&a));
    /// assert_eq!(t.as_slice(), &[1.0, 3.0, 2.0, 4.0]);
    /// assert!(a.contiguous().shares_storage(&a));
    /// ```
    pub fn contiguous(&self) -> Self {
        if self.is_contiguous() {
            self.clone()
        } else {
            Self::from_parts(self.to_vec(), self.shape.clone())
        }
    }

    /// The elements in row-major order, borrowed. Panics, naming the shape
    /// and strides, when this tensor is a non-contiguous view (a transpose,
    /// a broadcast, a narrow along an inner dimension): call
    /// [`Tensor::contiguous`] first, or [`Tensor::to_vec`], as PyTorch's
    /// `view` refuses such tensors.
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(a.narrow(0, 1, 1).as_slice(), &[3.0, 4.0]);
    /// assert_eq!(a.t().contiguous().as_slice(), &[1.0, 3.0, 2.0, 4.0]);
    /// ```
    ///
    /// ```should_panic
    /// use curvature_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// let _ = a.t().as_slice(); // a transpose is not contiguous
    /// ```
    pub fn as_slice(&self) -> &[T] {
        let Some(view) = &self.view else {
            return &self.data;
        };
        assert!(
            self.is_contiguous(),
            "as_slice: the tensor of shape {:?} with strides {:?} is a non-contiguous view; \
             call .contiguous() or .to_vec() first",
            self.shape(),
            view.strides.as_slice()
        );
        &self.data[view.offset..view.offset + self.numel()]
    }

    /// A copy of the elements in row-major order (of any view).
    pub fn to_vec(&self) -> Vec<T> {
        if self.is_contiguous() {
            self.as_slice().to_vec()
        } else {
            strided::copy_strided(&self.data, self.offset(), &self.strides(), &self.shape)
        }
    }

    /// Whether this tensor is exactly its whole storage, row-major.
    fn owns_whole_storage(&self) -> bool {
        self.view.is_none()
    }

    /// The elements in row-major order, without a copy when this is the
    /// only handle to them and it covers its whole storage contiguously.
    pub fn into_vec(self) -> Vec<T> {
        if self.owns_whole_storage() {
            Arc::try_unwrap(self.data).unwrap_or_else(|shared| shared.to_vec())
        } else {
            self.to_vec()
        }
    }

    /// Mutable access to the elements in row-major order, copying them
    /// first when the storage is shared or this is a view of part of it, or
    /// not contiguous (copy-on-write): optimizers update parameters in place
    /// with it. Afterwards the tensor is contiguous and owns its storage.
    pub fn make_mut(&mut self) -> &mut [T] {
        if !self.owns_whole_storage() {
            *self = Self::from_parts(self.to_vec(), self.shape.clone());
        }
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
        self.data[self.offset()]
    }

    /// The element at a multi-dimensional index. Panics when out of range.
    pub fn get(&self, index: &[usize]) -> T {
        assert_eq!(
            index.len(),
            self.ndim(),
            "get: index {index:?} has the wrong rank for shape {:?}",
            self.shape()
        );
        let mut flat = self.offset();
        for ((&i, &d), &s) in index.iter().zip(self.shape.iter()).zip(&self.strides()) {
            assert!(
                i < d,
                "get: index {index:?} is out of range for shape {:?}",
                self.shape()
            );
            flat += i * s;
        }
        self.data[flat]
    }

    /// Whether two handles share the same storage (no copy was made): true
    /// for a tensor and any view of it.
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
        self.contiguous()
            .as_slice()
            .iter()
            .map(|x| x.as_f64())
            .collect()
    }

    /// This tensor converted to another element type.
    pub fn cast<U: Element>(&self) -> Tensor<U> {
        Tensor::from_parts(
            self.contiguous()
                .as_slice()
                .iter()
                .map(|x| U::from_f64(x.as_f64()))
                .collect(),
            self.shape.clone(),
        )
    }

    /// Whether every element is finite (no NaN, no infinity).
    pub fn all_finite(&self) -> bool {
        self.contiguous().as_slice().iter().all(|x| x.is_finite())
    }

    /// Whether two tensors have the same shape and elements within
    /// `atol + rtol * |other|` of each other.
    pub fn allclose(&self, other: &Self, rtol: f64, atol: f64) -> bool {
        self.shape == other.shape
            && (self.contiguous().as_slice().iter())
                .zip(other.contiguous().as_slice())
                .all(|(a, b)| {
                    let (a, b) = (a.as_f64(), b.as_f64());
                    (a - b).abs() <= atol + rtol * b.abs()
                })
    }
}

impl<T> Tensor<T> {
    /// The storage index of each element, in row-major order (of any view).
    /// For the few places that cannot require `T: Copy`; kernels use
    /// [`strided::Walk`].
    fn storage_indices(&self) -> impl Iterator<Item = usize> + '_ {
        let mut index = Shape::from_elem(0, self.shape.len());
        let (strides, offset) = match &self.view {
            None => (contiguous_strides(&self.shape), 0),
            Some(v) => (v.strides.clone(), v.offset),
        };
        (0..numel(&self.shape)).map(move |_| {
            let at = offset
                + index
                    .iter()
                    .zip(&strides)
                    .map(|(i, s)| i * s)
                    .sum::<usize>();
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < self.shape[d] {
                    break;
                }
                index[d] = 0;
            }
            at
        })
    }
}

impl<T: fmt::Debug> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 16;
        let n = numel(&self.shape);
        let shown: Vec<&T> = self
            .storage_indices()
            .take(SHOWN)
            .map(|i| &self.data[i])
            .collect();
        write!(f, "Tensor(shape={:?}, ", self.shape.as_slice())?;
        if let Some(view) = self.view.as_ref().filter(|_| n > 1) {
            write!(f, "strides={:?}, ", view.strides.as_slice())?;
        }
        if n <= SHOWN {
            write!(f, "data={shown:?})")
        } else {
            write!(f, "data={shown:?}...)")
        }
    }
}

impl<T: PartialEq> PartialEq for Tensor<T> {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape
            && self
                .storage_indices()
                .zip(other.storage_indices())
                .all(|(i, j)| self.data[i] == other.data[j])
    }
}

/// `tape.var(&x)` and `tape.constant(&x)`: a reference is cloned, which
/// shares the storage (an `Arc` increment).
impl<T: Clone> From<&Tensor<T>> for Tensor<T> {
    fn from(t: &Tensor<T>) -> Self {
        t.clone()
    }
}
