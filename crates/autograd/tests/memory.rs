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

/// Live bytes after each of four windows of 2,500 HVPs. A leak of even
/// one byte per HVP grows every window by 2,500 bytes or more; a one-off
/// lazy initialisation (a kernel's thread-local buffer, a detected cache
/// size) grows one window at most, and can land in any of them when the
/// machine is loaded.
#[test]
fn ten_thousand_hvps_keep_memory_flat() {
    let params = tanh_mlp_params(11);
    let v = random_like(&params, 1);
    for _ in 0..100 {
        black_box(functional::hvp(tanh_mlp_mse::<f64>, &params, &v));
    }
    let start = live_bytes();
    reset_peak();
    let mut live = vec![start];
    for _ in 0..4 {
        for _ in 0..2_500 {
            black_box(functional::hvp(tanh_mlp_mse::<f64>, &params, &v));
        }
        live.push(live_bytes());
    }
    let peak = peak_bytes() - start;
    eprintln!("10,000 HVPs: live bytes after each 2,500: {live:?}, peak {peak} above the start");
    let grown = live.windows(2).filter(|w| w[1] > w[0] + SLACK).count();
    assert!(
        grown <= 1,
        "live bytes grew in {grown} of 4 windows of 2,500 HVPs: {live:?}"
    );
    // each HVP's tape is freed before the next: the peak is one HVP's worth
    assert!(peak < 256 * 1024, "peak {peak} bytes above the start");
}
