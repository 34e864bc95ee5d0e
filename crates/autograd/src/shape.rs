//! Shapes, strides and PyTorch's broadcasting rule.

use smallvec::SmallVec;

/// A tensor shape: the size of each dimension, outermost first.
pub type Shape = SmallVec<[usize; 4]>;

/// Builds a [`Shape`] from a slice.
pub fn shape_of(dims: &[usize]) -> Shape {
    Shape::from_slice(dims)
}

/// The number of elements of a tensor of this shape (1 for a scalar `[]`).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major (C order) strides of a contiguous tensor.
pub fn contiguous_strides(shape: &[usize]) -> Shape {
    let mut strides = Shape::from_elem(0, shape.len());
    let mut acc = 1;
    for (i, &d) in shape.iter().enumerate().rev() {
        strides[i] = acc;
        acc *= d;
    }
    strides
}

/// The shape two shapes broadcast to, as PyTorch and NumPy define it:
/// align trailing dimensions; each pair must be equal or contain a 1.
/// Returns `None` when they do not broadcast.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Shape> {
    let rank = a.len().max(b.len());
    let mut out = Shape::from_elem(0, rank);
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Whether `from` broadcasts to exactly `to` (only `from` is expanded).
pub fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    broadcast_shapes(from, to).is_some_and(|s| s.as_slice() == to)
}

/// Strides that read a contiguous tensor of shape `from` as if it had the
/// (broadcast) shape `to`: stride 0 along every expanded dimension.
pub fn broadcast_strides(from: &[usize], to: &[usize]) -> Shape {
    let own = contiguous_strides(from);
    let offset = to.len() - from.len();
    let mut strides = Shape::from_elem(0, to.len());
    for i in 0..from.len() {
        if from[i] != 1 || to[i + offset] == 1 {
            strides[i + offset] = own[i];
        }
    }
    strides
}

/// The strides that read a view of shape `from` with `strides` as if it
/// had the (broadcast) shape `to`: its own strides, and 0 along every
/// expanded or new leading dimension. `from` must broadcast to `to`.
pub(crate) fn expand_strides(from: &[usize], strides: &[usize], to: &[usize]) -> Shape {
    let lead = to.len() - from.len();
    let mut out = Shape::from_elem(0, to.len());
    for i in 0..from.len() {
        if from[i] == to[i + lead] {
            out[i + lead] = strides[i];
        }
    }
    out
}

/// The strides that view the elements of a (possibly strided) layout
/// `shape`/`strides` with another shape of the same element count, in the
/// same row-major order, without moving them; `None` when no strides can
/// (the elements of a group of dimensions being merged are not evenly
/// spaced), and a copy is needed. PyTorch's rule (`computeStride`): split
/// the old dimensions into chunks that are contiguous among themselves,
/// and let every new dimension fall inside one chunk.
pub(crate) fn reshape_strides(shape: &[usize], strides: &[usize], to: &[usize]) -> Option<Shape> {
    debug_assert_eq!(numel(shape), numel(to));
    if numel(shape) == 0 || shape.is_empty() {
        return Some(contiguous_strides(to));
    }
    let mut out = Shape::from_elem(0, to.len());
    // the new dimensions still to place, counted from the right
    let mut remaining = to.len();
    let mut chunk_stride = strides[shape.len() - 1];
    let (mut chunk_numel, mut view_numel) = (1, 1);
    for d in (0..shape.len()).rev() {
        chunk_numel *= shape[d];
        let chunk_ends =
            d == 0 || (shape[d - 1] != 1 && strides[d - 1] != chunk_numel * chunk_stride);
        if chunk_ends {
            while remaining > 0 && (view_numel < chunk_numel || to[remaining - 1] == 1) {
                out[remaining - 1] = view_numel * chunk_stride;
                view_numel *= to[remaining - 1];
                remaining -= 1;
            }
            if view_numel != chunk_numel {
                return None;
            }
            if d > 0 {
                chunk_stride = strides[d - 1];
                chunk_numel = 1;
                view_numel = 1;
            }
        }
    }
    (remaining == 0).then_some(out)
}

/// `shape` without dimension `dim`.
pub(crate) fn without_dim(shape: &[usize], dim: usize) -> Shape {
    shape
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != dim)
        .map(|(_, &d)| d)
        .collect()
}

/// Panics, naming both shapes, unless `to` has as many elements as `from`.
pub(crate) fn check_reshape(from: &[usize], to: &[usize]) {
    let n = numel(from);
    assert_eq!(
        numel(to),
        n,
        "reshape: cannot reshape a tensor of shape {from:?} ({n} elements) to {to:?}"
    );
}

/// `shape` permuted: dimension `i` of the result is `shape[dims[i]]`.
/// Panics when `dims` is not a permutation of `0..shape.len()`.
pub(crate) fn permuted(shape: &[usize], dims: &[usize]) -> Shape {
    let mut seen = vec![false; shape.len()];
    let ok = dims.len() == shape.len()
        && dims
            .iter()
            .all(|&d| d < seen.len() && !std::mem::replace(&mut seen[d], true));
    assert!(
        ok,
        "permute: {dims:?} is not a permutation of the dimensions of shape {shape:?}"
    );
    dims.iter().map(|&d| shape[d]).collect()
}

/// Checks a dimension index against a rank, naming the op when it is out of range.
pub(crate) fn check_dim(op: &str, dim: usize, shape: &[usize]) {
    assert!(
        dim < shape.len(),
        "{op}: dimension {dim} is out of range for a tensor of shape {shape:?} (rank {})",
        shape.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_pytorch() {
        assert_eq!(broadcast_shapes(&[3], &[2, 3]).unwrap().as_slice(), &[2, 3]);
        assert_eq!(
            broadcast_shapes(&[2, 1], &[1, 4]).unwrap().as_slice(),
            &[2, 4]
        );
        assert_eq!(broadcast_shapes(&[], &[5]).unwrap().as_slice(), &[5]);
        assert!(broadcast_shapes(&[3], &[4]).is_none());
        assert!(broadcasts_to(&[1, 3], &[4, 3]));
        assert!(!broadcasts_to(&[4, 3], &[1, 3]));
    }

    #[test]
    fn strides_are_zero_on_expanded_dims() {
        assert_eq!(broadcast_strides(&[3], &[2, 3]).as_slice(), &[0, 1]);
        assert_eq!(broadcast_strides(&[2, 1], &[2, 4]).as_slice(), &[1, 0]);
        assert_eq!(contiguous_strides(&[2, 3, 4]).as_slice(), &[12, 4, 1]);
        assert_eq!(
            expand_strides(&[3, 1], &[5, 7], &[2, 3, 4]).as_slice(),
            &[0, 5, 0]
        );
    }

    #[test]
    fn reshape_views_where_the_layout_allows_as_pytorch() {
        let view = |shape: &[usize], strides: &[usize], to: &[usize]| {
            reshape_strides(shape, strides, to).map(|s| s.to_vec())
        };
        // contiguous: always a view
        assert_eq!(view(&[2, 3, 4], &[12, 4, 1], &[6, 4]), Some(vec![4, 1]));
        assert_eq!(view(&[2, 3, 4], &[12, 4, 1], &[24]), Some(vec![1]));
        // a transpose [3, 2] of a [2, 3]: splitting or adding 1s is fine
        assert_eq!(view(&[3, 2], &[1, 3], &[3, 1, 2]), Some(vec![1, 6, 3]));
        assert_eq!(view(&[3, 2], &[1, 3], &[6]), None);
        // a narrow along the last dim: the rows cannot merge
        assert_eq!(view(&[2, 2], &[3, 1], &[4]), None);
        assert_eq!(view(&[2, 2], &[3, 1], &[2, 2, 1]), Some(vec![3, 1, 1]));
        // a broadcast row keeps its zero stride when split
        assert_eq!(view(&[3, 4], &[0, 1], &[3, 2, 2]), Some(vec![0, 2, 1]));
        assert_eq!(view(&[3, 4], &[0, 1], &[12]), None);
        // narrowed along the first dim: still contiguous
        assert_eq!(view(&[1, 4], &[4, 1], &[2, 2]), Some(vec![2, 1]));
    }
}
