//! The training loop: shuffled mini-batches, one optimizer step each,
//! and an evaluation of the whole train and test sets after every epoch.

use std::time::Instant;

use curvature::autograd::{seeded_rng, Tape, Tensor, Var};
use curvature::nn::data::{Dataset, Targets};
use curvature::nn::{accuracy, cross_entropy, mse_loss, predicted_classes, Module};
use curvature::optim::{
    Constant, CosineAnnealing, LinearWarmup, LrSchedule, OptimError, Optimizer, Work,
};

/// The loss of `model` (parameters `params`, bound on `tape`) on a batch:
/// cross-entropy from logits for classes, mean squared error for values.
pub fn batch_loss<M: Module<f32> + ?Sized>(
    model: &M,
    tape: &Tape<f32>,
    params: &[Var<f32>],
    x: &Tensor<f32>,
    targets: &Targets<f32>,
) -> Var<f32> {
    let out = model.forward(params, &tape.constant(x));
    match targets {
        Targets::Classes { labels, .. } => cross_entropy(&out, labels),
        Targets::Values(values) => mse_loss(&out, &tape.constant(values)),
    }
}

/// The number of outputs a model needs for this dataset: one logit per
/// class, or one per regression target.
pub fn output_size(dataset: &Dataset<f32>) -> usize {
    match dataset.targets() {
        Targets::Classes { n_classes, .. } => *n_classes,
        Targets::Values(values) => values.shape()[1],
    }
}

/// What the metric of a dataset is: accuracy for classes, R² for values.
pub fn metric_name(dataset: &Dataset<f32>) -> &'static str {
    match dataset.targets() {
        Targets::Classes { .. } => "accuracy",
        Targets::Values(_) => "R²",
    }
}

/// The metric formatted for people: a percentage for accuracy.
pub fn format_metric(dataset: &Dataset<f32>, value: f64) -> String {
    match dataset.targets() {
        Targets::Classes { .. } => format!("{:.2}%", 100.0 * value),
        Targets::Values(_) => format!("{value:.4}"),
    }
}

/// Values (rows times the widest layer) computed at once when evaluating:
/// 4M, 16 MB of `f32`, however large the dataset or the class count.
const VALUES_PER_CHUNK: usize = 1 << 22;

/// Rows run through a convolutional network at once: its activations and
/// unfolded windows are hundreds of values per parameter dimension.
const CONV_ROWS_PER_CHUNK: usize = 256;

/// How many rows to run through `model` at once.
fn rows_per_chunk<M: Module<f32> + ?Sized>(model: &M) -> usize {
    let params = model.parameters();
    let widest = params
        .iter()
        .flat_map(|p| p.shape().iter().copied())
        .max()
        .unwrap_or(1);
    let rows = (VALUES_PER_CHUNK / widest.max(1)).max(1);
    if params.iter().any(|p| p.shape().len() == 4) {
        rows.min(CONV_ROWS_PER_CHUNK)
    } else {
        rows
    }
}

/// `model`'s outputs for the rows of `x`, a chunk of rows at a time,
/// each handed to `each` with the index of its first row.
fn predict_in_chunks<M: Module<f32> + ?Sized>(
    model: &M,
    x: &Tensor<f32>,
    mut each: impl FnMut(usize, Tensor<f32>),
) {
    let n = x.shape()[0];
    let chunk = rows_per_chunk(model);
    for start in (0..n).step_by(chunk) {
        let len = chunk.min(n - start);
        each(start, model.predict(&x.narrow(0, start, len)));
    }
}

/// The class `model` predicts for each row of `x`, in bounded memory.
pub fn predict_classes<M: Module<f32> + ?Sized>(model: &M, x: &Tensor<f32>) -> Vec<usize> {
    let mut classes = Vec::with_capacity(x.shape()[0]);
    predict_in_chunks(model, x, |_, out| classes.extend(predicted_classes(&out)));
    classes
}

/// The loss and the metric (accuracy, or R²) of `model` on all of
/// `dataset`, a chunk of rows at a time (memory does not grow with the
/// dataset). The model should be in evaluation mode (see [`evaluate_mut`]).
pub fn evaluate<M: Module<f32> + ?Sized>(model: &M, dataset: &Dataset<f32>) -> (f64, f64) {
    let n = dataset.len().max(1) as f64;
    let (mut loss, mut metric) = (0.0, 0.0);
    match dataset.targets() {
        Targets::Classes { labels, .. } => {
            predict_in_chunks(model, dataset.features(), |start, out| {
                let rows = &labels[start..start + out.shape()[0]];
                let tape = Tape::new();
                let mean = cross_entropy(&tape.constant(&out), rows).item();
                let share = rows.len() as f64 / n;
                loss += f64::from(mean) * share;
                metric += accuracy(&out, rows) * share;
            });
        }
        Targets::Values(values) => {
            let (mut residual, k) = (0.0, values.shape()[1].max(1) as f64);
            predict_in_chunks(model, dataset.features(), |start, out| {
                let rows = out.shape()[0];
                let target = values.narrow(0, start, rows).to_f64_vec();
                residual += out
                    .to_f64_vec()
                    .iter()
                    .zip(&target)
                    .map(|(p, t)| (t - p) * (t - p))
                    .sum::<f64>();
            });
            loss = residual / (n * k);
            let t = values.to_f64_vec();
            let mean = t.iter().sum::<f64>() / t.len().max(1) as f64;
            let total: f64 = t.iter().map(|t| (t - mean) * (t - mean)).sum();
            metric = if total > 0.0 {
                1.0 - residual / total
            } else {
                0.0
            };
        }
    }
    (loss, metric)
}

/// [`evaluate`] in evaluation mode (batch norm on its running statistics,
/// no dropout), then back to training mode, where the training loop keeps
/// the model.
pub fn evaluate_mut<M: Module<f32> + ?Sized>(model: &mut M, dataset: &Dataset<f32>) -> (f64, f64) {
    model.set_training(false);
    let result = evaluate(model, dataset);
    model.set_training(true);
    result
}

/// How the learning rate changes over a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Schedule {
    /// The optimizer's learning rate throughout.
    Constant,
    /// Cosine annealing from the optimizer's learning rate to 0 at the last step.
    Cosine,
}

impl Schedule {
    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Constant => "constant",
            Schedule::Cosine => "cosine",
        }
    }
}

/// How to train.
#[derive(Clone, Debug)]
pub struct FitOptions {
    /// The epochs of the run: the learning-rate schedule spans them.
    pub epochs: usize,
    /// Epochs already done (0, unless the run resumes from a checkpoint
    /// written after that many): training starts after them, with the
    /// schedule and the batch order where the uninterrupted run had them.
    pub start_epoch: usize,
    /// The last epoch to run, when the run stops before `epochs` (as if
    /// interrupted, to be resumed later).
    pub stop_after: Option<usize>,
    pub batch_size: usize,
    pub schedule: Schedule,
    /// Epochs of linear warm-up of the learning rate, before the schedule.
    pub warmup_epochs: usize,
    /// Also evaluate the loss on the whole training set after every this
    /// many steps (between epochs), into [`History::train_loss_by_step`].
    pub eval_every_steps: Option<u64>,
    /// Seeds the order of the mini-batches.
    pub seed: u64,
}

/// The state after an epoch (epoch 0: before training).
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRecord {
    pub epoch: usize,
    /// Optimizer steps taken so far.
    pub steps: u64,
    pub train_loss: f64,
    pub train_metric: f64,
    pub test_loss: f64,
    pub test_metric: f64,
}

/// What a run of [`fit`] recorded.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// One record per epoch, from epoch 0.
    pub records: Vec<EpochRecord>,
    /// The duration of every optimizer step, in seconds.
    pub step_seconds: Vec<f64>,
    /// The optimizer's work (loss evaluations, gradients, HVPs) so far,
    /// after every step of this run (`Optimizer::work`, cumulative).
    pub work_after_step: Vec<Work>,
    /// `(step, training loss)` every `eval_every_steps` steps, from step 0.
    pub train_loss_by_step: Vec<(u64, f64)>,
}

impl History {
    /// The last record (epoch 0 when no epoch ran).
    pub fn last(&self) -> &EpochRecord {
        self.records.last().expect("fit records epoch 0")
    }

    /// The first step after which the training loss is at most `target`,
    /// as finely as it was evaluated (every `eval_every_steps`, or every epoch).
    pub fn steps_to(&self, target: f64) -> Option<u64> {
        let by_epoch = self.records.iter().map(|r| (r.steps, r.train_loss));
        let mut evaluated: Vec<(u64, f64)> = self
            .train_loss_by_step
            .iter()
            .copied()
            .chain(by_epoch)
            .collect();
        evaluated.sort_by_key(|&(step, _)| step);
        evaluated
            .into_iter()
            .find(|&(_, loss)| loss <= target)
            .map(|(step, _)| step)
    }
}

/// Trains `model` on `train` with `optimizer` for `options.epochs` epochs
/// of shuffled mini-batches (from `options.start_epoch`, up to
/// `options.stop_after`), evaluating on `train` and `test` after each
/// epoch and calling `on_epoch` with the record. A failed step (a loss
/// that is not finite: the learning rate is too large) stops training with
/// its error.
///
/// A run resumed at epoch `k` (with the optimizer state and the model
/// saved after epoch `k`) takes the steps of the uninterrupted run bit for
/// bit: the schedule is indexed by the step within the whole run, and the
/// batch orders of the first `k` epochs are drawn and skipped.
pub fn fit<M: Module<f32> + ?Sized, O: Optimizer<f32>>(
    model: &mut M,
    optimizer: &mut O,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
    options: &FitOptions,
    mut on_epoch: impl FnMut(&EpochRecord),
) -> Result<History, OptimError> {
    let mut rng = seeded_rng(options.seed);
    for _ in 0..options.start_epoch {
        let _skipped = train.batches(options.batch_size, &mut rng);
    }
    let steps_per_epoch = train.len().div_ceil(options.batch_size) as u64;
    // Saturating: `--epochs` and `--warmup` are flags, and must not overflow.
    let total = (options.epochs as u64)
        .saturating_mul(steps_per_epoch)
        .max(1);
    let warmup = (options.warmup_epochs as u64)
        .saturating_mul(steps_per_epoch)
        .min(total - 1);
    let base_lr = optimizer.learning_rate();
    let schedule: Box<dyn LrSchedule> = match options.schedule {
        Schedule::Constant => Box::new(Constant::new(base_lr)?),
        Schedule::Cosine => Box::new(CosineAnnealing::new(base_lr, 0.0, total - warmup)?),
    };
    let schedule = if warmup > 0 {
        Box::new(LinearWarmup::new(schedule, warmup, 1.0 / warmup as f64)?)
    } else {
        schedule
    };
    let mut history = History::default();
    let record = |model: &mut M, epoch: usize, steps: u64| {
        let (train_loss, train_metric) = evaluate_mut(model, train);
        let (test_loss, test_metric) = evaluate_mut(model, test);
        EpochRecord {
            epoch,
            steps,
            train_loss,
            train_metric,
            test_loss,
            test_metric,
        }
    };
    // Steps within the whole run, resumed or not.
    let mut steps = options.start_epoch as u64 * steps_per_epoch;
    history
        .records
        .push(record(model, options.start_epoch, steps));
    if options.eval_every_steps.is_some() {
        history
            .train_loss_by_step
            .push((steps, history.records[0].train_loss));
    }
    let last_epoch = options.stop_after.unwrap_or(options.epochs);
    for epoch in options.start_epoch + 1..=last_epoch {
        for (x, targets) in train.batches(options.batch_size, &mut rng) {
            optimizer.set_learning_rate(schedule.lr_at(steps))?;
            let start = Instant::now();
            optimizer.step(model, |model, tape, params| {
                batch_loss(model, tape, params, &x, &targets)
            })?;
            history.step_seconds.push(start.elapsed().as_secs_f64());
            history.work_after_step.push(optimizer.work());
            steps += 1;
            if options
                .eval_every_steps
                .is_some_and(|k| steps % k.max(1) == 0)
            {
                history
                    .train_loss_by_step
                    .push((steps, evaluate_mut(model, train).0));
            }
        }
        let r = record(model, epoch, steps);
        on_epoch(&r);
        history.records.push(r);
    }
    Ok(history)
}
