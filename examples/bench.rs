//! Times one training operation on a small network and prints its median,
//! the harness behind docs/benchmarks.md.
//!
//! ```text
//! cargo run --release --example bench -- --workload mid --what hvp --iters 200 --threads 1
//! ```
//!
//! Workloads (float32, fixed seeded data, PyTorch's initialisation; the
//! same as `bench_common.py`, `bench_torch.py` and `bench_jax.py` of the
//! side-by-side harness):
//! - `tiny`:  tanh MLP 2-32-32-1, batch 64, MSE loss against random targets;
//! - `mid`:   tanh MLP 64-256-256-10, batch 128, cross-entropy;
//! - `mnist`: tanh MLP 784-512-512-10, batch 256, cross-entropy;
//! - `cnn`:   x [128, 1, 8, 8]; conv3x3(1->16, pad 1) tanh conv3x3(16->32,
//!   pad 1) tanh avgpool2 flatten(512) linear(512->10); cross-entropy;
//! - `lenet`: x [64, 1, 28, 28]; conv5x5(1->6) tanh maxpool2 conv5x5(6->16)
//!   tanh maxpool2 flatten(256) linear(256->120) tanh linear(120->84) tanh
//!   linear(84->10); cross-entropy;
//! - `gpt`:   tokens [32, 16] over a vocabulary of 16, the small GPT of
//!   `nn::Gpt` (learned token and position embeddings of width 64, 2
//!   pre-LN blocks with causal 4-head attention and an exact-GELU MLP of
//!   width 256, a final layer norm and a linear head); cross-entropy of
//!   the next-token targets over every position (512 of them).
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
use curvature::autograd::{
    functional, seeded_rng, ConvOptions, ParameterKind, Parameters, SeededRng, Tape, Tensor, Var,
};
use curvature::nn::{
    cross_entropy, mse_loss, AvgPool2d, Conv2d, Flatten, Gpt, GptConfig, Linear, MaxPool2d, Module,
    Sequential, Tanh,
};
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
    /// A two-conv net on [128, 1, 8, 8] inputs, cross-entropy.
    Cnn,
    /// LeNet-5 on [64, 1, 28, 28] inputs, cross-entropy.
    Lenet,
    /// A 2-block GPT (d 64, 4 heads) on [32, 16] tokens, cross-entropy
    /// over every position.
    Gpt,
}

/// The GPT workload's sizes: those of `bench_common.py`.
const GPT: GptConfig = GptConfig {
    vocabulary: 16,
    context: 16,
    d: 64,
    heads: 4,
    layers: 2,
};

impl Workload {
    /// The MLP's layer sizes (`None` for the conv nets).
    fn sizes(self) -> Option<&'static [usize]> {
        match self {
            Workload::Tiny => Some(&[2, 32, 32, 1]),
            Workload::Mid => Some(&[64, 256, 256, 10]),
            Workload::Mnist => Some(&[784, 512, 512, 10]),
            Workload::Cnn | Workload::Lenet | Workload::Gpt => None,
        }
    }

    fn batch(self) -> usize {
        match self {
            Workload::Tiny | Workload::Lenet => 64,
            Workload::Mid | Workload::Cnn => 128,
            Workload::Mnist => 256,
            Workload::Gpt => 32,
        }
    }

    /// The shape of one input (without the batch dimension).
    fn input(self) -> Vec<usize> {
        match self {
            Workload::Cnn => vec![1, 8, 8],
            Workload::Lenet => vec![1, 28, 28],
            Workload::Gpt => vec![GPT.context],
            _ => vec![self.sizes().expect("an MLP workload")[0]],
        }
    }

    /// The number of classes of a classification workload (`None`: regression).
    fn classes(self) -> Option<usize> {
        match self {
            Workload::Tiny => None,
            Workload::Gpt => Some(GPT.vocabulary),
            _ => Some(10),
        }
    }

    /// The network, initialised from seed 0.
    fn model(self) -> Model {
        if self == Workload::Gpt {
            let gpt = Gpt::new(GPT, 0).expect("a valid GPT configuration");
            return Model::Gpt(Box::new(gpt));
        }
        Model::Sequential(self.sequential())
    }

    /// The MLP or conv net, initialised from seed 0.
    fn sequential(self) -> Sequential<f32> {
        let mut rng = seeded_rng(0);
        let conv = |i, o, k, pad, rng: &mut SeededRng| {
            let options = ConvOptions {
                padding: (pad, pad),
                ..ConvOptions::default()
            };
            Conv2d::new(i, o, (k, k), options, rng).expect("a valid convolution")
        };
        match self {
            Workload::Cnn => Sequential::new()
                .add(conv(1, 16, 3, 1, &mut rng))
                .add(Tanh)
                .add(conv(16, 32, 3, 1, &mut rng))
                .add(Tanh)
                .add(AvgPool2d::new((2, 2)))
                .add(Flatten::default())
                .add(Linear::new(512, 10, &mut rng)),
            Workload::Lenet => Sequential::new()
                .add(conv(1, 6, 5, 0, &mut rng))
                .add(Tanh)
                .add(MaxPool2d::new((2, 2)))
                .add(conv(6, 16, 5, 0, &mut rng))
                .add(Tanh)
                .add(MaxPool2d::new((2, 2)))
                .add(Flatten::default())
                .add(Linear::new(256, 120, &mut rng))
                .add(Tanh)
                .add(Linear::new(120, 84, &mut rng))
                .add(Tanh)
                .add(Linear::new(84, 10, &mut rng)),
            _ => {
                let sizes = self.sizes().expect("an MLP workload");
                let mut model = Sequential::new();
                for (i, pair) in sizes.windows(2).enumerate() {
                    if i > 0 {
                        model.push(Tanh);
                    }
                    model.push(Linear::new(pair[0], pair[1], &mut rng));
                }
                model
            }
        }
    }
}

/// A workload's network: a `Sequential` of layers, or the GPT (whose input
/// is token ids, not a tensor of values).
enum Model {
    Sequential(Sequential<f32>),
    Gpt(Box<Gpt<f32>>),
}

impl Model {
    /// The network's output for `input`, with its parameters `p` bound on `tape`.
    fn forward(&self, tape: &Tape<f32>, p: &[Var<f32>], input: &Input) -> Var<f32> {
        match (self, input) {
            (Model::Sequential(m), Input::Values(x)) => m.forward(p, &tape.constant(x)),
            (Model::Gpt(m), Input::Tokens(ids)) => {
                // [batch, time, vocabulary] -> one row of logits per position
                m.forward(p, ids).reshape(&[ids.numel(), GPT.vocabulary])
            }
            _ => unreachable!("each workload builds the input its network takes"),
        }
    }

    fn as_parameters(&self) -> &dyn Parameters<f32> {
        match self {
            Model::Sequential(m) => m,
            Model::Gpt(m) => m.as_ref(),
        }
    }
}

impl Parameters<f32> for Model {
    fn parameters(&self) -> Vec<&Tensor<f32>> {
        self.as_parameters().parameters()
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<f32>> {
        match self {
            Model::Sequential(m) => m.parameters_mut(),
            Model::Gpt(m) => m.parameters_mut(),
        }
    }

    fn parameter_names(&self) -> Vec<String> {
        self.as_parameters().parameter_names()
    }

    fn parameter_kinds(&self) -> Vec<ParameterKind> {
        self.as_parameters().parameter_kinds()
    }
}

/// A workload's input: values, or token ids.
enum Input {
    Values(Tensor<f32>),
    Tokens(Tensor<usize>),
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

/// Times one operation of a small network; the last line printed is `median_ms=<float>`.
// No bare `about`: it would show the crate's description instead of this.
#[derive(Parser, Debug)]
#[command(name = "bench", version)]
struct Args {
    /// The network and batch.
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
    model: Model,
    x: Input,
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
        let model = workload.model();
        let mut rng = seeded_rng(1);
        let mut shape = vec![workload.batch()];
        shape.extend(workload.input());
        let (x, rows) = if workload == Workload::Gpt {
            // one next-token target per position
            let n = shape.iter().product();
            let ids = (0..n)
                .map(|_| rng.random_range(0..GPT.vocabulary))
                .collect();
            (Input::Tokens(Tensor::from_vec(ids, &shape)), n)
        } else {
            let x = Tensor::randn(&shape, 0.0, 1.0, &mut rng);
            (Input::Values(x), workload.batch())
        };
        let target = match workload.classes() {
            None => Target::Values(Tensor::randn(&[rows, 1], 0.0, 1.0, &mut rng)),
            Some(classes) => {
                Target::Labels((0..rows).map(|_| rng.random_range(0..classes)).collect())
            }
        };
        let v = model
            .parameters()
            .iter()
            .map(|p| Tensor::randn(p.shape(), 0.0, 1.0, &mut rng))
            .collect();
        Self {
            model,
            x,
            target,
            v,
        }
    }

    /// The loss of `model` (this problem's network or an optimizer's copy
    /// of it) with parameters `p` bound on `tape`.
    fn loss(&self, model: &Model, tape: &Tape<f32>, p: &[Var<f32>]) -> Var<f32> {
        let out = model.forward(tape, p, &self.x);
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
    Adam(&'a Problem, Model, Adam<f32>),
    AdaHessian(&'a Problem, Model, AdaHessian<f32>),
}

impl<'a> Operation<'a> {
    fn new(what: What, workload: Workload, problem: &'a Problem) -> Self {
        let theta: Vec<Tensor<f32>> = problem.model.parameters().into_iter().cloned().collect();
        match what {
            What::Grad => Operation::Grad(problem, theta),
            What::Hvp => Operation::Hvp(problem, theta),
            What::Adam => {
                let adam = Adam::new(AdamConfig::default()).expect("Adam's defaults are valid");
                Operation::Adam(problem, workload.model(), adam)
            }
            What::Adahessian => {
                let model = workload.model();
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
                let f = |tape: &Tape<f32>, p: &[Var<f32>]| pb.loss(&pb.model, tape, p);
                let g = functional::grad(f, theta);
                g[0].as_slice()[0]
            }
            Operation::Hvp(pb, theta) => {
                let f = |tape: &Tape<f32>, p: &[Var<f32>]| pb.loss(&pb.model, tape, p);
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
    let mut op = Operation::new(args.what, args.workload, &problem);
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

    println!(
        "workload={:?} input={:?} batch={} params={} what={:?} threads={} warmup={warmup} iters={}",
        args.workload,
        args.workload.input(),
        args.workload.batch(),
        problem.model.parameter_count(),
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
