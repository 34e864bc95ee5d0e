//! Element-wise loops compiled twice: for the baseline target (SSE2 on
//! x86-64) and with AVX2 + FMA, chosen at run time. The loops are plain
//! Rust that the compiler vectorises; the AVX2 copy processes 8 `f32` per
//! instruction instead of 4, which is what makes the rational `tanh` and
//! the fused backward ops cheap. Results are identical in both (no fused
//! multiply-adds are formed: Rust does not contract `a * b + c`).
//!
//! Kernels write into spare capacity rather than `collect()`: `collect` is
//! a separate function that would not inherit the AVX2 target feature.
//! Large kernels are split among the crate's threads (see `threads`).

use crate::threads;

/// Runs `kernel`, compiled with AVX2 and FMA enabled when the CPU has them.
/// `kernel` must be `#[inline(always)]` code for the feature to reach it.
#[inline(always)]
pub(crate) fn dispatch<R>(kernel: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above; the
        // standard library caches the answer).
        return unsafe { with_avx2(kernel) };
    }
    kernel()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn with_avx2<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

/// Whole cache lines (16 `f32`): no two threads write one.
const LINE: usize = 16;

/// `f` applied to every element; large slices are shared among the threads.
#[inline(always)]
pub(crate) fn map<T: Copy + Send + Sync, F: Fn(T) -> T + Sync>(src: &[T], f: F) -> Vec<T> {
    let mut out = Vec::with_capacity(src.len());
    threads::for_chunks(
        &mut out.spare_capacity_mut()[..src.len()],
        LINE,
        |start, dst| {
            dispatch(
                #[inline(always)]
                || {
                    for (d, &x) in dst.iter_mut().zip(&src[start..]) {
                        d.write(f(x));
                    }
                },
            )
        },
    );
    // SAFETY: the chunks cover all `src.len()` elements, and each wrote its own.
    unsafe { out.set_len(src.len()) };
    out
}

/// `f` applied to pairs of elements of two slices of the same length.
#[inline(always)]
pub(crate) fn zip<T: Copy + Send + Sync, F: Fn(T, T) -> T + Sync>(
    a: &[T],
    b: &[T],
    f: F,
) -> Vec<T> {
    let n = a.len().min(b.len());
    let mut out = Vec::with_capacity(n);
    threads::for_chunks(&mut out.spare_capacity_mut()[..n], LINE, |start, dst| {
        dispatch(
            #[inline(always)]
            || {
                for ((d, &x), &y) in dst.iter_mut().zip(&a[start..]).zip(&b[start..]) {
                    d.write(f(x, y));
                }
            },
        )
    });
    // SAFETY: the chunks cover all `n` elements, and each wrote its own.
    unsafe { out.set_len(n) };
    out
}

/// `f(a[i, j], row[j])` for `a` seen as rows of `row.len()` elements.
/// Panics unless `row` is non-empty and `a.len()` a multiple of its length:
/// the unsafe `set_len` below relies on the rows covering all of `a`.
#[inline(always)]
pub(crate) fn rows<T: Copy + Send + Sync, F: Fn(T, T) -> T + Sync>(
    a: &[T],
    row: &[T],
    f: F,
) -> Vec<T> {
    assert!(
        !row.is_empty() && a.len() % row.len() == 0,
        "simd::rows: {} elements are not whole rows of {}",
        a.len(),
        row.len()
    );
    let mut out = Vec::with_capacity(a.len());
    // chunks of whole rows
    threads::for_chunks(
        &mut out.spare_capacity_mut()[..a.len()],
        row.len(),
        |start, dst| {
            dispatch(
                #[inline(always)]
                || {
                    let src = a[start..].chunks_exact(row.len());
                    for (d_row, a_row) in dst.chunks_exact_mut(row.len()).zip(src) {
                        for ((d, &x), &y) in d_row.iter_mut().zip(a_row).zip(row) {
                            d.write(f(x, y));
                        }
                    }
                },
            )
        },
    );
    // SAFETY: `a.len()` is a multiple of `row.len()` (asserted above) and
    // every chunk is whole rows, so the rows cover, and wrote, every element.
    unsafe { out.set_len(a.len()) };
    out
}

#[cfg(test)]
mod rows_tests {
    #[test]
    #[should_panic(expected = "simd::rows: 5 elements are not whole rows of 2")]
    fn rows_refuses_a_partial_row() {
        let _ = super::rows(&[1.0_f32; 5], &[1.0, 2.0], |a, b| a + b);
    }

    #[test]
    fn rows_combines_each_row_with_the_row() {
        let out = super::rows(&[1.0_f64, 2.0, 3.0, 4.0], &[10.0, 20.0], |a, b| a + b);
        assert_eq!(out, vec![11.0, 22.0, 13.0, 24.0]);
    }
}
