//! Matrix products (2-D and batched 3-D), transposes as strides.

use crate::op::Op;
use crate::{Element, Var};

impl<T: Element> Var<T> {
    /// `self @ other`: `[m, k] @ [k, n]`, or batched `[b, m, k] @ [b, k, n]`.
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
    pub fn matmul_transposed(&self, other: &Var<T>, trans_a: bool, trans_b: bool) -> Var<T> {
        self.check_same_tape(other, "matmul");
        let value = self
            .value()
            .matmul_transposed(&other.value(), trans_a, trans_b);
        let op = Op::MatMul {
            a: self.id,
            b: other.id,
            trans_a,
            trans_b,
        };
        self.record(op, value)
    }
}
