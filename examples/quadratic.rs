//! The seed article's figure: gradient descent against AdaHessian on a
//! 2-D quadratic `f(x) = 1/2 (x - c)ᵀ A (x - c)`.
//!
//! AdaHessian here runs without momentum and without averaging over
//! steps (betas (0, 0)), with Hessian power 1, learning rate 1 and eps 0:
//! its step is `g / |z ⊙ Az|`, a Newton step with the Hessian replaced by
//! a diagonal estimate. When `A` is diagonal the estimate is exact for any
//! Rademacher `z` (`z ⊙ Az = diag(A) z² = diag(A)`), so AdaHessian lands on
//! the minimum in one step, while gradient descent, even at its best
//! constant step size, zig-zags along the stiff axis and crawls along the
//! flat one. Rotate the same quadratic and `A` is no longer diagonal:
//! `z ⊙ Az = diag(A) ± a12`, so each step's estimate is off by the
//! off-diagonal entry, and even the exact diagonal is not the Hessian:
//! the one-step property is gone.
//!
//! The other optimizers (Adam, AdamW, Sophia-H, Newton-CG, L-BFGS) run
//! the same steps at the examples' defaults, for comparison: their paths
//! are drawn too, and their distance to the minimum printed.
//!
//! ```text
//! cargo run --release --example quadratic
//! cargo run --release --example quadratic -- --rotation 30 --condition 20
//! ```

use crate::support;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use curvature::autograd::{Tape, Tensor, Var};
use curvature::optim::{AdaHessian, AdaHessianConfig, Optimizer, Sgd, SgdConfig};

use support::optimizers::{self, Hyperparameters, OptimizerKind};
use support::plot::{self, Series};
use support::BoxError;

/// Gradient descent against AdaHessian (diagonal Newton) on a separable
/// and a rotated 2-D quadratic.
#[derive(Parser, Debug, Clone)]
#[command(name = "quadratic", version, allow_negative_numbers = true)]
pub struct Args {
    /// Iterations of each method.
    #[arg(long, default_value_t = 12)]
    pub steps: usize,
    /// Ratio of the two curvatures (eigenvalues of A are 1 and this).
    #[arg(long, default_value_t = 10.0)]
    pub condition: f64,
    /// Rotation of the second quadratic, in degrees.
    #[arg(long, default_value_t = 30.0)]
    pub rotation: f64,
    /// Gradient descent's step size [default: 2 / (1 + condition), the
    /// best constant step on these quadratics].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Seeds AdaHessian's Rademacher draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the SVG figure.
    #[arg(long, default_value = "quadratic.svg")]
    pub output: PathBuf,
}

/// The minimum, the start, and each method's iterates, for one quadratic.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub a: [[f64; 2]; 2],
    pub minimum: [f64; 2],
    /// Iterates of gradient descent, the start first.
    pub gradient_descent: Vec<[f64; 2]>,
    /// Iterates of AdaHessian, the start first (shorter when it diverged
    /// until its values overflowed).
    pub adahessian: Vec<[f64; 2]>,
    /// The Hessian-diagonal estimate AdaHessian used at each step.
    pub diagonal_estimates: Vec<[f64; 2]>,
    /// Iterates of `x - g / diag(A)`: diagonal Newton with the exact
    /// diagonal, what AdaHessian's estimate averages to.
    pub exact_diagonal: Vec<[f64; 2]>,
    /// The iterates of every other optimizer at the examples' defaults
    /// (shorter when a step was refused).
    pub others: Vec<(OptimizerKind, Vec<[f64; 2]>)>,
}

impl Case {
    /// `f` at `x`.
    pub fn value(&self, x: [f64; 2]) -> f64 {
        let d = [x[0] - self.minimum[0], x[1] - self.minimum[1]];
        let a = &self.a;
        0.5 * (a[0][0] * d[0] * d[0] + 2.0 * a[0][1] * d[0] * d[1] + a[1][1] * d[1] * d[1])
    }

    /// The distance from `x` to the minimum.
    pub fn distance(&self, x: [f64; 2]) -> f64 {
        (x[0] - self.minimum[0]).hypot(x[1] - self.minimum[1])
    }

    /// The factor by which exact diagonal Newton shrinks the error per
    /// step: the spectral radius of `I - diag(A)⁻¹ A`, `|a12| / sqrt(a11 a22)`.
    pub fn diagonal_newton_rate(&self) -> f64 {
        let a = &self.a;
        a[0][1].abs() / (a[0][0] * a[1][1]).sqrt()
    }
}

const START: [f64; 2] = [-4.0, 2.5];
const MINIMUM: [f64; 2] = [1.0, -0.5];

/// The program on `args` (its name first), with errors to `stderr`:
/// returns the exit code. The `main` of `examples/bin/quadratic.rs`.
pub fn main(args: impl IntoIterator<Item = OsString>, stderr: &mut dyn Write) -> u8 {
    support::main_with(args, stderr, |args: &Args| {
        run(args, &mut std::io::stdout().lock()).map(|_| ())
    })
}

/// Runs both methods on both quadratics, prints every iterate to `out`
/// and draws the figure.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Vec<Case>, BoxError> {
    let figure = support::check_output(&args.output)?;
    if !(args.condition >= 1.0 && args.condition.is_finite()) {
        return Err(format!("--condition {} must be a number >= 1", args.condition).into());
    }
    if !args.rotation.is_finite() {
        return Err("--rotation must be a finite angle in degrees".into());
    }
    let lr = args.lr.unwrap_or(2.0 / (1.0 + args.condition));
    let cases = [("separable", 0.0), ("rotated", args.rotation.to_radians())];
    let mut results = Vec::new();
    for (name, angle) in cases {
        let a = rotated_diagonal(1.0, args.condition, angle);
        let name = if angle == 0.0 {
            format!("{name}: A = diag(1, {})", args.condition)
        } else {
            format!("{name} by {}°", args.rotation)
        };
        let case = run_case(name, a, lr, args)?;
        print_case(out, &case, lr)?;
        results.push(case);
    }
    draw(args, &results, lr)?;
    writeln!(out, "figure: {}", figure.display())?;
    Ok(results)
}

/// `R diag(l1, l2) Rᵀ` with `R` the rotation by `angle`.
fn rotated_diagonal(l1: f64, l2: f64, angle: f64) -> [[f64; 2]; 2] {
    let (s, c) = angle.sin_cos();
    // `+ 0.0` turns the -0.0 of an unrotated matrix into 0.0 for printing.
    let off_diagonal = (l1 - l2) * s * c + 0.0;
    [
        [l1 * c * c + l2 * s * s, off_diagonal],
        [off_diagonal, l1 * s * s + l2 * c * c],
    ]
}

fn run_case(name: String, a: [[f64; 2]; 2], lr: f64, args: &Args) -> Result<Case, BoxError> {
    let a_tensor = Tensor::from_vec(a.iter().flatten().copied().collect(), &[2, 2]);
    let c = Tensor::from_vec(MINIMUM.to_vec(), &[1, 2]);
    // f(x) = 1/2 (x - c) A (x - c)ᵀ, with x a [1, 2] row
    let f = |_: &Vec<Tensor<f64>>, tape: &Tape<f64>, p: &[Var<f64>]| {
        let d = &p[0] - &tape.constant(&c);
        (&d.matmul(&tape.constant(&a_tensor)) * &d).sum() * 0.5
    };
    let point = |p: &Vec<Tensor<f64>>| [p[0].as_slice()[0], p[0].as_slice()[1]];
    let start = vec![Tensor::from_vec(START.to_vec(), &[1, 2])];

    let mut params = start.clone();
    let mut sgd = Sgd::new(SgdConfig::new(lr))?;
    let mut gradient_descent = vec![point(&params)];
    for _ in 0..args.steps {
        sgd.step(&mut params, f)?;
        gradient_descent.push(point(&params));
    }

    let config = AdaHessianConfig {
        lr: 1.0,
        betas: (0.0, 0.0),
        eps: 0.0,
        hessian_power: 1.0,
        seed: args.seed,
        ..AdaHessianConfig::default()
    };
    let mut params = start;
    let mut adahessian = AdaHessian::new(&params, config)?;
    let mut iterates = vec![point(&params)];
    let mut diagonal_estimates = Vec::new();
    for _ in 0..args.steps {
        // A diverging run stops when its loss overflows (the step is refused).
        if adahessian.step(&mut params, f).is_err() {
            break;
        }
        iterates.push(point(&params));
        let d = adahessian.hessian_diagonal()[0].as_slice().to_vec();
        diagonal_estimates.push([d[0], d[1]]);
    }

    let mut others = Vec::new();
    for kind in OptimizerKind::ALL {
        if matches!(kind, OptimizerKind::Sgd | OptimizerKind::AdaHessian) {
            continue; // above, with the settings of the figure
        }
        let mut params = vec![Tensor::from_vec(START.to_vec(), &[1, 2])];
        let mut optimizer =
            optimizers::build(kind, &Hyperparameters::default(), &params, args.seed)?;
        let mut path = vec![point(&params)];
        for _ in 0..args.steps {
            if optimizer.step(&mut params, f).is_err() {
                break;
            }
            path.push(point(&params));
        }
        others.push((kind, path));
    }

    let mut x = START;
    let mut exact_diagonal = vec![x];
    for _ in 0..args.steps {
        let d = [x[0] - MINIMUM[0], x[1] - MINIMUM[1]];
        let g = [
            a[0][0] * d[0] + a[0][1] * d[1],
            a[1][0] * d[0] + a[1][1] * d[1],
        ];
        x = [x[0] - g[0] / a[0][0], x[1] - g[1] / a[1][1]];
        exact_diagonal.push(x);
    }
    Ok(Case {
        name,
        a,
        minimum: MINIMUM,
        gradient_descent,
        adahessian: iterates,
        diagonal_estimates,
        exact_diagonal,
        others,
    })
}

fn print_case(out: &mut dyn Write, case: &Case, lr: f64) -> Result<(), BoxError> {
    let a = &case.a;
    writeln!(out, "== {}", case.name)?;
    writeln!(
        out,
        "A = [[{:.4}, {:.4}], [{:.4}, {:.4}]], minimum ({}, {}), start ({}, {})",
        a[0][0], a[0][1], a[1][0], a[1][1], MINIMUM[0], MINIMUM[1], START[0], START[1]
    )?;
    let estimate = if a[0][1] == 0.0 {
        "D = |z ⊙ Az| = diag(A) for every z".to_string()
    } else {
        format!(
            "D = |z ⊙ Az| = |diag(A) ± a12| = ({:.4} or {:.4}, {:.4} or {:.4})",
            (a[0][0] - a[0][1].abs()).abs(),
            a[0][0] + a[0][1].abs(),
            (a[1][1] - a[0][1].abs()).abs(),
            a[1][1] + a[0][1].abs(),
        )
    };
    writeln!(
        out,
        "gradient descent: lr {lr:.4}; adahessian: lr 1, betas (0, 0), eps 0, hessian power 1, \
         one Rademacher draw per step: {estimate}"
    )?;
    writeln!(
        out,
        "{:>4}  {:>20} {:>9}  {:>20} {:>9}  {:>18}  {:>20} {:>9}",
        "step", "gradient descent", "f", "adahessian", "f", "its D", "exact diag. Newton", "f"
    )?;
    let pair = |p: [f64; 2]| format!("({:8.4}, {:8.4})", p[0], p[1]);
    for k in 0..case.gradient_descent.len() {
        let gd = case.gradient_descent[k];
        let (ah, ah_f) = match case.adahessian.get(k) {
            Some(&p) => (pair(p), format!("{:9.2e}", case.value(p))),
            None => ("(overflowed)".to_string(), String::new()),
        };
        let estimate = match k
            .checked_sub(1)
            .and_then(|i| case.diagonal_estimates.get(i))
        {
            Some(d) => format!("({:.4}, {:.4})", d[0], d[1]),
            None => String::new(),
        };
        let exact = case.exact_diagonal[k];
        writeln!(
            out,
            "{k:>4}  {:>20} {:>9.2e}  {ah:>20} {ah_f:>9}  {estimate:>18}  {:>20} {:>9.2e}",
            pair(gd),
            case.value(gd),
            pair(exact),
            case.value(exact),
        )?;
    }
    let last = |path: &[[f64; 2]]| path.last().map_or(f64::NAN, |&p| case.distance(p));
    let diverged = case.adahessian.len() < case.gradient_descent.len();
    writeln!(
        out,
        "distance to the minimum after {} steps: gradient descent {:.3e}, adahessian {}, \
         exact diagonal Newton {:.3e} (it contracts by {:.3} per step)",
        case.gradient_descent.len() - 1,
        last(&case.gradient_descent),
        if diverged {
            "overflowed (diverged)".to_string()
        } else {
            format!("{:.3e}", last(&case.adahessian))
        },
        last(&case.exact_diagonal),
        case.diagonal_newton_rate()
    )?;
    writeln!(
        out,
        "adahessian after one step: distance {:.3e}",
        case.adahessian
            .get(1)
            .map_or(f64::NAN, |&p| case.distance(p))
    )?;
    for (kind, path) in &case.others {
        writeln!(
            out,
            "{kind} (the examples' defaults): distance after one step {:.3e}, after {} steps {:.3e}",
            path.get(1).map_or(f64::NAN, |&p| case.distance(p)),
            path.len() - 1,
            last(path)
        )?;
    }
    writeln!(out)?;
    Ok(())
}

fn draw(args: &Args, cases: &[Case], lr: f64) -> Result<(), BoxError> {
    plot::svg(&args.output, (1200, 560), |root| {
        let panels = root.split_evenly((1, 2));
        for (panel, case) in panels.iter().zip(cases) {
            let to_points = |path: &[[f64; 2]]| path.iter().map(|p| (p[0], p[1])).collect();
            let mut paths = vec![
                Series {
                    name: format!("gradient descent (lr {lr:.3})"),
                    color: plot::color(0),
                    points: to_points(&case.gradient_descent),
                },
                Series {
                    name: "diagonal Newton, exact diag(A)".to_string(),
                    color: plot::color(2),
                    points: to_points(&case.exact_diagonal),
                },
                Series {
                    name: "adahessian, one draw per step".to_string(),
                    color: plot::color(3),
                    points: to_points(&case.adahessian),
                },
            ];
            for (i, (kind, path)) in case.others.iter().enumerate() {
                paths.push(Series {
                    name: kind.to_string(),
                    color: plot::color(4 + i),
                    points: to_points(path),
                });
            }
            // The box of the converging paths; a diverging one is clipped.
            let converging = case.gradient_descent.iter().chain(&case.exact_diagonal);
            let xs = plot::padded_range(converging.clone().map(|p| p[0]), 0.15);
            let ys = plot::padded_range(converging.map(|p| p[1]), 0.15);
            let top = case.value(START) * 2.0;
            let levels: Vec<f64> = (0..14).map(|k| top * 0.5_f64.powi(k)).rev().collect();
            plot::draw_contours_with_paths(
                panel,
                &case.name,
                |x, y| case.value([x, y]),
                (xs, ys),
                &levels,
                &paths,
                (case.minimum[0], case.minimum[1]),
            )?;
        }
        Ok(())
    })
}
