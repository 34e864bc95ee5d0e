//! The curvature operator: `v -> H v` (or `G v`, Gauss-Newton) of a loss
//! averaged over batches, on the flattened parameters it acts on.

use std::cell::Cell;
use std::rc::Rc;

use curvature_autograd::{Element, Parameters, Tape, Tensor, Var};

use crate::gauss_newton::gauss_newton_product;
use crate::AnalysisError;

/// A symmetric linear operator on `R^n`, applied to flat `f64` vectors:
/// what every analysis of this crate runs on. [`HessianOperator`] is the
/// one for a model's loss; a test or a user may implement it for a known
/// matrix.
///
/// ```
/// use curvature_analysis::{AnalysisError, SymmetricOperator};
/// /// diag(1, 2, 3)
/// struct Diagonal;
/// impl SymmetricOperator for Diagonal {
///     fn dim(&self) -> usize { 3 }
///     fn apply(&self, v: &[f64]) -> Result<Vec<f64>, AnalysisError> {
///         Ok(v.iter().zip([1.0, 2.0, 3.0]).map(|(x, d)| x * d).collect())
///     }
/// }
/// assert_eq!(Diagonal.apply(&[1.0, 1.0, 1.0])?, vec![1.0, 2.0, 3.0]);
/// # Ok::<(), AnalysisError>(())
/// ```
pub trait SymmetricOperator {
    /// The dimension `n`: the length of the vectors it maps.
    fn dim(&self) -> usize;

    /// `A v` for a vector of length [`SymmetricOperator::dim`].
    fn apply(&self, v: &[f64]) -> Result<Vec<f64>, AnalysisError>;
}

impl<O: SymmetricOperator + ?Sized> SymmetricOperator for &O {
    fn dim(&self) -> usize {
        (**self).dim()
    }

    fn apply(&self, v: &[f64]) -> Result<Vec<f64>, AnalysisError> {
        (**self).apply(v)
    }
}

type LossFn<'a, T, B> = dyn Fn(&Tape<T>, &[Var<T>], &B) -> Var<T> + 'a;
type OutputLossFn<'a, T, B> = dyn Fn(&Var<T>, &B) -> Var<T> + 'a;

/// Which curvature matrix the operator applies.
enum Curvature<'a, T, B> {
    /// The Hessian of `loss(params, batch)`.
    Hessian(Rc<LossFn<'a, T, B>>),
    /// The Gauss-Newton matrix `J^T H_l J` of `loss(model(params, batch), batch)`.
    GaussNewton {
        model: Rc<LossFn<'a, T, B>>,
        loss: Rc<OutputLossFn<'a, T, B>>,
    },
}

impl<T, B> Clone for Curvature<'_, T, B> {
    fn clone(&self) -> Self {
        match self {
            Self::Hessian(loss) => Self::Hessian(Rc::clone(loss)),
            Self::GaussNewton { model, loss } => Self::GaussNewton {
                model: Rc::clone(model),
                loss: Rc::clone(loss),
            },
        }
    }
}

/// A named block of the operator's flat vectors: one parameter tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The parameter's name (see `Parameters::parameter_names`).
    pub name: String,
    /// Where its elements start in the operator's flat vectors.
    pub offset: usize,
    /// Its number of elements.
    pub len: usize,
    /// Its shape.
    pub shape: Vec<usize>,
}

/// The Hessian (or Gauss-Newton matrix) of a loss averaged over batches,
/// as a [`SymmetricOperator`] on the flattened parameters it acts on.
///
/// `H v = sum_b w_b H_b v`, with `H_b` the Hessian of the loss on batch `b`
/// and weights `w_b` equal by default (PyHessian's data-loader mode weighs
/// by batch size: give the sizes with [`HessianOperator::with_batch_weights`]).
/// Pass one batch for the Hessian of that batch. Each product costs, per
/// batch, one forward pass and two reverse sweeps (reverse over reverse);
/// the operator counts the products it computes ([`HessianOperator::hvp_count`]).
///
/// The operator holds clones of the parameter tensors (shared storage, no
/// copy) and never writes to them: every analysis leaves the model exactly
/// as it was, whatever happens.
///
/// ```
/// use curvature_analysis::{HessianOperator, SymmetricOperator};
/// use curvature_autograd::{Tape, Tensor, Var};
///
/// // loss(w; x) = mean over the batch of (x . w)^2: H = 2/|b| sum x x^T
/// let params = vec![Tensor::from_vec(vec![0.5_f64, -1.0], &[2])];
/// let batches = vec![
///     Tensor::from_vec(vec![1.0, 0.0], &[1, 2]),
///     Tensor::from_vec(vec![0.0, 2.0], &[1, 2]),
/// ];
/// let loss = |tape: &Tape<f64>, p: &[Var<f64>], x: &Tensor<f64>| {
///     tape.constant(x).matmul(&p[0].reshape(&[2, 1])).square().mean()
/// };
/// let op = HessianOperator::new(&params, loss, &batches)?;
/// // the mean of diag(2, 0) and diag(0, 8)
/// assert_eq!(op.apply(&[1.0, 1.0])?, vec![1.0, 4.0]);
/// assert_eq!(op.hvp_count(), 1);
/// # Ok::<(), curvature_analysis::AnalysisError>(())
/// ```
pub struct HessianOperator<'a, T: Element, B> {
    params: Vec<Tensor<T>>,
    names: Vec<String>,
    active: Vec<usize>,
    blocks: Vec<Block>,
    dim: usize,
    curvature: Curvature<'a, T, B>,
    batches: &'a [B],
    weights: Vec<f64>,
    hvps: Cell<u64>,
    batch_hvps: Cell<u64>,
    loss_evaluations: Cell<u64>,
}

impl<T: Element, B> std::fmt::Debug for HessianOperator<'_, T, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HessianOperator")
            .field("gauss_newton", &self.is_gauss_newton())
            .field("blocks", &self.blocks)
            .field("batches", &self.batches.len())
            .field("hvps", &self.hvps.get())
            .finish_non_exhaustive()
    }
}

impl<'a, T: Element, B> HessianOperator<'a, T, B> {
    /// The Hessian of `loss(tape, params, batch)` averaged over `batches`,
    /// on all of `params`. The closure receives every parameter bound on
    /// the tape, in `parameters()` order. Errors when `batches` is empty
    /// or the parameters have no elements.
    pub fn new<P, F>(params: &P, loss: F, batches: &'a [B]) -> Result<Self, AnalysisError>
    where
        P: Parameters<T> + ?Sized,
        F: Fn(&Tape<T>, &[Var<T>], &B) -> Var<T> + 'a,
    {
        Self::build(params, Curvature::Hessian(Rc::new(loss)), batches)
    }

    /// The Gauss-Newton matrix `G = J^T H_l J` of `loss(model(params,
    /// batch), batch)` averaged over `batches`, with `J` the Jacobian of
    /// the model's output in the parameters and `H_l` the Hessian of the
    /// loss in the output. `G` is positive semi-definite for a convex loss
    /// (cross-entropy, mean squared error), and equals `H` for a model
    /// linear in its parameters. The loss closure receives the output as a
    /// `Var` (on the same tape) and the batch.
    ///
    /// ```
    /// use curvature_analysis::{HessianOperator, SymmetricOperator};
    /// use curvature_autograd::{Tape, Tensor, Var};
    /// // a linear model x w, squared error: G = H = 2 x^T x / rows
    /// let params = vec![Tensor::from_vec(vec![0.0_f64, 0.0], &[2, 1])];
    /// let batches = vec![(Tensor::from_vec(vec![1.0, 0.0, 0.0, 3.0], &[2, 2]), Tensor::zeros(&[2, 1]))];
    /// let model = |t: &Tape<f64>, p: &[Var<f64>], b: &(Tensor<f64>, Tensor<f64>)| t.constant(&b.0).matmul(&p[0]);
    /// let loss = |y: &Var<f64>, b: &(Tensor<f64>, Tensor<f64>)| (y - &b.1).square().mean();
    /// let gn = HessianOperator::gauss_newton(&params, model, loss, &batches)?;
    /// assert_eq!(gn.apply(&[1.0, 1.0])?, vec![1.0, 9.0]);
    /// # Ok::<(), curvature_analysis::AnalysisError>(())
    /// ```
    pub fn gauss_newton<P, M, L>(
        params: &P,
        model: M,
        loss: L,
        batches: &'a [B],
    ) -> Result<Self, AnalysisError>
    where
        P: Parameters<T> + ?Sized,
        M: Fn(&Tape<T>, &[Var<T>], &B) -> Var<T> + 'a,
        L: Fn(&Var<T>, &B) -> Var<T> + 'a,
    {
        let curvature = Curvature::GaussNewton {
            model: Rc::new(model),
            loss: Rc::new(loss),
        };
        Self::build(params, curvature, batches)
    }

    fn build<P>(
        params: &P,
        curvature: Curvature<'a, T, B>,
        batches: &'a [B],
    ) -> Result<Self, AnalysisError>
    where
        P: Parameters<T> + ?Sized,
    {
        if batches.is_empty() {
            return Err(AnalysisError::NoBatches);
        }
        let tensors: Vec<Tensor<T>> = params.parameters().into_iter().cloned().collect();
        let names = params.parameter_names();
        let active = (0..tensors.len()).collect();
        let weight = 1.0 / batches.len() as f64;
        let mut op = Self {
            params: tensors,
            names,
            active,
            blocks: Vec::new(),
            dim: 0,
            curvature,
            batches,
            weights: vec![weight; batches.len()],
            hvps: Cell::new(0),
            batch_hvps: Cell::new(0),
            loss_evaluations: Cell::new(0),
        };
        op.layout()?;
        Ok(op)
    }

    fn layout(&mut self) -> Result<(), AnalysisError> {
        let mut offset = 0;
        self.blocks = self
            .active
            .iter()
            .map(|&i| {
                let block = Block {
                    name: self.names[i].clone(),
                    offset,
                    len: self.params[i].numel(),
                    shape: self.params[i].shape().to_vec(),
                };
                offset += block.len;
                block
            })
            .collect();
        self.dim = offset;
        if self.dim == 0 {
            return Err(AnalysisError::NoParameters);
        }
        Ok(())
    }

    /// Weighs the batches: `H = sum_b w_b H_b / sum_b w_b` (give the batch
    /// sizes for the Hessian of the mean loss over all examples, when the
    /// loss is a mean over its batch and the last batch is smaller).
    /// Errors unless there is one finite positive weight per batch.
    pub fn with_batch_weights(mut self, weights: &[f64]) -> Result<Self, AnalysisError> {
        if weights.len() != self.batches.len() {
            return Err(AnalysisError::BatchWeights {
                reason: format!(
                    "{} weights for {} batches",
                    weights.len(),
                    self.batches.len()
                ),
            });
        }
        if let Some((i, w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w > 0.0))
        {
            return Err(AnalysisError::BatchWeights {
                reason: format!("weight {i} is {w}; each must be positive and finite"),
            });
        }
        let total: f64 = weights.iter().sum();
        self.weights = weights.iter().map(|w| w / total).collect();
        Ok(self)
    }

    /// The same operator on a subset of the parameters, by name (one layer,
    /// or several): the diagonal block of `H` for those parameters. The
    /// others stay fixed at their values. Errors on a name the model does
    /// not have, or a name given twice.
    pub fn restrict_to<S: AsRef<str>>(&self, names: &[S]) -> Result<Self, AnalysisError> {
        let mut active = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref();
            let index = self.names.iter().position(|n| n == name).ok_or_else(|| {
                AnalysisError::UnknownParameter {
                    name: name.to_string(),
                    known: self.names.clone(),
                }
            })?;
            if active.contains(&index) {
                return Err(AnalysisError::DuplicateParameter {
                    name: name.to_string(),
                });
            }
            active.push(index);
        }
        // keep the model's order, whatever the order of the names
        active.sort_unstable();
        let mut op = Self {
            params: self.params.clone(),
            names: self.names.clone(),
            active,
            blocks: Vec::new(),
            dim: 0,
            curvature: self.curvature.clone(),
            batches: self.batches,
            weights: self.weights.clone(),
            hvps: Cell::new(0),
            batch_hvps: Cell::new(0),
            loss_evaluations: Cell::new(0),
        };
        op.layout()?;
        Ok(op)
    }

    /// Whether the operator applies the Gauss-Newton matrix rather than `H`.
    pub fn is_gauss_newton(&self) -> bool {
        matches!(self.curvature, Curvature::GaussNewton { .. })
    }

    /// The blocks of the flat vectors: one per parameter it acts on, in
    /// the model's order.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The names of every parameter of the model, in order (the operator
    /// may act on a subset: see [`HessianOperator::blocks`]).
    pub fn parameter_names(&self) -> &[String] {
        &self.names
    }

    /// The number of batches it averages over.
    pub fn batch_count(&self) -> usize {
        self.batches.len()
    }

    /// The number of operator products computed so far (each over every
    /// batch): the cost figure the analyses report.
    pub fn hvp_count(&self) -> u64 {
        self.hvps.get()
    }

    /// The number of single-batch products computed so far: the
    /// [`HessianOperator::hvp_count`] times the number of batches.
    pub fn batch_hvp_count(&self) -> u64 {
        self.batch_hvps.get()
    }

    /// The number of loss evaluations (over every batch) spent on
    /// [`HessianOperator::loss`] and [`HessianOperator::loss_at`].
    pub fn loss_evaluation_count(&self) -> u64 {
        self.loss_evaluations.get()
    }

    /// The parameters it acts on, flattened into one `f64` vector in block order.
    pub fn flatten_parameters(&self) -> Vec<f64> {
        self.active
            .iter()
            .flat_map(|&i| self.params[i].to_f64_vec())
            .collect()
    }

    /// A flat vector as one tensor per block (in the parameters' shapes
    /// and element type): an eigenvector as a perturbation of each layer.
    /// Panics when the vector's length is not [`SymmetricOperator::dim`].
    pub fn unflatten(&self, v: &[f64]) -> Vec<Tensor<T>> {
        assert_eq!(
            v.len(),
            self.dim,
            "unflatten: a vector of {} elements for an operator of dimension {}",
            v.len(),
            self.dim
        );
        self.blocks
            .iter()
            .map(|b| Tensor::from_f64_vec(v[b.offset..b.offset + b.len].to_vec(), &b.shape))
            .collect()
    }

    fn check_dimension(&self, what: &'static str, v: &[f64]) -> Result<(), AnalysisError> {
        if v.len() == self.dim {
            Ok(())
        } else {
            Err(AnalysisError::Dimension {
                what,
                got: v.len(),
                dimension: self.dim,
            })
        }
    }

    /// The loss on one batch, as `f64`, checked to be one finite element.
    fn checked_loss(loss: &Var<T>, batch: usize) -> Result<f64, AnalysisError> {
        if loss.numel() != 1 {
            return Err(AnalysisError::LossNotScalar {
                shape: loss.shape().to_vec(),
            });
        }
        let value = loss.value().to_f64_vec()[0];
        if !value.is_finite() {
            return Err(AnalysisError::NonFiniteLoss { value, batch });
        }
        Ok(value)
    }

    /// The loss of one batch on `tape` from the bound parameters.
    fn batch_loss(&self, tape: &Tape<T>, vars: &[Var<T>], batch: &B) -> Var<T> {
        match &self.curvature {
            Curvature::Hessian(loss) => loss(tape, vars, batch),
            Curvature::GaussNewton { model, loss } => loss(&model(tape, vars, batch), batch),
        }
    }

    /// The weighted mean loss over the batches at the current parameters.
    pub fn loss(&self) -> Result<f64, AnalysisError> {
        self.loss_at(&[])
    }

    /// The weighted mean loss at `theta + sum_i c_i d_i`, for `(d_i, c_i)`
    /// in `steps` (flat directions over the operator's blocks). The
    /// perturbed parameters are new tensors: the operator's own stay as
    /// they were.
    pub fn loss_at(&self, steps: &[(&[f64], f64)]) -> Result<f64, AnalysisError> {
        for (d, _) in steps {
            self.check_dimension("direction", d)?;
        }
        let mut params = self.params.clone();
        if !steps.is_empty() {
            for (block, &i) in self.blocks.iter().zip(&self.active) {
                let mut values = params[i].to_f64_vec();
                for (d, c) in steps {
                    for (x, dx) in values.iter_mut().zip(&d[block.offset..]) {
                        *x += c * dx;
                    }
                }
                params[i] = Tensor::from_f64_vec(values, &block.shape);
            }
        }
        self.loss_evaluations.set(self.loss_evaluations.get() + 1);
        let mut total = 0.0;
        for (b, (batch, w)) in self.batches.iter().zip(&self.weights).enumerate() {
            let tape = Tape::new();
            // constants only: nothing is recorded
            let vars: Vec<Var<T>> = params.iter().map(|p| tape.constant(p)).collect();
            let loss = self.batch_loss(&tape, &vars, batch);
            total += w * Self::checked_loss(&loss, b)?;
        }
        Ok(total)
    }

    /// `H v` on one batch, with the batch's loss.
    fn batch_product(
        &self,
        b: usize,
        batch: &B,
        v: &[Tensor<T>],
    ) -> Result<Vec<Tensor<T>>, AnalysisError> {
        let tape = Tape::new();
        let vars: Vec<Var<T>> = self
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if self.active.contains(&i) {
                    tape.var(p)
                } else {
                    tape.constant(p)
                }
            })
            .collect();
        let active: Vec<&Var<T>> = self.active.iter().map(|&i| &vars[i]).collect();
        let hv = match &self.curvature {
            Curvature::Hessian(loss) => {
                let y = loss(&tape, &vars, batch);
                Self::checked_loss(&y, b)?;
                let g = tape.grad_graph(&y, &active);
                tape.grad_many(&g, v, &active)
            }
            Curvature::GaussNewton { model, loss } => {
                let output = model(&tape, &vars, batch);
                let (y, gv) = gauss_newton_product(&tape, &active, &output, |z| loss(z, batch), v);
                Self::checked_loss(&y, b)?;
                gv
            }
        };
        if !hv.iter().all(Tensor::all_finite) {
            return Err(AnalysisError::NonFiniteProduct { batch: b });
        }
        Ok(hv)
    }
}

impl<T: Element, B> SymmetricOperator for HessianOperator<'_, T, B> {
    fn dim(&self) -> usize {
        self.dim
    }

    /// `H v` (or `G v`) averaged over the batches: one forward pass and two
    /// reverse sweeps per batch. Errors, naming the batch, when the loss
    /// or the product is not finite.
    fn apply(&self, v: &[f64]) -> Result<Vec<f64>, AnalysisError> {
        self.check_dimension("vector", v)?;
        let v_tensors = self.unflatten(v);
        let mut out = vec![0.0; self.dim];
        for (b, (batch, w)) in self.batches.iter().zip(&self.weights).enumerate() {
            let hv = self.batch_product(b, batch, &v_tensors)?;
            self.batch_hvps.set(self.batch_hvps.get() + 1);
            for (block, t) in self.blocks.iter().zip(&hv) {
                for (o, x) in out[block.offset..block.offset + block.len]
                    .iter_mut()
                    .zip(t.to_f64_vec())
                {
                    *o += w * x;
                }
            }
        }
        self.hvps.set(self.hvps.get() + 1);
        Ok(out)
    }
}
