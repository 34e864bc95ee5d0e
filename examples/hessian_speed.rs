//! Our half of the analysis speed comparison with PyHessian (see
//! docs/analysis.md): the model and data that
//! `benches/analysis/pyhessian_side_by_side.py DIR` wrote, the Hessian of
//! the mean cross-entropy over batches of 512 rows in `f64`, and for each
//! analysis at its default options its wall time and product count.
//!
//! ```text
//! ~/.cache/curvature-bench/venv/bin/python benches/analysis/pyhessian_side_by_side.py DIR
//! CURVATURE_NUM_THREADS=1 cargo run --release --example hessian_speed -- DIR
//! ```

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use curvature::analysis::{
    hutchinson_trace, spectral_density, top_eigenvalues, DensityOptions, EigenMethod, EigenOptions,
    HessianOperator, SymmetricOperator, TraceOptions,
};
use curvature::autograd::{Tape, Tensor, Var};
use curvature::nn::{cross_entropy, load_parameters, read_tensors, Activation, Mlp, Module};

// Keep freed memory between products (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Times the analyses on the model and data of the PyHessian side-by-side script.
#[derive(Parser, Debug)]
#[command(name = "hessian_speed", version)]
struct Args {
    /// The directory holding mlp.safetensors and data.safetensors.
    dir: PathBuf,
    /// Rows per batch.
    #[arg(long, default_value_t = 512)]
    batch: usize,
}

type Batch = (Tensor<f64>, Vec<usize>);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut mlp = Mlp::<f64>::new(&[64, 32, 10], Activation::Tanh, 0);
    load_parameters(&mut mlp, args.dir.join("mlp.safetensors"))?;
    let data = read_tensors::<f64>(args.dir.join("data.safetensors"))?;
    let (x, y) = (&data["x"], data["y"].to_vec());
    let rows = x.shape()[0];
    let batches: Vec<Batch> = (0..rows.div_ceil(args.batch))
        .map(|b| {
            let (start, len) = (b * args.batch, args.batch.min(rows - b * args.batch));
            let labels = y[start..start + len].iter().map(|&v| v as usize).collect();
            (x.narrow(0, start, len).contiguous(), labels)
        })
        .collect();
    let sizes: Vec<f64> = batches.iter().map(|b| b.1.len() as f64).collect();
    let loss = |tape: &Tape<f64>, p: &[Var<f64>], (x, y): &Batch| {
        cross_entropy(&mlp.forward(p, &tape.constant(x)), y)
    };
    let op = HessianOperator::new(&mlp, loss, &batches)?.with_batch_weights(&sizes)?;
    let v = vec![1.0; op.dim()];
    op.apply(&v)?; // warm-up
    let reps = 40;
    let start = Instant::now();
    for _ in 0..reps {
        op.apply(&v)?;
    }
    println!(
        "curvature: {:.1} full-dataset HVPs per second ({} parameters, {rows} rows, {} batches)",
        reps as f64 / start.elapsed().as_secs_f64(),
        op.dim(),
        batches.len()
    );
    let row = |name: &str, seconds: f64, hvps: u64, result: String| {
        println!("{name:<40} {seconds:8.3} s {hvps:6} HVPs   {result}");
    };
    let show = |values: &[f64]| format!("{:.6?}", values);
    let lanczos = EigenOptions::default();
    let power = EigenOptions {
        method: EigenMethod::PowerIteration,
        ..Default::default()
    };
    for (name, k, options) in [
        ("top 5 eigenvalues (Lanczos)", 5, lanczos),
        ("top 1 eigenvalue (Lanczos)", 1, lanczos),
        ("top 5 eigenvalues (power iteration)", 5, power),
        ("top 1 eigenvalue (power iteration)", 1, power),
    ] {
        let start = Instant::now();
        let top = top_eigenvalues(&op, k, &options)?;
        row(
            name,
            start.elapsed().as_secs_f64(),
            top.hvps,
            show(&top.values),
        );
    }
    let start = Instant::now();
    let trace = hutchinson_trace(&op, &TraceOptions::default())?;
    let result = format!("{:.4} +- {:.4}", trace.estimate, trace.std_error);
    row(
        "trace (Hutchinson)",
        start.elapsed().as_secs_f64(),
        trace.hvps,
        result,
    );
    let start = Instant::now();
    let density = spectral_density(&op, &DensityOptions::default())?;
    let (lo, hi) = density.range();
    let result = format!("nodes from {lo:.4} to {hi:.4}");
    row(
        "spectral density (SLQ, 100 steps)",
        start.elapsed().as_secs_f64(),
        density.hvps,
        result,
    );
    Ok(())
}
