//! `cargo run --release --example gpt`: the program is
//! `curvature_examples::gpt` (`examples/gpt.rs`).

// Keep freed memory between steps instead of returning it to the kernel
// (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let code = curvature_examples::gpt::main(std::env::args_os(), &mut std::io::stderr());
    std::process::ExitCode::from(code)
}
