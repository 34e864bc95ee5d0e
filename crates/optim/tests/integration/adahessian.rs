//! AdaHessian against its known oracles: one Newton step on a separable
//! quadratic, the eps-damped step in closed form, Hutchinson's estimator
//! converging to the Hessian's diagonal (not its row sums), the options
//! (`update_each`, `n_samples`, averaging, power, decay) and their checks.

use crate::common;

use common::{separable_quadratic, LossFn};
use curvature_autograd::{functional, seeded_rng, Parameters, Tape, Tensor, Var};
use curvature_optim::{AdaHessian, AdaHessianConfig, Averaging, Estimate, OptimError, Optimizer};

/// `f(w) = 1/2 w^T A w` for a symmetric `A` (row-major, `n x n`).
fn dense_quadratic(a: Vec<f64>, n: usize) -> impl LossFn<f64> {
    let a = Tensor::from_vec(a, &[n, n]);
    move |_, tape, p| {
        let w = p[0].reshape(&[n, 1]);
        w.t().matmul(&tape.constant(&a)).matmul(&w).sum() * 0.5
    }
}

fn newton_config(eps: f64, seed: u64) -> AdaHessianConfig {
    AdaHessianConfig {
        lr: 1.0,
        betas: (0.0, 0.0),
        eps,
        hessian_power: 1.0,
        seed,
        ..Default::default()
    }
}

#[test]
fn betas_zero_power_one_lr_one_eps_zero_reaches_a_separable_minimum_in_one_step_for_every_seed() {
    let d = vec![0.5, 1.0, 3.0, 10.0, 250.0, 1e4];
    let w0 = vec![1.0, -2.0, 0.3, 4.0, -0.7, 1e-3];
    let f = separable_quadratic(Tensor::from_vec(d.clone(), &[6]));
    for seed in 0..200 {
        let mut params = vec![Tensor::from_vec(w0.clone(), &[6])];
        let mut opt = AdaHessian::new(&params, newton_config(0.0, seed)).unwrap();
        opt.step(&mut params, &f).unwrap();
        for (w, w0) in params[0].as_slice().iter().zip(&w0) {
            assert!(w.abs() <= 1e-15 * w0.abs(), "seed {seed}: {w} from {w0}");
        }
        assert_eq!(
            opt.hessian_diagonal()[0].to_vec(),
            d,
            "D is exact when H is diagonal"
        );
    }
}

#[test]
fn one_newton_step_also_holds_in_f32() {
    let d = Tensor::<f32>::from_vec(vec![2.0, 40.0, 900.0], &[3]);
    let f = move |_: &Vec<Tensor<f32>>, tape: &Tape<f32>, p: &[Var<f32>]| {
        (&p[0].square() * &tape.constant(&d)).sum() * 0.5
    };
    for seed in 0..20 {
        let mut params = vec![Tensor::<f32>::from_vec(vec![1.0, -3.0, 0.5], &[3])];
        let mut opt = AdaHessian::new(&params, newton_config(0.0, seed)).unwrap();
        opt.step(&mut params, f.clone()).unwrap();
        assert!(
            params[0].as_slice().iter().all(|w| w.abs() < 1e-6),
            "{:?}",
            params[0]
        );
    }
}

#[test]
fn with_eps_the_one_step_iterate_is_w0_eps_over_d_plus_eps() {
    let eps = 1e-4;
    let d = vec![1e-4, 1e-2, 1.0, 7.0, 1e3];
    let w0 = vec![1.0, 2.0, -1.0, 0.5, 3.0];
    let f = separable_quadratic(Tensor::from_vec(d.clone(), &[5]));
    for seed in [0, 7, 99] {
        let mut params = vec![Tensor::from_vec(w0.clone(), &[5])];
        let mut opt = AdaHessian::new(&params, newton_config(eps, seed)).unwrap();
        opt.step(&mut params, &f).unwrap();
        for ((w, w0), d) in params[0].as_slice().iter().zip(&w0).zip(&d) {
            let want = w0 * eps / (d + eps);
            // w0 - w0 d / (d + eps) cancels: the rounding error is relative to w0
            assert!((w - want).abs() <= 1e-14 * w0.abs(), "{w} vs {want}");
            if *d <= 1.0 {
                assert!((w - want).abs() <= 1e-12 * want.abs(), "{w} vs {want}");
            }
        }
    }
}

/// A symmetric matrix whose off-diagonal entries dominate its first row,
/// so single draws of `(z ⊙ Hz)_0 = 1 + 2 z0 z1 + 0.5 z0 z2` take both signs.
const A: [f64; 9] = [1.0, 2.0, 0.5, 2.0, 3.0, 1.0, 0.5, 1.0, 2.0];
const DIAG: [f64; 3] = [1.0, 3.0, 2.0];
const ROW_SUMS: [f64; 3] = [3.5, 6.0, 3.5];

/// The per-step D of `steps` AdaHessian steps on `1/2 w^T A w` (the
/// Hessian is A everywhere, so each step's draws are fresh samples).
fn estimates(estimate: Estimate, n_samples: usize, steps: usize) -> Vec<Vec<f64>> {
    let f = dense_quadratic(A.to_vec(), 3);
    let mut params = vec![Tensor::from_vec(vec![0.1, -0.2, 0.3], &[3])];
    let config = AdaHessianConfig {
        lr: 1e-9,
        estimate,
        n_samples,
        seed: 42,
        ..Default::default()
    };
    let mut opt = AdaHessian::new(&params, config).unwrap();
    (0..steps)
        .map(|_| {
            opt.step(&mut params, &f).unwrap();
            opt.hessian_diagonal()[0].to_vec()
        })
        .collect()
}

fn mean(rows: &[Vec<f64>]) -> Vec<f64> {
    let n = rows.len() as f64;
    (0..rows[0].len())
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect()
}

#[test]
fn signed_draws_average_to_the_hessian_diagonal_not_its_row_sums() {
    let draws = estimates(Estimate::Signed, 1, 4000);
    let m = mean(&draws);
    for j in 0..3 {
        assert!(
            (m[j] - DIAG[j]).abs() < 0.1,
            "mean D {m:?} vs diag {DIAG:?}"
        );
        assert!(
            (m[j] - ROW_SUMS[j]).abs() > 1.0,
            "mean D {m:?} near row sums {ROW_SUMS:?}"
        );
    }
    // single draws take both signs on element 0 (they range over 1 ± 2 ± 0.5)
    let first: Vec<f64> = draws.iter().map(|d| d[0]).collect();
    assert!(first.iter().any(|&x| x < 0.0) && first.iter().any(|&x| x > 0.0));
    for x in first {
        assert!(
            [3.5, 2.5, -0.5, -1.5].iter().any(|v| (x - v).abs() < 1e-12),
            "{x}"
        );
    }
    // and the engine's own Hutchinson estimator agrees
    let a = Tensor::from_vec(A.to_vec(), &[3, 3]);
    let f = move |tape: &Tape<f64>, p: &[Var<f64>]| {
        let w = p[0].reshape(&[3, 1]);
        w.t().matmul(&tape.constant(&a)).matmul(&w).sum() * 0.5
    };
    let h = functional::hutchinson_diagonal(&f, &[Tensor::zeros(&[3])], 4000, &mut seeded_rng(1));
    for (h, m) in h[0].as_slice().iter().zip(&m) {
        assert!((h - m).abs() < 0.15, "{h} vs {m}");
    }
}

#[test]
fn the_absolute_estimate_is_the_mean_of_absolute_draws() {
    // E|1 + 2 z0 z1 + 0.5 z0 z2| = (3.5 + 2.5 + 0.5 + 1.5) / 4 = 2, not |H_00| = 1:
    // the authors' |z ⊙ Hz| is biased where H is far from diagonal.
    let draws = estimates(Estimate::Absolute, 1, 4000);
    assert!(draws.iter().flatten().all(|&x| x >= 0.0));
    let m = mean(&draws);
    assert!((m[0] - 2.0).abs() < 0.1, "{m:?}");
}

#[test]
fn n_samples_averages_that_many_draws_with_one_hvp_each() {
    // H = [[2, 1], [1, 5]]: (z ⊙ Hz)_0 = 2 + z0 z1, so the mean of 3 draws is
    // 2 + k/3 for k in {-3, -1, 1, 3}; a single draw is only 2 ± 1.
    let f = dense_quadratic(vec![2.0, 1.0, 1.0, 5.0], 2);
    let mut params = vec![Tensor::from_vec(vec![0.5, 0.5], &[2])];
    let config = AdaHessianConfig {
        lr: 1e-9,
        n_samples: 3,
        estimate: Estimate::Signed,
        ..Default::default()
    };
    let mut opt = AdaHessian::new(&params, config).unwrap();
    let mut thirds = 0;
    for step in 1..=300 {
        opt.step(&mut params, &f).unwrap();
        assert_eq!(opt.hvp_count(), 3 * step);
        let d0 = opt.hessian_diagonal()[0].as_slice()[0];
        let k = (d0 - 2.0) * 3.0;
        assert!(
            [-3.0, -1.0, 1.0, 3.0].iter().any(|v| (k - v).abs() < 1e-9),
            "{d0}"
        );
        if (k.abs() - 1.0).abs() < 1e-9 {
            thirds += 1;
        }
    }
    // P(|k| = 1) = 3/4
    assert!(
        (180..270).contains(&thirds),
        "{thirds} of 300 means were 2 ± 1/3"
    );
}

#[test]
fn update_each_n_performs_n_times_fewer_hvps_and_reuses_d_in_between() {
    let f = dense_quadratic(A.to_vec(), 3);
    let run = |update_each: usize, n_samples: usize| {
        let mut params = vec![Tensor::from_vec(vec![0.1, -0.2, 0.3], &[3])];
        let config = AdaHessianConfig {
            lr: 1e-3,
            update_each,
            n_samples,
            estimate: Estimate::Signed,
            ..Default::default()
        };
        let mut opt = AdaHessian::new(&params, config).unwrap();
        let mut ds = Vec::new();
        for _ in 0..20 {
            opt.step(&mut params, &f).unwrap();
            ds.push(opt.hessian_diagonal()[0].to_vec());
        }
        (opt.hvp_count(), ds)
    };
    let (every, _) = run(1, 1);
    let (fourth, ds) = run(4, 1);
    assert_eq!((every, fourth), (20, 5));
    assert_eq!(run(4, 2).0, 10);
    assert_eq!(run(7, 1).0, 3, "steps 1, 8 and 15");
    // D refreshes on steps 1, 5, 9, ... (indices 0, 4, 8, ...) and is reused in between
    for (i, d) in ds.iter().enumerate() {
        if i % 4 != 0 {
            assert_eq!(d, &ds[i - 1], "step {} changed D", i + 1);
        }
    }
    let refreshed: Vec<&Vec<f64>> = ds.iter().step_by(4).collect();
    assert!(
        refreshed.windows(2).any(|w| w[0] != w[1]),
        "new draws on refresh steps"
    );
}

#[test]
fn averaging_over_axes_and_blocks_gives_the_expected_means() {
    // f = 1/2 sum c ⊙ w^2 per parameter: H is diagonal, D = avg(c) exactly.
    let conv_c: Vec<f64> = (1..=16).map(f64::from).collect(); // [2, 2, 2, 2]
    let bias_c = vec![1.0, 3.0, 10.0, 20.0, 7.0]; // [5]
    let mat_c = vec![1.0, 2.0, 3.0, 6.0, 4.0, 4.0, 4.0, 4.0, 0.0, 0.0, 0.0, 8.0]; // [3, 4]
    let cs = [
        Tensor::from_vec(conv_c.clone(), &[2, 2, 2, 2]),
        Tensor::from_vec(bias_c.clone(), &[5]),
        Tensor::from_vec(mat_c.clone(), &[3, 4]),
    ];
    let f = move |_: &Vec<Tensor<f64>>, _: &Tape<f64>, p: &[Var<f64>]| {
        p.iter()
            .zip(&cs)
            .map(|(w, c)| (w.square() * c).sum() * 0.5)
            .reduce(|a, b| a + b)
            .unwrap()
    };
    let mut params = vec![
        Tensor::ones(&[2, 2, 2, 2]),
        Tensor::ones(&[5]),
        Tensor::ones(&[3, 4]),
    ];
    let config = AdaHessianConfig {
        averaging: Averaging::None,
        averaging_overrides: vec![
            (0, Averaging::conv_kernel()),
            (1, Averaging::Blocks(2)),
            (2, Averaging::Axes(vec![1])),
        ],
        ..Default::default()
    };
    let mut opt = AdaHessian::new(&params, config).unwrap();
    opt.step(&mut params, &f).unwrap();
    let d = opt.hessian_diagonal();
    // conv kernel [out, in, kh, kw]: one mean per (out, in) over the 4 taps
    let conv_want: Vec<f64> = [2.5, 6.5, 10.5, 14.5]
        .iter()
        .flat_map(|&m| [m; 4])
        .collect();
    assert_eq!(d[0].to_vec(), conv_want);
    // blocks of 2 consecutive elements; the fifth alone
    assert_eq!(d[1].to_vec(), vec![2.0, 2.0, 15.0, 15.0, 7.0]);
    // mean of each row
    assert_eq!(
        d[2].to_vec(),
        vec![3.0, 3.0, 3.0, 3.0, 4.0, 4.0, 4.0, 4.0, 2.0, 2.0, 2.0, 2.0]
    );
    assert_eq!(opt.averaging()[1], Averaging::Blocks(2));
}

/// Parameters with names, and a loss that reads the owner (as an `nn`
/// module would): the closure gets `&P` while the optimizer holds `&mut P`.
struct Named {
    weight: Tensor<f64>,
    bias: Tensor<f64>,
    scale: f64,
}

impl Parameters<f64> for Named {
    fn parameters(&self) -> Vec<&Tensor<f64>> {
        vec![&self.weight, &self.bias]
    }
    fn parameters_mut(&mut self) -> Vec<&mut Tensor<f64>> {
        vec![&mut self.weight, &mut self.bias]
    }
    fn parameter_names(&self) -> Vec<String> {
        vec!["layer.weight".into(), "layer.bias".into()]
    }
}

#[test]
fn an_averaging_the_rank_cannot_take_is_an_error_at_construction_naming_the_parameter() {
    let model = Named {
        weight: Tensor::zeros(&[4, 3, 5]),
        bias: Tensor::zeros(&[4]),
        scale: 1.0,
    };
    // the authors' conv rule on a 3-D tensor: their code silently reused another estimate
    let config = AdaHessianConfig {
        averaging_overrides: vec![(0, Averaging::conv_kernel())],
        ..Default::default()
    };
    let e = AdaHessian::<f64>::new(&model, config).unwrap_err();
    assert!(matches!(e, OptimError::Averaging { index: 0, .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("layer.weight") && msg.contains("[4, 3, 5]") && msg.contains("axis 3"),
        "{msg}"
    );
    // a default that one parameter cannot take is caught too
    let config = AdaHessianConfig {
        averaging: Averaging::Axes(vec![1]),
        ..Default::default()
    };
    let msg = AdaHessian::<f64>::new(&model, config)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("layer.bias"), "{msg}");
    // 5-D (a 3-D conv kernel): any declared axes that exist are taken as declared
    let five = vec![Tensor::<f64>::zeros(&[2, 2, 3, 3, 3])];
    let two_of_three = AdaHessianConfig {
        averaging: Averaging::conv_kernel(),
        ..Default::default()
    };
    assert!(
        AdaHessian::new(&five, two_of_three).is_ok(),
        "axes 2 and 3 exist in 5-D"
    );
    let bad = AdaHessianConfig {
        averaging: Averaging::Axes(vec![2, 3, 5]),
        ..Default::default()
    };
    assert!(AdaHessian::new(&five, bad).is_err());
    let config = AdaHessianConfig {
        averaging: Averaging::Axes(vec![2, 3, 4]),
        ..Default::default()
    };
    assert!(AdaHessian::new(&five, config).is_ok());
    // overrides for parameters that do not exist, and empty or repeated axes
    let config = AdaHessianConfig {
        averaging_overrides: vec![(5, Averaging::Blocks(2))],
        ..Default::default()
    };
    assert!(AdaHessian::<f64>::new(&model, config)
        .unwrap_err()
        .to_string()
        .contains("only 2 parameters"));
    let config = AdaHessianConfig {
        averaging: Averaging::Axes(vec![]),
        ..Default::default()
    };
    assert!(AdaHessian::<f64>::new(&model, config).is_err());
    let config = AdaHessianConfig {
        averaging: Averaging::Blocks(0),
        ..Default::default()
    };
    assert!(AdaHessian::<f64>::new(&model, config).is_err());
    // the authors' rule as overrides: rank-4 parameters only
    let mixed = vec![
        Tensor::<f64>::zeros(&[8, 3, 3, 3]),
        Tensor::zeros(&[8]),
        Tensor::zeros(&[10, 8]),
    ];
    assert_eq!(
        Averaging::conv_kernels_of(&mixed),
        vec![(0, Averaging::conv_kernel())]
    );
}

#[test]
fn invalid_hyperparameters_are_errors_naming_the_parameter_and_the_value() {
    let params = vec![Tensor::<f64>::zeros(&[2])];
    let cases: Vec<(AdaHessianConfig, &str)> = vec![
        (
            AdaHessianConfig {
                lr: 0.0,
                ..Default::default()
            },
            "lr = 0",
        ),
        (
            AdaHessianConfig {
                lr: -0.15,
                ..Default::default()
            },
            "lr = -0.15",
        ),
        (
            AdaHessianConfig {
                betas: (1.0, 0.999),
                ..Default::default()
            },
            "betas.0 = 1",
        ),
        (
            AdaHessianConfig {
                betas: (0.9, 1.5),
                ..Default::default()
            },
            "betas.1 = 1.5",
        ),
        (
            AdaHessianConfig {
                eps: -1e-4,
                ..Default::default()
            },
            "eps = -0.0001",
        ),
        (
            AdaHessianConfig {
                weight_decay: -1.0,
                ..Default::default()
            },
            "weight_decay = -1",
        ),
        (
            AdaHessianConfig {
                hessian_power: 0.0,
                ..Default::default()
            },
            "hessian_power = 0",
        ),
        (
            AdaHessianConfig {
                hessian_power: 1.5,
                ..Default::default()
            },
            "hessian_power = 1.5",
        ),
        (
            AdaHessianConfig {
                update_each: 0,
                ..Default::default()
            },
            "update_each = 0",
        ),
        (
            AdaHessianConfig {
                n_samples: 0,
                ..Default::default()
            },
            "n_samples = 0",
        ),
        (
            AdaHessianConfig {
                lr: f64::NAN,
                ..Default::default()
            },
            "lr = NaN",
        ),
    ];
    for (config, want) in cases {
        let e = AdaHessian::new(&params, config).unwrap_err();
        assert!(matches!(e, OptimError::InvalidHyperparameter { .. }));
        assert!(e.to_string().contains(want), "{e} should contain {want}");
    }
}

#[test]
fn three_steps_match_the_published_update_computed_by_hand() {
    // separable quadratic: D = d exactly, so every quantity is known
    let (lr, b1, b2, eps, wd, k) = (0.3, 0.9, 0.99, 1e-3, 0.05, 0.5);
    let d = [2.0, 50.0];
    let mut w = [1.0, -0.5];
    let f = separable_quadratic(Tensor::from_vec(d.to_vec(), &[2]));
    let mut params = vec![Tensor::from_vec(w.to_vec(), &[2])];
    let config = AdaHessianConfig {
        lr,
        betas: (b1, b2),
        eps,
        weight_decay: wd,
        hessian_power: k,
        ..Default::default()
    };
    let mut opt = AdaHessian::new(&params, config).unwrap();
    let (mut m, mut v) = ([0.0; 2], [0.0; 2]);
    for t in 1..=3 {
        let loss = opt.step(&mut params, &f).unwrap();
        assert!((loss - (0.5 * d[0] * w[0] * w[0] + 0.5 * d[1] * w[1] * w[1])).abs() < 1e-14);
        for i in 0..2 {
            let g = d[i] * w[i];
            m[i] = b1 * m[i] + (1.0 - b1) * g;
            v[i] = b2 * v[i] + (1.0 - b2) * d[i] * d[i];
            let m_hat = m[i] / (1.0 - f64::powi(b1, t));
            let v_hat = v[i] / (1.0 - f64::powi(b2, t));
            w[i] -= lr * (m_hat / (v_hat.powf(k / 2.0) + eps) + wd * w[i]);
        }
        for (got, want) in params[0].as_slice().iter().zip(&w) {
            assert!(
                (got - want).abs() < 1e-13 * want.abs().max(1.0),
                "step {t}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn weight_decay_is_decoupled_and_scaled_by_the_learning_rate() {
    // a loss that does not depend on w: no gradient, no curvature, only decay
    let mut params = vec![Tensor::from_vec(vec![2.0, -4.0], &[2])];
    let config = AdaHessianConfig {
        lr: 0.1,
        weight_decay: 0.5,
        ..Default::default()
    };
    let mut opt = AdaHessian::new(&params, config).unwrap();
    for _ in 0..3 {
        opt.step(&mut params, |_, tape, _| tape.scalar(1.0))
            .unwrap();
    }
    let shrink = (1.0_f64 - 0.1 * 0.5).powi(3);
    for (got, want) in params[0]
        .as_slice()
        .iter()
        .zip([2.0 * shrink, -4.0 * shrink])
    {
        assert!((got - want).abs() < 1e-15 * want.abs(), "{got} vs {want}");
    }
}

#[test]
fn non_finite_losses_and_gradients_are_errors_naming_the_parameter_and_change_nothing() {
    let mut model = Named {
        weight: Tensor::from_vec(vec![0.0, 1.0], &[2]),
        bias: Tensor::scalar(1.0),
        scale: 2.0,
    };
    let mut opt = AdaHessian::new(&model, AdaHessianConfig::default()).unwrap();
    // d/dw sqrt(w) is infinite at w = 0; the closure reads the owner's `scale`
    let e = opt
        .step(&mut model, |m, _, p| (p[0].sqrt().sum() + &p[1]) * m.scale)
        .unwrap_err();
    assert!(
        matches!(
            e,
            OptimError::NonFinite {
                what: "gradient",
                index: 0,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("layer.weight"), "{e}");
    let e = opt
        .step(&mut model, |_, tape, p| &p[1] * &tape.scalar(f64::NAN))
        .unwrap_err();
    assert!(matches!(e, OptimError::NonFiniteLoss { .. }), "{e}");
    assert_eq!(model.weight.to_vec(), vec![0.0, 1.0]);
    assert_eq!(opt.step_count(), 0);
    // a loss with more than one element is refused
    let e = opt.step(&mut model, |_, _, p| p[0].square()).unwrap_err();
    assert!(matches!(e, OptimError::LossNotScalar { .. }), "{e}");
    // and a finite one goes through, using the owner immutably
    let loss = opt
        .step(&mut model, |m, _, p| {
            (p[0].square().sum() + p[1].square()) * m.scale
        })
        .unwrap();
    assert_eq!(loss, 2.0 * (1.0 + 1.0));
    assert_eq!(opt.step_count(), 1);
}

#[test]
fn parameters_that_differ_from_those_it_was_built_for_are_refused() {
    let mut none: Vec<Tensor<f64>> = Vec::new();
    let mut opt = AdaHessian::new(&none, AdaHessianConfig::default()).unwrap();
    assert_eq!(
        opt.step(&mut none, |_, tape, _| tape.scalar(2.0)).unwrap(),
        2.0
    );
    let mut one = vec![Tensor::from_vec(vec![1.0, 2.0], &[2])];
    let e = opt.step(&mut one, |_, _, p| p[0].sum()).unwrap_err();
    assert!(
        matches!(
            e,
            OptimError::Count {
                expected: 0,
                got: 1,
                ..
            }
        ),
        "{e}"
    );
    let mut opt = AdaHessian::new(&one, AdaHessianConfig::default()).unwrap();
    let mut other = vec![Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3])];
    let e = opt.step(&mut other, |_, _, p| p[0].sum()).unwrap_err();
    assert!(matches!(e, OptimError::Shape { index: 0, .. }), "{e}");
    assert_eq!(opt.step_count(), 0);
}

#[test]
fn parameters_are_updated_in_place_without_a_copy() {
    let f = separable_quadratic(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]));
    let mut params = vec![Tensor::from_vec(vec![1.0, 1.0, 1.0], &[3])];
    let mut opt = AdaHessian::new(&params, AdaHessianConfig::default()).unwrap();
    let before = params[0].as_slice().as_ptr();
    for _ in 0..3 {
        opt.step(&mut params, &f).unwrap();
    }
    assert_eq!(
        params[0].as_slice().as_ptr(),
        before,
        "the tape was dropped before the update"
    );
}

#[test]
fn a_saved_state_resumes_the_run_exactly() {
    let f = dense_quadratic(A.to_vec(), 3);
    let config = AdaHessianConfig {
        lr: 0.05,
        update_each: 3,
        n_samples: 2,
        seed: 9,
        ..Default::default()
    };
    let mut params = vec![Tensor::from_vec(vec![1.0, -1.0, 0.5], &[3])];
    let mut opt = AdaHessian::new(&params, config.clone()).unwrap();
    for _ in 0..7 {
        opt.step(&mut params, &f).unwrap();
    }
    let (saved, saved_params) = (opt.state(), params.clone());
    for _ in 0..5 {
        opt.step(&mut params, &f).unwrap();
    }
    let mut resumed_params = saved_params;
    let mut resumed = AdaHessian::new(&resumed_params, config).unwrap();
    resumed.load_state(&saved).unwrap();
    assert_eq!(resumed.step_count(), 7);
    for _ in 0..5 {
        resumed.step(&mut resumed_params, &f).unwrap();
    }
    assert_eq!(resumed_params, params, "bit for bit");
    assert_eq!(resumed.state(), opt.state());

    // a state for other shapes is refused
    let other = vec![Tensor::<f64>::zeros(&[4])];
    let mut wrong = AdaHessian::new(&other, AdaHessianConfig::default()).unwrap();
    let e = wrong.load_state(&saved).unwrap_err();
    assert!(e.to_string().contains("[4]"), "{e}");
}
