//! The functional API, mirroring `torch.autograd.functional` and `jax`.
//!
//! Each function takes a closure that builds the output from input `Var`s
//! (and constants on the same tape) and plain tensors in; it runs the
//! closure on a fresh tape, which is dropped before returning. A closure
//! stored in a variable can be passed by reference (`&f`) any number of times.
//!
//! ```
//! use curvature_autograd::{functional, Tape, Tensor, Var};
//! // Rosenbrock: f(x, y) = (1 - x)^2 + 100 (y - x^2)^2
//! let f = |_: &Tape<f64>, p: &[Var<f64>]| {
//!     let (x, y) = (&p[0], &p[1]);
//!     (1.0 - x).square().sum() + (y - &x.square()).square().sum() * 100.0
//! };
//! let at = [Tensor::scalar(1.0), Tensor::scalar(1.0)];
//! let h = functional::hessian(&f, &at);
//! assert_eq!(h.to_vec(), vec![802.0, -400.0, -400.0, 200.0]);
//! let hv = functional::hvp(&f, &at, &[Tensor::scalar(1.0), Tensor::scalar(0.0)]);
//! assert_eq!((hv[0].item(), hv[1].item()), (802.0, -400.0));
//! ```

use rand::Rng;

use std::borrow::Borrow;

use crate::{Element, GradOptions, Tape, Tensor, Var};

/// The tensors of an input list: the functional API takes anything that
/// iterates over tensors or references to them (`&[x, y]`, `[&x]`, `&vec`).
fn collect_tensors<T: Clone>(
    xs: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
) -> Vec<Tensor<T>> {
    xs.into_iter().map(|x| x.borrow().clone()).collect()
}

/// Runs `f` on a fresh tape with each input as a leaf that requires grad.
fn trace<T: Element, F>(f: F, inputs: &[Tensor<T>]) -> (Tape<T>, Vec<Var<T>>, Var<T>)
where
    F: Fn(&Tape<T>, &[Var<T>]) -> Var<T>,
{
    let tape = Tape::new();
    let vars: Vec<Var<T>> = inputs.iter().map(|x| tape.var(x)).collect();
    let output = f(&tape, &vars);
    (tape, vars, output)
}

fn check_like<T: Element>(op: &str, what: &str, inputs: &[Tensor<T>], others: &[Tensor<T>]) {
    assert_eq!(
        inputs.len(),
        others.len(),
        "{op}: {} inputs but {} {what}",
        inputs.len(),
        others.len()
    );
    for (k, (x, v)) in inputs.iter().zip(others).enumerate() {
        assert_eq!(
            x.shape(),
            v.shape(),
            "{op}: {what} {k} has shape {:?} but input {k} has shape {:?}",
            v.shape(),
            x.shape()
        );
    }
}

/// The gradient of a scalar function at `inputs`.
pub fn grad<T: Element, F>(
    f: F,
    inputs: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
) -> Vec<Tensor<T>>
where
    F: Fn(&Tape<T>, &[Var<T>]) -> Var<T>,
{
    let inputs = &collect_tensors(inputs)[..];
    value_and_grad(f, inputs).1
}

/// The value and the gradient of a scalar function at `inputs`.
pub fn value_and_grad<T: Element, F>(
    f: F,
    inputs: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
) -> (Tensor<T>, Vec<Tensor<T>>)
where
    F: Fn(&Tape<T>, &[Var<T>]) -> Var<T>,
{
    let inputs = &collect_tensors(inputs)[..];
    let (tape, vars, y) = trace(f, inputs);
    let grads = tape.grad(&y, &vars);
    (y.value().contiguous(), grads)
}

/// The vector-Jacobian product `v^T J` of a (tensor-valued) function, with
/// its value; `v` has the output's shape.
pub fn vjp<T: Element, F>(
    f: F,
    inputs: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
    v: &Tensor<T>,
) -> (Tensor<T>, Vec<Tensor<T>>)
where
    F: Fn(&Tape<T>, &[Var<T>]) -> Var<T>,
{
    let inputs = &collect_tensors(inputs)[..];
    let (tape, vars, y) = trace(f, inputs);
    let options = GradOptions::new().grad_output(v.clone());
    let grads = tape
        .try_grad(&y, &vars, &options)
        .unwrap_or_else(|e| panic!("vjp: {e}"));
    (y.value().contiguous(), grads)
}

/// The Jacobian-vector product `J v` with the function's value, by the
/// double-vjp trick: `u -> J^T u` is linear in `u`, and its own vjp with
/// `v` is `J v`. Two reverse sweeps; no forward mode needed.
pub fn jvp<T: Element, F>(
    f: F,
    inputs: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
    tangents: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
) -> (Tensor<T>, Tensor<T>)
where
    F: Fn(&Tape<T>, &[Var<T>]) -> Var<T>,
{
    let inputs = &collect_tensors(inputs)[..];
    let tangents = &collect_tensors(tangents)[..];
    check_like("jvp", "tangent", inputs, tangents);
    let (tape, vars, y) = trace(f, inputs);
    let u = tape.var(Tensor::zeros(&y.shape()));
    let jt_u = tape.grad_graph(&(&y * &u).sum(), &vars);
    let jv = tape.grad_many(&jt_u, tangents, [&u]);
    (
        y.value().contiguous(),
        jv.into_iter().next().expect("one input"),
    )
}

/// The Hessian-vector product `H v` of a scalar function: reverse over
/// reverse, `grad(<grad f(x), v>)`, two sweeps and never the full `H`.
pub fn hvp<T: Element, F>(
    f: F,
    inputs: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
    v: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
) -> Vec<Tensor<T>>
where
    F: Fn(&Tape<T>, &[Var<T>]) -> Var<T>,
{
    let inputs = &collect_tensors(inputs)[..];
    let v = &collect_tensors(v)[..];
    check_like("hvp", "v", inputs, v);
    let (tape, vars, y) = trace(f, inputs);
    let g = tape.grad_graph(&y, &vars);
    // the vector-Jacobian product of the gradient with seed v: one sweep
    tape.grad_many(&g, v, &vars)
}

/// The vector-Hessian product `v^T H`: the same computation as [`hvp`]
/// (the Hessian of a twice continuously differentiable function is
/// symmetric), kept under PyTorch's name.
pub fn vhp<T: Element, F>(
    f: F,
    inputs: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
    v: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
) -> Vec<Tensor<T>>
where
    F: Fn(&Tape<T>, &[Var<T>]) -> Var<T>,
{
    let inputs = &collect_tensors(inputs)[..];
    let v = &collect_tensors(v)[..];
    hvp(f, inputs, v)
}

/// The full Hessian of a scalar function over the flattened concatenation
/// of its inputs: an `[n, n]` tensor, `n` the total number of elements.
/// One gradient with its graph kept, then one sweep per row.
pub fn hessian<T: Element, F>(
    f: F,
    inputs: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
) -> Tensor<T>
where
    F: Fn(&Tape<T>, &[Var<T>]) -> Var<T>,
{
    let inputs = &collect_tensors(inputs)[..];
    let (tape, vars, y) = trace(f, inputs);
    let g = tape.grad_graph(&y, &vars);
    let flat: Vec<Var<T>> = g.iter().map(Var::flatten).collect();
    let g_flat = Var::concat(&flat, 0);
    let n = g_flat.numel();
    let mut data = Vec::with_capacity(n * n);
    for i in 0..n {
        let mut e = vec![T::zero(); n];
        e[i] = T::one();
        let options = GradOptions::new().grad_output(Tensor::from_vec(e, &[n]));
        let row = tape
            .try_grad(&g_flat, &vars, &options)
            .expect("seed has the gradient's shape");
        for r in &row {
            data.extend_from_slice(r.as_slice());
        }
    }
    Tensor::from_vec(data, &[n, n])
}

/// The Jacobian of a (tensor-valued) function, one tensor per input with
/// shape `output.shape ++ input.shape`, as `torch.autograd.functional.jacobian`.
pub fn jacobian<T: Element, F>(
    f: F,
    inputs: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
) -> Vec<Tensor<T>>
where
    F: Fn(&Tape<T>, &[Var<T>]) -> Var<T>,
{
    let inputs = &collect_tensors(inputs)[..];
    let (tape, vars, y) = trace(f, inputs);
    let out_shape = y.shape();
    let m = y.numel();
    let mut rows: Vec<Vec<T>> = inputs
        .iter()
        .map(|x| Vec::with_capacity(m * x.numel()))
        .collect();
    for j in 0..m {
        let mut e = vec![T::zero(); m];
        e[j] = T::one();
        let options = GradOptions::new().grad_output(Tensor::from_vec(e, &out_shape));
        let row = tape
            .try_grad(&y, &vars, &options)
            .expect("seed has the output's shape");
        for (acc, r) in rows.iter_mut().zip(&row) {
            acc.extend_from_slice(r.as_slice());
        }
    }
    rows.into_iter()
        .zip(inputs)
        .map(|(data, x)| {
            let shape: Vec<usize> = out_shape.iter().chain(x.shape()).copied().collect();
            Tensor::from_vec(data, &shape)
        })
        .collect()
}

/// Hutchinson's estimate of the Hessian's diagonal: the mean of `z ⊙ Hz`
/// over `n_samples` Rademacher vectors `z` drawn from `rng`. Exact, for
/// every draw, when the Hessian is diagonal; unbiased for the diagonal
/// (not the row sums) of any Hessian, since `E[z_i z_j] = δ_ij`.
/// One gradient with its graph kept, then one sweep per sample.
pub fn hutchinson_diagonal<T: Element, F, R>(
    f: F,
    inputs: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
    n_samples: usize,
    rng: &mut R,
) -> Vec<Tensor<T>>
where
    F: Fn(&Tape<T>, &[Var<T>]) -> Var<T>,
    R: Rng + ?Sized,
{
    let inputs = &collect_tensors(inputs)[..];
    assert!(
        n_samples >= 1,
        "hutchinson_diagonal: n_samples must be at least 1, got 0"
    );
    let (tape, vars, y) = trace(f, inputs);
    let g = tape.grad_graph(&y, &vars);
    let mut sums: Vec<Tensor<T>> = inputs.iter().map(Tensor::zeros_like).collect();
    for _ in 0..n_samples {
        let z: Vec<Tensor<T>> = inputs
            .iter()
            .map(|x| Tensor::rademacher(x.shape(), rng))
            .collect();
        let hz = tape.grad_many(&g, &z, &vars);
        for ((s, z), hz) in sums.iter_mut().zip(&z).zip(&hz) {
            *s = &*s + &(z * hz);
        }
    }
    let scale = T::one() / T::from_f64(n_samples as f64);
    sums.iter().map(|s| s.mul_scalar(scale)).collect()
}
