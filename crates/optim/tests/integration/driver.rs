//! The step driver seen from outside: a new optimizer is `needs` plus
//! `update`; the driver's refusals and its work counts.

use std::fmt;

use curvature_autograd::{Parameters, Tape, Tensor, Var};
use curvature_optim::{
    AdaHessian, AdaHessianConfig, Adam, AdamConfig, Needs, Objective, OptimError, Optimizer,
    OptimizerState, Step, Work,
};

/// Gradient descent with a backtracking (Armijo) line search, written on
/// the driver in a few lines: it needs evaluations at trial points.
struct BacktrackingDescent {
    step: u64,
    work: Work,
}

impl fmt::Display for BacktrackingDescent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("backtracking descent")
    }
}

impl Optimizer<f64> for BacktrackingDescent {
    fn needs(&self, _: &dyn Objective<f64>) -> Result<Needs, OptimError> {
        Ok(Needs {
            evaluations: true,
            ..Needs::default()
        })
    }

    fn update(&mut self, step: &mut Step<'_, f64>) -> Result<(), OptimError> {
        let (f0, g) = (step.loss(), step.gradient().to_vec());
        let x: Vec<Tensor<f64>> = step.parameters().into_iter().cloned().collect();
        let gg: f64 = g.iter().map(|g| g.square().sum().item()).sum();
        let mut t = 1.0;
        let mut point = x.clone();
        for iteration in 1..=30 {
            point = x
                .iter()
                .zip(&g)
                .map(|(x, g)| x - &g.mul_scalar(t))
                .collect();
            if step.evaluate(&point, "backtracking", iteration)? <= f0 - 0.5 * t * gg {
                break;
            }
            t *= 0.5;
        }
        for (p, new) in step
            .commit()
            .objective
            .parameters_mut()
            .into_iter()
            .zip(point)
        {
            *p = new;
        }
        self.step += 1;
        Ok(())
    }

    fn work(&self) -> Work {
        self.work
    }

    fn record_work(&mut self, work: Work) {
        self.work += work;
    }

    fn learning_rate(&self) -> f64 {
        1.0
    }

    fn set_learning_rate(&mut self, _: f64) -> Result<(), OptimError> {
        Ok(())
    }

    fn step_count(&self) -> u64 {
        self.step
    }

    fn state(&self) -> OptimizerState<f64> {
        unimplemented!("not needed by these tests")
    }

    fn load_state(&mut self, _: &OptimizerState<f64>) -> Result<(), OptimError> {
        Ok(())
    }
}

#[test]
fn a_new_optimizer_is_needs_plus_update_and_runs_boxed() {
    let mut opt: Box<dyn Optimizer<f64>> = Box::new(BacktrackingDescent {
        step: 0,
        work: Work::default(),
    });
    let mut params = vec![Tensor::from_vec(vec![3.0, -2.0], &[2])];
    let quadratic = |_: &Vec<Tensor<f64>>, _: &Tape<f64>, p: &[Var<f64>]| {
        (&p[0].square() * &Tensor::from_vec(vec![1.0, 10.0], &[2])).sum()
    };
    let mut loss = f64::INFINITY;
    for _ in 0..60 {
        loss = opt.step(&mut params, quadratic).unwrap();
    }
    assert!(loss < 1e-12, "{loss}");
    let work = opt.work();
    assert_eq!(
        work.gradients, 60,
        "one gradient per step, none at trial points"
    );
    assert!(
        work.loss_evaluations > 60,
        "trial points are counted: {work:?}"
    );
    assert_eq!(work.hessian_vector_products, 0);
}

/// Parameters whose `bind` forgets the last tensor.
struct ForgetfulBind(Vec<Tensor<f64>>);

impl Parameters<f64> for ForgetfulBind {
    fn parameters(&self) -> Vec<&Tensor<f64>> {
        self.0.iter().collect()
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<f64>> {
        self.0.iter_mut().collect()
    }

    fn bind(&self, tape: &Tape<f64>) -> Vec<Var<f64>> {
        self.0[..self.0.len() - 1]
            .iter()
            .map(|p| tape.var(p))
            .collect()
    }
}

#[test]
fn a_bind_that_returns_another_count_is_refused_before_any_update() {
    let mut params = ForgetfulBind(vec![Tensor::scalar(1.0), Tensor::scalar(2.0)]);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let e = adam.step(&mut params, |_, _, p| p[0].square()).unwrap_err();
    assert_eq!(
        e,
        OptimError::Count {
            what: "bound parameters",
            expected: 2,
            got: 1
        }
    );
    assert_eq!((params.0[0].item(), adam.step_count()), (1.0, 0));
}

#[test]
fn the_driver_counts_each_optimizers_work() {
    let loss = |_: &Vec<Tensor<f64>>, _: &Tape<f64>, p: &[Var<f64>]| p[0].tanh().square().sum();
    let mut params = vec![Tensor::from_vec(vec![0.5, -1.0], &[2])];
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let config = AdaHessianConfig {
        n_samples: 3,
        update_each: 2,
        ..Default::default()
    };
    let mut adahessian = AdaHessian::new(&params, config).unwrap();
    for _ in 0..4 {
        adam.step(&mut params.clone(), loss).unwrap();
        adahessian.step(&mut params, loss).unwrap();
    }
    let once = |e, g, h| Work {
        loss_evaluations: e,
        gradients: g,
        hessian_vector_products: h,
    };
    assert_eq!(adam.work(), once(4, 4, 0));
    // steps 1 and 3 refresh D with 3 draws each
    assert_eq!(adahessian.work(), once(4, 4, 6));
    assert_eq!(adahessian.hvp_count(), 6);
}

/// The loss `sum(p * dropout(1))`: its gradient is the step's dropout mask
/// (0 or 2), so an SGD step with rate 1 moves `p` by minus the mask.
fn dropout_steps(steps: usize) -> Vec<Vec<f64>> {
    use curvature_autograd::Tensor;
    use curvature_optim::{Optimizer, Sgd, SgdConfig};
    let mut params = vec![Tensor::<f64>::zeros(&[64])];
    let mut sgd = Sgd::new(SgdConfig::new(1.0)).unwrap();
    let mut moves = Vec::new();
    for _ in 0..steps {
        let before = params[0].to_vec();
        sgd.step(&mut params, |_, tape, p| {
            let ones = tape.constant(Tensor::ones(&[64]));
            (&p[0] * &ones.dropout(0.5)).sum()
        })
        .unwrap();
        let after = params[0].to_vec();
        moves.push(before.iter().zip(&after).map(|(b, a)| b - a).collect());
    }
    moves
}

#[test]
fn each_step_draws_a_new_dropout_mask_and_a_rerun_draws_the_same_ones() {
    let moves = dropout_steps(3);
    for m in &moves {
        assert!(m.iter().all(|&d| d == 0.0 || d == 2.0), "{m:?}");
        assert!(m.contains(&0.0) && m.contains(&2.0), "a mask of 64 draws");
    }
    assert_ne!(moves[0], moves[1], "steps 1 and 2 drew the same mask");
    assert_ne!(moves[1], moves[2], "steps 2 and 3 drew the same mask");
    assert_eq!(dropout_steps(3), moves, "a rerun draws other masks");
}

#[test]
fn second_order_steps_take_gradients_recorded_as_views() {
    // loss(W) = sum(tanh(W^T x)^2): W's recorded gradient is the
    // transpose of W^T's, a view, as a conv kernel's is; the optimizers
    // read row-major gradients
    let x = Tensor::from_vec(vec![0.3, -0.7, 1.1, 0.2, 0.5, -0.4], &[2, 3]);
    let loss = |_: &Vec<Tensor<f64>>, tape: &Tape<f64>, p: &[Var<f64>]| {
        p[0].transpose(0, 1)
            .matmul(&tape.constant(&x))
            .tanh()
            .square()
            .sum()
    };
    let tape = Tape::new();
    let w = tape.var(Tensor::from_vec(vec![0.5, -1.0, 0.25, 2.0], &[2, 2]));
    let g = tape.grad_graph(&loss(&Vec::new(), &tape, std::slice::from_ref(&w)), [&w]);
    assert!(
        !g[0].value().is_contiguous(),
        "the case needs a gradient recorded as a view"
    );
    let mut params = vec![w.value()];
    let mut adahessian = AdaHessian::new(&params, AdaHessianConfig::default()).unwrap();
    let before = params[0].to_vec();
    adahessian.step(&mut params, loss).unwrap();
    assert_ne!(params[0].to_vec(), before);
}
