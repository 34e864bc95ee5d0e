//! `Var<T>`: a handle to a node on a tape.

use std::fmt;
use std::rc::Rc;

use crate::op::{Inputs, NodeId, Op};
use crate::tape::TapeInner;
use crate::{Element, Tape, Tensor};

/// A value on a [`Tape`]: a reference-counted handle to the tape and the
/// index of its node. Cloning is cheap; the tape lives as long as any `Var`
/// on it, so a `Var` never dangles.
///
/// Ops on `Var`s compute their value at once and record themselves when
/// an input requires grad (see [`Tape::var`]).
pub struct Var<T> {
    pub(crate) tape: Rc<TapeInner<T>>,
    pub(crate) id: NodeId,
}

impl<T> Clone for Var<T> {
    fn clone(&self) -> Self {
        Self {
            tape: self.tape.clone(),
            id: self.id,
        }
    }
}

impl<T: Element> Var<T> {
    pub(crate) fn from_parts(tape: Rc<TapeInner<T>>, id: NodeId) -> Self {
        Self { tape, id }
    }

    /// The value (a cheap handle to the node's tensor).
    pub fn value(&self) -> Tensor<T> {
        self.tape.value(self.id)
    }

    /// Runs `f` on the value, borrowed from the tape: no handle is cloned,
    /// which is what an op's forward needs. `f` must not record on the tape.
    #[inline]
    pub(crate) fn with_value<R>(&self, f: impl FnOnce(&Tensor<T>) -> R) -> R {
        f(self.tape.nodes.borrow()[self.id].value.get())
    }

    /// The shape of the value.
    pub fn shape(&self) -> crate::Shape {
        crate::Shape::from_slice(self.tape.nodes.borrow()[self.id].value.shape())
    }

    /// The number of elements of the value.
    pub fn numel(&self) -> usize {
        crate::shape::numel(self.tape.nodes.borrow()[self.id].value.shape())
    }

    /// The single value of a one-element `Var`.
    pub fn item(&self) -> T {
        self.value().item()
    }

    /// The node's index on its tape.
    pub fn node(&self) -> usize {
        self.id
    }

    /// The tape this `Var` lives on.
    pub fn tape(&self) -> Tape<T> {
        Tape {
            inner: self.tape.clone(),
        }
    }

    /// Whether gradients flow through this value.
    pub fn requires_grad(&self) -> bool {
        self.tape.requires_grad(self.id)
    }

    /// The same value as a constant: gradients stop here.
    pub fn detach(&self) -> Var<T> {
        self.constant_like(self.value())
    }

    /// A constant on the same tape (for masks and literals inside ops).
    pub(crate) fn constant_like(&self, value: Tensor<T>) -> Var<T> {
        self.tape
            .push_node(Op::Constant, Inputs::new(), value, false)
    }

    /// Panics, naming the op and both tapes, when `other` lives on another tape.
    pub(crate) fn check_same_tape(&self, other: &Var<T>, op: &str) {
        assert!(
            Rc::ptr_eq(&self.tape, &other.tape),
            "{op}: Vars from two different tapes (tape #{} and tape #{}); \
             build every value of one computation on the same tape",
            self.tape.id,
            other.tape.id
        );
    }

    /// Records a node computed by `op` from `inputs` (already checked to
    /// share this `Var`'s tape).
    pub(crate) fn record(&self, op: Op<T>, inputs: &[&Var<T>], value: Tensor<T>) -> Var<T> {
        let requires_grad = inputs.iter().any(|x| self.tape.requires_grad(x.id));
        let ids = inputs.iter().map(|x| x.id).collect();
        self.tape.push_node(op, ids, value, requires_grad)
    }

    /// Records a node of `shape` whose value `compute` makes when first
    /// read, where the tape defers values (inside a recorded derivative
    /// rule), or at once elsewhere. `compute` must capture tensors, never
    /// `Var`s (a `Var` holds the tape: a cycle).
    pub(crate) fn record_deferred(
        &self,
        op: Op<T>,
        inputs: &[&Var<T>],
        shape: crate::Shape,
        compute: impl FnOnce() -> Tensor<T> + 'static,
    ) -> Var<T> {
        if !self.tape.defers_values() {
            return self.record(op, inputs, compute());
        }
        let requires_grad = inputs.iter().any(|x| self.tape.requires_grad(x.id));
        let ids = inputs.iter().map(|x| x.id).collect();
        self.tape
            .push_deferred(op, ids, shape, Box::new(compute), requires_grad)
    }
}

impl<T: Element> Var<T> {
    /// Records a view of this value (`view` makes it from the value, of
    /// `shape`): deferred while this value is (see [`NodeValue`]), so
    /// that a product no one reads stays uncomputed through the reshapes
    /// and transposes between it and its parameter; computed at once
    /// otherwise.
    ///
    /// [`NodeValue`]: crate::tape::NodeValue
    pub(crate) fn record_view(
        &self,
        op: Op<T>,
        shape: crate::Shape,
        view: impl FnOnce(&Tensor<T>) -> Tensor<T> + 'static,
    ) -> Var<T> {
        let pending = self
            .tape
            .defers_values()
            .then(|| self.tape.pending(self.id));
        match pending.flatten() {
            Some(input) => self.record_deferred(op, &[self], shape, move || view(input.get())),
            None => {
                let value = self.with_value(view);
                self.record(op, &[self], value)
            }
        }
    }
}

impl<T> AsRef<Var<T>> for Var<T> {
    fn as_ref(&self) -> &Var<T> {
        self
    }
}

impl<T: Element> fmt::Debug for Var<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Var(node={}, tape=#{}, requires_grad={}, {:?})",
            self.id,
            self.tape.id,
            self.requires_grad(),
            self.value()
        )
    }
}
