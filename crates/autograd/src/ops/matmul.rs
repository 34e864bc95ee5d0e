//! Matrix products (2-D, batched 3-D, and batched over any leading
//! dimensions through a reshape to 3-D), transposes as strides.

use crate::op::{op_family, Op};
use crate::{Element, Tensor, Var};

op_family! {
    /// Matrix products.
    "product" enum Product {
        /// `op(A) @ op(B)`, `op` a transpose of the last two dimensions when flagged.
        MatMul { trans_a: bool, trans_b: bool } "matmul",
            "C = op(A) op(B): d op(A) = G op(B)^T, d op(B) = op(A)^T G, transposed back where flagged",
            |c| {
                let (a, b, g) = (&c.x[0], &c.x[1], c.g);
                [
                    c.when(0, || {
                        if trans_a {
                            b.matmul_transposed(g, trans_b, true)
                        } else {
                            g.matmul_transposed(b, false, !trans_b)
                        }
                    }),
                    c.when(1, || {
                        if trans_b {
                            g.matmul_transposed(a, true, trans_a)
                        } else {
                            a.matmul_transposed(g, !trans_a, false)
                        }
                    }),
                ]
            };
    }
}

impl<T: Element> Var<T> {
    /// `self @ other`: `[m, k] @ [k, n]`, or batched `[b, m, k] @ [b, k, n]`,
    /// or batched over several leading dimensions, which must be equal
    /// (`[B, H, T, d] @ [B, H, d, T]`, attention's scores).
    ///
    /// ```
    /// use curvature_autograd::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let q = tape.var(Tensor::<f64>::ones(&[2, 3, 4, 5]));
    /// let k = tape.var(Tensor::<f64>::ones(&[2, 3, 4, 5]));
    /// let scores = q.matmul_nt(&k); // q @ k^T
    /// assert_eq!(scores.shape().as_slice(), &[2, 3, 4, 4]);
    /// assert_eq!(scores.value().get(&[1, 2, 3, 0]), 5.0);
    /// ```
    pub fn matmul(&self, other: &Var<T>) -> Var<T> {
        self.matmul_transposed(other, false, false)
    }

    /// `self @ other^T` without materialising the transpose (a linear
    /// layer's `x W^T`).
    pub fn matmul_nt(&self, other: &Var<T>) -> Var<T> {
        self.matmul_transposed(other, false, true)
    }

    /// `self^T @ other` without materialising the transpose.
    pub fn matmul_tn(&self, other: &Var<T>) -> Var<T> {
        self.matmul_transposed(other, true, false)
    }

    /// `op(self) @ op(other)`, where `op` transposes the last two dimensions
    /// when its flag is set (by strides, never by a copy).
    ///
    /// Inside a derivative rule recorded with `create_graph`, the product
    /// is computed when its value is first read: a Hessian-vector product
    /// never reads a weight's gradient `G^T X`, only differentiates it.
    pub fn matmul_transposed(&self, other: &Var<T>, trans_a: bool, trans_b: bool) -> Var<T> {
        self.check_same_tape(other, "matmul");
        let (sa, sb) = (self.shape(), other.shape());
        if sa.len() > 3 || sb.len() > 3 {
            // equal leading dimensions, merged into one batch dimension
            let leading = &sa[..sa.len().saturating_sub(2)];
            assert!(
                sa.len() == sb.len() && *leading == sb[..sb.len() - 2],
                "matmul: shapes {sa:?} and {sb:?} must have the same leading (batch) dimensions"
            );
            let batch: usize = leading.iter().product();
            let n = sa.len();
            let a = self.reshape(&[batch, sa[n - 2], sa[n - 1]]);
            let b = other.reshape(&[batch, sb[n - 2], sb[n - 1]]);
            let c = a.matmul_transposed(&b, trans_a, trans_b);
            let mut out = leading.to_vec();
            out.extend_from_slice(&c.shape()[1..]);
            return c.reshape(&out);
        }
        let shape = Tensor::<T>::matmul_shape(&self.shape(), &other.shape(), trans_a, trans_b);
        let (a, b) = (self.value(), other.value());
        let op = Op::Product(Product::MatMul { trans_a, trans_b });
        self.record_deferred(op, &[self, other], shape, move || {
            a.matmul_transposed(&b, trans_a, trans_b)
        })
    }
}
