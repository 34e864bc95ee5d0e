//! Ops on [`Var`](crate::Var)s, one file per family. Each family file holds
//! the table that declares its ops (name, formula, derivative rule in
//! recorded `Var` ops) and their methods; see `op.rs` for how a table
//! becomes the closed set of ops a tape records.

mod arith;
mod binary;
mod conv;
mod index;
mod matmul;
mod norm;
mod reduce;
mod sequence;
mod shape;
mod softmax;
mod unary;

pub(crate) use binary::Binary;
pub(crate) use conv::Conv;
pub use conv::ConvOptions;
pub(crate) use index::Index;
pub(crate) use matmul::Product;
pub use norm::BatchStats;
pub(crate) use shape::Layout;
pub(crate) use unary::Unary;
