//! Loaders for the four small real datasets shipped in `data/` at the
//! repository root (UCI Machine Learning Repository, CC BY 4.0; see
//! `data/README.md` for the creators and the format).

use std::path::{Path, PathBuf};

use curvature_autograd::Element;

use super::csv::{parse_csv, read_bytes, CsvFormat, Header, LabelColumn};
use super::{DataError, Dataset};

/// The `data/` directory of the workspace this crate was built in, where
/// `iris.csv`, `wine.csv`, `breast_cancer.csv` and `digits.csv.gz` live.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("data")
}

/// A shipped file, label last, with the feature count the dataset must
/// have; `n_classes` for a file without a header that declares it.
fn load_shipped<T: Element>(
    path: &Path,
    gzip: bool,
    header: Header,
    n_features: usize,
    n_classes: Option<usize>,
) -> Result<Dataset<T>, DataError> {
    let bytes = read_bytes(path, gzip)?;
    let format = CsvFormat {
        label: LabelColumn::Last,
        header,
        n_classes,
    };
    let dataset = parse_csv(&bytes, path, format)?;
    if dataset.n_features() != n_features {
        return Err(DataError::Header {
            path: path.to_path_buf(),
            line: 1,
            detail: format!(
                "expected {n_features} features, found {}: is this the right file?",
                dataset.n_features()
            ),
        });
    }
    Ok(dataset)
}

/// Fisher's iris: 150 flowers, 4 features (sepal and petal length and
/// width, cm), 3 classes (setosa, versicolor, virginica).
///
/// ```
/// let iris = curvature_nn::data::load_iris::<f32>().unwrap();
/// assert_eq!((iris.len(), iris.n_features(), iris.n_classes()), (150, 4, Some(3)));
/// ```
pub fn load_iris<T: Element>() -> Result<Dataset<T>, DataError> {
    load_iris_from(data_dir().join("iris.csv"))
}

/// [`load_iris`] from a file of the same format elsewhere.
pub fn load_iris_from<T: Element>(path: impl AsRef<Path>) -> Result<Dataset<T>, DataError> {
    load_shipped(path.as_ref(), false, Header::Counts, 4, None)
}

/// Wine: 178 wines, 13 chemical measurements, 3 cultivars.
pub fn load_wine<T: Element>() -> Result<Dataset<T>, DataError> {
    load_wine_from(data_dir().join("wine.csv"))
}

/// [`load_wine`] from a file of the same format elsewhere.
pub fn load_wine_from<T: Element>(path: impl AsRef<Path>) -> Result<Dataset<T>, DataError> {
    load_shipped(path.as_ref(), false, Header::Counts, 13, None)
}

/// Breast Cancer Wisconsin (Diagnostic): 569 samples, 30 cell-nucleus
/// measures, 2 classes (0 malignant, 1 benign). The features span five
/// orders of magnitude: standardise them (see
/// [`Standardizer`](super::Standardizer)).
pub fn load_breast_cancer<T: Element>() -> Result<Dataset<T>, DataError> {
    load_breast_cancer_from(data_dir().join("breast_cancer.csv"))
}

/// [`load_breast_cancer`] from a file of the same format elsewhere.
pub fn load_breast_cancer_from<T: Element>(
    path: impl AsRef<Path>,
) -> Result<Dataset<T>, DataError> {
    load_shipped(path.as_ref(), false, Header::Counts, 30, None)
}

/// Optical digits: 1797 images of 8x8 pixels (counts 0..16, row-major),
/// 10 classes (the digits 0-9). Read from the gzip-compressed
/// `digits.csv.gz` (no header; 64 pixels then the label per line).
pub fn load_digits<T: Element>() -> Result<Dataset<T>, DataError> {
    load_digits_from(data_dir().join("digits.csv.gz"))
}

/// [`load_digits`] from a file of the same format elsewhere (gzip-compressed).
pub fn load_digits_from<T: Element>(path: impl AsRef<Path>) -> Result<Dataset<T>, DataError> {
    load_shipped(path.as_ref(), true, Header::None, 64, Some(10))
}
