//! Flat `f64` vectors over the operator's parameters, and the few
//! operations the Krylov methods need on them.

use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub(crate) fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// `y += alpha * x`.
pub(crate) fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

pub(crate) fn scale(alpha: f64, x: &mut [f64]) {
    for x in x.iter_mut() {
        *x *= alpha;
    }
}

/// Scales `x` to unit norm and returns the norm it had.
pub(crate) fn normalize(x: &mut [f64]) -> f64 {
    let n = norm(x);
    if n > 0.0 {
        scale(1.0 / n, x);
    }
    n
}

/// Removes from `x` its components along the orthonormal `basis`, twice:
/// one classical Gram-Schmidt pass loses orthogonality in floating point
/// when `x` is nearly in the span, and a second pass restores it ("twice
/// is enough", Giraud et al. 2005).
pub(crate) fn orthogonalize(x: &mut [f64], basis: &[Vec<f64>]) {
    for _ in 0..2 {
        for q in basis {
            let c = dot(x, q);
            axpy(-c, q, x);
        }
    }
}

/// A standard normal vector, normalised: a uniform direction on the sphere.
pub(crate) fn random_unit<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    let mut v: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
    normalize(&mut v);
    v
}

/// A Rademacher vector: each element -1 or +1 with probability 1/2.
pub(crate) fn rademacher<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    (0..n)
        .map(|_| if rng.random_bool(0.5) { 1.0 } else { -1.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvature_autograd::seeded_rng;

    #[test]
    fn orthogonalize_leaves_no_component_along_the_basis() {
        let mut rng = seeded_rng(3);
        let mut basis: Vec<Vec<f64>> = Vec::new();
        for _ in 0..5 {
            let mut q = random_unit(8, &mut rng);
            orthogonalize(&mut q, &basis);
            normalize(&mut q);
            basis.push(q);
        }
        let mut x = random_unit(8, &mut rng);
        orthogonalize(&mut x, &basis);
        for q in &basis {
            assert!(dot(&x, q).abs() < 1e-15, "{}", dot(&x, q));
        }
        assert!(norm(&x) > 0.1);
    }

    #[test]
    fn rademacher_entries_are_signs_of_both_kinds() {
        let z = rademacher(64, &mut seeded_rng(1));
        assert!(z.iter().all(|&x| x == 1.0 || x == -1.0));
        assert!(z.contains(&1.0) && z.contains(&-1.0));
    }
}
