//! The analysis crate's integration tests, one binary: each module checks
//! one analysis against an exact symmetric eigendecomposition (nalgebra's)
//! of a known matrix or of a small model's full Hessian.

mod common;
mod eigen;
mod errors;
mod landscape;
mod model;
mod slq;
mod trace;
