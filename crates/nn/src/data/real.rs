//! Loaders for the four small real datasets (UCI Machine Learning
//! Repository, CC BY 4.0; see `data/README.md` in this crate for the
//! creators and the format). The files live in the crate's `data/`
//! directory and are compiled into the library (about 190 kB), so the
//! loaders work wherever `curvature-nn` is a dependency, with no file to
//! find at run time. The `load_*_from(path)` forms read a file of the same
//! format from anywhere.

use std::io::Read;
use std::path::{Path, PathBuf};

use curvature_autograd::Element;

use super::csv::{parse_csv, read_bytes, CsvFormat, Header, LabelColumn};
use super::{DataError, Dataset};

/// A dataset file compiled into the crate.
struct Embedded {
    /// The file's name in `data/`.
    name: &'static str,
    bytes: &'static [u8],
    gzip: bool,
}

const IRIS: Embedded = Embedded {
    name: "iris.csv",
    bytes: include_bytes!("../../data/iris.csv"),
    gzip: false,
};

const WINE: Embedded = Embedded {
    name: "wine.csv",
    bytes: include_bytes!("../../data/wine.csv"),
    gzip: false,
};

const BREAST_CANCER: Embedded = Embedded {
    name: "breast_cancer.csv",
    bytes: include_bytes!("../../data/breast_cancer.csv"),
    gzip: false,
};

const DIGITS: Embedded = Embedded {
    name: "digits.csv.gz",
    bytes: include_bytes!("../../data/digits.csv.gz"),
    gzip: true,
};

impl Embedded {
    /// The path errors name: the file in the crate's `data/`, marked as
    /// the compiled-in copy.
    fn path(&self) -> PathBuf {
        PathBuf::from(format!("curvature-nn/data/{} (embedded)", self.name))
    }

    /// The file's bytes, gunzipped when compressed.
    fn bytes(&self) -> Result<Vec<u8>, DataError> {
        if !self.gzip {
            return Ok(self.bytes.to_vec());
        }
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(self.bytes)
            .read_to_end(&mut out)
            .map_err(|source| DataError::Io {
                path: self.path(),
                source,
            })?;
        Ok(out)
    }
}

/// The `data/` directory of this crate's sources, where `iris.csv`,
/// `wine.csv`, `breast_cancer.csv` and `digits.csv.gz` live (for reading
/// them as files, e.g. with [`load_csv`](super::load_csv)). The loaders do
/// not read it: the files are compiled into the library.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The layout every shipped file has: label last, a known feature count,
/// and either a `Counts` header or a declared class count.
#[derive(Clone, Copy)]
struct Shipped {
    header: Header,
    n_features: usize,
    n_classes: Option<usize>,
}

const IRIS_FORMAT: Shipped = Shipped {
    header: Header::Counts,
    n_features: 4,
    n_classes: None,
};

const WINE_FORMAT: Shipped = Shipped {
    header: Header::Counts,
    n_features: 13,
    n_classes: None,
};

const BREAST_CANCER_FORMAT: Shipped = Shipped {
    header: Header::Counts,
    n_features: 30,
    n_classes: None,
};

const DIGITS_FORMAT: Shipped = Shipped {
    header: Header::None,
    n_features: 64,
    n_classes: Some(10),
};

impl Shipped {
    /// Parses `bytes` (from `path`, which errors name), checking the
    /// feature count.
    fn parse<T: Element>(self, bytes: &[u8], path: &Path) -> Result<Dataset<T>, DataError> {
        let format = CsvFormat {
            label: LabelColumn::Last,
            header: self.header,
            n_classes: self.n_classes,
        };
        let dataset = parse_csv(bytes, path, format)?;
        if dataset.n_features() != self.n_features {
            return Err(DataError::Header {
                path: path.to_path_buf(),
                line: 1,
                detail: format!(
                    "expected {} features, found {}: is this the right file?",
                    self.n_features,
                    dataset.n_features()
                ),
            });
        }
        Ok(dataset)
    }

    /// The compiled-in copy.
    fn embedded<T: Element>(self, file: &Embedded) -> Result<Dataset<T>, DataError> {
        self.parse(&file.bytes()?, &file.path())
    }

    /// A file of the same format at `path`.
    fn read_file<T: Element>(self, path: &Path, gzip: bool) -> Result<Dataset<T>, DataError> {
        self.parse(&read_bytes(path, gzip)?, path)
    }
}

/// Fisher's iris: 150 flowers, 4 features (sepal and petal length and
/// width, cm), 3 classes (setosa, versicolor, virginica).
///
/// ```
/// let iris = curvature_nn::data::load_iris::<f32>().unwrap();
/// assert_eq!((iris.len(), iris.n_features(), iris.n_classes()), (150, 4, Some(3)));
/// ```
pub fn load_iris<T: Element>() -> Result<Dataset<T>, DataError> {
    IRIS_FORMAT.embedded(&IRIS)
}

/// [`load_iris`] from a file of the same format elsewhere.
pub fn load_iris_from<T: Element>(path: impl AsRef<Path>) -> Result<Dataset<T>, DataError> {
    IRIS_FORMAT.read_file(path.as_ref(), false)
}

/// Wine: 178 wines, 13 chemical measurements, 3 cultivars.
pub fn load_wine<T: Element>() -> Result<Dataset<T>, DataError> {
    WINE_FORMAT.embedded(&WINE)
}

/// [`load_wine`] from a file of the same format elsewhere.
pub fn load_wine_from<T: Element>(path: impl AsRef<Path>) -> Result<Dataset<T>, DataError> {
    WINE_FORMAT.read_file(path.as_ref(), false)
}

/// Breast Cancer Wisconsin (Diagnostic): 569 samples, 30 cell-nucleus
/// measures, 2 classes (0 malignant, 1 benign). The features span five
/// orders of magnitude: standardise them (see
/// [`Standardizer`](super::Standardizer)).
pub fn load_breast_cancer<T: Element>() -> Result<Dataset<T>, DataError> {
    BREAST_CANCER_FORMAT.embedded(&BREAST_CANCER)
}

/// [`load_breast_cancer`] from a file of the same format elsewhere.
pub fn load_breast_cancer_from<T: Element>(
    path: impl AsRef<Path>,
) -> Result<Dataset<T>, DataError> {
    BREAST_CANCER_FORMAT.read_file(path.as_ref(), false)
}

/// Optical digits: 1797 images of 8x8 pixels (counts 0..16, row-major),
/// 10 classes (the digits 0-9), from the gzip-compressed `digits.csv.gz`
/// (no header; 64 pixels then the label per line).
pub fn load_digits<T: Element>() -> Result<Dataset<T>, DataError> {
    DIGITS_FORMAT.embedded(&DIGITS)
}

/// [`load_digits`] from a file of the same format elsewhere (gzip-compressed).
pub fn load_digits_from<T: Element>(path: impl AsRef<Path>) -> Result<Dataset<T>, DataError> {
    DIGITS_FORMAT.read_file(path.as_ref(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_copies_are_the_files_in_data_dir() {
        for file in [&IRIS, &WINE, &BREAST_CANCER, &DIGITS] {
            let on_disk = std::fs::read(data_dir().join(file.name)).unwrap();
            assert!(on_disk == file.bytes, "{} differs", file.name);
        }
    }

    #[test]
    fn embedded_and_file_loaders_agree() {
        let dir = data_dir();
        assert_eq!(
            load_iris::<f64>().unwrap(),
            load_iris_from(dir.join("iris.csv")).unwrap()
        );
        assert_eq!(
            load_digits::<f32>().unwrap(),
            load_digits_from(dir.join("digits.csv.gz")).unwrap()
        );
    }
}
