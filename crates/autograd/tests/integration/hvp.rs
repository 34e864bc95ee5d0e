//! Hessian-vector products against central finite differences of the
//! gradient, and a third derivative against finite differences of HVPs.

use crate::common;

use common::{
    finite_difference_hvp, flat, random_like, relative_error, shifted, test_functions,
    third_derivative_contraction, TestFunction,
};
use curvature_autograd::{functional, Tape, Tensor, Var};

/// The finite-difference step: central differences err by O(h^2) in
/// truncation and O(eps / h) in rounding, both near 1e-10 at h = 1e-5.
const STEP: f64 = 1e-5;
const TOLERANCE: f64 = 1e-6;

/// The worst relative error of `functional::hvp` against finite
/// differences of the gradient over three random directions.
fn worst_hvp_error(case: &TestFunction) -> f64 {
    let mut worst: f64 = 0.0;
    for seed in 1..=3 {
        let v = random_like(&case.at, seed);
        let hv = flat(&functional::hvp(case.f, &case.at, &v));
        let fd = finite_difference_hvp(&case.f, &case.at, &v, STEP);
        let error = relative_error(&hv, &fd);
        assert!(
            error < TOLERANCE,
            "{}: HVP differs from finite differences by {error:.3e} (relative) along direction {seed}",
            case.name
        );
        worst = worst.max(error);
    }
    eprintln!("{}: worst relative HVP error {worst:.3e}", case.name);
    worst
}

fn case(name: &str) -> TestFunction {
    test_functions()
        .into_iter()
        .find(|c| c.name.starts_with(name))
        .expect("a test function of that name")
}

#[test]
fn hvp_matches_finite_differences_on_tanh_mlp_with_mse() {
    worst_hvp_error(&case("tanh MLP"));
}

#[test]
fn hvp_matches_finite_differences_on_sigmoid_mlp_with_cross_entropy() {
    worst_hvp_error(&case("sigmoid MLP"));
}

#[test]
fn hvp_matches_finite_differences_on_rosenbrock() {
    worst_hvp_error(&case("Rosenbrock"));
}

#[test]
fn hvp_matches_finite_differences_on_exp_log_sqrt_softplus_div_pow_mix() {
    worst_hvp_error(&case("exp/log"));
}

#[test]
fn hvp_by_hand_on_one_tape_matches_functional_hvp() {
    for case in test_functions() {
        let v = random_like(&case.at, 7);
        let tape = Tape::new();
        let x: Vec<Var<f64>> = case.at.iter().map(|t| tape.var(t)).collect();
        let y = (case.f)(&tape, &x);
        let g = tape.grad_graph(&y, &x);
        let gv = g
            .iter()
            .zip(&v)
            .map(|(g, v)| (g * &tape.constant(v)).sum())
            .reduce(|a, b| &a + &b)
            .expect("at least one input");
        let by_hand = flat(&tape.grad(&gv, &x));
        let functional = flat(&functional::hvp(case.f, &case.at, &v));
        assert!(
            relative_error(&by_hand, &functional) < 1e-14,
            "{}: HVP by hand and functional::hvp differ",
            case.name
        );
    }
}

#[test]
fn hvp_is_linear_in_the_direction() {
    for case in test_functions() {
        let (u, w) = (random_like(&case.at, 1), random_like(&case.at, 2));
        let combined: Vec<Tensor<f64>> = u
            .iter()
            .zip(&w)
            .map(|(u, w)| &(u * 2.0) + &(w * -3.0))
            .collect();
        let hu = flat(&functional::hvp(case.f, &case.at, &u));
        let hw = flat(&functional::hvp(case.f, &case.at, &w));
        let expected: Vec<f64> = hu.iter().zip(&hw).map(|(a, b)| 2.0 * a - 3.0 * b).collect();
        let actual = flat(&functional::hvp(case.f, &case.at, &combined));
        assert!(
            relative_error(&actual, &expected) < 1e-12,
            "{}: H(2u - 3w) != 2 Hu - 3 Hw",
            case.name
        );
    }
}

#[test]
fn third_derivative_matches_finite_differences_of_hvps() {
    let mut worst: f64 = 0.0;
    for case in test_functions() {
        let (u, v) = (random_like(&case.at, 3), random_like(&case.at, 4));
        let third = third_derivative_contraction(case.f, &case.at, &u, &v);
        // d/dx_k of u^T H(x) v, by central differences of exact HVPs
        let u_flat = flat(&u);
        let n = third.len();
        let mut fd = Vec::with_capacity(n);
        let mut e: Vec<Tensor<f64>> = case.at.iter().map(Tensor::zeros_like).collect();
        for k in 0..n {
            let (input, index) = locate(&case.at, k);
            e[input].make_mut()[index] = 1.0;
            let plus = flat(&functional::hvp(case.f, shifted(&case.at, &e, STEP), &v));
            let minus = flat(&functional::hvp(case.f, shifted(&case.at, &e, -STEP), &v));
            e[input].make_mut()[index] = 0.0;
            let uhv = |hv: &[f64]| hv.iter().zip(&u_flat).map(|(a, b)| a * b).sum::<f64>();
            fd.push((uhv(&plus) - uhv(&minus)) / (2.0 * STEP));
        }
        let error = relative_error(&third, &fd);
        eprintln!("{}: third derivative relative error {error:.3e}", case.name);
        assert!(
            error < TOLERANCE,
            "{}: third derivative differs from finite differences of HVPs by {error:.3e}",
            case.name
        );
        worst = worst.max(error);
    }
    eprintln!("worst third-derivative relative error {worst:.3e}");
}

/// The (input, element) of flat index `k` over several tensors.
fn locate(tensors: &[Tensor<f64>], mut k: usize) -> (usize, usize) {
    for (i, t) in tensors.iter().enumerate() {
        if k < t.numel() {
            return (i, k);
        }
        k -= t.numel();
    }
    panic!("flat index out of range");
}
