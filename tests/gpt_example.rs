//! The `gpt` example, in-process: short runs of each task learn, a saved
//! model loads back to the same logits and answers, `--generate` prints
//! its samples, and bad input is refused with an error that names it.
//! (A file of its own rather than more of `tests/examples.rs`: the GPT's
//! checks share none of that file's helpers but a temporary directory.)

use std::path::PathBuf;

use clap::Parser;
use curvature::autograd::{Parameters, Tensor};
use curvature::nn::{save_parameters_with_metadata, Gpt, GptConfig};
use curvature_examples::gpt::{self, checkpoint, GptReport};

/// A directory of its own under the system's temporary directory, removed
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("curvature-gpt-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        Self(dir)
    }

    fn arg(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small, quick model; the tests add the task and the rest.
const SMALL: [&str; 10] = [
    "--d",
    "32",
    "--heads",
    "2",
    "--layers",
    "1",
    "--batch-size",
    "32",
    "--eval-size",
    "200",
];

/// Runs `gpt` in-process with `args`, returning its report and its log.
fn run_gpt(args: &[&str]) -> (GptReport, String) {
    let parsed = gpt::Args::try_parse_from(std::iter::once("gpt").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("gpt {args:?} should parse: {e}"));
    let mut log = Vec::new();
    let report =
        gpt::run(&parsed, false, &mut log).unwrap_or_else(|e| panic!("gpt {args:?} failed: {e}"));
    (report, String::from_utf8(log).expect("the log is UTF-8"))
}

/// Runs the program's `main` with `args`: its exit code and stderr.
fn run_main(args: &[&str]) -> (u8, String) {
    let mut stderr = Vec::new();
    let argv = std::iter::once("gpt")
        .chain(args.iter().copied())
        .map(Into::into);
    let code = gpt::main(argv, &mut stderr);
    (code, String::from_utf8(stderr).expect("stderr is UTF-8"))
}

fn cat<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
    parts.concat()
}

#[test]
fn a_short_run_of_each_task_learns_far_beyond_an_untrained_model() {
    let dir = TempDir::new("learns");
    // An untrained model gets about 10% of the tokens, at a loss of about
    // ln 10 = 2.3 or more. Reverse and sort are learned quickly; add first
    // learns how its digits are distributed (a loss of 1.90 for digits
    // that read nothing: three uniform, the fourth 0 or 1), and only after
    // several hundred more steps to add, so its bar is below that plateau.
    for (task, min_tokens, max_loss) in [
        ("sort", 0.6, 0.6),
        ("reverse", 0.95, 0.1),
        ("add", 0.25, 1.8),
    ] {
        let figure = dir.arg(&format!("{task}.svg"));
        let args = cat(&[
            &SMALL,
            &[
                "--task",
                task,
                "--steps",
                "150",
                "--lr",
                "3e-3",
                "--eval-every",
                "75",
            ],
            &["--no-stop", "--output", &figure],
        ]);
        let (report, log) = run_gpt(&args);
        let last = *report.last();
        assert_eq!(
            report
                .evaluations
                .iter()
                .map(|e| e.step)
                .collect::<Vec<_>>(),
            [75, 150],
            "{task}: {log}"
        );
        assert!(
            last.token_accuracy >= min_tokens && last.loss <= max_loss,
            "{task}: per-token accuracy {} and held-out loss {} after 150 steps:\n{log}",
            last.token_accuracy,
            last.loss
        );
        assert!(log.contains("step    150  train loss"), "{log}");
        let svg = std::fs::read_to_string(&figure).expect("the figure is written");
        assert!(svg.trim_end().ends_with("</svg>") && svg.contains("exact match"));
    }
}

#[test]
fn sort_with_a_second_order_optimizer_learns_too() {
    let dir = TempDir::new("second-order");
    for optimizer in ["adahessian", "sophia-h"] {
        let figure = dir.arg(&format!("{optimizer}.svg"));
        let args = cat(&[
            &SMALL,
            &[
                "--optimizer",
                optimizer,
                "--steps",
                "60",
                "--eval-every",
                "60",
            ],
            &["--no-stop", "--output", &figure],
        ]);
        let (report, log) = run_gpt(&args);
        let losses = &report.train_losses;
        let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
        assert!(
            mean(&losses[50..]) < 0.8 * mean(&losses[..10]),
            "{optimizer}: the loss did not fall:\n{log}"
        );
    }
}

#[test]
fn a_saved_model_loads_back_to_the_same_logits_and_answers() {
    let dir = TempDir::new("round-trip");
    let (model_file, figure) = (dir.arg("reverse.safetensors"), dir.arg("a.svg"));
    let args = cat(&[
        &SMALL,
        &["--task", "reverse", "--steps", "30", "--eval-every", "30"],
        &[
            "--save",
            &model_file,
            "--generate",
            "4",
            "--output",
            &figure,
        ],
    ]);
    let (trained, log) = run_gpt(&args);
    let samples: Vec<&str> = log.lines().filter(|l| l.starts_with("sample")).collect();
    assert_eq!(samples.len(), 4, "{log}");
    assert_eq!(samples, trained.samples);
    assert!(samples.iter().all(|l| l.contains(" -> ")), "{log}");

    // The file holds the model: the same logits, bit for bit.
    let path = std::path::Path::new(&model_file);
    let saved = checkpoint::read(path).expect("the header reads");
    assert_eq!(saved.config, trained.model.config());
    assert_eq!(saved.step, 30);
    let mut loaded = Gpt::<f32>::new(saved.config, 99).expect("a valid config");
    checkpoint::load(path, &mut loaded).expect("the parameters load");
    let ids = Tensor::from_vec((0..45).map(|i| (i * 7) % 10).collect(), &[3, 15]);
    assert_eq!(loaded.logits(&ids), trained.model.logits(&ids));

    // --load without flags takes the task and sizes from the file, and
    // --steps 0 evaluates it: the same figures and the same answers.
    let (again, log) = run_gpt(&[
        "--load",
        &model_file,
        "--steps",
        "0",
        "--eval-size",
        "200",
        "--generate",
        "4",
        "--output",
        &dir.arg("b.svg"),
    ]);
    assert!(
        log.contains("loaded") && log.contains("(trained 30 steps)"),
        "{log}"
    );
    assert_eq!(again.task, trained.task);
    assert_eq!(again.samples, trained.samples);
    let (a, b) = (again.last(), trained.last());
    assert_eq!(
        (a.exact_match, a.token_accuracy, a.loss),
        (b.exact_match, b.token_accuracy, b.loss)
    );
    assert_eq!(again.model.parameters(), trained.model.parameters());
}

#[test]
fn bad_input_is_refused_with_an_error_that_names_it() {
    let dir = TempDir::new("refusals");
    let out = dir.arg("x.svg");
    let failure = |args: &[&str], message: &str| {
        let (code, stderr) = run_main(args);
        assert_ne!(code, 0, "{args:?} should fail");
        assert!(
            stderr.contains(message),
            "{args:?}: expected `{message}` in:\n{stderr}"
        );
    };
    failure(
        &["--task", "multiply", "--output", &out],
        "invalid value 'multiply' for '--task <TASK>'",
    );
    failure(
        &["--context", "10", "--output", &out],
        "--context 10 is too small for task sort: its sequences need 15 positions",
    );
    failure(
        &["--task", "add", "--context", "10", "--output", &out],
        "--context 10 is too small for task add: its sequences need 11 positions",
    );
    failure(
        &["--heads", "3", "--output", &out],
        "3 heads do not divide the model width d = 64",
    );
    failure(
        &["--steps", "0", "--output", &out],
        "--steps 0 only evaluates a model: give --load FILE too",
    );
    failure(
        &["--target", "120", "--output", &out],
        "--target 120 must be a percentage in (0, 100]",
    );

    // A model saved for one task and size, loaded as another.
    let file = dir.arg("add.safetensors");
    run_gpt(&cat(&[
        &SMALL,
        &[
            "--task", "add", "--steps", "1", "--save", &file, "--output", &out,
        ],
    ]));
    failure(
        &["--load", &file, "--task", "sort", "--output", &out],
        "add.safetensors: the model was trained on task add, not sort",
    );
    failure(
        &["--load", &file, "--d", "64", "--output", &out],
        "add.safetensors: the saved model has --d 32, not 64",
    );
    failure(
        &["--load", &dir.arg("missing.safetensors"), "--output", &out],
        "missing.safetensors",
    );

    // A file that is not a GPT checkpoint, and one whose header describes
    // another architecture than its tensors.
    let mlp = curvature::nn::Mlp::<f32>::try_new(&[2, 3, 2], curvature::nn::Activation::Tanh, 0)
        .expect("an MLP");
    let other = dir.arg("mlp.safetensors");
    curvature::nn::save_parameters(&mlp, &other).expect("saved");
    failure(
        &["--load", &other, "--output", &out],
        "mlp.safetensors: not written by `gpt --save`: the header has no `curvature.gpt.task` entry",
    );
    let one_block = Gpt::<f32>::new(
        GptConfig {
            vocabulary: 10,
            context: 15,
            d: 32,
            heads: 2,
            layers: 1,
        },
        0,
    )
    .expect("a valid config");
    let lying = dir.arg("lying.safetensors");
    let header = [
        ("task", "sort"),
        ("separator", "false"),
        ("vocabulary", "10"),
        ("context", "15"),
        ("d", "32"),
        ("heads", "2"),
        ("layers", "2"),
        ("step", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (format!("curvature.gpt.{k}"), v.to_string()))
    .collect();
    save_parameters_with_metadata(&one_block, &lying, &header).expect("saved");
    failure(&["--load", &lying, "--output", &out], "blocks.1.ln1.weight");
}
