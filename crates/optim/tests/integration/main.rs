//! The integration tests of curvature-optim in one binary (one link
//! instead of one per file); each file is a module. Tests that install a
//! counting global allocator stay binaries of their own.

#[path = "../common/mod.rs"]
mod common;

mod adahessian;
mod boxed;
mod convergence;
mod driver;
mod first_order;
mod lbfgs;
mod newton_cg;
mod sophia;
