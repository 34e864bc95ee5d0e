//! The example programs as a library, so their code is compiled once and
//! the tests call each program's `main` and `run` in-process (no nested
//! `cargo run`). Each program is a module (`train`, `compare`,
//! `quadratic`, `rosenbrock`, `hessian`, `gpt`) holding its flags (`Args`), its `run` and its
//! `main`; `examples/bin/NAME.rs` is the binary that
//! `cargo run --example NAME` builds, a `main` that calls the module's.
//! `support` is what they share.

pub mod compare;
pub mod gpt;
pub mod hessian;
pub mod quadratic;
pub mod rosenbrock;
pub mod support;
pub mod train;
