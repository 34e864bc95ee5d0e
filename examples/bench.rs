//! Times one training operation on a tanh MLP and prints its median, the
//! harness behind docs/benchmarks.md.
//!
//! ```text
//! cargo run --release --example bench -- --workload mid --what hvp --iters 200 --threads 1
//! ```
//!
//! Workloads (float32, tanh between layers, fixed seeded data):
//! - `tiny`:  2-32-32-1, batch 64, MSE loss against random targets;
//! - `mid`:   64-256-256-10, batch 128, cross-entropy;
//! - `mnist`: 784-512-512-10, batch 256, cross-entropy.
//!
//! Operations, each what a user runs through `curvature::nn` and
//! `curvature::optim`:
//! - `grad`: forward and backward to every parameter's gradient
//!   (`functional::grad`);
//! - `hvp`: the gradient with its graph kept, then a second reverse sweep
//!   against a fixed random `v` (`functional::hvp`);
//! - `adam`: one `Adam` step through the `Optimizer` trait (forward,
//!   backward, update);
//! - `adahessian`: one `AdaHessian` step (gradient with graph, one
//!   Rademacher draw and its Hessian-vector product, update).
//!
//! The operation runs `--iters` times after a warm-up, each run timed on
//! its own. The output ends with the peak resident memory of the process
//! (`VmHWM`, where /proc is readable) and, as the last line,
//! `median_ms=<float>`, so scripts can take the median with `tail -n 1`.

use std::hint::black_box;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use curvature::autograd::{functional, seeded_rng, Parameters, Tape, Tensor, Var};
use curvature::nn::{cross_entropy, mse_loss, Activation, Mlp, Module};
use curvature::optim::{AdaHessian, AdaHessianConfig, Adam, AdamConfig, Optimizer};
use rand::RngExt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// 2-32-32-1, batch 64, MSE.
    Tiny,
    /// 64-256-256-10, batch 128, cross-entropy.
    Mid,
    /// 784-512-512-10, batch 256, cross-entropy.
    Mnist,
}

impl Workload {
    fn sizes(self) -> &'static [usize] {
        match self {
            Workload::Tiny => &[2, 32, 32, 1],
            Workload::Mid => &[64, 256, 256, 10],
            Workload::Mnist => &[784, 512, 512, 10],
        }
    }

    fn batch(self) -> usize {
        match self {
            Workload::Tiny => 64,
            Workload::Mid => 128,
            Workload::Mnist => 256,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum What {
    /// Forward and backward to all parameter gradients.
    Grad,
    /// Gradient with its graph kept, then a Hessian-vector product.
    Hvp,
    /// One Adam step through the Optimizer trait.
    Adam,
    /// One AdaHessian step (one Rademacher draw).
    Adahessian,
}

/// Times one operation of a tanh MLP; the last line printed is `median_ms=<float>`.
// No bare `about`: it would show the crate's description instead of this.
#[derive(Parser, Debug)]
#[command(name = "bench", version)]
struct Args {
    /// The MLP and batch.
    #[arg(long, value_enum, ignore_case = true)]
    workload: Workload,
    /// The operation to time.
    #[arg(long, value_enum, ignore_case = true)]
    what: What,
    /// Timed runs (after the warm-up).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    iters: u32,
    /// Warm-up runs before timing; default max(3, iters / 10).
    #[arg(long)]
    warmup: Option<u32>,
    /// Threads of the tensor kernels (`set_num_threads`): products and
    /// large element-wise kernels.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,
}

/// The model, its data and the direction of the Hessian-vector product.
struct Problem {
    mlp: Mlp<f32>,
    x: Tensor<f32>,
    /// Class labels (classification) or regression targets.
    target: Target,
    v: Vec<Tensor<f32>>,
}

enum Target {
    Labels(Vec<usize>),
    Values(Tensor<f32>),
}

impl Problem {
    fn new(workload: Workload) -> Self {
        let sizes = workload.sizes();
        let batch = workload.batch();
        let mlp = Mlp::<f32>::new(sizes, Activation::Tanh, 0);
        let mut rng = seeded_rng(1);
        let x = Tensor::randn(&[batch, sizes[0]], 0.0, 1.0, &mut rng);
        let outputs = *sizes.last().expect("an MLP has an output size");
        let target = if workload == Workload::Tiny {
            Target::Values(Tensor::randn(&[batch, outputs], 0.0, 1.0, &mut rng))
        } else {
            Target::Labels((0..batch).map(|_| rng.random_range(0..outputs)).collect())
        };
        let v = mlp
            .parameters()
            .iter()
            .map(|p| Tensor::randn(p.shape(), 0.0, 1.0, &mut rng))
            .collect();
        Self { mlp, x, target, v }
    }

    /// The loss of `model` (this problem's MLP or an optimizer's copy of
    /// it) with parameters `p` bound on `tape`.
    fn loss(&self, model: &Mlp<f32>, tape: &Tape<f32>, p: &[Var<f32>]) -> Var<f32> {
        let out = model.forward(p, &tape.constant(&self.x));
        match &self.target {
            Target::Labels(labels) => cross_entropy(&out, labels),
            Target::Values(y) => mse_loss(&out, &tape.constant(y)),
        }
    }
}

/// The operation under test, ready to run once per call.
enum Operation<'a> {
    Grad(&'a Problem, Vec<Tensor<f32>>),
    Hvp(&'a Problem, Vec<Tensor<f32>>),
    Adam(&'a Problem, Mlp<f32>, Adam<f32>),
    AdaHessian(&'a Problem, Mlp<f32>, AdaHessian<f32>),
}

impl<'a> Operation<'a> {
    fn new(what: What, problem: &'a Problem) -> Self {
        let theta: Vec<Tensor<f32>> = problem.mlp.parameters().into_iter().cloned().collect();
        match what {
            What::Grad => Operation::Grad(problem, theta),
            What::Hvp => Operation::Hvp(problem, theta),
            What::Adam => {
                let adam = Adam::new(AdamConfig::default()).expect("Adam's defaults are valid");
                Operation::Adam(problem, problem.mlp.clone(), adam)
            }
            What::Adahessian => {
                let model = problem.mlp.clone();
                let opt = AdaHessian::new(&model, AdaHessianConfig::default())
                    .expect("AdaHessian's defaults are valid");
                Operation::AdaHessian(problem, model, opt)
            }
        }
    }

    /// Runs the operation once and returns a value that depends on its
    /// result, so nothing can be optimised away.
    fn run(&mut self) -> f32 {
        match self {
            Operation::Grad(pb, theta) => {
                let f = |tape: &Tape<f32>, p: &[Var<f32>]| pb.loss(&pb.mlp, tape, p);
                let g = functional::grad(f, theta);
                g[0].as_slice()[0]
            }
            Operation::Hvp(pb, theta) => {
                let f = |tape: &Tape<f32>, p: &[Var<f32>]| pb.loss(&pb.mlp, tape, p);
                let hv = functional::hvp(f, theta, &pb.v);
                hv[0].as_slice()[0]
            }
            Operation::Adam(pb, model, opt) => opt
                .step(model, |m, tape, p| pb.loss(m, tape, p))
                .unwrap_or_else(|e| panic!("Adam step failed: {e}")),
            Operation::AdaHessian(pb, model, opt) => opt
                .step(model, |m, tape, p| pb.loss(m, tape, p))
                .unwrap_or_else(|e| panic!("AdaHessian step failed: {e}")),
        }
    }
}

/// The peak resident set size of this process in KiB (`VmHWM`), where
/// /proc/self/status is readable.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

// Keep freed memory for the next step instead of giving it back to the
// kernel (glibc trims its heap, and the next step faults every page back
// in): what PyTorch's caching allocator does. See docs/benchmarks.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = Args::parse();
    if let Err(e) = curvature::autograd::set_num_threads(args.threads as usize) {
        eprintln!("bench: {e}");
        std::process::exit(2);
    }

    let problem = Problem::new(args.workload);
    let mut op = Operation::new(args.what, &problem);
    let setup_rss = peak_rss_kib();

    let warmup = args.warmup.unwrap_or((args.iters / 10).max(3));
    let mut check = 0.0_f32;
    for _ in 0..warmup {
        check += black_box(op.run());
    }
    let mut times_ms = Vec::with_capacity(args.iters as usize);
    for _ in 0..args.iters {
        let start = Instant::now();
        check += black_box(op.run());
        times_ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times_ms.sort_by(f64::total_cmp);

    let sizes = args.workload.sizes();
    println!(
        "workload={:?} sizes={sizes:?} batch={} params={} what={:?} threads={} warmup={warmup} iters={}",
        args.workload,
        args.workload.batch(),
        problem.mlp.parameter_count(),
        args.what,
        args.threads,
        args.iters
    );
    println!(
        "min_ms={:.4} p10_ms={:.4} p90_ms={:.4} max_ms={:.4} mean_ms={:.4} (checksum {check:.3e})",
        times_ms[0],
        percentile(&times_ms, 0.1),
        percentile(&times_ms, 0.9),
        times_ms[times_ms.len() - 1],
        times_ms.iter().sum::<f64>() / times_ms.len() as f64,
    );
    match (peak_rss_kib(), setup_rss) {
        (Some(peak), Some(setup)) => println!(
            "peak_rss_mib={:.1} (VmHWM; {:.1} after setup, before the first run)",
            peak as f64 / 1024.0,
            setup as f64 / 1024.0
        ),
        _ => println!("peak_rss_mib=unavailable (/proc/self/status not readable)"),
    }
    println!("median_ms={:.4}", percentile(&times_ms, 0.5));
}
