//! `Objective`: what one optimizer step works on (the parameters, and the
//! loss evaluated on them) behind one object-safe trait, and
//! `ClosureObjective`, the objective made of a parameter owner and a loss
//! closure that [`Optimizer::step`](crate::Optimizer::step) builds.

use std::fmt;

use curvature_autograd::{Element, Parameters, Tape, Tensor, Var};

/// The problem an optimizer step works on: parameters to update in place
/// and a loss to evaluate on them, as many times as the method needs.
///
/// This is the type-erased form of `step(&mut params, |model, tape, p| ..)`:
/// the parameter owner and the loss closure travel together, so the
/// closure still receives the owner with its concrete type (an `Mlp`, not
/// a `dyn Parameters`) while the optimizer sees one trait object. Users
/// rarely name it: [`Optimizer::step`](crate::Optimizer::step) wraps its
/// arguments in a [`ClosureObjective`]. Implement it directly for a
/// problem that owns both its parameters and its data.
///
/// ```
/// use curvature_autograd::{Parameters, Tape, Tensor, Var};
/// use curvature_optim::{Objective, Optimizer, Sgd, SgdConfig};
///
/// /// Least squares `|a w - b|^2`, owning its parameter and its data.
/// struct LeastSquares { w: Vec<Tensor<f64>>, a: Tensor<f64>, b: Tensor<f64> }
///
/// impl Parameters<f64> for LeastSquares {
///     fn parameters(&self) -> Vec<&Tensor<f64>> { self.w.parameters() }
///     fn parameters_mut(&mut self) -> Vec<&mut Tensor<f64>> { self.w.parameters_mut() }
/// }
///
/// impl Objective<f64> for LeastSquares {
///     fn loss(&self, tape: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
///         let r = &tape.constant(&self.a).matmul(&p[0]) - &tape.constant(&self.b);
///         r.square().sum()
///     }
/// }
///
/// let mut problem = LeastSquares {
///     w: vec![Tensor::zeros(&[2, 1])],
///     a: Tensor::from_vec(vec![1.0, 0.0, 0.0, 2.0], &[2, 2]),
///     b: Tensor::from_vec(vec![1.0, 4.0], &[2, 1]),
/// };
/// let mut sgd = Sgd::new(SgdConfig::new(0.1))?;
/// for _ in 0..200 {
///     sgd.step_objective(&mut problem)?;
/// }
/// assert!((problem.w[0].to_vec()[1] - 2.0).abs() < 1e-9);
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
pub trait Objective<T: Element>: Parameters<T> {
    /// Builds the loss on `tape` from `params`: the parameters bound on
    /// that tape (one leaf per parameter, in [`Parameters::parameters`]
    /// order). The result must have exactly one element.
    fn loss(&self, tape: &Tape<T>, params: &[Var<T>]) -> Var<T>;

    /// For Gauss-Newton products: the model's output on `tape`, of which
    /// the loss is a function ([`Objective::output_loss`]). `None`, the
    /// default, when the objective is not split so;
    /// [`GaussNewtonObjective`] is.
    fn model_output(&self, tape: &Tape<T>, params: &[Var<T>]) -> Option<Var<T>> {
        let _ = (tape, params);
        None
    }

    /// The loss as a function of the model's output (see
    /// [`Objective::model_output`]); `None` by default.
    fn output_loss(&self, tape: &Tape<T>, output: &Var<T>) -> Option<Var<T>> {
        let _ = (tape, output);
        None
    }
}

/// A parameter owner, a model and a loss of the model's output, taken
/// together as an [`Objective`] whose loss is `loss(tape, model(params,
/// tape, p))`: the split that Gauss-Newton products `J^T H_L J v` need
/// ([`NewtonCgConfig::gauss_newton`](crate::NewtonCgConfig::gauss_newton)).
///
/// ```
/// use curvature_autograd::{Tape, Tensor, Var};
/// use curvature_optim::{GaussNewtonObjective, NewtonCg, NewtonCgConfig, Optimizer};
///
/// // fit y = tanh(w x) to data made with w = 0.5
/// let x = Tensor::from_vec(vec![-1.0_f64, 0.5, 2.0], &[3]);
/// let y = x.mul_scalar(0.5).tanh();
/// let mut params = vec![Tensor::scalar(2.0_f64)];
/// let config = NewtonCgConfig { gauss_newton: true, ..Default::default() };
/// let mut opt = NewtonCg::new(config)?;
/// for _ in 0..20 {
///     let mut objective = GaussNewtonObjective::new(
///         &mut params,
///         |_, tape: &Tape<f64>, p: &[Var<f64>]| (&tape.constant(&x) * &p[0]).tanh(),
///         |tape: &Tape<f64>, out: &Var<f64>| (out - &tape.constant(&y)).square().sum(),
///     );
///     opt.step_objective(&mut objective)?;
/// }
/// assert!((params[0].item() - 0.5).abs() < 1e-8, "{}", params[0].item());
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
pub struct GaussNewtonObjective<'a, P: ?Sized, M, L> {
    params: &'a mut P,
    model: M,
    loss: L,
}

impl<'a, P: ?Sized, M, L> GaussNewtonObjective<'a, P, M, L> {
    /// The objective `loss(tape, model(params, tape, bound parameters))`.
    pub fn new<T>(params: &'a mut P, model: M, loss: L) -> Self
    where
        T: Element,
        P: Parameters<T>,
        M: Fn(&P, &Tape<T>, &[Var<T>]) -> Var<T>,
        L: Fn(&Tape<T>, &Var<T>) -> Var<T>,
    {
        Self {
            params,
            model,
            loss,
        }
    }
}

impl<P: ?Sized, M, L> fmt::Debug for GaussNewtonObjective<'_, P, M, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GaussNewtonObjective")
            .finish_non_exhaustive()
    }
}

impl<T, P, M, L> Parameters<T> for GaussNewtonObjective<'_, P, M, L>
where
    T: Element,
    P: Parameters<T> + ?Sized,
{
    fn parameters(&self) -> Vec<&Tensor<T>> {
        self.params.parameters()
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        self.params.parameters_mut()
    }

    fn parameter_names(&self) -> Vec<String> {
        self.params.parameter_names()
    }

    fn parameter_kinds(&self) -> Vec<curvature_autograd::ParameterKind> {
        self.params.parameter_kinds()
    }

    fn parameter_count(&self) -> usize {
        self.params.parameter_count()
    }

    fn bind(&self, tape: &Tape<T>) -> Vec<Var<T>> {
        self.params.bind(tape)
    }
}

impl<T, P, M, L> Objective<T> for GaussNewtonObjective<'_, P, M, L>
where
    T: Element,
    P: Parameters<T> + ?Sized,
    M: Fn(&P, &Tape<T>, &[Var<T>]) -> Var<T>,
    L: Fn(&Tape<T>, &Var<T>) -> Var<T>,
{
    fn loss(&self, tape: &Tape<T>, params: &[Var<T>]) -> Var<T> {
        (self.loss)(tape, &(self.model)(self.params, tape, params))
    }

    fn model_output(&self, tape: &Tape<T>, params: &[Var<T>]) -> Option<Var<T>> {
        Some((self.model)(self.params, tape, params))
    }

    fn output_loss(&self, tape: &Tape<T>, output: &Var<T>) -> Option<Var<T>> {
        Some((self.loss)(tape, output))
    }
}

/// A parameter owner `P` and a loss closure `F` taken together as an
/// [`Objective`]: the closure is called with the owner itself (immutably,
/// with its concrete type), the tape and the bound parameters. This is
/// what [`Optimizer::step`](crate::Optimizer::step) builds from its two
/// arguments.
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_optim::{ClosureObjective, Optimizer, Sgd, SgdConfig};
///
/// let mut params = vec![Tensor::scalar(0.0_f64)];
/// let mut sgd = Sgd::new(SgdConfig::new(0.25))?;
/// // the same as sgd.step(&mut params, |_, _, p| (&p[0] - 3.0).square())
/// let mut objective = ClosureObjective::new(&mut params, |_, _, p| (&p[0] - 3.0).square());
/// assert_eq!(sgd.step_objective(&mut objective)?, 9.0);
/// assert_eq!(params[0].item(), 1.5);
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
pub struct ClosureObjective<'a, P: ?Sized, F> {
    params: &'a mut P,
    loss: F,
}

impl<'a, P: ?Sized, F> ClosureObjective<'a, P, F> {
    /// The objective `loss(params, tape, bound parameters)`, updating `params`.
    pub fn new<T>(params: &'a mut P, loss: F) -> Self
    where
        T: Element,
        P: Parameters<T>,
        F: Fn(&P, &Tape<T>, &[Var<T>]) -> Var<T>,
    {
        Self { params, loss }
    }

    /// The parameter owner.
    pub fn params(&self) -> &P {
        self.params
    }
}

impl<P: ?Sized, F> fmt::Debug for ClosureObjective<'_, P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosureObjective").finish_non_exhaustive()
    }
}

// Every method is forwarded, the provided ones included: a module may
// override `parameter_names` (PyTorch's keys) or `bind`.
impl<T, P, F> Parameters<T> for ClosureObjective<'_, P, F>
where
    T: Element,
    P: Parameters<T> + ?Sized,
{
    fn parameters(&self) -> Vec<&Tensor<T>> {
        self.params.parameters()
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        self.params.parameters_mut()
    }

    fn parameter_names(&self) -> Vec<String> {
        self.params.parameter_names()
    }

    fn parameter_kinds(&self) -> Vec<curvature_autograd::ParameterKind> {
        self.params.parameter_kinds()
    }

    fn parameter_count(&self) -> usize {
        self.params.parameter_count()
    }

    fn bind(&self, tape: &Tape<T>) -> Vec<Var<T>> {
        self.params.bind(tape)
    }
}

impl<T, P, F> Objective<T> for ClosureObjective<'_, P, F>
where
    T: Element,
    P: Parameters<T> + ?Sized,
    F: Fn(&P, &Tape<T>, &[Var<T>]) -> Var<T>,
{
    fn loss(&self, tape: &Tape<T>, params: &[Var<T>]) -> Var<T> {
        (self.loss)(self.params, tape, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvature_autograd::ParameterKind;

    /// A parameter owner that declares its kinds and names (as a layer does).
    struct Declared(Vec<Tensor<f64>>);

    impl Parameters<f64> for Declared {
        fn parameters(&self) -> Vec<&Tensor<f64>> {
            self.0.iter().collect()
        }
        fn parameters_mut(&mut self) -> Vec<&mut Tensor<f64>> {
            self.0.iter_mut().collect()
        }
        fn parameter_names(&self) -> Vec<String> {
            vec!["kernel".into(), "bias".into()]
        }
        fn parameter_kinds(&self) -> Vec<ParameterKind> {
            vec![ParameterKind::ConvKernel, ParameterKind::Bias]
        }
    }

    #[test]
    fn every_declaration_of_the_owner_is_forwarded() {
        let mut owner = Declared(vec![Tensor::zeros(&[2, 1, 3, 3]), Tensor::zeros(&[2])]);
        let objective = ClosureObjective::new(&mut owner, |_, _, p: &[Var<f64>]| p[1].sum());
        assert_eq!(
            objective.parameter_kinds(),
            [ParameterKind::ConvKernel, ParameterKind::Bias]
        );
        assert_eq!(objective.parameter_names(), ["kernel", "bias"]);
        assert_eq!(objective.parameter_count(), 20);
    }
}
