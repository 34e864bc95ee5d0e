//! A reader for numeric CSV tables with an integer label column, on the
//! `csv` crate (RFC 4180 quoting, a UTF-8 byte-order mark, CRLF, and the
//! line of every record). Every error names the file and the 1-based line,
//! and the 1-based column when a field is at fault.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use curvature_autograd::{Element, Tensor};

use super::{DataError, Dataset};

/// The most classes a CSV file may declare through its labels. A label is
/// a class index, so a class count is the largest label plus one: without
/// a limit one wrong label (`100000`) would build a model, and evaluate
/// outputs, of that width.
pub const MAX_CLASSES: usize = 1000;

/// A gzipped file may grow this many times when decompressed (plus 1 MiB):
/// text tables compress 5 to 20 times; a larger ratio is a gzip bomb.
const MAX_GZIP_RATIO: u64 = 100;

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
    /// Column names, one per column (or the shipped datasets' counts).
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
    /// the labels decide (see [`load_csv`]).
    pub(crate) n_classes: Option<usize>,
}

/// Loads a CSV file of numbers with one integer class-label column, for
/// your own data: every other column is a feature (read as `T`: a value
/// too large for `f32` is an error, not an infinity). Fields may be quoted
/// and padded with spaces; blank lines are skipped.
///
/// Labels must be `0..C` with every class present, `C` between 2 and
/// [`MAX_CLASSES`]: a label `k` is the class index (`2` or `2.0`), so
/// sparse labels (`1, 5, 9`) must be renumbered first. With `has_header`
/// the first line holds one name per column (sklearn's
/// `N_ROWS,N_FEATURES,class names...` is also accepted, and checked).
///
/// Every error names the file and line, and the column of a bad field: a
/// missing or empty file, a ragged row, a header whose names do not match
/// the columns, a field that is not a number of `T`, a label that is not a
/// non-negative integer or is too large, a class without examples, a
/// single class, a label column past the end of the rows.
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
    load_user_csv(path.as_ref(), LabelColumn::At(label_column), has_header)
}

/// [`load_csv`] with the label in the last column of each row, however
/// many columns the file has.
pub fn load_csv_label_last<T: Element>(
    path: impl AsRef<Path>,
    has_header: bool,
) -> Result<Dataset<T>, DataError> {
    load_user_csv(path.as_ref(), LabelColumn::Last, has_header)
}

fn load_user_csv<T: Element>(
    path: &Path,
    label: LabelColumn,
    has_header: bool,
) -> Result<Dataset<T>, DataError> {
    let bytes = read_bytes(path, false)?;
    let format = CsvFormat {
        label,
        header: if has_header {
            Header::Names
        } else {
            Header::None
        },
        n_classes: None,
    };
    parse_csv(&bytes, path, format)
}

/// The whole file, gunzipped when `gzip` (up to [`MAX_GZIP_RATIO`] times
/// its size).
pub(crate) fn read_bytes(path: &Path, gzip: bool) -> Result<Vec<u8>, DataError> {
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
    let mut bytes = Vec::new();
    if gzip {
        let size = file.metadata().map_err(io_error)?.len();
        let limit = size.saturating_mul(MAX_GZIP_RATIO).saturating_add(1 << 20);
        flate2::read::GzDecoder::new(file)
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        if bytes.len() as u64 > limit {
            return Err(DataError::Invalid(format!(
                "{}: decompresses to more than {limit} bytes ({MAX_GZIP_RATIO} times the file): \
                 refusing to read it",
                path.display()
            )));
        }
    } else {
        let mut file = file;
        file.read_to_end(&mut bytes).map_err(io_error)?;
    }
    Ok(bytes)
}

/// What a `Counts` header declares.
struct Declared {
    rows: usize,
    features: usize,
    classes: Option<usize>,
}

/// The first line of a file read with `Header::Names`.
struct Names {
    line: usize,
    fields: Vec<String>,
}

/// Parses `bytes` (read from `path`, which errors name) as a dataset.
pub(crate) fn parse_csv<T: Element>(
    bytes: &[u8],
    path: &Path,
    format: CsvFormat,
) -> Result<Dataset<T>, DataError> {
    let path_buf = || PathBuf::from(path);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut records = reader.records().filter(|r| match r {
        // A line of spaces only is one empty field: skip it as a blank line.
        Ok(record) => !(record.len() == 1 && record[0].is_empty()),
        Err(_) => true,
    });
    let mut next = || -> Result<Option<(usize, csv::StringRecord)>, DataError> {
        match records.next() {
            None => Ok(None),
            Some(Ok(record)) => {
                let line = record.position().map_or(0, |p| line_of(bytes, p));
                Ok(Some((line, record)))
            }
            Some(Err(e)) => Err(csv_error(path, e)),
        }
    };

    let mut declared = None;
    let mut names = None;
    match format.header {
        Header::None => {}
        Header::Names => {
            names = next()?.map(|(line, record)| Names {
                line,
                fields: record.iter().map(str::to_string).collect(),
            });
        }
        Header::Counts => {
            if let Some((line, record)) = next()? {
                declared = Some(parse_counts_header(&record, path, line)?);
            }
        }
    }
    let declared_classes = declared
        .as_ref()
        .and_then(|d: &Declared| d.classes)
        .or(format.n_classes);

    let mut features = Vec::new();
    let mut labels = Vec::new();
    // The line of the first row of each label, to name it in errors.
    let mut first_line_of = Vec::new();
    let mut width = None;
    let mut label_at = 0;
    while let Some((line, record)) = next()? {
        let found = record.len();
        let expected = match width {
            Some(w) => w,
            None => {
                let w = match &declared {
                    Some(d) => d.features + 1,
                    None => found,
                };
                if let Some(names) = &names {
                    declared = check_names(names, w, line, path)?;
                }
                label_at = match format.label {
                    LabelColumn::At(c) if c >= found => {
                        return Err(DataError::LabelColumnOutOfRange {
                            path: path_buf(),
                            line,
                            label_column: c,
                            n_columns: found,
                        });
                    }
                    LabelColumn::At(c) => c,
                    LabelColumn::Last => w.saturating_sub(1),
                };
                *width.insert(w)
            }
        };
        if found != expected {
            return Err(DataError::RaggedRow {
                path: path_buf(),
                line,
                expected,
                found,
            });
        }
        if expected < 2 {
            return Err(DataError::Header {
                path: path_buf(),
                line,
                detail: "a row needs at least one feature and a label".to_string(),
            });
        }
        for (column, field) in record.iter().enumerate() {
            let field_error = |kind: FieldProblem| kind.error(path, line, column + 1, field);
            if column == label_at {
                let label = parse_label(field).map_err(field_error)?;
                if let Some(n_classes) = declared_classes.filter(|&n| label >= n) {
                    return Err(DataError::LabelOutOfRange {
                        path: path_buf(),
                        line,
                        label,
                        n_classes,
                    });
                }
                if first_line_of.len() <= label {
                    first_line_of.resize(label + 1, None);
                }
                first_line_of[label].get_or_insert(line);
                labels.push(label);
            } else {
                features.push(parse_feature::<T>(field).map_err(field_error)?);
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
            line: names.as_ref().map_or(1, |h| h.line),
            detail: format!(
                "the header declares {} rows but the file has {n} (truncated?)",
                d.rows
            ),
        });
    }
    let n_classes = match declared_classes {
        Some(n_classes) => n_classes,
        None => classes_from_labels(&first_line_of, n, path)?,
    };
    let features = Tensor::from_vec(features, &[n, width - 1]);
    Dataset::classification(features, labels, n_classes)
}

/// The class count of labels that were not declared: the largest label
/// plus one, provided every class in between occurs and there are two.
/// `first_line_of[k]` is the line of the first row labelled `k`.
fn classes_from_labels(
    first_line_of: &[Option<usize>],
    rows: usize,
    path: &Path,
) -> Result<usize, DataError> {
    let n_classes = first_line_of.len();
    let largest = n_classes.saturating_sub(1);
    if n_classes < 2 {
        return Err(DataError::OneClass {
            path: path.to_path_buf(),
            rows,
            label: largest,
        });
    }
    let missing: Vec<usize> = (0..n_classes)
        .filter(|&k| first_line_of[k].is_none())
        .collect();
    if let Some(&first_missing) = missing.first() {
        if n_classes - missing.len() < 2 {
            return Err(DataError::OneClass {
                path: path.to_path_buf(),
                rows,
                label: largest,
            });
        }
        return Err(DataError::MissingClasses {
            path: path.to_path_buf(),
            line: first_line_of[largest].unwrap_or(0),
            label: largest,
            first_missing,
            n_missing: missing.len(),
        });
    }
    Ok(n_classes)
}

/// Checks the header's names against the `width` fields of the first data
/// row (on `data_line`). A header of sklearn's `N_ROWS,N_FEATURES,class
/// names...` form that fits the data is accepted: what it declares is
/// returned, to be checked against the rows.
fn check_names(
    names: &Names,
    width: usize,
    data_line: usize,
    path: &Path,
) -> Result<Option<Declared>, DataError> {
    let bad = |detail: String| DataError::Header {
        path: path.to_path_buf(),
        line: names.line,
        detail,
    };
    if names.fields.len() == width {
        if names.fields.iter().all(|f| f.parse::<f64>().is_ok()) {
            return Err(bad(format!(
                "the header `{}` holds only numbers, not column names: \
                 if it is data, read the file without a header",
                names.fields.join(",")
            )));
        }
        return Ok(None);
    }
    let counts = names
        .fields
        .iter()
        .take(2)
        .map(|f| f.parse::<usize>())
        .collect::<Result<Vec<_>, _>>();
    if let Ok([rows, features]) = counts.as_deref() {
        if names.fields.len() >= 3 && features + 1 == width {
            return Ok(Some(Declared {
                rows: *rows,
                features: *features,
                // Class names in this form may be fewer than the labels' span.
                classes: None,
            }));
        }
    }
    Err(bad(format!(
        "the header names {} columns but the rows have {width} fields (line {data_line}): \
         give each column a name, the label's too",
        names.fields.len()
    )))
}

/// `N_ROWS,N_FEATURES,class names...`.
fn parse_counts_header(
    header: &csv::StringRecord,
    path: &Path,
    line: usize,
) -> Result<Declared, DataError> {
    let fields: Vec<&str> = header.iter().collect();
    let bad = |detail: String| DataError::Header {
        path: PathBuf::from(path),
        line,
        detail,
    };
    if fields.len() < 3 {
        return Err(bad(format!(
            "header `{}` must be `N_ROWS,N_FEATURES,class names...`",
            fields.join(",")
        )));
    }
    let count = |i: usize, what: &str| {
        fields[i]
            .parse::<usize>()
            .map_err(|_| bad(format!("header: {what} `{}` is not a count", fields[i])))
    };
    let features = count(1, "N_FEATURES")?;
    // a row holds N_FEATURES + 1 fields: that must not overflow
    features
        .checked_add(1)
        .ok_or_else(|| bad(format!("header: N_FEATURES `{features}` is too large")))?;
    Ok(Declared {
        rows: count(0, "N_ROWS")?,
        features: count(1, "N_FEATURES")?,
        classes: Some(fields.len() - 2),
    })
}

/// What is wrong with one field.
enum FieldProblem {
    NotANumber,
    TooLargeFor(&'static str),
    BadLabel,
    LabelTooLarge,
}

impl FieldProblem {
    fn error(self, path: &Path, line: usize, column: usize, field: &str) -> DataError {
        let (path, field) = (path.to_path_buf(), field.to_string());
        match self {
            Self::NotANumber => DataError::NotANumber {
                path,
                line,
                column,
                field,
            },
            Self::TooLargeFor(dtype) => DataError::FeatureOutOfRange {
                path,
                line,
                column,
                field,
                dtype,
            },
            Self::BadLabel => DataError::BadLabel {
                path,
                line,
                column,
                field,
            },
            Self::LabelTooLarge => DataError::LabelTooLarge {
                path,
                line,
                column,
                field,
                max_classes: MAX_CLASSES,
            },
        }
    }
}

/// A finite number that is also finite as `T`.
fn parse_feature<T: Element>(field: &str) -> Result<T, FieldProblem> {
    let value = field
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or(FieldProblem::NotANumber)?;
    let converted = T::from_f64(value);
    if !converted.is_finite() {
        return Err(FieldProblem::TooLargeFor(T::DTYPE));
    }
    Ok(converted)
}

/// A class index below [`MAX_CLASSES`], written `2` or `2.0`.
fn parse_label(field: &str) -> Result<usize, FieldProblem> {
    let value = match field.parse::<u64>() {
        Ok(label) => label as f64,
        Err(_) => {
            let value = field.parse::<f64>().map_err(|_| FieldProblem::BadLabel)?;
            if !(value.is_finite() && value >= 0.0 && value.fract() == 0.0) {
                return Err(FieldProblem::BadLabel);
            }
            value
        }
    };
    if value >= MAX_CLASSES as f64 {
        return Err(FieldProblem::LabelTooLarge);
    }
    Ok(value as usize)
}

/// The line where the record at `position` starts. The `csv` crate's
/// position of a record that follows empty lines (which it skips) is the
/// start of those lines, so step over them.
fn line_of(bytes: &[u8], position: &csv::Position) -> usize {
    let start = (position.byte() as usize).min(bytes.len());
    let skipped = bytes[start..]
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .filter(|&&b| b == b'\n')
        .count();
    position.line() as usize + skipped
}

/// The `csv` crate's error, with its line (and column for invalid UTF-8).
fn csv_error(path: &Path, error: csv::Error) -> DataError {
    let line = error.position().map_or(0, |p| p.line() as usize);
    match error.kind() {
        csv::ErrorKind::Utf8 { err, .. } => DataError::NotUtf8 {
            path: path.to_path_buf(),
            line,
            column: err.field() + 1,
        },
        _ => DataError::Header {
            path: path.to_path_buf(),
            line,
            detail: error.to_string(),
        },
    }
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
        parse_csv(text.as_bytes(), Path::new("t.csv"), format)
    }

    fn error(text: &str, header: Header) -> String {
        parse(text, LabelColumn::Last, header)
            .expect_err(text)
            .to_string()
    }

    #[test]
    fn reads_features_and_labels_from_any_column() {
        let d = parse(
            "a,label,b\n1, 0 ,2\n\n3,2.0,4\r\n5,1,6\n",
            LabelColumn::At(1),
            Header::Names,
        )
        .unwrap();
        assert_eq!(d.features().to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(d.labels().unwrap(), &[0, 2, 1]);
        assert_eq!(d.n_classes(), Some(3));
    }

    #[test]
    fn quotes_a_byte_order_mark_and_blank_lines_are_handled() {
        let text = "\u{feff}\"width\",\"height, cm\",class\n\"1.5\",2,0\n   \n3,\"4\",1\n";
        let d = parse(text, LabelColumn::Last, Header::Names).unwrap();
        assert_eq!(d.features().to_vec(), vec![1.5, 2.0, 3.0, 4.0]);
        assert_eq!(d.labels().unwrap(), &[0, 1]);
        let msg = error("1,2,0\n3,\"4\n", Header::None);
        assert!(msg.starts_with("t.csv:2: ragged row: 2 fields"), "{msg}");
        let bytes = b"1,2,0\n3,\xff,1\n";
        let format = CsvFormat {
            label: LabelColumn::Last,
            header: Header::None,
            n_classes: None,
        };
        let err = parse_csv::<f64>(bytes, Path::new("t.csv"), format).unwrap_err();
        assert_eq!(err.to_string(), "t.csv:2: column 2: not valid UTF-8 text");
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
        // The same header, read as column names, is recognised and checked.
        let d = parse(ok, LabelColumn::Last, Header::Names).unwrap();
        assert_eq!(d.len(), 2);
        let msg = error("3,1,a,b\n0.5,1\n1.5,0\n", Header::Names);
        assert!(msg.contains("declares 3 rows"), "{msg}");
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
            let msg = error(text, Header::None);
            assert!(msg.starts_with(expected), "{msg} / {expected}");
        }
        let err = parse("2,1,a,b\n0.5,1\n1.5,2\n", LabelColumn::Last, Header::Counts).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv:3: label 2 is out of range for 2 classes (expected 0..2)"
        );
        let err = parse("1,2\n", LabelColumn::At(5), Header::None).unwrap_err();
        assert!(err.to_string().contains("label column 5"), "{err}");
    }

    #[test]
    fn a_label_beyond_the_class_limit_is_refused_with_its_row_and_value() {
        for label in ["1000", "100000", "1e9", "18446744073709551615", "1e300"] {
            let msg = error(&format!("1,0\n2,1\n3,{label}\n"), Header::None);
            assert_eq!(
                msg,
                format!(
                    "t.csv:3: column 2: label `{label}` is too large: \
                     at most {MAX_CLASSES} classes (labels 0 to 999)"
                )
            );
        }
        let last = parse("1,0\n2,999\n", LabelColumn::Last, Header::None);
        let msg = last.unwrap_err().to_string();
        assert_eq!(
            msg,
            "t.csv:2: label 999 makes 1000 classes, but class 1 has no example \
             (nor 997 other classes): labels must be 0 to C-1 with every class present"
        );
    }

    #[test]
    fn a_single_class_is_refused() {
        let msg = error("1,0\n2,0\n3,0\n", Header::None);
        assert_eq!(
            msg,
            "t.csv: every one of the 3 rows has label 0: a classifier needs at least two classes"
        );
        let msg = error("1,4\n2,4\n", Header::None);
        assert!(msg.contains("every one of the 2 rows has label 4"), "{msg}");
    }

    #[test]
    fn a_header_that_does_not_match_the_columns_is_refused() {
        let msg = error("x,label\n1,2,0\n3,4,1\n", Header::Names);
        assert_eq!(
            msg,
            "t.csv:1: the header names 2 columns but the rows have 3 fields (line 2): \
             give each column a name, the label's too"
        );
        let msg = error("a,b,c,label\n1,2,0\n", Header::Names);
        assert!(msg.contains("names 4 columns but the rows have 3"), "{msg}");
        let msg = error("1,2,0\n3,4,1\n", Header::Names);
        assert!(
            msg.starts_with("t.csv:1: the header `1,2,0` holds only numbers"),
            "{msg}"
        );
    }

    #[test]
    fn a_feature_too_large_for_the_element_type_is_refused() {
        let format = CsvFormat {
            label: LabelColumn::Last,
            header: Header::None,
            n_classes: None,
        };
        let text = b"1,0\n1e39,1\n";
        let err = parse_csv::<f32>(text, Path::new("t.csv"), format).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv:2: column 1: `1e39` is out of range for f32 (at most 3.4e38 in magnitude)"
        );
        let d = parse_csv::<f64>(text, Path::new("t.csv"), format).unwrap();
        assert_eq!(d.features().to_vec(), vec![1.0, 1e39]);
    }
}
