//! Hutchinson's estimate of the Hessian's diagonal, `mean(z ⊙ Hz)` over
//! Rademacher `z`: exact for a diagonal Hessian, unbiased for the diagonal
//! (not the row sums) of a dense one.

use crate::common;

use common::{max_abs_diff, randn};
use curvature_autograd::{functional, seeded_rng, Tape, Tensor, Var};

/// A separable function: its Hessian is diagonal, with
/// `d2/dx_i^2 = exp(x_i / 2) / 4 + 12 c_i x_i^2 - sin x_i` (and likewise in `y`).
fn separable(tape: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    let c = tape.constant(coefficients());
    let (x, y) = (&p[0], &p[1]);
    let fx = (&x.mul_scalar(0.5).exp() + &(&x.powf(4.0) * &c)) + x.sin();
    let fy = y.square().mul_scalar(1.5) + y.cos();
    fx.sum() + fy.sum()
}

fn coefficients() -> Tensor<f64> {
    Tensor::from_vec(vec![0.5, 1.0, 2.0, 0.25, 1.5], &[5])
}

fn separable_diagonal(x: &Tensor<f64>, y: &Tensor<f64>) -> (Vec<f64>, Vec<f64>) {
    let c = coefficients().to_vec();
    let dx = x
        .to_vec()
        .iter()
        .zip(&c)
        .map(|(&x, &c)| (0.5 * x).exp() / 4.0 + 12.0 * c * x * x - x.sin())
        .collect();
    let dy = y.to_vec().iter().map(|&y| 3.0 - y.cos()).collect();
    (dx, dy)
}

#[test]
fn hutchinson_is_exact_on_a_diagonal_hessian_for_every_draw() {
    let x = randn(&[5], 1);
    let y = randn(&[2, 2], 2);
    let (dx, dy) = separable_diagonal(&x, &y);
    for seed in 0..8 {
        let at = [x.clone(), y.clone()];
        let d = functional::hutchinson_diagonal(separable, &at, 1, &mut seeded_rng(seed));
        assert_eq!(d[0].shape(), &[5]);
        assert_eq!(d[1].shape(), &[2, 2]);
        assert!(
            max_abs_diff(&d[0].to_vec(), &dx) < 1e-12,
            "seed {seed}: {:?} != {dx:?}",
            d[0].to_vec()
        );
        assert!(max_abs_diff(&d[1].to_vec(), &dy) < 1e-12, "seed {seed}");
    }
}

/// A dense symmetric matrix whose row sums differ from its diagonal.
#[rustfmt::skip]
const A: [f64; 16] = [
     4.0,  1.5, -2.0,  1.0,
     1.5,  3.0,  1.0, -1.5,
    -2.0,  1.0,  5.0,  2.0,
     1.0, -1.5,  2.0,  2.0,
];

/// `0.5 x^T A x`: Hessian `A`.
fn dense_quadratic(tape: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    let a = tape.constant(Tensor::from_vec(A.to_vec(), &[4, 4]));
    let x = p[0].unsqueeze(1);
    x.matmul_tn(&a.matmul(&x)).sum().mul_scalar(0.5)
}

#[test]
fn hutchinson_converges_to_the_diagonal_not_the_row_sums_of_a_dense_hessian() {
    let diagonal: Vec<f64> = (0..4).map(|i| A[i * 4 + i]).collect();
    let row_sums: Vec<f64> = (0..4).map(|i| A[i * 4..i * 4 + 4].iter().sum()).collect();
    // per draw, entry i has variance sum_{j != i} A_ij^2 (at most 9 here),
    // so over 4,000 draws its standard deviation is at most 0.05
    let n_samples = 4_000;
    let x = [randn(&[4], 3)];
    let estimate =
        functional::hutchinson_diagonal(dense_quadratic, &x, n_samples, &mut seeded_rng(4));
    let estimate = estimate[0].to_vec();
    let error = max_abs_diff(&estimate, &diagonal);
    eprintln!("Hutchinson over {n_samples} draws: {estimate:?}, max error {error:.3e}");
    assert!(
        error < 0.2,
        "{estimate:?} is not close to the diagonal {diagonal:?}"
    );
    for i in 0..4 {
        assert!(
            (estimate[i] - row_sums[i]).abs() > 0.3,
            "entry {i}: {} is close to the row sum {}",
            estimate[i],
            row_sums[i]
        );
    }
    // a single draw is far off: the average is what converges
    let one = functional::hutchinson_diagonal(dense_quadratic, &x, 1, &mut seeded_rng(4));
    assert!(max_abs_diff(&one[0].to_vec(), &diagonal) > 5.0 * error);
}

#[test]
fn hutchinson_rademacher_draws_take_both_signs() {
    // f = x0 x1: z ⊙ Hz = [z0 z1, z0 z1], which is -1 exactly when the two
    // draws differ in sign
    let f = |_: &Tape<f64>, p: &[Var<f64>]| (&p[0].narrow(0, 0, 1) * &p[0].narrow(0, 1, 1)).sum();
    let x = [Tensor::from_vec(vec![0.3, -0.8], &[2])];
    let mut products = Vec::new();
    for seed in 0..32 {
        let d = functional::hutchinson_diagonal(f, &x, 1, &mut seeded_rng(seed));
        let d = d[0].to_vec();
        assert_eq!(d[0], d[1]);
        assert!(d[0] == 1.0 || d[0] == -1.0, "z0 z1 = {}", d[0]);
        products.push(d[0]);
    }
    assert!(products.contains(&1.0), "the draws never agreed in sign");
    assert!(products.contains(&-1.0), "the draws never differed in sign");
    // and each coordinate takes both signs on its own
    let z = Tensor::<f64>::rademacher(&[2, 32], &mut seeded_rng(99)).to_vec();
    for row in z.chunks(32) {
        assert!(row.contains(&1.0) && row.contains(&-1.0), "{row:?}");
        assert!(row.iter().all(|&v| v == 1.0 || v == -1.0));
    }
}

#[test]
fn hutchinson_with_the_same_seed_gives_the_same_estimate() {
    let x = [randn(&[4], 5)];
    let a = functional::hutchinson_diagonal(dense_quadratic, &x, 3, &mut seeded_rng(8));
    let b = functional::hutchinson_diagonal(dense_quadratic, &x, 3, &mut seeded_rng(8));
    let c = functional::hutchinson_diagonal(dense_quadratic, &x, 3, &mut seeded_rng(9));
    assert_eq!(a[0], b[0]);
    assert_ne!(a[0], c[0]);
}

#[test]
#[should_panic(expected = "hutchinson_diagonal: n_samples must be at least 1")]
fn hutchinson_with_zero_samples_panics() {
    let x = [randn(&[4], 5)];
    let _ = functional::hutchinson_diagonal(dense_quadratic, &x, 0, &mut seeded_rng(1));
}
