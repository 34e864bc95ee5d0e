//! The tape: an arena of nodes in execution order (a Wengert list).

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::op::{Inputs, NodeId, Op};
use crate::{seeded_rng, Element, SeededRng, Shape, Tensor, Var};

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) struct Node<T> {
    pub(crate) op: Op<T>,
    /// The nodes the op read, in the order its rule returns gradients.
    pub(crate) inputs: Inputs,
    pub(crate) value: NodeValue<T>,
    pub(crate) requires_grad: bool,
}

/// The work that computes a deferred value.
pub(crate) type Compute<T> = Box<dyn FnOnce() -> Tensor<T>>;

/// A node's value: computed when the op ran, or deferred until first read.
///
/// Matrix products recorded by a derivative rule (with `create_graph`) are
/// deferred: a parameter's gradient `G^T X` is a node of the gradient's
/// graph, but a Hessian-vector product differentiates through it without
/// ever reading its value (the rule of a product reads its inputs, not its
/// output), so the product is never computed unless someone asks for the
/// gradient itself. This is the dead-code elimination that a compiler such
/// as XLA applies to `jvp(grad(f))`; the results are bit for bit those of
/// computing at once, as the same kernel runs on the same inputs.
///
/// A view (reshape, transpose, permute) of a value not yet computed is
/// deferred too, its computation holding the deferred value it reads: a
/// kernel's gradient reaches its parameter through such views.
pub(crate) enum NodeValue<T> {
    Ready(Tensor<T>),
    Deferred(Rc<Deferred<T>>),
    /// A temporary of a sweep with recording off, released once no
    /// gradient needed it (see `backward.rs`); only its shape is left.
    Released(Shape),
}

pub(crate) struct Deferred<T> {
    shape: Shape,
    value: OnceCell<Tensor<T>>,
    /// Holds handles to the inputs' tensors (never to the tape, which would
    /// make a cycle); taken by the first read.
    compute: Cell<Option<Compute<T>>>,
}

impl<T> Deferred<T> {
    /// The value, computed now on the first read. The computation reads
    /// only what it captured, never the tape, so it may run while the
    /// tape's nodes are borrowed.
    pub(crate) fn get(&self) -> &Tensor<T> {
        self.value.get_or_init(|| {
            let compute = self
                .compute
                .take()
                .expect("a deferred value is computed once (an earlier computation panicked)");
            compute()
        })
    }
}

impl<T: Element> NodeValue<T> {
    /// The value, computed now if it was deferred (see [`Deferred::get`]).
    pub(crate) fn get(&self) -> &Tensor<T> {
        match self {
            NodeValue::Ready(t) => t,
            NodeValue::Deferred(d) => d.get(),
            NodeValue::Released(shape) => panic!(
                "internal error: a backward sweep's temporary of shape {shape:?} was read after its release"
            ),
        }
    }

    /// Drops the value, keeping the shape.
    pub(crate) fn release(&mut self) {
        let shape = Shape::from_slice(self.shape());
        *self = NodeValue::Released(shape);
    }

    /// The deferred value, while it has not been computed.
    pub(crate) fn pending(&self) -> Option<Rc<Deferred<T>>> {
        match self {
            NodeValue::Deferred(d) if d.value.get().is_none() => Some(d.clone()),
            _ => None,
        }
    }

    /// The shape, without computing a deferred value.
    pub(crate) fn shape(&self) -> &[usize] {
        match self {
            NodeValue::Ready(t) => t.shape(),
            NodeValue::Deferred(d) => &d.shape,
            NodeValue::Released(shape) => shape,
        }
    }

    /// Whether the value has been computed (a deferred one: read at least once).
    #[cfg(test)]
    pub(crate) fn is_computed(&self) -> bool {
        match self {
            NodeValue::Ready(_) => true,
            NodeValue::Deferred(d) => d.value.get().is_some(),
            NodeValue::Released(_) => false,
        }
    }
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
    /// The tape's own generator, for random ops such as dropout.
    rng: RefCell<SeededRng>,
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
/// let g = tape.grad_graph(&y, [&x]);      // 2x, recorded on the tape
/// let h = tape.grad(&g[0].sum(), [&x]);   // d/dx sum(2x) = [2, 2]
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
    /// A new, empty tape; its generator (for dropout masks) is seeded with 0.
    pub fn new() -> Self {
        Self::with_seed(0)
    }

    /// A new, empty tape whose own generator, which random ops such as
    /// [`Var::dropout`] draw from, is seeded with `seed`.
    pub fn with_seed(seed: u64) -> Self {
        Self {
            inner: Rc::new(TapeInner {
                id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
                nodes: RefCell::new(Vec::new()),
                recording: Cell::new(true),
                detect_anomaly: Cell::new(false),
                backward_of: Cell::new(None),
                anomaly: RefCell::new(None),
                rng: RefCell::new(seeded_rng(seed)),
            }),
        }
    }

    /// A leaf that requires grad: something to differentiate with respect to.
    /// Takes the tensor by value or by reference (a reference is cloned,
    /// which shares its storage).
    pub fn var(&self, value: impl Into<Tensor<T>>) -> Var<T> {
        self.inner
            .push_node(Op::Leaf, Inputs::new(), value.into(), true)
    }

    /// A constant: data that is never differentiated. Takes the tensor by
    /// value or by reference (a reference is cloned, which shares its
    /// storage): `tape.constant(&x)`.
    pub fn constant(&self, value: impl Into<Tensor<T>>) -> Var<T> {
        self.inner
            .push_node(Op::Constant, Inputs::new(), value.into(), false)
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
    /// The recording flag is restored even when `f` panics.
    pub fn no_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        let _restore = self.inner.set_recording(false);
        f()
    }

    /// The name of each op recorded so far, in order (`"leaf"` and
    /// `"constant"` for values without a rule): for tests and debugging.
    ///
    /// ```
    /// use curvature_autograd::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(0.5_f64));
    /// let _ = x.tanh().exp();
    /// assert_eq!(tape.recorded_ops(), vec!["leaf", "tanh", "exp"]);
    /// ```
    pub fn recorded_ops(&self) -> Vec<&'static str> {
        self.inner
            .nodes
            .borrow()
            .iter()
            .map(|n| n.op.name())
            .collect()
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

    /// Runs `f` with the tape's own generator (seeded by [`Tape::with_seed`]).
    pub fn with_rng<R>(&self, f: impl FnOnce(&mut SeededRng) -> R) -> R {
        f(&mut self.inner.rng.borrow_mut())
    }

    /// Whether two handles are the same tape.
    pub fn same_tape(&self, other: &Tape<T>) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

/// Restores a tape's recording flag when dropped, so that a panic inside
/// `no_grad` or a backward sweep (caught with `catch_unwind`) cannot leave
/// the tape with recording switched off.
pub(crate) struct RecordingGuard<'a, T> {
    tape: &'a TapeInner<T>,
    before: bool,
    backward_of: Option<&'static str>,
}

impl<T> Drop for RecordingGuard<'_, T> {
    fn drop(&mut self) {
        self.tape.recording.set(self.before);
        self.tape.backward_of.set(self.backward_of);
    }
}

impl<T: Element> TapeInner<T> {
    /// Sets the recording flag until the returned guard is dropped.
    pub(crate) fn set_recording(&self, on: bool) -> RecordingGuard<'_, T> {
        RecordingGuard {
            tape: self,
            before: self.recording.replace(on),
            backward_of: self.backward_of.get(),
        }
    }

    /// Pushes a node. When recording is off, or `requires_grad` is false,
    /// the node is stored as a constant: nothing is kept for a derivative.
    pub(crate) fn push_node(
        self: &Rc<Self>,
        op: Op<T>,
        inputs: Inputs,
        value: Tensor<T>,
        requires_grad: bool,
    ) -> Var<T> {
        if self.detect_anomaly.get() && !value.all_finite() {
            self.record_anomaly(&op, &inputs, value.shape());
        }
        self.push(op, inputs, NodeValue::Ready(value), requires_grad)
    }

    /// Whether an op recorded now may defer its value: inside a derivative
    /// rule that is being recorded (`create_graph`), and not while anomaly
    /// detection, which checks every value as it is made, is on.
    pub(crate) fn defers_values(&self) -> bool {
        self.recording.get() && self.backward_of.get().is_some() && !self.detect_anomaly.get()
    }

    /// Pushes a node whose value, of the given shape, `compute` makes when
    /// it is first read (see [`NodeValue`]). Call only when
    /// [`TapeInner::defers_values`] says so.
    pub(crate) fn push_deferred(
        self: &Rc<Self>,
        op: Op<T>,
        inputs: Inputs,
        shape: Shape,
        compute: Compute<T>,
        requires_grad: bool,
    ) -> Var<T> {
        let deferred = Deferred {
            shape,
            value: OnceCell::new(),
            compute: Cell::new(Some(compute)),
        };
        self.push(
            op,
            inputs,
            NodeValue::Deferred(Rc::new(deferred)),
            requires_grad,
        )
    }

    fn push(
        self: &Rc<Self>,
        op: Op<T>,
        inputs: Inputs,
        value: NodeValue<T>,
        requires_grad: bool,
    ) -> Var<T> {
        let is_leaf = matches!(op, Op::Leaf);
        let requires_grad = requires_grad && (is_leaf || self.recording.get());
        let (op, inputs) = if requires_grad {
            (op, inputs)
        } else {
            (Op::Constant, Inputs::new())
        };
        let mut nodes = self.nodes.borrow_mut();
        let id = nodes.len();
        nodes.push(Node {
            op,
            inputs,
            value,
            requires_grad,
        });
        Var::from_parts(self.clone(), id)
    }

    fn record_anomaly(&self, op: &Op<T>, inputs: &Inputs, output_shape: &[usize]) {
        if self.anomaly.borrow().is_some() {
            return;
        }
        let nodes = self.nodes.borrow();
        let input_shapes = inputs
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
            output_shape: Shape::from_slice(output_shape),
            node: nodes.len(),
        });
    }

    pub(crate) fn value(&self, id: NodeId) -> Tensor<T> {
        self.nodes.borrow()[id].value.get().clone()
    }

    /// The node's deferred value, while it has not been computed.
    pub(crate) fn pending(&self, id: NodeId) -> Option<Rc<Deferred<T>>> {
        self.nodes.borrow()[id].value.pending()
    }

    pub(crate) fn requires_grad(&self, id: NodeId) -> bool {
        self.nodes.borrow()[id].requires_grad
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::*;

    fn computed(tape: &Tape<f64>, v: &Var<f64>) -> bool {
        tape.inner.nodes.borrow()[v.id].value.is_computed()
    }

    #[test]
    fn a_weight_gradient_is_computed_only_when_read() {
        let tape = Tape::<f64>::new();
        let w = tape.var(Tensor::from_vec(
            (0..12).map(|i| 0.1 * f64::from(i) - 0.5).collect(),
            &[3, 4],
        ));
        let x = tape.constant(Tensor::from_vec(
            (0..20).map(|i| (f64::from(i) * 0.7).sin()).collect(),
            &[5, 4],
        ));
        let loss = x.matmul_nt(&w).tanh().square().sum();
        let g = tape.grad_graph(&loss, [&w]);
        assert_eq!(g[0].shape().as_slice(), &[3, 4]);
        assert!(
            !computed(&tape, &g[0]),
            "the gradient G^T X was computed before anyone read it"
        );
        // a Hessian-vector product differentiates through it without reading it
        let v = Tensor::from_vec((0..12).map(|i| f64::from(i % 5) - 2.0).collect(), &[3, 4]);
        let hv = tape.grad_many(&g, std::slice::from_ref(&v), [&w]);
        assert!(!computed(&tape, &g[0]));
        // the same numbers, bit for bit, as computing every value at once
        let eager = Tape::<f64>::new();
        eager.set_detect_anomaly(true); // anomaly detection checks values as made: nothing deferred
        let (we, xe) = (eager.var(w.value()), eager.constant(x.value()));
        let ge = eager.grad_graph(&xe.matmul_nt(&we).tanh().square().sum(), [&we]);
        assert!(computed(&eager, &ge[0]));
        assert_eq!(hv, eager.grad_many(&ge, std::slice::from_ref(&v), [&we]));
        // read, it is computed once and kept
        assert_eq!(g[0].value(), ge[0].value());
        assert!(computed(&tape, &g[0]));
        assert_eq!(g[0].value(), tape.grad(&loss, [&w])[0]);
    }

    #[test]
    fn a_kernel_gradient_stays_deferred_through_the_views_to_its_parameter() {
        // a conv kernel's gradient is a product seen through a transpose and
        // a reshape: the views wait for the product, and an HVP reads none
        let build = |tape: &Tape<f64>| {
            let w = tape.var(Tensor::from_vec(
                (0..18).map(|i| (f64::from(i) * 0.37).cos() * 0.3).collect(),
                &[2, 1, 3, 3],
            ));
            let x = tape.constant(Tensor::from_vec(
                (0..50).map(|i| (f64::from(i) * 0.7).sin()).collect(),
                &[2, 1, 5, 5],
            ));
            let options = crate::ConvOptions {
                padding: (1, 1),
                ..Default::default()
            };
            let loss = x.conv2d(&w, None, options).tanh().square().sum();
            (w, loss)
        };
        let tape = Tape::<f64>::new();
        let (w, loss) = build(&tape);
        let g = tape.grad_graph(&loss, [&w]);
        assert_eq!(g[0].shape().as_slice(), &[2, 1, 3, 3]);
        assert!(
            !computed(&tape, &g[0]),
            "the kernel's gradient was computed unread"
        );
        let v = Tensor::from_vec(
            (0..18).map(|i| f64::from(i % 4) - 1.5).collect(),
            &[2, 1, 3, 3],
        );
        let hv = tape.grad_many(&g, std::slice::from_ref(&v), [&w]);
        assert!(!computed(&tape, &g[0]));
        let eager = Tape::<f64>::new();
        eager.set_detect_anomaly(true);
        let (we, loss_e) = build(&eager);
        let ge = eager.grad_graph(&loss_e, [&we]);
        assert_eq!(hv, eager.grad_many(&ge, std::slice::from_ref(&v), [&we]));
        // read, the view computes the product beneath it, bit for bit
        assert_eq!(g[0].value(), ge[0].value());
        assert!(computed(&tape, &g[0]));
        assert_eq!(g[0].value(), tape.grad(&loss, [&w])[0]);
    }

    #[test]
    fn the_recording_guard_restores_the_flag_after_a_panic() {
        // the guard the backward sweep holds while it runs derivative rules
        let tape = Tape::<f64>::new();
        tape.inner.backward_of.set(None);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            let _restore = tape.inner.set_recording(false);
            tape.inner.backward_of.set(Some("tanh"));
            panic!("a derivative rule panicked");
        }));
        assert!(caught.is_err());
        assert!(tape.inner.recording.get());
        assert_eq!(tape.inner.backward_of.get(), None);
    }

    #[test]
    fn no_grad_restores_recording_after_a_panic() {
        let tape = Tape::<f64>::new();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            tape.no_grad(|| panic!("inside no_grad"));
        }));
        assert!(caught.is_err());
        let x = tape.var(Tensor::scalar(0.5));
        assert!(x.tanh().requires_grad(), "recording was left off");
        // and no_grad still nests: the inner call restores the outer state
        tape.no_grad(|| {
            tape.no_grad(|| {});
            assert!(!x.exp().requires_grad());
        });
        assert!(x.exp().requires_grad());
    }
}
