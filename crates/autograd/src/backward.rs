//! The backward sweep and the table of derivative rules.
//!
//! Every rule is written with the public, recorded `Var` ops. With
//! `create_graph` the sweep records them, so gradients are ordinary `Var`s
//! that can be differentiated again, to any order; without it the same
//! rules run with recording off and leave nothing behind.

use smallvec::{smallvec, SmallVec};

use crate::op::{NodeId, Op};
use crate::{Element, Error, Shape, Tape, Tensor, Var};

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

type InputGrads<T> = SmallVec<[Option<Var<T>>; 2]>;

impl<T: Element> Tape<T> {
    /// The gradient of a one-element `output` with respect to each input,
    /// as tensors. Nothing is recorded, and the temporary nodes of the
    /// sweep are released before it returns. Inputs the output does not
    /// depend on get zeros. Panics when `output` has more than one element
    /// (use [`Tape::try_grad`] with a `grad_output`).
    pub fn grad(&self, output: &Var<T>, inputs: &[&Var<T>]) -> Vec<Tensor<T>> {
        self.try_grad(output, inputs, &GradOptions::new())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The gradient as `Var`s recorded on this tape (`create_graph=True`):
    /// they can be differentiated again, to any order.
    pub fn grad_graph(&self, output: &Var<T>, inputs: &[&Var<T>]) -> Vec<Var<T>> {
        self.try_grad_graph(output, inputs, &GradOptions::new())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Tape::grad`] with options: a `grad_output` seed for a non-scalar
    /// output, and `strict` to make an unused input an error.
    pub fn try_grad(
        &self,
        output: &Var<T>,
        inputs: &[&Var<T>],
        options: &GradOptions<T>,
    ) -> Result<Vec<Tensor<T>>, Error> {
        let mark = self.len();
        let grads = self
            .seed(output, options)
            .and_then(|seed| self.sweep(&[output], vec![seed], inputs, options.strict, false));
        // plain contiguous tensors for users (a gradient can be a view, e.g.
        // the broadcast ones of a sum); no copy when it already is one
        let values = grads.map(|gs| gs.iter().map(|g| g.value().contiguous()).collect());
        // Every node past `mark` was made by this sweep with recording off.
        self.inner.nodes.borrow_mut().truncate(mark);
        values
    }

    /// [`Tape::grad_graph`] with options (see [`Tape::try_grad`]).
    pub fn try_grad_graph(
        &self,
        output: &Var<T>,
        inputs: &[&Var<T>],
        options: &GradOptions<T>,
    ) -> Result<Vec<Var<T>>, Error> {
        let seed = self.seed(output, options)?;
        self.sweep(&[output], vec![seed], inputs, options.strict, true)
    }

    /// The gradient of `sum_k <grad_outputs[k], outputs[k]>` with respect
    /// to each input, in one sweep: `torch.autograd.grad(outputs, inputs,
    /// grad_outputs)` with several outputs. A Hessian-vector product is
    /// this applied to a gradient recorded by [`Tape::grad_graph`], with
    /// `v` as the seeds. Nothing is recorded; the sweep's temporary nodes
    /// are released before it returns. Panics, naming the output, when a
    /// seed's shape differs from its output's.
    ///
    /// ```
    /// use curvature_autograd::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let y = tape.var(Tensor::scalar(3.0_f64));
    /// let f = (&x.square().sum() * &y).sum();           // f = y (x0^2 + x1^2)
    /// let g = tape.grad_graph(&f, &[&x, &y]);           // [2 y x, x0^2 + x1^2]
    /// let v = [Tensor::from_vec(vec![1.0, 0.0], &[2]), Tensor::scalar(1.0)];
    /// let hv = tape.grad_many(&[&g[0], &g[1]], &v, &[&x, &y]);
    /// assert_eq!(hv[0].to_vec(), vec![2.0 * 3.0 + 2.0 * 1.0, 2.0 * 2.0]);
    /// assert_eq!(hv[1].item(), 2.0 * 1.0);
    /// ```
    pub fn grad_many(
        &self,
        outputs: &[&Var<T>],
        grad_outputs: &[Tensor<T>],
        inputs: &[&Var<T>],
    ) -> Vec<Tensor<T>> {
        assert_eq!(
            outputs.len(),
            grad_outputs.len(),
            "grad_many: {} outputs but {} grad_outputs",
            outputs.len(),
            grad_outputs.len()
        );
        for (k, (y, seed)) in outputs.iter().zip(grad_outputs).enumerate() {
            assert_eq!(
                seed.shape(),
                y.shape().as_slice(),
                "grad_many: grad_output {k} has shape {:?} but output {k} has shape {:?}",
                seed.shape(),
                y.shape().as_slice()
            );
        }
        if outputs.is_empty() {
            return inputs.iter().map(|x| Tensor::zeros(&x.shape())).collect();
        }
        let mark = self.len();
        let grads = self
            .sweep(outputs, grad_outputs.to_vec(), inputs, false, false)
            .expect("not strict");
        let values = grads.iter().map(|g| g.value().contiguous()).collect();
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
        outputs: &[&Var<T>],
        seeds: Vec<Tensor<T>>,
        inputs: &[&Var<T>],
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

        let was_recording = tape.recording.replace(create_graph);
        for (y, seed) in outputs.iter().zip(seeds) {
            if on_path[y.id - lo] {
                let seed = y.constant_like(seed);
                let slot = &mut grads[y.id - lo];
                *slot = Some(match slot.take() {
                    None => seed,
                    Some(acc) => &acc + &seed,
                });
            }
        }
        for id in (lo..=out).rev() {
            let g = if keep[id - lo] {
                grads[id - lo].clone()
            } else {
                grads[id - lo].take()
            };
            let Some(g) = g else { continue };
            let op = tape.nodes.borrow()[id].op.clone();
            let op_inputs = op.inputs();
            let needs: SmallVec<[bool; 2]> = op_inputs
                .iter()
                .map(|&i| i >= lo && on_path[i - lo])
                .collect();
            if !needs.iter().any(|&n| n) {
                continue;
            }
            tape.backward_of.set(Some(op.name()));
            let out_var = Var::from_parts(tape.clone(), id);
            let input_grads = input_grads(&op, &out_var, &g, &needs);
            for (&i, gi) in op_inputs.iter().zip(input_grads) {
                if let Some(gi) = gi {
                    let slot = &mut grads[i - lo];
                    *slot = Some(match slot.take() {
                        None => gi,
                        Some(acc) => &acc + &gi,
                    });
                }
            }
        }
        tape.backward_of.set(None);
        tape.recording.set(was_recording);

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
    fn nodes_on_path(&self, lo: NodeId, out: NodeId, hi: NodeId, inputs: &[&Var<T>]) -> Vec<bool> {
        let mut on_path = vec![false; hi - lo + 1];
        for x in inputs {
            on_path[x.id - lo] = true;
        }
        let nodes = self.inner.nodes.borrow();
        for id in lo..=out {
            let node = &nodes[id];
            if !on_path[id - lo] && node.requires_grad {
                on_path[id - lo] = node.op.inputs().iter().any(|&i| i >= lo && on_path[i - lo]);
            }
        }
        on_path
    }
}

/// The gradient with respect to each input of `op`, given the gradient `g`
/// of its output `out`; `None` where `needs` is false. The rules, one per
/// op, each written in recorded `Var` ops.
fn input_grads<T: Element>(op: &Op<T>, out: &Var<T>, g: &Var<T>, needs: &[bool]) -> InputGrads<T> {
    let tape = &out.tape;
    let var = |id: NodeId| Var::from_parts(tape.clone(), id);
    let shape = |id: NodeId| -> Shape { var(id).shape() };
    let one = T::one();
    let unary = |grad: Var<T>| -> InputGrads<T> { smallvec![Some(grad)] };
    // Only the needed input gradients of a two-input op are computed.
    let binary = |ga: &dyn Fn() -> Var<T>, gb: &dyn Fn() -> Var<T>| -> InputGrads<T> {
        smallvec![needs[0].then(ga), needs[1].then(gb)]
    };
    match *op {
        Op::Leaf | Op::Constant => SmallVec::new(),
        // d(a + b) = da + db; broadcast operands sum back to their shape
        Op::Add(a, b) => binary(&|| g.sum_to(&shape(a)), &|| g.sum_to(&shape(b))),
        Op::Sub(a, b) => binary(&|| g.sum_to(&shape(a)), &|| g.sum_to(&shape(b)).neg()),
        // d(ab) = b da + a db
        Op::Mul(a, b) => binary(&|| (g * &var(b)).sum_to(&shape(a)), &|| {
            (g * &var(a)).sum_to(&shape(b))
        }),
        // d(a/b) = da / b - (a/b) db / b
        Op::Div(a, b) => binary(&|| (g / &var(b)).sum_to(&shape(a)), &|| {
            (g * out / &var(b)).sum_to(&shape(b)).neg()
        }),
        Op::AddScalar(_) => unary(g.clone()),
        Op::MulScalar(_, s) => unary(g.mul_scalar(s)),
        Op::Neg(_) => unary(g.neg()),
        // d/dx e^x = e^x
        Op::Exp(_) => unary(g * out),
        // d/dx log x = 1 / x
        Op::Log(x) => unary(g / &var(x)),
        // d/dx sqrt x = 1 / (2 sqrt x)
        Op::Sqrt(_) => unary((g / out).mul_scalar(T::from_f64(0.5))),
        // d/dx x^p = p x^(p-1)
        Op::Powf(x, p) => unary((g * &var(x).powf(p - one)).mul_scalar(p)),
        // d/dx x^2 = 2x
        Op::Square(x) => unary((g * &var(x)).mul_scalar(T::from_f64(2.0))),
        // d/dx |x| = sign x (0 at 0)
        Op::Abs(x) => unary(g * &out.constant_like(var(x).value().sign())),
        // d/dx tanh x = 1 - tanh^2 x
        Op::Tanh(_) => unary(g.tanh_backward(out)),
        // d/dx sigmoid x = s (1 - s)
        Op::Sigmoid(_) => unary(g.sigmoid_backward(out)),
        // tanh_backward(a, y) = a (1 - y^2): linear in a; d/dy = -2 a y
        // (broadcast operands sum back to their shape, as for mul)
        Op::TanhBackward(a, y) => binary(&|| g.tanh_backward(&var(y)).sum_to(&shape(a)), &|| {
            (g * &var(a) * &var(y))
                .mul_scalar(T::from_f64(-2.0))
                .sum_to(&shape(y))
        }),
        // sigmoid_backward(a, s) = a s (1 - s): linear in a; d/ds = a (1 - 2s)
        Op::SigmoidBackward(a, s) => {
            binary(&|| g.sigmoid_backward(&var(s)).sum_to(&shape(a)), &|| {
                (g * &var(a) * &var(s).mul_scalar(T::from_f64(-2.0)).add_scalar(one))
                    .sum_to(&shape(s))
            })
        }
        // d/dx relu x = 1 where x > 0, else 0
        Op::Relu(x) => unary(g * &out.constant_like(var(x).value().positive_mask())),
        // d/dx log(1 + e^x) = sigmoid x
        Op::Softplus(x) => unary(g * &var(x).sigmoid()),
        // d/dx Phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
        Op::NormalCdf(x) => {
            let density = var(x).square().mul_scalar(T::from_f64(-0.5)).exp();
            unary((g * &density).mul_scalar(T::from_f64(1.0 / (2.0 * std::f64::consts::PI).sqrt())))
        }
        // d/dx sin x = cos x
        Op::Sin(x) => unary(g * &var(x).cos()),
        // d/dx cos x = -sin x
        Op::Cos(x) => unary((g * &var(x).sin()).neg()),
        // C = op(A) op(B): dop(A) = G op(B)^T, dop(B) = op(A)^T G, each
        // transposed back when the operand was used transposed.
        Op::MatMul {
            a,
            b,
            trans_a,
            trans_b,
        } => binary(
            &|| {
                if trans_a {
                    var(b).matmul_transposed(g, trans_b, true)
                } else {
                    g.matmul_transposed(&var(b), false, !trans_b)
                }
            },
            &|| {
                if trans_b {
                    g.matmul_transposed(&var(a), true, trans_a)
                } else {
                    var(a).matmul_transposed(g, !trans_a, false)
                }
            },
        ),
        Op::Transpose(_, d0, d1) => unary(g.transpose(d0, d1)),
        Op::Reshape(x) => unary(g.reshape(&shape(x))),
        Op::BroadcastTo(x) => unary(g.sum_to(&shape(x))),
        Op::SumTo(x) => unary(g.broadcast_to(&shape(x))),
        Op::Gather { x, dim, ref index } => unary(g.scatter_add(dim, index, &shape(x))),
        Op::ScatterAdd { dim, ref index, .. } => unary(g.gather(dim, index)),
        // each part's gradient is its slice of g
        Op::Concat { ref parts, dim } => {
            let mut start = 0;
            parts
                .iter()
                .zip(needs)
                .map(|(&p, &need)| {
                    let len = shape(p)[dim];
                    let part = need.then(|| g.narrow(dim, start, len));
                    start += len;
                    part
                })
                .collect()
        }
        // g padded with zeros back to the input's shape
        Op::Narrow { x, dim, start } => {
            let full = shape(x);
            let len = g.shape()[dim];
            let zeros = |size: usize| {
                let mut s = full.clone();
                s[dim] = size;
                out.constant_like(Tensor::zeros(&s))
            };
            let before = zeros(start);
            let after = zeros(full[dim] - start - len);
            let pieces: Vec<&Var<T>> = [&before, g, &after]
                .into_iter()
                .filter(|p| p.shape()[dim] > 0)
                .collect();
            unary(Var::concat(&pieces, dim))
        }
    }
}
