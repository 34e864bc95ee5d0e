//! Curvature: differentiable programming with exact second-order derivatives.
//!
//! This crate re-exports the four crates of the workspace:
//! [`autograd`] (tensors, the differentiable tape, the functional API),
//! [`nn`] (layers, losses, datasets, checkpoints), [`optim`]
//! (SGD, Adam, AdamW, AdaHessian) and [`analysis`] (Hessian eigenvalues,
//! trace, spectral density and loss landscapes of a model's loss).

pub use curvature_analysis as analysis;
pub use curvature_autograd as autograd;
pub use curvature_nn as nn;
pub use curvature_optim as optim;

// The README and the docs are compiled and run as doc tests, so their
// snippets cannot rot.
#[doc = include_str!("../docs/double-backward.md")]
#[cfg(doctest)]
pub struct DoubleBackwardDoctests;

#[doc = include_str!("../docs/analysis.md")]
#[cfg(doctest)]
pub struct AnalysisDoctests;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
