//! Sophia-H: one step against hand-computed values with the step's own
//! Rademacher draw, the clip on negative curvature, the refresh schedule,
//! refusals and state.

use crate::common;

use common::rosenbrock;
use curvature_autograd::{seeded_rng, Tape, Tensor, Var};
use curvature_optim::{HutchinsonDraws, OptimError, Optimizer, SophiaH, SophiaHConfig};

/// f(w) = 1/2 w^T A w with a dense A = [[2, 1], [1, 3]]: z ⊙ Az is not diag(A).
fn dense_quadratic(_: &Vec<Tensor<f64>>, tape: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    let a = tape.constant(Tensor::from_vec(vec![2.0, 1.0, 1.0, 3.0], &[2, 2]));
    let w = p[0].reshape(&[2, 1]);
    (&w * &a.matmul(&w)).sum() * 0.5
}

#[test]
fn sophia_h_one_step_matches_the_hand_computed_update_with_the_drawn_z() {
    let config = SophiaHConfig {
        lr: 0.1,
        betas: (0.5, 0.2),
        gamma: 1.0,
        weight_decay: 0.1,
        seed: 7,
        ..SophiaHConfig::default()
    };
    let mut params = vec![Tensor::from_vec(vec![1.0_f64, -1.0], &[2])];
    let mut opt = SophiaH::new(config.clone()).unwrap();
    opt.step(&mut params, dense_quadratic).unwrap();

    // the z of step 1, drawn as the driver draws it
    let draws = HutchinsonDraws::at_step(7, 1, 1);
    let z = Tensor::<f64>::rademacher(&[2], &mut seeded_rng(draws.seed)).to_vec();
    let (w, g) = ([1.0, -1.0], [2.0 - 1.0, 1.0 - 3.0]); // g = A w
    let az = [2.0 * z[0] + z[1], z[0] + 3.0 * z[1]];
    let mut expected = [0.0; 2];
    let mut h = [0.0; 2];
    for j in 0..2 {
        let m = (1.0 - 0.5) * g[j];
        h[j] = (1.0 - 0.2) * z[j] * az[j];
        let ratio: f64 = m / (1.0 * h[j]).max(1e-12);
        expected[j] = w[j] * (1.0 - 0.1 * 0.1) - 0.1 * ratio.clamp(-1.0, 1.0);
    }
    let got = params[0].to_vec();
    for j in 0..2 {
        assert!(
            (got[j] - expected[j]).abs() < 1e-15,
            "{got:?} vs {expected:?} (z {z:?})"
        );
    }
    assert_eq!(opt.hessian_diagonal()[0].to_vec(), h.to_vec());
    assert_eq!(opt.hvp_count(), 1);
}

#[test]
fn sophia_h_clips_to_a_sign_step_where_the_curvature_is_negative() {
    // f = -x^2 at x = 1: h = -2 (1 - beta2) < 0, the ratio is clipped to
    // -1 and x moves by lr away from the maximum
    let mut params = vec![Tensor::scalar(1.0_f64)];
    let mut opt = SophiaH::new(SophiaHConfig {
        lr: 0.01,
        ..SophiaHConfig::default()
    })
    .unwrap();
    opt.step(&mut params, |_, _, p| -p[0].square()).unwrap();
    assert_eq!(params[0].item(), 1.0 + 0.01);
}

#[test]
fn sophia_h_refreshes_the_estimate_every_update_each_steps() {
    let mut params = vec![Tensor::from_vec(vec![1.0_f64, -1.0], &[2])];
    let mut opt = SophiaH::new(SophiaHConfig {
        update_each: 3,
        n_samples: 2,
        ..SophiaHConfig::default()
    })
    .unwrap();
    let mut seen = Vec::new();
    for _ in 0..7 {
        opt.step(&mut params, dense_quadratic).unwrap();
        seen.push(opt.hvp_count());
    }
    // steps 1, 4 and 7 refresh, with 2 draws each
    assert_eq!(seen, [2, 2, 2, 4, 4, 4, 6]);
}

#[test]
fn sophia_h_invalid_hyperparameters_name_themselves_and_their_value() {
    let d = SophiaHConfig::default;
    for (config, expected) in [
        (SophiaHConfig { lr: 0.0, ..d() }, "lr = 0"),
        (
            SophiaHConfig {
                betas: (1.0, 0.99),
                ..d()
            },
            "betas.0 = 1",
        ),
        (
            SophiaHConfig {
                betas: (0.9, -0.1),
                ..d()
            },
            "betas.1 = -0.1",
        ),
        (SophiaHConfig { gamma: 0.0, ..d() }, "gamma = 0"),
        (
            SophiaHConfig {
                eps: f64::NAN,
                ..d()
            },
            "eps = NaN",
        ),
        (
            SophiaHConfig {
                weight_decay: -1.0,
                ..d()
            },
            "weight_decay = -1",
        ),
        (
            SophiaHConfig {
                update_each: 0,
                ..d()
            },
            "update_each = 0",
        ),
        (
            SophiaHConfig {
                n_samples: 0,
                ..d()
            },
            "n_samples = 0",
        ),
    ] {
        let e = SophiaH::<f64>::new(config).unwrap_err().to_string();
        assert!(e.contains(expected), "{e} should contain {expected}");
    }
}

#[test]
fn sophia_h_state_round_trips_and_resumes_identically() {
    let config = SophiaHConfig {
        lr: 0.01,
        update_each: 2,
        ..SophiaHConfig::default()
    };
    let mut a = SophiaH::new(config.clone()).unwrap();
    let mut pa = vec![Tensor::scalar(-1.5_f64), Tensor::scalar(2.0)];
    for _ in 0..5 {
        a.step(&mut pa, rosenbrock).unwrap();
    }
    let saved = a.state();
    let mut b = SophiaH::new(config).unwrap();
    b.load_state(&saved).unwrap();
    assert_eq!(b.state(), saved);
    let mut pb = pa.clone();
    for _ in 0..5 {
        a.step(&mut pa, rosenbrock).unwrap();
        b.step(&mut pb, rosenbrock).unwrap();
    }
    assert_eq!(pa, pb, "the draws are a function of (seed, step)");
    // a later step with other shapes is refused, nothing changes
    let mut other = vec![Tensor::zeros(&[2])];
    let e = b
        .step(&mut other, |_, _, p| p[0].square().sum())
        .unwrap_err();
    assert!(
        matches!(e, OptimError::Count { .. } | OptimError::Shape { .. }),
        "{e}"
    );
    assert_eq!(b.step_count(), 10);
}
