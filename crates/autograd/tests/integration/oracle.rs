//! Gradients, Hessians, HVPs and a third derivative against an exact
//! forward-mode oracle: hyper-dual numbers (`num-dual`), which carry
//! `f, df/de1, df/de2, d2f/de1 de2` through every elementary function with
//! no truncation error, so agreement is to rounding.

use crate::common;

use common::{flat, max_abs_diff, randn, third_derivative_contraction};
use curvature_autograd::{functional, Tape, Tensor, Var};
use num_dual::{DualNum, HyperDual64, HyperHyperDual64};

/// Agreement expected between two exact methods: rounding only.
const EXACT: f64 = 1e-11;

// ---------------------------------------------------------------------
// A scalar function of three variables, written twice: generic over the
// hyper-dual number types, and with the engine's ops.
// ---------------------------------------------------------------------

fn three_variables<D: DualNum<Primitive = f64> + Copy>(x: &[D]) -> D {
    let (a, b, c) = (x[0], x[1], x[2]);
    let sigmoid = ((a - c).neg().exp() + 1.0).recip();
    let softplus = (b * c).exp().ln_1p();
    (a * b).tanh()
        + c.exp() * a.sin()
        + (b * b + c * c + 1.0).ln()
        + (a * a + 2.0).sqrt() / (b * b + 1.0)
        + c.powf(2.5)
        + sigmoid * b.cos()
        + softplus
        + a / c
}

fn three_variables_on_tape(_: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    let (a, b, c) = (&p[0], &p[1], &p[2]);
    (a * b).tanh()
        + &c.exp() * &a.sin()
        + (&(b.square() + c.square()) + 1.0).log()
        + (a.square() + 2.0).sqrt() / (b.square() + 1.0)
        + c.powf(2.5)
        + &(a - c).sigmoid() * &b.cos()
        + (b * c).softplus()
        + a / c
}

/// The point, as three scalar inputs (`c` positive for `c^2.5`).
fn three_variables_point() -> Vec<Tensor<f64>> {
    [0.7, -0.4, 1.3].map(Tensor::scalar).to_vec()
}

// ---------------------------------------------------------------------
// A small tanh network over a weight matrix: loops for the oracle, matrix
// products for the engine.
// ---------------------------------------------------------------------

const ROWS: usize = 4;
const IN: usize = 2;
const HIDDEN: usize = 3;

fn data() -> (Tensor<f64>, Tensor<f64>, Tensor<f64>) {
    (
        randn(&[ROWS, IN], 301),
        randn(&[HIDDEN, 1], 302),
        randn(&[ROWS, 1], 303),
    )
}

/// `mean((tanh(X W^T) w2 - y)^2)` over the weights `W [HIDDEN, IN]`.
fn network<D: DualNum<Primitive = f64> + Copy>(w: &[D]) -> D {
    let (x, w2, y) = data();
    let mut loss = D::from(0.0);
    for r in 0..ROWS {
        let mut out = D::from(0.0);
        for h in 0..HIDDEN {
            let mut pre = D::from(0.0);
            for i in 0..IN {
                pre += w[h * IN + i] * x.get(&[r, i]);
            }
            out += pre.tanh() * w2.get(&[h, 0]);
        }
        let err = out - y.get(&[r, 0]);
        loss += err * err;
    }
    loss / ROWS as f64
}

fn network_on_tape(tape: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    let (x, w2, y) = data();
    let (x, w2, y) = (tape.constant(x), tape.constant(w2), tape.constant(y));
    let out = x.matmul_nt(&p[0]).tanh().matmul(&w2);
    (&out - &y).square().mean()
}

fn network_point() -> Vec<Tensor<f64>> {
    vec![randn(&[HIDDEN, IN], 304)]
}

// ---------------------------------------------------------------------
// The oracle: exact derivatives from hyper-dual evaluations.
// ---------------------------------------------------------------------

/// `x` as hyper-dual numbers with first parts `d1` and `d2`.
fn hyper(x: &[f64], d1: &[f64], d2: &[f64]) -> Vec<HyperDual64> {
    (0..x.len())
        .map(|k| HyperDual64::new(x[k], d1[k], d2[k], 0.0))
        .collect()
}

fn unit(n: usize, i: usize) -> Vec<f64> {
    (0..n).map(|k| if k == i { 1.0 } else { 0.0 }).collect()
}

/// The exact gradient: `df/de1` with `e1` along each axis.
fn oracle_gradient(f: fn(&[HyperDual64]) -> HyperDual64, x: &[f64]) -> Vec<f64> {
    let n = x.len();
    (0..n)
        .map(|i| f(&hyper(x, &unit(n, i), &vec![0.0; n])).eps1)
        .collect()
}

/// The exact Hessian, row-major: `d2f/de1 de2` with `e1, e2` along each pair of axes.
fn oracle_hessian(f: fn(&[HyperDual64]) -> HyperDual64, x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut h = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            h.push(f(&hyper(x, &unit(n, i), &unit(n, j))).eps1eps2);
        }
    }
    h
}

/// The exact `H v`: `d2f/de1 de2` with `e1 = v` and `e2` along each axis.
fn oracle_hvp(f: fn(&[HyperDual64]) -> HyperDual64, x: &[f64], v: &[f64]) -> Vec<f64> {
    let n = x.len();
    (0..n)
        .map(|i| f(&hyper(x, v, &unit(n, i))).eps1eps2)
        .collect()
}

/// The exact gradient of `u^T H(x) v`: the third mixed part of a
/// hyper-hyper-dual evaluation with `e1 = v`, `e2 = u`, `e3` along each axis.
fn oracle_third(
    f: fn(&[HyperHyperDual64]) -> HyperHyperDual64,
    x: &[f64],
    u: &[f64],
    v: &[f64],
) -> Vec<f64> {
    let n = x.len();
    (0..n)
        .map(|k| {
            let e = unit(n, k);
            let args: Vec<HyperHyperDual64> = (0..n)
                .map(|m| HyperHyperDual64::new(x[m], v[m], u[m], e[m], 0.0, 0.0, 0.0, 0.0))
                .collect();
            f(&args).eps1eps2eps3
        })
        .collect()
}

/// `max |a - b| / max |b|`: an entry-wise error relative to the reference's scale.
fn scaled_error(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    max_abs_diff(a, b) / scale
}

fn assert_exact(what: &str, engine: &[f64], oracle: &[f64]) {
    let error = scaled_error(engine, oracle);
    eprintln!("{what}: scaled error {error:.3e}");
    assert!(
        error < EXACT,
        "{what}: engine {engine:?} and hyper-dual oracle {oracle:?} differ by {error:.3e}"
    );
}

#[test]
fn value_and_gradient_match_the_hyper_dual_oracle() {
    let at = three_variables_point();
    let x = flat(&at);
    let (value, grad) = functional::value_and_grad(three_variables_on_tape, &at);
    assert_exact("value", &[value.item()], &[three_variables::<f64>(&x)]);
    assert_exact(
        "gradient",
        &flat(&grad),
        &oracle_gradient(three_variables::<HyperDual64>, &x),
    );
}

#[test]
fn hessian_entries_match_the_hyper_dual_oracle() {
    let at = three_variables_point();
    let oracle = oracle_hessian(three_variables::<HyperDual64>, &flat(&at));
    let hessian = functional::hessian(three_variables_on_tape, &at);
    assert_eq!(hessian.shape(), &[3, 3]);
    assert_exact("3-variable Hessian", &hessian.to_vec(), &oracle);
}

#[test]
fn hvp_matches_the_hyper_dual_oracle_in_random_directions() {
    let at = three_variables_point();
    let x = flat(&at);
    for seed in 1..=4 {
        let v: Vec<Tensor<f64>> = randn(&[3], seed)
            .to_vec()
            .into_iter()
            .map(Tensor::scalar)
            .collect();
        let hv = functional::hvp(three_variables_on_tape, &at, &v);
        let oracle = oracle_hvp(three_variables::<HyperDual64>, &x, &flat(&v));
        assert_exact(&format!("3-variable HVP {seed}"), &flat(&hv), &oracle);
    }
}

#[test]
fn network_hessian_and_hvp_through_matmul_match_the_hyper_dual_oracle() {
    let at = network_point();
    let x = flat(&at);
    let oracle = oracle_hessian(network::<HyperDual64>, &x);
    let hessian = functional::hessian(network_on_tape, &at);
    assert_eq!(hessian.shape(), &[HIDDEN * IN, HIDDEN * IN]);
    assert_exact("network Hessian", &hessian.to_vec(), &oracle);
    let v = randn(&[HIDDEN, IN], 5);
    let hv = functional::hvp(network_on_tape, &at, [&v]);
    let oracle_hv = oracle_hvp(network::<HyperDual64>, &x, &v.to_vec());
    assert_exact("network HVP", &flat(&hv), &oracle_hv);
}

#[test]
fn third_derivative_matches_the_hyper_hyper_dual_oracle() {
    let at = three_variables_point();
    let x = flat(&at);
    let scalars = |seed| -> Vec<Tensor<f64>> {
        randn(&[3], seed)
            .to_vec()
            .into_iter()
            .map(Tensor::scalar)
            .collect()
    };
    let (u, v) = (scalars(11), scalars(12));
    let engine = third_derivative_contraction(three_variables_on_tape, &at, &u, &v);
    let oracle = oracle_third(
        three_variables::<HyperHyperDual64>,
        &x,
        &flat(&u),
        &flat(&v),
    );
    assert_exact("3-variable third derivative", &engine, &oracle);

    let at = network_point();
    let (u, v) = (
        vec![randn(&[HIDDEN, IN], 13)],
        vec![randn(&[HIDDEN, IN], 14)],
    );
    let engine = third_derivative_contraction(network_on_tape, &at, &u, &v);
    let oracle = oracle_third(
        network::<HyperHyperDual64>,
        &flat(&at),
        &flat(&u),
        &flat(&v),
    );
    assert_exact("network third derivative", &engine, &oracle);
}
