//! Optimizers that update parameter tensors in place: [`Sgd`], [`Adam`],
//! [`AdamW`], [`AdaHessian`], [`SophiaH`], [`NewtonCg`] and [`Lbfgs`],
//! behind one [`Optimizer`] trait, with learning-rate schedules.
//!
//! A step is given the parameters (anything that implements
//! [`Parameters`](curvature_autograd::Parameters): a `Vec<Tensor>`, an
//! `nn` module) and a closure that builds the loss on a fresh tape from the
//! bound parameters. One step driver runs every optimizer: the optimizer
//! declares what it [`Needs`] (a gradient; a Hutchinson diagonal; an HVP
//! oracle for an inner solver; loss evaluations for a line search), the
//! driver computes exactly that from one tape, checks it, and hands it to
//! the optimizer's update as a [`Step`]. The tape is dropped at the end of
//! every step. Each update and its sources: `docs/optimizers.md`.
//!
//! ```
//! use curvature_autograd::{Tape, Tensor, Var};
//! use curvature_optim::{AdaHessian, AdaHessianConfig, Optimizer};
//!
//! // Rosenbrock: f(x, y) = (1 - x)^2 + 100 (y - x^2)^2
//! fn rosenbrock(_: &Vec<Tensor<f64>>, _: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
//!     let (x, y) = (&p[0], &p[1]);
//!     (1.0 - x).square() + (y - &x.square()).square() * 100.0
//! }
//!
//! let mut params = vec![Tensor::scalar(-1.5_f64), Tensor::scalar(2.0)];
//! let mut opt = AdaHessian::new(&params, AdaHessianConfig { lr: 2.0, ..Default::default() })?;
//! let mut loss = f64::INFINITY;
//! for _ in 0..3000 {
//!     loss = opt.step(&mut params, rosenbrock)?; // the loss before this step's update
//! }
//! assert!(loss < 1e-4, "{loss}");
//! assert_eq!(opt.hvp_count(), 3000); // one Hessian-vector product per step
//! # Ok::<(), curvature_optim::OptimError>(())
//! ```
//!
//! The AdaHessian specification, option by option, and how it differs from
//! other public versions, is in `docs/adahessian.md`.

#![forbid(unsafe_code)]

mod adahessian;
mod adam;
mod adamw;
mod driver;
mod error;
mod lbfgs;
mod newton_cg;
mod objective;
mod optimizer;
mod schedule;
mod sgd;
mod sophia;
mod state;
mod validate;

pub use adahessian::{AdaHessian, AdaHessianConfig, Averaging, Estimate};
pub use adam::{Adam, AdamConfig};
pub use adamw::{AdamW, AdamWConfig};
pub use driver::{Commit, HutchinsonDraws, Needs, Step, Work};
pub use error::OptimError;
pub use lbfgs::{Lbfgs, LbfgsConfig, LineSearch};
pub use newton_cg::{NewtonCg, NewtonCgConfig};
pub use objective::{ClosureObjective, GaussNewtonObjective, Objective};
pub use optimizer::{FirstOrderOptimizer, Optimizer};
pub use schedule::{
    Constant, CosineAnnealing, LinearWarmup, LrSchedule, MultiStepDecay, StepDecay,
};
pub use sgd::{Sgd, SgdConfig};
pub use sophia::{SophiaH, SophiaHConfig};
pub use state::OptimizerState;
