//! `cargo run --release --example rosenbrock`: the program is
//! `curvature_examples::rosenbrock` (`examples/rosenbrock.rs`).

fn main() -> std::process::ExitCode {
    let code = curvature_examples::rosenbrock::main(std::env::args_os(), &mut std::io::stderr());
    std::process::ExitCode::from(code)
}
