//! One optimizer step (forward, the backward passes the method needs, the
//! update) on the mid workload of docs/benchmarks.md: a 64-256-256-10
//! tanh MLP in f32, batch 128, cross-entropy. Adam runs one gradient;
//! AdaHessian a gradient with its graph kept and one Hessian-vector
//! product (one Rademacher draw).
//!
//! `cargo bench --bench optim_step`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use curvature::autograd::{seeded_rng, Tape, Tensor, Var};
use curvature::nn::{cross_entropy, Activation, Mlp, Module};
use curvature::optim::{AdaHessian, AdaHessianConfig, Adam, AdamConfig, Optimizer};
use rand::RngExt;

const SIZES: [usize; 4] = [64, 256, 256, 10];
const BATCH: usize = 128;

fn optimizer_steps(c: &mut Criterion) {
    let mut rng = seeded_rng(1);
    let x = Tensor::<f32>::randn(&[BATCH, SIZES[0]], 0.0, 1.0, &mut rng);
    let labels: Vec<usize> = (0..BATCH).map(|_| rng.random_range(0..SIZES[3])).collect();
    let loss = |m: &Mlp<f32>, tape: &Tape<f32>, p: &[Var<f32>]| {
        cross_entropy(&m.forward(p, &tape.constant(&x)), &labels)
    };

    let mut model = Mlp::<f32>::new(&SIZES, Activation::Tanh, 0);
    let mut adam = Adam::new(AdamConfig::default()).expect("Adam's defaults are valid");
    c.bench_function("mid_adam_step", |b| {
        b.iter(|| black_box(adam.step(&mut model, loss).expect("Adam step")))
    });

    let mut model = Mlp::<f32>::new(&SIZES, Activation::Tanh, 0);
    let mut adahessian = AdaHessian::new(&model, AdaHessianConfig::default())
        .expect("AdaHessian's defaults are valid");
    c.bench_function("mid_adahessian_step", |b| {
        b.iter(|| black_box(adahessian.step(&mut model, loss).expect("AdaHessian step")))
    });
}

criterion_group!(benches, optimizer_steps);
criterion_main!(benches);
