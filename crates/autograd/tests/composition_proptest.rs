//! Random compositions of 3 to 8 ops on random broadcastable shapes, each
//! under `gradcheck` and `gradgradcheck` (f64, the default `CheckOptions`).
//!
//! A proptest `Strategy` draws a [`Choice`] tree (which op, which operands,
//! a parameter seed) and the inputs' shapes and values; [`Builder`] turns
//! it into an [`Expr`], the printable expression that is checked. Shapes
//! stay consistent by construction: every input's shape broadcasts to one
//! "universe" shape `[n; rank]` (dims of `n` or 1, some leading ones
//! dropped), and every op keeps that true. Domains stay safe by guards that
//! the builder inserts where the actual values demand, visibly in the
//! printed expression: `(softplus(e) + 0.5)` before `log`, `sqrt`, `powf`,
//! `log1p`, and where `abs`, `relu` or a divisor would come within 0.25 of
//! zero; `tanh(e)` where a value is larger than 10 (or than 3 before
//! `exp`); `broadcast_to(e, universe)` before `matmul`, and before a layout
//! op that needs more dimensions than `e` has.
//!
//! The runner is seeded, so CI sees the same cases every run. A failure
//! shrinks to fewer ops (each op node can shrink to one of its operands)
//! and simpler ones, and is printed with its inputs: with `atan`'s rule
//! broken on purpose (`1 / (1.1 + x^2)`), the first failing case, of seven
//! ops, shrinks to `f = atan(x0) where x0: [3, 3, 3] EitherSign, values
//! from seed 0`.

mod common;

use std::fmt;

use common::uniform;
use curvature_autograd::{
    gradcheck, gradgradcheck, op_table, CheckOptions, Tape, Tensor, Var, Window2d,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};

/// Cases per run: about 1 s in the dev profile.
const CASES: u32 = 256;
/// The runner's seed (change it to explore other cases locally).
const SEED: u64 = 0x5eed_c0de;

/// An element-wise op of one operand, with its constant if any.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Unary {
    Neg,
    AddScalar(f64),
    MulScalar(f64),
    Exp,
    Log,
    Sqrt,
    Powf(f64),
    Square,
    Abs,
    Tanh,
    Sigmoid,
    Relu,
    Softplus,
    NormalCdf,
    Gelu,
    GeluDerivative,
    Sin,
    Cos,
    Atan,
    Log1p,
}

const UNARY: [Unary; 24] = [
    Unary::Sin,
    Unary::Tanh,
    Unary::Square,
    Unary::Neg,
    Unary::AddScalar(0.7),
    Unary::AddScalar(-1.2),
    Unary::MulScalar(-1.3),
    Unary::MulScalar(0.6),
    Unary::Exp,
    Unary::Log,
    Unary::Sqrt,
    Unary::Powf(2.5),
    Unary::Powf(-1.5),
    Unary::Powf(3.0),
    Unary::Abs,
    Unary::Sigmoid,
    Unary::Relu,
    Unary::Softplus,
    Unary::NormalCdf,
    Unary::Gelu,
    Unary::GeluDerivative,
    Unary::Cos,
    Unary::Atan,
    Unary::Log1p,
];

impl Unary {
    fn apply(self, x: &Var<f64>) -> Var<f64> {
        match self {
            Unary::Neg => x.neg(),
            Unary::AddScalar(c) => x.add_scalar(c),
            Unary::MulScalar(c) => x.mul_scalar(c),
            Unary::Exp => x.exp(),
            Unary::Log => x.log(),
            Unary::Sqrt => x.sqrt(),
            Unary::Powf(p) => x.powf(p),
            Unary::Square => x.square(),
            Unary::Abs => x.abs(),
            Unary::Tanh => x.tanh(),
            Unary::Sigmoid => x.sigmoid(),
            Unary::Relu => x.relu(),
            Unary::Softplus => x.softplus(),
            Unary::NormalCdf => x.normal_cdf(),
            Unary::Gelu => x.gelu(),
            Unary::GeluDerivative => x.gelu_derivative(),
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Atan => x.atan(),
            Unary::Log1p => x.log1p(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unary::Neg => "neg",
            Unary::AddScalar(_) => "add_scalar",
            Unary::MulScalar(_) => "mul_scalar",
            Unary::Exp => "exp",
            Unary::Log => "log",
            Unary::Sqrt => "sqrt",
            Unary::Powf(_) => "powf",
            Unary::Square => "square",
            Unary::Abs => "abs",
            Unary::Tanh => "tanh",
            Unary::Sigmoid => "sigmoid",
            Unary::Relu => "relu",
            Unary::Softplus => "softplus",
            Unary::NormalCdf => "normal_cdf",
            Unary::Gelu => "gelu",
            Unary::GeluDerivative => "gelu_derivative",
            Unary::Sin => "sin",
            Unary::Cos => "cos",
            Unary::Atan => "atan",
            Unary::Log1p => "log1p",
        }
    }
}

/// An element-wise op of two operands, broadcasting.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    TanhBackward,
    SigmoidBackward,
}

const BINARY: [Binary; 6] = [
    Binary::Add,
    Binary::Mul,
    Binary::Sub,
    Binary::Div,
    Binary::TanhBackward,
    Binary::SigmoidBackward,
];

impl Binary {
    fn apply(self, a: &Var<f64>, b: &Var<f64>) -> Var<f64> {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
            Binary::TanhBackward => a.tanh_backward(b),
            Binary::SigmoidBackward => a.sigmoid_backward(b),
        }
    }
}

/// A layout or index op of one operand; its parameters (dimensions, an
/// index tensor) are drawn from a seed once the operand's shape is known.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    Transpose,
    Permute,
    Reshape,
    BroadcastTo,
    SumTo,
    Narrow,
    Roll,
    Gather,
    ScatterAdd,
    Overlap,
    OverlapRows,
    Blocks,
}

const LAYOUT: [Layout; 12] = [
    Layout::SumTo,
    Layout::BroadcastTo,
    Layout::Transpose,
    Layout::Permute,
    Layout::Reshape,
    Layout::Narrow,
    Layout::Roll,
    Layout::Gather,
    Layout::ScatterAdd,
    Layout::Overlap,
    Layout::OverlapRows,
    Layout::Blocks,
];

/// What the strategy draws: the tree of ops, before shapes and values are
/// known. `Input(i)` is input `i % inputs`.
#[derive(Clone, Debug)]
enum Choice {
    Input(usize),
    Unary(Unary, Keep, Box<Choice>),
    Binary(Binary, Keep, Box<Choice>, Box<Choice>),
    Matmul(Keep, Box<Choice>, Box<Choice>),
    Layout(Layout, u64, Keep, Box<Choice>),
}

/// Whether an op node is kept: drawn `true`, and turned `false` by
/// shrinking, which replaces the node by an operand (its only one; the
/// second when `first` is false; the first when `second` is), so that a
/// failure shrinks to fewer ops, not only to simpler ones.
#[derive(Clone, Copy, Debug)]
struct Keep {
    first: bool,
    second: bool,
}

const KEEP: Keep = Keep {
    first: true,
    second: true,
};

fn keep() -> impl Strategy<Value = Keep> {
    // weighted(1.0) is always true and shrinks to false
    let flag = || proptest::bool::weighted(1.0);
    (flag(), flag()).prop_map(|(first, second)| Keep { first, second })
}

/// Trees of exactly `ops` ops (their leaves are inputs).
fn choice(ops: usize) -> BoxedStrategy<Choice> {
    if ops == 0 {
        return (0usize..3).prop_map(Choice::Input).boxed();
    }
    let child = choice(ops - 1);
    let unary = (select(&UNARY[..]), keep(), child.clone())
        .prop_map(|(op, k, e)| Choice::Unary(op, k, Box::new(e)));
    let layout = (select(&LAYOUT[..]), 0u64..1000, keep(), child)
        .prop_map(|(op, seed, k, e)| Choice::Layout(op, seed, k, Box::new(e)));
    if ops == 1 {
        return prop_oneof![3 => unary, 1 => layout].boxed();
    }
    // the other ops - 1 split between two operands
    let pair = (0..ops).prop_flat_map(move |left| (choice(left), choice(ops - 1 - left)));
    let binary = (select(&BINARY[..]), keep(), pair.clone())
        .prop_map(|(op, k, (a, b))| Choice::Binary(op, k, Box::new(a), Box::new(b)));
    let matmul = (keep(), pair).prop_map(|(k, (a, b))| Choice::Matmul(k, Box::new(a), Box::new(b)));
    prop_oneof![3 => unary, 3 => binary, 2 => layout, 1 => matmul].boxed()
}

/// The expression that is evaluated and printed.
#[derive(Clone, Debug)]
enum Expr {
    Input(usize),
    Unary(Unary, Box<Expr>),
    Binary(Binary, Box<Expr>, Box<Expr>),
    Matmul(Box<Expr>, Box<Expr>),
    Transpose(usize, usize, Box<Expr>),
    Permute(Vec<usize>, Box<Expr>),
    Reshape(Vec<usize>, Box<Expr>),
    BroadcastTo(Vec<usize>, Box<Expr>),
    SumTo(Vec<usize>, Box<Expr>),
    /// `narrow(e, dim, start, len)`.
    Narrow(usize, usize, usize, Box<Expr>),
    /// `roll(e, dim, by)`: `concat([narrow(e, dim, by, s - by), narrow(e, dim, 0, by)], dim)`
    /// for `s` the size of `dim`, so the shape is unchanged.
    Roll(usize, usize, Box<Expr>),
    Gather(usize, Tensor<usize>, Box<Expr>),
    ScatterAdd(usize, Tensor<usize>, Box<Expr>),
    /// `overlap(e)`: `e` seen as a `[1, 1, rows, last]` image, unfolded into
    /// its overlapping 1x2 windows (padding 1 on the right) and folded back,
    /// so each element is weighted by the windows that cover it and the
    /// shape is unchanged: records `unfold2d` and `fold2d`.
    Overlap(Box<Expr>),
    /// `overlap_rows(e)`: each row of `e` (its last dimension) seen as a
    /// `1 x last` image of a batch, put through `im2col` with the window of
    /// [`Expr::Overlap`] and `col2im` back: records `im2col` and `col2im`.
    OverlapRows(Box<Expr>),
    /// `blocks(e)`: `e` seen as a `[1, 1, rows, last]` image, each element
    /// spread over a 2x2 block of an image twice the size (times 0.5) and
    /// the blocks summed back (times 0.5): the same values, recording
    /// `block_spread2d` and `block_sum2d`.
    Blocks(Box<Expr>),
}

/// The window of [`Expr::Overlap`].
const OVERLAP: Window2d = Window2d {
    kernel: (1, 2),
    stride: (1, 1),
    padding: (0, 1),
    dilation: (1, 1),
};

impl Expr {
    fn eval(&self, p: &[Var<f64>]) -> Var<f64> {
        match self {
            Expr::Input(i) => p[*i].clone(),
            Expr::Unary(op, e) => op.apply(&e.eval(p)),
            Expr::Binary(op, a, b) => op.apply(&a.eval(p), &b.eval(p)),
            Expr::Matmul(a, b) => a.eval(p).matmul(&b.eval(p)),
            Expr::Transpose(d0, d1, e) => e.eval(p).transpose(*d0, *d1),
            Expr::Permute(dims, e) => e.eval(p).permute(dims),
            Expr::Reshape(shape, e) => e.eval(p).reshape(shape),
            Expr::BroadcastTo(shape, e) => e.eval(p).broadcast_to(shape),
            Expr::SumTo(shape, e) => e.eval(p).sum_to(shape),
            Expr::Narrow(dim, start, len, e) => e.eval(p).narrow(*dim, *start, *len),
            Expr::Roll(dim, by, e) => {
                let x = e.eval(p);
                let size = x.shape()[*dim];
                let parts = [x.narrow(*dim, *by, size - by), x.narrow(*dim, 0, *by)];
                Var::concat(&parts, *dim)
            }
            Expr::Gather(dim, index, e) => e.eval(p).gather(*dim, index),
            Expr::Overlap(e) => {
                let x = e.eval(p);
                let shape = x.shape();
                let last = shape.last().copied().unwrap_or(1);
                let rows = x.numel() / last.max(1);
                x.reshape(&[1, 1, rows, last])
                    .unfold2d(OVERLAP, 0.0)
                    .fold2d((rows, last), OVERLAP)
                    .reshape(&shape)
            }
            Expr::OverlapRows(e) => {
                let x = e.eval(p);
                let shape = x.shape();
                let last = shape.last().copied().unwrap_or(1);
                let rows = x.numel() / last.max(1);
                x.reshape(&[rows, 1, 1, last])
                    .im2col(OVERLAP)
                    .col2im((1, last), OVERLAP)
                    .reshape(&shape)
            }
            Expr::Blocks(e) => {
                let x = e.eval(p);
                let shape = x.shape();
                let last = shape.last().copied().unwrap_or(1);
                let rows = x.numel() / last.max(1);
                x.reshape(&[1, 1, rows, last])
                    .block_spread2d((2 * rows, 2 * last), (2, 2), 0.5)
                    .block_sum2d((2, 2), 0.5)
                    .reshape(&shape)
            }
            Expr::ScatterAdd(dim, index, e) => {
                let x = e.eval(p);
                let shape = x.shape();
                x.scatter_add(*dim, index, &shape)
            }
        }
    }

    fn boxed(self) -> Box<Expr> {
        Box::new(self)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Input(i) => write!(f, "x{i}"),
            Expr::Unary(Unary::AddScalar(c), e) => write!(f, "({e} + {c})"),
            Expr::Unary(Unary::MulScalar(c), e) => write!(f, "({e} * {c})"),
            Expr::Unary(Unary::Powf(p), e) => write!(f, "powf({e}, {p})"),
            Expr::Unary(op, e) => write!(f, "{}({e})", op.name()),
            Expr::Binary(Binary::Add, a, b) => write!(f, "({a} + {b})"),
            Expr::Binary(Binary::Sub, a, b) => write!(f, "({a} - {b})"),
            Expr::Binary(Binary::Mul, a, b) => write!(f, "({a} * {b})"),
            Expr::Binary(Binary::Div, a, b) => write!(f, "({a} / {b})"),
            Expr::Binary(Binary::TanhBackward, a, b) => write!(f, "tanh_backward({a}, {b})"),
            Expr::Binary(Binary::SigmoidBackward, a, b) => {
                write!(f, "sigmoid_backward({a}, {b})")
            }
            Expr::Matmul(a, b) => write!(f, "matmul({a}, {b})"),
            Expr::Transpose(d0, d1, e) => write!(f, "transpose({e}, {d0}, {d1})"),
            Expr::Permute(dims, e) => write!(f, "permute({e}, {dims:?})"),
            Expr::Reshape(shape, e) => write!(f, "reshape({e}, {shape:?})"),
            Expr::BroadcastTo(shape, e) => write!(f, "broadcast_to({e}, {shape:?})"),
            Expr::SumTo(shape, e) => write!(f, "sum_to({e}, {shape:?})"),
            Expr::Narrow(dim, start, len, e) => write!(f, "narrow({e}, {dim}, {start}, {len})"),
            Expr::Roll(dim, by, e) => write!(f, "roll({e}, {dim}, {by})"),
            Expr::Gather(dim, index, e) => {
                write!(f, "gather({e}, {dim}, {:?})", index.to_vec())
            }
            Expr::Overlap(e) => write!(f, "overlap({e})"),
            Expr::OverlapRows(e) => write!(f, "overlap_rows({e})"),
            Expr::Blocks(e) => write!(f, "blocks({e})"),
            Expr::ScatterAdd(dim, index, e) => {
                write!(f, "scatter_add({e}, {dim}, {:?})", index.to_vec())
            }
        }
    }
}

/// How an input's values are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Domain {
    /// Either sign, `|x|` in `[0.3, 1.5)`.
    EitherSign,
    /// In `[0.5, 2)`.
    Positive,
}

/// One input: its shape and domain.
#[derive(Clone, Debug)]
struct InputSpec {
    shape: Vec<usize>,
    domain: Domain,
}

/// The checked function, its inputs, and how they were drawn.
struct Case {
    universe: Vec<usize>,
    specs: Vec<InputSpec>,
    seed: u64,
    inputs: Vec<Tensor<f64>>,
    expr: Expr,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "f = {}\n  where", self.expr)?;
        for (i, spec) in self.specs.iter().enumerate() {
            write!(f, " x{i}: {:?} {:?},", spec.shape, spec.domain)?;
        }
        write!(
            f,
            " values from seed {} (universe {:?})",
            self.seed, self.universe
        )
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Seeded values of an input.
fn values(spec: &InputSpec, seed: u64) -> Tensor<f64> {
    match spec.domain {
        Domain::EitherSign => {
            uniform(&spec.shape, -1.2, 1.2, seed).map(|x| x.signum() * (0.3 + x.abs()))
        }
        Domain::Positive => uniform(&spec.shape, 0.5, 2.0, seed),
    }
}

/// A small deterministic generator for the parameters drawn from a seed.
fn pick(seed: u64, salt: u64, n: usize) -> usize {
    let mut z = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(salt.wrapping_mul(0xbf58_476d_1ce4_e5b9));
    z ^= z >> 31;
    z = z.wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 29;
    (z % n as u64) as usize
}

/// Turns a [`Choice`] into an [`Expr`], inserting guards where the values
/// of the operand (computed on the case's inputs) demand them.
struct Builder<'a> {
    inputs: &'a [Tensor<f64>],
    universe: Vec<usize>,
}

impl Builder<'_> {
    fn value(&self, e: &Expr) -> Tensor<f64> {
        let tape = Tape::new();
        let p: Vec<Var<f64>> = self.inputs.iter().map(|x| tape.constant(x)).collect();
        e.eval(&p).value()
    }

    /// `tanh(e)` where some `|e| > limit`.
    fn bounded(&self, e: Expr, limit: f64) -> Expr {
        let big = self.value(&e).to_vec().iter().any(|v| v.abs() > limit);
        if big {
            Expr::Unary(Unary::Tanh, e.boxed())
        } else {
            e
        }
    }

    /// `softplus(e) + 0.5` (at least 0.5) where `keep` fails for a value.
    fn positive_unless(&self, e: Expr, keep: impl Fn(f64) -> bool) -> Expr {
        if self.value(&e).to_vec().into_iter().all(keep) {
            e
        } else {
            let softplus = Expr::Unary(Unary::Softplus, e.boxed());
            Expr::Unary(Unary::AddScalar(0.5), softplus.boxed())
        }
    }

    /// `broadcast_to(e, universe)` where `e` has fewer than `rank` dims.
    fn at_least_rank(&self, e: Expr, rank: usize) -> Expr {
        if self.value(&e).ndim() >= rank {
            e
        } else {
            Expr::BroadcastTo(self.universe.clone(), e.boxed())
        }
    }

    /// `broadcast_to(e, universe)` unless `e` has that shape.
    fn full(&self, e: Expr) -> Expr {
        if self.value(&e).shape() == self.universe.as_slice() {
            e
        } else {
            Expr::BroadcastTo(self.universe.clone(), e.boxed())
        }
    }

    fn build(&self, c: &Choice) -> Expr {
        match c {
            Choice::Input(i) => Expr::Input(i % self.inputs.len()),
            Choice::Unary(_, k, c) | Choice::Layout(_, _, k, c) if !k.first => self.build(c),
            Choice::Binary(_, k, a, b) | Choice::Matmul(k, a, b) if !(k.first && k.second) => {
                self.build(if k.first { a } else { b })
            }
            Choice::Unary(op, _, c) => {
                let e = self.bounded(self.build(c), 10.0);
                let e = match op {
                    Unary::Exp => self.bounded(e, 3.0),
                    Unary::Log | Unary::Sqrt | Unary::Powf(_) | Unary::Log1p => {
                        self.positive_unless(e, |v| v >= 0.25)
                    }
                    Unary::Abs | Unary::Relu => self.positive_unless(e, |v| v.abs() >= 0.25),
                    _ => e,
                };
                Expr::Unary(*op, e.boxed())
            }
            Choice::Binary(op, _, a, b) => {
                let a = self.bounded(self.build(a), 10.0);
                let b = self.bounded(self.build(b), 10.0);
                let b = match op {
                    Binary::Div => self.positive_unless(b, |v| v.abs() >= 0.25),
                    _ => b,
                };
                Expr::Binary(*op, a.boxed(), b.boxed())
            }
            Choice::Matmul(_, a, b) => {
                let a = self.full(self.bounded(self.build(a), 10.0));
                let b = self.full(self.bounded(self.build(b), 10.0));
                Expr::Matmul(a.boxed(), b.boxed())
            }
            Choice::Layout(op, seed, _, c) => self.layout(*op, *seed, self.build(c)),
        }
    }

    fn layout(&self, op: Layout, seed: u64, e: Expr) -> Expr {
        let e = match op {
            Layout::Transpose | Layout::Permute => self.at_least_rank(e, 2),
            Layout::Narrow | Layout::Gather | Layout::ScatterAdd => self.at_least_rank(e, 1),
            Layout::Roll => {
                if self.value(&e).shape().iter().any(|&s| s >= 2) {
                    e
                } else {
                    self.full(e)
                }
            }
            _ => e,
        };
        let shape: Vec<usize> = self.value(&e).shape().to_vec();
        let rank = shape.len();
        match op {
            Layout::Overlap => Expr::Overlap(e.boxed()),
            Layout::OverlapRows => Expr::OverlapRows(e.boxed()),
            Layout::Blocks => Expr::Blocks(e.boxed()),
            Layout::Transpose => {
                let d0 = pick(seed, 0, rank);
                let d1 = (d0 + 1 + pick(seed, 1, rank - 1)) % rank;
                Expr::Transpose(d0, d1, e.boxed())
            }
            Layout::Permute => {
                // a permutation other than the identity, by rotation then a swap
                let by = 1 + pick(seed, 0, rank - 1);
                let mut dims: Vec<usize> = (0..rank).map(|i| (i + by) % rank).collect();
                if rank == 3 && pick(seed, 1, 2) == 1 {
                    dims.swap(0, 1);
                }
                Expr::Permute(dims, e.boxed())
            }
            Layout::Reshape => {
                // the same elements in another shape of dims n or 1: move the
                // ones to the front, or add or drop a leading one
                let ones = shape.iter().filter(|&&s| s == 1).count();
                let mut target: Vec<usize> = vec![1; ones];
                target.extend(shape.iter().filter(|&&s| s != 1));
                if target == shape && rank < self.universe.len() {
                    target.insert(0, 1);
                } else if target == shape && rank > 0 && shape[0] == 1 {
                    target.remove(0);
                }
                if target == shape {
                    // all of size n at full rank: through one dimension and back
                    let flat = Expr::Reshape(vec![shape.iter().product()], e.boxed());
                    Expr::Reshape(shape, flat.boxed())
                } else {
                    Expr::Reshape(target, e.boxed())
                }
            }
            Layout::BroadcastTo => Expr::BroadcastTo(self.universe.clone(), e.boxed()),
            Layout::SumTo => {
                // drop some leading dims and set some others to 1
                let drop = pick(seed, 0, rank + 1).min(1);
                let target = (drop..rank)
                    .map(|i| {
                        if pick(seed, 1 + i as u64, 2) == 0 {
                            1
                        } else {
                            shape[i]
                        }
                    })
                    .collect();
                Expr::SumTo(target, e.boxed())
            }
            Layout::Narrow => {
                let dim = pick(seed, 0, rank);
                // length 1, so that the dim stays of size n or 1
                let start = pick(seed, 1, shape[dim]);
                Expr::Narrow(dim, start, 1, e.boxed())
            }
            Layout::Roll => {
                let dims: Vec<usize> = (0..rank).filter(|&d| shape[d] >= 2).collect();
                let dim = dims[pick(seed, 0, dims.len())];
                let by = 1 + pick(seed, 1, shape[dim] - 1);
                Expr::Roll(dim, by, e.boxed())
            }
            Layout::Gather | Layout::ScatterAdd => {
                let dim = pick(seed, 0, rank);
                let count: usize = shape.iter().product();
                let index = (0..count)
                    .map(|k| pick(seed, 2 + k as u64, shape[dim]))
                    .collect();
                let index = Tensor::from_vec(index, &shape);
                if op == Layout::Gather {
                    Expr::Gather(dim, index, e.boxed())
                } else {
                    Expr::ScatterAdd(dim, index, e.boxed())
                }
            }
        }
    }
}

/// An input shape that broadcasts to `universe`: some leading dims
/// dropped (rarely), some others set to 1.
fn input_spec(rank: usize, n: usize) -> impl Strategy<Value = InputSpec> {
    let drop = prop_oneof![3 => Just(0), 1 => 0..=rank];
    let ones = proptest::collection::vec(proptest::bool::weighted(0.3), rank);
    let domain = prop_oneof![Just(Domain::EitherSign), Just(Domain::Positive)];
    (drop, ones, domain).prop_map(move |(drop, ones, domain)| InputSpec {
        shape: (drop..rank).map(|i| if ones[i] { 1 } else { n }).collect(),
        domain,
    })
}

/// A whole case: universe, inputs, values' seed and the expression.
fn case() -> impl Strategy<Value = Case> {
    (2usize..=3, 2usize..=3)
        .prop_flat_map(|(n, rank)| {
            (
                Just(vec![n; rank]),
                proptest::collection::vec(input_spec(rank, n), 1..=3),
                0u64..1000,
                (3usize..=8).prop_flat_map(choice),
            )
        })
        .prop_map(|(universe, specs, seed, choice)| {
            let inputs: Vec<Tensor<f64>> = specs
                .iter()
                .enumerate()
                .map(|(k, spec)| values(spec, seed * 10 + k as u64))
                .collect();
            let expr = Builder {
                inputs: &inputs,
                universe: universe.clone(),
            }
            .build(&choice);
            Case {
                universe,
                specs,
                seed,
                inputs,
                expr,
            }
        })
}

/// `CASES` cases from `SEED`, unless `PROPTEST_CASES` or `PROPTEST_RNG_SEED`
/// say otherwise (for a longer exploration: `PROPTEST_CASES=20000`).
fn config() -> Config {
    let defaults = Config::default();
    let set = |name: &str| std::env::var_os(name).is_some();
    Config {
        cases: if set("PROPTEST_CASES") {
            defaults.cases
        } else {
            CASES
        },
        rng_seed: if set("PROPTEST_RNG_SEED") {
            defaults.rng_seed
        } else {
            RngSeed::Fixed(SEED)
        },
        ..defaults
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_compositions_pass_gradcheck_and_gradgradcheck(case in case()) {
        let f = |_: &Tape<f64>, p: &[Var<f64>]| case.expr.eval(p);
        let options = CheckOptions::default();
        let first = gradcheck(f, &case.inputs, &options);
        prop_assert!(first.passed, "gradcheck failed ({first}) for {case}");
        prop_assert!(first.entries > 0, "gradcheck compared nothing for {case}");
        let second = gradgradcheck(f, &case.inputs, &options);
        prop_assert!(second.passed, "gradgradcheck failed ({second}) for {case}");
    }
}

/// The ops an expression records when evaluated on its inputs.
fn recorded_ops(case: &Case) -> Vec<&'static str> {
    let tape = Tape::new();
    let p: Vec<Var<f64>> = case.inputs.iter().map(|x| tape.var(x)).collect();
    let _ = case.expr.eval(&p);
    tape.recorded_ops()
}

#[test]
fn the_generator_reaches_every_op_of_the_table() {
    let mut runner = TestRunner::new(config());
    let strategy = case();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..CASES {
        let case = strategy.new_tree(&mut runner).expect("a case").current();
        seen.extend(recorded_ops(&case));
    }
    let missing: Vec<&str> = op_table()
        .iter()
        .map(|op| op.name)
        .filter(|name| !seen.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "the {CASES} generated cases never record {missing:?}: give the generator these ops"
    );
}

#[test]
fn a_case_prints_as_a_readable_expression() {
    let inputs = vec![Tensor::from_vec(vec![0.5, -0.7, 1.2], &[3])];
    let builder = Builder {
        inputs: &inputs,
        universe: vec![3, 3],
    };
    let roll = Choice::Layout(Layout::Roll, 0, KEEP, Box::new(Choice::Input(0)));
    let product = Choice::Binary(
        Binary::Mul,
        KEEP,
        Box::new(Choice::Input(0)),
        Box::new(roll),
    );
    let choice = Choice::Unary(Unary::Log, KEEP, Box::new(product));
    let expr = builder.build(&choice);
    // x0 * roll(x0) has negative values: log gets the positivity guard
    assert_eq!(
        expr.to_string(),
        "log((softplus((x0 * roll(x0, 0, 2))) + 0.5))"
    );
}
