//! The examples run, briefly, and do what they say: each program's `run`
//! (from the examples' library, `examples/lib.rs`) is called in-process
//! with tiny settings, and its printed text and SVG are checked. The
//! command-line contract (a bad flag or file exits non-zero with a message,
//! never a panic) is checked on each program's `main`, in-process too: the
//! binaries of `cargo run --example` are that `main` and nothing else.

use std::ffi::OsString;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use clap::Parser;
use curvature_examples::{compare, hessian, quadratic, rosenbrock, train};

/// A directory of its own under the system's temporary directory, removed
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("curvature-examples-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Parses `args` as the example `name` would.
fn parse<A: Parser>(name: &str, args: &[&str]) -> A {
    A::try_parse_from(std::iter::once(name).chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{name} {args:?} should parse: {e}"))
}

/// Checks that `path` holds a well-formed SVG document: an `<svg>` root
/// that closes at the end, and every other tag closed in order. Returns
/// its text.
fn check_svg(path: &Path) -> String {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} should exist: {e}", path.display()));
    let body = text.trim();
    assert!(
        body.starts_with("<svg") || body.starts_with("<?xml"),
        "{} does not start as an SVG document",
        path.display()
    );
    assert!(
        body.ends_with("</svg>"),
        "{} does not end with </svg>",
        path.display()
    );
    let mut open: Vec<&str> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let end = rest[start..]
            .find('>')
            .unwrap_or_else(|| panic!("unclosed `<` in {}", path.display()))
            + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        let name = |t: &str| t.split_whitespace().next().unwrap_or("").to_string();
        if let Some(closing) = tag.strip_prefix('/') {
            let expected = open.pop();
            assert_eq!(
                expected.map(name),
                Some(name(closing)),
                "mismatched </{closing}> in {}",
                path.display()
            );
        } else {
            open.push(tag);
        }
    }
    assert!(
        open.is_empty(),
        "unclosed tags {:?} in {}",
        open.iter()
            .map(|t| t.split_whitespace().next())
            .collect::<Vec<_>>(),
        path.display()
    );
    text
}

/// Runs `train` in-process with `args`, returning its report and its log.
fn run_train(args: &[&str]) -> (train::TrainReport, String) {
    let parsed: train::Args = parse("train", args);
    let mut log = Vec::new();
    let report = train::run(&parsed, false, &mut log)
        .unwrap_or_else(|e| panic!("train {args:?} failed: {e}"));
    (report, String::from_utf8(log).expect("the log is UTF-8"))
}

/// Runs `train` with each case's flags (quiet, writing to `svg`) and checks
/// that it fails with an error containing the case's message.
fn assert_train_refuses(cases: &[(&[&str], &str)], svg: &str) {
    for &(args, message) in cases {
        let mut all = args.to_vec();
        all.extend(["--quiet", "--output", svg]);
        let parsed: train::Args = parse("train", &all);
        let err = train::run(&parsed, false, &mut Vec::new())
            .err()
            .unwrap_or_else(|| panic!("train {args:?} should fail"));
        assert!(err.to_string().contains(message), "{args:?}: {err}");
    }
}

/// The percentage printed after `label` on the line starting with `line_start`.
fn printed_percentage(log: &str, line_start: &str, label: &str) -> f64 {
    let line = log
        .lines()
        .find(|l| l.starts_with(line_start) && l.contains(label))
        .unwrap_or_else(|| panic!("no `{line_start} ... {label}` line in:\n{log}"));
    let after = &line[line.find(label).expect("found above") + label.len()..];
    after
        .trim()
        .trim_end_matches('%')
        .parse()
        .unwrap_or_else(|e| panic!("`{after}` is not a percentage: {e}"))
}

#[test]
fn train_learns_spirals_prints_each_epoch_and_draws_the_decision_regions() {
    let dir = TempDir::new("train-spirals");
    let svg = dir.arg("train.svg");
    let (report, log) = run_train(&[
        "--points", "300", "--epochs", "6", "--hidden", "16,16", "--output", &svg,
    ]);
    assert_eq!(report.metric, "accuracy");
    assert_eq!(report.history.records.len(), 7, "epoch 0 and six epochs");
    let epochs = log.lines().filter(|l| l.starts_with("epoch")).count();
    assert_eq!(epochs, 6, "one progress line per epoch:\n{log}");
    let accuracy = printed_percentage(&log, "final", "test accuracy");
    assert!(accuracy > 60.0, "two classes, chance is 50%:\n{log}");
    assert!((accuracy - 100.0 * report.last().test_metric).abs() < 0.01);
    assert!(log.contains("time "), "{log}");
    let text = check_svg(&dir.path("train.svg"));
    assert!(
        text.contains("decision regions"),
        "a 2-D dataset gets its regions drawn"
    );
    assert!(text.contains("<polyline"), "the loss curves are lines");
}

#[test]
fn train_runs_every_optimizer_above_chance() {
    let dir = TempDir::new("train-optimizers");
    for optimizer in [
        "sgd",
        "adam",
        "adamw",
        "adahessian",
        "sophia-h",
        "newton-cg",
        "lbfgs",
    ] {
        let svg = dir.arg(&format!("{optimizer}.svg"));
        let (report, log) = run_train(&[
            "--dataset",
            "moons",
            "--points",
            "200",
            "--epochs",
            "5",
            "--hidden",
            "8",
            "--optimizer",
            optimizer,
            "--quiet",
            "--output",
            &svg,
        ]);
        assert!(
            report.last().test_metric > 0.6,
            "{optimizer} on moons:\n{log}"
        );
        assert!(
            !log.contains("epoch "),
            "--quiet prints no progress:\n{log}"
        );
        assert!(log.contains(&format!("optimizer  {optimizer} (")), "{log}");
        check_svg(&dir.path(&format!("{optimizer}.svg")));
    }
}

#[test]
fn train_on_digits_beats_chance_in_one_epoch() {
    let dir = TempDir::new("train-digits");
    let svg = dir.arg("digits.svg");
    let (report, log) = run_train(&[
        "--dataset",
        "digits",
        "--optimizer",
        "adam",
        "--epochs",
        "1",
        "--warmup",
        "0",
        "--hidden",
        "16",
        "--quiet",
        "--output",
        &svg,
    ]);
    assert!(
        log.contains("1797 examples, 64 features, 10 classes"),
        "{log}"
    );
    assert!(
        report.last().test_metric > 0.3,
        "ten classes, chance is 10%:\n{log}"
    );
    let text = check_svg(&dir.path("digits.svg"));
    assert!(
        !text.contains("decision regions"),
        "64 features: no 2-D plot"
    );
}

#[test]
fn train_trains_the_digits_cnn_and_draws_its_filters_and_misclassified_digits() {
    let dir = TempDir::new("train-cnn");
    let svg = dir.arg("cnn.svg");
    let (report, log) = run_train(&[
        "--dataset",
        "digits",
        "--model",
        "cnn",
        "--epochs",
        "1",
        "--warmup",
        "0",
        "--quiet",
        "--output",
        &svg,
    ]);
    assert!(
        log.contains("model      CNN 1x8x8 -> conv3x3(16) bn relu"),
        "{log}"
    );
    assert!(log.contains("optimizer  adahessian (lr 0.15"), "{log}");
    // one epoch of 45 AdaHessian steps on the 8x8 digits: well above the
    // 10% of chance (99.7% after the default 30 epochs)
    assert!(
        report.last().test_metric > 0.7,
        "ten classes, chance is 10%:\n{log}"
    );
    let text = check_svg(&dir.path("cnn.svg"));
    assert!(
        text.contains("learned first-layer filters"),
        "filters panel"
    );
    assert!(
        text.contains("misclassified test digits"),
        "misclassified digits panel"
    );
    assert!(!text.contains("decision regions"));
}

#[test]
fn train_and_compare_refuse_flags_the_cnn_cannot_use() {
    let dir = TempDir::new("train-cnn-refuse");
    let svg = dir.arg("never.svg");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--model", "cnn", "--dataset", "iris"],
            "--model cnn trains on the 8x8 images of --dataset digits, not iris",
        ),
        (
            &["--model", "cnn", "--dataset", "digits", "--hidden", "8"],
            "--model cnn has a fixed architecture",
        ),
        (
            &[
                "--model",
                "cnn",
                "--dataset",
                "digits",
                "--activation",
                "relu",
            ],
            "--model cnn has a fixed architecture",
        ),
        (
            &["--model", "cnn", "--dataset", "digits", "--save", &svg],
            "not with --model cnn",
        ),
    ];
    assert_train_refuses(&cases, &svg);
    let parsed: compare::Args = parse(
        "compare",
        &[
            "--model",
            "cnn",
            "--dataset",
            "wine",
            "--quiet",
            "--output",
            &svg,
        ],
    );
    let err = compare::run(&parsed, &mut Vec::new()).expect_err("wine is not images");
    assert!(err.to_string().contains("not wine"), "{err}");
    assert!(!dir.path("never.svg").exists());
}

#[test]
fn train_on_sine_reports_r_squared_and_draws_the_fit() {
    let dir = TempDir::new("train-sine");
    let svg = dir.arg("sine.svg");
    let (report, log) = run_train(&[
        "--dataset",
        "sine",
        "--points",
        "200",
        "--epochs",
        "10",
        "--optimizer",
        "adam",
        "--quiet",
        "--output",
        &svg,
    ]);
    assert_eq!(report.metric, "R²");
    assert!(log.contains("test R²"), "{log}");
    assert!(
        report.last().test_metric > 0.0,
        "better than the mean:\n{log}"
    );
    let text = check_svg(&dir.path("sine.svg"));
    assert!(
        text.contains("\nfit\n"),
        "a 1-D regression gets its fit drawn"
    );
}

#[test]
fn train_reads_a_csv_file_with_a_header() {
    let dir = TempDir::new("train-csv");
    // Two well separated classes, label last.
    let mut csv = String::from("width,height,class\n");
    for i in 0..60 {
        let class = i % 2;
        let offset = if class == 0 { -2.0 } else { 2.0 };
        let jitter = (i as f64 * 0.37).sin() * 0.5;
        csv.push_str(&format!(
            "{},{},{class}\n",
            offset + jitter,
            offset - jitter
        ));
    }
    std::fs::write(dir.path("points.csv"), csv).unwrap();
    let (data, svg) = (dir.arg("points.csv"), dir.arg("csv.svg"));
    let (report, log) = run_train(&[
        "--dataset",
        &data,
        "--header",
        "--epochs",
        "20",
        "--quiet",
        "--output",
        &svg,
    ]);
    assert!(log.contains("60 examples, 2 features, 2 classes"), "{log}");
    assert!(report.last().test_metric > 0.9, "{log}");
    check_svg(&dir.path("csv.svg"));
}

#[test]
fn train_refuses_values_it_cannot_use_with_a_message() {
    let dir = TempDir::new("train-refuse");
    let svg = dir.arg("never.svg");
    let cases: [(&[&str], &str); 7] = [
        (
            &["--optimizer", "adam", "--momentum", "0.5"],
            "--momentum does not apply to adam",
        ),
        (&["--epochs", "0"], "--epochs must be at least 1"),
        (&["--noise=-1"], "--noise -1 must be"),
        (&["--lr=-0.1"], "invalid hyperparameter lr = -0.1"),
        (
            &["--dataset", "iris", "--points", "10"],
            "apply to toy datasets",
        ),
        (
            &["--dataset", "moons", "--classes", "3"],
            "--classes applies to spirals and blobs",
        ),
        (&["--header"], "--header applies to CSV files"),
    ];
    assert_train_refuses(&cases, &svg);
    assert!(!dir.path("never.svg").exists());
    let err = train::Args::try_parse_from(["train", "--dataset", "nosuch"]).unwrap_err();
    assert!(
        err.to_string().contains("unknown dataset `nosuch`"),
        "{err}"
    );
}

#[test]
fn compare_runs_every_optimizer_and_prints_the_table() {
    let dir = TempDir::new("compare");
    let svg = dir.arg("compare.svg");
    let args: compare::Args = parse(
        "compare",
        &[
            "--dataset",
            "moons",
            "--epochs",
            "3",
            "--target-loss",
            "0.5",
            "--quiet",
            "--output",
            &svg,
        ],
    );
    let mut log = Vec::new();
    let rows = compare::run(&args, &mut log).expect("compare runs");
    let log = String::from_utf8(log).unwrap();
    assert_eq!(rows.len(), 7);
    for name in [
        "sgd",
        "adam",
        "adamw",
        "adahessian",
        "sophia-h",
        "newton-cg",
        "lbfgs",
    ] {
        assert!(
            log.contains(&format!("| {name} |")),
            "{name} missing:\n{log}"
        );
    }
    assert!(log.contains("steps to 0.5"), "{log}");
    assert!(rows.iter().all(|r| r.median_step_ms > 0.0));
    for r in &rows {
        let second_order = matches!(r.optimizer.name(), "adahessian" | "sophia-h" | "newton-cg");
        assert_eq!(
            r.hessian_vector_products > 0,
            second_order,
            "{}: {} HVPs\n{log}",
            r.optimizer,
            r.hessian_vector_products
        );
        assert!(r.loss_evaluations >= r.history.step_seconds.len() as u64);
        if let Some(steps) = r.steps_to_target {
            assert!(r.evaluations_to_target >= Some(steps), "{log}");
            assert!(r.hvps_to_target <= Some(r.hessian_vector_products));
            assert_eq!(r.hvps_to_target > Some(0), second_order && steps > 0);
        }
    }
    assert!(log.contains("HVPs to 0.5"), "{log}");
    assert!(
        rows.iter().any(|r| r.steps_to_target.is_some()),
        "someone reaches 0.5 on moons in 3 epochs:\n{log}"
    );
    let text = check_svg(&dir.path("compare.svg"));
    assert!(text.contains("adahessian") && text.contains("sgd"));
}

#[test]
fn compare_runs_the_digits_cnn_with_adam_and_adahessian() {
    let dir = TempDir::new("compare-cnn");
    let svg = dir.arg("compare.svg");
    let args: compare::Args = parse(
        "compare",
        &[
            "--dataset",
            "digits",
            "--model",
            "cnn",
            "--optimizers",
            "adam,adahessian",
            "--epochs",
            "1",
            "--target-loss",
            "0.5",
            "--quiet",
            "--output",
            &svg,
        ],
    );
    let mut log = Vec::new();
    let rows = compare::run(&args, &mut log).expect("compare runs the CNN");
    let log = String::from_utf8(log).unwrap();
    assert_eq!(rows.len(), 2, "{log}");
    for r in &rows {
        // the training loss is recorded every quarter epoch: 4 points
        assert!(
            r.history.train_loss_by_step.len() >= 4,
            "{}: {:?}",
            r.optimizer,
            r.history.train_loss_by_step
        );
        assert!(
            r.history.last().test_metric > 0.5,
            "{}: test accuracy {}\n{log}",
            r.optimizer,
            r.history.last().test_metric
        );
    }
    assert_eq!(
        rows.iter()
            .map(|r| r.hessian_vector_products > 0)
            .collect::<Vec<_>>(),
        [false, true]
    );
    let text = check_svg(&dir.path("compare.svg"));
    assert!(text.contains("adahessian") && text.contains("adam"));
}

#[test]
fn compare_takes_a_learning_rate_per_optimizer() {
    let dir = TempDir::new("compare-lr");
    let svg = dir.arg("compare.svg");
    let base = [
        "--dataset",
        "xor",
        "--epochs",
        "1",
        "--quiet",
        "--output",
        &svg,
    ];
    let mut with_lr = base.to_vec();
    with_lr.extend([
        "--optimizers",
        "adam,sgd",
        "--lr",
        "Adam=0.5",
        "--lr",
        "adam=0.25",
    ]);
    let args: compare::Args = parse("compare", &with_lr);
    assert_eq!(
        args.lrs,
        [
            (support::optimizers::OptimizerKind::Adam, 0.5),
            (support::optimizers::OptimizerKind::Adam, 0.25)
        ]
    );
    let rows = compare::run(&args, &mut Vec::new()).expect("compare runs");
    assert_eq!(rows.len(), 2);
    for bad in ["adam", "nosuch=1", "adam=fast"] {
        let err = compare::Args::try_parse_from(["compare", "--lr", bad]).unwrap_err();
        assert!(err.to_string().contains(bad), "{bad}: {err}");
    }
    let mut negative = base.to_vec();
    negative.extend(["--optimizers", "adam", "--lr", "adam=-1"]);
    let args: compare::Args = parse("compare", &negative);
    let err = compare::run(&args, &mut Vec::new()).unwrap_err();
    assert!(err.to_string().contains("lr = -1"), "{err}");
}

#[test]
fn quadratic_shows_one_step_newton_only_on_the_separable_quadratic() {
    let dir = TempDir::new("quadratic");
    let svg = dir.arg("quadratic.svg");
    let args: quadratic::Args = parse("quadratic", &["--steps", "4", "--output", &svg]);
    let mut log = Vec::new();
    let cases = quadratic::run(&args, &mut log).expect("quadratic runs");
    let log = String::from_utf8(log).unwrap();
    let (separable, rotated) = (&cases[0], &cases[1]);
    assert!(separable.distance(separable.adahessian[1]) < 1e-12, "{log}");
    assert!(
        separable.distance(separable.gradient_descent[1]) > 1.0,
        "{log}"
    );
    assert!(rotated.distance(rotated.adahessian[1]) > 1e-3, "{log}");
    assert!(rotated.distance(rotated.exact_diagonal[1]) > 1e-3, "{log}");
    for case in [separable, rotated] {
        let names: Vec<&str> = case.others.iter().map(|(k, _)| k.name()).collect();
        assert_eq!(
            names,
            ["adam", "adamw", "sophia-h", "newton-cg", "lbfgs"],
            "{log}"
        );
        for (kind, path) in &case.others {
            assert_eq!(path[0], [-4.0, 2.5], "{kind}");
            assert!(
                log.contains(&format!("{kind} (the examples' defaults)")),
                "{log}"
            );
        }
        // the curvature methods end nearer the minimum than gradient descent
        let gd = case.distance(*case.gradient_descent.last().unwrap());
        for (kind, path) in &case.others[3..] {
            let d = case.distance(*path.last().unwrap());
            assert!(d < gd / 10.0, "{kind}: {d} against {gd}\n{log}");
        }
    }
    assert!(
        log.contains("== separable") && log.contains("== rotated"),
        "{log}"
    );
    assert_eq!(
        log.lines().filter(|l| l.starts_with("   1 ")).count(),
        2,
        "{log}"
    );
    check_svg(&dir.path("quadratic.svg"));
}

#[test]
fn hessian_analyses_a_small_mlp_before_and_after_training() {
    let dir = TempDir::new("hessian");
    let svg = dir.arg("hessian.svg");
    let flags = [
        "--dataset",
        "iris",
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--slq-steps",
        "10",
        "--landscape-points",
        "5",
        "--hessian-batch",
        "50",
        "--output",
        &svg,
    ];
    let args: hessian::Args = parse("hessian", &flags);
    let mut log = Vec::new();
    let report = hessian::run(&args, &mut log).expect("hessian runs");
    let log = String::from_utf8(log).unwrap();
    // [4, 8, 3]: 4 * 8 + 8 + 8 * 3 + 3 parameters
    assert_eq!(report.parameters, 67, "{log}");
    assert_eq!(report.eigenvalues_by_epoch.len(), 3, "{log}");
    for snapshot in [&report.initial, &report.trained] {
        let top = &snapshot.top.values;
        assert_eq!(top.len(), 5);
        assert!(top.windows(2).all(|w| w[0] >= w[1]), "{top:?}");
        let names: Vec<&str> = snapshot.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
        // the largest layer eigenvalue is at most the whole top eigenvalue
        let largest = snapshot
            .layers
            .iter()
            .map(|l| l.top_eigenvalue)
            .fold(f64::MIN, f64::max);
        assert!(largest <= top[0] * (1.0 + 1e-6), "{largest} > {}", top[0]);
        assert_eq!(snapshot.line.losses.len(), 5);
        assert_eq!(snapshot.plane.losses.len(), 5);
        // the middle of the line is the unperturbed loss
        assert!((snapshot.line.losses[2] - snapshot.loss).abs() < 1e-12);
    }
    assert!(report.trained.loss < report.initial.loss, "{log}");
    assert_eq!(log.matches("top 5 eigenvalues").count(), 2, "{log}");
    assert_eq!(
        log.lines().filter(|l| l.starts_with("epoch ")).count(),
        2,
        "{log}"
    );
    assert!(log.contains("HVPs at") && log.contains("figure: "), "{log}");
    let texts = svg_texts(&check_svg(&dir.path("hessian.svg")));
    assert!(
        texts.iter().any(|t| t.contains("spectral density")),
        "{texts:?}"
    );

    // more eigenvalues than parameters: a message naming both, no panic
    let output = run_main(
        "hessian",
        &[
            "--dataset",
            "iris",
            "--hidden",
            "8",
            "--top-k",
            "68",
            "--output",
            &svg,
        ],
    );
    assert_clean_failure(&output, "hessian --top-k 68", "asked for 68 eigenvalues");
    assert_clean_failure(&output, "hessian --top-k 68", "only 67 parameters");
    let output = run_main("hessian", &["--tolerance", "0", "--output", &svg]);
    assert_clean_failure(&output, "hessian --tolerance 0", "tolerance 0");
}

#[test]
fn rosenbrock_runs_every_optimizer_from_the_same_start() {
    let dir = TempDir::new("rosenbrock");
    let svg = dir.arg("rosenbrock.svg");
    let args: rosenbrock::Args = parse("rosenbrock", &["--steps", "200", "--output", &svg]);
    let mut log = Vec::new();
    let runs = rosenbrock::run(&args, &mut log).expect("rosenbrock runs");
    let log = String::from_utf8(log).unwrap();
    assert_eq!(runs.len(), 7);
    let start = rosenbrock::rosenbrock(rosenbrock::START.0, rosenbrock::START.1);
    for run in &runs {
        assert_eq!(run.path[0], rosenbrock::START);
        let (x, y) = run.last();
        assert!(
            rosenbrock::rosenbrock(x, y) < start,
            "{:?} made no progress:\n{log}",
            run.optimizer
        );
        assert!(log.contains(&format!("| {} |", run.optimizer)), "{log}");
    }
    check_svg(&dir.path("rosenbrock.svg"));
}

/// What a program's `main` returned and wrote to stderr.
struct Exit {
    code: u8,
    stderr: String,
}

/// Runs the `main` of example `name` in-process with `args`, as its binary
/// does with the command line. A panic fails the test, naming the program.
fn run_main(name: &str, args: &[&str]) -> Exit {
    let argv: Vec<OsString> = std::iter::once(name)
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect();
    let mut stderr = Vec::new();
    let code = std::panic::catch_unwind(AssertUnwindSafe(|| match name {
        "train" => train::main(argv, &mut stderr),
        "compare" => compare::main(argv, &mut stderr),
        "quadratic" => quadratic::main(argv, &mut stderr),
        "rosenbrock" => rosenbrock::main(argv, &mut stderr),
        "hessian" => hessian::main(argv, &mut stderr),
        other => panic!("no example {other}"),
    }));
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    let code = code.unwrap_or_else(|_| panic!("{name} {args:?} panicked; stderr:\n{stderr}"));
    Exit { code, stderr }
}

/// Checks that the program failed with a message containing `message` on
/// stderr, and without a panic.
fn assert_clean_failure(output: &Exit, what: &str, message: &str) {
    let stderr = &output.stderr;
    assert_ne!(output.code, 0, "{what} should fail; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{what} panicked:\n{stderr}");
    assert!(
        stderr.contains(message),
        "{what}: `{message}` not in stderr:\n{stderr}"
    );
}

#[test]
fn bad_flags_and_files_exit_non_zero_with_a_message_and_no_panic() {
    let output = run_main("train", &["--optimizer", "bogus"]);
    assert_clean_failure(&output, "train --optimizer bogus", "bogus");
    let missing = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("no-such-directory")
        .join("missing.csv");
    let missing = missing.to_string_lossy();
    let output = run_main("train", &["--dataset", &missing]);
    assert_clean_failure(&output, "train on a missing CSV", &missing);
    assert_clean_failure(&output, "train on a missing CSV", "no such file");
    assert_eq!(output.code, 1);
    let missing_model = missing.replace("missing.csv", "missing.safetensors");
    let output = run_main("train", &["--load", &missing_model]);
    assert_clean_failure(&output, "train --load a missing file", &missing_model);
    assert_eq!(output.code, 1);
    let said = output.stderr.matches("No such file").count();
    assert_eq!(said, 1, "the cause once:\n{}", output.stderr);
    for example in ["compare", "quadratic", "rosenbrock", "hessian"] {
        let output = run_main(example, &["--no-such-flag"]);
        assert_clean_failure(&output, example, "--no-such-flag");
    }
}

/// The three files of the checkpoint `--save dir/NAME.safetensors` writes.
fn checkpoint_files(dir: &TempDir, name: &str) -> [PathBuf; 3] {
    ["safetensors", "optim.safetensors", "scaler.safetensors"]
        .map(|ext| dir.path(&format!("{name}.{ext}")))
}

/// The arguments `parts` in order.
fn cat<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
    parts.concat()
}

/// The bytes of `path`, which must exist.
fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{} should exist: {e}", path.display()))
}

#[test]
fn train_resumed_from_a_checkpoint_matches_the_uninterrupted_run_bit_for_bit() {
    let dir = TempDir::new("train-resume");
    let svg = dir.arg("resume.svg");
    for optimizer in [
        "sgd",
        "adam",
        "adamw",
        "adahessian",
        "sophia-h",
        "newton-cg",
        "lbfgs",
    ] {
        let (whole, half, resumed) = (
            dir.arg(&format!("{optimizer}-whole.safetensors")),
            dir.arg(&format!("{optimizer}-half.safetensors")),
            dir.arg(&format!("{optimizer}-resumed.safetensors")),
        );
        // The default cosine schedule with a warm-up epoch: the resumed run
        // must pick up the schedule, the batch order and AdaHessian's
        // draws where the interrupted run left them.
        let flags = [
            "--dataset",
            "moons",
            "--points",
            "200",
            "--hidden",
            "8",
            "--optimizer",
            optimizer,
            "--quiet",
            "--output",
            &svg,
        ];
        let (uninterrupted, _) =
            run_train(&cat(&[&flags[..], &["--epochs", "4", "--save", &whole]]));
        let (first, log) = run_train(&cat(&[
            &flags[..],
            &["--epochs", "4", "--stop-after", "2", "--save", &half],
        ]));
        assert_eq!(first.last().epoch, 2, "{log}");
        assert!(log.contains("training   epochs 1 to 2 of 4"), "{log}");
        let (second, log) = run_train(&cat(&[
            &flags[..],
            &["--load", &half, "--resume", "--save", &resumed],
        ]));
        assert!(log.contains("training   epochs 3 to 4 of 4"), "{log}");
        assert!(log.contains("resuming with its optimizer state"), "{log}");
        assert_eq!(second.history.records[0].epoch, 2);
        assert_eq!(second.last(), uninterrupted.last(), "{optimizer}");

        let whole_files = checkpoint_files(&dir, &format!("{optimizer}-whole"));
        let half_files = checkpoint_files(&dir, &format!("{optimizer}-half"));
        let resumed_files = checkpoint_files(&dir, &format!("{optimizer}-resumed"));
        for ((w, h), r) in whole_files.iter().zip(&half_files).zip(&resumed_files) {
            assert!(
                bytes(w) == bytes(r),
                "{optimizer}: {} and {} differ",
                w.display(),
                r.display()
            );
            if !w.to_string_lossy().ends_with("scaler.safetensors") {
                assert!(
                    bytes(w) != bytes(h),
                    "{optimizer}: epochs 3 and 4 changed nothing"
                );
            }
        }
    }
}

#[test]
fn train_loads_a_saved_model_to_evaluate_or_train_further() {
    let dir = TempDir::new("train-load");
    // --save creates the directory, as --output does.
    let (model, svg) = (dir.arg("new/iris.safetensors"), dir.arg("iris.svg"));
    let iris = ["--dataset", "iris", "--quiet", "--output", &svg];
    let (trained, log) = run_train(&cat(&[
        &iris[..],
        &[
            "--epochs",
            "5",
            "--hidden",
            "6",
            "--activation",
            "relu",
            "--save",
            &model,
        ],
    ]));
    assert!(log.contains(&format!("saved      {model}")), "{log}");

    // --epochs 0 evaluates: the architecture and the standardiser come
    // from the files, and the metrics are the saved model's exactly.
    let (evaluated, log) = run_train(&cat(&[&iris[..], &["--load", &model, "--epochs", "0"]]));
    assert!(log.contains("MLP [4, 6, 3], relu"), "{log}");
    assert!(log.contains("training   none"), "{log}");
    assert!(!log.contains("resuming"), "{log}");
    assert_eq!(evaluated.history.records.len(), 1);
    let (a, b) = (evaluated.last(), trained.last());
    assert_eq!((a.train_loss, a.test_loss), (b.train_loss, b.test_loss));
    assert_eq!(
        (a.train_metric, a.test_metric),
        (b.train_metric, b.test_metric)
    );

    // Without --resume, training continues from the weights with a fresh
    // optimizer and a run of its own.
    let (further, log) = run_train(&cat(&[&iris[..], &["--load", &model, "--epochs", "3"]]));
    assert!(log.contains("training   3 epochs"), "{log}");
    assert_eq!(further.history.records[0].train_loss, b.train_loss);
    assert_eq!(further.history.records.len(), 4);
    assert_eq!(
        further.last().steps,
        3 * 8,
        "120 training rows, batches of 16"
    );
}

#[test]
fn train_refuses_checkpoints_it_cannot_use_naming_the_file_and_tensor() {
    let dir = TempDir::new("train-bad-checkpoint");
    let (svg, trained_svg) = (dir.arg("never.svg"), dir.arg("trained.svg"));
    let model = dir.arg("moons.safetensors");
    let moons = [
        "--dataset",
        "moons",
        "--points",
        "100",
        "--hidden",
        "8",
        "--quiet",
    ];
    run_train(&cat(&[
        &moons[..],
        &["--epochs", "2", "--save", &model],
        &["--output", &trained_svg],
    ]));
    let half = dir.arg("half.safetensors");
    run_train(&cat(&[
        &moons[..],
        &["--epochs", "2", "--stop-after", "1", "--save", &half],
        &["--output", &trained_svg],
    ]));
    let fails = |args: Vec<&str>, messages: &[&str]| {
        let parsed: train::Args = parse("train", &args);
        let err = train::run(&parsed, false, &mut Vec::new())
            .err()
            .unwrap_or_else(|| panic!("train {args:?} should fail"));
        let text = err.to_string();
        for message in messages {
            assert!(
                text.contains(message),
                "{args:?}: `{message}` not in: {text}"
            );
        }
    };

    let missing = dir.arg("missing.safetensors");
    fails(
        cat(&[&moons[..], &["--load", &missing], &["--output", &svg]]),
        &[&missing, "No such file"],
    );
    // --hidden 8 and then 16: a second hidden layer the file lacks.
    fails(
        cat(&[
            &moons[..],
            &["--load", &model, "--hidden", "16"],
            &["--output", &svg],
        ]),
        &[
            &model,
            "tensor `2.weight` has shape [2, 8], but the model expects [16, 8]",
        ],
    );
    fails(
        vec![
            "--dataset",
            "iris",
            "--load",
            &model,
            "--quiet",
            "--output",
            &svg,
        ],
        &[
            &dir.arg("moons.scaler.safetensors"),
            "tensor `mean`) takes 2 features, but dataset iris has 4",
        ],
    );
    fails(
        cat(&[
            &moons[..],
            &["--load", &model, "--activation", "relu"],
            &["--output", &svg],
        ]),
        &[&model, "saved with --activation tanh, not relu"],
    );
    fails(
        cat(&[&moons[..], &["--resume"], &["--output", &svg]]),
        &["--resume needs --load"],
    );
    fails(
        cat(&[
            &moons[..],
            &["--load", &half, "--resume", "--batch-size", "16"],
            &["--output", &svg],
        ]),
        &[
            &half,
            "the saved run had --batch-size 32, but this run has --batch-size 16",
        ],
    );
    fails(
        cat(&[
            &moons[..],
            &[
                "--load",
                &half,
                "--resume",
                "--epochs",
                "3",
                "--stop-after",
                "1",
            ],
            &["--output", &svg],
        ]),
        &["--stop-after 1 must be after epoch 1"],
    );
    fails(
        cat(&[
            &moons[..],
            &["--epochs", "2", "--stop-after", "3"],
            &["--output", &svg],
        ]),
        &["--stop-after 3 must be"],
    );

    // The optimizer state of another save: the files are torn apart.
    let [_, half_optim, _] = checkpoint_files(&dir, "half");
    let [_, model_optim, _] = checkpoint_files(&dir, "moons");
    std::fs::copy(&model_optim, &half_optim).unwrap();
    fails(
        cat(&[
            &moons[..],
            &["--load", &half, "--resume"],
            &["--output", &svg],
        ]),
        &[
            &half_optim.to_string_lossy(),
            "written at step 6, but",
            "at step 3",
        ],
    );

    // The same model in f64: the dtype is named with the tensor.
    let metadata = curvature::nn::read_metadata(&model).unwrap();
    let f64_model = curvature::nn::Mlp::<f64>::new(&[2, 8, 2], curvature::nn::Activation::Tanh, 0);
    let f64_path = dir.arg("f64.safetensors");
    curvature::nn::save_parameters_with_metadata(&f64_model, &f64_path, &metadata).unwrap();
    let [_, _, scaler] = checkpoint_files(&dir, "moons");
    std::fs::copy(&scaler, dir.path("f64.scaler.safetensors")).unwrap();
    fails(
        cat(&[&moons[..], &["--load", &f64_path], &["--output", &svg]]),
        &[&f64_path, "has dtype F64, but the model expects F32"],
    );

    // Not a checkpoint at all.
    let junk = dir.arg("junk.safetensors");
    std::fs::write(&junk, b"not a checkpoint").unwrap();
    fails(
        cat(&[&moons[..], &["--load", &junk], &["--output", &svg]]),
        &[&junk, "not a valid safetensors file"],
    );
    assert!(!dir.path("never.svg").exists());
}

// Regression tests for the defects of issue 11. The support module is
// included once more, to test its helpers directly.

use curvature_examples::support;

/// Runs an example that is not part of the examples library (`hvp`,
/// `bench`) from the binary `cargo test` built beside this test (in
/// `target/PROFILE/examples`), without a nested cargo.
fn run_built_example(name: &str, args: &[&str]) -> std::process::Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/PROFILE/deps")
        .join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: `cargo test` builds the examples with the tests, \
         `cargo test --test examples` alone does not (run `cargo build --examples` first)",
        path.display()
    );
    std::process::Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()))
}

/// Writes `text` as `name` in `dir` and runs `train` on it with `extra`
/// flags, returning the error and what was logged before it.
fn train_on_csv_error(dir: &TempDir, name: &str, text: &str, extra: &[&str]) -> (String, String) {
    std::fs::write(dir.path(name), text).unwrap();
    let (data, svg) = (dir.arg(name), dir.arg("never.svg"));
    let mut args = vec!["--dataset", &data, "--quiet", "--output", &svg];
    args.extend(extra);
    let parsed: train::Args = parse("train", &args);
    let mut log = Vec::new();
    let err = train::run(&parsed, false, &mut log)
        .err()
        .unwrap_or_else(|| panic!("train on {name} should fail"));
    (
        support::error_chain(err.as_ref()),
        String::from_utf8(log).unwrap(),
    )
}

/// `rows` rows of two features, labelled `label(i)`.
fn csv_rows(rows: usize, label: impl Fn(usize) -> String) -> String {
    (0..rows)
        .map(|i| format!("{}.5,{},{}\n", i, i % 7, label(i)))
        .collect()
}

#[test]
fn train_refuses_labels_that_would_make_a_huge_model_naming_the_row_and_value() {
    let dir = TempDir::new("defect-labels");
    for (label, message) in [
        (
            "100000",
            "label `100000` is too large: at most 1000 classes",
        ),
        ("1000000000", "label `1000000000` is too large"),
        (
            "18446744073709551615",
            "label `18446744073709551615` is too large",
        ),
    ] {
        let text = csv_rows(6, |i| {
            if i == 4 {
                label.into()
            } else {
                (i % 2).to_string()
            }
        });
        let (err, log) = train_on_csv_error(&dir, "big.csv", &text, &[]);
        assert!(
            err.contains("big.csv:5: column 3: ") && err.contains(message),
            "{err}"
        );
        assert!(log.is_empty(), "refused before anything runs:\n{log}");
    }
    let text = csv_rows(6, |i| {
        if i == 3 {
            "999".into()
        } else {
            (i % 2).to_string()
        }
    });
    let (err, _) = train_on_csv_error(&dir, "sparse.csv", &text, &[]);
    assert!(
        err.contains("sparse.csv:4: label 999 makes 1000 classes, but class 2 has no example"),
        "{err}"
    );
}

#[test]
fn train_refuses_a_header_that_does_not_name_every_column() {
    let dir = TempDir::new("defect-header");
    let text = format!("x,label\n{}", csv_rows(20, |i| (i % 2).to_string()));
    let (err, _) = train_on_csv_error(&dir, "short-header.csv", &text, &["--header"]);
    assert!(
        err.contains("short-header.csv:1: the header names 2 columns but the rows have 3 fields"),
        "{err}"
    );
}

#[test]
fn train_refuses_a_single_class() {
    let dir = TempDir::new("defect-one-class");
    let (err, _) = train_on_csv_error(&dir, "one.csv", &csv_rows(20, |_| "0".into()), &[]);
    assert!(
        err.contains("one.csv: every one of the 20 rows has label 0")
            && err.contains("at least two classes"),
        "{err}"
    );
}

#[test]
fn train_refuses_features_too_large_for_f32_and_hints_at_lr_only_when_it_can_help() {
    let dir = TempDir::new("defect-f32");
    let text = format!("1e39,1,0\n{}", csv_rows(20, |i| (i % 2).to_string()));
    let (err, _) = train_on_csv_error(&dir, "huge.csv", &text, &[]);
    assert!(
        err.contains("huge.csv:1: column 1: `1e39` is out of range for f32"),
        "{err}"
    );
    let svg = dir.arg("momentum.svg");
    let args = [
        "--dataset",
        "moons",
        "--points",
        "200",
        "--hidden",
        "8",
        "--optimizer",
        "sgd",
        "--momentum",
        "1.5",
        "--epochs",
        "100",
        "--schedule",
        "constant",
        "--quiet",
        "--output",
        &svg,
    ];
    let parsed: train::Args = parse("train", &args);
    let err = train::run(&parsed, false, &mut Vec::new())
        .expect_err("momentum 1.5 diverges")
        .to_string();
    assert!(err.contains("training stopped"), "{err}");
    assert!(
        !err.contains("--lr"),
        "the learning rate is not the cause: {err}"
    );
    assert!(err.contains("--momentum 1.5 is at least 1"), "{err}");
}

#[test]
fn train_checks_its_output_before_training_and_writes_the_figure_atomically() {
    let dir = TempDir::new("defect-output");
    std::fs::write(dir.path("a-file"), "not a directory").unwrap();
    std::fs::create_dir(dir.path("a-directory")).unwrap();
    for output in [dir.arg("a-file/train.svg"), dir.arg("a-directory")] {
        let parsed: train::Args = parse(
            "train",
            &["--points", "100", "--epochs", "1", "--output", &output],
        );
        let mut log = Vec::new();
        let err = train::run(&parsed, false, &mut log)
            .err()
            .unwrap_or_else(|| panic!("--output {output} should be refused"));
        let named = output.trim_end_matches("/train.svg");
        assert!(err.to_string().contains(named), "{err}");
        assert!(
            log.is_empty(),
            "refused before training:\n{}",
            String::from_utf8_lossy(&log)
        );
    }
    // A figure replaces the old one and leaves nothing else behind.
    let svg = dir.arg("train.svg");
    std::fs::write(&svg, "old figure").unwrap();
    let (_, log) = run_train(&[
        "--points", "100", "--epochs", "1", "--quiet", "--output", &svg,
    ]);
    check_svg(&dir.path("train.svg"));
    assert!(log.contains(&format!("figure     {svg}")), "{log}");
    let mut names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a-directory", "a-file", "train.svg"]);
}

#[test]
fn train_refuses_sizes_beyond_its_limits_before_allocating() {
    let dir = TempDir::new("defect-sizes");
    let svg = dir.arg("never.svg");
    let cases: [(&[&str], &str); 3] = [
        (
            &["--points", "18446744073709551615"],
            "--points 18446744073709551615 is more than the limit of 10000000",
        ),
        (&["--points", "1000000000"], "is more than the limit"),
        (
            &["--hidden", "100000,100000"],
            "parameters, more than the limit of 50000000",
        ),
    ];
    assert_train_refuses(&cases, &svg);
}

#[test]
fn flags_take_negative_numbers_any_case_and_every_flag_is_described() {
    use clap::CommandFactory;
    let dir = TempDir::new("defect-flags");
    let svg = dir.arg("never.svg");
    let args: train::Args = parse(
        "train",
        &["--lr", "-0.1", "--optimizer", "Adam", "--output", &svg],
    );
    assert_eq!(args.lr, Some(-0.1));
    let err = train::run(&args, false, &mut Vec::new()).err().unwrap();
    assert!(
        err.to_string().contains("invalid hyperparameter lr = -0.1"),
        "{err}"
    );
    let args: train::Args = parse("train", &["--schedule", "Constant", "--dataset", "Iris"]);
    assert_eq!(args.schedule.name(), "constant");
    let args: compare::Args = parse("compare", &["--optimizers", "SGD,AdaHessian"]);
    assert_eq!(args.optimizers.map(|o| o.len()), Some(2));
    let args: quadratic::Args = parse("quadratic", &["--rotation", "-30"]);
    assert_eq!(args.rotation, -30.0);
    for command in [
        train::Args::command(),
        compare::Args::command(),
        quadratic::Args::command(),
        rosenbrock::Args::command(),
        hessian::Args::command(),
    ] {
        for arg in command.get_arguments() {
            assert!(
                arg.get_help().is_some(),
                "{} --{} has no description",
                command.get_name(),
                arg.get_id()
            );
        }
    }
}

#[test]
fn defaults_write_beside_the_working_directory_and_say_where() {
    let args: train::Args = parse("train", &[]);
    assert_eq!(args.output, PathBuf::from("train.svg"));
    let args: compare::Args = parse("compare", &[]);
    assert_eq!(args.output, PathBuf::from("compare.svg"));
    let dir = TempDir::new("defect-where");
    std::fs::create_dir_all(dir.path("figures")).unwrap();
    let figure = support::check_output(&dir.path("figures").join("x.svg")).unwrap();
    assert!(figure.is_absolute(), "{}", figure.display());
}

#[test]
fn an_io_error_prints_its_cause_once() {
    let dir = TempDir::new("defect-io-twice");
    std::fs::create_dir(dir.path("folder.csv")).unwrap();
    let parsed: train::Args = parse(
        "train",
        &[
            "--dataset",
            &dir.arg("folder.csv"),
            "--output",
            &dir.arg("x.svg"),
        ],
    );
    let err = train::run(&parsed, false, &mut Vec::new()).err().unwrap();
    let text = support::error_chain(err.as_ref());
    assert_eq!(text.matches("os error").count(), 1, "{text}");
}

#[test]
fn hvp_and_bench_answer_help_with_their_own_description() {
    let output = run_built_example("hvp", &["--help"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("Hessian-vector product"), "{stdout}");
    let output = run_built_example("hvp", &["--bogus"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "hvp --bogus succeeded: {stderr}");
    assert!(
        stderr.contains("--bogus") && !stderr.contains("panicked"),
        "{stderr}"
    );
    let output = run_built_example("bench", &["--help"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Times one operation"), "{stdout}");
    assert!(!stdout.contains("Differentiable programming"), "{stdout}");
}

/// The contents of every `<text>` element of an SVG document.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("</text>")
        .filter_map(|chunk| chunk.rfind('>').map(|i| chunk[i + 1..].trim().to_string()))
        .collect()
}

/// The value of attribute `name` in an SVG tag's text.
fn attribute(tag: &str, name: &str) -> Option<f64> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    tag[start..start + len].parse().ok()
}

/// The tags `<kind ...>` of an SVG document.
fn svg_tags<'a>(svg: &'a str, kind: &str) -> Vec<&'a str> {
    let open = format!("<{kind} ");
    svg.match_indices(&open)
        .map(|(i, _)| &svg[i..i + svg[i..].find('>').unwrap_or(0)])
        .collect()
}

#[test]
fn the_loss_axis_is_labelled_below_the_lowest_loss() {
    let dir = TempDir::new("defect-log-axis");
    let path = dir.path("loss.svg");
    let curve = support::plot::Series {
        name: "train".into(),
        color: support::plot::color(0),
        points: vec![(0.0, 0.7), (10.0, 0.2), (20.0, 0.09), (30.0, 0.045)],
    };
    support::plot::svg(&path, (640, 480), |root| {
        support::plot::draw_loss_curves(root, "loss", "epoch", &[curve])
    })
    .unwrap();
    let text = check_svg(&path);
    let labels: Vec<f64> = svg_texts(&text)
        .iter()
        .filter_map(|t| t.parse().ok())
        .filter(|&v: &f64| v > 0.0 && v < 1.0)
        .collect();
    assert!(
        labels.iter().any(|&v| v <= 0.045),
        "no label at or below the final loss 0.045: {labels:?}"
    );
}

#[test]
fn figures_name_their_axes_and_tell_train_from_test_and_overlapping_lines_apart() {
    let dir = TempDir::new("defect-plots");
    let svg = dir.arg("moons.svg");
    run_train(&[
        "--dataset",
        "moons",
        "--points",
        "200",
        "--epochs",
        "2",
        "--quiet",
        "--output",
        &svg,
    ]);
    let texts = svg_texts(&check_svg(&dir.path("moons.svg")));
    for expected in ["feature 1", "feature 2", "train", "test"] {
        assert!(
            texts.iter().any(|t| t == expected),
            "no `{expected}` in {texts:?}"
        );
    }
    // Each legend of the sine fit sits where no data point is.
    let svg = dir.arg("sine.svg");
    run_train(&[
        "--dataset",
        "sine",
        "--points",
        "400",
        "--epochs",
        "2",
        "--quiet",
        "--output",
        &svg,
    ]);
    let text = check_svg(&dir.path("sine.svg"));
    let legends: Vec<[f64; 4]> = svg_tags(&text, "rect")
        .into_iter()
        .filter(|t| t.contains("opacity=\"0.85\""))
        .filter_map(|t| {
            Some([
                attribute(t, "x")?,
                attribute(t, "y")?,
                attribute(t, "width")?,
                attribute(t, "height")?,
            ])
        })
        .collect();
    assert!(!legends.is_empty(), "the figure has legends");
    // Data points have radius 2 (the legend's own marker, 3).
    for circle in svg_tags(&text, "circle")
        .into_iter()
        .filter(|c| attribute(c, "r") == Some(2.0))
    {
        let (x, y) = (
            attribute(circle, "cx").unwrap(),
            attribute(circle, "cy").unwrap(),
        );
        for [left, top, width, height] in &legends {
            let inside = (*left..left + width).contains(&x) && (*top..top + height).contains(&y);
            assert!(!inside, "a legend covers the point {circle}");
        }
    }
    // Adam's curve is wider than AdamW's, drawn over it.
    let svg = dir.arg("compare.svg");
    let args: compare::Args = parse(
        "compare",
        &[
            "--dataset",
            "moons",
            "--epochs",
            "1",
            "--optimizers",
            "adam,adamw",
            "--quiet",
            "--output",
            &svg,
        ],
    );
    compare::run(&args, &mut Vec::new()).unwrap();
    let text = check_svg(&dir.path("compare.svg"));
    let width_of = |color: &str| {
        svg_tags(&text, "polyline")
            .into_iter()
            .find(|t| t.contains(&format!("stroke=\"{color}\"")))
            .and_then(|t| attribute(t, "stroke-width"))
            .unwrap_or_else(|| panic!("no {color} line"))
    };
    assert!(
        width_of("#1F77B4") > width_of("#FF7F0E"),
        "adam under adamw stays visible"
    );
    // The contour plots name their axes.
    for (name, svg) in [
        ("quadratic", dir.arg("q.svg")),
        ("rosenbrock", dir.arg("r.svg")),
    ] {
        if name == "quadratic" {
            let args: quadratic::Args = parse(name, &["--steps", "3", "--output", &svg]);
            quadratic::run(&args, &mut Vec::new()).unwrap();
        } else {
            let args: rosenbrock::Args = parse(name, &["--steps", "20", "--output", &svg]);
            rosenbrock::run(&args, &mut Vec::new()).unwrap();
        }
        let texts = svg_texts(&check_svg(Path::new(&svg)));
        assert!(
            texts.iter().any(|t| t == "x") && texts.iter().any(|t| t == "y"),
            "{name}: {texts:?}"
        );
    }
}
