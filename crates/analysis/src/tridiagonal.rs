//! The eigendecomposition of a small symmetric tridiagonal matrix, the
//! projection `T = Q^T H Q` that Lanczos builds: implicit QL with Wilkinson
//! shifts (the EISPACK `tql2` algorithm), O(m^2) per eigenvalue.

/// Eigenvalues (ascending) and eigenvectors of the symmetric tridiagonal
/// matrix with diagonal `diagonal` (length `m`) and off-diagonal
/// `off_diagonal` (length `m - 1`, `T[i, i+1]`). The eigenvectors are the
/// columns of the returned row-major `m x m` matrix: `vectors[i * m + j]`
/// is component `i` of eigenvector `j`.
pub(crate) fn symmetric_tridiagonal_eigen(
    diagonal: &[f64],
    off_diagonal: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let n = diagonal.len();
    assert_eq!(
        off_diagonal.len() + 1,
        n.max(1),
        "a tridiagonal matrix of size {n} has {} off-diagonal elements, got {}",
        n.saturating_sub(1),
        off_diagonal.len()
    );
    let mut d = diagonal.to_vec();
    // e[i] couples rows i and i + 1; e[n - 1] is a zero sentinel
    let mut e = off_diagonal.to_vec();
    e.push(0.0);
    let mut z = vec![0.0; n * n];
    for i in 0..n {
        z[i * n + i] = 1.0;
    }
    for l in 0..n {
        let mut iterations = 0;
        loop {
            // find a small off-diagonal element that splits the matrix
            let mut m = l;
            while m + 1 < n {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            iterations += 1;
            assert!(
                iterations <= 60,
                "tridiagonal eigensolver: no convergence after 60 QL sweeps (a NaN in the matrix?)"
            );
            // Wilkinson shift from the leading 2x2 block
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = g.hypot(1.0);
            g = d[m] - d[l] + e[l] / (g + r.copysign(g));
            let (mut s, mut c, mut p) = (1.0, 1.0, 0.0);
            let mut underflow = false;
            let mut i = m;
            while i > l {
                i -= 1;
                let f = s * e[i];
                let b = c * e[i];
                r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    // the rotation underflowed: deflate and start again
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    underflow = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
                for k in 0..n {
                    let f = z[k * n + i + 1];
                    z[k * n + i + 1] = s * z[k * n + i] + c * f;
                    z[k * n + i] = c * z[k * n + i] - s * f;
                }
            }
            if underflow {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
    // sort ascending, carrying the vectors along
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| d[a].total_cmp(&d[b]));
    let values = order.iter().map(|&j| d[j]).collect();
    let mut vectors = vec![0.0; n * n];
    for (new, &old) in order.iter().enumerate() {
        for i in 0..n {
            vectors[i * n + new] = z[i * n + old];
        }
    }
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_decomposition(d: &[f64], e: &[f64]) {
        let n = d.len();
        let (values, vectors) = symmetric_tridiagonal_eigen(d, e);
        assert!(values.windows(2).all(|w| w[0] <= w[1]));
        // T x = lambda x for every pair, and the vectors are orthonormal
        for j in 0..n {
            for i in 0..n {
                let mut tx = d[i] * vectors[i * n + j];
                if i > 0 {
                    tx += e[i - 1] * vectors[(i - 1) * n + j];
                }
                if i + 1 < n {
                    tx += e[i] * vectors[(i + 1) * n + j];
                }
                let scale = values.iter().fold(1.0_f64, |a, v| a.max(v.abs()));
                assert!(
                    (tx - values[j] * vectors[i * n + j]).abs() < 1e-13 * scale,
                    "pair {j}, row {i}"
                );
            }
            for k in 0..n {
                let g: f64 = (0..n)
                    .map(|i| vectors[i * n + j] * vectors[i * n + k])
                    .sum();
                let expected = if j == k { 1.0 } else { 0.0 };
                assert!((g - expected).abs() < 1e-13, "gram[{j}, {k}] = {g}");
            }
        }
    }

    #[test]
    fn eigenpairs_satisfy_the_definition() {
        check_decomposition(&[2.0, -1.0, 3.5, 0.25, 7.0], &[1.0, 0.5, -2.0, 1e-3]);
        check_decomposition(&[1.0], &[]);
        // a split (zero off-diagonal) and repeated diagonal values
        check_decomposition(&[1.0, 1.0, 1.0, 4.0], &[0.0, 1.0, 0.0]);
        // a larger one with small couplings
        let d: Vec<f64> = (0..40).map(|i| (i as f64 * 0.37).sin() * 10.0).collect();
        let e: Vec<f64> = (0..39).map(|i| 1e-6 + (i as f64 * 1.3).cos()).collect();
        check_decomposition(&d, &e);
    }

    #[test]
    fn eigenvalues_of_the_path_laplacian_are_known() {
        // tridiag(-1, 2, -1) of size n: 2 - 2 cos(k pi / (n + 1))
        let n = 12;
        let (values, _) = symmetric_tridiagonal_eigen(&vec![2.0; n], &vec![-1.0; n - 1]);
        for (k, v) in values.iter().enumerate() {
            let exact = 2.0 - 2.0 * ((k + 1) as f64 * std::f64::consts::PI / (n + 1) as f64).cos();
            assert!((v - exact).abs() < 1e-14, "{v} vs {exact}");
        }
    }
}
