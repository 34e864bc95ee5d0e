//! What can be wrong with a data file or a dataset, and where.

use std::path::PathBuf;

/// An error reading a dataset, or building one from inconsistent parts.
/// File errors name the file and, where there is one, the 1-based line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file does not exist.
    #[error("{}: no such file", .path.display())]
    NotFound {
        /// The path that was opened.
        path: PathBuf,
    },
    /// The file could not be read (permissions, a corrupt gzip stream, ...).
    #[error("{}: cannot read: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no data rows.
    #[error("{}: the file is empty (no data rows)", .path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A row with another number of fields than the first data row.
    #[error("{}:{line}: ragged row: {found} fields, but the first data row has {expected}", .path.display())]
    RaggedRow {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The number of fields of the first data row.
        expected: usize,
        /// The number of fields on this line.
        found: usize,
    },
    /// A feature that is not a finite number.
    #[error("{}:{line}: column {column}: `{field}` is not a finite number", .path.display())]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The 1-based column number.
        column: usize,
        /// The field as written.
        field: String,
    },
    /// A label that is not a non-negative integer below 2^32.
    #[error("{}:{line}: column {column}: label `{field}` is not a non-negative integer below 2^32", .path.display())]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The 1-based column number.
        column: usize,
        /// The field as written.
        field: String,
    },
    /// Invalid UTF-8 in a text file.
    #[error("{}:{line}: column {column}: not valid UTF-8 text", .path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The 1-based column number.
        column: usize,
    },
    /// A feature that is a finite number, but not in the element type
    /// (`1e39` in `f32`).
    #[error("{}:{line}: column {column}: `{field}` is out of range for {dtype} (at most {} in magnitude)", .path.display(), largest_finite(.dtype))]
    FeatureOutOfRange {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The 1-based column number.
        column: usize,
        /// The field as written.
        field: String,
        /// The element type, `f32` or `f64`.
        dtype: &'static str,
    },
    /// A label at or above the limit on the number of classes.
    #[error("{}:{line}: column {column}: label `{field}` is too large: at most {max_classes} classes (labels 0 to {})", .path.display(), .max_classes - 1)]
    LabelTooLarge {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The 1-based column number.
        column: usize,
        /// The field as written.
        field: String,
        /// The limit (`data::MAX_CLASSES`).
        max_classes: usize,
    },
    /// Every row has the same label: nothing to classify.
    #[error("{}: every one of the {rows} rows has label {label}: a classifier needs at least two classes", .path.display())]
    OneClass {
        /// The file.
        path: PathBuf,
        /// The number of rows.
        rows: usize,
        /// The one label.
        label: usize,
    },
    /// Labels that skip classes: the largest label makes the class count,
    /// and some class below it has no example.
    #[error("{}:{line}: label {label} makes {} classes, but class {first_missing} has no example{}: labels must be 0 to C-1 with every class present", .path.display(), .label + 1, others(*.n_missing))]
    MissingClasses {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the first row with the largest label.
        line: usize,
        /// The largest label.
        label: usize,
        /// The smallest class without an example.
        first_missing: usize,
        /// How many classes have no example.
        n_missing: usize,
    },
    /// A label outside `0..n_classes`.
    #[error("{}:{line}: label {label} is out of range for {n_classes} classes (expected 0..{n_classes})", .path.display())]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The label found.
        label: usize,
        /// The number of classes the file declares.
        n_classes: usize,
    },
    /// The label column is past the end of the rows.
    #[error("{}:{line}: label column {label_column} (0-based) is out of range for rows of {n_columns} fields", .path.display())]
    LabelColumnOutOfRange {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The 0-based label column requested.
        label_column: usize,
        /// The number of fields per row.
        n_columns: usize,
    },
    /// A malformed header, or data that contradicts it.
    #[error("{}:{line}: {detail}", .path.display())]
    Header {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// Parts of a dataset that do not fit together, or an invalid option
    /// (a split fraction outside `(0, 1)`, a batch size of 0).
    #[error("{0}")]
    Invalid(String),
}

/// The largest finite value of the element type named `dtype`, in short.
fn largest_finite(dtype: &str) -> &'static str {
    match dtype {
        "f32" => "3.4e38",
        _ => "1.8e308",
    }
}

/// ` (nor 3 other classes)` after the first missing class.
fn others(n_missing: usize) -> String {
    match n_missing {
        0 | 1 => String::new(),
        2 => " (nor 1 other class)".to_string(),
        n => format!(" (nor {} other classes)", n - 1),
    }
}
