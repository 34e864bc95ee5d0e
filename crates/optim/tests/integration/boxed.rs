//! The optimizers as trait objects: `Box<dyn Optimizer<T>>` and
//! `&mut dyn Optimizer<T>` step, schedule, save and restore exactly as the
//! concrete types do, and describe themselves for logs.

use crate::common;

use common::{blobs, mlp_loss, mlp_params};
use curvature_autograd::{Parameters, Tape, Tensor, Var};
use curvature_optim::{
    AdaHessian, AdaHessianConfig, Adam, AdamConfig, AdamW, AdamWConfig, ClosureObjective,
    CosineAnnealing, LinearWarmup, LrSchedule, Optimizer, Sgd, SgdConfig,
};

/// The four optimizers, boxed, with learning rates that suit the MLP.
fn all_four(params: &Vec<Tensor<f64>>) -> Vec<Box<dyn Optimizer<f64>>> {
    vec![
        Box::new(
            Sgd::new(SgdConfig {
                momentum: 0.9,
                ..SgdConfig::new(0.1)
            })
            .unwrap(),
        ),
        Box::new(
            Adam::new(AdamConfig {
                lr: 0.01,
                ..Default::default()
            })
            .unwrap(),
        ),
        Box::new(
            AdamW::new(AdamWConfig {
                lr: 0.01,
                ..Default::default()
            })
            .unwrap(),
        ),
        Box::new(AdaHessian::new(params, AdaHessianConfig::default()).unwrap()),
    ]
}

#[test]
fn a_vec_of_boxed_optimizers_trains_an_mlp_with_every_method() {
    let (x, y) = blobs::<f64>(32, 11);
    let f = mlp_loss(x, y);
    let p0 = mlp_params::<f64>(2, 8, 5);
    let mut optimizers = all_four(&p0);
    for opt in &mut optimizers {
        let mut params = p0.clone();
        let first = opt.step(&mut params, &f).unwrap();
        let mut last = first;
        for _ in 1..200 {
            last = opt.step(&mut params, &f).unwrap();
        }
        assert!(last <= 0.5 * first, "{opt}: loss {first} -> {last}");
        assert_eq!(opt.step_count(), 200, "{opt}");
    }
}

/// Runs `steps` steps of `opt` from `p0` on the MLP and returns the parameters.
fn run<O: Optimizer<f64>>(mut opt: O, p0: &[Tensor<f64>], steps: usize) -> Vec<Vec<f64>> {
    let (x, y) = blobs::<f64>(16, 3);
    let f = mlp_loss(x, y);
    let mut params = p0.to_vec();
    for _ in 0..steps {
        opt.step(&mut params, &f).unwrap();
    }
    params.iter().map(Tensor::to_vec).collect()
}

#[test]
fn a_boxed_optimizer_takes_exactly_the_steps_of_the_concrete_one() {
    let p0 = mlp_params::<f64>(2, 4, 1);
    let mut boxed = all_four(&p0);
    let sgd = Sgd::new(SgdConfig {
        momentum: 0.9,
        ..SgdConfig::new(0.1)
    })
    .unwrap();
    assert_eq!(run(sgd, &p0, 5), run(&mut boxed[0], &p0, 5));
    let adam = Adam::new(AdamConfig {
        lr: 0.01,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(run(adam, &p0, 5), run(&mut boxed[1], &p0, 5));
    let adamw = AdamW::new(AdamWConfig {
        lr: 0.01,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(run(adamw, &p0, 5), run(&mut boxed[2], &p0, 5));
    let adahessian = AdaHessian::new(&p0, AdaHessianConfig::default()).unwrap();
    // `&mut dyn Optimizer` is an optimizer too
    let dynamic: &mut dyn Optimizer<f64> = &mut *boxed[3];
    assert_eq!(run(adahessian, &p0, 5), run(dynamic, &p0, 5));
}

#[test]
fn a_boxed_optimizer_saves_restores_and_resumes_exactly() {
    let (x, y) = blobs::<f64>(16, 7);
    let f = mlp_loss(x, y);
    let p0 = mlp_params::<f64>(2, 4, 2);
    for (mut opt, mut resumed) in all_four(&p0).into_iter().zip(all_four(&p0)) {
        let mut params = p0.clone();
        for _ in 0..3 {
            opt.step(&mut params, &f).unwrap();
        }
        resumed.load_state(&opt.state()).unwrap();
        assert_eq!(resumed.step_count(), 3, "{opt}");
        let mut resumed_params = params.clone();
        for _ in 0..3 {
            opt.step(&mut params, &f).unwrap();
            resumed.step(&mut resumed_params, &f).unwrap();
        }
        assert_eq!(params, resumed_params, "{opt}");
    }
    // a state of one kind does not load into another
    let mut boxes = all_four(&p0);
    let adam_state = boxes[1].state();
    let e = boxes[0].load_state(&adam_state).unwrap_err();
    assert!(e.to_string().contains("adam"), "{e}");
}

#[test]
fn a_boxed_schedule_drives_a_boxed_optimizer() {
    let p0 = mlp_params::<f64>(2, 4, 2);
    let (x, y) = blobs::<f64>(16, 7);
    let f = mlp_loss(x, y);
    let decay: Box<dyn LrSchedule> = Box::new(CosineAnnealing::new(0.05, 0.0, 8).unwrap());
    let schedule: Box<dyn LrSchedule> = Box::new(LinearWarmup::new(decay, 2, 0.5).unwrap());
    for mut opt in all_four(&p0) {
        let mut params = p0.clone();
        let mut rates = Vec::new();
        for _ in 0..12 {
            schedule.apply(&mut opt).unwrap();
            rates.push(opt.learning_rate());
            opt.step(&mut params, &f).unwrap();
        }
        assert_eq!(rates[0], 0.025, "{opt}");
        assert_eq!(rates[2], 0.05, "{opt}");
        assert_eq!(&rates[10..], &[0.0, 0.0], "{opt}");
        assert!(rates[3..10].windows(2).all(|w| w[1] < w[0]), "{rates:?}");
        assert!(opt.set_learning_rate(-1.0).is_err());
    }
}

#[test]
fn display_describes_each_optimizer_and_its_hyperparameters() {
    let p0 = mlp_params::<f64>(2, 4, 2);
    let text: Vec<String> = all_four(&p0).iter().map(|o| o.to_string()).collect();
    assert_eq!(
        text,
        [
            "sgd (lr 0.1, momentum 0.9, weight decay 0)",
            "adam (lr 0.01, betas (0.9, 0.999), eps 1e-8, weight decay 0)",
            "adamw (lr 0.01, betas (0.9, 0.999), eps 1e-8, weight decay 0.01)",
            "adahessian (lr 0.15, betas (0.9, 0.999), eps 1e-4, weight decay 0, \
             hessian power 1, update each 1, 1 sample per estimate)",
        ]
    );
    let nesterov = Sgd::<f64>::new(SgdConfig {
        momentum: 0.5,
        nesterov: true,
        ..SgdConfig::new(0.1)
    })
    .unwrap();
    assert_eq!(
        nesterov.to_string(),
        "sgd (lr 0.1, momentum 0.9, weight decay 0, nesterov)".replace("0.9", "0.5")
    );
    let mut boxed: Box<dyn Optimizer<f64>> = Box::new(nesterov);
    boxed.set_learning_rate(0.02).unwrap();
    assert!(format!("{boxed}").starts_with("sgd (lr 0.02,"), "{boxed}");
}

/// A model with a field of its own that its loss reads.
struct Scaled {
    weights: Vec<Tensor<f64>>,
    scale: f64,
}

impl Parameters<f64> for Scaled {
    fn parameters(&self) -> Vec<&Tensor<f64>> {
        self.weights.parameters()
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<f64>> {
        self.weights.parameters_mut()
    }

    fn parameter_names(&self) -> Vec<String> {
        vec!["w".to_string()]
    }
}

fn scaled_loss(model: &Scaled, tape: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    (&p[0] - &tape.scalar(model.scale)).square().sum()
}

#[test]
fn the_loss_closure_receives_the_model_with_its_concrete_type_through_any_pointer() {
    let mut model = Scaled {
        weights: vec![Tensor::from_vec(vec![0.0, 1.0], &[2])],
        scale: 3.0,
    };
    let mut boxed: Box<dyn Optimizer<f64>> = Box::new(Sgd::new(SgdConfig::new(0.25)).unwrap());
    boxed
        .step(&mut model, |m, tape, p| {
            (&p[0] - &tape.scalar(m.scale)).square().sum()
        })
        .unwrap();
    // a bare `&mut dyn Optimizer` steps through the object-safe method
    // (the generic `step` needs a sized receiver: a Box, a generic `O`)
    let borrowed: &mut dyn Optimizer<f64> = &mut *boxed;
    borrowed
        .step_objective(&mut ClosureObjective::new(&mut model, scaled_loss))
        .unwrap();
    fn generic<O: Optimizer<f64>>(opt: &mut O, model: &mut Scaled) -> f64 {
        opt.step(model, |m, tape, p| {
            (&p[0] - &tape.scalar(m.scale)).square().sum()
        })
        .unwrap()
    }
    generic(&mut boxed, &mut model);
    generic(&mut &mut *boxed, &mut model);
    assert_eq!(boxed.step_count(), 4);
    let mut sendable: Box<dyn Optimizer<f64> + Send> =
        Box::new(Adam::new(AdamConfig::default()).unwrap());
    sendable.step(&mut model, scaled_loss).unwrap();
    let e = boxed
        .step(&mut model, |_, tape, p| {
            &p[0].sum() * &tape.scalar(f64::NAN)
        })
        .unwrap_err();
    assert!(e.to_string().contains("loss is not finite"), "{e}");
    let mut kinked = Scaled {
        weights: vec![Tensor::from_vec(vec![0.0, 1.0], &[2])],
        scale: 0.0,
    };
    // sqrt is finite at 0, its derivative is not
    let e = boxed
        .step(&mut kinked, |_, _, p| p[0].sqrt().sum())
        .unwrap_err();
    // named by the model's own names
    assert!(
        e.to_string().contains("gradient of parameter w (#0)"),
        "{e}"
    );
}
