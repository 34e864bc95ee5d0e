//! Stochastic Lanczos quadrature against the exact spectrum.

use curvature_analysis::{spectral_density, DensityOptions};

use crate::common::{exact_eigenvalues, with_spectrum, Dense};

fn spectrum() -> Vec<f64> {
    (0..60)
        .map(|i| ((i * 17) % 23) as f64 * 0.2 - 1.5 + if i < 3 { 4.0 } else { 0.0 })
        .collect()
}

#[test]
fn slq_moments_match_the_exact_spectrum_within_four_standard_errors() {
    // For a uniform unit v, v^T H^p v has mean tr(H^p) / n and variance
    // 2 / (n + 2) (mean(l^2p) - mean(l^p)^2); with 10 steps the rule is
    // exact for p <= 19, so the moments' only error is that sampling.
    let s = spectrum();
    let n = s.len() as f64;
    let op = Dense {
        n: s.len(),
        a: with_spectrum(&s, 8),
    };
    let vectors = 30;
    let slq = spectral_density(
        &op,
        &DensityOptions {
            steps: 10,
            vectors,
            seed: 3,
        },
    )
    .unwrap();
    assert_eq!(slq.hvps, 10 * vectors as u64);
    for w in &slq.weights {
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(w.iter().all(|&x| x >= 0.0));
    }
    for p in 1..=4 {
        let exact = s.iter().map(|l| l.powi(p)).sum::<f64>() / n;
        let second = s.iter().map(|l| l.powi(2 * p)).sum::<f64>() / n;
        let std_error = (2.0 / (n + 2.0) * (second - exact * exact) / vectors as f64).sqrt();
        let got = slq.moment(p);
        assert!(
            (got - exact).abs() < 4.0 * std_error,
            "moment {p}: {got} vs exact {exact} (std error {std_error})"
        );
    }
    assert!((slq.moment(0) - 1.0).abs() < 1e-12);
}

#[test]
fn with_as_many_steps_as_the_dimension_the_nodes_are_the_eigenvalues() {
    let s: Vec<f64> = (0..16).map(|i| i as f64 * 0.5 - 2.0).collect();
    let op = Dense {
        n: 16,
        a: with_spectrum(&s, 1),
    };
    let exact = exact_eigenvalues(&op.a, 16);
    let slq = spectral_density(
        &op,
        &DensityOptions {
            steps: 100,
            vectors: 2,
            seed: 0,
        },
    )
    .unwrap();
    for nodes in &slq.nodes {
        assert_eq!(nodes.len(), 16);
        for (node, e) in nodes.iter().rev().zip(&exact) {
            assert!((node - e).abs() < 1e-9, "{node} vs {e}");
        }
    }
}

#[test]
fn smoothed_density_integrates_to_one_and_peaks_at_the_clusters() {
    // two clusters: 40 eigenvalues near 0, 20 near 10
    let mut s: Vec<f64> = (0..40).map(|i| i as f64 * 0.001).collect();
    s.extend((0..20).map(|i| 10.0 + i as f64 * 0.001));
    let op = Dense {
        n: 60,
        a: with_spectrum(&s, 4),
    };
    let slq = spectral_density(
        &op,
        &DensityOptions {
            steps: 20,
            vectors: 8,
            seed: 2,
        },
    )
    .unwrap();
    let grid = slq.smoothed(2000, 0.01);
    let h = grid.points[1] - grid.points[0];
    let integral: f64 = grid.density.iter().sum::<f64>() * h;
    assert!((integral - 1.0).abs() < 1e-3, "{integral}");
    // the mass below 5 is about 2/3
    let low: f64 = grid
        .points
        .iter()
        .zip(&grid.density)
        .filter(|(x, _)| **x < 5.0)
        .map(|(_, d)| d * h)
        .sum();
    assert!((low - 2.0 / 3.0).abs() < 0.15, "{low}");
    let middle = grid.points.iter().position(|&x| x > 5.0).unwrap();
    assert!(grid.density[middle] < 1e-6);
}

#[test]
fn every_analysis_is_reproducible_from_its_seed() {
    use curvature_analysis::{
        hutchinson_trace, top_eigenvalues, EigenMethod, EigenOptions, TraceOptions,
    };
    let s = spectrum();
    let op = Dense {
        n: s.len(),
        a: with_spectrum(&s, 5),
    };
    let density = DensityOptions {
        steps: 12,
        vectors: 3,
        seed: 9,
    };
    let a = spectral_density(&op, &density).unwrap();
    assert_eq!(a, spectral_density(&op, &density).unwrap());
    assert_ne!(
        a,
        spectral_density(
            &op,
            &DensityOptions {
                seed: 10,
                ..density
            }
        )
        .unwrap()
    );
    let trace = TraceOptions {
        seed: 4,
        ..Default::default()
    };
    let t = hutchinson_trace(&op, &trace).unwrap();
    assert_eq!(t, hutchinson_trace(&op, &trace).unwrap());
    assert_ne!(
        t.samples,
        hutchinson_trace(&op, &TraceOptions { seed: 5, ..trace })
            .unwrap()
            .samples
    );
    let power = EigenOptions {
        method: EigenMethod::PowerIteration,
        seed: 2,
        ..Default::default()
    };
    let p = top_eigenvalues(&op, 2, &power).unwrap();
    assert_eq!(p, top_eigenvalues(&op, 2, &power).unwrap());
}
