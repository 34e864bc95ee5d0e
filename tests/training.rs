//! End to end across the three crates: an `nn::Mlp` trained by each
//! optimizer through the one `Optimizer` trait, the model itself passed as
//! the parameters (no weights copied between model and optimizer), then
//! saved and loaded back.

use curvature::autograd::{Parameters, Tensor};
use curvature::nn::data::{self, Dataset};
use curvature::nn::{
    accuracy, cross_entropy, load_parameters, save_parameters, Activation, Mlp, Module,
    Standardizer,
};
use curvature::optim::{
    AdaHessian, AdaHessianConfig, Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, Sgd, SgdConfig,
};

struct Problem {
    train: Dataset<f32>,
    test: Dataset<f32>,
}

fn moons() -> Problem {
    let all = data::two_moons::<f32>(300, 0.1, 3);
    let (train, test) = all.train_test_split(0.25, 3).expect("a valid fraction");
    let scaler = Standardizer::fit(train.features());
    Problem {
        train: scaler.transform_dataset(&train),
        test: scaler.transform_dataset(&test),
    }
}

fn full_batch_loss(model: &Mlp<f32>, train: &Dataset<f32>) -> f32 {
    let tape = curvature::autograd::Tape::new();
    let params: Vec<_> = model
        .parameters()
        .into_iter()
        .map(|p| tape.constant(p))
        .collect();
    let logits = model.forward(&params, &tape.constant(train.features()));
    cross_entropy(&logits, train.labels().expect("classes")).item()
}

/// Trains for `epochs` of mini-batches of 32 through the `Optimizer` trait
/// and returns the full-batch training loss before and after.
fn train<O: Optimizer<f32>>(
    opt: &mut O,
    model: &mut Mlp<f32>,
    pb: &Problem,
    epochs: usize,
) -> (f32, f32) {
    let before = full_batch_loss(model, &pb.train);
    let mut rng = curvature::autograd::seeded_rng(7);
    for _ in 0..epochs {
        for (x, targets) in pb.train.batches(32, &mut rng) {
            let labels = targets.labels().expect("classes").to_vec();
            let loss = opt
                .step(model, |model, tape, params| {
                    cross_entropy(&model.forward(params, &tape.constant(&x)), &labels)
                })
                .expect("a finite step");
            assert!(loss.is_finite());
        }
    }
    (before, full_batch_loss(model, &pb.train))
}

fn check_trains<O: Optimizer<f32>>(name: &str, mut opt: O, model: &mut Mlp<f32>, pb: &Problem) {
    let initial: Vec<Tensor<f32>> = model.parameters().into_iter().cloned().collect();
    let (before, after) = train(&mut opt, model, pb, 40);
    let test_accuracy = accuracy(
        &model.predict(pb.test.features()),
        pb.test.labels().unwrap(),
    );
    assert!(after < 0.25 * before, "{name}: loss {before} -> {after}");
    assert!(
        test_accuracy >= 0.95,
        "{name}: test accuracy {test_accuracy}"
    );
    // the optimizer updated the model's own tensors
    let moved = model
        .parameters()
        .into_iter()
        .zip(&initial)
        .all(|(now, then)| now != then);
    assert!(moved, "{name}: some parameter was never updated");
    assert_eq!(
        opt.step_count(),
        40 * 8,
        "{name}: 225 training points in batches of 32"
    );
}

#[test]
fn every_optimizer_trains_an_mlp_through_the_optimizer_trait() {
    let pb = moons();
    let fresh = || Mlp::<f32>::new(&[2, 16, 16, 2], Activation::Tanh, 0);

    let mut model = fresh();
    let sgd = SgdConfig {
        momentum: 0.9,
        ..SgdConfig::new(0.05)
    };
    check_trains("sgd", Sgd::new(sgd).unwrap(), &mut model, &pb);

    let mut model = fresh();
    let adam = AdamConfig {
        lr: 0.01,
        ..AdamConfig::default()
    };
    check_trains("adam", Adam::new(adam).unwrap(), &mut model, &pb);

    let mut model = fresh();
    let adamw = AdamWConfig {
        lr: 0.01,
        ..AdamWConfig::default()
    };
    check_trains("adamw", AdamW::new(adamw).unwrap(), &mut model, &pb);

    let mut model = fresh();
    let adahessian = AdaHessian::new(&model, AdaHessianConfig::default()).unwrap();
    check_trains("adahessian", adahessian, &mut model, &pb);
}

#[test]
fn a_trained_model_saved_and_loaded_predicts_the_same() {
    let pb = moons();
    let mut model = Mlp::<f32>::new(&[2, 16, 16, 2], Activation::Tanh, 1);
    let mut opt = AdaHessian::new(&model, AdaHessianConfig::default()).unwrap();
    train(&mut opt, &mut model, &pb, 5);

    let dir = std::env::temp_dir().join(format!("curvature-training-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("moons.safetensors");
    save_parameters(&model, &path).unwrap();
    let mut loaded = Mlp::<f32>::new(&[2, 16, 16, 2], Activation::Tanh, 99);
    assert_ne!(
        loaded.predict(pb.test.features()),
        model.predict(pb.test.features())
    );
    load_parameters(&mut loaded, &path).unwrap();
    assert_eq!(
        loaded.predict(pb.test.features()),
        model.predict(pb.test.features())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
