//! Dense tensors and a tape whose backward pass is itself recorded, so a
//! gradient can be differentiated again: exact gradients, Hessian-vector
//! products, Hessians and derivatives of any order, in `f32` or `f64`.
//!
//! ```
//! use curvature_autograd::{functional, Tape, Tensor, Var};
//!
//! let x = Tensor::from_vec(vec![1.0_f64, 2.0, 3.0], &[3]);
//! let v = Tensor::from_vec(vec![0.0_f64, 1.0, 0.0], &[3]);
//!
//! // f(x) = sum(tanh(x)^2)
//! let f = |_tape: &Tape<f64>, p: &[Var<f64>]| p[0].tanh().square().sum();
//! let (value, grads) = functional::value_and_grad(f, [&x]);
//! let hv = functional::hvp(f, [&x], [&v]);
//! let h = functional::hessian(f, [&x]);
//! assert_eq!(h.shape(), &[3, 3]);
//! assert!((hv[0].get(&[1]) - h.get(&[1, 1])).abs() < 1e-12);
//!
//! // the same by hand on one tape
//! let tape = Tape::new();
//! let w = tape.var(&x);
//! let y = w.tanh().square().sum();
//! let g = tape.grad_graph(&y, [&w]);           // recorded: differentiable again
//! let hv2 = tape.grad(&(&g[0] * &v).sum(), [&w]); // H v (a tensor operand is a constant)
//! assert!(hv2[0].allclose(&hv[0], 1e-12, 1e-12));
//! # let _ = (value, grads);
//! ```

mod backward;
mod check;
mod element;
mod error;
pub mod functional;
mod op;
mod ops;
mod parameters;
mod shape;
mod tape;
mod tensor;
mod threads;
mod var;

pub use backward::GradOptions;
pub use check::{gradcheck, gradgradcheck, CheckOptions, CheckReport};
pub use element::Element;
pub use error::Error;
pub use op::{op_table, OpInfo};
pub use ops::{BatchStats, ConvOptions};
pub use parameters::{Buffer, ParameterKind, Parameters};
pub use shape::{broadcast_shapes, Shape};
pub use tape::{Anomaly, Phase, Tape};
pub use tensor::{seeded_rng, SeededRng, Tensor, Window2d};
pub use threads::{num_threads, set_num_threads, THREADS_ENV};
pub use var::Var;
