//! The integration tests of curvature-autograd in one binary (one link
//! instead of one per file); each file is a module. Tests that install a
//! counting global allocator stay binaries of their own.

#[path = "../common/mod.rs"]
mod common;

mod anomaly;
mod broadcasting_proptest;
mod errors;
mod functional;
mod gauss_newton;
mod hessian;
mod hutchinson;
mod hvp;
mod op_coverage;
mod ops_gradcheck;
mod oracle;
mod sequence_ops;
mod tape;
mod views;
