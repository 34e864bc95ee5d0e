//! The backward sweep. The derivative rules are declared with their ops
//! (`ops/*.rs`), each written with the public, recorded `Var` ops. With
//! `create_graph` the sweep records them, so gradients are ordinary `Var`s
//! that can be differentiated again, to any order; without it the same
//! rules run with recording off and leave nothing behind.

use smallvec::SmallVec;

use crate::op::{Ctx, NodeId};
use crate::tape::TapeInner;
use crate::{Element, Error, Tape, Tensor, Var};

/// Options of a gradient computation, as in `torch.autograd.grad`.
#[derive(Clone, Debug)]
pub struct GradOptions<T> {
    /// Error (instead of returning zeros) when an input is not on any path
    /// to the output.
    pub strict: bool,
    /// The seed `v` of a vector-Jacobian product `v^T J` for an output that
    /// is not a scalar; must have the output's shape. `None` means 1 for a
    /// one-element output.
    pub grad_output: Option<Tensor<T>>,
}

impl<T> Default for GradOptions<T> {
    fn default() -> Self {
        Self {
            strict: false,
            grad_output: None,
        }
    }
}

impl<T> GradOptions<T> {
    /// Default options: not strict, output must have one element.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`GradOptions::strict`].
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Sets [`GradOptions::grad_output`].
    pub fn grad_output(mut self, seed: Tensor<T>) -> Self {
        self.grad_output = Some(seed);
        self
    }
}

/// The `Var`s to differentiate with respect to: anything that iterates
/// over `Var`s or references to them (`&[Var]`, `&Vec<Var>`, `[&a, &b]`).
fn collect<T, I>(inputs: I) -> Vec<Var<T>>
where
    I: IntoIterator,
    I::Item: AsRef<Var<T>>,
{
    inputs.into_iter().map(|x| x.as_ref().clone()).collect()
}

impl<T: Element> Tape<T> {
    /// The gradient of a one-element `output` with respect to each input,
    /// as tensors. Nothing is recorded, and the temporary nodes of the
    /// sweep are released before it returns. Inputs the output does not
    /// depend on get zeros. `inputs` is anything that iterates over `Var`s
    /// or references to them: `&params`, `[&w, &b]`. Panics when `output`
    /// has more than one element (use [`Tape::try_grad`] with a `grad_output`).
    ///
    /// ```
    /// use curvature_autograd::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let params = vec![tape.var(Tensor::scalar(2.0_f64)), tape.var(Tensor::scalar(3.0))];
    /// let loss = &params[0] * &params[1];
    /// let grads = tape.grad(&loss, &params);
    /// assert_eq!((grads[0].item(), grads[1].item()), (3.0, 2.0));
    /// ```
    pub fn grad<I>(&self, output: &Var<T>, inputs: I) -> Vec<Tensor<T>>
    where
        I: IntoIterator,
        I::Item: AsRef<Var<T>>,
    {
        self.try_grad(output, inputs, &GradOptions::new())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The gradient as `Var`s recorded on this tape (`create_graph=True`):
    /// they can be differentiated again, to any order.
    pub fn grad_graph<I>(&self, output: &Var<T>, inputs: I) -> Vec<Var<T>>
    where
        I: IntoIterator,
        I::Item: AsRef<Var<T>>,
    {
        self.try_grad_graph(output, inputs, &GradOptions::new())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Tape::grad`] with options: a `grad_output` seed for a non-scalar
    /// output, and `strict` to make an unused input an error.
    pub fn try_grad<I>(
        &self,
        output: &Var<T>,
        inputs: I,
        options: &GradOptions<T>,
    ) -> Result<Vec<Tensor<T>>, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<Var<T>>,
    {
        let inputs = collect(inputs);
        let seed = self.seed(output, options)?;
        self.sweep_values(
            std::slice::from_ref(output),
            vec![seed],
            &inputs,
            options.strict,
        )
    }

    /// [`Tape::grad_graph`] with options (see [`Tape::try_grad`]).
    pub fn try_grad_graph<I>(
        &self,
        output: &Var<T>,
        inputs: I,
        options: &GradOptions<T>,
    ) -> Result<Vec<Var<T>>, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<Var<T>>,
    {
        let inputs = collect(inputs);
        let seed = self.seed(output, options)?;
        self.sweep(
            std::slice::from_ref(output),
            vec![seed],
            &inputs,
            options.strict,
            true,
        )
    }

    /// The gradient of `sum_k <grad_outputs[k], outputs[k]>` with respect
    /// to each input, in one sweep: `torch.autograd.grad(outputs, inputs,
    /// grad_outputs)` with several outputs. A Hessian-vector product is
    /// this applied to a gradient recorded by [`Tape::grad_graph`], with
    /// `v` as the seeds. Nothing is recorded; the sweep's temporary nodes
    /// are released before it returns. Panics, naming the output, when a
    /// seed's shape differs from its output's (see [`Tape::try_grad_many`]).
    ///
    /// ```
    /// use curvature_autograd::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let y = tape.var(Tensor::scalar(3.0_f64));
    /// let f = x.square().sum() * &y;                    // f = y (x0^2 + x1^2)
    /// let g = tape.grad_graph(&f, [&x, &y]);            // [2 y x, x0^2 + x1^2]
    /// let v = [Tensor::from_vec(vec![1.0, 0.0], &[2]), Tensor::scalar(1.0)];
    /// let hv = tape.grad_many(&g, &v, [&x, &y]);
    /// assert_eq!(hv[0].to_vec(), vec![2.0 * 3.0 + 2.0 * 1.0, 2.0 * 2.0]);
    /// assert_eq!(hv[1].item(), 2.0 * 1.0);
    /// ```
    pub fn grad_many<O, I>(
        &self,
        outputs: O,
        grad_outputs: &[Tensor<T>],
        inputs: I,
    ) -> Vec<Tensor<T>>
    where
        O: IntoIterator,
        O::Item: AsRef<Var<T>>,
        I: IntoIterator,
        I::Item: AsRef<Var<T>>,
    {
        self.try_grad_many(outputs, grad_outputs, inputs)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Tape::grad_many`], returning an error (instead of panicking) when
    /// the number of seeds differs from the number of outputs or a seed's
    /// shape differs from its output's.
    pub fn try_grad_many<O, I>(
        &self,
        outputs: O,
        grad_outputs: &[Tensor<T>],
        inputs: I,
    ) -> Result<Vec<Tensor<T>>, Error>
    where
        O: IntoIterator,
        O::Item: AsRef<Var<T>>,
        I: IntoIterator,
        I::Item: AsRef<Var<T>>,
    {
        let outputs = collect(outputs);
        let inputs = collect(inputs);
        if outputs.len() != grad_outputs.len() {
            return Err(Error::Seed(format!(
                "grad_many: {} outputs but {} grad_outputs",
                outputs.len(),
                grad_outputs.len()
            )));
        }
        for (k, (y, seed)) in outputs.iter().zip(grad_outputs).enumerate() {
            if seed.shape() != y.shape().as_slice() {
                return Err(Error::Shape {
                    op: "grad_many",
                    lhs: seed.shape().to_vec(),
                    rhs: y.shape().to_vec(),
                    detail: format!(": grad_output {k} must have the shape of output {k}"),
                });
            }
        }
        if outputs.is_empty() {
            return Ok(inputs.iter().map(|x| Tensor::zeros(&x.shape())).collect());
        }
        self.sweep_values(&outputs, grad_outputs.to_vec(), &inputs, false)
    }

    /// A sweep with recording off, returning tensors; every node it pushed
    /// is released before it returns.
    fn sweep_values(
        &self,
        outputs: &[Var<T>],
        seeds: Vec<Tensor<T>>,
        inputs: &[Var<T>],
        strict: bool,
    ) -> Result<Vec<Tensor<T>>, Error> {
        let mark = self.len();
        let grads = self.sweep(outputs, seeds, inputs, strict, false);
        // plain contiguous tensors for users (a gradient can be a view, e.g.
        // the broadcast ones of a sum); no copy when it already is one
        let values = grads.map(|gs| gs.iter().map(|g| g.value().contiguous()).collect());
        // Every node past `mark` was made by this sweep with recording off.
        self.inner.nodes.borrow_mut().truncate(mark);
        values
    }

    /// The seed of a single-output sweep: `grad_output`, or 1 for a
    /// one-element output.
    fn seed(&self, output: &Var<T>, options: &GradOptions<T>) -> Result<Tensor<T>, Error> {
        let out_shape = output.shape();
        let seed = match &options.grad_output {
            Some(seed) if seed.shape() != out_shape.as_slice() => {
                return Err(Error::Seed(format!(
                    "grad_output has shape {:?} but the output has shape {:?}",
                    seed.shape(),
                    out_shape.as_slice()
                )))
            }
            Some(seed) => seed.clone(),
            None if output.numel() == 1 => Tensor::ones(&out_shape),
            None => {
                return Err(Error::Seed(format!(
                    "the output has shape {:?}, not one element; pass a grad_output of that shape",
                    out_shape.as_slice()
                )))
            }
        };
        Ok(seed)
    }

    /// Runs the derivative rules from the outputs (each seeded with its
    /// tensor) back to the inputs.
    fn sweep(
        &self,
        outputs: &[Var<T>],
        seeds: Vec<Tensor<T>>,
        inputs: &[Var<T>],
        strict: bool,
        create_graph: bool,
    ) -> Result<Vec<Var<T>>, Error> {
        let tape = &self.inner;
        for y in outputs {
            assert!(
                std::rc::Rc::ptr_eq(tape, &y.tape),
                "grad: the output lives on tape #{}, not on tape #{}",
                y.tape.id,
                tape.id
            );
            for x in inputs {
                y.check_same_tape(x, "grad");
            }
        }
        let out = outputs
            .iter()
            .map(|y| y.id)
            .max()
            .expect("at least one output");
        let first = outputs
            .iter()
            .map(|y| y.id)
            .min()
            .expect("at least one output");
        let lo = inputs
            .iter()
            .map(|x| x.id)
            .min()
            .unwrap_or(first)
            .min(first);
        // An input recorded after the output is not on any path, but it
        // still needs a slot (for its zero gradient).
        let hi = inputs.iter().map(|x| x.id).max().unwrap_or(out).max(out);
        let on_path = self.nodes_on_path(lo, out, hi, inputs);
        let mut grads: Vec<Option<Var<T>>> = vec![None; hi - lo + 1];
        let mut keep = vec![false; hi - lo + 1];
        for x in inputs {
            keep[x.id - lo] = true;
        }

        // Restores the recording flag on every exit, a panic included.
        let _restore = tape.set_recording(create_graph);
        // With recording off, what the sweep pushes is released as soon as
        // no gradient slot holds it (see `Temporaries`).
        let mut temps = (!create_graph).then(|| Temporaries::new(tape.nodes.borrow().len()));
        let hold = |temps: &mut Option<Temporaries>, old: Option<&Var<T>>, new: &Var<T>| {
            if let Some(t) = temps {
                t.hold(new.id);
                if let Some(old) = old {
                    t.drop_ref(old.id);
                }
            }
        };
        for (y, seed) in outputs.iter().zip(seeds) {
            if on_path[y.id - lo] {
                let seed = y.constant_like(seed);
                let slot = &mut grads[y.id - lo];
                let acc = slot.take();
                let sum = match &acc {
                    None => seed,
                    Some(acc) => acc + &seed,
                };
                hold(&mut temps, acc.as_ref(), &sum);
                *slot = Some(sum);
            }
        }
        for id in (lo..=out).rev() {
            if let Some(t) = &mut temps {
                t.release(tape);
            }
            let g = if keep[id - lo] {
                grads[id - lo].clone()
            } else {
                let g = grads[id - lo].take();
                if let (Some(t), Some(g)) = (&mut temps, &g) {
                    t.drop_ref(g.id);
                }
                g
            };
            let Some(g) = g else { continue };
            // Copied out: the rule pushes nodes, which may move the arena.
            let (op, op_inputs) = {
                let node = &tape.nodes.borrow()[id];
                (node.op.clone(), node.inputs.clone())
            };
            let needs: SmallVec<[bool; 2]> = op_inputs
                .iter()
                .map(|&i| i >= lo && on_path[i - lo])
                .collect();
            if !needs.iter().any(|&n| n) {
                continue;
            }
            tape.backward_of.set(Some(op.name()));
            let x: SmallVec<[Var<T>; 2]> = op_inputs
                .iter()
                .map(|&i| Var::from_parts(tape.clone(), i))
                .collect();
            let out_var = Var::from_parts(tape.clone(), id);
            let ctx = Ctx {
                x: &x,
                out: &out_var,
                g: &g,
                needs: &needs,
            };
            let input_grads = op.backward(&ctx);
            for (&i, gi) in op_inputs.iter().zip(input_grads.0) {
                if let Some(gi) = gi {
                    let slot = &mut grads[i - lo];
                    let acc = slot.take();
                    let sum = match &acc {
                        None => gi,
                        Some(acc) => acc + &gi,
                    };
                    hold(&mut temps, acc.as_ref(), &sum);
                    *slot = Some(sum);
                }
            }
        }
        tape.backward_of.set(None);

        inputs
            .iter()
            .enumerate()
            .map(|(k, x)| match &grads[x.id - lo] {
                Some(g) => Ok(g.clone()),
                None if strict => Err(Error::UnusedInput {
                    index: k,
                    node: x.id,
                    shape: x.shape().to_vec(),
                }),
                None => Ok(x.constant_like(Tensor::zeros(&x.shape()))),
            })
            .collect()
    }

    /// Marks the nodes in `lo..=out` that lie on a path from an input:
    /// the inputs themselves, and recorded nodes with such an input. The
    /// result covers `lo..=hi`, `hi` the last input or the output.
    fn nodes_on_path(&self, lo: NodeId, out: NodeId, hi: NodeId, inputs: &[Var<T>]) -> Vec<bool> {
        let mut on_path = vec![false; hi - lo + 1];
        for x in inputs {
            on_path[x.id - lo] = true;
        }
        let nodes = self.inner.nodes.borrow();
        for id in lo..=out {
            let node = &nodes[id];
            if !on_path[id - lo] && node.requires_grad {
                on_path[id - lo] = node.inputs.iter().any(|&i| i >= lo && on_path[i - lo]);
            }
        }
        on_path
    }
}

/// The nodes a sweep with recording off pushes (every one at or past
/// `start`): constants, read by nothing once the rule that made them has
/// run, except those held in a gradient slot. Their values are released as
/// soon as no slot holds them, so that a sweep's peak memory is its live
/// gradients rather than all it computed, and the allocator hands the
/// next rule the memory (still in cache) the last one freed.
struct Temporaries {
    start: NodeId,
    /// Slots holding node `start + i`.
    holds: Vec<u32>,
    /// Nodes whose last hold was dropped since the last release.
    dropped: Vec<NodeId>,
    /// Nodes below this were looked at by a release.
    seen: NodeId,
}

impl Temporaries {
    fn new(start: NodeId) -> Self {
        Self {
            start,
            holds: Vec::new(),
            dropped: Vec::new(),
            seen: start,
        }
    }

    fn hold(&mut self, id: NodeId) {
        if let Some(i) = id.checked_sub(self.start) {
            if self.holds.len() <= i {
                self.holds.resize(i + 1, 0);
            }
            self.holds[i] += 1;
        }
    }

    fn drop_ref(&mut self, id: NodeId) {
        if let Some(i) = id.checked_sub(self.start) {
            self.holds[i] -= 1;
            if self.holds[i] == 0 {
                self.dropped.push(id);
            }
        }
    }

    fn held(&self, id: NodeId) -> bool {
        self.holds.get(id - self.start).is_some_and(|&n| n > 0)
    }

    /// Releases every node pushed since the last call that no slot holds,
    /// and every node whose last hold was dropped since.
    fn release<T: Element>(&mut self, tape: &TapeInner<T>) {
        let mut nodes = tape.nodes.borrow_mut();
        let fresh = self.seen..nodes.len();
        self.seen = nodes.len();
        let dropped = std::mem::take(&mut self.dropped);
        for id in fresh.chain(dropped) {
            if !self.held(id) {
                nodes[id].value.release();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Tape, Tensor};

    #[test]
    fn released_temporaries_never_change_a_gradient() {
        // rules that hand back their own gradient (x + x, a reshape to the
        // same shape), an input used twice and as an intermediate, and an
        // input listed twice: the sweep that releases its temporaries gives
        // the bits of the recording sweep, which keeps every value
        let build = |tape: &Tape<f64>| {
            let x = tape.var(Tensor::from_vec(
                vec![0.3, -1.2, 0.7, 2.0, -0.4, 1.1],
                &[2, 3],
            ));
            let w = tape.var(Tensor::from_vec(vec![0.5, -0.25, 1.5], &[3]));
            let twice = &x + &x;
            let h = (&twice * &w).tanh().reshape(&[2, 3]);
            let y = &(&h * &x) + &h.sin();
            let loss = (&y.sum() + &(&w * &w).sum()).exp();
            (x, w, loss)
        };
        let tape = Tape::new();
        let (x, w, loss) = build(&tape);
        let released = tape.grad(&loss, [&x, &w, &x]);
        let kept: Vec<Tensor<f64>> = tape
            .grad_graph(&loss, [&x, &w, &x])
            .iter()
            .map(|g| g.value().contiguous())
            .collect();
        assert_eq!(released, kept);
        // an HVP, its second sweep releasing, matches one on a tape that
        // defers nothing
        let v = [Tensor::ones(&[2, 3]), Tensor::ones(&[3])];
        let g = tape.grad_graph(&loss, [&x, &w]);
        let hv = tape.grad_many(&g, &v, [&x, &w]);
        let eager = Tape::new();
        eager.set_detect_anomaly(true);
        let (xe, we, loss_e) = build(&eager);
        let ge = eager.grad_graph(&loss_e, [&xe, &we]);
        assert_eq!(hv, eager.grad_many(&ge, &v, [&xe, &we]));
    }
}
