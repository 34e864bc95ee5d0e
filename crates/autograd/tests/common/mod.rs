//! Helpers shared by the integration tests: seeded inputs, the test
//! functions every second-order test uses, and error measures.
//!
//! Each test file compiles this module separately and uses part of it.
#![allow(dead_code)]

use curvature_autograd::{
    functional, gradcheck, gradgradcheck, seeded_rng, CheckOptions, Element, Tape, Tensor, Var,
};

/// Standard normal samples of `shape` from `seed`.
pub fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::randn(shape, 0.0, 1.0, &mut seeded_rng(seed))
}

/// Uniform samples in `[low, high)`.
pub fn uniform(shape: &[usize], low: f64, high: f64, seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(shape, low, high, &mut seeded_rng(seed))
}

/// Values in `[0.5, 2)`: inside the domain of `log`, `sqrt` and non-integer powers.
pub fn positive(shape: &[usize], seed: u64) -> Tensor<f64> {
    uniform(shape, 0.5, 2.0, seed)
}

/// Values of either sign with `|x|` in `[0.3, 1.5)`: away from the kinks
/// of `abs` and `relu` and from the pole of `1/x`.
pub fn away_from_zero(shape: &[usize], seed: u64) -> Tensor<f64> {
    uniform(shape, -1.2, 1.2, seed).map(|x| x.signum() * (0.3 + x.abs()))
}

/// A random permutation of well-separated values (at least 0.2 apart), so
/// that a maximum has no ties within any finite-difference step.
pub fn distinct(shape: &[usize], seed: u64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    let keys = uniform(&[n], 0.0, 1.0, seed).to_vec();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
    let values = order.iter().map(|&rank| rank as f64 * 0.25 - 1.5).collect();
    Tensor::from_vec(values, shape)
}

/// Asserts that `f` passes both `gradcheck` and `gradgradcheck` with
/// PyTorch's default tolerances, naming `what` on failure.
pub fn assert_first_and_second_order<F>(
    what: &str,
    f: F,
    inputs: impl IntoIterator<Item = impl std::borrow::Borrow<Tensor<f64>>>,
) where
    F: Fn(&Tape<f64>, &[Var<f64>]) -> Var<f64>,
{
    let inputs: Vec<Tensor<f64>> = inputs.into_iter().map(|x| x.borrow().clone()).collect();
    let inputs = &inputs[..];
    let options = CheckOptions::default();
    let first = gradcheck(&f, inputs, &options);
    assert!(first.passed, "{what}: gradcheck {first}");
    assert!(first.entries > 0, "{what}: gradcheck compared nothing");
    let second = gradgradcheck(&f, inputs, &options);
    assert!(second.passed, "{what}: gradgradcheck {second}");
}

/// All elements of several tensors, in order, as `f64`.
pub fn flat<T: Element>(tensors: &[Tensor<T>]) -> Vec<f64> {
    tensors.iter().flat_map(|t| t.to_f64_vec()).collect()
}

/// The Euclidean norm.
pub fn norm(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// `||a - b|| / ||b||`: the error of `a` relative to the reference `b`.
pub fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "relative_error: lengths differ");
    let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    norm(&diff) / norm(b).max(f64::MIN_POSITIVE)
}

/// The largest `|a_i - b_i|`.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "max_abs_diff: lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// `x + t v`, input by input.
pub fn shifted(x: &[Tensor<f64>], v: &[Tensor<f64>], t: f64) -> Vec<Tensor<f64>> {
    x.iter().zip(v).map(|(x, v)| x + &(v * t)).collect()
}

/// Central finite differences of the gradient along `v`:
/// `(grad f(x + h v) - grad f(x - h v)) / 2h`, a second-order-accurate
/// estimate of `H v` that uses only first derivatives.
pub fn finite_difference_hvp<F>(f: &F, x: &[Tensor<f64>], v: &[Tensor<f64>], h: f64) -> Vec<f64>
where
    F: Fn(&Tape<f64>, &[Var<f64>]) -> Var<f64>,
{
    let plus = flat(&functional::grad(f, shifted(x, v, h)));
    let minus = flat(&functional::grad(f, shifted(x, v, -h)));
    plus.iter()
        .zip(&minus)
        .map(|(p, m)| (p - m) / (2.0 * h))
        .collect()
}

/// `u^T H(x) v` built by hand: a gradient with its graph kept, its inner
/// product with `v` differentiated again with its graph kept, and that
/// inner product with `u` differentiated a third time.
pub fn third_derivative_contraction<F>(
    f: F,
    at: &[Tensor<f64>],
    u: &[Tensor<f64>],
    v: &[Tensor<f64>],
) -> Vec<f64>
where
    F: Fn(&Tape<f64>, &[Var<f64>]) -> Var<f64>,
{
    let tape = Tape::new();
    let x: Vec<Var<f64>> = at.iter().map(|t| tape.var(t)).collect();
    let dot = |a: &[Var<f64>], b: &[Tensor<f64>]| {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a * &tape.constant(b)).sum())
            .reduce(|p, q| &p + &q)
            .expect("at least one input")
    };
    let y = f(&tape, &x);
    let g = tape.grad_graph(&y, &x);
    let hv = tape.grad_graph(&dot(&g, v), &x);
    flat(&tape.grad(&dot(&hv, u), &x))
}

/// Random directions shaped like `x`.
pub fn random_like(x: &[Tensor<f64>], seed: u64) -> Vec<Tensor<f64>> {
    x.iter()
        .enumerate()
        .map(|(k, t)| randn(t.shape(), seed * 1000 + k as u64))
        .collect()
}

/// A constant on `tape` converted from `f64` data.
fn constant<T: Element>(tape: &Tape<T>, value: &Tensor<f64>) -> Var<T> {
    tape.constant(value.cast())
}

// ---------------------------------------------------------------------
// The test functions: each a closure-compatible `fn` over any element
// type, with its data built from fixed seeds, and its parameters.
// ---------------------------------------------------------------------

/// A one-hidden-layer tanh MLP (3 -> 4 -> 2) with mean-squared-error loss
/// on fixed data. Parameters: `[w1 [4, 3], b1 [4], w2 [2, 4], b2 [2]]`.
pub fn tanh_mlp_mse<T: Element>(tape: &Tape<T>, p: &[Var<T>]) -> Var<T> {
    let x = constant(tape, &randn(&[6, 3], 101));
    let y = constant(tape, &randn(&[6, 2], 102));
    let hidden = (&x.matmul_nt(&p[0]) + &p[1]).tanh();
    let out = &hidden.matmul_nt(&p[2]) + &p[3];
    (&out - &y).square().mean()
}

/// Parameters of [`tanh_mlp_mse`].
pub fn tanh_mlp_params(seed: u64) -> Vec<Tensor<f64>> {
    vec![
        randn(&[4, 3], seed).map(|w| 0.7 * w),
        randn(&[4], seed + 1).map(|b| 0.3 * b),
        randn(&[2, 4], seed + 2).map(|w| 0.7 * w),
        randn(&[2], seed + 3).map(|b| 0.3 * b),
    ]
}

/// Class labels of [`sigmoid_mlp_cross_entropy`], one per row, as `[6, 1]`.
pub fn class_labels() -> Tensor<usize> {
    Tensor::from_vec(vec![0, 2, 1, 1, 0, 2], &[6, 1])
}

/// A one-hidden-layer sigmoid MLP (3 -> 5 -> 3 classes) with the
/// cross-entropy of class labels: `-mean(log_softmax(logits)[label])`.
/// Parameters: `[w1 [5, 3], b1 [5], w2 [3, 5], b2 [3]]`.
pub fn sigmoid_mlp_cross_entropy<T: Element>(tape: &Tape<T>, p: &[Var<T>]) -> Var<T> {
    let x = constant(tape, &randn(&[6, 3], 201));
    let hidden = (&x.matmul_nt(&p[0]) + &p[1]).sigmoid();
    let logits = &hidden.matmul_nt(&p[2]) + &p[3];
    logits
        .log_softmax(1)
        .gather(1, &class_labels())
        .mean()
        .neg()
}

/// Parameters of [`sigmoid_mlp_cross_entropy`].
pub fn sigmoid_mlp_params(seed: u64) -> Vec<Tensor<f64>> {
    vec![
        randn(&[5, 3], seed),
        randn(&[5], seed + 1),
        randn(&[3, 5], seed + 2),
        randn(&[3], seed + 3),
    ]
}

/// The n-dimensional Rosenbrock function
/// `sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2`, with slices by `narrow`.
pub fn rosenbrock<T: Element>(_tape: &Tape<T>, p: &[Var<T>]) -> Var<T> {
    let x = &p[0];
    let n = x.shape()[0];
    let head = x.narrow(0, 0, n - 1);
    let tail = x.narrow(0, 1, n - 1);
    let valley = (&tail - &head.square()).square().sum();
    let slope = head.neg().add_scalar(T::one()).square().sum();
    &valley.mul_scalar(T::from_f64(100.0)) + &slope
}

/// A point of [`rosenbrock`] away from its minimum.
pub fn rosenbrock_point() -> Vec<Tensor<f64>> {
    vec![Tensor::from_vec(vec![-1.2, 1.0, 0.8, 1.3, 0.5], &[5])]
}

/// Mixes `exp`, `log`, `sqrt`, `softplus`, division and powers of two
/// inputs `x [4]` (any sign) and `y [4]` (positive).
pub fn mixed_elementary<T: Element>(_tape: &Tape<T>, p: &[Var<T>]) -> Var<T> {
    let (x, y) = (&p[0], &p[1]);
    let c = |v: f64| T::from_f64(v);
    let a = (&x.mul_scalar(c(0.4)).exp() * &y.log()).sum();
    let b = (&y.sqrt() / &x.square().add_scalar(c(1.0))).sum();
    let d = (x - y).softplus().sum();
    let e = y.powf(c(2.5)).sum() + x.powf(c(3.0)).sum().mul_scalar(c(0.1));
    let f = (&x.sin() / &y.add_scalar(c(0.5))).sum();
    let g = (x * y).sum().recip();
    a + b + d + e + f + g
}

/// A point of [`mixed_elementary`] (`y` positive, `x . y` far from 0).
pub fn mixed_point() -> Vec<Tensor<f64>> {
    vec![
        Tensor::from_vec(vec![0.3, -0.7, 1.1, 0.4], &[4]),
        Tensor::from_vec(vec![0.8, 1.5, 0.6, 1.9], &[4]),
    ]
}

/// A named test function with a point to evaluate it at.
pub struct TestFunction {
    pub name: &'static str,
    pub f: fn(&Tape<f64>, &[Var<f64>]) -> Var<f64>,
    pub at: Vec<Tensor<f64>>,
}

/// Every test function of the second-order tests, at its point.
pub fn test_functions() -> Vec<TestFunction> {
    vec![
        TestFunction {
            name: "tanh MLP with MSE",
            f: tanh_mlp_mse::<f64>,
            at: tanh_mlp_params(11),
        },
        TestFunction {
            name: "sigmoid MLP with cross-entropy",
            f: sigmoid_mlp_cross_entropy::<f64>,
            at: sigmoid_mlp_params(21),
        },
        TestFunction {
            name: "Rosenbrock",
            f: rosenbrock::<f64>,
            at: rosenbrock_point(),
        },
        TestFunction {
            name: "exp/log/sqrt/softplus/div/pow mix",
            f: mixed_elementary::<f64>,
            at: mixed_point(),
        },
    ]
}
