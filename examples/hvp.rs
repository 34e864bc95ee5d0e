//! The double-backward trick in a few lines: a function, its gradient, and
//! an exact Hessian-vector product, checked against finite differences.
//!
//! `cargo run --release --example hvp`

use clap::Parser;
use curvature::autograd::{functional, Tape, Tensor, Var};

/// An exact Hessian-vector product by reverse over reverse (the
/// double-backward trick), checked against finite differences of the
/// gradient. Takes no options.
#[derive(Parser, Debug)]
#[command(name = "hvp", version)]
struct Args {}

fn main() {
    // --help and --version print and exit 0; any other argument is an error.
    let Args {} = Args::parse();
    // f(x) = sum(tanh(x)^2) + x0 * x1 * x2
    let f = |_: &Tape<f64>, p: &[Var<f64>]| {
        let x = &p[0];
        let product = x.narrow(0, 0, 1) * x.narrow(0, 1, 1) * x.narrow(0, 2, 1);
        x.tanh().square().sum() + product.sum()
    };
    let x = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]);
    let v = Tensor::from_vec(vec![1.0, 0.5, -0.25], &[3]);

    let (value, grad) = functional::value_and_grad(f, [&x]);
    // H v by reverse over reverse: d/dx <grad f(x), v>; H is never formed.
    let hv = functional::hvp(f, [&x], [&v]);

    // The same by central differences of the gradient: (g(x + hv) - g(x - hv)) / 2h.
    let h = 1e-5;
    let shifted = |s: f64| functional::grad(f, &[&x + &(&v * s)]).remove(0);
    let fd = &(&shifted(h) - &shifted(-h)) / (2.0 * h);

    println!("f(x)      = {:.12}", value.item());
    println!("grad f(x) = {:?}", grad[0].to_vec());
    println!(
        "{:>4} {:>20} {:>20} {:>10}",
        "i", "H v (tape)", "H v (fin. diff.)", "abs err"
    );
    for i in 0..3 {
        let (a, b) = (hv[0].get(&[i]), fd.get(&[i]));
        println!("{i:>4} {a:>20.12} {b:>20.12} {:>10.1e}", (a - b).abs());
    }
    let worst = hv[0]
        .as_slice()
        .iter()
        .zip(fd.as_slice())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("max abs difference: {worst:.2e}");
}
