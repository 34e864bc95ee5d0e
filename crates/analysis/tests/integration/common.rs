//! Known matrices, a small model, and exact answers from nalgebra.

use curvature_analysis::{AnalysisError, SymmetricOperator};
use curvature_autograd::{functional, seeded_rng, Tape, Tensor, Var};
use nalgebra::DMatrix;

/// A dense symmetric matrix as an operator (row-major `n x n`).
pub struct Dense {
    pub n: usize,
    pub a: Vec<f64>,
}

impl SymmetricOperator for Dense {
    fn dim(&self) -> usize {
        self.n
    }

    fn apply(&self, v: &[f64]) -> Result<Vec<f64>, AnalysisError> {
        assert_eq!(v.len(), self.n);
        Ok((0..self.n)
            .map(|i| (0..self.n).map(|j| self.a[i * self.n + j] * v[j]).sum())
            .collect())
    }
}

/// `Q diag(spectrum) Q^T` for a random orthogonal `Q` (the Q of a QR
/// factorisation of a seeded Gaussian matrix), row-major.
pub fn with_spectrum(spectrum: &[f64], seed: u64) -> Vec<f64> {
    let n = spectrum.len();
    let mut rng = seeded_rng(seed);
    let g = Tensor::<f64>::randn(&[n, n], 0.0, 1.0, &mut rng);
    let q = DMatrix::from_row_slice(n, n, &g.to_vec()).qr().q();
    let a = &q
        * DMatrix::from_diagonal(&nalgebra::DVector::from_column_slice(spectrum))
        * q.transpose();
    let a = (&a + a.transpose()) * 0.5; // exactly symmetric
    (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| a[(i, j)])
        .collect()
}

/// The eigenvalues of a symmetric row-major matrix, descending, by nalgebra.
pub fn exact_eigenvalues(a: &[f64], n: usize) -> Vec<f64> {
    let mut values: Vec<f64> = DMatrix::from_row_slice(n, n, a)
        .symmetric_eigen()
        .eigenvalues
        .iter()
        .copied()
        .collect();
    values.sort_by(|x, y| y.total_cmp(x));
    values
}

pub fn relative_error(got: f64, exact: f64) -> f64 {
    (got - exact).abs() / exact.abs().max(1e-300)
}

/// A classification batch: inputs `[rows, features]` and labels.
pub type Batch = (Tensor<f64>, Vec<usize>);

/// A tanh MLP `features -> hidden -> classes` (PyTorch's layout: weights
/// `[out, in]`) with seeded weights, and `batches` batches of `rows` rows.
pub fn small_mlp(
    features: usize,
    hidden: usize,
    classes: usize,
    batches: usize,
    rows: usize,
    seed: u64,
) -> (Vec<Tensor<f64>>, Vec<Batch>) {
    let mut rng = seeded_rng(seed);
    let params = vec![
        Tensor::randn(&[hidden, features], 0.0, 0.8, &mut rng),
        Tensor::randn(&[hidden], 0.0, 0.3, &mut rng),
        Tensor::randn(&[classes, hidden], 0.0, 0.8, &mut rng),
        Tensor::randn(&[classes], 0.0, 0.3, &mut rng),
    ];
    let data = (0..batches)
        .map(|b| {
            let x = Tensor::randn(&[rows, features], 0.0, 1.0, &mut rng);
            let labels = (0..rows).map(|i| (i * 7 + b * 3) % classes).collect();
            (x, labels)
        })
        .collect();
    (params, data)
}

/// The MLP's logits on a batch.
pub fn mlp_logits(tape: &Tape<f64>, p: &[Var<f64>], x: &Tensor<f64>) -> Var<f64> {
    let h = (&tape.constant(x).matmul_nt(&p[0]) + &p[1]).tanh();
    &h.matmul_nt(&p[2]) + &p[3]
}

/// Mean cross-entropy of logits against labels.
pub fn cross_entropy(logits: &Var<f64>, labels: &[usize]) -> Var<f64> {
    let index = Tensor::from_vec(labels.to_vec(), &[labels.len(), 1]);
    -logits.log_softmax(1).gather(1, &index).mean()
}

pub fn mlp_loss(tape: &Tape<f64>, p: &[Var<f64>], batch: &Batch) -> Var<f64> {
    cross_entropy(&mlp_logits(tape, p, &batch.0), &batch.1)
}

/// The exact Hessian of the mean of the batch losses, row-major `[n, n]`.
pub fn exact_mlp_hessian(params: &[Tensor<f64>], batches: &[Batch]) -> Vec<f64> {
    let f = |tape: &Tape<f64>, p: &[Var<f64>]| {
        let total = batches
            .iter()
            .map(|b| mlp_loss(tape, p, b))
            .reduce(|a, b| &a + &b)
            .expect("a batch");
        total * (1.0 / batches.len() as f64)
    };
    functional::hessian(f, params).to_vec()
}

/// The principal submatrix of rows and columns `start..start + len`.
pub fn block(a: &[f64], n: usize, start: usize, len: usize) -> Vec<f64> {
    (start..start + len)
        .flat_map(|i| (start..start + len).map(move |j| a[i * n + j]))
        .collect()
}
