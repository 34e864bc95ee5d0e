//! A small GPT trained on a synthetic sequence task generated on the fly
//! (sort 8 digits, reverse them, or add two 3-digit numbers), with
//! progress, a held-out evaluation by greedy decoding (exact match of the
//! whole answer on 1,000 sequences, and per-token accuracy), a stop at a
//! target exact match, and an SVG of the loss and accuracy curves.
//!
//! ```text
//! cargo run --release --example gpt
//! cargo run --release --example gpt -- --task add --steps 20000
//! cargo run --release --example gpt -- --optimizer adahessian
//! cargo run --release --example gpt -- --save target/sort.safetensors
//! cargo run --release --example gpt -- --load target/sort.safetensors --steps 0 --generate 5
//! ```

use crate::support;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use curvature::autograd::{seeded_rng, Parameters};
use curvature::nn::{Gpt, GptConfig};
use curvature::optim::{Constant, LinearWarmup, LrSchedule, Optimizer};
use indicatif::{ProgressBar, ProgressStyle};

use support::optimizers::{self, parse_pair, Hyperparameters, OptimizerKind};
use support::{BoxError, Seeds};

pub mod checkpoint;
pub mod decode;
pub mod evaluate;
mod figure;
pub mod task;

use evaluate::Evaluation;
use task::{Examples, Task, TaskName};

/// The seed of the held-out sequences: the same for every run, so runs
/// of different seeds and optimizers are scored on the same 1,000.
pub const EVAL_SEED: u64 = 123;
/// The seed of the `--generate` samples.
pub const GENERATE_SEED: u64 = 7;

/// Train a small GPT on a synthetic sequence task and evaluate it by
/// greedy decoding on held-out sequences.
#[derive(Parser, Debug, Clone)]
#[command(name = "gpt", version, allow_negative_numbers = true)]
pub struct Args {
    /// sort (8 digits), reverse (8 digits) or add (two 3-digit numbers)
    /// [default: sort, or the --load'ed model's].
    #[arg(long, value_enum, ignore_case = true)]
    pub task: Option<TaskName>,
    /// Put a separator token between the digits and the answer of sort
    /// and reverse (add always has its `+` and `=`).
    #[arg(long)]
    pub separator: bool,

    /// The optimizer (case-insensitive).
    #[arg(long, value_enum, ignore_case = true, default_value_t = OptimizerKind::AdamW)]
    pub optimizer: OptimizerKind,
    /// Learning rate [default: adam, adamw and sophia-h 5e-4, adahessian
    /// 0.05, others as in `train`].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Moment decay rates, e.g. 0.9,0.95 [default: adam and adamw 0.9,0.95,
    /// adahessian 0.9,0.98, sophia-h 0.965,0.99].
    #[arg(long, value_parser = parse_pair)]
    pub betas: Option<(f64, f64)>,
    /// Decoupled weight decay [default: adamw and sophia-h 0.1, adahessian
    /// 1e-4, others 0].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Denominator epsilon (adam, adamw, adahessian, sophia-h).
    #[arg(long)]
    pub eps: Option<f64>,
    /// SGD momentum.
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Power of the Hessian diagonal in AdaHessian's denominator, in (0, 1].
    #[arg(long)]
    pub hessian_power: Option<f64>,
    /// A new Hessian-diagonal estimate every N steps (adahessian, sophia-h).
    #[arg(long)]
    pub update_each: Option<usize>,
    /// Rademacher draws per Hessian-diagonal estimate.
    #[arg(long)]
    pub n_samples: Option<usize>,
    /// Steps of linear learning-rate warm-up from lr / STEPS [default: 0].
    #[arg(long, default_value_t = 0)]
    pub warmup: u64,
    /// Sequences per step.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,

    /// Model width [default: 64, or the --load'ed model's].
    #[arg(long)]
    pub d: Option<usize>,
    /// Attention heads per block; must divide d [default: 4].
    #[arg(long)]
    pub heads: Option<usize>,
    /// Transformer blocks [default: 2].
    #[arg(long)]
    pub layers: Option<usize>,
    /// Learned positions; at least what the task needs [default: what the
    /// task needs: sort and reverse 15, add 11].
    #[arg(long)]
    pub context: Option<usize>,

    /// Optimizer steps at most [default: sort and reverse 2000, add 30000];
    /// 0 with --load only evaluates.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Evaluate on the held-out sequences every N steps (and after the last).
    #[arg(long, default_value_t = 250)]
    pub eval_every: u64,
    /// Stop once the held-out exact match reaches this percentage
    /// [default: sort and reverse 99, add 95].
    #[arg(long)]
    pub target: Option<f64>,
    /// Train all --steps, whatever the exact match.
    #[arg(long, conflicts_with = "target")]
    pub no_stop: bool,
    /// Held-out sequences (never trained on).
    #[arg(long, default_value_t = 1000)]
    pub eval_size: usize,

    /// Seeds the initial weights, the training sequences and the
    /// optimizer's draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Threads of the tensor kernels (default: the CPUs available, or
    /// CURVATURE_NUM_THREADS).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Where to write the SVG figure.
    #[arg(long, default_value = "gpt.svg")]
    pub output: PathBuf,
    /// Print only the setup and the results, no progress.
    #[arg(long)]
    pub quiet: bool,
    /// Write the trained model to FILE (safetensors, the PyTorch module's
    /// state_dict names; the task and sizes in its header).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Start from the model that --save wrote to FILE (its task and
    /// architecture), with a fresh optimizer.
    #[arg(long, value_name = "FILE")]
    pub load: Option<PathBuf>,
    /// Print N held-out-style prompts with the model's greedy answers.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub generate: usize,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct GptReport {
    pub task: Task,
    /// The trained model.
    pub model: Gpt<f32>,
    /// The loss of every step's batch, before its update.
    pub train_losses: Vec<f64>,
    /// The held-out figures after every evaluation.
    pub evaluations: Vec<Evaluation>,
    /// The first evaluation at or above the target, if any.
    pub reached: Option<Evaluation>,
    /// Wall time of the whole training, evaluations included.
    pub seconds: f64,
    /// The `--generate` lines.
    pub samples: Vec<String>,
}

impl GptReport {
    /// The last evaluation.
    pub fn last(&self) -> &Evaluation {
        self.evaluations
            .last()
            .expect("run evaluates at least once")
    }
}

/// The program on `args` (its name first), with errors to `stderr`:
/// returns the exit code. The `main` of `examples/bin/gpt.rs`.
pub fn main(args: impl IntoIterator<Item = OsString>, stderr: &mut dyn Write) -> u8 {
    support::main_with(args, stderr, |args: &Args| {
        let interactive = std::io::stderr().is_terminal();
        run(args, interactive, &mut std::io::stdout().lock()).map(|_| ())
    })
}

/// The optimizer defaults for this model, under the flags given.
fn hyperparameters(args: &Args) -> Hyperparameters {
    let (lr, betas, weight_decay) = match args.optimizer {
        // The reference run's (nanoGPT's) AdamW.
        OptimizerKind::AdamW => (5e-4, Some((0.9, 0.95)), Some(0.1)),
        OptimizerKind::Adam => (5e-4, Some((0.9, 0.95)), None),
        // The authors' transformer betas and weight decay; see the README.
        OptimizerKind::AdaHessian => (0.05, Some((0.9, 0.98)), Some(1e-4)),
        OptimizerKind::SophiaH => (5e-4, Some((0.965, 0.99)), Some(0.1)),
        other => (other.default_lr(), None, None),
    };
    Hyperparameters {
        lr: Some(args.lr.unwrap_or(lr)),
        momentum: args.momentum,
        weight_decay: args.weight_decay.or(weight_decay),
        betas: args.betas.or(betas),
        eps: args.eps,
        hessian_power: args.hessian_power,
        update_each: args.update_each,
        n_samples: args.n_samples,
    }
}

/// The model's sizes: flags over the loaded file's over the defaults;
/// a flag that contradicts the file is an error naming both.
fn model_config(
    args: &Args,
    task: Task,
    saved: Option<&checkpoint::Saved>,
) -> Result<GptConfig, BoxError> {
    let pick = |flag: &str, given: Option<usize>, saved: Option<usize>, default: usize| match (
        given, saved,
    ) {
        (Some(g), Some(s)) if g != s => Err(format!(
            "{}: the saved model has --{flag} {s}, not {g}",
            loaded_file(args)
        )),
        (g, s) => Ok(g.or(s).unwrap_or(default)),
    };
    let config = GptConfig {
        vocabulary: task.vocabulary(),
        context: pick(
            "context",
            args.context,
            saved.map(|s| s.config.context),
            task.context(),
        )?,
        d: pick("d", args.d, saved.map(|s| s.config.d), 64)?,
        heads: pick("heads", args.heads, saved.map(|s| s.config.heads), 4)?,
        layers: pick("layers", args.layers, saved.map(|s| s.config.layers), 2)?,
    };
    if config.context < task.context() {
        return Err(format!(
            "--context {} is too small for task {}: its sequences need {} positions \
             ({} of prompt, {} of answer less the last)",
            config.context,
            task.name,
            task.context(),
            task.prompt_len(),
            task.answer_len() - 1
        )
        .into());
    }
    let count = (config.d as u64)
        .saturating_mul(config.d as u64)
        .saturating_mul(12)
        .saturating_mul(config.layers as u64);
    if count > support::MAX_PARAMETERS {
        return Err(format!(
            "a GPT of width {} and {} layers would have about {count} parameters, more than \
             the limit of {}",
            config.d,
            config.layers,
            support::MAX_PARAMETERS
        )
        .into());
    }
    Ok(config)
}

/// Trains as `args` say, writing the log to `out`: with `interactive`,
/// progress is a bar on stderr; otherwise one line per evaluation on `out`.
pub fn run(args: &Args, interactive: bool, out: &mut dyn Write) -> Result<GptReport, BoxError> {
    if let Some(threads) = args.threads {
        if threads == 0 {
            return Err("--threads must be at least 1".into());
        }
        curvature::autograd::set_num_threads(threads)?;
    }
    for (flag, value) in [
        ("--batch-size", args.batch_size as u64),
        ("--eval-every", args.eval_every),
        ("--eval-size", args.eval_size as u64),
    ] {
        if value == 0 {
            return Err(format!("{flag} must be at least 1").into());
        }
    }
    let target = match (args.no_stop, args.target) {
        (true, _) => None,
        (false, Some(t)) if !(t > 0.0 && t <= 100.0) => {
            return Err(format!("--target {t} must be a percentage in (0, 100]").into())
        }
        (false, Some(t)) => Some(t / 100.0),
        (false, None) => None,
    };
    let figure_path = support::check_output(&args.output)?;
    let saved = args.load.as_deref().map(checkpoint::read).transpose()?;
    let task = match (args.task, &saved) {
        (Some(asked), Some(s)) if asked != s.task.name => {
            return Err(format!(
                "{}: the model was trained on task {}, not {asked}",
                loaded_file(args),
                s.task.name
            )
            .into())
        }
        (_, Some(s)) => s.task,
        (asked, None) => Task::new(asked.unwrap_or(TaskName::Sort), args.separator),
    };
    if let Some(s) = &saved {
        if args.separator && !s.task.separator && task.name != TaskName::Add {
            return Err(format!(
                "{}: the model was trained without --separator",
                loaded_file(args)
            )
            .into());
        }
    }
    let target = if args.no_stop {
        None
    } else {
        target.or(Some(match task.name {
            TaskName::Add => 0.95,
            _ => 0.99,
        }))
    };
    let config = model_config(args, task, saved.as_ref())?;
    let seeds = Seeds::new(args.seed);
    let mut model = Gpt::<f32>::new(config, seeds.init)?;
    if let Some(path) = &args.load {
        checkpoint::load(path, &mut model)?;
    }
    let steps = match (args.steps, &saved) {
        (Some(steps), _) => steps,
        (None, _) if task.name == TaskName::Add => 30_000,
        (None, _) => 2_000,
    };
    if steps == 0 && saved.is_none() {
        return Err("--steps 0 only evaluates a model: give --load FILE too".into());
    }
    let mut optimizer = optimizers::build(
        args.optimizer,
        &hyperparameters(args),
        &model,
        seeds.optimizer,
    )?;
    let base_lr = optimizer.learning_rate();
    let schedule: Box<dyn LrSchedule> = if args.warmup > 0 {
        Box::new(LinearWarmup::new(
            Constant::new(base_lr)?,
            args.warmup,
            1.0 / args.warmup as f64,
        )?)
    } else {
        Box::new(Constant::new(base_lr)?)
    };

    let held_out = task.examples(
        &mut seeded_rng(EVAL_SEED),
        args.eval_size,
        &Default::default(),
    );
    let excluded = held_out.prompt_set();
    writeln!(
        out,
        "task       {}: prompts like {} -> {} (vocabulary {}, {} positions{})",
        task.name,
        task.prompt_text(held_out.prompt(0)),
        task.answer_text(held_out.answer(0)),
        task.vocabulary(),
        task.context(),
        if task.separator { ", separator" } else { "" }
    )?;
    writeln!(
        out,
        "model      GPT d {}, {} heads, {} blocks, context {}, {} parameters",
        config.d,
        config.heads,
        config.layers,
        config.context,
        model.parameter_count()
    )?;
    if let (Some(path), Some(s)) = (&args.load, &saved) {
        writeln!(
            out,
            "loaded     {} (trained {} steps)",
            path.display(),
            s.step
        )?;
    }
    writeln!(out, "optimizer  {optimizer}")?;
    writeln!(
        out,
        "training   at most {steps} steps of {} sequences, {}held-out exact match on {} \
         sequences every {} steps, {}, seed {}",
        args.batch_size,
        if args.warmup > 0 {
            format!("{} warm-up steps, ", args.warmup)
        } else {
            String::new()
        },
        held_out.len(),
        args.eval_every,
        match target {
            Some(t) => format!("stop at {}%", 100.0 * t),
            None => "no early stop".to_string(),
        },
        args.seed
    )?;

    let bar = (interactive && !args.quiet && steps > 0).then(|| progress_bar(steps));
    let mut rng = seeded_rng(seeds.batches);
    let mut train_losses = Vec::new();
    let mut evaluations = Vec::new();
    let mut reached = None;
    let start = Instant::now();
    let mut evaluating = 0.0;
    let mut step = 0;
    while step < steps {
        let batch = task.examples(&mut rng, args.batch_size, &excluded);
        optimizer.set_learning_rate(schedule.lr_at(step))?;
        let loss = optimizer
            .step(&mut model, |model, _tape, params| {
                evaluate::answer_loss(model, params, &batch)
            })
            .map_err(|e| {
                format!(
                    "training stopped at step {}: {e} (try a smaller --lr)",
                    step + 1
                )
            })?;
        step += 1;
        train_losses.push(f64::from(loss));
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        if step % args.eval_every == 0 || step == steps {
            let began = Instant::now();
            let mut e = evaluate::evaluate(&model, &held_out, step, 0.0);
            evaluating += began.elapsed().as_secs_f64();
            // The time at which the figures are known.
            e.seconds = start.elapsed().as_secs_f64();
            evaluations.push(e);
            let line = format!(
                "step {step:>6}  train loss {:.4}  held-out loss {:.4}  exact {:.1}%  \
                 tokens {:.1}%  {:.1} s",
                loss,
                e.loss,
                100.0 * e.exact_match,
                100.0 * e.token_accuracy,
                e.seconds
            );
            match &bar {
                Some(bar) => bar.println(line),
                None if !args.quiet => writeln!(out, "{line}")?,
                None => {}
            }
            if target.is_some_and(|t| e.exact_match >= t) {
                reached = Some(e);
                break;
            }
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let seconds = start.elapsed().as_secs_f64();
    if steps == 0 {
        evaluations.push(evaluate::evaluate(&model, &held_out, 0, 0.0));
    }
    let last = *evaluations.last().expect("evaluated above");
    writeln!(
        out,
        "final      exact match {:.1}%, per-token accuracy {:.1}%, held-out loss {:.4} \
         ({} sequences, greedy), after {} steps",
        100.0 * last.exact_match,
        100.0 * last.token_accuracy,
        last.loss,
        held_out.len(),
        last.step
    )?;
    match (target, reached) {
        (Some(t), Some(e)) => writeln!(
            out,
            "target     {}% exact match reached at step {} in {:.1} s (evaluations included)",
            100.0 * t,
            e.step,
            e.seconds
        )?,
        (Some(t), None) if steps > 0 => writeln!(
            out,
            "target     {}% exact match not reached in {steps} steps",
            100.0 * t
        )?,
        _ => {}
    }
    if steps > 0 {
        writeln!(
            out,
            "time       {seconds:.1} s: {:.2} ms per step, {evaluating:.1} s in {} evaluations",
            1e3 * (seconds - evaluating).max(0.0) / step.max(1) as f64,
            evaluations.len()
        )?;
    }

    if let Some(path) = &args.save {
        let trained = saved.map_or(0, |s| s.step) + step;
        checkpoint::save(path, &model, task, trained)?;
        writeln!(out, "saved      {}", path.display())?;
    }
    let samples = generate(&model, task, args.generate);
    for line in &samples {
        writeln!(out, "{line}")?;
    }
    let title = format!("{} on {}", args.optimizer, task.name);
    figure::draw(&args.output, &title, &train_losses, &evaluations, target)?;
    writeln!(out, "figure     {}", figure_path.display())?;
    Ok(GptReport {
        task,
        model,
        train_losses,
        evaluations,
        reached,
        seconds,
        samples,
    })
}

/// `n` sample lines: a fresh prompt, the model's greedy answer, and
/// whether it is right (with the right one when not).
fn generate(model: &Gpt<f32>, task: Task, n: usize) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let samples: Examples = task.examples(&mut seeded_rng(GENERATE_SEED), n, &Default::default());
    let answers = evaluate::greedy_answers(model, &samples);
    let a = task.answer_len();
    (0..n)
        .map(|i| {
            let (given, right) = (&answers[i * a..(i + 1) * a], samples.answer(i));
            let verdict = if given == right {
                "right".to_string()
            } else {
                format!("wrong, expected {}", task.answer_text(right))
            };
            format!(
                "sample     {} -> {}  ({verdict})",
                task.prompt_text(samples.prompt(i)),
                task.answer_text(given)
            )
        })
        .collect()
}

/// The `--load` file's name, for messages.
fn loaded_file(args: &Args) -> String {
    args.load
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn progress_bar(steps: u64) -> ProgressBar {
    let style = ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} [{elapsed}] {msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    ProgressBar::new(steps).with_style(style)
}
