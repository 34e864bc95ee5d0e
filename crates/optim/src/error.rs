//! The crate's error type: every failure names the parameter (or
//! hyperparameter) involved and the offending value.

/// What went wrong in building an optimizer or taking a step.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OptimError {
    /// A hyperparameter outside its valid range, caught when the optimizer
    /// (or schedule) is built or the value is set.
    #[error("invalid hyperparameter {name} = {value}: {requirement}")]
    InvalidHyperparameter {
        /// The hyperparameter's name, as in the config (`lr`, `betas.0`, ...).
        name: &'static str,
        /// The value given, formatted.
        value: String,
        /// What the value must satisfy.
        requirement: &'static str,
    },
    /// The loss closure returned more than one element.
    #[error("the loss must have exactly one element, but it has shape {shape:?}")]
    LossNotScalar {
        /// The shape of the value returned.
        shape: Vec<usize>,
    },
    /// The loss is NaN or infinite: nothing was updated.
    #[error("the loss is not finite ({value}) at step {step}; no parameter was updated")]
    NonFiniteLoss {
        /// The loss value, as `f64`.
        value: f64,
        /// The step (1-based) that was attempted.
        step: u64,
    },
    /// A gradient, a Hessian estimate or an update holds a NaN or an
    /// infinity: nothing was updated.
    #[error(
        "the {what} of parameter {parameter} (#{index}) is not finite at step {step}; \
         no parameter was updated"
    )]
    NonFinite {
        /// `"gradient"`, `"Hessian diagonal estimate"` or `"update"`.
        what: &'static str,
        /// The parameter's name (see `Parameters::parameter_names`).
        parameter: String,
        /// Its position in the parameter list.
        index: usize,
        /// The step (1-based) that was attempted.
        step: u64,
    },
    /// A loss, gradient or product computed inside a step (a line search's
    /// trial point, a conjugate-gradient iteration) is NaN or infinite:
    /// nothing was updated.
    #[error(
        "the {what}{detail} is not finite at {phase} iteration {iteration} of step {step}; \
         no parameter was updated"
    )]
    NonFiniteDuring {
        /// `"loss"`, `"gradient"` or `"Hessian-vector product"`.
        what: &'static str,
        /// The value, or the parameter concerned, formatted (may be empty).
        detail: String,
        /// The inner loop: `"line search"`, `"conjugate gradient"`, ...
        phase: &'static str,
        /// Its iteration (from 1).
        iteration: usize,
        /// The step (1-based) that was attempted.
        step: u64,
    },
    /// The number of parameters (or gradients) differs from what the
    /// optimizer's state was built for.
    #[error("expected {expected} {what}, got {got}")]
    Count {
        /// `"parameters"` or `"gradients"`.
        what: &'static str,
        /// The number the optimizer expects.
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// A parameter (or gradient) whose shape differs from the optimizer's
    /// state for it.
    #[error("{}", shape_message(what, parameter, *index, expected, got))]
    Shape {
        /// `"parameter"` (checked against the optimizer's state) or what
        /// was given for it (`"gradient"`, checked against the parameter).
        what: &'static str,
        /// The parameter's name.
        parameter: String,
        /// Its position in the parameter list.
        index: usize,
        /// The shape expected: the optimizer state's for a parameter, the
        /// parameter's for anything given for it.
        expected: Vec<usize>,
        /// The shape given.
        got: Vec<usize>,
    },
    /// An AdaHessian averaging that the parameter's shape cannot take.
    #[error("averaging {averaging} cannot apply to parameter {parameter} (#{index}) of shape {shape:?}: {reason}")]
    Averaging {
        /// The averaging declared, formatted.
        averaging: String,
        /// The parameter's name.
        parameter: String,
        /// Its position in the parameter list.
        index: usize,
        /// Its shape.
        shape: Vec<usize>,
        /// Why it cannot apply.
        reason: String,
    },
    /// Gauss-Newton products were asked for, but the objective does not
    /// split into a model and a loss of its output.
    #[error(
        "Gauss-Newton products need the loss split into a model and a loss of its output \
         (GaussNewtonObjective); this objective does not provide it"
    )]
    NoGaussNewtonSplit,
    /// A saved state that does not fit this optimizer.
    #[error("cannot load optimizer state: {0}")]
    State(String),
}

/// `parameter w (#0) has shape [3], but the optimizer state has shape [2]`
/// or `the gradient of parameter w (#0) has shape [3], but the parameter
/// has shape [2]`.
fn shape_message(
    what: &str,
    parameter: &str,
    index: usize,
    expected: &[usize],
    got: &[usize],
) -> String {
    if what == "parameter" {
        format!(
            "parameter {parameter} (#{index}) has shape {got:?}, \
             but the optimizer state has shape {expected:?}"
        )
    } else {
        format!(
            "the {what} of parameter {parameter} (#{index}) has shape {got:?}, \
             but the parameter has shape {expected:?}"
        )
    }
}

impl OptimError {
    pub(crate) fn invalid(
        name: &'static str,
        value: impl ToString,
        requirement: &'static str,
    ) -> Self {
        Self::InvalidHyperparameter {
            name,
            value: value.to_string(),
            requirement,
        }
    }
}
