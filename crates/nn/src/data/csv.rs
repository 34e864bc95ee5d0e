//! A small CSV reader for numeric tables with an integer label column.
//! Every error names the file and the 1-based line.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use curvature_autograd::{Element, Tensor};

use super::{DataError, Dataset};

/// Where the label is in each row.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LabelColumn {
    /// The 0-based column.
    At(usize),
    /// The last column.
    Last,
}

/// What the first line of the file is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Header {
    /// There is none: the first line is data.
    None,
    /// Column names, skipped.
    Names,
    /// The shipped datasets' `N_ROWS,N_FEATURES,class names...`, checked
    /// against the data.
    Counts,
}

/// How to read one file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CsvFormat {
    pub(crate) label: LabelColumn,
    pub(crate) header: Header,
    /// The class count when no `Counts` header declares it; `None` lets
    /// the largest label decide.
    pub(crate) n_classes: Option<usize>,
}

/// Loads a CSV file of numbers with one integer class-label column, for
/// your own data: every other column is a feature. Labels must be
/// non-negative integers below 2^32 (`2` or `2.0`); the number of classes
/// is the largest label plus one. Blank lines are skipped; fields may be padded
/// with spaces.
///
/// Every error names the file and line: a missing or empty file, a ragged
/// row, a field that is not a finite number (in `T`: `1e39` is not a finite
/// `f32`), a label that is not a non-negative integer below 2^32, a label
/// column past the end of the rows.
///
/// ```no_run
/// use curvature_nn::data::load_csv;
/// // measurements.csv: "height,width,class" then rows like "1.5,0.2,1"
/// let data = load_csv::<f32>("measurements.csv", 2, true)?;
/// println!("{} rows, {} features, {:?} classes", data.len(), data.n_features(), data.n_classes());
/// # Ok::<(), curvature_nn::data::DataError>(())
/// ```
pub fn load_csv<T: Element>(
    path: impl AsRef<Path>,
    label_column: usize,
    has_header: bool,
) -> Result<Dataset<T>, DataError> {
    let path = path.as_ref();
    let text = read_text(path, false)?;
    let format = CsvFormat {
        label: LabelColumn::At(label_column),
        header: if has_header {
            Header::Names
        } else {
            Header::None
        },
        n_classes: None,
    };
    parse_csv(&text, path, format)
}

/// The whole file as text, gunzipped when `gzip`.
pub(crate) fn read_text(path: &Path, gzip: bool) -> Result<String, DataError> {
    let io_error = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            DataError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    };
    let file = File::open(path).map_err(io_error)?;
    let mut text = String::new();
    let read = if gzip {
        flate2::read::GzDecoder::new(file).read_to_string(&mut text)
    } else {
        let mut file = file;
        file.read_to_string(&mut text)
    };
    read.map_err(io_error)?;
    Ok(text)
}

/// What the `Counts` header declares.
struct Declared {
    rows: usize,
    /// `N_FEATURES + 1`: the fields of a row.
    width: usize,
    classes: usize,
}

/// Parses `text` (read from `path`, which errors name) as a dataset.
pub(crate) fn parse_csv<T: Element>(
    text: &str,
    path: &Path,
    format: CsvFormat,
) -> Result<Dataset<T>, DataError> {
    let path_buf = || PathBuf::from(path);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty());
    let declared = match format.header {
        Header::None => None,
        Header::Names => {
            lines.next();
            None
        }
        Header::Counts => match lines.next() {
            Some((line, header)) => Some(parse_counts_header(header, path, line)?),
            None => None,
        },
    };
    let n_classes = declared.as_ref().map(|d| d.classes).or(format.n_classes);
    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut width = None;
    let mut label_at = 0;
    for (line, text) in lines {
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        let expected = *width.get_or_insert(match &declared {
            Some(d) => d.width,
            None => fields.len(),
        });
        if labels.is_empty() {
            label_at = match format.label {
                LabelColumn::At(c) if c >= fields.len() => {
                    return Err(DataError::LabelColumnOutOfRange {
                        path: path_buf(),
                        line,
                        label_column: c,
                        n_columns: fields.len(),
                    });
                }
                LabelColumn::At(c) => c,
                LabelColumn::Last => expected.saturating_sub(1),
            };
        }
        if fields.len() != expected {
            return Err(DataError::RaggedRow {
                path: path_buf(),
                line,
                expected,
                found: fields.len(),
            });
        }
        if expected < 2 {
            return Err(DataError::Header {
                path: path_buf(),
                line,
                detail: "a row needs at least one feature and a label".to_string(),
            });
        }
        for (column, field) in fields.iter().enumerate() {
            if column == label_at {
                let label = parse_label(field).ok_or_else(|| DataError::BadLabel {
                    path: path_buf(),
                    line,
                    column: column + 1,
                    field: field.to_string(),
                })?;
                if let Some(n_classes) = n_classes.filter(|&n| label >= n) {
                    return Err(DataError::LabelOutOfRange {
                        path: path_buf(),
                        line,
                        label,
                        n_classes,
                    });
                }
                labels.push(label);
            } else {
                // finite in `T`: `1e39` is a finite f64 but overflows f32
                let value = field
                    .parse::<f64>()
                    .ok()
                    .map(T::from_f64)
                    .filter(|v| v.as_f64().is_finite())
                    .ok_or_else(|| DataError::NotANumber {
                        path: path_buf(),
                        line,
                        column: column + 1,
                        field: field.to_string(),
                    })?;
                features.push(value);
            }
        }
    }
    let Some(width) = width else {
        return Err(DataError::Empty { path: path_buf() });
    };
    let n = labels.len();
    if let Some(d) = declared.as_ref().filter(|d| d.rows != n) {
        return Err(DataError::Header {
            path: path_buf(),
            line: 1,
            detail: format!(
                "the header declares {} rows but the file has {n} (truncated?)",
                d.rows
            ),
        });
    }
    let n_classes = n_classes.unwrap_or_else(|| labels.iter().max().map_or(0, |&m| m + 1));
    let features = Tensor::from_vec(features, &[n, width - 1]);
    Dataset::classification(features, labels, n_classes)
}

/// `N_ROWS,N_FEATURES,class names...`.
fn parse_counts_header(header: &str, path: &Path, line: usize) -> Result<Declared, DataError> {
    let fields: Vec<&str> = header.split(',').map(str::trim).collect();
    let bad = |detail: String| DataError::Header {
        path: PathBuf::from(path),
        line,
        detail,
    };
    if fields.len() < 3 {
        return Err(bad(format!(
            "header `{header}` must be `N_ROWS,N_FEATURES,class names...`"
        )));
    }
    let count = |i: usize, what: &str| {
        fields[i]
            .parse::<usize>()
            .map_err(|_| bad(format!("header: {what} `{}` is not a count", fields[i])))
    };
    let features = count(1, "N_FEATURES")?;
    let width = features
        .checked_add(1)
        .ok_or_else(|| bad(format!("header: N_FEATURES `{features}` is too large")))?;
    Ok(Declared {
        rows: count(0, "N_ROWS")?,
        width,
        classes: fields.len() - 2,
    })
}

/// A non-negative integer label below 2^32, written `2` or `2.0` (so that
/// the class count, the largest label plus one, cannot overflow).
fn parse_label(field: &str) -> Option<usize> {
    if let Ok(label) = field.parse::<u32>() {
        return Some(label as usize);
    }
    let value = field.parse::<f64>().ok()?;
    let integral = value.is_finite() && value >= 0.0 && value.fract() == 0.0;
    (integral && value <= u32::MAX as f64).then_some(value as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, label: LabelColumn, header: Header) -> Result<Dataset<f64>, DataError> {
        let format = CsvFormat {
            label,
            header,
            n_classes: None,
        };
        parse_csv(text, Path::new("t.csv"), format)
    }

    #[test]
    fn reads_features_and_labels_from_any_column() {
        let d = parse(
            "a,label,b\n1, 0 ,2\n\n3,2.0,4\r\n",
            LabelColumn::At(1),
            Header::Names,
        )
        .unwrap();
        assert_eq!(d.features().to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d.labels().unwrap(), &[0, 2]);
        assert_eq!(d.n_classes(), Some(3));
    }

    #[test]
    fn counts_header_is_checked_against_the_rows() {
        let ok = "2,1,a,b\n0.5,1\n1.5,0\n";
        let d = parse(ok, LabelColumn::Last, Header::Counts).unwrap();
        assert_eq!((d.len(), d.n_features(), d.n_classes()), (2, 1, Some(2)));
        let short = parse("3,1,a,b\n0.5,1\n1.5,0\n", LabelColumn::Last, Header::Counts);
        let msg = short.unwrap_err().to_string();
        assert!(
            msg.contains("t.csv:1") && msg.contains("declares 3 rows"),
            "{msg}"
        );
        let wide = parse("2,1,a,b\n0.5,0.1,1\n", LabelColumn::Last, Header::Counts);
        assert!(matches!(
            wide,
            Err(DataError::RaggedRow {
                line: 2,
                expected: 2,
                found: 3,
                ..
            })
        ));
        let bad = parse("two,1,a,b\n", LabelColumn::Last, Header::Counts).unwrap_err();
        assert!(bad.to_string().contains("`two` is not a count"), "{bad}");
    }

    #[test]
    fn each_malformed_input_names_its_line() {
        let cases = [
            ("1,2,0\n1,0\n", "t.csv:2: ragged row: 2 fields"),
            (
                "1,2,0\n1,x,0\n",
                "t.csv:2: column 2: `x` is not a finite number",
            ),
            (
                "1,2,0\n1,NaN,0\n",
                "t.csv:2: column 2: `NaN` is not a finite number",
            ),
            (
                "1,2,0\n\n1,2,-1\n",
                "t.csv:3: column 3: label `-1` is not a non-negative integer",
            ),
            ("1,2,0.5\n", "t.csv:1: column 3: label `0.5`"),
            ("\n  \n", "t.csv: the file is empty"),
        ];
        for (text, expected) in cases {
            let err = parse(text, LabelColumn::Last, Header::None).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{err} / {expected}");
        }
        let err = parse("2,1,a,b\n0.5,1\n1.5,2\n", LabelColumn::Last, Header::Counts).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv:3: label 2 is out of range for 2 classes (expected 0..2)"
        );
        let err = parse("1,2\n", LabelColumn::At(5), Header::None).unwrap_err();
        assert!(err.to_string().contains("label column 5"), "{err}");
    }
}
