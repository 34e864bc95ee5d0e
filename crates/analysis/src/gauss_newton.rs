//! The Gauss-Newton-vector product `J^T H_l J v` on one tape, built from
//! the public tape API only: `J v` by the double-vjp trick, `H_l (J v)` as
//! a Hessian-vector product of the loss in the model's outputs, and
//! `J^T (..)` as one more reverse sweep.

use curvature_autograd::{Element, Tape, Tensor, Var};

/// `G v` for the loss `loss(output)` of a model `output(params)`, with
/// `G = J^T H_l J`, `J` the Jacobian of `output` in `params` and `H_l` the
/// Hessian of the loss in the output. Returns the loss value with it.
pub(crate) fn gauss_newton_product<T, L>(
    tape: &Tape<T>,
    params: &[&Var<T>],
    output: &Var<T>,
    loss_of_output: L,
    v: &[Tensor<T>],
) -> (Var<T>, Vec<Tensor<T>>)
where
    T: Element,
    L: FnOnce(&Var<T>) -> Var<T>,
{
    // J v: u -> J^T u is linear in u, and its vjp with seed v is J v
    let u = tape.var(Tensor::zeros(&output.shape()));
    let jt_u = tape.grad_graph(&(output * &u).sum(), params);
    let jv = tape.grad_many(&jt_u, v, [&u]);
    // H_l (J v): the loss on a fresh leaf holding the output's value, so
    // that its Hessian is the loss's alone, not the model's
    let z = tape.var(output.value());
    let loss = loss_of_output(&z);
    let g = tape.grad_graph(&loss, [&z]);
    let h_jv = tape.grad_many(&g, &jv, [&z]);
    // J^T (H_l J v): one reverse sweep through the model
    let gv = tape.grad_many([output], &h_jv, params);
    (loss, gv)
}
