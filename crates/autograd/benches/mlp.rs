//! Gradient and Hessian-vector product of a tanh MLP 64-256-256-10 with a
//! cross-entropy loss, batch 128, f32: the "mid" workload of docs/benchmarks.md.
//!
//! `cargo bench -p curvature-autograd --bench mlp`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use curvature_autograd::{seeded_rng, Tape, Tensor, Var};

const SIZES: [usize; 4] = [64, 256, 256, 10];
const BATCH: usize = 128;

struct Problem {
    params: Vec<Tensor<f32>>,
    x: Tensor<f32>,
    labels: Tensor<usize>,
    v: Vec<Tensor<f32>>,
}

fn problem() -> Problem {
    let mut rng = seeded_rng(0);
    let mut params = Vec::new();
    for w in SIZES.windows(2) {
        let bound = 1.0 / (w[0] as f64).sqrt();
        params.push(Tensor::rand_uniform(&[w[1], w[0]], -bound, bound, &mut rng));
        params.push(Tensor::rand_uniform(&[w[1]], -bound, bound, &mut rng));
    }
    let x = Tensor::randn(&[BATCH, SIZES[0]], 0.0, 1.0, &mut rng);
    let labels = Tensor::from_vec((0..BATCH).map(|i| i % SIZES[3]).collect(), &[BATCH, 1]);
    let v = params
        .iter()
        .map(|p| Tensor::randn(p.shape(), 0.0, 1.0, &mut rng))
        .collect();
    Problem {
        params,
        x,
        labels,
        v,
    }
}

fn loss(tape: &Tape<f32>, p: &[Var<f32>], x: &Tensor<f32>, labels: &Tensor<usize>) -> Var<f32> {
    let mut h = tape.constant(x.clone());
    let layers = p.len() / 2;
    for (i, wb) in p.chunks(2).enumerate() {
        h = &h.matmul_nt(&wb[0]) + &wb[1];
        if i + 1 < layers {
            h = h.tanh();
        }
    }
    h.log_softmax(1).gather(1, labels).mean().neg()
}

fn mlp(c: &mut Criterion) {
    let pb = problem();
    c.bench_function("mid_grad", |b| {
        b.iter(|| {
            let tape = Tape::new();
            let p: Vec<Var<f32>> = pb.params.iter().map(|t| tape.var(t.clone())).collect();
            let refs: Vec<&Var<f32>> = p.iter().collect();
            let y = loss(&tape, &p, &pb.x, &pb.labels);
            black_box(tape.grad(&y, &refs))
        })
    });
    c.bench_function("mid_hvp", |b| {
        b.iter(|| {
            let tape = Tape::new();
            let p: Vec<Var<f32>> = pb.params.iter().map(|t| tape.var(t.clone())).collect();
            let refs: Vec<&Var<f32>> = p.iter().collect();
            let y = loss(&tape, &p, &pb.x, &pb.labels);
            let g = tape.grad_graph(&y, &refs);
            let dot = g
                .iter()
                .zip(&pb.v)
                .map(|(g, v)| (g * &tape.constant(v.clone())).sum())
                .reduce(|a, b| &a + &b)
                .expect("parameters");
            black_box(tape.grad(&dot, &refs))
        })
    });
}

criterion_group!(benches, mlp);
criterion_main!(benches);
