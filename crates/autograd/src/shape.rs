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

/// `shape` without dimension `dim`.
pub(crate) fn without_dim(shape: &[usize], dim: usize) -> Shape {
    shape
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != dim)
        .map(|(_, &d)| d)
        .collect()
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
    }
}
