//! SGD, Adam and AdamW against their published update rules (PyTorch's
//! documentation), computed independently here in plain f64 arithmetic,
//! step by step; and their saved state.

use curvature_autograd::{Tape, Tensor, Var};
use curvature_optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, FirstOrderOptimizer, OptimError, Optimizer, Sgd,
    SgdConfig,
};

/// f(w) = sum(c w^2 / 2 + e w): gradient c w + e.
const C: [f64; 3] = [1.0, 4.0, 0.5];
const E: [f64; 3] = [0.3, -1.0, 2.0];
const W0: [f64; 3] = [1.0, -2.0, 0.5];
const STEPS: usize = 6;

fn loss(_: &Vec<Tensor<f64>>, tape: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    let c = tape.constant(Tensor::from_vec(C.to_vec(), &[3]));
    let e = tape.constant(Tensor::from_vec(E.to_vec(), &[3]));
    (&(&p[0].square() * &c) * 0.5 + &p[0] * &e).sum()
}

fn gradient(w: &[f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| C[i] * w[i] + E[i])
}

fn value(w: &[f64; 3]) -> f64 {
    (0..3).map(|i| 0.5 * C[i] * w[i] * w[i] + E[i] * w[i]).sum()
}

/// Runs `opt` for STEPS steps and compares every iterate (and the returned
/// loss) with `expected`, the hand-computed iterates.
fn matches_by_hand<O: Optimizer<f64>>(name: &str, mut opt: O, expected: &[[f64; 3]]) {
    let mut params = vec![Tensor::from_vec(W0.to_vec(), &[3])];
    let mut before = W0;
    for (t, want) in expected.iter().enumerate() {
        let l = opt.step(&mut params, loss).unwrap();
        assert!(
            (l - value(&before)).abs() < 1e-12,
            "{name} step {}: loss {l}",
            t + 1
        );
        for (got, want) in params[0].as_slice().iter().zip(want) {
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1e-3),
                "{name} step {}: {got} vs {want}",
                t + 1
            );
        }
        before = *want;
    }
    assert_eq!(opt.step_count(), expected.len() as u64);
}

/// PyTorch's SGD algorithm, as documented.
fn sgd_by_hand(lr: f64, momentum: f64, dampening: f64, nesterov: bool, wd: f64) -> Vec<[f64; 3]> {
    let (mut w, mut b) = (W0, [0.0; 3]);
    let mut out = Vec::new();
    for t in 1..=STEPS {
        let mut g = gradient(&w);
        for i in 0..3 {
            if wd != 0.0 {
                g[i] += wd * w[i];
            }
            if momentum != 0.0 {
                b[i] = if t > 1 {
                    momentum * b[i] + (1.0 - dampening) * g[i]
                } else {
                    g[i]
                };
                g[i] = if nesterov {
                    g[i] + momentum * b[i]
                } else {
                    b[i]
                };
            }
            w[i] -= lr * g[i];
        }
        out.push(w);
    }
    out
}

/// PyTorch's Adam (L2 decay) or AdamW (decoupled decay), as documented.
fn adam_by_hand(lr: f64, betas: (f64, f64), eps: f64, wd: f64, decoupled: bool) -> Vec<[f64; 3]> {
    let (mut w, mut m, mut v) = (W0, [0.0; 3], [0.0; 3]);
    let mut out = Vec::new();
    for t in 1..=STEPS as i32 {
        let mut g = gradient(&w);
        for i in 0..3 {
            if decoupled {
                w[i] -= lr * wd * w[i];
            } else {
                g[i] += wd * w[i];
            }
            m[i] = betas.0 * m[i] + (1.0 - betas.0) * g[i];
            v[i] = betas.1 * v[i] + (1.0 - betas.1) * g[i] * g[i];
            let m_hat = m[i] / (1.0 - betas.0.powi(t));
            let v_hat = v[i] / (1.0 - betas.1.powi(t));
            w[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
        out.push(w);
    }
    out
}

#[test]
fn sgd_matches_the_published_formula_with_and_without_momentum() {
    let sgd = |c: SgdConfig| Sgd::new(c).unwrap();
    matches_by_hand(
        "plain",
        sgd(SgdConfig::new(0.1)),
        &sgd_by_hand(0.1, 0.0, 0.0, false, 0.0),
    );
    let c = SgdConfig {
        momentum: 0.9,
        ..SgdConfig::new(0.05)
    };
    matches_by_hand("momentum", sgd(c), &sgd_by_hand(0.05, 0.9, 0.0, false, 0.0));
    let c = SgdConfig {
        momentum: 0.8,
        dampening: 0.3,
        ..SgdConfig::new(0.05)
    };
    matches_by_hand(
        "dampening",
        sgd(c),
        &sgd_by_hand(0.05, 0.8, 0.3, false, 0.0),
    );
    let c = SgdConfig {
        momentum: 0.9,
        nesterov: true,
        ..SgdConfig::new(0.05)
    };
    matches_by_hand("nesterov", sgd(c), &sgd_by_hand(0.05, 0.9, 0.0, true, 0.0));
    let c = SgdConfig {
        momentum: 0.9,
        weight_decay: 0.1,
        ..SgdConfig::new(0.05)
    };
    matches_by_hand(
        "momentum + wd",
        sgd(c),
        &sgd_by_hand(0.05, 0.9, 0.0, false, 0.1),
    );
    let c = SgdConfig {
        weight_decay: 0.2,
        ..SgdConfig::new(0.1)
    };
    matches_by_hand("wd", sgd(c), &sgd_by_hand(0.1, 0.0, 0.0, false, 0.2));
    let c = SgdConfig {
        momentum: 0.5,
        nesterov: true,
        weight_decay: 0.05,
        ..SgdConfig::new(0.1)
    };
    matches_by_hand(
        "nesterov + wd",
        sgd(c),
        &sgd_by_hand(0.1, 0.5, 0.0, true, 0.05),
    );
}

#[test]
fn adam_matches_the_published_formula() {
    let adam = |c: AdamConfig| Adam::new(c).unwrap();
    let c = AdamConfig {
        lr: 0.1,
        ..Default::default()
    };
    matches_by_hand(
        "adam",
        adam(c),
        &adam_by_hand(0.1, (0.9, 0.999), 1e-8, 0.0, false),
    );
    let c = AdamConfig {
        lr: 0.05,
        betas: (0.8, 0.95),
        eps: 1e-3,
        weight_decay: 0.0,
    };
    matches_by_hand(
        "adam betas",
        adam(c),
        &adam_by_hand(0.05, (0.8, 0.95), 1e-3, 0.0, false),
    );
    let c = AdamConfig {
        lr: 0.1,
        weight_decay: 0.3,
        ..Default::default()
    };
    matches_by_hand(
        "adam L2",
        adam(c),
        &adam_by_hand(0.1, (0.9, 0.999), 1e-8, 0.3, false),
    );
}

#[test]
fn adamw_matches_the_published_formula_with_decoupled_decay() {
    let adamw = |c: AdamWConfig| AdamW::new(c).unwrap();
    let c = AdamWConfig {
        lr: 0.1,
        ..Default::default()
    };
    matches_by_hand(
        "adamw default wd",
        adamw(c),
        &adam_by_hand(0.1, (0.9, 0.999), 1e-8, 1e-2, true),
    );
    let c = AdamWConfig {
        lr: 0.05,
        weight_decay: 0.5,
        betas: (0.5, 0.9),
        eps: 1e-4,
    };
    matches_by_hand(
        "adamw",
        adamw(c),
        &adam_by_hand(0.05, (0.5, 0.9), 1e-4, 0.5, true),
    );
    // decoupled and coupled decay differ
    assert_ne!(
        adam_by_hand(0.1, (0.9, 0.999), 1e-8, 0.3, true),
        adam_by_hand(0.1, (0.9, 0.999), 1e-8, 0.3, false)
    );
}

#[test]
fn step_with_grads_is_the_same_update_from_given_gradients() {
    let mut by_closure = vec![Tensor::from_vec(W0.to_vec(), &[3])];
    let mut by_grads = by_closure.clone();
    let mut a = Adam::new(AdamConfig {
        lr: 0.1,
        ..Default::default()
    })
    .unwrap();
    let mut b = Adam::new(AdamConfig {
        lr: 0.1,
        ..Default::default()
    })
    .unwrap();
    for _ in 0..STEPS {
        a.step(&mut by_closure, loss).unwrap();
        let w: [f64; 3] = by_grads[0].to_vec().try_into().unwrap();
        b.step_with_grads(
            &mut by_grads,
            &[Tensor::from_vec(gradient(&w).to_vec(), &[3])],
        )
        .unwrap();
    }
    assert_eq!(by_closure, by_grads);
    // wrong count, wrong shape, non-finite: errors, nothing changed
    let e = b.step_with_grads(&mut by_grads, &[]).unwrap_err();
    assert!(
        matches!(
            e,
            OptimError::Count {
                expected: 1,
                got: 0,
                ..
            }
        ),
        "{e}"
    );
    let e = b
        .step_with_grads(&mut by_grads, &[Tensor::zeros(&[2])])
        .unwrap_err();
    assert!(matches!(e, OptimError::Shape { .. }), "{e}");
    let e = b
        .step_with_grads(
            &mut by_grads,
            &[Tensor::from_vec(vec![0.0, f64::NAN, 0.0], &[3])],
        )
        .unwrap_err();
    assert!(e.to_string().contains("gradient of parameter 0"), "{e}");
    assert_eq!(by_closure, by_grads);
    assert_eq!(b.step_count(), STEPS as u64);
}

#[test]
fn saved_states_resume_exactly_and_mismatched_ones_are_refused() {
    fn resume<O: Optimizer<f64>>(make: impl Fn() -> O) {
        let mut params = vec![Tensor::from_vec(W0.to_vec(), &[3])];
        let mut opt = make();
        for _ in 0..3 {
            opt.step(&mut params, loss).unwrap();
        }
        let (saved, mut resumed_params) = (opt.state(), params.clone());
        let mut resumed = make();
        resumed.load_state(&saved).unwrap();
        for _ in 0..3 {
            opt.step(&mut params, loss).unwrap();
            resumed.step(&mut resumed_params, loss).unwrap();
        }
        assert_eq!(params, resumed_params);
        // the restored buffers have the old shapes: a different model is refused
        let mut other = vec![Tensor::<f64>::zeros(&[4])];
        let mut fresh = make();
        fresh.load_state(&saved).unwrap();
        let e = fresh.step(&mut other, |_, _, p| p[0].sum()).unwrap_err();
        assert!(matches!(e, OptimError::Shape { .. }), "{e}");
        // and a sized optimizer refuses a state of other shapes
        let mut sized = make();
        sized
            .step(&mut other, |_, _, p| p[0].square().sum())
            .unwrap();
        assert!(sized.load_state(&saved).is_err());
    }
    resume(|| {
        Sgd::new(SgdConfig {
            momentum: 0.9,
            ..SgdConfig::new(0.05)
        })
        .unwrap()
    });
    resume(|| {
        Adam::new(AdamConfig {
            lr: 0.1,
            ..Default::default()
        })
        .unwrap()
    });
    resume(|| {
        AdamW::new(AdamWConfig {
            lr: 0.1,
            ..Default::default()
        })
        .unwrap()
    });

    let sgd = Sgd::<f64>::new(SgdConfig::new(0.1)).unwrap();
    let e = Adam::<f64>::new(AdamConfig::default())
        .unwrap()
        .load_state(&sgd.state())
        .unwrap_err();
    assert!(e.to_string().contains("saved by sgd"), "{e}");
}

#[test]
fn a_non_finite_loss_is_an_error_and_changes_nothing() {
    let mut params = vec![Tensor::from_vec(W0.to_vec(), &[3])];
    let mut sgd = Sgd::new(SgdConfig::new(0.1)).unwrap();
    let e = sgd
        .step(&mut params, |_, _, p| p[0].log().sum())
        .unwrap_err();
    assert!(
        matches!(e, OptimError::NonFiniteLoss { step: 1, .. }),
        "{e}"
    );
    assert_eq!(params[0].to_vec(), W0.to_vec());
    assert_eq!(sgd.step_count(), 0);
}
