//! Top eigenvalues of quadratic forms with known spectra.

use curvature_analysis::{
    top_eigenvalues, EigenMethod, EigenOptions, HessianOperator, SymmetricOperator, Which,
};
use curvature_autograd::{Tape, Tensor, Var};

use crate::common::{exact_eigenvalues, relative_error, with_spectrum, Dense};

/// 60 eigenvalues: a few well separated at the top, a bulk, some negative.
fn spectrum() -> Vec<f64> {
    let mut s = vec![50.0, 31.0, 20.0, 12.5, 8.0];
    s.extend((0..50).map(|i| 0.1 * i as f64 - 1.0));
    s.extend([-3.0, -7.5, -12.0, -40.0, -0.01]);
    s
}

fn check_pairs(op: &Dense, values: &[f64], vectors: &[Vec<f64>], exact: &[f64], tol: f64) {
    for (i, (value, x)) in values.iter().zip(vectors).enumerate() {
        assert!(
            relative_error(*value, exact[i]) < tol,
            "eigenvalue {i}: {value} vs exact {}",
            exact[i]
        );
        let ax = op.apply(x).unwrap();
        let residual: f64 = ax
            .iter()
            .zip(x)
            .map(|(a, x)| (a - value * x).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(
            residual < 1e-6 * exact[0].abs(),
            "residual {residual} of pair {i}"
        );
        let unit: f64 = x.iter().map(|v| v * v).sum();
        assert!((unit - 1.0).abs() < 1e-12);
    }
}

#[test]
fn lanczos_finds_each_end_of_a_known_spectrum_to_1e_8() {
    let s = spectrum();
    let n = s.len();
    let op = Dense {
        n,
        a: with_spectrum(&s, 11),
    };
    let exact = exact_eigenvalues(&op.a, n);
    // nalgebra agrees with the spectrum we built
    let mut sorted = s.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    for (e, k) in exact.iter().zip(&sorted) {
        assert!((e - k).abs() < 1e-12 * 50.0);
    }
    let options = EigenOptions {
        tolerance: 1e-10,
        ..Default::default()
    };
    let top = top_eigenvalues(&op, 5, &options).unwrap();
    assert!(top.converged);
    let worst = top
        .values
        .iter()
        .zip(&exact)
        .map(|(g, e)| relative_error(*g, *e))
        .fold(0.0, f64::max);
    println!(
        "known spectrum, n = {n}: top 5 by Lanczos in {} HVPs, worst relative error {worst:.1e}",
        top.hvps
    );
    check_pairs(&op, &top.values, &top.vectors, &exact, 1e-8);
    assert!(top.hvps < n as u64, "{} products for n = {n}", top.hvps);

    let bottom = top_eigenvalues(
        &op,
        3,
        &EigenOptions {
            which: Which::Smallest,
            ..options
        },
    )
    .unwrap();
    let exact_bottom: Vec<f64> = exact.iter().rev().copied().collect();
    check_pairs(&op, &bottom.values, &bottom.vectors, &exact_bottom, 1e-8);

    let magnitude = top_eigenvalues(
        &op,
        2,
        &EigenOptions {
            which: Which::LargestMagnitude,
            ..options
        },
    )
    .unwrap();
    assert!(relative_error(magnitude.values[0], 50.0) < 1e-8);
    assert!(relative_error(magnitude.values[1], -40.0) < 1e-8);
}

#[test]
fn power_iteration_with_deflation_finds_the_largest_magnitudes() {
    // well separated magnitudes so that power iteration converges in time
    let mut s = vec![10.0, -6.0, 3.0];
    s.extend((0..27).map(|i| 0.05 * i as f64));
    let n = s.len();
    let op = Dense {
        n,
        a: with_spectrum(&s, 5),
    };
    let options = EigenOptions {
        method: EigenMethod::PowerIteration,
        tolerance: 1e-14,
        max_iterations: 500,
        ..Default::default()
    };
    let top = top_eigenvalues(&op, 3, &options).unwrap();
    for (got, exact) in top.values.iter().zip([10.0, -6.0, 3.0]) {
        assert!(relative_error(*got, exact) < 1e-8, "{got} vs {exact}");
    }
    // the eigenvectors are orthonormal (deflation) and are eigenvectors
    for i in 0..3 {
        for j in 0..3 {
            let d: f64 = top.vectors[i]
                .iter()
                .zip(&top.vectors[j])
                .map(|(a, b)| a * b)
                .sum();
            assert!(
                (d - if i == j { 1.0 } else { 0.0 }).abs() < 1e-8,
                "{i} {j} {d}"
            );
        }
    }
}

#[test]
fn lanczos_recovers_a_repeated_eigenvalue_by_restarting() {
    // a Krylov space holds one copy of each eigenvalue: only restarts
    // after the exact breakdown can find 5 three times
    let mut s = vec![5.0, 5.0, 5.0, 2.0];
    s.extend(std::iter::repeat_n(1.0, 8));
    let n = s.len();
    let op = Dense {
        n,
        a: with_spectrum(&s, 2),
    };
    let top = top_eigenvalues(
        &op,
        4,
        &EigenOptions {
            tolerance: 1e-9,
            ..Default::default()
        },
    )
    .unwrap();
    for (got, exact) in top.values.iter().zip([5.0, 5.0, 5.0, 2.0]) {
        assert!((got - exact).abs() < 1e-9, "{:?}", top.values);
    }
    assert!(top.converged);
}

#[test]
fn eigenvalues_are_reproducible_and_depend_on_the_seed_only_through_rounding() {
    let s = spectrum();
    let op = Dense {
        n: s.len(),
        a: with_spectrum(&s, 3),
    };
    let options = EigenOptions {
        tolerance: 1e-6,
        seed: 7,
        ..Default::default()
    };
    let a = top_eigenvalues(&op, 2, &options).unwrap();
    let b = top_eigenvalues(&op, 2, &options).unwrap();
    assert_eq!(a, b);
    let c = top_eigenvalues(&op, 2, &EigenOptions { seed: 8, ..options }).unwrap();
    assert_ne!(a.vectors, c.vectors);
    assert!(relative_error(a.values[0], c.values[0]) < 1e-8);
}

#[test]
fn the_hessian_operator_of_a_quadratic_loss_has_its_matrix_spectrum() {
    // loss 1/2 x^T A x + b^T x through the tape: H = A
    let s: Vec<f64> = (0..24)
        .map(|i| (i as f64 - 4.0) * 0.75 + if i == 23 { 9.0 } else { 0.0 })
        .collect();
    let n = s.len();
    let a = Tensor::from_vec(with_spectrum(&s, 9), &[n, n]);
    let b = Tensor::from_vec((0..n).map(|i| i as f64).collect(), &[n, 1]);
    let params = vec![Tensor::from_vec(vec![0.3; n], &[n, 1])];
    let loss = |tape: &Tape<f64>, p: &[Var<f64>], _: &()| {
        let ax = tape.constant(&a).matmul(&p[0]);
        (&p[0] * &ax).sum() * 0.5 + (&p[0] * &b).sum()
    };
    let op = HessianOperator::new(&params, loss, &[()]).unwrap();
    let exact = exact_eigenvalues(&a.to_vec(), n);
    let top = top_eigenvalues(
        &op,
        3,
        &EigenOptions {
            tolerance: 1e-11,
            ..Default::default()
        },
    )
    .unwrap();
    for (got, e) in top.values.iter().zip(&exact) {
        assert!(relative_error(*got, *e) < 1e-8, "{got} vs {e}");
    }
    assert_eq!(op.hvp_count(), top.hvps);
}
