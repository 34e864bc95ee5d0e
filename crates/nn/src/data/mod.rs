//! Datasets: toy generators, loaders for the small real datasets compiled
//! into the crate (from its `data/`), a CSV loader for your own files,
//! train/test splits, standardisation and shuffled mini-batches, all from
//! seeded generators.
//!
//! ```
//! use curvature_autograd::seeded_rng;
//! use curvature_nn::data::{two_moons, Standardizer};
//!
//! let data = two_moons::<f32>(200, 0.1, 0);
//! let (train, test) = data.train_test_split(0.25, 0).unwrap();
//! let scaler = Standardizer::fit(train.features());
//! let (train, test) = (scaler.transform_dataset(&train), scaler.transform_dataset(&test));
//! assert_eq!((train.len(), test.len()), (150, 50));
//! let mut rng = seeded_rng(1);
//! for (x, y) in train.batches(32, &mut rng) {
//!     assert_eq!(x.shape()[0], y.len()); // 32, 32, 32, 32, then 22
//! }
//! ```

mod batch;
mod csv;
mod error;
mod real;
mod split;
mod standardize;
mod toy;

use curvature_autograd::{Element, Tensor};

pub use batch::Batches;
pub use csv::{load_csv, load_csv_label_last, MAX_CLASSES};
pub use error::DataError;
pub use real::{
    data_dir, load_breast_cancer, load_breast_cancer_from, load_digits, load_digits_from,
    load_iris, load_iris_from, load_wine, load_wine_from,
};
pub use standardize::Standardizer;
pub use toy::{circles, gaussian_blobs, sine, spirals, two_moons, xor};

/// What a dataset predicts: class labels or real values.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets<T> {
    /// One class label in `0..n_classes` per row.
    Classes {
        /// The labels, one per row.
        labels: Vec<usize>,
        /// The number of classes.
        n_classes: usize,
    },
    /// Regression targets, `[n, k]`.
    Values(Tensor<T>),
}

impl<T: Element> Targets<T> {
    /// The number of rows.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values(v) => v.shape()[0],
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class labels, for a classification dataset.
    pub fn labels(&self) -> Option<&[usize]> {
        match self {
            Targets::Classes { labels, .. } => Some(labels),
            Targets::Values(_) => None,
        }
    }

    /// The regression targets `[n, k]`, for a regression dataset.
    pub fn values(&self) -> Option<&Tensor<T>> {
        match self {
            Targets::Classes { .. } => None,
            Targets::Values(v) => Some(v),
        }
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Self {
        match self {
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: indices.iter().map(|&i| labels[i]).collect(),
                n_classes: *n_classes,
            },
            Targets::Values(v) => Targets::Values(v.index_select(0, indices)),
        }
    }

    /// The same targets with another element type.
    pub fn cast<U: Element>(&self) -> Targets<U> {
        match self {
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: labels.clone(),
                n_classes: *n_classes,
            },
            Targets::Values(v) => Targets::Values(v.cast()),
        }
    }
}

/// Features `[n, d]` with their targets, one row per example.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T> {
    features: Tensor<T>,
    targets: Targets<T>,
}

impl<T: Element> Dataset<T> {
    /// A classification dataset. Errors when `features` is not `[n, d]`
    /// with one label per row, or a label is not in `0..n_classes`.
    pub fn classification(
        features: Tensor<T>,
        labels: Vec<usize>,
        n_classes: usize,
    ) -> Result<Self, DataError> {
        if let Some((i, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= n_classes) {
            return Err(DataError::Invalid(format!(
                "dataset: label {label} of row {i} is out of range for {n_classes} classes"
            )));
        }
        Self::new(features, Targets::Classes { labels, n_classes })
    }

    /// A regression dataset. Errors unless `features` is `[n, d]` and
    /// `targets` `[n, k]`.
    pub fn regression(features: Tensor<T>, targets: Tensor<T>) -> Result<Self, DataError> {
        if targets.ndim() != 2 {
            return Err(DataError::Invalid(format!(
                "dataset: regression targets of shape {:?} must be [n, k]",
                targets.shape()
            )));
        }
        Self::new(features, Targets::Values(targets))
    }

    fn new(features: Tensor<T>, targets: Targets<T>) -> Result<Self, DataError> {
        if features.ndim() != 2 || features.shape()[0] != targets.len() {
            return Err(DataError::Invalid(format!(
                "dataset: features of shape {:?} must be [n, d] with one row per target ({} targets)",
                features.shape(),
                targets.len()
            )));
        }
        Ok(Self { features, targets })
    }

    /// The number of examples.
    pub fn len(&self) -> usize {
        self.features.shape()[0]
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of features per example.
    pub fn n_features(&self) -> usize {
        self.features.shape()[1]
    }

    /// The features, `[n, d]`.
    pub fn features(&self) -> &Tensor<T> {
        &self.features
    }

    /// The targets.
    pub fn targets(&self) -> &Targets<T> {
        &self.targets
    }

    /// The class labels, for a classification dataset.
    pub fn labels(&self) -> Option<&[usize]> {
        self.targets.labels()
    }

    /// The number of classes, for a classification dataset.
    pub fn n_classes(&self) -> Option<usize> {
        match self.targets {
            Targets::Classes { n_classes, .. } => Some(n_classes),
            Targets::Values(_) => None,
        }
    }

    /// The number of examples of each class, for a classification dataset.
    pub fn class_counts(&self) -> Option<Vec<usize>> {
        let (labels, n_classes) = (self.labels()?, self.n_classes()?);
        let mut counts = vec![0; n_classes];
        for &l in labels {
            counts[l] += 1;
        }
        Some(counts)
    }

    /// The examples at `indices`, in that order. Panics on an index out of range.
    pub fn select(&self, indices: &[usize]) -> Self {
        Self {
            features: self.features.index_select(0, indices),
            targets: self.targets.select(indices),
        }
    }

    /// The same targets with other features (e.g. standardised). Panics
    /// unless `features` has one row per example.
    pub fn with_features(&self, features: Tensor<T>) -> Self {
        Self::new(features, self.targets.clone()).unwrap_or_else(|e| panic!("with_features: {e}"))
    }

    /// The dataset with another element type.
    pub fn cast<U: Element>(&self) -> Dataset<U> {
        Dataset {
            features: self.features.cast(),
            targets: self.targets.cast(),
        }
    }
}
