//! The tape's bookkeeping: what `grad` leaves behind (nothing) and what
//! `grad_graph` records (the backward pass, to differentiate again).

use crate::common;

use common::{random_like, tanh_mlp_mse, tanh_mlp_params};
use curvature_autograd::{GradOptions, Tape, Tensor, Var};

fn recorded_mlp() -> (Tape<f64>, Vec<Var<f64>>, Var<f64>) {
    let tape = Tape::new();
    let x: Vec<Var<f64>> = tanh_mlp_params(11)
        .into_iter()
        .map(|p| tape.var(p))
        .collect();
    let y = tanh_mlp_mse(&tape, &x);
    (tape, x, y)
}

#[test]
fn grad_without_graph_returns_the_tape_to_its_mark() {
    let (tape, x, y) = recorded_mlp();
    let mark = tape.len();
    assert!(mark > 10);
    let g = tape.grad(&y, &x);
    assert_eq!(tape.len(), mark);
    assert_eq!(g.len(), 4);
    // also when the request fails
    let unused = tape.var(Tensor::zeros(&[2]));
    let mark = tape.len();
    let err = tape.try_grad(&y, [&unused], &GradOptions::new().strict(true));
    assert!(err.is_err());
    assert_eq!(tape.len(), mark);
}

#[test]
fn grad_graph_records_the_backward_pass_and_a_second_grad_truncates_again() {
    let (tape, x, y) = recorded_mlp();
    let forward = tape.len();
    let g = tape.grad_graph(&y, &x);
    let with_backward = tape.len();
    assert!(
        with_backward > forward,
        "grad_graph recorded nothing ({forward} nodes before and after)"
    );
    assert!(g.iter().all(Var::requires_grad));
    let v = random_like(&tanh_mlp_params(11), 1);
    let gv = g
        .iter()
        .zip(&v)
        .map(|(g, v)| (g * &tape.constant(v)).sum())
        .reduce(|a, b| &a + &b)
        .expect("four parameters");
    let mark = tape.len();
    let hv = tape.grad(&gv, &x);
    assert_eq!(tape.len(), mark);
    // the same HVP again: nothing accumulated in between
    assert_eq!(tape.grad(&gv, &x), hv);
    assert_eq!(tape.len(), mark);
}

#[test]
fn constants_and_detached_values_do_not_require_grad() {
    let tape = Tape::<f64>::new();
    assert!(tape.is_empty());
    let x = tape.var(Tensor::ones(&[2]));
    let c = tape.constant(Tensor::ones(&[2]));
    assert!(x.requires_grad());
    assert!(!c.requires_grad());
    assert!(!(&c * &c).requires_grad());
    assert!((&c * &x).requires_grad());
    assert!(!x.detach().requires_grad());
    assert!(x.tape().same_tape(&tape));
    assert!(!Tape::<f64>::new().same_tape(&tape));
}
