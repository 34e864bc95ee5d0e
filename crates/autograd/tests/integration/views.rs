//! Gradients through strided views: transposes, narrows, broadcasts,
//! unsqueeze/squeeze and reshapes are O(1) views of their input's storage
//! in the forward pass, and their derivative rules (which produce views
//! too: the gradient of a broadcast sum is a broadcast of ones) must give
//! exact first and second derivatives. Each function is checked by
//! `gradcheck` and `gradgradcheck` in f64, with PyTorch's tolerances.

use crate::common;

use common::{assert_first_and_second_order as check, randn};
use curvature_autograd::{functional, Tape, Tensor, Var};

#[test]
fn transpose_then_nonlinear_ops_are_correct_to_second_order() {
    // tanh(x^T) * w, with w broadcast along the rows of x^T
    check(
        "tanh(x^T) * w",
        |_, p| (&p[0].t().tanh() * &p[1]).square().sum(),
        &[randn(&[3, 4], 1), randn(&[3], 2)],
    );
}

#[test]
fn narrow_of_a_transpose_is_correct_to_second_order() {
    check(
        "narrow(x^T, 0, 1, 2) squared",
        |_, p| (&p[0].t().narrow(0, 1, 2).sin() * &p[0].narrow(1, 0, 2).t()).sum(),
        &[randn(&[3, 4], 3)],
    );
}

#[test]
fn broadcast_to_then_transpose_then_narrow_is_correct_to_second_order() {
    // a column broadcast to a matrix, transposed, narrowed, against a full operand
    check(
        "narrow(broadcast(c)^T) * y",
        |_, p| {
            let b = p[0].broadcast_to(&[3, 5]).t().narrow(0, 1, 3);
            (&b.tanh() * &p[1]).sum()
        },
        &[randn(&[3, 1], 4), randn(&[3, 3], 5)],
    );
}

#[test]
fn unsqueeze_and_squeeze_are_correct_to_second_order() {
    check(
        "squeeze(unsqueeze(x)^T ...)",
        |_, p| {
            let u = p[0].unsqueeze(0); // [1, 3, 2]
            let b = u.broadcast_to(&[4, 3, 2]); // stride 0 along the batch
            let s = b.narrow(0, 2, 1).squeeze(0); // [3, 2]
            (&s.exp() * &p[0].t().t()).sum()
        },
        &[randn(&[3, 2], 6)],
    );
}

#[test]
fn reshape_of_a_transposed_value_is_correct_to_second_order() {
    // the reshape of a transpose cannot be a view: it copies, in row-major
    // order of the transpose
    check(
        "reshape(x^T) * w",
        |_, p| (&p[0].t().reshape(&[2, 6]).tanh() * &p[1]).square().sum(),
        &[randn(&[4, 3], 7), randn(&[2, 6], 8)],
    );
    check(
        "reshape(x^T) to [12]",
        |_, p| p[0].t().reshape(&[12]).narrow(0, 3, 5).sin().sum(),
        &[randn(&[3, 4], 9)],
    );
}

#[test]
fn matmul_of_transposed_and_narrowed_values_is_correct_to_second_order() {
    check(
        "x^T @ narrow(w)",
        |_, p| {
            let w = p[1].narrow(1, 1, 3); // [4, 3], not contiguous
            p[0].t().matmul(&w).tanh().sum()
        },
        &[randn(&[4, 2], 10), randn(&[4, 5], 11)],
    );
    check(
        "narrow(x)^T @ y^T, flagged and by views",
        |_, p| {
            let x = p[0].narrow(0, 1, 3); // [3, 2], offset view
            let a = x.matmul_tn(&p[1].t().t()); // x^T y: [2, 4]
            let b = x.t().matmul(&p[1]);
            (&a.square() + &b.sin()).sum()
        },
        &[randn(&[5, 2], 12), randn(&[3, 4], 13)],
    );
}

#[test]
fn inputs_that_are_views_differentiate_like_their_copies() {
    // a transposed tensor handed to the functional API as an input
    let x = randn(&[3, 4], 14);
    let view = x.t();
    assert!(!view.is_contiguous());
    let f = |_: &Tape<f64>, p: &[Var<f64>]| p[0].tanh().square().sum();
    let g_view = functional::grad(f, std::slice::from_ref(&view));
    let g_copy = functional::grad(f, &[view.contiguous()]);
    assert_eq!(g_view[0], g_copy[0]);
    // returned gradients are plain contiguous tensors
    assert!(g_view[0].is_contiguous());
    let _ = g_view[0].as_slice();
    check(
        "tanh(view)^2 with a transposed input",
        f,
        &[view, x.narrow(1, 1, 2)],
    );
}

#[test]
fn the_gradient_of_a_sum_is_returned_contiguous() {
    // the rule of sum is a broadcast of the seed: a stride-0 view inside
    // the sweep, a plain tensor for the user
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![1.0_f64, 2.0, 3.0, 4.0], &[2, 2]));
    let g = tape.grad(&x.sum(), &[&x]);
    assert!(g[0].is_contiguous());
    assert_eq!(g[0].as_slice(), &[1.0; 4]);
    let (_, grads) = functional::value_and_grad(|_, p| p[0].t().sum(), &[x.value()]);
    assert_eq!(grads[0].as_slice(), &[1.0; 4]);
}
