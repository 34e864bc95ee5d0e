//! The integration tests of curvature-nn in one binary (one link
//! instead of one per file); each file is a module. Tests that install a
//! counting global allocator stay binaries of their own.

#[path = "../common/mod.rs"]
mod common;

mod checkpoint;
mod gpt_reference;
mod hvp_mlp;
mod loaders;
mod training;
