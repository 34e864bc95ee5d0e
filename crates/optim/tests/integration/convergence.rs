//! Every optimizer on known problems: Rosenbrock from two starts, Beale, a
//! small tanh MLP on two Gaussian blobs, and an ill-conditioned separable
//! quadratic where AdaHessian's curvature scaling should win. Learning
//! rates are tuned per optimizer (and stated); steps are counted, never timed.

use crate::common;

use common::{beale, blobs, mlp_loss, mlp_params, rosenbrock, separable_quadratic, Loss};
use curvature_autograd::{Tape, Tensor, Var};
use curvature_optim::{
    AdaHessian, AdaHessianConfig, Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, Sgd, SgdConfig,
};

/// Steps until the loss (evaluated before each update) first falls below
/// `tol`, within `budget` steps; and the final parameters.
fn steps_to<O, F>(
    opt: &mut O,
    params: &mut Vec<Tensor<f64>>,
    f: F,
    budget: usize,
    tol: f64,
) -> Option<usize>
where
    O: Optimizer<f64>,
    F: Fn(&Vec<Tensor<f64>>, &Tape<f64>, &[Var<f64>]) -> Var<f64>,
{
    for step in 0..budget {
        let loss = opt.step(params, &f).expect("a finite step");
        if loss < tol {
            return Some(step);
        }
    }
    None
}

fn point(x: f64, y: f64) -> Vec<Tensor<f64>> {
    vec![Tensor::scalar(x), Tensor::scalar(y)]
}

fn adahessian(params: &Vec<Tensor<f64>>, lr: f64, seed: u64) -> AdaHessian<f64> {
    AdaHessian::new(
        params,
        AdaHessianConfig {
            lr,
            seed,
            ..Default::default()
        },
    )
    .unwrap()
}

fn sgd_momentum(lr: f64, nesterov: bool) -> Sgd<f64> {
    Sgd::new(SgdConfig {
        momentum: 0.9,
        nesterov,
        ..SgdConfig::new(lr)
    })
    .unwrap()
}

fn adam(lr: f64) -> Adam<f64> {
    Adam::new(AdamConfig {
        lr,
        ..Default::default()
    })
    .unwrap()
}

fn adamw(lr: f64, weight_decay: f64) -> AdamW<f64> {
    AdamW::new(AdamWConfig {
        lr,
        weight_decay,
        ..Default::default()
    })
    .unwrap()
}

/// Runs every optimizer (with its tuned learning rate) on `f` from
/// `start`, asserting each reaches `tol` within `budget` steps and ends
/// near `minimum`; returns the steps taken, by optimizer.
fn every_optimizer_solves(
    f: Loss,
    start: (f64, f64),
    minimum: (f64, f64),
    lrs: &Lrs,
) -> Vec<(String, usize)> {
    const BUDGET: usize = 6000;
    const TOL: f64 = 1e-6;
    let mut report = Vec::new();
    let mut check = |name: String, steps: Option<usize>, p: &Vec<Tensor<f64>>| {
        let (x, y) = (p[0].item(), p[1].item());
        let steps = steps.unwrap_or_else(|| {
            panic!("{name} did not reach {TOL} in {BUDGET} steps from {start:?}: at ({x}, {y})")
        });
        assert!(
            (x - minimum.0).abs() < 1e-2 && (y - minimum.1).abs() < 1e-2,
            "{name} stopped at ({x}, {y})"
        );
        report.push((name, steps));
    };
    for seed in [0, 1, 2] {
        let mut p = point(start.0, start.1);
        let mut opt = adahessian(&p, lrs.adahessian, seed);
        let steps = steps_to(&mut opt, &mut p, f, BUDGET, TOL);
        check(
            format!("AdaHessian lr {} seed {seed}", lrs.adahessian),
            steps,
            &p,
        );
    }
    let mut p = point(start.0, start.1);
    let config = AdaHessianConfig {
        lr: lrs.adahessian_half_power,
        hessian_power: 0.5,
        ..Default::default()
    };
    let mut opt = AdaHessian::new(&p, config).unwrap();
    let steps = steps_to(&mut opt, &mut p, f, BUDGET, TOL);
    check(
        format!("AdaHessian k 0.5 lr {}", lrs.adahessian_half_power),
        steps,
        &p,
    );
    for nesterov in [false, true] {
        let mut p = point(start.0, start.1);
        let steps = steps_to(&mut sgd_momentum(lrs.sgd, nesterov), &mut p, f, BUDGET, TOL);
        check(
            format!("SGD momentum 0.9 nesterov {nesterov} lr {}", lrs.sgd),
            steps,
            &p,
        );
    }
    let mut p = point(start.0, start.1);
    let steps = steps_to(&mut adam(lrs.adam), &mut p, f, BUDGET, TOL);
    check(format!("Adam lr {}", lrs.adam), steps, &p);
    let mut p = point(start.0, start.1);
    let steps = steps_to(
        &mut adamw(lrs.adam, lrs.adamw_decay),
        &mut p,
        f,
        BUDGET,
        TOL,
    );
    check(
        format!("AdamW lr {} wd {}", lrs.adam, lrs.adamw_decay),
        steps,
        &p,
    );
    report
}

struct Lrs {
    adahessian: f64,
    /// AdaHessian with hessian_power 0.5 (the authors' alternative).
    adahessian_half_power: f64,
    sgd: f64,
    adam: f64,
    adamw_decay: f64,
}

#[test]
fn rosenbrock_from_minus_one_and_a_half_two_is_solved_by_every_optimizer() {
    let lrs = Lrs {
        adahessian: 2.0,
        adahessian_half_power: 0.15,
        sgd: 1e-3,
        adam: 0.1,
        adamw_decay: 1e-4,
    };
    let report = every_optimizer_solves(rosenbrock, (-1.5, 2.0), (1.0, 1.0), &lrs);
    println!("Rosenbrock from (-1.5, 2), steps to f < 1e-6: {report:?}");
}

#[test]
fn rosenbrock_from_one_and_a_half_one_and_a_half_is_solved_by_every_optimizer() {
    let lrs = Lrs {
        adahessian: 2.0,
        adahessian_half_power: 0.15,
        sgd: 1e-3,
        adam: 0.1,
        adamw_decay: 1e-4,
    };
    let report = every_optimizer_solves(rosenbrock, (1.5, 1.5), (1.0, 1.0), &lrs);
    println!("Rosenbrock from (1.5, 1.5), steps to f < 1e-6: {report:?}");
}

#[test]
fn beale_is_solved_by_every_optimizer() {
    let lrs = Lrs {
        adahessian: 0.5,
        adahessian_half_power: 0.2,
        sgd: 1e-3,
        adam: 0.1,
        adamw_decay: 1e-4,
    };
    let report = every_optimizer_solves(beale, (1.0, 1.0), (3.0, 0.5), &lrs);
    println!("Beale from (1, 1), steps to f < 1e-6: {report:?}");
}

#[test]
fn a_tanh_mlp_on_two_blobs_halves_its_loss_in_200_steps_with_every_optimizer() {
    let (x, y) = blobs::<f64>(32, 11);
    let f = mlp_loss(x, y);
    let run = |opt: &mut dyn FnMut(&mut Vec<Tensor<f64>>) -> f64| {
        let mut p = mlp_params::<f64>(2, 8, 5);
        let first = opt(&mut p);
        let mut last = first;
        for _ in 1..200 {
            last = opt(&mut p);
        }
        (first, last)
    };
    let mut report = Vec::new();
    let mut check = |name: &str, (first, last): (f64, f64)| {
        assert!(
            last <= 0.5 * first,
            "{name}: loss {first} -> {last} in 200 steps"
        );
        report.push((name.to_string(), first, last));
    };
    let p0 = mlp_params::<f64>(2, 8, 5);
    let mut o = adahessian(&p0, 0.15, 0);
    check(
        "AdaHessian lr 0.15 (default)",
        run(&mut |p| o.step(p, &f).unwrap()),
    );
    // and in f32, the training precision
    let (x32, y32) = blobs::<f32>(32, 11);
    let f32_loss = mlp_loss(x32, y32);
    let mut p = mlp_params::<f32>(2, 8, 5);
    let mut o = AdaHessian::new(&p, AdaHessianConfig::default()).unwrap();
    let first = o.step(&mut p, &f32_loss).unwrap() as f64;
    let mut last = first;
    for _ in 1..200 {
        last = o.step(&mut p, &f32_loss).unwrap() as f64;
    }
    check("AdaHessian f32 lr 0.15 (default)", (first, last));
    let mut o = sgd_momentum(0.1, false);
    check(
        "SGD momentum 0.9 lr 0.1",
        run(&mut |p| o.step(p, &f).unwrap()),
    );
    let mut o = sgd_momentum(0.1, true);
    check(
        "SGD Nesterov 0.9 lr 0.1",
        run(&mut |p| o.step(p, &f).unwrap()),
    );
    let mut o = Sgd::new(SgdConfig {
        weight_decay: 1e-4,
        ..SgdConfig::new(0.5)
    })
    .unwrap();
    check("SGD lr 0.5 wd 1e-4", run(&mut |p| o.step(p, &f).unwrap()));
    let mut o = adam(0.01);
    check("Adam lr 0.01", run(&mut |p| o.step(p, &f).unwrap()));
    let mut o = adamw(0.01, 1e-2);
    check(
        "AdamW lr 0.01 wd 1e-2 (default)",
        run(&mut |p| o.step(p, &f).unwrap()),
    );
    println!("MLP on blobs, (first, last) loss over 200 steps: {report:?}");
}

#[test]
fn adahessian_solves_an_ill_conditioned_quadratic_in_far_fewer_steps_than_adam_and_sgd() {
    // f(w) = 1/2 sum d_i w_i^2, d from 1 to 1e4 (condition number 1e4), from
    // a start of mixed signs and magnitudes (w0 = 1 would let a sign-like
    // first step of Adam with lr = 1 land on the minimum by accident)
    const N: usize = 10;
    const BUDGET: usize = 10_000;
    let d: Vec<f64> = (0..N)
        .map(|i| 10f64.powf(4.0 * i as f64 / (N - 1) as f64))
        .collect();
    let f = separable_quadratic(Tensor::from_vec(d.clone(), &[N]));
    let w0 = Tensor::<f64>::randn(&[N], 0.0, 1.0, &mut curvature_autograd::seeded_rng(3));
    let start = || vec![w0.clone()];
    let f0: f64 = d
        .iter()
        .zip(w0.as_slice())
        .map(|(d, w)| d * w * w)
        .sum::<f64>()
        / 2.0;
    let tol = 1e-10 * f0;

    let best = |name: &str, grid: &[f64], run: &dyn Fn(f64) -> Option<usize>| {
        let results: Vec<(f64, Option<usize>)> = grid.iter().map(|&lr| (lr, run(lr))).collect();
        println!("{name}: steps to f < 1e-10 f0 by lr: {results:?}");
        results
            .iter()
            .filter_map(|&(lr, s)| s.map(|s| (s, lr)))
            .min_by_key(|&(s, _)| s)
            .unwrap_or((BUDGET, f64::NAN))
    };
    let (ada, ada_lr) = best("AdaHessian", &[0.1, 0.15, 0.3, 0.5, 1.0], &|lr| {
        let mut p = start();
        let mut o = adahessian(&p, lr, 0);
        steps_to(&mut o, &mut p, &f, BUDGET, tol)
    });
    let (adam_steps, adam_lr) = best("Adam", &[1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0], &|lr| {
        let mut p = start();
        steps_to(&mut adam(lr), &mut p, &f, BUDGET, tol)
    });
    let (sgd_steps, sgd_lr) = best("SGD momentum 0.9", &[3e-5, 1e-4, 2e-4, 3e-4], &|lr| {
        let mut p = start();
        steps_to(&mut sgd_momentum(lr, false), &mut p, &f, BUDGET, tol)
    });
    println!(
        "best: AdaHessian {ada} steps (lr {ada_lr}), Adam {adam_steps} (lr {adam_lr}), SGD {sgd_steps} (lr {sgd_lr})"
    );
    assert!(ada < BUDGET, "AdaHessian did not converge");
    assert!(
        10 * ada <= adam_steps,
        "AdaHessian {ada} vs Adam {adam_steps}"
    );
    assert!(10 * ada <= sgd_steps, "AdaHessian {ada} vs SGD {sgd_steps}");
}
