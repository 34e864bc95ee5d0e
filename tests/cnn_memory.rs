//! 1,000 AdaHessian steps of the digits CNN (`train --model cnn`'s, with
//! its batch norms) keep memory flat: each step's tape, gradient and
//! Hessian-vector product are freed before the next, and the optimizer's
//! state and the running statistics are replaced, never accumulated.
//! Asserts on a counting global allocator, never on time. (One test only:
//! the count is process-wide.)

#[path = "../crates/autograd/tests/common/counting_allocator.rs"]
mod counting_allocator;

use counting_allocator::{live_bytes, peak_bytes, reset_peak, Counting, SLACK};
use curvature::autograd::{set_num_threads, Tensor};
use curvature::nn::{cross_entropy, data, Module, Sequential};
use curvature::optim::{AdaHessian, AdaHessianConfig, Optimizer};
use curvature_examples::support::model::digits_cnn;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Live bytes after each of four windows of 240 steps, after 40 steps of
/// warm-up (1,000 in all). A leak of even one byte per step grows every
/// window by 240 bytes or more, and any per-step tensor by far more; a
/// one-off lazy initialisation grows one window at most.
#[test]
fn a_thousand_adahessian_steps_of_the_digits_cnn_keep_memory_flat() {
    set_num_threads(1).expect("one thread");
    let digits = data::load_digits::<f32>().expect("the embedded digits");
    let rows = 8;
    let x: Tensor<f32> = digits.features().narrow(0, 0, rows).contiguous();
    let labels = digits.labels().expect("classes")[..rows].to_vec();
    let mut model = digits_cnn(0, 10);
    let mut opt = AdaHessian::new(&model, AdaHessianConfig::default()).expect("a valid config");
    let mut step = |model: &mut Sequential<f32>| {
        opt.step(model, |m: &Sequential<f32>, tape, p| {
            cross_entropy(&m.forward(p, &tape.constant(&x)), &labels)
        })
        .expect("a finite step")
    };
    let first = step(&mut model);
    for _ in 1..40 {
        step(&mut model);
    }
    let start = live_bytes();
    reset_peak();
    let mut live = vec![start];
    let mut last = first;
    for _ in 0..4 {
        for _ in 0..240 {
            last = step(&mut model);
        }
        live.push(live_bytes());
    }
    let peak = peak_bytes() - start;
    eprintln!(
        "1,000 AdaHessian steps of the digits CNN: live bytes after each 240: {live:?}, \
         peak {peak} above the start; loss {first} -> {last}"
    );
    let grown = live.windows(2).filter(|w| w[1] > w[0] + SLACK).count();
    assert!(
        grown <= 1,
        "live bytes grew in {grown} of 4 windows of 240 steps: {live:?}"
    );
    // a step's tape is freed before the next: the peak is one step's worth
    assert!(peak < 16 << 20, "peak {peak} bytes above the start");
    // the steps trained the model: the memory measured is that of real steps
    assert!(last < 0.1 * first, "loss {first} -> {last}");
}
