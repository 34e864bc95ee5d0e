//! The tape: an arena of nodes in execution order (a Wengert list).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::op::{NodeId, Op};
use crate::{Element, Shape, Tensor, Var};

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) struct Node<T> {
    pub(crate) op: Op<T>,
    pub(crate) value: Tensor<T>,
    pub(crate) requires_grad: bool,
}

/// Where a non-finite value first appeared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// In the forward computation.
    Forward,
    /// While running the derivative rule of the named op.
    Backward {
        /// The op whose derivative rule was running.
        of: &'static str,
    },
}

/// The first op that produced a NaN or an infinity while anomaly detection
/// was on (see [`Tape::set_detect_anomaly`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    /// The op that produced the value.
    pub op: &'static str,
    /// Forward, or inside which derivative rule.
    pub phase: Phase,
    /// The shapes of the op's inputs.
    pub input_shapes: Vec<Shape>,
    /// The shape of the value produced.
    pub output_shape: Shape,
    /// The node index on the tape.
    pub node: usize,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shapes: Vec<&[usize]> = self.input_shapes.iter().map(|s| s.as_slice()).collect();
        write!(
            f,
            "{} produced a NaN or infinity (inputs {:?}, output {:?}, node {})",
            self.op,
            shapes,
            self.output_shape.as_slice(),
            self.node
        )?;
        if let Phase::Backward { of } = self.phase {
            write!(f, " in the backward pass of {of}")?;
        }
        Ok(())
    }
}

pub(crate) struct TapeInner<T> {
    pub(crate) id: u64,
    pub(crate) nodes: RefCell<Vec<Node<T>>>,
    pub(crate) recording: Cell<bool>,
    detect_anomaly: Cell<bool>,
    pub(crate) backward_of: Cell<Option<&'static str>>,
    anomaly: RefCell<Option<Anomaly>>,
}

/// A tape records the ops applied to its [`Var`]s so that they can be
/// differentiated, to any order. It is a cheap, reference-counted handle:
/// the nodes are freed when the tape and the last `Var` on it are dropped.
///
/// ```
/// use curvature_autograd::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
/// let y = (&x * &x).sum();                 // y = x0^2 + x1^2
/// let g = tape.grad_graph(&y, &[&x]);      // 2x, recorded on the tape
/// let h = tape.grad(&g[0].sum(), &[&x]);   // d/dx sum(2x) = [2, 2]
/// assert_eq!(h[0].to_vec(), vec![2.0, 2.0]);
/// ```
pub struct Tape<T> {
    pub(crate) inner: Rc<TapeInner<T>>,
}

impl<T> Clone for Tape<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Element> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Tape<T> {
    /// A new, empty tape.
    pub fn new() -> Self {
        Self {
            inner: Rc::new(TapeInner {
                id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
                nodes: RefCell::new(Vec::new()),
                recording: Cell::new(true),
                detect_anomaly: Cell::new(false),
                backward_of: Cell::new(None),
                anomaly: RefCell::new(None),
            }),
        }
    }

    /// A leaf that requires grad: something to differentiate with respect to.
    pub fn var(&self, value: Tensor<T>) -> Var<T> {
        self.inner.push_node(Op::Leaf, value, true)
    }

    /// A constant: data that is never differentiated.
    pub fn constant(&self, value: Tensor<T>) -> Var<T> {
        self.inner.push_node(Op::Constant, value, false)
    }

    /// A scalar constant (shape `[]`).
    pub fn scalar(&self, value: T) -> Var<T> {
        self.constant(Tensor::scalar(value))
    }

    /// The number of nodes recorded so far.
    pub fn len(&self) -> usize {
        self.inner.nodes.borrow().len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` with recording off: every value it computes is a constant,
    /// as under PyTorch's `torch.no_grad()`.
    pub fn no_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        let before = self.inner.recording.replace(false);
        let out = f();
        self.inner.recording.set(before);
        out
    }

    /// Turns anomaly detection on or off. While on, the first op (forward,
    /// or inside a derivative rule) that produces a NaN or an infinity is
    /// recorded, with its input and output shapes: see [`Tape::anomaly`].
    pub fn set_detect_anomaly(&self, on: bool) {
        self.inner.detect_anomaly.set(on);
    }

    /// The first anomaly seen while detection was on, if any.
    pub fn anomaly(&self) -> Option<Anomaly> {
        self.inner.anomaly.borrow().clone()
    }

    /// Whether two handles are the same tape.
    pub fn same_tape(&self, other: &Tape<T>) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl<T: Element> TapeInner<T> {
    /// Pushes a node. When recording is off, or `requires_grad` is false,
    /// the node is stored as a constant: nothing is kept for a derivative.
    pub(crate) fn push_node(
        self: &Rc<Self>,
        op: Op<T>,
        value: Tensor<T>,
        requires_grad: bool,
    ) -> Var<T> {
        let is_leaf = matches!(op, Op::Leaf);
        let requires_grad = requires_grad && (is_leaf || self.recording.get());
        if self.detect_anomaly.get() && !value.all_finite() {
            self.record_anomaly(&op, &value);
        }
        let op = if requires_grad { op } else { Op::Constant };
        let mut nodes = self.nodes.borrow_mut();
        let id = nodes.len();
        nodes.push(Node {
            op,
            value,
            requires_grad,
        });
        Var::from_parts(self.clone(), id)
    }

    fn record_anomaly(&self, op: &Op<T>, value: &Tensor<T>) {
        if self.anomaly.borrow().is_some() {
            return;
        }
        let nodes = self.nodes.borrow();
        let input_shapes = op
            .inputs()
            .iter()
            .map(|&i| Shape::from_slice(nodes[i].value.shape()))
            .collect();
        let phase = match self.backward_of.get() {
            Some(of) => Phase::Backward { of },
            None => Phase::Forward,
        };
        *self.anomaly.borrow_mut() = Some(Anomaly {
            op: op.name(),
            phase,
            input_shapes,
            output_shape: Shape::from_slice(value.shape()),
            node: nodes.len(),
        });
    }

    pub(crate) fn value(&self, id: NodeId) -> Tensor<T> {
        self.nodes.borrow()[id].value.clone()
    }

    pub(crate) fn requires_grad(&self, id: NodeId) -> bool {
        self.nodes.borrow()[id].requires_grad
    }
}
