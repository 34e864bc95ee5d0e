//! Every optimizer on the same dataset, model initialisation, batches and
//! seed: how many steps (and epochs) each needs to bring the training loss
//! under a target, with the loss evaluations, Hessian-vector products and
//! time spent until then, its final test metric and its time per step,
//! with all the training-loss curves in one SVG.
//!
//! ```text
//! cargo run --release --example compare -- --dataset spirals
//! cargo run --release --example compare -- --dataset digits --target-loss 0.05
//! cargo run --release --example compare -- --dataset digits --model cnn --optimizers adam,adahessian
//! ```

use crate::support;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use curvature::nn::{Activation, Mlp, Module};
use curvature::optim::{Optimizer, Work};

use support::data::{self, DatasetName, ToyOptions};
use support::fit::{self, FitOptions, History, Schedule};
use support::model::{self, ModelKind};
use support::optimizers::{self, Hyperparameters, OptimizerKind};
use support::plot::{self, Series};
use support::{BoxError, Seeds};

/// Compare SGD, Adam, AdamW, AdaHessian, Sophia-H, Newton-CG and L-BFGS
/// (each at its default learning rate) on one dataset.
#[derive(Parser, Debug, Clone)]
#[command(name = "compare", version, allow_negative_numbers = true)]
pub struct Args {
    /// A dataset name (as for `train`) or a CSV file.
    #[arg(long, default_value = "spirals")]
    pub dataset: DatasetName,
    /// The CSV file's first line holds column names.
    #[arg(long)]
    pub header: bool,
    /// Epochs per optimizer [default: the dataset's, as in `train`].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Seeds the data, the split, the initial weights (the same for every
    /// optimizer), the batches and AdaHessian's draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The training loss each optimizer races to.
    #[arg(long, default_value_t = 0.1)]
    pub target_loss: f64,
    /// Optimizers to compare, e.g. sgd,adahessian [default: all].
    #[arg(long, value_enum, ignore_case = true, value_delimiter = ',')]
    pub optimizers: Option<Vec<OptimizerKind>>,
    /// A learning rate for one optimizer, as NAME=LR (repeatable, e.g.
    /// `--lr adam=0.003 --lr adahessian=0.3`) [default: each one's default].
    #[arg(long = "lr", value_parser = parse_learning_rate)]
    pub lrs: Vec<(OptimizerKind, f64)>,
    /// The model: an MLP, or the digits CNN of `train --model cnn`
    /// (--dataset digits only; its training loss is evaluated every
    /// quarter epoch rather than every step, which would cost more than
    /// the training).
    #[arg(long, value_enum, ignore_case = true, default_value_t = ModelKind::Mlp)]
    pub model: ModelKind,
    /// Hidden layer widths, e.g. 64,64.
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// Examples per step [default: the dataset's, as in `train`].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Learning-rate schedule over each run.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Schedule::Cosine)]
    pub schedule: Schedule,
    /// Epochs of linear learning-rate warm-up.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Fraction of the data held out for testing.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Where to write the SVG figure (checked before training; the log
    /// ends with its full path).
    #[arg(long, default_value = "compare.svg")]
    pub output: PathBuf,
    /// Print only the table.
    #[arg(long)]
    pub quiet: bool,
}

/// One optimizer's results.
#[derive(Clone, Debug)]
pub struct Row {
    pub optimizer: OptimizerKind,
    pub steps_to_target: Option<u64>,
    /// `steps_to_target` in epochs (steps per epoch: the batches of the training set).
    pub epochs_to_target: Option<f64>,
    /// Time spent in optimizer steps until the target was reached.
    pub seconds_to_target: Option<f64>,
    pub final_train_loss: f64,
    pub final_test_metric: f64,
    pub median_step_ms: f64,
    /// Loss evaluations (line-search trials included) and Hessian-vector
    /// products until the target was reached.
    pub evaluations_to_target: Option<u64>,
    pub hvps_to_target: Option<u64>,
    /// Loss evaluations over the whole run (line-search trials included).
    pub loss_evaluations: u64,
    /// Hessian-vector products over the whole run.
    pub hessian_vector_products: u64,
    pub history: History,
}

/// The program on `args` (its name first), with errors to `stderr`:
/// returns the exit code. The `main` of `examples/bin/compare.rs`.
pub fn main(args: impl IntoIterator<Item = OsString>, stderr: &mut dyn Write) -> u8 {
    support::main_with(args, stderr, |args: &Args| {
        run(args, &mut std::io::stdout().lock()).map(|_| ())
    })
}

/// Runs every optimizer as `args` say and prints the table to `out`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Vec<Row>, BoxError> {
    if !(args.target_loss > 0.0 && args.target_loss.is_finite()) {
        return Err(format!(
            "--target-loss {} must be a positive number",
            args.target_loss
        )
        .into());
    }
    let figure = support::check_output(&args.output)?;
    let seeds = Seeds::new(args.seed);
    let cnn = args.model == ModelKind::Cnn;
    if cnn {
        model::check_cnn_flags(&args.dataset, args.hidden.is_some(), false)?;
    }
    let recipe = if cnn {
        model::cnn_recipe(args.dataset.recipe())
    } else {
        args.dataset.recipe()
    };
    let toy = ToyOptions::from_flags(&args.dataset, None, None, None, seeds.data)?;
    let dataset = data::load(&args.dataset, &toy, args.header)?;
    let prepared = data::prepare(&dataset, args.test_fraction, seeds.split)?;
    let (train, test) = (&prepared.train, &prepared.test);
    let sizes: Vec<usize> = std::iter::once(dataset.n_features())
        .chain(args.hidden.clone().unwrap_or(recipe.hidden))
        .chain(std::iter::once(fit::output_size(&dataset)))
        .collect();
    support::check_model_size(&sizes)?;
    let batch_size = args.batch_size.unwrap_or(recipe.batch_size);
    if batch_size == 0 {
        return Err("--epochs and --batch-size must be at least 1".into());
    }
    let eval_every = if cnn {
        (train.len().div_ceil(batch_size) as u64 / 4).max(1)
    } else {
        1
    };
    let options = FitOptions {
        epochs: args.epochs.unwrap_or(recipe.epochs),
        start_epoch: 0,
        stop_after: None,
        batch_size,
        schedule: args.schedule,
        warmup_epochs: args.warmup,
        eval_every_steps: Some(eval_every),
        seed: seeds.batches,
    };
    if options.epochs == 0 {
        return Err("--epochs and --batch-size must be at least 1".into());
    }
    let kinds = args
        .optimizers
        .clone()
        .unwrap_or(OptimizerKind::ALL.to_vec());
    let metric = fit::metric_name(train);
    let described = if cnn {
        format!(
            "CNN {} (training loss every {eval_every} steps)",
            model::DIGITS_CNN
        )
    } else {
        format!("MLP {sizes:?} (tanh)")
    };
    if !args.quiet {
        writeln!(
            out,
            "{}: {} train, {} test; {described}; {} epochs of batch {}, {} learning rate; \
             target training loss {}",
            args.dataset,
            train.len(),
            test.len(),
            options.epochs,
            options.batch_size,
            options.schedule.name(),
            args.target_loss
        )?;
    }

    let steps_per_epoch = train.len().div_ceil(options.batch_size);
    let mut rows = Vec::new();
    for kind in kinds {
        // The same initial weights, batches and seed for every optimizer.
        let mut model: Box<dyn Module<f32>> = if cnn {
            Box::new(model::digits_cnn(seeds.init, fit::output_size(&dataset)))
        } else {
            Box::new(Mlp::<f32>::try_new(&sizes, Activation::Tanh, seeds.init)?)
        };
        let hyper = Hyperparameters {
            lr: args
                .lrs
                .iter()
                .rev()
                .find(|(k, _)| *k == kind)
                .map(|&(_, lr)| lr)
                .or_else(|| cnn.then(|| model::cnn_default_lr(kind))),
            ..Hyperparameters::default()
        };
        let mut optimizer = optimizers::build(kind, &hyper, &*model, seeds.optimizer)?;
        if !args.quiet {
            writeln!(out, "running {optimizer}")?;
        }
        let lr = optimizer.learning_rate();
        let history = fit::fit(&mut *model, &mut optimizer, train, test, &options, |_| {})
            .map_err(|e| format!("{kind} (lr {lr}) stopped: {e}"))?;
        let steps_to_target = history.steps_to(args.target_loss);
        let seconds_to_target =
            steps_to_target.map(|s| history.step_seconds[..s as usize].iter().sum());
        let last = history.last();
        let work = optimizer.work();
        let work_to_target = steps_to_target.map(|s| match s {
            0 => Work::default(),
            s => history.work_after_step[s as usize - 1],
        });
        rows.push(Row {
            optimizer: kind,
            steps_to_target,
            epochs_to_target: steps_to_target.map(|s| s as f64 / steps_per_epoch as f64),
            seconds_to_target,
            final_train_loss: last.train_loss,
            final_test_metric: last.test_metric,
            median_step_ms: 1e3 * support::median(&history.step_seconds),
            evaluations_to_target: work_to_target.map(|w| w.loss_evaluations),
            hvps_to_target: work_to_target.map(|w| w.hessian_vector_products),
            loss_evaluations: work.loss_evaluations,
            hessian_vector_products: work.hessian_vector_products,
            history,
        });
    }

    print_table(out, &rows, args.target_loss, metric, train)?;
    draw(args, &rows, steps_per_epoch)?;
    writeln!(out, "figure: {}", figure.display())?;
    Ok(rows)
}

/// `adam=0.003` for `--lr`.
fn parse_learning_rate(s: &str) -> Result<(OptimizerKind, f64), String> {
    use clap::ValueEnum;
    let (name, lr) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=LR (e.g. adam=0.003), got `{s}`"))?;
    let kind = OptimizerKind::from_str(name.trim(), true)
        .map_err(|_| format!("unknown optimizer `{name}` in `{s}`"))?;
    let lr = lr
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("`{lr}` is not a number in `{s}`"))?;
    Ok((kind, lr))
}

fn print_table(
    out: &mut dyn Write,
    rows: &[Row],
    target: f64,
    metric: &str,
    train: &curvature::nn::data::Dataset<f32>,
) -> Result<(), BoxError> {
    let never = || "never".to_string();
    writeln!(
        out,
        "| optimizer | steps to {target} | epochs to {target} | time to {target} | evaluations to {target} | HVPs to {target} | final train loss | test {metric} | ms/step (median) |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for r in rows {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.4} | {} | {:.3} |",
            r.optimizer,
            r.steps_to_target.map_or_else(never, |s| s.to_string()),
            r.epochs_to_target.map_or_else(never, |e| format!("{e:.1}")),
            r.seconds_to_target
                .map_or_else(never, |s| format!("{s:.3} s")),
            r.evaluations_to_target
                .map_or_else(never, |e| e.to_string()),
            r.hvps_to_target.map_or_else(never, |h| h.to_string()),
            r.final_train_loss,
            fit::format_metric(train, r.final_test_metric),
            r.median_step_ms
        )?;
    }
    Ok(())
}

/// Training loss against epochs and against the time spent in steps.
fn draw(args: &Args, rows: &[Row], steps_per_epoch: usize) -> Result<(), BoxError> {
    let by_epoch: Vec<Series> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| Series {
            name: r.optimizer.to_string(),
            color: plot::color(i),
            points: r
                .history
                .train_loss_by_step
                .iter()
                .map(|&(step, loss)| (step as f64 / steps_per_epoch as f64, loss))
                .collect(),
        })
        .collect();
    let by_time: Vec<Series> = rows
        .iter()
        .zip(&by_epoch)
        .map(|(r, s)| {
            let mut elapsed = 0.0;
            let times: Vec<f64> = std::iter::once(0.0)
                .chain(r.history.step_seconds.iter().map(|t| {
                    elapsed += t;
                    elapsed
                }))
                .collect();
            Series {
                points: r
                    .history
                    .train_loss_by_step
                    .iter()
                    .map(|&(step, loss)| (times[step as usize], loss))
                    .collect(),
                ..s.clone()
            }
        })
        .collect();
    plot::svg(&args.output, (1200, 480), |root| {
        let panels = root.split_evenly((1, 2));
        let title = format!("training loss on {}", args.dataset);
        plot::draw_loss_curves(&panels[0], &title, "epoch", &by_epoch)?;
        plot::draw_loss_curves(&panels[1], &title, "seconds in optimizer steps", &by_time)
    })
}
