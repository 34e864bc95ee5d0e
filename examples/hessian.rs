//! The Hessian of a model's loss over its whole training set, at
//! initialisation and after training: the top eigenvalues (Lanczos), the
//! trace (Hutchinson), the spectral density (stochastic Lanczos
//! quadrature), per-layer figures, the top eigenvalues after every epoch,
//! and the loss along the top eigenvectors, with an SVG of it all.
//!
//! The model trains in `f32` (Adam); the analyses run on an `f64` copy,
//! with the Hessian averaged over batches of the training set.
//!
//! ```text
//! cargo run --release --example hessian
//! cargo run --release --example hessian -- --dataset spirals --hidden 32,32 --epochs 30
//! ```

use crate::support;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use curvature::analysis::{
    hutchinson_trace, layer_curvature, loss_landscape_1d, loss_landscape_2d, spectral_density,
    top_eigenvalues, AnalysisError, DensityOptions, EigenOptions, Eigenpairs, HessianOperator,
    Landscape1d, Landscape2d, LayerCurvature, SpectralDensity, SymmetricOperator, TraceEstimate,
    TraceOptions,
};
use curvature::autograd::{Parameters, Tape, Tensor, Var};
use curvature::nn::data::{Dataset, Targets};
use curvature::nn::{cross_entropy, mse_loss, Activation, Mlp, Module};
use curvature::optim::{Adam, AdamConfig};
use indicatif::{ProgressBar, ProgressStyle};

use support::data::{self, DatasetName, ToyOptions};
use support::fit::{self, FitOptions, Schedule};
use support::{BoxError, Seeds};

mod figure;

/// Hessian eigenvalues, trace, spectral density and loss landscapes of an
/// MLP's training loss, before and after training.
#[derive(Parser, Debug, Clone)]
#[command(name = "hessian", version, allow_negative_numbers = true)]
pub struct Args {
    /// A dataset name (as for `train`) or a CSV file.
    #[arg(long, default_value = "digits")]
    pub dataset: DatasetName,
    /// Hidden layer widths, e.g. 32,32.
    #[arg(long, value_delimiter = ',', default_value = "32")]
    pub hidden: Vec<usize>,
    /// Training epochs (Adam, cosine schedule).
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Examples per training step.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Rows per batch of the Hessian over the training set.
    #[arg(long, default_value_t = 512)]
    pub hessian_batch: usize,
    /// How many top eigenvalues to find.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// The relative tolerance of the eigenvalues and the trace.
    #[arg(long, default_value_t = 1e-3)]
    pub tolerance: f64,
    /// Lanczos steps per start vector of the spectral density.
    #[arg(long, default_value_t = 80)]
    pub slq_steps: usize,
    /// Start vectors of the spectral density.
    #[arg(long, default_value_t = 2)]
    pub slq_vectors: usize,
    /// Points along each axis of the loss landscapes.
    #[arg(long, default_value_t = 21)]
    pub landscape_points: usize,
    /// Seeds the data split, the initial weights, the batches and the analyses.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the SVG figure.
    #[arg(long, default_value = "hessian.svg")]
    pub output: PathBuf,
}

/// Everything measured at one point of training.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub label: String,
    pub loss: f64,
    pub top: Eigenpairs,
    pub trace: TraceEstimate,
    pub density: SpectralDensity,
    pub layers: Vec<LayerCurvature>,
    pub line: Landscape1d,
    pub plane: Landscape2d,
    /// Wall time of each analysis, in seconds, with its name.
    pub seconds: Vec<(&'static str, f64)>,
    /// The products the analyses spent, and their rate.
    pub hvps: u64,
    pub hvps_per_second: f64,
}

/// What a run found.
#[derive(Clone, Debug)]
pub struct Report {
    pub parameters: usize,
    pub initial: Snapshot,
    pub trained: Snapshot,
    /// The top eigenvalues after each epoch (epoch 0: initialisation).
    pub eigenvalues_by_epoch: Vec<Vec<f64>>,
    pub seconds: f64,
}

/// The program on `args` (its name first), with errors to `stderr`.
pub fn main(args: impl IntoIterator<Item = OsString>, stderr: &mut dyn Write) -> u8 {
    support::main_with(args, stderr, |args: &Args| {
        run(args, &mut std::io::stdout().lock()).map(|_| ())
    })
}

/// One analysis batch: inputs, and class labels or target values.
type Batch = (Tensor<f64>, Targets<f64>);

fn batch_loss(model: &Mlp<f64>, tape: &Tape<f64>, p: &[Var<f64>], (x, y): &Batch) -> Var<f64> {
    let out = model.forward(p, &tape.constant(x));
    match y {
        Targets::Classes { labels, .. } => cross_entropy(&out, labels),
        Targets::Values(values) => mse_loss(&out, &tape.constant(values)),
    }
}

/// The training set in batches of `rows`, in `f64`.
fn analysis_batches(train: &Dataset<f32>, rows: usize) -> Vec<Batch> {
    let n = train.len();
    (0..n.div_ceil(rows))
        .map(|b| {
            let (start, len) = (b * rows, rows.min(n - b * rows));
            let x = train.features().narrow(0, start, len).cast::<f64>();
            let y = match train.targets() {
                Targets::Classes { labels, n_classes } => Targets::Classes {
                    labels: labels[start..start + len].to_vec(),
                    n_classes: *n_classes,
                },
                Targets::Values(v) => Targets::Values(v.narrow(0, start, len).cast::<f64>()),
            };
            (x, y)
        })
        .collect()
}

/// The rows of each batch: weighing the batches by them makes the
/// operator the Hessian of the mean loss over all rows (the last batch is
/// smaller).
fn batch_sizes(batches: &[Batch]) -> Vec<f64> {
    batches.iter().map(|(x, _)| x.shape()[0] as f64).collect()
}

/// An `f64` copy of an `f32` model.
fn to_f64(model: &Mlp<f32>) -> Mlp<f64> {
    let mut copy = Mlp::<f64>::new(&model.sizes(), model.activation(), 0);
    for (dst, src) in copy.parameters_mut().into_iter().zip(model.parameters()) {
        *dst = src.cast::<f64>();
    }
    copy
}

/// An operator that ticks a progress bar at every product.
struct Ticking<'o, O> {
    op: &'o O,
    bar: &'o ProgressBar,
}

impl<O: SymmetricOperator> SymmetricOperator for Ticking<'_, O> {
    fn dim(&self) -> usize {
        self.op.dim()
    }

    fn apply(&self, v: &[f64]) -> Result<Vec<f64>, AnalysisError> {
        let hv = self.op.apply(v);
        self.bar.inc(1);
        hv
    }
}

fn check(args: &Args) -> Result<(), BoxError> {
    let positive = [
        ("--batch-size", args.batch_size),
        ("--hessian-batch", args.hessian_batch),
        ("--top-k", args.top_k),
        ("--slq-steps", args.slq_steps),
        ("--slq-vectors", args.slq_vectors),
    ];
    for (flag, value) in positive {
        if value == 0 {
            return Err(format!("{flag} must be at least 1").into());
        }
    }
    if args.landscape_points < 2 {
        return Err("--landscape-points must be at least 2".into());
    }
    if !(args.lr > 0.0 && args.lr.is_finite()) {
        return Err(format!("--lr {} must be a positive number", args.lr).into());
    }
    if args.hidden.contains(&0) {
        return Err("--hidden sizes must be at least 1".into());
    }
    Ok(())
}

/// Trains the model, analyses it before and after, prints the figures to
/// `out` and draws the SVG.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Report, BoxError> {
    let started = Instant::now();
    let figure_path = support::check_output(&args.output)?;
    check(args)?;
    let seeds = Seeds::new(args.seed);
    let toy = ToyOptions::from_flags(&args.dataset, None, None, None, seeds.data)?;
    let dataset = data::load(&args.dataset, &toy, false)?;
    let prepared = data::prepare(&dataset, 0.2, seeds.split)?;
    let mut sizes = vec![prepared.train.n_features()];
    sizes.extend(&args.hidden);
    sizes.push(fit::output_size(&prepared.train));
    support::check_model_size(&sizes)?;
    let mut model = Mlp::<f32>::new(&sizes, Activation::Tanh, seeds.init);
    let parameters = model.parameter_count();
    let batches = analysis_batches(&prepared.train, args.hessian_batch);
    writeln!(
        out,
        "MLP {sizes:?} (tanh, {parameters} parameters) on {} ({} training rows); \
         the Hessian of the mean training loss over {} batches, in f64",
        args.dataset,
        prepared.train.len(),
        batches.len()
    )?;
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {pos} HVPs [{elapsed}] {msg}")
            .expect("a valid template"),
    );
    let eigen = EigenOptions {
        tolerance: args.tolerance,
        seed: seeds.optimizer,
        ..Default::default()
    };

    let initial = analyse("at initialisation", &model, &batches, args, &eigen, &bar)?;
    print_snapshot(out, &initial)?;

    let mut adam = Adam::new(AdamConfig {
        lr: args.lr,
        ..Default::default()
    })?;
    let mut eigenvalues_by_epoch = vec![initial.top.values.clone()];
    for epoch in 1..=args.epochs {
        bar.set_message(format!("epoch {epoch}"));
        let options = FitOptions {
            epochs: args.epochs,
            start_epoch: epoch - 1,
            stop_after: Some(epoch),
            batch_size: args.batch_size,
            schedule: Schedule::Cosine,
            warmup_epochs: 0,
            eval_every_steps: None,
            seed: seeds.batches,
        };
        let history = fit::fit(
            &mut model,
            &mut adam,
            &prepared.train,
            &prepared.test,
            &options,
            |_| {},
        )?;
        let model64 = to_f64(&model);
        let loss = |t: &Tape<f64>, p: &[Var<f64>], b: &Batch| batch_loss(&model64, t, p, b);
        let op = HessianOperator::new(&model64, loss, &batches)?
            .with_batch_weights(&batch_sizes(&batches))?;
        let top = top_eigenvalues(&Ticking { op: &op, bar: &bar }, args.top_k, &eigen)?;
        let r = history.last();
        bar.suspend(|| {
            writeln!(
                out,
                "epoch {epoch:>3}: train loss {:.4}, test {} {}; top eigenvalues {}",
                r.train_loss,
                fit::metric_name(&prepared.train),
                fit::format_metric(&prepared.train, r.test_metric),
                join(&top.values)
            )
        })?;
        eigenvalues_by_epoch.push(top.values);
    }

    let trained = analyse("after training", &model, &batches, args, &eigen, &bar)?;
    bar.finish_and_clear();
    print_snapshot(out, &trained)?;
    let report = Report {
        parameters,
        initial,
        trained,
        eigenvalues_by_epoch,
        seconds: started.elapsed().as_secs_f64(),
    };
    figure::draw(&args.output, &report)?;
    writeln!(out, "total {:.1} s", report.seconds)?;
    writeln!(out, "figure: {}", figure_path.display())?;
    Ok(report)
}

fn join(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.4}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every analysis on the model as it is.
fn analyse(
    label: &str,
    model: &Mlp<f32>,
    batches: &[Batch],
    args: &Args,
    eigen: &EigenOptions,
    bar: &ProgressBar,
) -> Result<Snapshot, BoxError> {
    bar.set_message(label.to_string());
    let model64 = to_f64(model);
    let loss = |t: &Tape<f64>, p: &[Var<f64>], b: &Batch| batch_loss(&model64, t, p, b);
    let op =
        HessianOperator::new(&model64, loss, batches)?.with_batch_weights(&batch_sizes(batches))?;
    let ticking = Ticking { op: &op, bar };
    let mut seconds = Vec::new();
    let mut timed = |name, start: Instant| seconds.push((name, start.elapsed().as_secs_f64()));
    let analyses = Instant::now();

    let start = Instant::now();
    let top = top_eigenvalues(&ticking, args.top_k, eigen)?;
    timed("top eigenvalues (Lanczos)", start);
    let start = Instant::now();
    let trace_options = TraceOptions {
        tolerance: args.tolerance,
        seed: eigen.seed,
        ..Default::default()
    };
    let trace = hutchinson_trace(&ticking, &trace_options)?;
    timed("trace (Hutchinson)", start);
    let start = Instant::now();
    let density_options = DensityOptions {
        steps: args.slq_steps,
        vectors: args.slq_vectors,
        seed: eigen.seed,
    };
    let density = spectral_density(&ticking, &density_options)?;
    timed("spectral density (SLQ)", start);
    let start = Instant::now();
    let layers = layer_curvature(&op, eigen, &trace_options)?;
    bar.inc(layers.iter().map(|l| l.hvps).sum());
    timed("per layer", start);
    let hvps = op.hvp_count() + layers.iter().map(|l| l.hvps).sum::<u64>();
    let hvp_seconds = analyses.elapsed().as_secs_f64();

    // the landscapes: a step of 1 moves the parameters by 1 along a unit eigenvector
    let n = args.landscape_points;
    let radius = 1.0;
    let steps: Vec<f64> = (0..n)
        .map(|i| -radius + 2.0 * radius * i as f64 / (n - 1) as f64)
        .collect();
    let start = Instant::now();
    let line = loss_landscape_1d(&op, &top.vectors[0], &steps)?;
    timed("1-D landscape", start);
    let start = Instant::now();
    let second = top.vectors.get(1).unwrap_or(&top.vectors[0]);
    let plane = loss_landscape_2d(&op, &top.vectors[0], second, &steps, &steps)?;
    timed("2-D landscape", start);
    Ok(Snapshot {
        label: label.to_string(),
        loss: op.loss()?,
        top,
        trace,
        density,
        layers,
        line,
        plane,
        seconds,
        hvps,
        hvps_per_second: hvps as f64 / hvp_seconds,
    })
}

fn print_snapshot(out: &mut dyn Write, s: &Snapshot) -> Result<(), BoxError> {
    writeln!(out, "{}: training loss {:.4}", s.label, s.loss)?;
    writeln!(
        out,
        "  top {} eigenvalues ({} HVPs): {}",
        s.top.values.len(),
        s.top.hvps,
        join(&s.top.values)
    )?;
    writeln!(
        out,
        "  trace {:.4} ± {:.4} (standard error, {} HVPs)",
        s.trace.estimate, s.trace.std_error, s.trace.hvps
    )?;
    let (lo, hi) = s.density.range();
    writeln!(
        out,
        "  spectral density: {} start vectors, nodes from {lo:.4} to {hi:.4} ({} HVPs)",
        s.density.nodes.len(),
        s.density.hvps
    )?;
    writeln!(
        out,
        "  {:<10} {:>8} {:>15} {:>20}",
        "layer", "size", "top eigenvalue", "trace"
    )?;
    for l in &s.layers {
        writeln!(
            out,
            "  {:<10} {:>8} {:>15.4} {:>11.4} ± {:<6.4}",
            l.name, l.len, l.top_eigenvalue, l.trace, l.trace_std_error
        )?;
    }
    let timing: Vec<String> = s
        .seconds
        .iter()
        .map(|(name, t)| format!("{name} {t:.2} s"))
        .collect();
    writeln!(
        out,
        "  {} HVPs at {:.0} per second; {}",
        s.hvps,
        s.hvps_per_second,
        timing.join(", ")
    )?;
    Ok(())
}
