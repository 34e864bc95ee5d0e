//! Matrix transposes in registers: 8 x 8 blocks of 4-byte elements and
//! 4 x 4 blocks of 8-byte ones, each loaded as rows of one AVX register,
//! transposed by shuffles and stored as rows. A transposing copy done
//! element by element costs about two cycles an element (a load and a
//! store each); in registers it is a few shuffles per row. Used where a
//! layout copy is a transpose (`copy_transposed`): a permuted image, the
//! channels-last output of a convolution seen as NCHW.

use std::any::type_name;
use std::mem::{size_of, MaybeUninit};

/// `dst[r * dst_stride + c] = src[r + c * src_stride]` for `r < rows`,
/// `c < cols`: `src` holds `cols` rows of `rows` elements, `src_stride`
/// apart, and `dst` receives their transpose. Panics when either slice is
/// too short.
pub(crate) fn transpose<T: Copy>(
    src: &[T],
    src_stride: usize,
    (rows, cols): (usize, usize),
    dst: &mut [MaybeUninit<T>],
    dst_stride: usize,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    // the last element each side touches, checked once for the unchecked blocks
    let last = |stride: usize, inner: usize, outer: usize| {
        (outer - 1)
            .checked_mul(stride)
            .and_then(|at| at.checked_add(inner - 1))
    };
    assert!(
        last(src_stride, rows, cols).is_some_and(|at| at < src.len())
            && last(dst_stride, cols, rows).is_some_and(|at| at < dst.len()),
        "transpose: {rows}x{cols} with strides {src_stride} and {dst_stride} does not fit \
         slices of {} and {}",
        src.len(),
        dst.len()
    );
    let block = blocks::<T>();
    let (full_rows, full_cols) = match block {
        Some(b) => (rows / b * b, cols / b * b),
        None => (0, 0),
    };
    if let Some(b) = block {
        for c0 in (0..full_cols).step_by(b) {
            for r0 in (0..full_rows).step_by(b) {
                let s = src[r0 + c0 * src_stride..].as_ptr();
                let d = dst[r0 * dst_stride + c0..].as_mut_ptr().cast::<T>();
                // SAFETY: `blocks` found the CPU feature and the element
                // size; the b x b block lies inside both slices (the asserts
                // above bound the last element of every full block).
                unsafe { transpose_block(s, src_stride, d, dst_stride) };
            }
        }
    }
    // the edges the blocks leave, element by element
    for r in 0..rows {
        let from = if r < full_rows { full_cols } else { 0 };
        for c in from..cols {
            dst[r * dst_stride + c].write(src[r + c * src_stride]);
        }
    }
}

/// The block side for `T` when the CPU can transpose it in registers:
/// `f32` and `f64` only, as their loads are of initialised floats (a
/// padded type of the same size would load uninitialised bytes). The
/// primitive types' names are `f32` and `f64` (any other type's name has
/// its path); were that to change, every type takes the element path.
fn blocks<T>() -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx") {
        return match (type_name::<T>(), size_of::<T>()) {
            ("f32", 4) => Some(8),
            ("f64", 8) => Some(4),
            _ => None,
        };
    }
    None
}

/// One block, `T` `f32` (8 x 8) or `f64` (4 x 4); strides in elements.
///
/// # Safety
/// The CPU has AVX, `T` is `f32` or `f64`, and the block's rows are inside
/// the allocations behind `src` and `dst`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn transpose_block<T>(src: *const T, ss: usize, dst: *mut T, ds: usize) {
    use std::arch::x86_64::*;
    if size_of::<T>() == 4 {
        let (s, d) = (src.cast::<f32>(), dst.cast::<f32>());
        let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(s.add(i * ss)));
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let out = [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ];
        for (i, row) in out.into_iter().enumerate() {
            _mm256_storeu_ps(d.add(i * ds), row);
        }
    } else {
        let (s, d) = (src.cast::<f64>(), dst.cast::<f64>());
        let r: [__m256d; 4] = std::array::from_fn(|i| _mm256_loadu_pd(s.add(i * ss)));
        let t0 = _mm256_unpacklo_pd(r[0], r[1]);
        let t1 = _mm256_unpackhi_pd(r[0], r[1]);
        let t2 = _mm256_unpacklo_pd(r[2], r[3]);
        let t3 = _mm256_unpackhi_pd(r[2], r[3]);
        let out = [
            _mm256_permute2f128_pd::<0x20>(t0, t2),
            _mm256_permute2f128_pd::<0x20>(t1, t3),
            _mm256_permute2f128_pd::<0x31>(t0, t2),
            _mm256_permute2f128_pd::<0x31>(t1, t3),
        ];
        for (i, row) in out.into_iter().enumerate() {
            _mm256_storeu_pd(d.add(i * ds), row);
        }
    }
}

/// Never called: `blocks` finds no block off x86-64.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn transpose_block<T>(_: *const T, _: usize, _: *mut T, _: usize) {
    unreachable!("no register transpose on this target")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: Copy + PartialEq + std::fmt::Debug>(make: impl Fn(usize) -> T) {
        for (rows, cols) in [
            (1, 1),
            (3, 5),
            (8, 8),
            (4, 4),
            (17, 9),
            (64, 32),
            (9, 40),
            (33, 1),
        ] {
            for pad in [0, 3] {
                let (ss, ds) = (rows + pad, cols + pad);
                let src: Vec<T> = (0..cols * ss).map(&make).collect();
                let mut dst = vec![MaybeUninit::new(make(usize::MAX)); rows * ds];
                transpose(&src, ss, (rows, cols), &mut dst, ds);
                for r in 0..rows {
                    for c in 0..cols {
                        // SAFETY: initialised above
                        let got = unsafe { dst[r * ds + c].assume_init() };
                        assert_eq!(
                            got,
                            src[r + c * ss],
                            "{rows}x{cols} pad {pad} at ({r}, {c})"
                        );
                    }
                    for c in cols..ds {
                        let untouched = unsafe { dst[r * ds + c].assume_init() };
                        assert_eq!(untouched, make(usize::MAX), "wrote past a row");
                    }
                }
            }
        }
    }

    #[test]
    fn transposes_every_shape_and_stride_in_both_widths() {
        check(|i| i as f32 * 0.5);
        check(|i| i as f64 * 0.25);
        // bits move unchanged, NaN payloads included
        let nan = |i: usize| f32::from_bits(0x7fc0_0000 | (i as u32 & 0xffff));
        let src: Vec<f32> = (0..64).map(nan).collect();
        let mut dst = vec![MaybeUninit::new(0.0_f32); 64];
        transpose(&src, 8, (8, 8), &mut dst, 8);
        for r in 0..8 {
            for c in 0..8 {
                // SAFETY: every element was written
                let got = unsafe { dst[r * 8 + c].assume_init() };
                assert_eq!(got.to_bits(), src[r + c * 8].to_bits());
            }
        }
        assert_eq!(blocks::<f32>().is_some(), blocks::<f64>().is_some());
        assert_eq!(blocks::<u32>(), None, "only floats take the register path");
        // other types take the element-by-element path
        check(|i| i as u16);
        check(|i| (i as u8, i as u16));
    }
}
