//! `functional::hessian` on functions whose Hessian is known in closed
//! form, and the symmetry of every test function's Hessian.

use crate::common;

use common::{flat, max_abs_diff, randn, relative_error, rosenbrock, test_functions};
use curvature_autograd::{functional, Tape, Tensor, Var};

const N: usize = 4;

/// A non-symmetric matrix: its Hessian contribution is its symmetric part.
fn a_matrix() -> Tensor<f64> {
    randn(&[N, N], 1)
}

fn b_vector() -> Tensor<f64> {
    randn(&[N], 2)
}

/// `0.5 x^T A x + b^T x`.
fn quadratic(tape: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    let (a, b) = (tape.constant(a_matrix()), tape.constant(b_vector()));
    let x = &p[0];
    let xax = x.unsqueeze(0).matmul(&a).matmul(&x.unsqueeze(1)).sum();
    &(xax * 0.5) + &(x * &b).sum()
}

#[test]
fn hessian_of_a_quadratic_is_the_symmetric_part_of_a() {
    let a = a_matrix().to_vec();
    let asymmetry = (0..N * N)
        .map(|k| (a[k] - a[(k % N) * N + k / N]).abs())
        .fold(0.0, f64::max);
    assert!(asymmetry > 0.1, "the test needs a non-symmetric A");
    let symmetric_part: Vec<f64> = (0..N * N)
        .map(|k| 0.5 * (a[k] + a[(k % N) * N + k / N]))
        .collect();
    for seed in [3, 4] {
        let h = functional::hessian(quadratic, &[randn(&[N], seed)]);
        assert_eq!(h.shape(), &[N, N]);
        assert!(
            max_abs_diff(&h.to_vec(), &symmetric_part) < 1e-14,
            "H = {:?}, (A + A^T) / 2 = {symmetric_part:?}",
            h.to_vec()
        );
        // and not A itself
        assert!(max_abs_diff(&h.to_vec(), &a) > 0.05);
    }
}

#[test]
fn gradient_of_a_quadratic_is_the_symmetric_part_times_x_plus_b() {
    let (a, b) = (a_matrix().to_vec(), b_vector().to_vec());
    let x = randn(&[N], 5);
    let xs = x.to_vec();
    let expected: Vec<f64> = (0..N)
        .map(|i| {
            let ax: f64 = (0..N)
                .map(|j| 0.5 * (a[i * N + j] + a[j * N + i]) * xs[j])
                .sum();
            ax + b[i]
        })
        .collect();
    let g = functional::grad(quadratic, &[x]);
    assert!(max_abs_diff(&g[0].to_vec(), &expected) < 1e-14);
}

#[test]
fn hessian_of_every_test_function_is_symmetric() {
    for case in test_functions() {
        let h = functional::hessian(case.f, &case.at);
        let n = h.shape()[0];
        assert_eq!(h.shape(), &[n, n]);
        assert_eq!(n, case.at.iter().map(Tensor::numel).sum::<usize>());
        let entries = h.to_vec();
        let scale = entries.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
        let mut asymmetry: f64 = 0.0;
        for i in 0..n {
            for j in 0..i {
                asymmetry = asymmetry.max((entries[i * n + j] - entries[j * n + i]).abs());
            }
        }
        eprintln!(
            "{}: Hessian asymmetry {asymmetry:.3e} (scale {scale:.3e})",
            case.name
        );
        assert!(
            asymmetry <= 1e-12 * scale,
            "{}: Hessian not symmetric: max |H_ij - H_ji| = {asymmetry:.3e}",
            case.name
        );
    }
}

#[test]
fn hessian_columns_are_hvps_with_unit_vectors() {
    for case in test_functions() {
        let h = functional::hessian(case.f, &case.at);
        let n = h.shape()[0];
        let mut e: Vec<Tensor<f64>> = case.at.iter().map(Tensor::zeros_like).collect();
        let mut k = 0;
        for input in 0..e.len() {
            for index in 0..e[input].numel() {
                e[input].make_mut()[index] = 1.0;
                let column = flat(&functional::hvp(case.f, &case.at, &e));
                e[input].make_mut()[index] = 0.0;
                let from_hessian: Vec<f64> = (0..n).map(|i| h.get(&[i, k])).collect();
                assert!(
                    max_abs_diff(&column, &from_hessian) < 1e-12,
                    "{}: column {k} of the Hessian differs from H e_{k}",
                    case.name
                );
                k += 1;
            }
        }
    }
}

#[test]
fn rosenbrock_hessian_matches_the_textbook_formula() {
    let x = vec![-1.2, 1.0, 0.8, 1.3, 0.5];
    let n = x.len();
    // d2/dx_i^2 = 1200 x_i^2 - 400 x_{i+1} + 2 (i < n-1), plus 200 (i > 0);
    // d2/dx_i dx_{i+1} = -400 x_i
    let mut expected = vec![0.0; n * n];
    for i in 0..n {
        if i + 1 < n {
            expected[i * n + i] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
            expected[i * n + i + 1] = -400.0 * x[i];
            expected[(i + 1) * n + i] = -400.0 * x[i];
        }
        if i > 0 {
            expected[i * n + i] += 200.0;
        }
    }
    let h = functional::hessian(rosenbrock::<f64>, &[Tensor::from_vec(x, &[n])]);
    assert!(
        relative_error(&h.to_vec(), &expected) < 1e-14,
        "H = {:?}, expected {expected:?}",
        h.to_vec()
    );
}

#[test]
fn hessian_over_several_inputs_orders_rows_by_input_then_element() {
    // f(x [2], y [2, 1]) = x0^2 y0 + x1 y1^3: every entry known by hand
    let f = |_: &Tape<f64>, p: &[Var<f64>]| {
        let x0 = p[0].narrow(0, 0, 1);
        let x1 = p[0].narrow(0, 1, 1);
        let y0 = p[1].narrow(0, 0, 1).flatten();
        let y1 = p[1].narrow(0, 1, 1).flatten();
        (&x0.square() * &y0).sum() + (&x1 * &y1.powf(3.0)).sum()
    };
    let (x0, x1, y0, y1) = (0.5, -1.5, 2.0, 0.7);
    let at = [
        Tensor::from_vec(vec![x0, x1], &[2]),
        Tensor::from_vec(vec![y0, y1], &[2, 1]),
    ];
    #[rustfmt::skip]
    let expected = vec![
        2.0 * y0, 0.0,                 2.0 * x0, 0.0,
        0.0,      0.0,                 0.0,      3.0 * y1 * y1,
        2.0 * x0, 0.0,                 0.0,      0.0,
        0.0,      3.0 * y1 * y1,       0.0,      6.0 * x1 * y1,
    ];
    let h = functional::hessian(f, &at);
    assert_eq!(h.shape(), &[4, 4]);
    assert!(
        max_abs_diff(&h.to_vec(), &expected) < 1e-14,
        "H = {:?}, expected {expected:?}",
        h.to_vec()
    );
}
