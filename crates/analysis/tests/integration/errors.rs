//! Bad input: each a named error, the parameters unchanged.

use curvature_analysis::{
    hutchinson_trace, loss_landscape_1d, spectral_density, top_eigenvalues, AnalysisError,
    DensityOptions, EigenMethod, EigenOptions, HessianOperator, TraceOptions,
};
use curvature_autograd::{Tape, Tensor, Var};

use crate::common::{mlp_loss, small_mlp, Batch};

#[test]
fn k_larger_than_the_parameter_count_is_an_error() {
    let (params, batches) = small_mlp(2, 2, 2, 1, 4, 0);
    let op = HessianOperator::new(&params, mlp_loss, &batches).unwrap();
    let n = 2 * 2 + 2 + 2 * 2 + 2;
    for method in [EigenMethod::Lanczos, EigenMethod::PowerIteration] {
        let options = EigenOptions {
            method,
            ..Default::default()
        };
        let err = top_eigenvalues(&op, n + 1, &options).unwrap_err();
        assert_eq!(
            err,
            AnalysisError::TooManyEigenvalues {
                k: n + 1,
                dimension: n
            }
        );
        assert!(
            err.to_string().contains("asked for 13 eigenvalues"),
            "{err}"
        );
        assert!(matches!(
            top_eigenvalues(&op, 0, &options).unwrap_err(),
            AnalysisError::InvalidOption { name: "k", .. }
        ));
    }
    // k equal to the dimension works, and finds the whole spectrum
    let all = top_eigenvalues(
        &op,
        n,
        &EigenOptions {
            max_iterations: n,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(all.values.len(), n);
    assert_eq!(op.hvp_count(), all.hvps);
}

#[test]
fn zero_batches_is_an_error() {
    let (params, _) = small_mlp(2, 2, 2, 1, 4, 0);
    let none: Vec<Batch> = Vec::new();
    let err = HessianOperator::new(&params, mlp_loss, &none).unwrap_err();
    assert_eq!(err, AnalysisError::NoBatches);
    let err = HessianOperator::new(&params, mlp_loss, &small_mlp(2, 2, 2, 2, 4, 0).1)
        .unwrap()
        .with_batch_weights(&[1.0])
        .unwrap_err();
    assert!(matches!(err, AnalysisError::BatchWeights { .. }), "{err}");
}

#[test]
fn a_tolerance_at_or_below_zero_is_an_error() {
    let (params, batches) = small_mlp(2, 2, 2, 1, 4, 0);
    let op = HessianOperator::new(&params, mlp_loss, &batches).unwrap();
    for tolerance in [0.0, -1e-3, f64::NAN] {
        for method in [EigenMethod::Lanczos, EigenMethod::PowerIteration] {
            let err = top_eigenvalues(
                &op,
                1,
                &EigenOptions {
                    method,
                    tolerance,
                    ..Default::default()
                },
            )
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    AnalysisError::InvalidTolerance {
                        what: "eigenvalue",
                        ..
                    }
                ),
                "{err}"
            );
        }
        let err = hutchinson_trace(
            &op,
            &TraceOptions {
                tolerance,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(matches!(
            err,
            AnalysisError::InvalidTolerance { what: "trace", .. }
        ));
    }
    let err = spectral_density(
        &op,
        &DensityOptions {
            steps: 0,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(
        err,
        AnalysisError::InvalidOption { name: "steps", .. }
    ));
    // nothing was computed for a refused request
    assert_eq!(op.hvp_count(), 0);
}

#[test]
fn an_unknown_parameter_name_is_an_error() {
    let (params, batches) = small_mlp(2, 2, 2, 1, 4, 0);
    let op = HessianOperator::new(&params, mlp_loss, &batches).unwrap();
    let err = op.restrict_to(&["0", "fc.weight"]).unwrap_err();
    assert_eq!(
        err,
        AnalysisError::UnknownParameter {
            name: "fc.weight".into(),
            known: vec!["0".into(), "1".into(), "2".into(), "3".into()]
        }
    );
    assert!(matches!(
        op.restrict_to(&["1", "1"]).unwrap_err(),
        AnalysisError::DuplicateParameter { .. }
    ));
    assert!(matches!(
        op.restrict_to::<&str>(&[]).unwrap_err(),
        AnalysisError::NoParameters
    ));
}

#[test]
fn a_loss_that_turns_non_finite_is_an_error_and_the_parameters_are_unchanged() {
    // the loss is finite on every batch but the last, whose input has a NaN
    let (params, mut batches) = small_mlp(2, 3, 2, 3, 4, 0);
    let before: Vec<Vec<f64>> = params.iter().map(Tensor::to_vec).collect();
    let mut x = batches[2].0.to_vec();
    x[3] = f64::NAN;
    batches[2].0 = Tensor::from_vec(x, &[4, 2]);
    let op = HessianOperator::new(&params, mlp_loss, &batches).unwrap();
    let err = top_eigenvalues(&op, 1, &EigenOptions::default()).unwrap_err();
    assert!(
        matches!(err, AnalysisError::NonFiniteLoss { batch: 2, .. }),
        "{err}"
    );
    let err = hutchinson_trace(&op, &TraceOptions::default()).unwrap_err();
    assert!(matches!(err, AnalysisError::NonFiniteLoss { batch: 2, .. }));
    assert_eq!(
        params.iter().map(Tensor::to_vec).collect::<Vec<_>>(),
        before
    );

    // a loss finite here but not along a direction: log of a sum
    let params = vec![Tensor::from_vec(vec![1.0_f64, 2.0], &[2])];
    let log_loss = |_: &Tape<f64>, p: &[Var<f64>], _: &()| p[0].sum().log();
    let op = HessianOperator::new(&params, log_loss, &[()]).unwrap();
    let err = loss_landscape_1d(&op, &[1.0, 1.0], &[0.0, -1.0, -2.0]).unwrap_err();
    assert!(
        matches!(err, AnalysisError::NonFiniteLoss { batch: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("not finite"));
    assert_eq!(params[0].to_vec(), vec![1.0, 2.0]);
    assert_eq!(op.flatten_parameters(), vec![1.0, 2.0]);
    assert!(op.loss().unwrap().is_finite());
    // a wrong-length direction is refused
    assert!(matches!(
        loss_landscape_1d(&op, &[1.0], &[0.0]).unwrap_err(),
        AnalysisError::Dimension {
            got: 1,
            dimension: 2,
            ..
        }
    ));
}

#[test]
fn a_loss_with_more_than_one_element_is_an_error() {
    let params = vec![Tensor::from_vec(vec![1.0_f64, 2.0], &[2])];
    let op = HessianOperator::new(
        &params,
        |_: &Tape<f64>, p: &[Var<f64>], _: &()| p[0].square(),
        &[()],
    )
    .unwrap();
    let err = top_eigenvalues(&op, 1, &EigenOptions::default()).unwrap_err();
    assert_eq!(err, AnalysisError::LossNotScalar { shape: vec![2] });
}
