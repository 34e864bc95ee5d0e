//! Gradient checkers: analytic derivatives against central differences in
//! `f64`, with PyTorch's defaults (eps 1e-6, atol 1e-5, rtol 1e-3).

use std::borrow::Borrow;
use std::fmt;

use crate::{seeded_rng, GradOptions, Tape, Tensor, Var};

/// Tolerances of [`gradcheck`] and [`gradgradcheck`].
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// The central-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance (relative to the numerical value).
    pub rtol: f64,
    /// Seed of the random `grad_output` that [`gradgradcheck`] uses.
    pub seed: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
            seed: 0,
        }
    }
}

/// One Jacobian entry compared: `d output[output] / d inputs[input][index]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Which input.
    pub input: usize,
    /// The flat (row-major) element index in that input.
    pub index: usize,
    /// The flat element index in the output.
    pub output: usize,
    /// The derivative from the tape.
    pub analytic: f64,
    /// The central-difference estimate.
    pub numeric: f64,
}

/// The outcome of a check: whether every entry was within tolerance, and
/// the entry that came closest to failing (or failed worst).
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// Every entry within `atol + rtol * |numeric|`.
    pub passed: bool,
    /// The number of Jacobian entries compared.
    pub entries: usize,
    /// The largest `|analytic - numeric|`.
    pub max_abs_error: f64,
    /// The entry with the largest error relative to its tolerance.
    pub worst: Option<Entry>,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "passed" } else { "FAILED" };
        write!(
            f,
            "{verdict}: {} entries, max abs error {:.3e}",
            self.entries, self.max_abs_error
        )?;
        if let Some(w) = &self.worst {
            write!(
                f,
                "; worst d out[{}] / d input {}[{}]: analytic {:.10e}, numeric {:.10e}",
                w.output, w.input, w.index, w.analytic, w.numeric
            )?;
        }
        Ok(())
    }
}

/// Checks the first derivatives of `f` at `inputs`: the full Jacobian from
/// the tape (one vector-Jacobian product per output element) against
/// central differences. `f` may return a tensor of any shape.
///
/// ```
/// use curvature_autograd::{gradcheck, CheckOptions, Tape, Tensor, Var};
/// let f = |_: &Tape<f64>, p: &[Var<f64>]| p[0].tanh().mul(&p[1]);
/// let x = Tensor::from_vec(vec![0.3, -1.2], &[2]);
/// let y = Tensor::from_vec(vec![2.0, 0.5], &[2]);
/// let report = gradcheck(&f, &[x, y], &CheckOptions::default());
/// assert!(report.passed, "{report}");
/// ```
pub fn gradcheck<F>(
    f: F,
    inputs: impl IntoIterator<Item = impl Borrow<Tensor<f64>>>,
    options: &CheckOptions,
) -> CheckReport
where
    F: Fn(&Tape<f64>, &[Var<f64>]) -> Var<f64>,
{
    let inputs: Vec<Tensor<f64>> = inputs.into_iter().map(|x| x.borrow().clone()).collect();
    let inputs = &inputs[..];
    // per input, `[m, numel]` row-major: one vector-Jacobian product per output element
    let analytic: Vec<Vec<f64>> = crate::functional::jacobian(&f, inputs)
        .into_iter()
        .map(Tensor::into_vec)
        .collect();
    let mut report = CheckReport {
        passed: true,
        entries: 0,
        max_abs_error: 0.0,
        worst: None,
    };
    let mut worst_ratio = -1.0;
    for (k, x) in inputs.iter().enumerate() {
        for i in 0..x.numel() {
            let plus = evaluate(&f, inputs, k, i, options.eps);
            let minus = evaluate(&f, inputs, k, i, -options.eps);
            for (j, (p, m)) in plus.iter().zip(&minus).enumerate() {
                let numeric = (p - m) / (2.0 * options.eps);
                let a = analytic[k][j * x.numel() + i];
                let err = (a - numeric).abs();
                let tolerance = options.atol + options.rtol * numeric.abs();
                report.entries += 1;
                if err.is_nan() || err > tolerance {
                    report.passed = false;
                }
                report.max_abs_error = report.max_abs_error.max(err);
                let ratio = if err.is_nan() {
                    f64::INFINITY
                } else {
                    err / tolerance
                };
                if ratio > worst_ratio {
                    worst_ratio = ratio;
                    report.worst = Some(Entry {
                        input: k,
                        index: i,
                        output: j,
                        analytic: a,
                        numeric,
                    });
                }
            }
        }
    }
    report
}

/// Checks the second derivatives of `f`: [`gradcheck`] applied to
/// `(x, u) -> J(x)^T u`, the vector-Jacobian product as a function of the
/// inputs and of a seeded random `u`, computed on the tape with its graph
/// kept. This differentiates every derivative rule `f` uses.
pub fn gradgradcheck<F>(
    f: F,
    inputs: impl IntoIterator<Item = impl Borrow<Tensor<f64>>>,
    options: &CheckOptions,
) -> CheckReport
where
    F: Fn(&Tape<f64>, &[Var<f64>]) -> Var<f64>,
{
    let inputs: Vec<Tensor<f64>> = inputs.into_iter().map(|x| x.borrow().clone()).collect();
    let inputs = &inputs[..];
    let out_shape = {
        let tape = Tape::new();
        let vars: Vec<Var<f64>> = inputs.iter().map(|x| tape.constant(x)).collect();
        f(&tape, &vars).shape()
    };
    let u = Tensor::randn(&out_shape, 0.0, 1.0, &mut seeded_rng(options.seed));
    let n = inputs.len();
    let vjp = |tape: &Tape<f64>, p: &[Var<f64>]| {
        let y = f(tape, &p[..n]);
        let seed = (&y * &p[n]).sum();
        let grads = tape
            .try_grad_graph(&seed, &p[..n], &GradOptions::new())
            .expect("a scalar seed");
        let flat: Vec<Var<f64>> = grads.iter().map(Var::flatten).collect();
        Var::concat(&flat, 0)
    };
    let mut all: Vec<Tensor<f64>> = inputs.to_vec();
    all.push(u);
    gradcheck(vjp, &all, options)
}

/// `f` at `inputs` with element `i` of input `k` moved by `delta`, flattened.
/// The inputs are leaves, not constants: `f` may differentiate them itself
/// (as the vector-Jacobian product of [`gradgradcheck`] does), and a
/// gradient with respect to a constant would read zero.
fn evaluate<F>(f: &F, inputs: &[Tensor<f64>], k: usize, i: usize, delta: f64) -> Vec<f64>
where
    F: Fn(&Tape<f64>, &[Var<f64>]) -> Var<f64>,
{
    let tape = Tape::new();
    let vars: Vec<Var<f64>> = inputs
        .iter()
        .enumerate()
        .map(|(m, x)| {
            if m == k {
                let mut moved = x.to_vec();
                moved[i] += delta;
                tape.var(Tensor::from_vec(moved, x.shape()))
            } else {
                tape.var(x)
            }
        })
        .collect();
    f(&tape, &vars).value().to_vec()
}
