//! The operator on a small tanh MLP against its exact Hessian.

use curvature_analysis::{
    hutchinson_trace, layer_curvature, top_eigenvalues, EigenMethod, EigenOptions, HessianOperator,
    SymmetricOperator, TraceOptions,
};
use curvature_autograd::{functional, Tape, Tensor, Var};

use crate::common::{
    block, cross_entropy, exact_eigenvalues, exact_mlp_hessian, mlp_logits, mlp_loss,
    relative_error, small_mlp, Batch,
};

fn columns(op: &dyn SymmetricOperator) -> Vec<f64> {
    let n = op.dim();
    let mut h = vec![0.0; n * n];
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        for (i, x) in op.apply(&e).unwrap().into_iter().enumerate() {
            h[i * n + j] = x;
        }
    }
    h
}

#[test]
fn operator_averages_the_batch_hessians_and_counts_its_products() {
    let (params, batches) = small_mlp(3, 5, 3, 3, 8, 1);
    let n: usize = params.iter().map(Tensor::numel).sum();
    let op = HessianOperator::new(&params, mlp_loss, &batches).unwrap();
    assert_eq!(op.dim(), n);
    let exact = exact_mlp_hessian(&params, &batches);
    let h = columns(&op);
    for (a, b) in h.iter().zip(&exact) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    assert_eq!(op.hvp_count(), n as u64);
    assert_eq!(op.batch_hvp_count(), 3 * n as u64);
    // one batch: that batch's Hessian
    let single = HessianOperator::new(&params, mlp_loss, &batches[1..2]).unwrap();
    let exact_one = exact_mlp_hessian(&params, &batches[1..2]);
    for (a, b) in columns(&single).iter().zip(&exact_one) {
        assert!((a - b).abs() < 1e-12);
    }
    // weights: batch 1 counts three times as much as each other
    let weighted = HessianOperator::new(&params, mlp_loss, &batches)
        .unwrap()
        .with_batch_weights(&[1.0, 3.0, 1.0])
        .unwrap();
    let exact_all: Vec<Vec<f64>> = (0..3)
        .map(|b| exact_mlp_hessian(&params, &batches[b..b + 1]))
        .collect();
    for (k, a) in columns(&weighted).iter().enumerate() {
        let expected = (exact_all[0][k] + 3.0 * exact_all[1][k] + exact_all[2][k]) / 5.0;
        assert!((a - expected).abs() < 1e-12);
    }
}

#[test]
fn mlp_top_eigenvalues_and_trace_match_the_exact_hessian() {
    let (params, batches) = small_mlp(3, 5, 3, 3, 8, 2);
    let op = HessianOperator::new(&params, mlp_loss, &batches).unwrap();
    let n = op.dim();
    let h = exact_mlp_hessian(&params, &batches);
    let exact = exact_eigenvalues(&h, n);
    let options = EigenOptions {
        tolerance: 1e-10,
        ..Default::default()
    };
    let top = top_eigenvalues(&op, 3, &options).unwrap();
    assert!(top.converged);
    let worst = top
        .values
        .iter()
        .zip(&exact)
        .map(|(g, e)| relative_error(*g, *e))
        .fold(0.0, f64::max);
    println!(
        "MLP, n = {n}: top 3 by Lanczos in {} HVPs, worst relative error {worst:.1e}",
        top.hvps
    );
    for (got, e) in top.values.iter().zip(&exact) {
        assert!(relative_error(*got, *e) < 1e-8, "{got} vs {e}");
    }
    let power = top_eigenvalues(
        &op,
        1,
        &EigenOptions {
            method: EigenMethod::PowerIteration,
            tolerance: 1e-12,
            max_iterations: 2000,
            ..options
        },
    )
    .unwrap();
    assert!(
        relative_error(power.values[0], exact[0]) < 1e-6,
        "{} vs {}",
        power.values[0],
        exact[0]
    );

    let trace_exact: f64 = (0..n).map(|i| h[i * n + i]).sum();
    let trace = hutchinson_trace(
        &op,
        &TraceOptions {
            min_samples: 30,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        (trace.estimate - trace_exact).abs() < 3.5 * trace.std_error,
        "{} +- {} vs {trace_exact}",
        trace.estimate,
        trace.std_error
    );
}

#[test]
fn lanczos_spends_fewer_products_than_power_iteration_for_the_same_tolerance() {
    let (params, batches) = small_mlp(4, 8, 3, 2, 16, 3);
    let op = HessianOperator::new(&params, mlp_loss, &batches).unwrap();
    let n = op.dim();
    let exact = exact_eigenvalues(&exact_mlp_hessian(&params, &batches), n);
    // power iteration finds the largest magnitudes: compare like with like
    let magnitude: Vec<f64> = {
        let mut m = exact.clone();
        m.sort_by(|a, b| b.abs().total_cmp(&a.abs()));
        m
    };
    for (k, tolerance) in [(1, 1e-3), (1, 1e-6), (3, 1e-3), (3, 1e-6)] {
        let base = EigenOptions {
            tolerance,
            max_iterations: 1000,
            ..Default::default()
        };
        let lanczos = top_eigenvalues(
            &op,
            k,
            &EigenOptions {
                which: curvature_analysis::Which::LargestMagnitude,
                max_iterations: n,
                ..base
            },
        )
        .unwrap();
        let power = top_eigenvalues(
            &op,
            k,
            &EigenOptions {
                method: EigenMethod::PowerIteration,
                ..base
            },
        )
        .unwrap();
        let worst = |values: &[f64]| {
            values
                .iter()
                .zip(&magnitude)
                .map(|(g, e)| relative_error(*g, *e))
                .fold(0.0, f64::max)
        };
        println!(
            "k = {k}, tolerance {tolerance:e}: Lanczos {} HVPs (max relative error {:.1e}), \
             power iteration {} HVPs ({:.1e})",
            lanczos.hvps,
            worst(&lanczos.values),
            power.hvps,
            worst(&power.values)
        );
        assert!(lanczos.converged && power.converged);
        assert!(
            lanczos.hvps < power.hvps,
            "{} vs {}",
            lanczos.hvps,
            power.hvps
        );
        assert!(worst(&lanczos.values) <= worst(&power.values).max(1e-12));
    }
}

#[test]
fn per_layer_figures_are_those_of_the_diagonal_blocks() {
    let (params, batches) = small_mlp(3, 4, 3, 2, 8, 4);
    let op = HessianOperator::new(&params, mlp_loss, &batches).unwrap();
    let n = op.dim();
    let h = exact_mlp_hessian(&params, &batches);
    let eig = EigenOptions {
        tolerance: 1e-11,
        ..Default::default()
    };
    let trace = TraceOptions {
        min_samples: 30,
        ..Default::default()
    };
    let layers = layer_curvature(&op, &eig, &trace).unwrap();
    assert_eq!(layers.len(), 4);
    let mut total_trace = 0.0;
    for (layer, b) in layers.iter().zip(op.blocks()) {
        assert_eq!(layer.name, b.name);
        let sub = block(&h, n, b.offset, b.len);
        let exact = exact_eigenvalues(&sub, b.len);
        assert!(
            (layer.top_eigenvalue - exact[0]).abs() < 1e-8 * exact[0].abs().max(1e-3),
            "{}: {} vs {}",
            layer.name,
            layer.top_eigenvalue,
            exact[0]
        );
        let exact_trace: f64 = exact.iter().sum();
        assert!(
            (layer.trace - exact_trace).abs() <= 3.5 * layer.trace_std_error + 1e-12,
            "{}: {} +- {} vs {exact_trace}",
            layer.name,
            layer.trace,
            layer.trace_std_error
        );
        total_trace += exact_trace;
    }
    let whole: f64 = (0..n).map(|i| h[i * n + i]).sum();
    assert!((total_trace - whole).abs() < 1e-12);
    // restricting by name gives the block itself
    let last = op.restrict_to(&["3", "1"]).unwrap();
    assert_eq!(
        last.blocks()
            .iter()
            .map(|b| b.name.as_str())
            .collect::<Vec<_>>(),
        ["1", "3"]
    );
    assert_eq!(last.dim(), 4 + 3);
}

/// `J^T H_l J` averaged over the batches, by explicit Jacobians.
fn exact_gauss_newton(params: &[Tensor<f64>], batches: &[Batch]) -> Vec<f64> {
    let n: usize = params.iter().map(Tensor::numel).sum();
    let mut g = vec![0.0; n * n];
    for (x, labels) in batches {
        let logits = |tape: &Tape<f64>, p: &[Var<f64>]| mlp_logits(tape, p, x);
        let jac = functional::jacobian(logits, params);
        let outputs = labels.len() * 3;
        // J as [outputs, n]
        let mut j = vec![0.0; outputs * n];
        let mut col = 0;
        for part in &jac {
            let width = part.numel() / outputs;
            let data = part.to_vec();
            for r in 0..outputs {
                for c in 0..width {
                    j[r * n + col + c] = data[r * width + c];
                }
            }
            col += width;
        }
        let tape = Tape::new();
        let constants: Vec<Var<f64>> = params.iter().map(|p| tape.constant(p)).collect();
        let z0 = mlp_logits(&tape, &constants, x).value();
        let hl = functional::hessian(
            |_: &Tape<f64>, p: &[Var<f64>]| cross_entropy(&p[0], labels),
            [&z0],
        )
        .to_vec();
        for a in 0..n {
            for b in 0..n {
                let mut sum = 0.0;
                for r in 0..outputs {
                    for s in 0..outputs {
                        sum += j[r * n + a] * hl[r * outputs + s] * j[s * n + b];
                    }
                }
                g[a * n + b] += sum / batches.len() as f64;
            }
        }
    }
    g
}

#[test]
fn gauss_newton_operator_is_j_transpose_h_j_and_positive_semidefinite() {
    let (params, batches) = small_mlp(2, 3, 3, 2, 4, 5);
    let model = |tape: &Tape<f64>, p: &[Var<f64>], b: &Batch| mlp_logits(tape, p, &b.0);
    let loss = |y: &Var<f64>, b: &Batch| cross_entropy(y, &b.1);
    let gn = HessianOperator::gauss_newton(&params, model, loss, &batches).unwrap();
    assert!(gn.is_gauss_newton());
    let exact = exact_gauss_newton(&params, &batches);
    let g = columns(&gn);
    for (a, b) in g.iter().zip(&exact) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    let n = gn.dim();
    let eigen = exact_eigenvalues(&g, n);
    assert!(
        eigen[n - 1] > -1e-12,
        "smallest eigenvalue {}",
        eigen[n - 1]
    );
    // and it differs from H on a nonlinear model
    let h = exact_mlp_hessian(&params, &batches);
    assert!(h.iter().zip(&g).any(|(a, b)| (a - b).abs() > 1e-3));
}
