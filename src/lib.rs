//! Curvature: differentiable programming with exact second-order derivatives.
//!
//! This crate re-exports the three crates of the workspace:
//! [`autograd`] (tensors, the differentiable tape, the functional API),
//! [`nn`] (layers, losses, datasets, checkpoints) and [`optim`]
//! (SGD, Adam, AdamW, AdaHessian).

pub use curvature_autograd as autograd;
pub use curvature_nn as nn;
pub use curvature_optim as optim;

// The README and the docs are compiled and run as doc tests, so their
// snippets cannot rot.
#[doc = include_str!("../docs/double-backward.md")]
#[cfg(doctest)]
pub struct DoubleBackwardDoctests;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
