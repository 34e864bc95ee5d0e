//! The strided walker: the one loop that visits an output shape in
//! row-major order while reading (or writing) one or more operands through
//! their own strides and offsets.
//!
//! Every kernel that meets a non-contiguous layout (materialising a view,
//! broadcast element-wise ops, `sum_to`, reductions of views) goes through
//! [`Walk`]. It hands the kernel whole inner rows, one base offset per
//! operand and a fixed inner stride per operand, so the kernel's inner loop
//! is a plain slice loop the compiler vectorises (stride 1) or a splat
//! (stride 0). Before walking, dimensions of size 1 are dropped and
//! neighbouring dimensions that are laid out back to back in *every*
//! operand are merged, so a narrowed or broadcast view of a contiguous
//! buffer is walked in as few, as long, rows as its layout allows.

use smallvec::SmallVec;

use crate::shape::numel;

/// A plan for walking `shape` with `N` operands' strides.
pub(crate) struct Walk<const N: usize> {
    /// The outer dimensions (all but the inner one), merged: size and each
    /// operand's stride.
    outer: SmallVec<[(usize, [usize; N]); 4]>,
    /// The number of rows (the product of the outer sizes; 0 when empty).
    rows: usize,
    /// The length of an inner row.
    inner: usize,
    /// Each operand's stride along the inner row.
    inner_strides: [usize; N],
}

impl<const N: usize> Walk<N> {
    /// Plans a walk over `shape`, operand `k` having `strides[k]` (each of
    /// the same rank as `shape`).
    pub(crate) fn new(shape: &[usize], strides: [&[usize]; N]) -> Self {
        debug_assert!(strides.iter().all(|s| s.len() == shape.len()));
        let mut dims: SmallVec<[(usize, [usize; N]); 4]> = SmallVec::new();
        for (d, &size) in shape.iter().enumerate() {
            if size == 1 {
                continue;
            }
            let s: [usize; N] = std::array::from_fn(|k| strides[k][d]);
            if let Some(last) = dims.last_mut() {
                // the previous dimension steps exactly over this whole one,
                // in every operand: the two are one longer dimension
                if (0..N).all(|k| last.1[k] == s[k] * size) {
                    last.0 *= size;
                    last.1 = s;
                    continue;
                }
            }
            dims.push((size, s));
        }
        let (inner, inner_strides) = dims.pop().unwrap_or((1, [0; N]));
        let rows = if numel(shape) == 0 {
            0
        } else {
            dims.iter().map(|d| d.0).product()
        };
        Self {
            outer: dims,
            rows,
            inner,
            inner_strides,
        }
    }

    /// The length of each inner row.
    #[inline(always)]
    pub(crate) fn inner(&self) -> usize {
        self.inner
    }

    /// Each operand's stride along an inner row (0 for a broadcast operand).
    #[inline(always)]
    pub(crate) fn inner_strides(&self) -> [usize; N] {
        self.inner_strides
    }

    /// Calls `row` with each operand's offset of the start of every inner
    /// row, in row-major order, starting from the operands' `start` offsets.
    #[inline(always)]
    pub(crate) fn for_each_row(&self, start: [usize; N], mut row: impl FnMut([usize; N])) {
        let mut at = start;
        let mut index: SmallVec<[usize; 4]> = SmallVec::from_elem(0, self.outer.len());
        for _ in 0..self.rows {
            row(at);
            for d in (0..self.outer.len()).rev() {
                let (size, step) = self.outer[d];
                index[d] += 1;
                for k in 0..N {
                    at[k] += step[k];
                }
                if index[d] < size {
                    break;
                }
                for k in 0..N {
                    at[k] -= step[k] * size;
                }
                index[d] = 0;
            }
        }
    }
}

/// Whether walking a view of `shape` with `strides` reads across its
/// storage's rows (a transpose, or a batch of them): its inner rows step
/// over the storage while its last outer dimension is the storage's
/// contiguous one. [`copy_strided`] copies such a view by register blocks,
/// so a kernel is better off reading that copy than walking the view.
pub(crate) fn reads_across_rows(shape: &[usize], strides: &[usize]) -> bool {
    Walk::new(shape, [strides]).across_rows()
}

impl Walk<1> {
    /// [`reads_across_rows`] of the view this walk plans.
    fn across_rows(&self) -> bool {
        let [step] = self.inner_strides;
        matches!(self.outer.last(), Some(&(rows, [1])) if step > 1 && rows > 1)
    }
}

/// The elements of the view (`src`, `offset`, `strides`) of shape `shape`,
/// copied into a fresh row-major buffer.
#[inline(always)]
pub(crate) fn copy_strided<T: Copy>(
    src: &[T],
    offset: usize,
    strides: &[usize],
    shape: &[usize],
) -> Vec<T> {
    let walk = Walk::new(shape, [strides]);
    let (inner, [step]) = (walk.inner(), walk.inner_strides());
    if walk.across_rows() {
        return copy_transposed(src, offset, &walk);
    }
    let mut out = Vec::with_capacity(numel(shape));
    walk.for_each_row(
        [offset],
        #[inline(always)]
        |[at]| match step {
            0 => out.extend(std::iter::repeat_n(src[at], inner)),
            1 => out.extend_from_slice(&src[at..at + inner]),
            _ => out.extend((0..inner).map(|j| src[at + j * step])),
        },
    );
    out
}

/// [`copy_strided`] of a view whose last outer dimension is the source's
/// contiguous one and whose inner rows step over it (a transpose, or a
/// batch of them, such as a permuted image): each `[rows, inner]` matrix
/// is transposed in register blocks (`transpose.rs`), so every cache line
/// of the source is read once per block rather than once per element.
/// Walking the inner rows instead reads one cache line per element, from
/// as many lines as a row is long.
fn copy_transposed<T: Copy>(src: &[T], offset: usize, walk: &Walk<1>) -> Vec<T> {
    let (inner, [step]) = (walk.inner(), walk.inner_strides());
    let (&(rows, _), outer) = walk.outer.split_last().expect("a last outer dimension");
    let blocks: usize = outer.iter().map(|d| d.0).product();
    let n = blocks * rows * inner;
    let mut out = Vec::with_capacity(n);
    let dst = out.spare_capacity_mut();
    let mut index: SmallVec<[usize; 4]> = SmallVec::from_elem(0, outer.len());
    let mut base = offset;
    for block in dst.chunks_exact_mut(rows * inner).take(blocks) {
        // block[r * inner + c] = src[base + r + c * step]
        super::transpose::transpose(&src[base..], step, (rows, inner), block, inner);
        for d in (0..outer.len()).rev() {
            let (size, [stride]) = outer[d];
            index[d] += 1;
            base += stride;
            if index[d] < size {
                break;
            }
            base -= stride * size;
            index[d] = 0;
        }
    }
    // SAFETY: `blocks` blocks of `rows * inner` elements cover all `n`, and
    // the tiles of each block cover its every element.
    unsafe { out.set_len(n) };
    out
}

/// `f(a[..], b[..])` for every index of `shape`, reading `a` and `b`
/// through their strides and offsets (0 strides on broadcast dimensions),
/// into a fresh row-major buffer.
#[inline(always)]
pub(crate) fn zip_strided<T: Copy, F: Fn(T, T) -> T>(
    (a, offset_a, strides_a): (&[T], usize, &[usize]),
    (b, offset_b, strides_b): (&[T], usize, &[usize]),
    shape: &[usize],
    f: F,
) -> Vec<T> {
    let n = numel(shape);
    let walk = Walk::new(shape, [strides_a, strides_b]);
    let (inner, [ia, ib]) = (walk.inner(), walk.inner_strides());
    let mut out = Vec::with_capacity(n);
    let dst = out.spare_capacity_mut();
    // A broadcast row against a dense operand (the second-order gradient of
    // a bias: a row viewed as a matrix): whole rows at a time, as the
    // contiguous fast path would, with no walking state.
    if let [(rows, [sa, sb])] = walk.outer[..] {
        let dense_rows = |s: usize, step: usize| step == 1 && s == inner;
        if ia == 1 && ib == 1 && (sa == 0 && dense_rows(sb, ib) || sb == 0 && dense_rows(sa, ia)) {
            let (a_step, b_step) = (sa, sb);
            for (r, row) in dst.chunks_exact_mut(inner).take(rows).enumerate() {
                let (oa, ob) = (offset_a + r * a_step, offset_b + r * b_step);
                for ((d, &x), &y) in row
                    .iter_mut()
                    .zip(&a[oa..oa + inner])
                    .zip(&b[ob..ob + inner])
                {
                    d.write(f(x, y));
                }
            }
            // SAFETY: `rows * inner == n` elements were written.
            unsafe { out.set_len(n) };
            return out;
        }
    }
    let mut o = 0;
    walk.for_each_row(
        [offset_a, offset_b],
        #[inline(always)]
        |[oa, ob]| {
            let row = &mut dst[o..o + inner];
            o += inner;
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
        },
    );
    assert_eq!(o, n, "zip_strided: the walk covered {o} of {n} elements");
    // SAFETY: the rows covered all `n` elements (checked above), and each
    // element of each row was written.
    unsafe { out.set_len(n) };
    out
}

/// `f` applied to every element of a view, into a fresh row-major buffer.
#[inline(always)]
pub(crate) fn map_strided<T: Copy, F: Fn(T) -> T>(
    src: &[T],
    offset: usize,
    strides: &[usize],
    shape: &[usize],
    f: F,
) -> Vec<T> {
    let walk = Walk::new(shape, [strides]);
    let (inner, [step]) = (walk.inner(), walk.inner_strides());
    let mut out = Vec::with_capacity(numel(shape));
    walk.for_each_row(
        [offset],
        #[inline(always)]
        |[at]| match step {
            1 => out.extend(src[at..at + inner].iter().map(|&x| f(x))),
            _ => out.extend((0..inner).map(|j| f(src[at + j * step]))),
        },
    );
    out
}

/// Adds the elements of the view (`src`, `offset`, `strides`) of shape
/// `shape` into `out` read through `out_strides` (0 on the dimensions being
/// summed): the loop of `sum_to`.
#[inline(always)]
pub(crate) fn accumulate_strided<T: Copy + std::ops::Add<Output = T>>(
    out: &mut [T],
    out_strides: &[usize],
    (src, offset, strides): (&[T], usize, &[usize]),
    shape: &[usize],
    zero: T,
) {
    let walk = Walk::new(shape, [strides, out_strides]);
    let (inner, [step, out_step]) = (walk.inner(), walk.inner_strides());
    walk.for_each_row(
        [offset, 0],
        #[inline(always)]
        |[at, to]| match (step, out_step) {
            (1, 0) => out[to] = out[to] + src[at..at + inner].iter().fold(zero, |acc, &x| acc + x),
            (_, 0) => out[to] = out[to] + (0..inner).fold(zero, |acc, j| acc + src[at + j * step]),
            (1, 1) => {
                for (o, &x) in out[to..to + inner].iter_mut().zip(&src[at..at + inner]) {
                    *o = *o + x;
                }
            }
            _ => {
                for j in 0..inner {
                    out[to + j * out_step] = out[to + j * out_step] + src[at + j * step];
                }
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_dims_merge_and_size_one_dims_vanish() {
        // contiguous [2, 3, 4]: one row of 24
        let w = Walk::new(&[2, 3, 4], [&[12, 4, 1]]);
        assert_eq!((w.rows, w.inner), (1, 24));
        // a narrow along the middle dimension: rows of 2 * 4 cannot merge
        let w = Walk::new(&[2, 2, 4], [&[12, 4, 1]]);
        assert_eq!((w.rows, w.inner), (2, 8));
        // broadcast column [3, 1] -> [3, 5] with a contiguous partner
        let w = Walk::new(&[3, 5], [&[1, 0], &[5, 1]]);
        assert_eq!((w.rows, w.inner, w.inner_strides()), (3, 5, [0, 1]));
        let w = Walk::new(&[1, 1], [&[7, 9]]);
        assert_eq!((w.rows, w.inner), (1, 1));
        let w = Walk::new(&[3, 0], [&[0, 1]]);
        assert_eq!(w.rows * w.inner, 0);
    }

    #[test]
    fn copy_reads_transposes_broadcasts_and_offsets() {
        let src: Vec<i32> = (0..6).collect();
        // [2, 3] transposed to [3, 2]
        assert_eq!(
            copy_strided(&src, 0, &[1, 3], &[3, 2]),
            vec![0, 3, 1, 4, 2, 5]
        );
        // the row src[3..6] broadcast to [2, 3]
        assert_eq!(
            copy_strided(&src, 3, &[0, 1], &[2, 3]),
            vec![3, 4, 5, 3, 4, 5]
        );
        // a scalar
        assert_eq!(copy_strided(&src, 4, &[], &[]), vec![4]);
    }

    /// The element of a view at each row-major index, one at a time.
    fn copy_by_index(src: &[i32], offset: usize, strides: &[usize], shape: &[usize]) -> Vec<i32> {
        (0..numel(shape))
            .map(|mut flat| {
                let mut at = offset;
                for (&size, &stride) in shape.iter().zip(strides).rev() {
                    at += flat % size * stride;
                    flat /= size;
                }
                src[at]
            })
            .collect()
    }

    #[test]
    fn transposes_and_permuted_images_are_copied_by_tiles_exactly() {
        let src: Vec<i32> = (0..40_000).collect();
        // (shape, strides, offset): transposes of sizes around the tile's,
        // a batch of them, a permuted NHWC image, a transpose with a gap
        let cases: [(&[usize], &[usize], usize); 6] = [
            (&[17, 33], &[1, 17], 0),
            (&[16, 16], &[1, 16], 5),
            (&[3, 40, 7], &[280, 1, 40], 0),
            (&[4, 5, 6, 7], &[210, 1, 35, 5], 3),
            (&[2, 31, 2], &[200, 1, 50], 1),
            (&[144, 65], &[1, 144], 0),
        ];
        for (shape, strides, offset) in cases {
            let walk = Walk::new(shape, [strides]);
            assert!(
                matches!(walk.outer.last(), Some(&(_, [1]))) && walk.inner_strides()[0] > 1,
                "{shape:?} {strides:?} should take the tiled path"
            );
            assert_eq!(
                copy_strided(&src, offset, strides, shape),
                copy_by_index(&src, offset, strides, shape),
                "{shape:?} {strides:?} + {offset}"
            );
        }
    }

    #[test]
    fn accumulate_sums_over_zero_stride_dims() {
        let src: Vec<f64> = (0..6).map(f64::from).collect();
        let mut cols = vec![0.0; 3];
        accumulate_strided(&mut cols, &[0, 1], (&src, 0, &[3, 1]), &[2, 3], 0.0);
        assert_eq!(cols, vec![3.0, 5.0, 7.0]);
        let mut rows = vec![0.0; 2];
        // summing a transposed view [3, 2] down to its columns
        accumulate_strided(&mut rows, &[0, 1], (&src, 0, &[1, 3]), &[3, 2], 0.0);
        assert_eq!(rows, vec![3.0, 12.0]);
    }
}
