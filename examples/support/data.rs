//! Datasets by name (toy generators, the shipped real datasets, or a CSV
//! file), split into train and test and standardised on the training set.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use curvature::nn::data::{self, Dataset, Standardizer};

use super::BoxError;

/// The datasets the examples know by name, or a CSV file.
#[derive(Clone, Debug, PartialEq)]
pub enum DatasetName {
    Moons,
    Spirals,
    Circles,
    Xor,
    Blobs,
    Sine,
    Iris,
    Wine,
    BreastCancer,
    Digits,
    /// A CSV file: the features, then an integer class label in the last column.
    Csv(PathBuf),
}

/// The names accepted by `--dataset`, in help order.
pub const DATASET_NAMES: &str =
    "moons, spirals, circles, xor, blobs, sine, iris, wine, breast-cancer, digits";

impl FromStr for DatasetName {
    type Err = String;

    /// A known name (case-insensitive; `_` for `-` is fine), or anything
    /// that looks like a path: it ends in `.csv` or contains a `/`.
    fn from_str(s: &str) -> Result<Self, String> {
        let name = s.trim().to_ascii_lowercase().replace('_', "-");
        Ok(match name.as_str() {
            "moons" | "two-moons" => Self::Moons,
            "spirals" | "spiral" => Self::Spirals,
            "circles" => Self::Circles,
            "xor" => Self::Xor,
            "blobs" => Self::Blobs,
            "sine" | "sin" => Self::Sine,
            "iris" => Self::Iris,
            "wine" => Self::Wine,
            "breast-cancer" => Self::BreastCancer,
            "digits" => Self::Digits,
            _ if name.ends_with(".csv") || s.contains('/') || s.contains('\\') => {
                Self::Csv(PathBuf::from(s))
            }
            _ => {
                return Err(format!(
                    "unknown dataset `{s}`; expected one of {DATASET_NAMES}, \
                     or a path to a CSV file (ending in .csv)"
                ))
            }
        })
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Moons => "moons",
            Self::Spirals => "spirals",
            Self::Circles => "circles",
            Self::Xor => "xor",
            Self::Blobs => "blobs",
            Self::Sine => "sine",
            Self::Iris => "iris",
            Self::Wine => "wine",
            Self::BreastCancer => "breast-cancer",
            Self::Digits => "digits",
            Self::Csv(path) => return write!(f, "{}", path.display()),
        };
        f.write_str(name)
    }
}

/// How to train a dataset well when no flag says otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    /// Points generated, for the toy datasets.
    pub points: usize,
    /// Noise (standard deviation) of the toy datasets.
    pub noise: f64,
    /// Arms of the spirals, centers of the blobs.
    pub classes: usize,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    pub epochs: usize,
    pub batch_size: usize,
}

impl DatasetName {
    /// The defaults that train this dataset well: tuned in release builds
    /// on the default seed and checked on seeds 0 to 4.
    pub fn recipe(&self) -> Recipe {
        let toy = |points, noise, epochs| Recipe {
            points,
            noise,
            classes: 2,
            hidden: vec![32, 32],
            epochs,
            batch_size: 32,
        };
        match self {
            Self::Moons => toy(1000, 0.1, 30),
            Self::Spirals => toy(1000, 0.05, 60),
            Self::Circles => toy(1000, 0.05, 30),
            Self::Xor => toy(1000, 0.2, 30),
            Self::Blobs => Recipe {
                classes: 4,
                ..toy(1000, 1.0, 30)
            },
            Self::Sine => toy(1000, 0.1, 60),
            Self::Iris | Self::Wine | Self::BreastCancer | Self::Csv(_) => Recipe {
                hidden: vec![16],
                batch_size: 16,
                ..toy(0, 0.0, 60)
            },
            Self::Digits => Recipe {
                hidden: vec![64],
                batch_size: 64,
                ..toy(0, 0.0, 30)
            },
        }
    }

    /// Whether the number of classes is a choice (spiral arms, blob centers).
    pub fn has_class_count(&self) -> bool {
        matches!(self, Self::Spirals | Self::Blobs)
    }

    /// Whether the dataset is generated (so `--points`, `--noise` apply).
    pub fn is_toy(&self) -> bool {
        matches!(
            self,
            Self::Moons | Self::Spirals | Self::Circles | Self::Xor | Self::Blobs | Self::Sine
        )
    }
}

/// What the toy generators draw.
#[derive(Clone, Debug)]
pub struct ToyOptions {
    pub points: usize,
    pub noise: f64,
    pub classes: usize,
    pub seed: u64,
}

impl ToyOptions {
    /// The `--points`, `--noise` and `--classes` flags over the dataset's
    /// recipe. Errors when one is given for a dataset it does not apply to.
    pub fn from_flags(
        name: &DatasetName,
        points: Option<usize>,
        noise: Option<f64>,
        classes: Option<usize>,
        seed: u64,
    ) -> Result<Self, BoxError> {
        if !name.is_toy() && (points.is_some() || noise.is_some()) {
            return Err(format!("--points and --noise apply to toy datasets, not {name}").into());
        }
        if classes.is_some() && !name.has_class_count() {
            return Err(format!("--classes applies to spirals and blobs, not {name}").into());
        }
        let recipe = name.recipe();
        Ok(Self {
            points: points.unwrap_or(recipe.points),
            noise: noise.unwrap_or(recipe.noise),
            classes: classes.unwrap_or(recipe.classes),
            seed,
        })
    }
}

/// Loads or generates the dataset, in `f32`. `csv_header` says whether a
/// CSV file's first line holds column names.
pub fn load(
    name: &DatasetName,
    toy: &ToyOptions,
    csv_header: bool,
) -> Result<Dataset<f32>, BoxError> {
    if csv_header && !matches!(name, DatasetName::Csv(_)) {
        return Err(format!("--header applies to CSV files, not {name}").into());
    }
    if name.is_toy() {
        check_toy(name, toy)?;
    }
    let ToyOptions {
        points: n,
        noise,
        classes,
        seed,
    } = *toy;
    Ok(match name {
        DatasetName::Moons => data::two_moons(n, noise, seed),
        DatasetName::Spirals => data::spirals(n, classes, noise, seed),
        DatasetName::Circles => data::circles(n, noise, seed),
        DatasetName::Xor => data::xor(n, noise, seed),
        DatasetName::Blobs => data::gaussian_blobs(n, classes, noise, seed),
        DatasetName::Sine => data::sine(n, noise, seed),
        DatasetName::Iris => data::load_iris()?,
        DatasetName::Wine => data::load_wine()?,
        DatasetName::BreastCancer => data::load_breast_cancer()?,
        DatasetName::Digits => data::load_digits()?,
        DatasetName::Csv(path) => data::load_csv_label_last(path, csv_header)?,
    })
}

/// The most points a toy generator may draw: 10 million (80 MB of `f32`
/// features in 2-D).
pub const MAX_POINTS: usize = 10_000_000;

/// The generators panic on values they cannot use; refuse those first,
/// and sizes above the stated limits before anything is allocated.
fn check_toy(name: &DatasetName, toy: &ToyOptions) -> Result<(), BoxError> {
    if toy.points > MAX_POINTS {
        return Err(format!(
            "--points {} is more than the limit of {MAX_POINTS}",
            toy.points
        )
        .into());
    }
    if toy.classes > data::MAX_CLASSES {
        return Err(format!(
            "--classes {} is more than the limit of {}",
            toy.classes,
            data::MAX_CLASSES
        )
        .into());
    }
    if !(toy.noise >= 0.0 && toy.noise.is_finite()) {
        return Err(format!("--noise {} must be a finite number >= 0", toy.noise).into());
    }
    let classes = name.has_class_count();
    let min_points = if classes { 2 * toy.classes } else { 4 };
    if classes && toy.classes < 2 {
        return Err(format!("--classes {} must be at least 2 for {name}", toy.classes).into());
    }
    if toy.points < min_points {
        return Err(format!(
            "--points {} is too few for {name}: need at least {min_points}",
            toy.points
        )
        .into());
    }
    Ok(())
}

/// A dataset split into train and test, both standardised with the
/// training set's statistics, with the raw features kept for plots.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub train: Dataset<f32>,
    pub test: Dataset<f32>,
    pub raw_train: Dataset<f32>,
    pub raw_test: Dataset<f32>,
    pub scaler: Standardizer<f32>,
}

/// Splits off `test_fraction` for testing (stratified for classes) and
/// standardises the features, fitted on the training part only.
pub fn prepare(
    dataset: &Dataset<f32>,
    test_fraction: f64,
    seed: u64,
) -> Result<Prepared, BoxError> {
    let (raw_train, raw_test) = dataset.train_test_split(test_fraction, seed)?;
    let scaler = Standardizer::fit(raw_train.features());
    Ok(Prepared {
        train: scaler.transform_dataset(&raw_train),
        test: scaler.transform_dataset(&raw_test),
        raw_train,
        raw_test,
        scaler,
    })
}
