//! Matrix products, f32 and f64, square sizes 64 to 512.
//!
//! `cargo bench -p curvature-autograd --bench matmul`; GFLOP/s = 2 n^3 / median.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use curvature_autograd::{seeded_rng, Element, Tensor};

fn bench_dtype<T: Element>(c: &mut Criterion, name: &str) {
    let mut group = c.benchmark_group(format!("matmul_{name}"));
    for n in [64usize, 128, 256, 512] {
        let mut rng = seeded_rng(0);
        let a = Tensor::<T>::randn(&[n, n], 0.0, 1.0, &mut rng);
        let b = Tensor::<T>::randn(&[n, n], 0.0, 1.0, &mut rng);
        group.throughput(Throughput::Elements((2 * n * n * n) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
            bench.iter(|| black_box(a.matmul(&b)))
        });
    }
    group.finish();
}

fn matmul(c: &mut Criterion) {
    bench_dtype::<f32>(c, "f32");
    bench_dtype::<f64>(c, "f64");
}

criterion_group!(benches, matmul);
criterion_main!(benches);
