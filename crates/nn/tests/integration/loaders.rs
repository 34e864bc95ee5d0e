//! The shipped datasets load with the right sizes, and malformed files
//! give errors that name the file and the line.

use crate::common;

use std::io::Write;

use common::TempDir;
use curvature_nn::data::{
    data_dir, load_breast_cancer, load_csv, load_digits, load_digits_from, load_iris,
    load_iris_from, load_wine, load_wine_from,
};
use curvature_nn::{DataError, Dataset};

fn check(data: &Dataset<f32>, rows: usize, features: usize, classes: usize) {
    assert_eq!(data.len(), rows);
    assert_eq!(data.n_features(), features);
    assert_eq!(data.features().shape(), &[rows, features]);
    assert_eq!(data.n_classes(), Some(classes));
    let counts = data.class_counts().unwrap();
    assert!(
        counts.iter().all(|&c| c > 0),
        "every class occurs: {counts:?}"
    );
    assert!(data.labels().unwrap().iter().all(|&l| l < classes));
    assert!(data.features().all_finite());
}

#[test]
fn shipped_datasets_have_their_documented_sizes() {
    check(&load_iris().unwrap(), 150, 4, 3);
    check(&load_wine().unwrap(), 178, 13, 3);
    check(&load_breast_cancer().unwrap(), 569, 30, 2);
    check(&load_digits().unwrap(), 1797, 64, 10);
}

#[test]
fn shipped_values_are_read_exactly() {
    let iris = load_iris::<f64>().unwrap();
    assert_eq!(iris.class_counts(), Some(vec![50, 50, 50]));
    // First row of iris.csv: 5.1,3.5,1.4,0.2,0
    assert_eq!(&iris.features().as_slice()[..4], &[5.1, 3.5, 1.4, 0.2]);
    assert_eq!(iris.labels().unwrap()[0], 0);
    let digits = load_digits::<f64>().unwrap();
    assert!(digits
        .features()
        .as_slice()
        .iter()
        .all(|&p| (0.0..=16.0).contains(&p)));
    let counts = digits.class_counts().unwrap();
    assert!(
        counts.iter().all(|&c| (170..=185).contains(&c)),
        "{counts:?}"
    );
}

#[test]
fn user_csv_reads_a_shipped_file_with_its_header_skipped() {
    let wine = load_csv::<f64>(data_dir().join("wine.csv"), 13, true).unwrap();
    assert_eq!(wine, load_wine().unwrap());
}

fn error_text(result: Result<Dataset<f64>, DataError>) -> String {
    result
        .expect_err("malformed input must be an error")
        .to_string()
}

#[test]
fn malformed_csv_errors_name_the_file_and_the_line() {
    let dir = TempDir::new("csv");
    let ragged = dir.write("ragged.csv", "a,b,label\n1,2,0\n3,4,1\n5,1\n");
    let msg = error_text(load_csv(&ragged, 2, true));
    assert!(msg.contains("ragged.csv:4: ragged row: 2 fields"), "{msg}");

    let text = dir.write("text.csv", "1,2,0\n3,four,1\n");
    let msg = error_text(load_csv(&text, 2, false));
    assert!(
        msg.contains("text.csv:2: column 2: `four` is not a finite number"),
        "{msg}"
    );

    let label = dir.write("label.csv", "1,2,0\n3,4,x\n");
    let msg = error_text(load_csv(&label, 2, false));
    assert!(msg.contains("label.csv:2: column 3: label `x`"), "{msg}");

    let empty = dir.write("empty.csv", "");
    let msg = error_text(load_csv(&empty, 0, false));
    assert!(msg.contains("empty.csv: the file is empty"), "{msg}");
    let header_only = dir.write("header.csv", "a,b,label\n");
    let msg = error_text(load_csv(&header_only, 2, true));
    assert!(msg.contains("header.csv: the file is empty"), "{msg}");

    let missing = dir.path().join("missing.csv");
    let err = load_csv::<f64>(&missing, 0, false).unwrap_err();
    assert!(matches!(err, DataError::NotFound { .. }));
    assert!(
        err.to_string().contains("missing.csv: no such file"),
        "{err}"
    );
}

#[test]
fn counts_too_large_for_usize_are_errors_not_overflows() {
    // found by the `csv` fuzz target (fuzz/artifacts/csv/): the class count
    // (largest label + 1) and a header's row width (N_FEATURES + 1)
    // overflowed, a panic in debug builds and a wrapped count in release
    let dir = TempDir::new("overflow");
    let huge_label = dir.write("label.csv", "0.5,18446744073709551615\n");
    let msg = error_text(load_csv(&huge_label, 1, false));
    assert!(
        msg.contains("label.csv:1: column 2: label `18446744073709551615` is too large: at most 1000 classes"),
        "{msg}"
    );
    // the class cap (data::MAX_CLASSES) refuses what used to overflow
    let large = dir.write("large.csv", "0.5,4294967295\n1.5,4294967295.0\n");
    let msg = error_text(load_csv::<f64>(&large, 1, false));
    assert!(
        msg.contains("large.csv:1: column 2: label `4294967295` is too large"),
        "{msg}"
    );
    let huge_width = dir.write("width.csv", "1,18446744073709551615,a,b\n0.5,0\n");
    let msg = error_text(load_iris_from(&huge_width));
    assert!(
        msg.contains("width.csv:1: header: N_FEATURES `18446744073709551615` is too large"),
        "{msg}"
    );
}

#[test]
fn a_feature_that_overflows_the_element_type_is_not_a_finite_number() {
    // found by the `csv` fuzz target's check that loaded features are
    // finite: 1e39 is a finite f64 but infinite as f32
    let dir = TempDir::new("f32");
    let path = dir.write("big.csv", "1e39,0\n2,1\n");
    let err = load_csv::<f32>(&path, 1, false).unwrap_err();
    assert!(
        err.to_string()
            .contains("big.csv:1: column 1: `1e39` is out of range for f32"),
        "{err}"
    );
    let data = load_csv::<f64>(&path, 1, false).unwrap();
    assert_eq!(data.features().to_vec(), vec![1e39, 2.0]);
}

#[test]
fn shipped_format_checks_labels_counts_and_feature_width() {
    let dir = TempDir::new("shipped");
    let out_of_range = dir.write(
        "iris.csv",
        "3,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,3\n4.7,3.2,1.3,0.2,2\n",
    );
    let msg = error_text(load_iris_from(&out_of_range));
    assert!(
        msg.contains("iris.csv:3: label 3 is out of range for 3 classes"),
        "{msg}"
    );
    let truncated = dir.write("short.csv", "3,4,a,b,c\n5.1,3.5,1.4,0.2,0\n");
    let msg = error_text(load_iris_from(&truncated));
    assert!(
        msg.contains("short.csv:1: the header declares 3 rows but the file has 1"),
        "{msg}"
    );
    let iris_text = std::fs::read_to_string(data_dir().join("iris.csv")).unwrap();
    let iris_copy = dir.write("iris_copy.csv", &iris_text);
    let msg = error_text(load_wine_from(&iris_copy));
    assert!(msg.contains("expected 13 features, found 4"), "{msg}");
}

#[test]
fn digits_loader_reads_gzip_and_reports_bad_lines() {
    let dir = TempDir::new("digits");
    let gzip = |name: &str, text: &str| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).unwrap();
        dir.write(name, encoder.finish().unwrap())
    };
    let row = |label: usize| {
        let mut fields = vec!["1"; 64];
        let label = label.to_string();
        fields.push(&label);
        fields.join(",")
    };
    let good = gzip("good.csv.gz", &format!("{}\n{}\n", row(3), row(9)));
    let data = load_digits_from::<f32>(&good).unwrap();
    assert_eq!(
        (data.len(), data.n_features(), data.n_classes()),
        (2, 64, Some(10))
    );
    let bad = gzip("bad.csv.gz", &format!("{}\n{}\n", row(3), row(10)));
    let msg = error_text(load_digits_from(&bad));
    assert!(
        msg.contains("bad.csv.gz:2: label 10 is out of range for 10 classes"),
        "{msg}"
    );
    let not_gzip = dir.write("plain.csv.gz", row(1));
    let msg = error_text(load_digits_from(&not_gzip));
    assert!(msg.contains("plain.csv.gz: cannot read"), "{msg}");
}
