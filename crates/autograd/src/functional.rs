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
/// One gradient with its graph kept, then one sweep per sample (see
/// [`hutchinson_diagonal_on`], which it calls).
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
    hutchinson_diagonal_on(&tape, &g, &vars, n_samples, rng)
}

/// The Hutchinson loop itself, on a tape where the gradient `gradient` of
/// a scalar with respect to `inputs` was recorded by [`Tape::grad_graph`]:
/// the mean of `z ⊙ Hz` over `n_samples` Rademacher draws, `Hz` one sweep
/// through the recorded gradient seeded with `z`. The draws come from
/// `rng`, one tensor per input in order, so a seeded generator gives the
/// same estimate everywhere. [`hutchinson_diagonal`] and the optimizers'
/// step driver both call it: there is one Hutchinson loop.
///
/// ```
/// use curvature_autograd::{functional, seeded_rng, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
/// let f = (x.square() * &Tensor::from_vec(vec![3.0, 5.0], &[2])).sum(); // diag H = (6, 10)
/// let g = tape.grad_graph(&f, [&x]);
/// let d = functional::hutchinson_diagonal_on(&tape, &g, [&x], 2, &mut seeded_rng(0));
/// assert_eq!(d[0].to_vec(), vec![6.0, 10.0]); // exact: H is diagonal
/// ```
pub fn hutchinson_diagonal_on<T: Element, R, I>(
    tape: &Tape<T>,
    gradient: &[Var<T>],
    inputs: I,
    n_samples: usize,
    rng: &mut R,
) -> Vec<Tensor<T>>
where
    R: Rng + ?Sized,
    I: IntoIterator,
    I::Item: AsRef<Var<T>>,
{
    assert!(
        n_samples >= 1,
        "hutchinson_diagonal_on: n_samples must be at least 1, got 0"
    );
    let vars: Vec<Var<T>> = inputs.into_iter().map(|v| v.as_ref().clone()).collect();
    let mut sums: Vec<Vec<T>> = gradient
        .iter()
        .map(|g| vec![T::zero(); g.numel()])
        .collect();
    for s in 0..n_samples {
        let zs: Vec<Tensor<T>> = gradient
            .iter()
            .map(|g| Tensor::rademacher(&g.shape(), rng))
            .collect();
        // Hz = ∇<g, z>: one more reverse sweep through the recorded
        // gradient, seeded with z (the vector-Jacobian product of g)
        let hzs = tape.grad_many(gradient, &zs, &vars);
        for ((acc, z), hz) in sums.iter_mut().zip(&zs).zip(&hzs) {
            for ((a, &z), &hz) in acc.iter_mut().zip(z.as_slice()).zip(hz.as_slice()) {
                *a = if s == 0 { z * hz } else { *a + z * hz };
            }
        }
    }
    if n_samples > 1 {
        let scale = T::one() / T::from_f64(n_samples as f64);
        for a in sums.iter_mut().flatten() {
            *a = *a * scale;
        }
    }
    sums.into_iter()
        .zip(gradient)
        .map(|(data, g)| Tensor::from_vec(data, &g.shape()))
        .collect()
}

/// The Gauss-Newton-vector product `J^T H_L J v` of a loss composed with a
/// model: `model` maps the inputs to an output `y` (any shape), `loss`
/// maps `y` (a leaf of its own, at the model's value) to a scalar, `J` is
/// the model's Jacobian and `H_L` the Hessian of the loss in `y`. For a
/// convex loss (squared error, cross-entropy from logits) the
/// Gauss-Newton matrix is positive semi-definite even where the full
/// Hessian is not, which is what Hessian-free optimization (Martens 2010)
/// and Newton-CG's option use. Three products, all reverse sweeps on one
/// tape (see [`GaussNewton`]); never `J` or `H_L` in full.
///
/// ```
/// use curvature_autograd::{functional, Tape, Tensor, Var};
/// // y = a x (a linear model), loss 1/2 |y|^2: the Gauss-Newton matrix is a^T a
/// let a = Tensor::from_vec(vec![1.0_f64, 2.0, 3.0, 4.0], &[2, 2]);
/// let model = |tape: &Tape<f64>, p: &[Var<f64>]| tape.constant(&a).matmul(&p[0]);
/// let loss = |_: &Tape<f64>, y: &Var<f64>| y.square().sum() * 0.5;
/// let x = Tensor::from_vec(vec![0.5, -1.0], &[2, 1]);
/// let v = Tensor::from_vec(vec![1.0, 0.0], &[2, 1]);
/// let gv = functional::gnvp(model, loss, [&x], [&v]);
/// assert_eq!(gv[0].to_vec(), vec![10.0, 14.0]); // first column of a^T a
/// ```
pub fn gnvp<T: Element, M, L>(
    model: M,
    loss: L,
    inputs: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
    v: impl IntoIterator<Item = impl Borrow<Tensor<T>>>,
) -> Vec<Tensor<T>>
where
    M: Fn(&Tape<T>, &[Var<T>]) -> Var<T>,
    L: Fn(&Tape<T>, &Var<T>) -> Var<T>,
{
    let inputs = &collect_tensors(inputs)[..];
    let v = &collect_tensors(v)[..];
    check_like("gnvp", "v", inputs, v);
    let (tape, vars, y) = trace(model, inputs);
    GaussNewton::new(&tape, &vars, &y, loss).product(v)
}

/// Gauss-Newton-vector products `J^T H_L J v` on one tape, for as many `v`
/// as a solver needs: built once from the model's output (what is kept is
/// `J^T u` recorded for a dummy `u`, and the loss's gradient in `y`
/// recorded), each product then costs three reverse sweeps: `J v` by the
/// double-vjp trick, `H_L (J v)`, and `J^T (H_L J v)`.
pub struct GaussNewton<T: Element> {
    tape: Tape<T>,
    vars: Vec<Var<T>>,
    output: Var<T>,
    u: Var<T>,
    jt_u: Vec<Var<T>>,
    output_leaf: Var<T>,
    loss_gradient: Vec<Var<T>>,
}

impl<T: Element> GaussNewton<T> {
    /// The products of `loss ∘ model` at the point where `output` (the
    /// model's output, recorded on `tape` from `inputs`) was computed.
    /// `loss` is evaluated on a leaf holding the output's value.
    pub fn new<L>(tape: &Tape<T>, inputs: &[Var<T>], output: &Var<T>, loss: L) -> Self
    where
        L: Fn(&Tape<T>, &Var<T>) -> Var<T>,
    {
        let u = tape.var(Tensor::zeros(&output.shape()));
        let jt_u = tape.grad_graph(&(output * &u).sum(), inputs);
        let output_leaf = tape.var(output.value());
        let l = loss(tape, &output_leaf);
        assert_eq!(
            l.numel(),
            1,
            "gnvp: the loss must have one element, but it has shape {:?}",
            l.shape()
        );
        let loss_gradient = tape.grad_graph(&l, [&output_leaf]);
        Self {
            tape: tape.clone(),
            vars: inputs.to_vec(),
            output: output.clone(),
            u,
            jt_u,
            output_leaf,
            loss_gradient,
        }
    }

    /// `J^T H_L J v`, one tensor per input.
    pub fn product(&self, v: &[Tensor<T>]) -> Vec<Tensor<T>> {
        let jv = self.tape.grad_many(&self.jt_u, v, [&self.u]);
        let hjv = self
            .tape
            .grad_many(&self.loss_gradient, &jv, [&self.output_leaf]);
        let options = GradOptions::new().grad_output(hjv.into_iter().next().expect("one output"));
        self.tape
            .try_grad(&self.output, &self.vars, &options)
            .unwrap_or_else(|e| panic!("gnvp: {e}"))
    }
}
