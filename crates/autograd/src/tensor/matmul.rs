//! Matrix products through `gemm`, with transposes as strides; large
//! products are shared among the crate's threads.

use super::Tensor;
use crate::{threads, Element, Shape};

/// The `(rows, cols)` of `op(X)` and its row and column strides, for a
/// matrix `X` of `(r, c)` with strides `(sr, sc)`, transposed or not.
fn operand(
    (r, c): (usize, usize),
    (sr, sc): (usize, usize),
    transposed: bool,
) -> (usize, usize, isize, isize) {
    if transposed {
        (c, r, sc as isize, sr as isize)
    } else {
        (r, c, sr as isize, sc as isize)
    }
}

/// Products with fewer multiply-adds than this stay on the calling thread:
/// gemm's own threading threshold. Handing a product to the pool wakes its
/// threads, tens of microseconds on a virtual machine, which a lower
/// threshold paid on products gemm then ran on one thread anyway (a tiny
/// HVP took 4x as long on two threads as on one).
const PARALLEL_MULTIPLY_ADDS: usize = 48 * 48 * 256;

/// The output pointer, handed to the pool's threads; gemm splits the
/// output among them, each writing its own elements.
#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);

impl<T> SendPtr<T> {
    fn get(self) -> *mut T {
        self.0
    }
}

// SAFETY: the pointer is only written through by gemm, which gives each
// thread disjoint elements, while the `Vec` it points into outlives the call.
unsafe impl<T: Send> Send for SendPtr<T> {}
unsafe impl<T: Send> Sync for SendPtr<T> {}

impl<T: Element> Tensor<T> {
    /// The matrix product: `[m, k] @ [k, n] -> [m, n]`, or batched
    /// `[b, m, k] @ [b, k, n] -> [b, m, n]`.
    pub fn matmul(&self, other: &Self) -> Self {
        self.matmul_transposed(other, false, false)
    }

    /// `op(self) @ op(other)` where `op` transposes the last two dimensions
    /// when its flag is set. The transpose is a change of strides, never a
    /// copy, and so is any strided view given as an operand (a transpose,
    /// a narrow, a broadcast, a batch of strided matrices): its strides go
    /// to the GEMM as they are. Panics, naming both shapes, when the inner
    /// dimensions differ.
    pub fn matmul_transposed(&self, other: &Self, trans_a: bool, trans_b: bool) -> Self {
        let (sa, sb) = (self.shape(), other.shape());
        let shape = Self::matmul_shape(sa, sb, trans_a, trans_b);
        let batched = sa.len() == 3;
        let off = usize::from(batched);
        let (ta, tb) = (self.strides(), other.strides());
        let (m, k, rsa, csa) = operand((sa[off], sa[off + 1]), (ta[off], ta[off + 1]), trans_a);
        let (_, n, rsb, csb) = operand((sb[off], sb[off + 1]), (tb[off], tb[off + 1]), trans_b);
        let batch = if batched { sa[0] } else { 1 };
        let len = batch * m * n;
        if len == 0 || k == 0 {
            return Self::zeros(&shape);
        }
        // the step between the matrices of a batch (0 for a broadcast batch)
        let (step_a, step_b) = if batched { (ta[0], tb[0]) } else { (0, 0) };
        let mut out: Vec<T> = Vec::with_capacity(len);
        let c = SendPtr(out.as_mut_ptr());
        // the i-th product of the batch, on gemm's threads or on this one
        let one = |i: usize, parallelism: gemm::Parallelism| {
            let a = &self.data[self.offset() + i * step_a..];
            let b = &other.data[other.offset() + i * step_b..];
            // SAFETY: every operand's shape, strides and offset describe
            // elements inside its storage (views are checked when made), so
            // the [m, k] and [k, n] matrices lie in `a` and `b`; `c` is
            // fresh, with room for `batch` [m, n] matrices, of which this
            // call writes the i-th alone, and with `read_dst` false gemm
            // writes every element of it without reading it. gemm's kernels
            // are for f32 and f64, the only `Element`s.
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    c.get().add(i * m * n),
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    csa,
                    rsa,
                    b.as_ptr(),
                    csb,
                    rsb,
                    T::zero(),
                    T::one(),
                    false,
                    false,
                    false,
                    parallelism,
                );
            }
        };
        // Hand work to the pool only when it is large enough to split: a
        // product gemm splits itself, or a batch of smaller products (the
        // images of a convolution) shared out whole among the threads.
        let each = m * n * k;
        let pool = (batch * each >= PARALLEL_MULTIPLY_ADDS)
            .then(threads::pool)
            .filter(|pool| pool.threads() > 1);
        match pool {
            Some(pool) if each >= PARALLEL_MULTIPLY_ADDS => {
                let parallelism = gemm::Parallelism::Rayon(pool.threads());
                pool.run(|| (0..batch).for_each(|i| one(i, parallelism)));
            }
            Some(pool) if batch > 1 => pool.run(|| {
                use rayon::prelude::*;
                (0..batch)
                    .into_par_iter()
                    .for_each(|i| one(i, gemm::Parallelism::None));
            }),
            _ => (0..batch).for_each(|i| one(i, gemm::Parallelism::None)),
        }
        // SAFETY: every one of the `len` elements was written above.
        unsafe { out.set_len(len) };
        Self::from_parts(out, shape)
    }

    /// The shape of `op(a) @ op(b)` for operands of shapes `a` and `b`
    /// (see [`Tensor::matmul_transposed`]). Panics, naming both shapes, when
    /// they are not both 2-D or 3-D with one batch size, or when the inner
    /// dimensions differ.
    pub fn matmul_shape(a: &[usize], b: &[usize], trans_a: bool, trans_b: bool) -> Shape {
        let batched = match (a.len(), b.len()) {
            (2, 2) => false,
            (3, 3) if a[0] == b[0] => true,
            _ => panic!(
                "matmul: shapes {a:?} and {b:?} must both be 2-D, or 3-D with the same batch size"
            ),
        };
        let off = usize::from(batched);
        let dims = |s: &[usize], t: bool| {
            let (r, c) = (s[off], s[off + 1]);
            if t {
                (c, r)
            } else {
                (r, c)
            }
        };
        let ((m, k), (k2, n)) = (dims(a, trans_a), dims(b, trans_b));
        assert_eq!(
            k,
            k2,
            "matmul: shapes {a:?}{} and {b:?}{} have inner dimensions {k} and {k2}",
            if trans_a { " (transposed)" } else { "" },
            if trans_b { " (transposed)" } else { "" },
        );
        if batched {
            Shape::from_slice(&[a[0], m, n])
        } else {
            Shape::from_slice(&[m, n])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposed_operands_match_explicit_transposes() {
        let a = Tensor::from_vec((0..6).map(f64::from).collect(), &[2, 3]);
        let b = Tensor::from_vec((0..12).map(f64::from).collect(), &[4, 3]);
        let nt = a.matmul_transposed(&b, false, true);
        assert_eq!(nt, a.matmul(&b.t()));
        let tn = a.matmul_transposed(&a, true, false);
        assert_eq!(tn, a.t().matmul(&a));
        let d = Tensor::from_vec((0..8).map(f64::from).collect(), &[4, 2]);
        let tt = a.matmul_transposed(&d, true, true);
        assert_eq!(tt, a.t().matmul(&d.t()));
    }

    #[test]
    fn batched_products_are_per_batch() {
        let a = Tensor::from_vec((0..12).map(|i| i as f32).collect(), &[2, 2, 3]);
        let b = Tensor::from_vec((0..12).map(|i| i as f32).collect(), &[2, 3, 2]);
        let c = a.matmul(&b);
        assert_eq!(c.shape(), &[2, 2, 2]);
        let a1 = a.narrow(0, 1, 1).reshape(&[2, 3]);
        let b1 = b.narrow(0, 1, 1).reshape(&[3, 2]);
        assert_eq!(c.narrow(0, 1, 1).reshape(&[2, 2]), a1.matmul(&b1));
    }

    #[test]
    fn strided_views_go_to_gemm_as_they_are() {
        // integer values: the products are exact, whatever the order
        let int = |n: usize, shape: &[usize]| {
            Tensor::from_vec((0..n).map(|i| ((i * 5) % 7) as f64 - 3.0).collect(), shape)
        };
        let wide = int(18, &[3, 6]);
        let a = wide.narrow(1, 1, 4); // [3, 4], row stride 6, offset 1
        let b = int(20, &[5, 4]).t(); // [4, 5], column-major
        let rows = int(4, &[1, 4]).broadcast_to(&[3, 4]); // row stride 0
        let dense = |t: &Tensor<f64>| t.contiguous();
        for x in [&a, &rows] {
            assert_eq!(x.matmul(&b), dense(x).matmul(&dense(&b)));
            assert_eq!(
                x.matmul_transposed(&b.t(), false, true),
                dense(x).matmul(&dense(&b))
            );
            assert_eq!(
                b.matmul_transposed(x, true, true),
                dense(&b).t().contiguous().matmul(&dense(&x.t()))
            );
        }
        // batched: matrices that are strided inside a permuted batch
        let x = int(24, &[3, 2, 4]).transpose(0, 1); // [2, 3, 4], batch stride 4
        let y = int(40, &[2, 5, 4]).transpose(1, 2); // [2, 4, 5], transposed matrices
        let shared = int(20, &[1, 4, 5]).broadcast_to(&[2, 4, 5]); // batch stride 0
        assert_eq!(x.matmul(&y), dense(&x).matmul(&dense(&y)));
        assert_eq!(x.matmul(&shared), dense(&x).matmul(&dense(&shared)));
        assert_eq!(
            x.matmul_transposed(&y, false, false),
            x.matmul_transposed(&dense(&y.transpose(1, 2)), false, true)
        );
    }

    #[test]
    #[should_panic(expected = "matmul: shapes [2, 3] and [2, 3] have inner dimensions 3 and 2")]
    fn inner_dimension_mismatch_names_shapes() {
        let a = Tensor::<f32>::zeros(&[2, 3]);
        let _ = a.matmul(&a);
    }
}
