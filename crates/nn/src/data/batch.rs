//! Mini-batches: an epoch's rows in a seeded random order, in slices.

use std::iter::FusedIterator;

use curvature_autograd::{Element, Tensor};
use rand::{Rng, RngExt};

use super::{Dataset, Targets};

/// A uniformly random permutation of `0..n` (Fisher-Yates), written out
/// here rather than taken from `rand::seq` so the order for a given seed
/// depends only on the generator, which is portable.
pub(crate) fn permutation<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    order
}

/// The mini-batches of one epoch: `(features [b, d], targets)` pairs of
/// `batch_size` rows each, the last one smaller when `batch_size` does not
/// divide the dataset (it is kept). Made by [`Dataset::batches`] or
/// [`Dataset::batches_in_order`].
#[derive(Clone, Debug)]
pub struct Batches<'a, T> {
    dataset: &'a Dataset<T>,
    order: Vec<usize>,
    batch_size: usize,
    start: usize,
}

impl<'a, T: Element> Batches<'a, T> {
    fn new(dataset: &'a Dataset<T>, order: Vec<usize>, batch_size: usize) -> Self {
        assert!(batch_size > 0, "batches: the batch size must be at least 1");
        Self {
            dataset,
            order,
            batch_size,
            start: 0,
        }
    }
}

impl<T: Element> Iterator for Batches<'_, T> {
    type Item = (Tensor<T>, Targets<T>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.start >= self.order.len() {
            return None;
        }
        let end = (self.start + self.batch_size).min(self.order.len());
        let rows = &self.order[self.start..end];
        self.start = end;
        let x = self.dataset.features().index_select(0, rows);
        Some((x, self.dataset.targets().select(rows)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.order.len() - self.start;
        let n = left.div_ceil(self.batch_size);
        (n, Some(n))
    }
}

impl<T: Element> ExactSizeIterator for Batches<'_, T> {}

impl<T: Element> FusedIterator for Batches<'_, T> {}

impl<T: Element> Dataset<T> {
    /// One epoch of mini-batches in a random order drawn from `rng` (pass
    /// the same seeded generator across epochs for a reproducible run).
    /// The last batch is kept even when smaller. Panics when `batch_size`
    /// is 0.
    ///
    /// ```
    /// use curvature_autograd::seeded_rng;
    /// let data = curvature_nn::data::xor::<f64>(10, 0.1, 0);
    /// let sizes: Vec<usize> = data.batches(4, &mut seeded_rng(0)).map(|(x, _)| x.shape()[0]).collect();
    /// assert_eq!(sizes, vec![4, 4, 2]);
    /// ```
    pub fn batches<R: Rng + ?Sized>(&self, batch_size: usize, rng: &mut R) -> Batches<'_, T> {
        Batches::new(self, permutation(self.len(), rng), batch_size)
    }

    /// Mini-batches in row order, for evaluation.
    pub fn batches_in_order(&self, batch_size: usize) -> Batches<'_, T> {
        Batches::new(self, (0..self.len()).collect(), batch_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::sine;
    use curvature_autograd::seeded_rng;

    fn numbered(n: usize) -> Dataset<f64> {
        let x = Tensor::from_vec((0..n).map(|i| i as f64).collect(), &[n, 1]);
        Dataset::classification(x, (0..n).collect(), n).unwrap()
    }

    #[test]
    fn an_epoch_visits_every_row_once_with_features_and_labels_together() {
        let data = numbered(23);
        let batches: Vec<_> = data.batches(5, &mut seeded_rng(0)).collect();
        let sizes: Vec<usize> = batches.iter().map(|(x, _)| x.shape()[0]).collect();
        assert_eq!(sizes, vec![5, 5, 5, 5, 3]);
        let mut seen = Vec::new();
        for (x, y) in &batches {
            let labels = y.labels().unwrap();
            for (row, &label) in labels.iter().enumerate() {
                assert_eq!(x.get(&[row, 0]), label as f64);
            }
            seen.extend_from_slice(labels);
        }
        assert_ne!(
            seen,
            (0..23).collect::<Vec<_>>(),
            "the order should be shuffled"
        );
        seen.sort_unstable();
        assert_eq!(seen, (0..23).collect::<Vec<_>>());
    }

    #[test]
    fn shuffles_are_seeded_and_change_between_epochs() {
        let data = numbered(50);
        let epoch = |rng: &mut curvature_autograd::SeededRng| -> Vec<usize> {
            data.batches(8, rng)
                .flat_map(|(_, y)| y.labels().unwrap().to_vec())
                .collect()
        };
        let (mut a, mut b) = (seeded_rng(4), seeded_rng(4));
        let first = epoch(&mut a);
        assert_eq!(first, epoch(&mut b));
        assert_ne!(first, epoch(&mut a));
    }

    #[test]
    fn in_order_batches_and_regression_targets() {
        let data = sine::<f32>(10, 0.0, 0);
        let batches = data.batches_in_order(4);
        assert_eq!(batches.len(), 3);
        let ys: Vec<f32> = batches
            .flat_map(|(_, y)| y.values().unwrap().to_vec())
            .collect();
        assert_eq!(ys, data.targets().values().unwrap().to_vec());
        assert_eq!(numbered(0).batches(3, &mut seeded_rng(0)).count(), 0);
    }

    #[test]
    #[should_panic(expected = "batch size must be at least 1")]
    fn zero_batch_size_is_refused() {
        numbered(3).batches_in_order(0);
    }
}
