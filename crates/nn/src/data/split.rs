//! Train/test split, stratified by class for classification.

use curvature_autograd::{seeded_rng, Element, SeededRng};

use super::batch::permutation;
use super::{DataError, Dataset};

impl<T: Element> Dataset<T> {
    /// Splits into `(train, test)` with `round(test_fraction * n)` test rows
    /// (at least one, and at least one training row), chosen at random
    /// from `seeded_rng(seed)`. For classification the split is
    /// stratified: each class gets its share of the test rows (largest
    /// remainders break the rounding), so both parts keep the class
    /// proportions. Both parts come out in a random order.
    ///
    /// Errors when `test_fraction` is not in `(0, 1)` or there are fewer
    /// than two rows.
    ///
    /// ```
    /// let iris = curvature_nn::data::load_iris::<f64>().unwrap();
    /// let (train, test) = iris.train_test_split(0.2, 0).unwrap();
    /// assert_eq!((train.len(), test.len()), (120, 30));
    /// assert_eq!(test.class_counts(), Some(vec![10, 10, 10]));
    /// ```
    pub fn train_test_split(
        &self,
        test_fraction: f64,
        seed: u64,
    ) -> Result<(Dataset<T>, Dataset<T>), DataError> {
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(DataError::Invalid(format!(
                "train_test_split: the test fraction {test_fraction} must be in (0, 1)"
            )));
        }
        let n = self.len();
        if n < 2 {
            return Err(DataError::Invalid(format!(
                "train_test_split: {n} rows cannot make a training and a test set"
            )));
        }
        let n_test = ((test_fraction * n as f64).round() as usize).clamp(1, n - 1);
        let mut rng = seeded_rng(seed);
        let (mut train, mut test) = (Vec::with_capacity(n - n_test), Vec::with_capacity(n_test));
        let groups: Vec<Vec<usize>> = match self.labels() {
            Some(labels) => {
                let mut groups = vec![Vec::new(); self.n_classes().unwrap_or(0)];
                for (i, &l) in labels.iter().enumerate() {
                    groups[l].push(i);
                }
                groups
            }
            None => vec![(0..n).collect()],
        };
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        for (group, quota) in groups.iter().zip(quotas(&sizes, n_test)) {
            let order = permutation(group.len(), &mut rng);
            test.extend(order[..quota].iter().map(|&k| group[k]));
            train.extend(order[quota..].iter().map(|&k| group[k]));
        }
        let train = shuffled(&train, &mut rng);
        let test = shuffled(&test, &mut rng);
        Ok((self.select(&train), self.select(&test)))
    }
}

/// `rows` in a random order.
fn shuffled(rows: &[usize], rng: &mut SeededRng) -> Vec<usize> {
    permutation(rows.len(), rng)
        .into_iter()
        .map(|k| rows[k])
        .collect()
}

/// `total` split over groups of `sizes` in proportion to their size:
/// each gets the floor of its share, and the rows left over go to the
/// largest fractional parts (the lower index first on ties).
fn quotas(sizes: &[usize], total: usize) -> Vec<usize> {
    let n: usize = sizes.iter().sum();
    let shares: Vec<f64> = sizes
        .iter()
        .map(|&s| total as f64 * s as f64 / n as f64)
        .collect();
    let mut quotas: Vec<usize> = shares.iter().map(|s| s.floor() as usize).collect();
    let mut by_remainder: Vec<usize> = (0..sizes.len()).collect();
    by_remainder.sort_by(|&a, &b| {
        let (ra, rb) = (shares[a].fract(), shares[b].fract());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    let mut left = total - quotas.iter().sum::<usize>();
    for &g in by_remainder.iter().cycle().take(2 * sizes.len()) {
        if left == 0 {
            break;
        }
        if quotas[g] < sizes[g] {
            quotas[g] += 1;
            left -= 1;
        }
    }
    quotas
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{gaussian_blobs, sine};

    #[test]
    fn quotas_add_up_and_follow_proportions() {
        assert_eq!(quotas(&[50, 50, 50], 30), vec![10, 10, 10]);
        assert_eq!(quotas(&[1, 1, 1], 1), vec![1, 0, 0]);
        assert_eq!(quotas(&[10, 5], 4), vec![3, 1]);
        let q = quotas(&[7, 3, 11, 1], 9);
        assert_eq!(q.iter().sum::<usize>(), 9);
    }

    #[test]
    fn split_is_stratified_disjoint_and_seeded() {
        let data = gaussian_blobs::<f64>(300, 3, 0.5, 0);
        let (train, test) = data.train_test_split(0.2, 1).unwrap();
        assert_eq!((train.len(), test.len()), (240, 60));
        assert_eq!(test.class_counts(), Some(vec![20, 20, 20]));
        assert_eq!(train.class_counts(), Some(vec![80, 80, 80]));
        let (train2, test2) = data.train_test_split(0.2, 1).unwrap();
        assert_eq!((&train, &test), (&train2, &test2));
        let (_, test3) = data.train_test_split(0.2, 2).unwrap();
        assert_ne!(test, test3);
        // Disjoint: every original row appears exactly once across both parts.
        let mut rows: Vec<Vec<u64>> = [&train, &test]
            .iter()
            .flat_map(|d| {
                (0..d.len())
                    .map(|i| {
                        let x = d.features();
                        vec![x.get(&[i, 0]).to_bits(), x.get(&[i, 1]).to_bits()]
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        rows.sort_unstable();
        rows.dedup();
        assert_eq!(rows.len(), 300);
    }

    #[test]
    fn regression_split_and_bad_fractions() {
        let data = sine::<f32>(10, 0.1, 0);
        let (train, test) = data.train_test_split(0.3, 0).unwrap();
        assert_eq!((train.len(), test.len()), (7, 3));
        assert_eq!(test.targets().values().unwrap().shape(), &[3, 1]);
        for bad in [0.0, 1.0, -0.5, f64::NAN] {
            let err = data.train_test_split(bad, 0).unwrap_err();
            assert!(err.to_string().contains("must be in (0, 1)"), "{err}");
        }
        let (train, test) = data.train_test_split(0.01, 0).unwrap();
        assert_eq!((train.len(), test.len()), (9, 1));
        assert!(sine::<f32>(1, 0.1, 0).train_test_split(0.5, 0).is_err());
    }
}
