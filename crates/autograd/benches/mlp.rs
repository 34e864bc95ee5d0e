//! Gradient and Hessian-vector product of tanh MLPs in f32, the workloads of
//! docs/benchmarks.md: tiny (2-32-32-1, batch 64, MSE), mid (64-256-256-10,
//! batch 128, cross-entropy) and mnist (784-512-512-10, batch 256,
//! cross-entropy).
//!
//! `cargo bench -p curvature-autograd --bench mlp`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use curvature_autograd::{seeded_rng, Tape, Tensor, Var};

struct Workload {
    name: &'static str,
    sizes: &'static [usize],
    batch: usize,
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "tiny",
        sizes: &[2, 32, 32, 1],
        batch: 64,
    },
    Workload {
        name: "mid",
        sizes: &[64, 256, 256, 10],
        batch: 128,
    },
    Workload {
        name: "mnist",
        sizes: &[784, 512, 512, 10],
        batch: 256,
    },
];

struct Problem {
    params: Vec<Tensor<f32>>,
    x: Tensor<f32>,
    /// Class labels as a `[batch, 1]` index, or regression targets.
    labels: Option<Tensor<usize>>,
    targets: Tensor<f32>,
    v: Vec<Tensor<f32>>,
}

fn problem(w: &Workload) -> Problem {
    let mut rng = seeded_rng(0);
    let mut params = Vec::new();
    for s in w.sizes.windows(2) {
        let bound = 1.0 / (s[0] as f64).sqrt();
        params.push(Tensor::rand_uniform(&[s[1], s[0]], -bound, bound, &mut rng));
        params.push(Tensor::rand_uniform(&[s[1]], -bound, bound, &mut rng));
    }
    let out = *w.sizes.last().expect("sizes");
    let x = Tensor::randn(&[w.batch, w.sizes[0]], 0.0, 1.0, &mut rng);
    let labels =
        (out > 1).then(|| Tensor::from_vec((0..w.batch).map(|i| i % out).collect(), &[w.batch, 1]));
    let targets = Tensor::randn(&[w.batch, out], 0.0, 1.0, &mut rng);
    let v = params
        .iter()
        .map(|p| Tensor::randn(p.shape(), 0.0, 1.0, &mut rng))
        .collect();
    Problem {
        params,
        x,
        labels,
        targets,
        v,
    }
}

fn loss(tape: &Tape<f32>, p: &[Var<f32>], pb: &Problem) -> Var<f32> {
    let mut h = tape.constant(&pb.x);
    let layers = p.len() / 2;
    for (i, wb) in p.chunks(2).enumerate() {
        h = &h.matmul_nt(&wb[0]) + &wb[1];
        if i + 1 < layers {
            h = h.tanh();
        }
    }
    match &pb.labels {
        Some(labels) => h.log_softmax(1).gather(1, labels).mean().neg(),
        None => (&h - &tape.constant(&pb.targets)).square().mean(),
    }
}

fn mlp(c: &mut Criterion) {
    for w in &WORKLOADS {
        let pb = problem(w);
        c.bench_function(&format!("{}_grad", w.name), |b| {
            b.iter(|| {
                let tape = Tape::new();
                let p: Vec<Var<f32>> = pb.params.iter().map(|t| tape.var(t)).collect();
                let y = loss(&tape, &p, &pb);
                black_box(tape.grad(&y, &p))
            })
        });
        c.bench_function(&format!("{}_hvp", w.name), |b| {
            b.iter(|| {
                let tape = Tape::new();
                let p: Vec<Var<f32>> = pb.params.iter().map(|t| tape.var(t)).collect();
                let y = loss(&tape, &p, &pb);
                let g = tape.grad_graph(&y, &p);
                black_box(tape.grad_many(&g, &pb.v, &p))
            })
        });
    }
}

criterion_group!(benches, mlp);
criterion_main!(benches);
