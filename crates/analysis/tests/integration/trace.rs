//! Hutchinson's trace against the exact trace.

use curvature_analysis::{hutchinson_trace, AnalysisError, SymmetricOperator, TraceOptions};

use crate::common::{with_spectrum, Dense};

#[test]
fn trace_is_within_its_standard_error_of_the_exact_trace() {
    let s: Vec<f64> = (0..40).map(|i| ((i * 37) % 11) as f64 - 2.0).collect();
    let exact: f64 = s.iter().sum();
    let op = Dense {
        n: s.len(),
        a: with_spectrum(&s, 4),
    };
    let mut within_one = 0;
    let seeds = 20;
    for seed in 0..seeds {
        let options = TraceOptions {
            seed,
            tolerance: 1e-3,
            min_samples: 20,
            max_samples: 200,
        };
        let t = hutchinson_trace(&op, &options).unwrap();
        assert!(t.std_error > 0.0);
        assert_eq!(t.hvps as usize, t.samples.len());
        let z = (t.estimate - exact).abs() / t.std_error;
        assert!(
            z < 3.5,
            "seed {seed}: {} vs {exact}, std error {}",
            t.estimate,
            t.std_error
        );
        if z <= 1.0 {
            within_one += 1;
        }
    }
    // about 68% of normal draws fall within one standard error
    assert!(
        within_one >= 9,
        "only {within_one} of {seeds} within one standard error"
    );
}

#[test]
fn trace_of_a_diagonal_operator_is_exact_with_zero_error() {
    let d = [4.0, -1.5, 0.25, 9.0, 3.0];
    let mut a = vec![0.0; 25];
    for (i, x) in d.iter().enumerate() {
        a[i * 5 + i] = *x;
    }
    let t = hutchinson_trace(&Dense { n: 5, a }, &TraceOptions::default()).unwrap();
    assert_eq!(t.estimate, d.iter().sum::<f64>());
    assert_eq!(t.std_error, 0.0);
    assert!(t.converged);
}

#[test]
fn a_tighter_tolerance_draws_more_samples() {
    let s: Vec<f64> = (0..30).map(|i| i as f64 * 0.5 - 3.0).collect();
    let op = Dense {
        n: 30,
        a: with_spectrum(&s, 6),
    };
    let loose = hutchinson_trace(
        &op,
        &TraceOptions {
            tolerance: 1e-1,
            min_samples: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let tight = hutchinson_trace(
        &op,
        &TraceOptions {
            tolerance: 1e-4,
            min_samples: 2,
            max_samples: 1000,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(tight.hvps > loose.hvps, "{} vs {}", tight.hvps, loose.hvps);
    // the same seed draws the same first vectors
    assert_eq!(loose.samples[..], tight.samples[..loose.samples.len()]);
}

#[test]
fn trace_options_are_checked() {
    let op = Dense {
        n: 2,
        a: vec![1.0, 0.0, 0.0, 1.0],
    };
    for tolerance in [0.0, -1e-3, f64::NAN, f64::INFINITY] {
        let err = hutchinson_trace(
            &op,
            &TraceOptions {
                tolerance,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, AnalysisError::InvalidTolerance { what: "trace", .. }),
            "{err}"
        );
    }
    let err = hutchinson_trace(
        &op,
        &TraceOptions {
            min_samples: 20,
            max_samples: 10,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            AnalysisError::InvalidOption {
                name: "max_samples",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(op.dim(), 2);
}
