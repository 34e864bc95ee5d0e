//! Toy datasets in two dimensions (and a 1-D regression), each from `n`,
//! a noise level and a seed. `noise` is the standard deviation of the
//! Gaussian noise added to each coordinate (to the target, for `sine`).
//! Classes are balanced (their sizes differ by at most one) and the rows
//! are shuffled, so the first rows are not all of one class.

use std::f64::consts::PI;

use curvature_autograd::{seeded_rng, Element, SeededRng, Tensor};
use rand::RngExt;
use rand_distr::StandardNormal;

use super::batch::permutation;
use super::Dataset;

/// Points and labels being generated, in `f64`.
struct Points {
    rng: SeededRng,
    noise: f64,
    xy: Vec<f64>,
    labels: Vec<usize>,
}

impl Points {
    fn new(seed: u64, noise: f64, n: usize) -> Self {
        assert!(
            noise >= 0.0 && noise.is_finite(),
            "toy datasets: noise {noise} must be a finite standard deviation >= 0"
        );
        Self {
            rng: seeded_rng(seed),
            noise,
            xy: Vec::with_capacity(2 * n),
            labels: Vec::with_capacity(n),
        }
    }

    fn gaussian(&mut self) -> f64 {
        self.rng.sample::<f64, _>(StandardNormal)
    }

    /// Adds `(x, y)` plus noise with `label`.
    fn push(&mut self, x: f64, y: f64, label: usize) {
        let (dx, dy) = (self.gaussian(), self.gaussian());
        self.xy.push(x + self.noise * dx);
        self.xy.push(y + self.noise * dy);
        self.labels.push(label);
    }

    /// The rows shuffled, as a dataset of `n_classes` classes.
    fn finish<T: Element>(mut self, n_classes: usize) -> Dataset<T> {
        let n = self.labels.len();
        let order = permutation(n, &mut self.rng);
        let features = Tensor::<f64>::from_vec(self.xy, &[n, 2]).index_select(0, &order);
        let labels = order.iter().map(|&i| self.labels[i]).collect();
        Dataset::classification(features.cast(), labels, n_classes)
            .expect("generated labels are in range")
    }
}

/// The sizes of `k` balanced classes of `n` points in all.
fn class_sizes(n: usize, k: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..k).map(move |c| (c, n / k + usize::from(c < n % k)))
}

/// `m` evenly spaced values from `start` to `end`, both included.
fn linspace(start: f64, end: f64, m: usize) -> impl Iterator<Item = f64> {
    let step = if m > 1 {
        (end - start) / (m - 1) as f64
    } else {
        0.0
    };
    (0..m).map(move |i| start + step * i as f64)
}

/// Two interleaving half circles (scikit-learn's `make_moons`): class 0
/// the upper moon `(cos t, sin t)`, class 1 the lower one
/// `(1 - cos t, 0.5 - sin t)`, `t` evenly spaced in `[0, pi]`.
///
/// ```
/// let moons = curvature_nn::data::two_moons::<f64>(100, 0.1, 0);
/// assert_eq!(moons.features().shape(), &[100, 2]);
/// assert_eq!(moons.class_counts(), Some(vec![50, 50]));
/// ```
pub fn two_moons<T: Element>(n: usize, noise: f64, seed: u64) -> Dataset<T> {
    let mut points = Points::new(seed, noise, n);
    for (class, m) in class_sizes(n, 2) {
        for t in linspace(0.0, PI, m) {
            match class {
                0 => points.push(t.cos(), t.sin(), 0),
                _ => points.push(1.0 - t.cos(), 0.5 - t.sin(), 1),
            }
        }
    }
    points.finish(2)
}

/// `arms` interleaved spirals, one class each (the CS231n classic): along
/// arm `j`, the radius grows from 0 to 1 while the angle turns 4 radians
/// from `2 pi j / arms`. Panics when `arms` is 0.
pub fn spirals<T: Element>(n: usize, arms: usize, noise: f64, seed: u64) -> Dataset<T> {
    assert!(arms > 0, "spirals: need at least one arm");
    let mut points = Points::new(seed, noise, n);
    for (arm, m) in class_sizes(n, arms) {
        let offset = 2.0 * PI * arm as f64 / arms as f64;
        for i in 0..m {
            let r = (i as f64 + 0.5) / m as f64;
            let t = offset + 4.0 * r;
            points.push(r * t.cos(), r * t.sin(), arm);
        }
    }
    points.finish(arms)
}

/// Two concentric circles (scikit-learn's `make_circles` with
/// `factor = 0.5`): class 0 the outer one of radius 1, class 1 the inner
/// one of radius 0.5, angles evenly spaced.
pub fn circles<T: Element>(n: usize, noise: f64, seed: u64) -> Dataset<T> {
    let mut points = Points::new(seed, noise, n);
    for (class, m) in class_sizes(n, 2) {
        let radius = if class == 0 { 1.0 } else { 0.5 };
        for i in 0..m {
            let t = 2.0 * PI * i as f64 / m as f64;
            points.push(radius * t.cos(), radius * t.sin(), class);
        }
    }
    points.finish(2)
}

/// Exclusive or: points around the four corners `(±1, ±1)`, class 1 where
/// the coordinates' signs differ. Not linearly separable.
pub fn xor<T: Element>(n: usize, noise: f64, seed: u64) -> Dataset<T> {
    const CORNERS: [(f64, f64); 4] = [(1.0, 1.0), (1.0, -1.0), (-1.0, -1.0), (-1.0, 1.0)];
    let mut points = Points::new(seed, noise, n);
    for i in 0..n {
        let (x, y) = CORNERS[i % 4];
        points.push(x, y, i % 2);
    }
    points.finish(2)
}

/// Isotropic Gaussian blobs, one class each, with standard deviation
/// `noise` around `centers` points evenly spaced on the circle of radius 3.
/// Panics when `centers` is 0.
pub fn gaussian_blobs<T: Element>(n: usize, centers: usize, noise: f64, seed: u64) -> Dataset<T> {
    assert!(centers > 0, "gaussian_blobs: need at least one center");
    let mut points = Points::new(seed, noise, n);
    for (class, m) in class_sizes(n, centers) {
        let t = 2.0 * PI * class as f64 / centers as f64;
        for _ in 0..m {
            points.push(3.0 * t.cos(), 3.0 * t.sin(), class);
        }
    }
    points.finish(centers)
}

/// Regression of `y = sin(x) + noise * N(0, 1)` for `x` uniform in
/// `[-pi, pi)`: features `[n, 1]`, targets `[n, 1]`.
///
/// ```
/// let data = curvature_nn::data::sine::<f32>(64, 0.05, 0);
/// assert_eq!(data.targets().values().unwrap().shape(), &[64, 1]);
/// assert_eq!(data.n_classes(), None);
/// ```
pub fn sine<T: Element>(n: usize, noise: f64, seed: u64) -> Dataset<T> {
    let mut points = Points::new(seed, noise, n);
    let mut x = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let xi: f64 = points.rng.random_range(-PI..PI);
        x.push(xi);
        y.push(xi.sin() + noise * points.gaussian());
    }
    let features = Tensor::<f64>::from_vec(x, &[n, 1]).cast();
    let targets = Tensor::<f64>::from_vec(y, &[n, 1]).cast();
    Dataset::regression(features, targets).expect("generated shapes agree")
}

#[cfg(test)]
mod tests {
    use super::*;

    type Generator = fn(usize, f64, u64) -> Dataset<f64>;

    fn generators() -> Vec<(&'static str, Generator, usize)> {
        vec![
            ("two_moons", two_moons::<f64>, 2),
            ("spirals(3)", |n, noise, seed| spirals(n, 3, noise, seed), 3),
            ("spirals(5)", |n, noise, seed| spirals(n, 5, noise, seed), 5),
            ("circles", circles::<f64>, 2),
            ("xor", xor::<f64>, 2),
            (
                "blobs(4)",
                |n, noise, seed| gaussian_blobs(n, 4, noise, seed),
                4,
            ),
        ]
    }

    #[test]
    fn generators_are_reproducible_by_seed_and_differ_across_seeds() {
        for (name, g, _) in generators() {
            assert_eq!(g(101, 0.1, 7), g(101, 0.1, 7), "{name}");
            assert_ne!(g(101, 0.1, 7), g(101, 0.1, 8), "{name}");
        }
        assert_eq!(sine::<f64>(50, 0.1, 3), sine::<f64>(50, 0.1, 3));
        assert_ne!(sine::<f64>(50, 0.1, 3), sine::<f64>(50, 0.1, 4));
    }

    #[test]
    fn generators_have_the_right_shapes_and_balanced_shuffled_labels() {
        for (name, g, k) in generators() {
            for n in [0, 1, 7, 101, 400] {
                let d = g(n, 0.1, 0);
                assert_eq!(d.features().shape(), &[n, 2], "{name}");
                assert_eq!(d.n_classes(), Some(k), "{name}");
                let counts = d.class_counts().unwrap();
                assert_eq!(counts.iter().sum::<usize>(), n, "{name}");
                let (lo, hi) = (counts.iter().min(), counts.iter().max());
                assert!(hi.unwrap() - lo.unwrap() <= 1, "{name}: {counts:?}");
                assert!(d.features().all_finite());
            }
            let labels = g(400, 0.1, 0).labels().unwrap().to_vec();
            let sorted = labels.windows(2).all(|w| w[0] <= w[1]);
            assert!(!sorted, "{name}: rows should be shuffled");
        }
    }

    #[test]
    fn noiseless_points_lie_on_their_curves() {
        let moons = two_moons::<f64>(40, 0.0, 0);
        for (row, &label) in moons.labels().unwrap().iter().enumerate() {
            let (x, y) = (
                moons.features().get(&[row, 0]),
                moons.features().get(&[row, 1]),
            );
            let (cx, cy) = if label == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
            assert!(((x - cx).hypot(y - cy) - 1.0).abs() < 1e-12);
        }
        let rings = circles::<f64>(40, 0.0, 0);
        for (row, &label) in rings.labels().unwrap().iter().enumerate() {
            let r = rings
                .features()
                .get(&[row, 0])
                .hypot(rings.features().get(&[row, 1]));
            assert!((r - if label == 0 { 1.0 } else { 0.5 }).abs() < 1e-12);
        }
        let xor = xor::<f64>(40, 0.0, 0);
        for (row, &label) in xor.labels().unwrap().iter().enumerate() {
            let product = xor.features().get(&[row, 0]) * xor.features().get(&[row, 1]);
            assert_eq!(label, usize::from(product < 0.0));
        }
        let sine = sine::<f64>(30, 0.0, 0);
        let (x, y) = (sine.features(), sine.targets().values().unwrap());
        for i in 0..30 {
            assert!((x.get(&[i, 0]).sin() - y.get(&[i, 0])).abs() < 1e-15);
            assert!((-PI..PI).contains(&x.get(&[i, 0])));
        }
    }

    #[test]
    fn f32_and_f64_generators_agree() {
        let a = spirals::<f32>(60, 3, 0.2, 1);
        let b = spirals::<f64>(60, 3, 0.2, 1);
        assert_eq!(a, b.cast::<f32>());
    }
}
