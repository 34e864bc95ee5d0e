//! Every optimizer on the Rosenbrock function
//! `f(x, y) = (1 - x)^2 + 100 (y - x^2)^2` from (-1.5, 2): the classic
//! curved, badly conditioned valley with its minimum at (1, 1). Prints
//! where each optimizer ends and draws the paths over the contours.
//!
//! ```text
//! cargo run --release --example rosenbrock
//! cargo run --release --example rosenbrock -- --steps 5000 --adahessian-lr 0.5
//! ```

use crate::support;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use curvature::autograd::{Tape, Tensor, Var};
use curvature::optim::Optimizer;

use support::optimizers::{self, Hyperparameters, OptimizerKind};
use support::plot::{self, Series};
use support::BoxError;

/// Every optimizer (SGD, Adam, AdamW, AdaHessian, Sophia-H, Newton-CG,
/// L-BFGS) on the Rosenbrock function.
#[derive(Parser, Debug, Clone)]
#[command(name = "rosenbrock", version, allow_negative_numbers = true)]
pub struct Args {
    /// Steps of each optimizer.
    #[arg(long, default_value_t = 3000)]
    pub steps: usize,
    /// SGD's learning rate (momentum 0.9); 0.003 diverges.
    #[arg(long, default_value_t = 2e-3)]
    pub sgd_lr: f64,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.05)]
    pub adam_lr: f64,
    /// AdamW's learning rate; its weight decay (0.01) pulls towards 0, so
    /// it settles short of (1, 1).
    #[arg(long, default_value_t = 0.05)]
    pub adamw_lr: f64,
    /// AdaHessian's learning rate: its long memory of the large early
    /// curvature (beta2 = 0.999) keeps steps small unless lr is large.
    #[arg(long, default_value_t = 3.0)]
    pub adahessian_lr: f64,
    /// Sophia-H's learning rate (the largest move per coordinate and step).
    #[arg(long, default_value_t = 0.01)]
    pub sophia_lr: f64,
    /// Newton-CG's learning rate (1: the full step of the damped model).
    #[arg(long, default_value_t = 1.0)]
    pub newton_cg_lr: f64,
    /// L-BFGS's learning rate (the line search's first trial).
    #[arg(long, default_value_t = 1.0)]
    pub lbfgs_lr: f64,
    /// Seeds AdaHessian's Rademacher draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the SVG figure.
    #[arg(long, default_value = "rosenbrock.svg")]
    pub output: PathBuf,
}

/// Where one optimizer went.
#[derive(Clone, Debug)]
pub struct Run {
    pub optimizer: OptimizerKind,
    pub lr: f64,
    /// The iterates, the start first.
    pub path: Vec<(f64, f64)>,
    /// The first step after which `f < 1e-4`, if any.
    pub steps_to_1e4: Option<usize>,
    /// Why it stopped early, if it did (a loss that overflowed).
    pub stopped: Option<String>,
}

impl Run {
    /// The last iterate.
    pub fn last(&self) -> (f64, f64) {
        *self.path.last().expect("the path holds the start")
    }
}

pub const START: (f64, f64) = (-1.5, 2.0);

/// The Rosenbrock function.
pub fn rosenbrock(x: f64, y: f64) -> f64 {
    (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
}

/// The program on `args` (its name first), with errors to `stderr`:
/// returns the exit code. The `main` of `examples/bin/rosenbrock.rs`.
pub fn main(args: impl IntoIterator<Item = OsString>, stderr: &mut dyn Write) -> u8 {
    support::main_with(args, stderr, |args: &Args| {
        run(args, &mut std::io::stdout().lock()).map(|_| ())
    })
}

/// Runs every optimizer, prints a table to `out` and draws the figure.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Vec<Run>, BoxError> {
    let figure = support::check_output(&args.output)?;
    // The same function on the tape, for the optimizers.
    let loss = |_: &Vec<Tensor<f64>>, _: &Tape<f64>, p: &[Var<f64>]| {
        let (x, y) = (&p[0], &p[1]);
        (1.0 - x).square() + (y - &x.square()).square() * 100.0
    };
    let lrs = [
        (OptimizerKind::Sgd, args.sgd_lr),
        (OptimizerKind::Adam, args.adam_lr),
        (OptimizerKind::AdamW, args.adamw_lr),
        (OptimizerKind::AdaHessian, args.adahessian_lr),
        (OptimizerKind::SophiaH, args.sophia_lr),
        (OptimizerKind::NewtonCg, args.newton_cg_lr),
        (OptimizerKind::Lbfgs, args.lbfgs_lr),
    ];
    writeln!(
        out,
        "rosenbrock from ({}, {}), minimum (1, 1), {} steps each",
        START.0, START.1, args.steps
    )?;
    let mut runs = Vec::new();
    for (kind, lr) in lrs {
        let mut params = vec![Tensor::scalar(START.0), Tensor::scalar(START.1)];
        let hyper = Hyperparameters {
            lr: Some(lr),
            ..Hyperparameters::default()
        };
        let mut optimizer = optimizers::build(kind, &hyper, &params, args.seed)
            .map_err(|e| format!("{kind}: {e}"))?;
        writeln!(out, "{optimizer}")?;
        let mut path = vec![START];
        let mut stopped = None;
        for _ in 0..args.steps {
            if let Err(e) = optimizer.step(&mut params, loss) {
                stopped = Some(e.to_string());
                break;
            }
            path.push((params[0].item(), params[1].item()));
        }
        let steps_to_1e4 = path.iter().position(|&(x, y)| rosenbrock(x, y) < 1e-4);
        runs.push(Run {
            optimizer: kind,
            lr,
            path,
            steps_to_1e4,
            stopped,
        });
    }

    writeln!(
        out,
        "| optimizer | lr | final (x, y) | f(x, y) | distance to (1, 1) | steps to f < 1e-4 |"
    )?;
    writeln!(out, "|---|---:|---|---:|---:|---:|")?;
    for r in &runs {
        let (x, y) = r.last();
        writeln!(
            out,
            "| {} | {} | ({}, {}) | {:.3e} | {:.3e} | {} |",
            r.optimizer,
            r.lr,
            coordinate(x),
            coordinate(y),
            rosenbrock(x, y),
            (x - 1.0).hypot(y - 1.0),
            r.steps_to_1e4
                .map_or_else(|| "not reached".to_string(), |s| s.to_string())
        )?;
        if let Some(reason) = &r.stopped {
            writeln!(out, "  {} stopped early: {reason}", r.optimizer)?;
        }
    }
    draw(args, &runs)?;
    writeln!(out, "figure: {}", figure.display())?;
    Ok(runs)
}

/// `0.99985`, or `1.373e94` for a diverged run.
fn coordinate(v: f64) -> String {
    if v.abs() < 1e4 {
        format!("{v:.5}")
    } else {
        format!("{v:.3e}")
    }
}

fn draw(args: &Args, runs: &[Run]) -> Result<(), BoxError> {
    // At most ~1000 points a path keeps the file small; the curve looks the same.
    let paths: Vec<Series> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let every = r.path.len().div_ceil(1000).max(1);
            let mut points: Vec<(f64, f64)> = r.path.iter().copied().step_by(every).collect();
            points.push(r.last());
            Series {
                name: format!("{} (lr {})", r.optimizer, r.lr),
                color: plot::color(i),
                points,
            }
        })
        .collect();
    let levels: Vec<f64> = (-2..=10).map(|k| 2f64.powi(k) * 0.25).collect();
    plot::svg(&args.output, (800, 640), |root| {
        plot::draw_contours_with_paths(
            root,
            "Rosenbrock from (-1.5, 2)",
            rosenbrock,
            (-2.0..2.0, -1.0..3.0),
            &levels,
            &paths,
            (1.0, 1.0),
        )
    })
}
