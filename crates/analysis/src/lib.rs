//! The curvature of a model's loss, from exact Hessian-vector products:
//! PyHessian's toolkit (Yao, Gholami, Keutzer and Mahoney, 2020) in Rust.
//!
//! - [`HessianOperator`]: `v -> H v` of a loss averaged over batches (the
//!   full-dataset Hessian) or on one batch, optionally the Gauss-Newton
//!   matrix, restricted to named parameters, counting its products.
//! - [`top_eigenvalues`]: Lanczos with full reorthogonalisation, or power
//!   iteration with deflation (PyHessian's method).
//! - [`hutchinson_trace`]: the trace, with its standard error.
//! - [`spectral_density`]: stochastic Lanczos quadrature, as nodes and
//!   weights and smoothed on a grid.
//! - [`layer_curvature`]: the top eigenvalue and trace of each layer's block.
//! - [`loss_landscape_1d`] and [`loss_landscape_2d`]: the loss along
//!   directions (the top eigenvectors), the parameters left untouched.
//!
//! Every analysis is seeded (the same options give the same numbers) and
//! reports the products it spent. Vectors are flat `f64` over the
//! parameters the operator acts on ([`HessianOperator::blocks`] gives each
//! parameter's place; [`HessianOperator::unflatten`] gives them back as
//! tensors). The methods, their costs and their accuracy are described in
//! `docs/analysis.md`.
//!
//! ```
//! use curvature_analysis::{
//!     hutchinson_trace, top_eigenvalues, EigenOptions, HessianOperator, TraceOptions,
//! };
//! use curvature_autograd::{Tape, Tensor, Var};
//!
//! // least squares on two batches: loss = mean((x w - y)^2)
//! let params = vec![Tensor::from_vec(vec![0.1_f64, -0.2, 0.3], &[3, 1])];
//! let batches = vec![
//!     (Tensor::from_vec(vec![1.0, 0.0, 1.0, 0.0, 2.0, 1.0], &[2, 3]), Tensor::zeros(&[2, 1])),
//!     (Tensor::from_vec(vec![0.5, 1.0, 0.0, 1.0, 1.0, 1.0], &[2, 3]), Tensor::ones(&[2, 1])),
//! ];
//! let loss = |tape: &Tape<f64>, p: &[Var<f64>], (x, y): &(Tensor<f64>, Tensor<f64>)| {
//!     (&tape.constant(x).matmul(&p[0]) - y).square().mean()
//! };
//! let op = HessianOperator::new(&params, loss, &batches)?;
//! let top = top_eigenvalues(&op, 1, &EigenOptions::default())?;
//! let trace = hutchinson_trace(&op, &TraceOptions::default())?;
//! assert!(top.values[0] > 0.0 && top.values[0] <= trace.estimate + 3.0 * trace.std_error);
//! println!("top eigenvalue {:.4} ({} HVPs)", top.values[0], top.hvps);
//! # Ok::<(), curvature_analysis::AnalysisError>(())
//! ```

#![forbid(unsafe_code)]

mod density;
mod eigen;
mod error;
mod gauss_newton;
mod lanczos;
mod landscape;
mod layers;
mod operator;
mod trace;
mod tridiagonal;
mod vector;

pub use density::{spectral_density, DensityGrid, DensityOptions, SpectralDensity};
pub use eigen::{top_eigenvalues, EigenMethod, EigenOptions, Eigenpairs, Which};
pub use error::AnalysisError;
pub use landscape::{loss_landscape_1d, loss_landscape_2d, Landscape1d, Landscape2d};
pub use layers::{layer_curvature, LayerCurvature};
pub use operator::{Block, HessianOperator, SymmetricOperator};
pub use trace::{hutchinson_trace, TraceEstimate, TraceOptions};
