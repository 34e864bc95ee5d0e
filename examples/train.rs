//! The main job: train an MLP on a toy or real dataset (or a CNN on the
//! digits) with any of the optimizers, show progress, print the final
//! metrics and the time, and draw the loss curves (and, in 2-D, the
//! decision regions; for the CNN, its learned first-layer filters and the
//! misclassified test digits) as SVG.
//!
//! ```text
//! cargo run --release --example train -- --dataset spirals --optimizer adahessian
//! cargo run --release --example train -- --dataset digits --optimizer adam
//! cargo run --release --example train -- --dataset digits --model cnn
//! cargo run --release --example train -- --dataset my_data.csv --header --hidden 64,64
//! cargo run --release --example train -- --dataset iris --save target/iris.safetensors
//! cargo run --release --example train -- --dataset iris --load target/iris.safetensors --epochs 0
//! cargo run --release --example train -- --help
//! ```

use crate::support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use curvature::autograd::{Parameters, Tensor};
use curvature::nn::data::{Dataset, Targets};
use curvature::nn::{Activation, Mlp, Module, Sequential};
use curvature::optim::{OptimError, Optimizer};
use indicatif::{ProgressBar, ProgressStyle};

use support::checkpoint;
use support::data::{self, DatasetName, ToyOptions};
use support::fit::{self, EpochRecord, FitOptions, History, Schedule};
use support::model::{self, ModelKind};
use support::optimizers::{self, parse_pair, Hyperparameters, OptimizerKind};
use support::plot::{self, LabelledPoint, Series};
use support::{BoxError, Seeds};

/// Train an MLP and plot its loss curves (flags without a value take a
/// default suited to the dataset).
#[derive(Parser, Debug, Clone)]
#[command(name = "train", version, allow_negative_numbers = true)]
pub struct Args {
    /// moons, spirals, circles, xor, blobs, sine (regression), iris, wine,
    /// breast-cancer, digits, or a CSV file: features, then an integer
    /// class label in the last column.
    #[arg(long, default_value = "spirals")]
    pub dataset: DatasetName,
    /// The CSV file's first line holds column names.
    #[arg(long)]
    pub header: bool,
    /// Points to generate (toy datasets).
    #[arg(long)]
    pub points: Option<usize>,
    /// Noise of the toy datasets (standard deviation).
    #[arg(long)]
    pub noise: Option<f64>,
    /// Spiral arms or blob centers.
    #[arg(long)]
    pub classes: Option<usize>,
    /// Fraction of the data held out for testing.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,

    /// The optimizer (names are case-insensitive, as for --dataset).
    #[arg(long, value_enum, ignore_case = true, default_value_t = OptimizerKind::AdaHessian)]
    pub optimizer: OptimizerKind,
    /// Learning rate [default: sgd 0.1, adam and adamw 0.01, adahessian
    /// 0.15; --model cnn: adam and adamw 0.003].
    #[arg(long)]
    pub lr: Option<f64>,
    /// SGD momentum [default: 0.9].
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Weight decay [default: adamw 0.01, others 0].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Moment decay rates, e.g. 0.9,0.999 (adam, adamw, adahessian).
    #[arg(long, value_parser = parse_pair)]
    pub betas: Option<(f64, f64)>,
    /// Denominator epsilon (adam, adamw, adahessian).
    #[arg(long)]
    pub eps: Option<f64>,
    /// Power of the Hessian diagonal in AdaHessian's denominator, in (0, 1].
    #[arg(long)]
    pub hessian_power: Option<f64>,
    /// Refresh AdaHessian's Hessian estimate every N steps.
    #[arg(long)]
    pub update_each: Option<usize>,
    /// Rademacher draws per AdaHessian Hessian estimate.
    #[arg(long)]
    pub n_samples: Option<usize>,

    /// The model: an MLP, or the digits CNN (--dataset digits only: 1x8x8
    /// images, conv3x3(16) batch-norm ReLU, conv3x3(32) batch-norm ReLU,
    /// max-pool 2, linear; 30 epochs of batch 32 by default).
    #[arg(long, value_enum, ignore_case = true, default_value_t = ModelKind::Mlp)]
    pub model: ModelKind,
    /// Hidden layer widths, e.g. 64,64 [default: 32,32 for the toy
    /// datasets, 16 for iris, wine, breast-cancer and CSV files, 64 for digits].
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// tanh, relu, gelu, sigmoid, softplus or identity [default: tanh,
    /// or the --load'ed model's].
    #[arg(long)]
    pub activation: Option<Activation>,
    /// Passes over the training set [default: the dataset's, 30 to 60; with
    /// --resume, the saved run's]. With --load, 0 only evaluates the model.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Learning-rate schedule over the run.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Schedule::Cosine)]
    pub schedule: Schedule,
    /// Epochs of linear learning-rate warm-up (it keeps AdaHessian's and
    /// Adam's first steps, taken with little curvature history, small).
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Examples per step [default: 32 for the toy datasets, 16 for iris,
    /// wine, breast-cancer and CSV files, 64 for digits].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Seeds the data, the split, the initial weights, the batches and
    /// AdaHessian's draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Threads of the tensor kernels (default: the CPUs available, or
    /// CURVATURE_NUM_THREADS).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Where to write the SVG figure (checked before training; the log
    /// ends with its full path).
    #[arg(long, default_value = "train.svg")]
    pub output: PathBuf,
    /// No per-epoch progress: the setup and the final results only.
    #[arg(long)]
    pub quiet: bool,

    /// Write the trained model to FILE (safetensors, PyTorch state_dict
    /// names), its optimizer state beside it in FILE.optim.safetensors and
    /// its standardiser in FILE.scaler.safetensors (a .safetensors
    /// extension is replaced).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Start from the model that --save wrote to FILE: its architecture,
    /// weights and standardiser, with a fresh optimizer (see --resume).
    #[arg(long, value_name = "FILE")]
    pub load: Option<PathBuf>,
    /// With --load: resume the saved run where it stopped, with its
    /// optimizer state, schedule and batch order, exactly as if it had not
    /// stopped. Give the saved run's flags again.
    #[arg(long)]
    pub resume: bool,
    /// Stop after this epoch, as if interrupted: the schedule still spans
    /// --epochs, and --save writes a checkpoint that --resume continues.
    #[arg(long, value_name = "EPOCH")]
    pub stop_after: Option<usize>,
}

/// What a run reached.
#[derive(Clone, Debug)]
pub struct TrainReport {
    /// `accuracy` or `R²`.
    pub metric: &'static str,
    pub history: History,
    pub seconds: f64,
}

impl TrainReport {
    /// The state after the last epoch.
    pub fn last(&self) -> &EpochRecord {
        self.history.last()
    }
}

/// The program on `args` (its name first), with errors to `stderr`:
/// returns the exit code. The `main` of `examples/bin/train.rs`.
pub fn main(args: impl IntoIterator<Item = OsString>, stderr: &mut dyn Write) -> u8 {
    support::main_with(args, stderr, |args: &Args| {
        let interactive = std::io::stderr().is_terminal();
        run(args, interactive, &mut std::io::stdout().lock()).map(|_| ())
    })
}

/// Trains as `args` say, writing the log to `out`: with `interactive`,
/// progress is a bar on stderr; otherwise one line per epoch on `out`.
pub fn run(args: &Args, interactive: bool, out: &mut dyn Write) -> Result<TrainReport, BoxError> {
    if let Some(threads) = args.threads {
        if threads == 0 {
            return Err("--threads must be at least 1".into());
        }
        curvature::autograd::set_num_threads(threads)?;
    }
    let figure = support::check_output(&args.output)?;
    let seeds = Seeds::new(args.seed);
    let cnn = args.model == ModelKind::Cnn;
    if cnn {
        model::check_cnn_flags(
            &args.dataset,
            args.hidden.is_some() || args.activation.is_some(),
            args.save.is_some() || args.load.is_some(),
        )?;
    }
    let recipe = if cnn {
        model::cnn_recipe(args.dataset.recipe())
    } else {
        args.dataset.recipe()
    };
    let toy = ToyOptions::from_flags(
        &args.dataset,
        args.points,
        args.noise,
        args.classes,
        seeds.data,
    )?;
    let dataset = data::load(&args.dataset, &toy, args.header)?;
    let checkpoint = args.load.as_deref().map(checkpoint::Paths::beside);
    if args.resume && checkpoint.is_none() {
        return Err("--resume needs --load FILE (a checkpoint written by --save)".into());
    }
    let saved = checkpoint
        .as_ref()
        .map(checkpoint::read_record)
        .transpose()?;
    let mut prepared = data::prepare(&dataset, args.test_fraction, seeds.split)?;
    if let Some(paths) = &checkpoint {
        let scaler = checkpoint::read_scaler(paths)?;
        checkpoint::check_scaler(paths, &scaler, &dataset, &args.dataset)?;
        if args.resume && !checkpoint::same_scaler(&scaler, &prepared.scaler) {
            return Err(format!(
                "{}: the standardiser differs from the one fitted on this run's training set: \
                 resume with the saved run's --dataset, --seed and --test-fraction",
                paths.scaler.display()
            )
            .into());
        }
        prepared = checkpoint::with_scaler(prepared, scaler);
    }
    let (train, test) = (&prepared.train, &prepared.test);

    let hidden = args
        .hidden
        .clone()
        .or_else(|| saved.as_ref().map(checkpoint::RunRecord::hidden))
        .unwrap_or_else(|| recipe.hidden.clone());
    let sizes: Vec<usize> = std::iter::once(dataset.n_features())
        .chain(hidden)
        .chain(std::iter::once(fit::output_size(&dataset)))
        .collect();
    support::check_model_size(&sizes)?;
    let activation = match (args.activation, &saved) {
        (Some(asked), Some(saved)) if asked != saved.activation => {
            return Err(format!(
                "{}: the model was saved with --activation {}, not {asked}",
                checkpoint
                    .as_ref()
                    .map_or(PathBuf::new(), |p| p.model.clone())
                    .display(),
                saved.activation
            )
            .into())
        }
        (Some(asked), _) => asked,
        (None, Some(saved)) => saved.activation,
        (None, None) => Activation::Tanh,
    };
    let mut model = if cnn {
        Model::Cnn(model::digits_cnn(seeds.init, fit::output_size(&dataset)))
    } else {
        let mut mlp = Mlp::<f32>::try_new(&sizes, activation, seeds.init)?;
        if let (Some(paths), Some(saved)) = (&checkpoint, &saved) {
            checkpoint::load_model(paths, saved, &mut mlp, &args.dataset)?;
        }
        Model::Mlp(mlp)
    };
    let hyper = Hyperparameters {
        lr: args
            .lr
            .or_else(|| cnn.then(|| model::cnn_default_lr(args.optimizer))),
        momentum: args.momentum,
        weight_decay: args.weight_decay,
        betas: args.betas,
        eps: args.eps,
        hessian_power: args.hessian_power,
        update_each: args.update_each,
        n_samples: args.n_samples,
    };
    let mut optimizer = optimizers::build(args.optimizer, &hyper, model.module(), seeds.optimizer)?;
    let settings = run_settings(args, &toy, &sizes, activation, &*optimizer, &recipe);
    let start_epoch = match (&saved, args.resume) {
        (Some(saved), true) => saved.epoch,
        _ => 0,
    };
    let epochs = match (args.epochs, &saved) {
        // --epochs 0 with --load: evaluate only.
        (Some(0), Some(_)) => 0,
        (Some(epochs), _) => positive("--epochs", epochs)?,
        (None, Some(saved)) if args.resume => saved.epochs,
        (None, _) => recipe.epochs,
    };
    if let (Some(paths), Some(saved), true) = (&checkpoint, &saved, args.resume) {
        checkpoint::check_settings(paths, saved, &settings)?;
        if epochs != 0 && epochs < start_epoch {
            return Err(format!(
                "--epochs {epochs} is before the saved run's epoch {start_epoch} \
                 (with --resume, --epochs counts the whole run)"
            )
            .into());
        }
        checkpoint::restore_optimizer(paths, saved, &mut *optimizer)?;
    }
    let evaluate_only = epochs == 0;
    let stop_after = match args.stop_after {
        Some(stop) if evaluate_only || stop <= start_epoch || stop > epochs => {
            return Err(format!(
                "--stop-after {stop} must be after epoch {start_epoch}, where the run starts, \
                 and at most --epochs {epochs}"
            )
            .into())
        }
        stop => stop,
    };
    let options = FitOptions {
        epochs,
        start_epoch: if evaluate_only { 0 } else { start_epoch },
        stop_after,
        batch_size: positive("--batch-size", args.batch_size.unwrap_or(recipe.batch_size))?,
        schedule: args.schedule,
        warmup_epochs: args.warmup,
        eval_every_steps: None,
        seed: seeds.batches,
    };

    writeln!(out, "dataset    {}: {}", args.dataset, describe(&dataset))?;
    writeln!(
        out,
        "split      {} train, {} test (standardised on train)",
        train.len(),
        test.len()
    )?;
    match &model {
        Model::Mlp(mlp) => writeln!(
            out,
            "model      MLP {sizes:?}, {activation}, {} parameters",
            mlp.parameter_count()
        )?,
        Model::Cnn(net) => writeln!(
            out,
            "model      CNN {}, {} parameters",
            model::DIGITS_CNN,
            net.parameter_count()
        )?,
    }
    writeln!(out, "optimizer  {optimizer}")?;
    if let (Some(path), Some(saved)) = (&args.load, &saved) {
        writeln!(
            out,
            "loaded     {} (epoch {} of {}, {} steps){}",
            path.display(),
            saved.epoch,
            saved.epochs,
            saved.step,
            if args.resume {
                ", resuming with its optimizer state"
            } else {
                ""
            }
        )?;
    }
    let last_epoch = options.stop_after.unwrap_or(options.epochs);
    if evaluate_only {
        writeln!(
            out,
            "training   none (--epochs 0: evaluating the loaded model)"
        )?;
    } else if options.start_epoch >= last_epoch {
        writeln!(
            out,
            "training   none (the saved run has done its {} epochs)",
            options.epochs
        )?;
    } else {
        let epochs = if options.start_epoch > 0 || last_epoch < options.epochs {
            format!(
                "epochs {} to {last_epoch} of {}",
                options.start_epoch + 1,
                options.epochs
            )
        } else {
            format!("{} epochs", options.epochs)
        };
        writeln!(
            out,
            "training   {epochs}, batch size {}, {} learning rate after {} warm-up epoch(s), seed {}",
            options.batch_size,
            options.schedule.name(),
            options.warmup_epochs,
            args.seed
        )?;
    }

    let metric = fit::metric_name(train);
    let bar = (interactive && !args.quiet)
        .then(|| progress_bar(last_epoch.saturating_sub(options.start_epoch)));
    let start = Instant::now();
    let history = {
        let mut log_error = Ok(());
        let history = fit::fit(
            model.module_mut(),
            &mut optimizer,
            train,
            test,
            &options,
            |r| {
                let test_metric = fit::format_metric(test, r.test_metric);
                if let Some(bar) = &bar {
                    bar.set_message(format!(
                        "train loss {:.4}, test {metric} {test_metric}",
                        r.train_loss
                    ));
                    bar.inc(1);
                } else if !args.quiet && log_error.is_ok() {
                    log_error = writeln!(
                    out,
                    "epoch {:>4}  train loss {:.4}  test loss {:.4}  test {metric} {test_metric}",
                    r.epoch, r.train_loss, r.test_loss
                );
                }
            },
        );
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        log_error?;
        history.map_err(|e| format!("training stopped: {e}{}", divergence_hint(args, &e)))?
    };
    let seconds = start.elapsed().as_secs_f64();

    let last = history.last();
    writeln!(
        out,
        "final      train loss {:.4}  train {metric} {}",
        last.train_loss,
        fit::format_metric(train, last.train_metric)
    )?;
    writeln!(
        out,
        "final      test loss {:.4}  test {metric} {}",
        last.test_loss,
        fit::format_metric(test, last.test_metric)
    )?;
    writeln!(
        out,
        "time       {seconds:.2} s ({} steps, median {:.3} ms per step)",
        last.steps,
        1e3 * support::median(&history.step_seconds)
    )?;

    if let (Some(path), Model::Mlp(model)) = (&args.save, &model) {
        let paths = checkpoint::Paths::beside(path);
        let record = checkpoint::RunRecord {
            sizes: sizes.clone(),
            activation,
            epoch: last.epoch,
            epochs: if evaluate_only {
                last.epoch
            } else {
                options.epochs
            },
            step: optimizer.step_count(),
            settings,
        };
        checkpoint::save(&paths, model, &*optimizer, &prepared.scaler, &record)?;
        writeln!(
            out,
            "saved      {} (with {} and {})",
            paths.model.display(),
            paths.optimizer.display(),
            paths.scaler.display()
        )?;
    }

    model.module_mut().set_training(false);
    draw(args, &prepared, &model, &history)?;
    writeln!(out, "figure     {}", figure.display())?;
    Ok(TrainReport {
        metric,
        history,
        seconds,
    })
}

/// The model being trained.
enum Model {
    Mlp(Mlp<f32>),
    Cnn(Sequential<f32>),
}

impl Model {
    fn module(&self) -> &dyn Module<f32> {
        match self {
            Self::Mlp(m) => m,
            Self::Cnn(m) => m,
        }
    }

    fn module_mut(&mut self) -> &mut dyn Module<f32> {
        match self {
            Self::Mlp(m) => m,
            Self::Cnn(m) => m,
        }
    }
}

/// What to try when training stopped on `error`: a smaller learning rate
/// when the loss or a gradient overflowed, unless a hyperparameter that
/// diverges at any learning rate is the cause; nothing for other errors.
fn divergence_hint(args: &Args, error: &OptimError) -> String {
    if !matches!(
        error,
        OptimError::NonFiniteLoss { .. } | OptimError::NonFinite { .. }
    ) {
        return String::new();
    }
    match args.momentum {
        Some(m) if m >= 1.0 => format!(
            " (--momentum {m} is at least 1: the momentum grows without bound at any \
             learning rate; use a value below 1)"
        ),
        _ => " (try a smaller --lr)".to_string(),
    }
}

/// `value`, unless it is 0.
fn positive(flag: &str, value: usize) -> Result<usize, BoxError> {
    if value == 0 {
        return Err(format!("{flag} must be at least 1").into());
    }
    Ok(value)
}

/// The settings that decide a run's course, by flag, as a checkpoint
/// records them: a resumed run must have the same.
fn run_settings(
    args: &Args,
    toy: &ToyOptions,
    sizes: &[usize],
    activation: Activation,
    optimizer: &dyn Optimizer<f32>,
    recipe: &data::Recipe,
) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::new();
    let mut set = |flag: &str, value: String| settings.insert(format!("--{flag}"), value);
    set("dataset", args.dataset.to_string());
    if args.dataset.is_toy() {
        set("points", toy.points.to_string());
        set("noise", toy.noise.to_string());
    }
    if args.dataset.has_class_count() {
        set("classes", toy.classes.to_string());
    }
    set("header", args.header.to_string());
    set("test-fraction", args.test_fraction.to_string());
    set("seed", args.seed.to_string());
    let hidden: Vec<String> = sizes[1..sizes.len() - 1]
        .iter()
        .map(usize::to_string)
        .collect();
    set("hidden", hidden.join(","));
    set("activation", activation.to_string());
    set("optimizer", optimizer.to_string());
    let batch_size = args.batch_size.unwrap_or(recipe.batch_size);
    set("batch-size", batch_size.to_string());
    set("schedule", args.schedule.name().to_string());
    set("warmup", args.warmup.to_string());
    settings
}

/// `150 examples, 4 features, 3 classes` or `..., regression`.
fn describe(dataset: &Dataset<f32>) -> String {
    let targets = match dataset.n_classes() {
        Some(k) => format!("{k} classes"),
        None => "regression".to_string(),
    };
    format!(
        "{} examples, {} features, {targets}",
        dataset.len(),
        dataset.n_features()
    )
}

fn progress_bar(epochs: usize) -> ProgressBar {
    let style = ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} [{elapsed}] {msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    ProgressBar::new(epochs as u64).with_style(style)
}

/// The figure: loss curves, and beside them the decision regions of a
/// 2-D classifier or the curve of a 1-D regression.
fn draw(
    args: &Args,
    prepared: &data::Prepared,
    model: &Model,
    history: &History,
) -> Result<(), BoxError> {
    let curve = |name: &str, i, y: fn(&EpochRecord) -> f64| Series {
        name: name.to_string(),
        color: plot::color(i),
        points: history
            .records
            .iter()
            .map(|r| (r.epoch as f64, y(r)))
            .collect(),
    };
    let curves = [
        curve("train", 0, |r| r.train_loss),
        curve("test", 1, |r| r.test_loss),
    ];
    let title = format!("{} on {}", args.optimizer, args.dataset);
    let model = match model {
        Model::Mlp(mlp) => mlp,
        Model::Cnn(net) => {
            return plot::svg(&args.output, (1700, 480), |root| {
                let panels = root.split_evenly((1, 3));
                plot::draw_loss_curves(&panels[0], &format!("loss: {title}"), "epoch", &curves)?;
                model::draw_filters(&panels[1], net)?;
                model::draw_misclassified(&panels[2], net, &prepared.test, &prepared.raw_test)
            });
        }
    };
    let raw = [&prepared.raw_train, &prepared.raw_test];
    let features = prepared.train.n_features();
    let side_panel = matches!(
        (prepared.train.targets(), features),
        (Targets::Classes { .. }, 2) | (Targets::Values(_), 1)
    );
    let width = if side_panel { 1200 } else { 640 };
    plot::svg(&args.output, (width, 480), |root| {
        let panels = root.split_evenly((1, if side_panel { 2 } else { 1 }));
        plot::draw_loss_curves(&panels[0], &format!("loss: {title}"), "epoch", &curves)?;
        if !side_panel {
            return Ok(());
        }
        // Predictions for raw (unstandardised) features, so the plot shows the data as given.
        let model_input = |rows: Vec<f32>| {
            let n = rows.len() / features;
            prepared
                .scaler
                .transform(&Tensor::from_vec(rows, &[n, features]))
        };
        match prepared.train.targets() {
            Targets::Classes { .. } => {
                let points: Vec<LabelledPoint> = raw
                    .iter()
                    .enumerate()
                    .flat_map(|(k, d)| {
                        let x = d.features().to_f64_vec();
                        let labels = d.labels().unwrap_or_default().to_vec();
                        (0..d.len()).map(move |i| LabelledPoint {
                            x: x[2 * i],
                            y: x[2 * i + 1],
                            class: labels[i],
                            test: k == 1,
                        })
                    })
                    .collect();
                let axes = ("feature 1", "feature 2");
                plot::draw_decision_boundary(
                    &panels[1],
                    "decision regions",
                    axes,
                    &points,
                    |grid| {
                        let rows = grid
                            .iter()
                            .flat_map(|&(x, y)| [x as f32, y as f32])
                            .collect();
                        fit::predict_classes(model, &model_input(rows))
                    },
                )
            }
            Targets::Values(_) => {
                let points: Vec<(f64, f64)> = raw
                    .iter()
                    .flat_map(|d| {
                        let x = d.features().to_f64_vec();
                        let y = d
                            .targets()
                            .values()
                            .map(Tensor::to_f64_vec)
                            .unwrap_or_default();
                        x.into_iter().zip(y)
                    })
                    .collect();
                plot::draw_regression_fit(&panels[1], "fit", &points, |xs| {
                    let rows = xs.iter().map(|&x| x as f32).collect();
                    model.predict(&model_input(rows)).to_f64_vec()
                })
            }
        }
    })
}
