//! The Gauss-Newton-vector product `J^T H_L J v` against the explicit
//! matrices: `J` from `functional::jacobian`, `H_L` from
//! `functional::hessian` of the loss in the model's output.

use crate::common;

use common::{max_abs_diff, randn};
use curvature_autograd::{functional, Tape, Tensor, Var};

/// A small tanh layer on fixed data: y = tanh(W x + b), W [3, 2], b [3, 1], x [2, 4].
fn model(tape: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    let x = tape.constant(randn(&[2, 4], 11));
    (&p[0].matmul(&x) + &p[1]).tanh()
}

/// Cross-entropy over the 3 rows of each of the 4 columns: a Hessian in y
/// that is dense within a column (softmax couples the classes).
fn loss(tape: &Tape<f64>, y: &Var<f64>) -> Var<f64> {
    let targets = Tensor::from_vec(
        vec![
            1.0, 0.0, 0.0, 1.0, //
            0.0, 1.0, 0.0, 0.0, //
            0.0, 0.0, 1.0, 0.0,
        ],
        &[3, 4],
    );
    -(&y.mul_scalar(2.0).log_softmax(0) * &tape.constant(targets)).sum()
}

/// `J^T H_L J` as an `[n, n]` matrix, built from the full Jacobian and Hessian.
fn explicit_gauss_newton(at: &[Tensor<f64>]) -> (Vec<f64>, usize) {
    let jacobians = functional::jacobian(model, at);
    let y = {
        let tape = Tape::new();
        let vars: Vec<Var<f64>> = at.iter().map(|x| tape.var(x)).collect();
        model(&tape, &vars).value()
    };
    let m = y.numel();
    let h = functional::hessian(|tape, p| loss(tape, &p[0]), [&y]).to_vec();
    // J as [m, n]: the inputs' columns side by side
    let widths: Vec<usize> = at.iter().map(Tensor::numel).collect();
    let n: usize = widths.iter().sum();
    let mut j = vec![0.0; m * n];
    let mut col = 0;
    for (jk, &w) in jacobians.iter().zip(&widths) {
        let jk = jk.to_vec();
        for r in 0..m {
            for c in 0..w {
                j[r * n + col + c] = jk[r * w + c];
            }
        }
        col += w;
    }
    let mut g = vec![0.0; n * n];
    for a in 0..n {
        for b in 0..n {
            let mut s = 0.0;
            for r in 0..m {
                for q in 0..m {
                    s += j[r * n + a] * h[r * m + q] * j[q * n + b];
                }
            }
            g[a * n + b] = s;
        }
    }
    (g, n)
}

#[test]
fn gnvp_matches_explicit_jt_h_j_on_a_tanh_layer_with_cross_entropy() {
    let at = [randn(&[3, 2], 1), randn(&[3, 1], 2)];
    let (g, n) = explicit_gauss_newton(&at);
    for seed in 0..3 {
        let v = [randn(&[3, 2], 20 + seed), randn(&[3, 1], 30 + seed)];
        let gv = functional::gnvp(model, loss, &at, &v);
        let flat_v: Vec<f64> = v.iter().flat_map(Tensor::to_vec).collect();
        let expected: Vec<f64> = (0..n)
            .map(|a| (0..n).map(|b| g[a * n + b] * flat_v[b]).sum())
            .collect();
        let got: Vec<f64> = gv.iter().flat_map(Tensor::to_vec).collect();
        let diff = max_abs_diff(&got, &expected);
        assert!(diff < 1e-12, "seed {seed}: max |diff| {diff:e}");
        assert_eq!(gv[0].shape(), &[3, 2]);
        assert_eq!(gv[1].shape(), &[3, 1]);
    }
}

#[test]
fn gauss_newton_matrix_is_positive_semidefinite_where_the_hessian_is_not() {
    // f(w) = 1/2 (sin(w0 w1))^2 has an indefinite Hessian at (1, 2), while
    // its Gauss-Newton matrix (model sin(w0 w1), loss y^2 / 2) is J^T J.
    let model = |_: &Tape<f64>, p: &[Var<f64>]| (&p[0] * &p[1]).sin();
    let loss = |_: &Tape<f64>, y: &Var<f64>| y.square().sum() * 0.5;
    let at = [Tensor::scalar(1.0), Tensor::scalar(2.0)];
    let h = functional::hessian(|t, p| loss(t, &model(t, p)), &at).to_vec();
    let det = h[0] * h[3] - h[1] * h[2];
    assert!(det < 0.0, "the Hessian should be indefinite here: {h:?}");
    let c = 2.0_f64.cos();
    // J = cos(w0 w1) (w1, w0) = c (2, 1): G = c^2 [[4, 2], [2, 1]]
    let g0 = functional::gnvp(model, loss, &at, [Tensor::scalar(1.0), Tensor::scalar(0.0)]);
    let g1 = functional::gnvp(model, loss, &at, [Tensor::scalar(0.0), Tensor::scalar(1.0)]);
    let got = [g0[0].item(), g0[1].item(), g1[0].item(), g1[1].item()];
    let expected = [4.0 * c * c, 2.0 * c * c, 2.0 * c * c, c * c];
    assert!(
        max_abs_diff(&got, &expected) < 1e-14,
        "{got:?} vs {expected:?}"
    );
}

#[test]
fn gnvp_equals_hvp_for_a_linear_model_with_squared_error() {
    let a = randn(&[4, 3], 5);
    let b = randn(&[4, 1], 6);
    let model = |tape: &Tape<f64>, p: &[Var<f64>]| tape.constant(&a).matmul(&p[0]);
    let loss = |tape: &Tape<f64>, y: &Var<f64>| (y - &tape.constant(&b)).square().sum();
    let x = randn(&[3, 1], 7);
    let v = randn(&[3, 1], 8);
    let gv = functional::gnvp(model, loss, [&x], [&v]);
    let hv = functional::hvp(|t, p| loss(t, &model(t, p)), [&x], [&v]);
    assert!(max_abs_diff(&gv[0].to_vec(), &hv[0].to_vec()) < 1e-12);
}
