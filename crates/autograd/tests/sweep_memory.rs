//! A backward sweep with recording off releases what it computes as soon
//! as no gradient needs it: its peak memory is a few live gradients, not
//! every intermediate of every rule. Asserts on a counting global
//! allocator, never on time. (One test only: the count is process-wide.)

#[path = "common/counting_allocator.rs"]
mod counting_allocator;

use counting_allocator::{live_bytes, peak_bytes, reset_peak, Counting};
use curvature_autograd::{Tape, Tensor};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_gradient_sweep_holds_a_few_gradients_at_a_time() {
    const N: usize = 4096; // one value: 32 KiB of f64
    const LAYERS: usize = 40;
    let bytes = N * std::mem::size_of::<f64>();
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(
        (0..N).map(|i| (i as f64 * 0.01).sin()).collect(),
        &[N],
    ));
    let mut y = x.clone();
    for layer in 0..LAYERS {
        // each rule computes several values: the derivative of tanh, the
        // product's two factors, the sums of two paths
        let scale = 0.9 + 0.01 * layer as f64;
        y = &(y.tanh() * scale) + &y.sin();
    }
    let loss = y.square().sum();
    let before = live_bytes();
    reset_peak();
    let g = tape.grad(&loss, [&x]);
    let peak = peak_bytes() - before;
    assert_eq!(g[0].shape(), &[N]);
    eprintln!(
        "gradient through {LAYERS} layers: peak {peak} bytes above the forward ({} values of {bytes})",
        peak / bytes
    );
    // Every intermediate kept is about 5 values a layer (203 measured
    // when sweeps kept them); released, a handful are live at once (7).
    assert!(
        peak < 16 * bytes,
        "the sweep held {} values of {bytes} bytes at its peak",
        peak / bytes
    );
    // and the gradient is right: d/dx of the same chain by forward-mode
    // finite differences at one coordinate
    let f = |x0: f64| {
        let t = Tape::<f64>::new();
        let mut v = x.value().to_vec();
        v[7] = x0;
        let mut y = t.var(Tensor::from_vec(v, &[N]));
        for layer in 0..LAYERS {
            let scale = 0.9 + 0.01 * layer as f64;
            y = &(y.tanh() * scale) + &y.sin();
        }
        y.square().sum().value().item()
    };
    let x7 = x.value().to_vec()[7];
    let h = 1e-6;
    let fd = (f(x7 + h) - f(x7 - h)) / (2.0 * h);
    let got = g[0].to_vec()[7];
    assert!(
        (got - fd).abs() <= 1e-6 * fd.abs().max(1.0),
        "{got} vs {fd}"
    );
}
