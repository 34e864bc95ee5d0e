//! The crate's error type, for everything whose shape or content comes
//! from outside the program (data, files, options).

/// What went wrong, naming the op and the shapes or values involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A buffer's length does not match the shape it was given.
    #[error("{op}: shape {shape:?} needs {expected} elements, but {got} were given")]
    ElementCount {
        /// The constructor or op that was called.
        op: &'static str,
        /// The requested shape.
        shape: Vec<usize>,
        /// The number of elements the shape needs.
        expected: usize,
        /// The number of elements given.
        got: usize,
    },
    /// Two shapes that an op cannot combine.
    #[error("{op}: shapes {lhs:?} and {rhs:?} are incompatible{detail}")]
    Shape {
        /// The op that was called.
        op: &'static str,
        /// The first operand's shape.
        lhs: Vec<usize>,
        /// The second operand's shape.
        rhs: Vec<usize>,
        /// Extra detail, starting with ": " when present.
        detail: String,
    },
    /// A `strict` gradient asked for an input that the output does not depend on.
    #[error(
        "grad (strict): the output does not depend on input {index} (node {node}, shape {shape:?})"
    )]
    UnusedInput {
        /// The position of the input in the list passed to `grad`.
        index: usize,
        /// Its node on the tape.
        node: usize,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// `grad` of a non-scalar output without a `grad_output` seed, or a seed of the wrong shape.
    #[error("grad: {0}")]
    Seed(String),
    /// The kernels' threads could not be set (see [`crate::set_num_threads`]).
    #[error("threads: {0}")]
    Threads(String),
}
