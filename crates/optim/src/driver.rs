//! The step driver: the one implementation of a step. An optimizer says
//! what it needs at step `t` ([`Needs`]); the driver evaluates the loss
//! once on a fresh tape, computes exactly that (the gradient, a Hutchinson
//! diagonal, a kept tape for Hessian-vector products), checks that all of
//! it is finite, and hands it to the optimizer's update as a [`Step`],
//! through which the update can also ask for more (Hessian-vector products
//! for an inner solver, losses at trial points for a line search) and
//! finally writes the parameters.

use std::ops::AddAssign;

use curvature_autograd::functional::{self, GaussNewton};
use curvature_autograd::{seeded_rng, Element, Tape, Tensor, Var};

use crate::optimizer::{check_finite, loss_value, parameter_name};
use crate::{Objective, OptimError, Optimizer};

/// What an optimizer needs from the tape at one step, returned by
/// [`Optimizer::needs`]. The gradient is always computed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// A Hutchinson estimate of the Hessian's diagonal at this step
    /// ([`Step::hessian_diagonal`]), or `None`.
    pub hutchinson: Option<HutchinsonDraws>,
    /// Hessian-vector products on this step's tape ([`Step::hvp`]): the
    /// gradient is recorded with its graph and the tape kept until the
    /// parameters are written.
    pub hvp: bool,
    /// Losses (and gradients) at trial points ([`Step::evaluate`]), for a
    /// line search.
    pub evaluations: bool,
    /// Gauss-Newton-vector products on this step's tape ([`Step::gnvp`]):
    /// the loss is evaluated as the objective's
    /// [`output_loss`](Objective::output_loss) of its
    /// [`model_output`](Objective::model_output), and the step is refused
    /// when the objective does not provide them.
    pub gauss_newton: bool,
}

/// How many Rademacher draws a Hutchinson estimate averages, and the seed
/// of the generator they come from (xoshiro256++, [`seeded_rng`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HutchinsonDraws {
    /// Draws (Hessian-vector products) averaged; `>= 1`.
    pub n_samples: usize,
    /// The generator's seed for this step.
    pub seed: u64,
}

impl HutchinsonDraws {
    /// `n_samples` draws at step `t` of a run seeded with `seed`: the
    /// generator's seed is `seed ^ splitmix64(t)`, a function of `(seed,
    /// t)` only, so a resumed run draws what the uninterrupted one would
    /// have. AdaHessian and Sophia-H draw this way; a test can rebuild the
    /// `z` of a step with `Tensor::rademacher(shape, &mut
    /// seeded_rng(HutchinsonDraws::at_step(seed, t, n).seed))`, one
    /// tensor per parameter in order.
    pub fn at_step(seed: u64, t: u64, n_samples: usize) -> Self {
        Self {
            n_samples,
            seed: seed ^ splitmix64(t),
        }
    }
}

/// SplitMix64's output function: spreads consecutive steps over the seed space.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The work a step (or a run) cost, in the units that compare methods:
/// forward evaluations of the loss, gradients, and Hessian-vector (or
/// Gauss-Newton-vector) products.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// Evaluations of the loss (the step's own, and trial points).
    pub loss_evaluations: u64,
    /// Gradients computed (reverse sweeps of the loss).
    pub gradients: u64,
    /// Hessian-vector products (each one more reverse sweep through a
    /// recorded gradient), Hutchinson draws included.
    pub hessian_vector_products: u64,
}

impl AddAssign for Work {
    fn add_assign(&mut self, other: Work) {
        self.loss_evaluations += other.loss_evaluations;
        self.gradients += other.gradients;
        self.hessian_vector_products += other.hessian_vector_products;
    }
}

/// The tape of the step's loss, kept for Hessian-vector products.
struct KeptTape<T: Element> {
    tape: Tape<T>,
    vars: Vec<Var<T>>,
    gradient: Vec<Var<T>>,
}

/// One step in progress, as the driver hands it to
/// [`Optimizer::update`]: the loss and gradient at the current
/// parameters (and the Hutchinson diagonal when it was needed), all
/// finite; oracles for more; and, last, the parameters to write
/// ([`Step::commit`]).
///
/// The parameters can only be written through `commit`, so an update
/// that checks everything that can fail before it writes (to the
/// parameters or to its own state) is all or nothing.
pub struct Step<'a, T: Element> {
    number: u64,
    needs: Needs,
    objective: &'a mut dyn Objective<T>,
    kept: Option<KeptTape<T>>,
    gauss_newton: Option<GaussNewton<T>>,
    loss: T,
    gradient: Vec<Tensor<T>>,
    hessian_diagonal: Option<Vec<Tensor<T>>>,
    work: Work,
}

/// What an update writes through: the objective (its parameters, with
/// `parameters_mut`) and the step's measurements, borrowed together.
pub struct Commit<'s, T: Element> {
    /// The objective, whose parameters are updated in place.
    pub objective: &'s mut dyn Objective<T>,
    /// The gradient at the step's starting point.
    pub gradient: &'s [Tensor<T>],
    /// The Hutchinson diagonal, when it was needed.
    pub hessian_diagonal: Option<&'s mut [Tensor<T>]>,
}

/// The tape of step `number`, its generator (which random ops such as
/// dropout draw from) seeded with the step's number: a new dropout mask
/// every step, the same one for every evaluation within a step (a line
/// search sees one function), and the same sequence again when a run is
/// repeated or resumed from a saved step count.
fn step_tape<T: Element>(number: u64) -> Tape<T> {
    Tape::with_seed(number)
}

/// Runs one step of `optimizer` on `objective`: what
/// [`Optimizer::step_objective`] does for every optimizer.
pub(crate) fn drive<T: Element, O: Optimizer<T> + ?Sized>(
    optimizer: &mut O,
    objective: &mut dyn Objective<T>,
) -> Result<T, OptimError> {
    let number = optimizer.step_count() + 1;
    let needs = optimizer.needs(&*objective)?;
    let mut work = Work::default();
    let step = Step::begin(objective, number, needs, &mut work);
    let result = match step {
        Ok(mut step) => {
            let result = optimizer.update(&mut step);
            work = step.work;
            result.map(|()| step.loss)
        }
        Err(e) => Err(e),
    };
    optimizer.record_work(work);
    result
}

impl<'a, T: Element> Step<'a, T> {
    /// Evaluates the loss at the objective's parameters on a fresh tape
    /// and computes what `needs` asks for, checking each result.
    fn begin(
        objective: &'a mut dyn Objective<T>,
        number: u64,
        needs: Needs,
        work: &mut Work,
    ) -> Result<Self, OptimError> {
        let tape = step_tape(number);
        let vars = objective.bind(&tape);
        let count = objective.parameters().len();
        if vars.len() != count {
            return Err(OptimError::Count {
                what: "bound parameters",
                expected: count,
                got: vars.len(),
            });
        }
        let split = if needs.gauss_newton {
            let output = objective
                .model_output(&tape, &vars)
                .ok_or(OptimError::NoGaussNewtonSplit)?;
            let out = objective
                .output_loss(&tape, &output)
                .ok_or(OptimError::NoGaussNewtonSplit)?;
            Some((output, out))
        } else {
            None
        };
        let out = match &split {
            Some((_, out)) => out.clone(),
            None => objective.loss(&tape, &vars),
        };
        work.loss_evaluations += 1;
        let loss = loss_value(&out, number)?;
        work.gradients += 1;
        let second_order = needs.hvp || needs.hutchinson.is_some();
        let (gradient, kept, hessian_diagonal) = if second_order {
            let g = tape.grad_graph(&out, &vars);
            // plain row-major tensors, as `Tape::grad` gives: a recorded
            // gradient can be a view (a conv kernel's is a transpose)
            let values: Vec<Tensor<T>> = g.iter().map(|g| g.value().contiguous()).collect();
            check_finite(&*objective, &values, "gradient", number)?;
            let diagonal = needs.hutchinson.map(|draws| {
                let mut rng = seeded_rng(draws.seed);
                work.hessian_vector_products += draws.n_samples as u64;
                functional::hutchinson_diagonal_on(&tape, &g, &vars, draws.n_samples, &mut rng)
            });
            if let Some(d) = &diagonal {
                check_finite(&*objective, d, "Hessian diagonal estimate", number)?;
            }
            let kept = needs.hvp.then(|| KeptTape {
                tape: tape.clone(),
                vars: vars.clone(),
                gradient: g,
            });
            (values, kept, diagonal)
        } else {
            let g = tape.grad(&out, &vars);
            check_finite(&*objective, &g, "gradient", number)?;
            (g, None, None)
        };
        let gauss_newton = split.map(|(output, _)| {
            GaussNewton::new(&tape, &vars, &output, |tape, o| {
                objective
                    .output_loss(tape, o)
                    .expect("the objective gave its output loss above")
            })
        });
        Ok(Self {
            number,
            needs,
            objective,
            kept,
            gauss_newton,
            loss,
            gradient,
            hessian_diagonal,
            work: *work,
        })
    }

    /// The step's number `t`, from 1.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The loss at the step's starting point.
    pub fn loss(&self) -> T {
        self.loss
    }

    /// The gradient at the step's starting point, one tensor per parameter.
    pub fn gradient(&self) -> &[Tensor<T>] {
        &self.gradient
    }

    /// The Hutchinson estimate `mean_s z_s ⊙ H z_s`, when
    /// [`Needs::hutchinson`] asked for it.
    pub fn hessian_diagonal(&self) -> Option<&[Tensor<T>]> {
        self.hessian_diagonal.as_deref()
    }

    /// The parameters at the step's starting point.
    pub fn parameters(&self) -> Vec<&Tensor<T>> {
        self.objective.parameters()
    }

    /// The work done in this step so far.
    pub fn work(&self) -> Work {
        self.work
    }

    /// The Hessian-vector product `H v` at the step's starting point, one
    /// sweep through the gradient recorded on the step's tape. `phase` and
    /// `iteration` name the caller in the error when the product is not
    /// finite (`"conjugate gradient"`, 3). Panics unless [`Needs::hvp`]
    /// was set, or when `v` is not shaped as the parameters.
    pub fn hvp(
        &mut self,
        v: &[Tensor<T>],
        phase: &'static str,
        iteration: usize,
    ) -> Result<Vec<Tensor<T>>, OptimError> {
        let kept = self
            .kept
            .as_ref()
            .expect("Step::hvp: the optimizer's needs did not include hvp");
        let hv = kept.tape.grad_many(&kept.gradient, v, &kept.vars);
        self.work.hessian_vector_products += 1;
        self.check_finite_during(&hv, "Hessian-vector product", phase, iteration)?;
        Ok(hv)
    }

    /// The Gauss-Newton-vector product `J^T H_L J v` at the step's starting
    /// point (see `functional::gnvp`), on the step's tape. `phase` and
    /// `iteration` name the caller in the error when it is not finite.
    /// Panics unless [`Needs::gauss_newton`] was set.
    pub fn gnvp(
        &mut self,
        v: &[Tensor<T>],
        phase: &'static str,
        iteration: usize,
    ) -> Result<Vec<Tensor<T>>, OptimError> {
        let gn = self
            .gauss_newton
            .as_ref()
            .expect("Step::gnvp: the optimizer's needs did not include gauss_newton");
        let gv = gn.product(v);
        self.work.hessian_vector_products += 1;
        self.check_finite_during(&gv, "Gauss-Newton-vector product", phase, iteration)?;
        Ok(gv)
    }

    /// An error naming `what`, the first non-finite parameter's name and
    /// index, `phase`, `iteration` and the step, when `tensors` (one per
    /// parameter) are not all finite.
    fn check_finite_during(
        &self,
        tensors: &[Tensor<T>],
        what: &'static str,
        phase: &'static str,
        iteration: usize,
    ) -> Result<(), OptimError> {
        match tensors.iter().position(|t| !t.all_finite()) {
            Some(index) => Err(OptimError::NonFiniteDuring {
                what,
                detail: format!(
                    " for parameter {} (#{index})",
                    parameter_name(&*self.objective, index)
                ),
                phase,
                iteration,
                step: self.number,
            }),
            None => Ok(()),
        }
    }

    /// The loss at `point` (one tensor per parameter, shaped as the
    /// parameters), on a fresh tape, without its gradient. The parameters
    /// are not changed. A non-finite loss is an error naming `phase` and
    /// `iteration`. Panics unless [`Needs::evaluations`] was set.
    pub fn evaluate(
        &mut self,
        point: &[Tensor<T>],
        phase: &'static str,
        iteration: usize,
    ) -> Result<T, OptimError> {
        let tape = step_tape(self.number);
        let vars: Vec<Var<T>> = point.iter().map(|p| tape.constant(p)).collect();
        let out = self.trial_loss_on(&tape, &vars, phase, iteration)?;
        Ok(out.item())
    }

    /// The loss and its gradient at `point` (see [`Step::evaluate`]).
    pub fn evaluate_with_gradient(
        &mut self,
        point: &[Tensor<T>],
        phase: &'static str,
        iteration: usize,
    ) -> Result<(T, Vec<Tensor<T>>), OptimError> {
        let tape = step_tape(self.number);
        let vars: Vec<Var<T>> = point.iter().map(|p| tape.var(p)).collect();
        let out = self.trial_loss_on(&tape, &vars, phase, iteration)?;
        let g = tape.grad(&out, &vars);
        self.work.gradients += 1;
        self.check_finite_during(&g, "gradient", phase, iteration)?;
        Ok((out.item(), g))
    }

    fn trial_loss_on(
        &mut self,
        tape: &Tape<T>,
        vars: &[Var<T>],
        phase: &'static str,
        iteration: usize,
    ) -> Result<Var<T>, OptimError> {
        assert!(
            self.needs.evaluations,
            "Step::evaluate: the optimizer's needs did not include evaluations"
        );
        let params = self.objective.parameters();
        assert_eq!(
            vars.len(),
            params.len(),
            "Step::evaluate: {} tensors for {} parameters",
            vars.len(),
            params.len()
        );
        for (i, (v, p)) in vars.iter().zip(&params).enumerate() {
            assert_eq!(
                &v.shape()[..],
                p.shape(),
                "Step::evaluate: tensor {i} has shape {:?} but parameter {i} has shape {:?}",
                v.shape(),
                p.shape()
            );
        }
        let out = self.objective.loss(tape, vars);
        self.work.loss_evaluations += 1;
        if out.numel() != 1 {
            return Err(OptimError::LossNotScalar {
                shape: out.shape().to_vec(),
            });
        }
        let value = out.item();
        if !value.is_finite() {
            return Err(OptimError::NonFiniteDuring {
                what: "loss",
                detail: format!(" ({})", value.as_f64()),
                phase,
                iteration,
                step: self.number,
            });
        }
        Ok(out)
    }

    /// Drops the step's tape (so the parameters' storage is no longer
    /// shared and updates in place without a copy) and lends the
    /// objective for writing, with the step's measurements. Hessian-vector
    /// products are no longer available afterwards.
    pub fn commit(&mut self) -> Commit<'_, T> {
        self.kept = None;
        self.gauss_newton = None;
        Commit {
            objective: &mut *self.objective,
            gradient: &self.gradient,
            hessian_diagonal: self.hessian_diagonal.as_deref_mut(),
        }
    }
}
