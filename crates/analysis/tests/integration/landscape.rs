//! Loss landscapes along eigenvectors of a quadratic loss.

use curvature_analysis::{
    loss_landscape_1d, loss_landscape_2d, top_eigenvalues, EigenOptions, HessianOperator,
};
use curvature_autograd::{Tape, Tensor, Var};

use crate::common::with_spectrum;

#[test]
fn landscape_along_eigenvectors_of_a_quadratic_is_its_parabola_and_leaves_parameters_alone() {
    let s: Vec<f64> = (0..12).map(|i| i as f64 - 3.0).collect();
    let n = s.len();
    let a = Tensor::from_vec(with_spectrum(&s, 3), &[n, n]);
    let b = Tensor::from_vec((0..n).map(|i| (i as f64).sin()).collect(), &[n, 1]);
    let params = vec![Tensor::from_vec(
        (0..n).map(|i| i as f64 * 0.1).collect(),
        &[n, 1],
    )];
    let before = params[0].to_vec();
    let loss = |tape: &Tape<f64>, p: &[Var<f64>], _: &()| {
        (&p[0] * &tape.constant(&a).matmul(&p[0])).sum() * 0.5 + (&p[0] * &b).sum()
    };
    let op = HessianOperator::new(&params, loss, &[()]).unwrap();
    let top = top_eigenvalues(
        &op,
        2,
        &EigenOptions {
            tolerance: 1e-12,
            ..Default::default()
        },
    )
    .unwrap();
    let (v1, v2) = (&top.vectors[0], &top.vectors[1]);
    // gradient at theta: A theta + b
    let theta = op.flatten_parameters();
    let grad: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| a.get(&[i, j]) * theta[j]).sum::<f64>() + b.get(&[i, 0]))
        .collect();
    let slope = |v: &[f64]| grad.iter().zip(v).map(|(g, v)| g * v).sum::<f64>();
    let l0 = op.loss().unwrap();
    let alphas: Vec<f64> = (-4..=4).map(|i| i as f64 * 0.25).collect();
    let line = loss_landscape_1d(&op, v1, &alphas).unwrap();
    for (alpha, l) in alphas.iter().zip(&line.losses) {
        let exact = l0 + alpha * slope(v1) + 0.5 * top.values[0] * alpha * alpha;
        assert!((l - exact).abs() < 1e-10, "{alpha}: {l} vs {exact}");
    }
    let plane = loss_landscape_2d(&op, v1, v2, &alphas, &alphas[2..6]).unwrap();
    assert_eq!((plane.losses.len(), plane.losses[0].len()), (9, 4));
    for (i, alpha) in alphas.iter().enumerate() {
        for (j, beta) in alphas[2..6].iter().enumerate() {
            let exact = l0
                + alpha * slope(v1)
                + beta * slope(v2)
                + 0.5 * (top.values[0] * alpha * alpha + top.values[1] * beta * beta);
            assert!((plane.losses[i][j] - exact).abs() < 1e-10);
        }
    }
    // the parameters and the operator's copy are bit for bit as before
    assert_eq!(params[0].to_vec(), before);
    assert_eq!(op.flatten_parameters(), theta);
    assert_eq!(op.loss().unwrap(), l0);
    assert_eq!(op.loss_evaluation_count(), 1 + 9 + 36 + 1);
}
