//! `cargo run --release --example quadratic`: the program is
//! `curvature_examples::quadratic` (`examples/quadratic.rs`).

fn main() -> std::process::ExitCode {
    let code = curvature_examples::quadratic::main(std::env::args_os(), &mut std::io::stderr());
    std::process::ExitCode::from(code)
}
