//! One tape reused for many gradients: `tape.grad` (without graph) leaves
//! no nodes and no bytes behind, and the tape's memory goes with its last
//! Var. Asserts on a counting global allocator. (One test only: the count
//! is process-wide.)

mod common;
#[path = "common/counting_allocator.rs"]
mod counting_allocator;

use std::hint::black_box;

use common::{random_like, tanh_mlp_mse, tanh_mlp_params};
use counting_allocator::{live_bytes, Counting, SLACK};
use curvature_autograd::{functional, Tape, Var};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn many_grads_on_one_tape_stay_flat_and_the_last_var_frees_the_tape() {
    let params = tanh_mlp_params(11);
    let v = random_like(&params, 2);
    // warm up: one-off lazy initialisations (the GEMM crate's) happen here
    black_box(functional::hvp(tanh_mlp_mse::<f64>, &params, &v));
    let start = live_bytes();
    let (gv, x) = {
        let tape = Tape::new();
        let x: Vec<Var<f64>> = params.iter().map(|p| tape.var(p)).collect();
        let y = tanh_mlp_mse(&tape, &x);
        let g = tape.grad_graph(&y, &x);
        let gv = g
            .iter()
            .zip(&v)
            .map(|(g, v)| (g * &tape.constant(v)).sum())
            .reduce(|a, b| &a + &b)
            .expect("four parameters");
        (gv, x)
    };
    let tape = gv.tape();
    let mark = tape.len();
    let first = tape.grad(&gv, &x);
    // four windows of 250: a leak of even one byte per gradient grows every
    // window past the slack; a one-off allocation elsewhere in the process
    // (the test harness's own threads, under load) grows one at most
    let mut live = vec![live_bytes()];
    for _ in 0..4 {
        for _ in 0..250 {
            black_box(tape.grad(&gv, &x));
        }
        live.push(live_bytes());
    }
    assert_eq!(tape.len(), mark, "tape.grad left nodes behind");
    assert_eq!(tape.grad(&gv, &x), first);

    let held = live_bytes();
    drop((tape, gv, x, first));
    let end = live_bytes();
    eprintln!("1,000 HVPs on one tape: live bytes after each 250: {live:?}");
    eprintln!(
        "the tape held {} bytes; {} remain once its last Var is gone",
        held - start,
        end as isize - start as isize
    );
    let grown = live.windows(2).filter(|w| w[1] > w[0] + SLACK).count();
    assert!(
        grown <= 1,
        "live bytes grew in {grown} of 4 windows of 250 gradients: {live:?}"
    );
    // what the tape held must go with it; a one-off allocation elsewhere
    // in the process that grew one window (above) may stay
    let one_off = live
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .max()
        .unwrap_or(0);
    assert!(
        end <= start + SLACK + one_off,
        "{} bytes remain of the {} the tape held (one-off growth {one_off})",
        end as isize - start as isize,
        held - start
    );
}
