//! The ops of sequence models (embeddings, layer norm, the tanh form of
//! GELU, boolean masks, masked softmax, split and chunk), all composed
//! from recorded primitives, so each has every order of derivative with
//! no rule of its own: an embedding is a `gather` of rows (its adjoint,
//! `scatter_add`, sums the gradients of repeated tokens), a mask is a
//! product with a constant of ones and zeros, a split is `narrow`s.
//!
//! ```
//! use curvature_autograd::{Tape, Tensor};
//! let tape = Tape::new();
//! let table = tape.var(Tensor::from_vec(vec![0.0_f64, 1.0, 2.0, 3.0, 4.0, 5.0], &[3, 2]));
//! let x = table.embedding(&Tensor::from_vec(vec![2, 0], &[1, 2])); // [1, 2, 2]
//! let y = x.layer_norm(None, None, 1e-5);
//! assert_eq!(x.value().to_vec(), vec![4.0, 5.0, 0.0, 1.0]);
//! assert!((y.value().get(&[0, 0, 1]) - 1.0).abs() < 1e-4);
//! ```

use crate::shape::{broadcast_shapes, check_dim};
use crate::{Element, Tensor, Var};

/// `mask` broadcast to `shape` as a tensor of `on` where it is true and
/// `off` elsewhere. Panics, naming `op` and both shapes, when the mask
/// does not broadcast to `shape` (as PyTorch's `masked_fill` requires).
fn mask_values<T: Element>(
    op: &str,
    mask: &Tensor<bool>,
    shape: &[usize],
    on: T,
    off: T,
) -> Tensor<T> {
    let fits = broadcast_shapes(mask.shape(), shape).is_some_and(|s| s.as_slice() == shape);
    assert!(
        fits,
        "{op}: a mask of shape {:?} does not broadcast to the value's shape {shape:?}",
        mask.shape()
    );
    let values = mask
        .to_vec()
        .into_iter()
        .map(|m| if m { on } else { off })
        .collect();
    Tensor::from_vec(values, mask.shape())
}

impl<T: Element> Var<T> {
    /// PyTorch's `F.embedding(ids, weight)` with `self` the weight
    /// `[vocabulary, d]`: row `ids[..]` of the table for every id, shape
    /// `ids.shape() + [d]`. A `gather` of rows, so its gradient is a
    /// `scatter_add` (rows of repeated ids add up) and its derivatives of
    /// every order are exact. Panics, naming the id, its position and the
    /// table's shape, when an id is out of the vocabulary.
    pub fn embedding(&self, ids: &Tensor<usize>) -> Var<T> {
        let shape = self.shape();
        assert!(
            shape.len() == 2,
            "embedding: the weight must be [vocabulary, d], got shape {shape:?}"
        );
        let (vocabulary, d) = (shape[0], shape[1]);
        let flat = ids.to_vec();
        if let Some(position) = flat.iter().position(|&id| id >= vocabulary) {
            let id = flat[position];
            panic!(
                "embedding: token id {id} (at flat position {position} of ids of shape {:?}) \
                 is out of range for a vocabulary of {vocabulary} (weight shape {shape:?})",
                ids.shape()
            );
        }
        let n = flat.len();
        let index: Vec<usize> = flat
            .iter()
            .flat_map(|&id| std::iter::repeat_n(id, d))
            .collect();
        let rows = self.gather(0, &Tensor::from_vec(index, &[n, d]));
        let mut out = ids.shape().to_vec();
        out.push(d);
        rows.reshape(&out)
    }

    /// PyTorch's `F.layer_norm` over the last dimension:
    /// `(x - mean) / sqrt(var + eps) * weight + bias`, with the biased
    /// variance, `weight` and `bias` of shape `[d]` (either may be absent).
    /// Composed of means, a power and products, so it is exact to every
    /// order. Panics, naming the shapes, when `weight` or `bias` is not
    /// `[d]` or the value has no dimension.
    pub fn layer_norm(&self, weight: Option<&Var<T>>, bias: Option<&Var<T>>, eps: f64) -> Var<T> {
        let shape = self.shape();
        assert!(
            !shape.is_empty() && shape[shape.len() - 1] > 0,
            "layer_norm: expects a value with a non-empty last dimension, got shape {shape:?}"
        );
        let last = shape.len() - 1;
        let d = shape[last];
        for (what, p) in [("weight", weight), ("bias", bias)] {
            if let Some(p) = p {
                assert!(
                    p.shape().as_slice() == [d],
                    "layer_norm: {what} of shape {:?} must be [{d}] for a value of shape {shape:?}",
                    p.shape()
                );
            }
        }
        let centred = self - &self.mean_dim(last, true);
        let variance = centred.square().mean_dim(last, true);
        let rstd = variance
            .add_scalar(T::from_f64(eps))
            .powf(T::from_f64(-0.5));
        let mut y = &centred * &rstd;
        if let Some(w) = weight {
            y = &y * w;
        }
        if let Some(b) = bias {
            y = &y + b;
        }
        y
    }

    /// GELU in its tanh approximation, PyTorch's `F.gelu(x,
    /// approximate="tanh")`: `x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    /// ([`Var::gelu`] is the exact, erf form, PyTorch's default.)
    pub fn gelu_tanh(&self) -> Var<T> {
        let c = T::from_f64((2.0 / std::f64::consts::PI).sqrt());
        let cube = self * &self.square();
        let inner = (self + &cube.mul_scalar(T::from_f64(0.044715))).mul_scalar(c);
        (self * &inner.tanh().add_scalar(T::one())).mul_scalar(T::from_f64(0.5))
    }

    /// PyTorch's `masked_fill`: `value` where `mask` is true, `self`
    /// elsewhere. The mask broadcasts to `self`'s shape. Computed as
    /// `self * keep + fill` with constants `keep` (0 where masked, else 1)
    /// and `fill` (`value` where masked, else 0), so the gradient is zero
    /// at the masked positions. An infinite `value` gives the right value,
    /// but anomaly mode reports it; [`Var::masked_softmax`] needs none.
    /// Panics, naming the shapes, when the mask does not broadcast.
    pub fn masked_fill(&self, mask: &Tensor<bool>, value: T) -> Var<T> {
        let shape = self.shape();
        let keep = mask_values("masked_fill", mask, &shape, T::zero(), T::one());
        let fill = mask_values("masked_fill", mask, &shape, value, T::zero());
        &(self * &keep) + &fill
    }

    /// PyTorch's `torch.where(mask, on_true, on_false)`: `on_true` where
    /// `mask` is true, else `on_false`, all three broadcasting together.
    /// Computed as `on_true * m + on_false * (1 - m)`, so the values must
    /// be finite (an infinity times 0 is NaN). Panics, naming the shapes,
    /// when they do not broadcast.
    pub fn where_(mask: &Tensor<bool>, on_true: &Var<T>, on_false: &Var<T>) -> Var<T> {
        let values = on_true.broadcast_shape(on_false).unwrap_or_else(|| {
            panic!(
                "where: values of shapes {:?} and {:?} cannot be broadcast together",
                on_true.shape(),
                on_false.shape()
            )
        });
        let shape = broadcast_shapes(mask.shape(), &values).unwrap_or_else(|| {
            panic!(
                "where: a mask of shape {:?} and values of shape {values:?} cannot be broadcast together",
                mask.shape()
            )
        });
        let mask = mask.broadcast_to(&shape);
        let on = mask_values("where", &mask, &shape, T::one(), T::zero());
        let off = mask_values("where", &mask, &shape, T::zero(), T::one());
        &(on_true * &on) + &(on_false * &off)
    }

    /// Softmax along `dim` over the positions where `mask` is true (a
    /// causal attention mask: `mask[i, j]` is whether query `i` may see key
    /// `j`, as `F.scaled_dot_product_attention`'s boolean mask); masked
    /// positions get probability 0 and gradient 0. The mask broadcasts to
    /// `self`'s shape. Equal to PyTorch's
    /// `x.masked_fill(~mask, -inf).softmax(dim)` but computed without
    /// infinities, as `e / sum(e)` with `e = exp(x - m) * mask` and `m` the
    /// (detached, so exact) largest unmasked value; a row with no unmasked
    /// position is 0/0, NaN, as in PyTorch. Panics, naming the shapes, when
    /// the mask does not broadcast.
    pub fn masked_softmax(&self, dim: usize, mask: &Tensor<bool>) -> Var<T> {
        let shape = self.shape();
        check_dim("masked_softmax", dim, &shape);
        let keep = mask_values("masked_softmax", mask, &shape, T::one(), T::zero());
        let lowest = T::from_f64(f64::NEG_INFINITY);
        let m = self
            .with_value(|x| {
                x.zip_map(&keep, "masked_softmax", |v, k| {
                    if k > T::zero() {
                        v
                    } else {
                        lowest
                    }
                })
            })
            .max_dim(dim, true)
            .map(|v| if v == lowest { T::zero() } else { v });
        // masked positions are moved onto m, so exp never overflows there
        let shifted = &(self - &m) * &keep;
        let e = &shifted.exp() * &keep;
        &e / &e.sum_dim(dim, true)
    }

    /// Splits along `dim` into pieces of `size` (the last may be shorter),
    /// as PyTorch's `split(size, dim)`: views made by [`Var::narrow`].
    /// Panics when `size` is 0 or `dim` is out of range.
    pub fn split(&self, size: usize, dim: usize) -> Vec<Var<T>> {
        let shape = self.shape();
        check_dim("split", dim, &shape);
        assert!(
            size > 0,
            "split: the size of a piece must be positive (shape {shape:?})"
        );
        let len = shape[dim];
        (0..len)
            .step_by(size)
            .map(|start| self.narrow(dim, start, size.min(len - start)))
            .collect()
    }

    /// Splits along `dim` into at most `chunks` pieces of `ceil(len /
    /// chunks)` (the last may be shorter, and there may be fewer pieces), as
    /// PyTorch's `chunk`. Panics when `chunks` is 0 or `dim` is out of range.
    pub fn chunk(&self, chunks: usize, dim: usize) -> Vec<Var<T>> {
        let shape = self.shape();
        check_dim("chunk", dim, &shape);
        assert!(
            chunks > 0,
            "chunk: the number of chunks must be positive (shape {shape:?})"
        );
        let size = shape[dim].div_ceil(chunks).max(1);
        self.split(size, dim)
    }
}
