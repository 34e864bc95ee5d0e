//! The crate's error type: every failure names what was wrong and the
//! value given. No analysis changes the parameters it is given, so after
//! any error they are exactly as before.

/// What went wrong in building an operator or running an analysis.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AnalysisError {
    /// The operator was given no batches to average over.
    #[error("no batches: the operator averages over at least one batch")]
    NoBatches,
    /// The operator acts on no parameter at all.
    #[error("no parameters: the operator needs at least one parameter element")]
    NoParameters,
    /// More eigenvalues were asked for than the operator's dimension.
    #[error("asked for {k} eigenvalues, but the operator acts on only {dimension} parameters")]
    TooManyEigenvalues {
        /// The number asked for.
        k: usize,
        /// The number of parameters (the operator's dimension).
        dimension: usize,
    },
    /// A tolerance that is not a positive finite number.
    #[error("invalid {what} tolerance {value}: it must be positive and finite")]
    InvalidTolerance {
        /// Which analysis it was given to (`"eigenvalue"`, `"trace"`).
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// Another option outside its valid range.
    #[error("invalid option {name} = {value}: {requirement}")]
    InvalidOption {
        /// The option's name, as in its options struct.
        name: &'static str,
        /// The value given, formatted.
        value: String,
        /// What the value must satisfy.
        requirement: &'static str,
    },
    /// A parameter name that the model does not have.
    #[error("no parameter named {name:?}; the parameters are {known:?}")]
    UnknownParameter {
        /// The name given.
        name: String,
        /// The names the model has, in order.
        known: Vec<String>,
    },
    /// The same parameter named twice in a restriction.
    #[error("parameter {name:?} is named twice")]
    DuplicateParameter {
        /// The name given twice.
        name: String,
    },
    /// The loss closure returned more than one element.
    #[error("the loss must have exactly one element, but it has shape {shape:?}")]
    LossNotScalar {
        /// The shape of the value returned.
        shape: Vec<usize>,
    },
    /// The loss was NaN or infinite on a batch.
    #[error("the loss is not finite ({value}) on batch {batch}; the parameters are unchanged")]
    NonFiniteLoss {
        /// The loss value, as `f64`.
        value: f64,
        /// The batch's position in the slice given to the operator.
        batch: usize,
    },
    /// A Hessian-vector product held a NaN or an infinity.
    #[error("the curvature product on batch {batch} is not finite; the parameters are unchanged")]
    NonFiniteProduct {
        /// The batch's position in the slice given to the operator.
        batch: usize,
    },
    /// Batch weights that do not match the batches, or are not positive.
    #[error("invalid batch weights: {reason}")]
    BatchWeights {
        /// What was wrong.
        reason: String,
    },
    /// A vector whose length is not the operator's dimension.
    #[error("{what} has {got} elements, but the operator acts on {dimension} parameters")]
    Dimension {
        /// What the vector was (`"direction"`, `"vector"`).
        what: &'static str,
        /// Its length.
        got: usize,
        /// The operator's dimension.
        dimension: usize,
    },
}

pub(crate) fn check_tolerance(what: &'static str, value: f64) -> Result<(), AnalysisError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(AnalysisError::InvalidTolerance { what, value })
    }
}

pub(crate) fn check_at_least(
    name: &'static str,
    value: usize,
    minimum: usize,
    requirement: &'static str,
) -> Result<(), AnalysisError> {
    if value >= minimum {
        Ok(())
    } else {
        Err(AnalysisError::InvalidOption {
            name,
            value: value.to_string(),
            requirement,
        })
    }
}
