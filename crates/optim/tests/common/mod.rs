//! Test problems shared by the integration tests: classic 2-D functions,
//! a separable quadratic and a small tanh MLP on two Gaussian blobs,
//! written with raw tensors and `Var` ops (optim does not depend on nn).
#![allow(dead_code)]

use curvature_autograd::{seeded_rng, Tape, Tensor, Var};

/// A loss closure over a plain list of parameter tensors.
pub trait LossFn<T>: Fn(&Vec<Tensor<T>>, &Tape<T>, &[Var<T>]) -> Var<T> {}
impl<T, F: Fn(&Vec<Tensor<T>>, &Tape<T>, &[Var<T>]) -> Var<T>> LossFn<T> for F {}

/// A loss function over a plain list of parameter tensors.
pub type Loss = fn(&Vec<Tensor<f64>>, &Tape<f64>, &[Var<f64>]) -> Var<f64>;

/// Rosenbrock: `(1 - x)^2 + 100 (y - x^2)^2`, minimum 0 at (1, 1).
pub fn rosenbrock(_: &Vec<Tensor<f64>>, _: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    let (x, y) = (&p[0], &p[1]);
    (1.0 - x).square() + (y - &x.square()).square() * 100.0
}

/// Beale: `(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2`,
/// minimum 0 at (3, 0.5).
pub fn beale(_: &Vec<Tensor<f64>>, _: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    let (x, y) = (&p[0], &p[1]);
    let y2 = y.square();
    let y3 = &y2 * y;
    (1.5 - x + x * y).square() + (2.25 - x + x * &y2).square() + (2.625 - x + x * &y3).square()
}

/// `f(w) = 1/2 sum d_i w_i^2` as a closure.
pub fn separable_quadratic(d: Tensor<f64>) -> impl LossFn<f64> {
    move |_, tape, p| (&p[0].square() * &tape.constant(&d)).sum() * 0.5
}

/// Two Gaussian blobs in the plane (centres (-2, 0) and (2, 0), unit
/// variance), `n` points each: inputs `[2n, 2]` and labels `[2n, 1]` in {0, 1}.
pub fn blobs<T: curvature_autograd::Element>(n: usize, seed: u64) -> (Tensor<T>, Tensor<T>) {
    let mut rng = seeded_rng(seed);
    let noise = Tensor::<f64>::randn(&[2 * n, 2], 0.0, 1.0, &mut rng);
    let mut x = Vec::with_capacity(4 * n);
    let mut y = Vec::with_capacity(2 * n);
    for i in 0..2 * n {
        let label = if i < n { 0.0 } else { 1.0 };
        let centre = if i < n { -2.0 } else { 2.0 };
        x.push(centre + noise.get(&[i, 0]));
        x.push(noise.get(&[i, 1]));
        y.push(label);
    }
    (
        Tensor::from_f64_vec(x, &[2 * n, 2]),
        Tensor::from_f64_vec(y, &[2 * n, 1]),
    )
}

/// Parameters of a 2-layer MLP `in -> hidden (tanh) -> 1`, PyTorch layout
/// (`weight: [out, in]`), drawn N(0, 1/in) from a seeded generator.
pub fn mlp_params<T: curvature_autograd::Element>(
    inputs: usize,
    hidden: usize,
    seed: u64,
) -> Vec<Tensor<T>> {
    let mut rng = seeded_rng(seed);
    vec![
        Tensor::randn(
            &[hidden, inputs],
            0.0,
            (1.0 / inputs as f64).sqrt(),
            &mut rng,
        ),
        Tensor::zeros(&[hidden]),
        Tensor::randn(&[1, hidden], 0.0, (1.0 / hidden as f64).sqrt(), &mut rng),
        Tensor::zeros(&[1]),
    ]
}

/// The mean logistic loss of the MLP (`softplus(o) - y o`, from logits).
pub fn mlp_loss<T: curvature_autograd::Element>(x: Tensor<T>, y: Tensor<T>) -> impl LossFn<T> {
    move |_, tape, p| {
        let x = tape.constant(&x);
        let y = tape.constant(&y);
        let h = (&x.matmul_nt(&p[0]) + &p[1]).tanh();
        let logits = &h.matmul_nt(&p[2]) + &p[3];
        (&logits.softplus() - &(&y * &logits)).mean()
    }
}
