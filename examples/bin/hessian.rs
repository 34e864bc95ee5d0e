//! `cargo run --release --example hessian`: the program is
//! `curvature_examples::hessian` (`examples/hessian.rs`).

// Keep freed memory between products (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let code = curvature_examples::hessian::main(std::env::args_os(), &mut std::io::stderr());
    std::process::ExitCode::from(code)
}
