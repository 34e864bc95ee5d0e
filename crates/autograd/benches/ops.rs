//! Element-wise ops and reductions in f32 at the shapes the MLP workloads
//! of docs/benchmarks.md run at: `[64, 32]` (tiny), `[128, 256]` (mid),
//! `[256, 512]` (mnist).
//!
//! `cargo bench -p curvature-autograd --bench ops`; throughput is in
//! elements of the (largest) input per second.
//!
//! The tensor kernels are timed directly (they are what the tape calls);
//! `log_softmax`, a composite of recorded ops, is timed as training runs
//! it: forward on a leaf that requires grad, so its nodes are recorded.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use curvature_autograd::{seeded_rng, Tape, Tensor};

const SHAPES: [[usize; 2]; 3] = [[64, 32], [128, 256], [256, 512]];

fn label(shape: [usize; 2]) -> String {
    format!("{}x{}", shape[0], shape[1])
}

fn elementwise(c: &mut Criterion) {
    let mut group = c.benchmark_group("elementwise_f32");
    for shape in SHAPES {
        let mut rng = seeded_rng(0);
        let a = Tensor::<f32>::randn(&shape, 0.0, 1.0, &mut rng);
        let b = Tensor::<f32>::randn(&shape, 0.0, 1.0, &mut rng);
        let bias = Tensor::<f32>::randn(&[shape[1]], 0.0, 1.0, &mut rng);
        group.throughput(Throughput::Elements((shape[0] * shape[1]) as u64));
        let id = |op: &str| BenchmarkId::new(op, label(shape));
        // a linear layer's bias: [B, N] + [N]
        group.bench_function(id("add_broadcast"), |bench| {
            bench.iter(|| black_box(a.add(&bias)))
        });
        group.bench_function(id("mul"), |bench| bench.iter(|| black_box(a.mul(&b))));
        group.bench_function(id("tanh"), |bench| bench.iter(|| black_box(a.tanh())));
        group.bench_function(id("exp"), |bench| bench.iter(|| black_box(a.exp())));
        group.bench_function(id("sigmoid"), |bench| bench.iter(|| black_box(a.sigmoid())));
    }
    group.finish();
}

fn reductions(c: &mut Criterion) {
    let mut group = c.benchmark_group("reduce_f32");
    let mut shapes = SHAPES.to_vec();
    // the logits of the mid and mnist workloads, for log_softmax
    shapes.extend([[128, 10], [256, 10]]);
    for shape in shapes {
        let mut rng = seeded_rng(0);
        let a = Tensor::<f32>::randn(&shape, 0.0, 1.0, &mut rng);
        group.throughput(Throughput::Elements((shape[0] * shape[1]) as u64));
        let id = |op: &str| BenchmarkId::new(op, label(shape));
        if shape[1] > 10 {
            group.bench_function(id("sum"), |bench| bench.iter(|| black_box(a.sum())));
            // along rows (as in logsumexp) and along the batch
            group.bench_function(id("sum_dim1"), |bench| {
                bench.iter(|| black_box(a.sum_dim(1, true)))
            });
            group.bench_function(id("sum_dim0"), |bench| {
                bench.iter(|| black_box(a.sum_dim(0, false)))
            });
            // a bias gradient: [B, N] -> [N]
            group.bench_function(id("sum_to_bias"), |bench| {
                bench.iter(|| black_box(a.sum_to(&[shape[1]])))
            });
        }
        group.bench_function(id("log_softmax_recorded"), |bench| {
            bench.iter(|| {
                let tape = Tape::new();
                black_box(tape.var(&a).log_softmax(1).value())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, elementwise, reductions);
criterion_main!(benches);
