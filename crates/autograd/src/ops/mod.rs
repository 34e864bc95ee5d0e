//! Ops on [`Var`](crate::Var)s, one file per family. Each computes its value
//! with the tensor kernels and records itself; its derivative rule is in
//! `backward.rs`.

mod arith;
mod index;
mod matmul;
mod reduce;
mod shape;
mod softmax;
mod unary;
