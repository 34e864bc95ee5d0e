//! A loop of 10,000 Hessian-vector products keeps memory flat: each runs
//! on a fresh tape, freed with its last Var. Asserts on a counting global
//! allocator, never on time. (One test only: the count is process-wide.)

mod common;
#[path = "common/counting_allocator.rs"]
mod counting_allocator;

use std::hint::black_box;

use common::{random_like, tanh_mlp_mse, tanh_mlp_params};
use counting_allocator::{live_bytes, peak_bytes, reset_peak, Counting, SLACK};
use curvature_autograd::functional;

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn ten_thousand_hvps_keep_memory_flat() {
    let params = tanh_mlp_params(11);
    let v = random_like(&params, 1);
    for _ in 0..100 {
        black_box(functional::hvp(tanh_mlp_mse::<f64>, &params, &v));
    }
    let before = live_bytes();
    reset_peak();
    for _ in 0..10_000 {
        black_box(functional::hvp(tanh_mlp_mse::<f64>, &params, &v));
    }
    let after = live_bytes();
    let peak = peak_bytes() - before;
    eprintln!(
        "10,000 HVPs: {before} live bytes before, {after} after, peak {peak} above the start"
    );
    assert!(
        after <= before + SLACK,
        "live bytes grew from {before} to {after} over 10,000 HVPs"
    );
    // each HVP's tape is freed before the next: the peak is one HVP's worth
    assert!(peak < 256 * 1024, "peak {peak} bytes above the start");
}
