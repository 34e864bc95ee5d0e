//! What the examples share: datasets by name, optimizers from flags, the
//! training loop, SVG plots, and how a program reports an error.
//!
//! The examples' library (`examples/lib.rs`) holds this module beside the
//! examples' own modules; each example uses a part of it.

// Each example uses a different part of this module.
#![allow(dead_code)]

pub mod checkpoint;
pub mod contour;
pub mod data;
pub mod fit;
pub mod model;
pub mod optimizers;
pub mod plot;

use std::error::Error;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;

/// Any error an example reports: a message and its chain of causes.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// Parses the command line `args` (the program's name first) into `A`
/// and calls `run`; returns the exit code. A bad flag writes clap's
/// message to `stderr` (help and version print to stdout and succeed); an
/// error from `run` writes it with its causes. Either way the exit code is
/// non-zero, without a panic. Each example's `main` is this, called by its
/// binary in `examples/bin/` with the process's arguments and by the tests
/// with theirs.
pub fn main_with<A: Parser>(
    args: impl IntoIterator<Item = OsString>,
    stderr: &mut dyn Write,
    run: impl FnOnce(&A) -> Result<(), BoxError>,
) -> u8 {
    let args = match A::try_parse_from(args) {
        Ok(args) => args,
        Err(e) => {
            let code = u8::try_from(e.exit_code()).unwrap_or(2);
            if e.use_stderr() {
                let _ = write!(stderr, "{}", e.render());
            } else {
                // Help and version go to stdout with exit code 0.
                let _ = e.print();
            }
            return code;
        }
    };
    match run(&args) {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(stderr, "error: {}", error_chain(e.as_ref()));
            1
        }
    }
}

/// `error: cause: cause of the cause ...` on one line. A cause that the
/// message already ends with (an I/O error that both displays its cause
/// and returns it as its source) is not repeated.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        // Errors that print their cause in their own message (`{path}: {source}`)
        // also return it as their source: say it once.
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Independent seeds for each use of randomness in a run, all from one
/// `--seed`: reusing one seed everywhere would draw the data's noise and
/// the train/test split from the same stream of numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seeds {
    pub data: u64,
    pub split: u64,
    pub init: u64,
    pub batches: u64,
    pub optimizer: u64,
}

impl Seeds {
    /// The first five outputs of SplitMix64 seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        let output = |k: u64| {
            let mut z = seed.wrapping_add(k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Self {
            data: output(1),
            split: output(2),
            init: output(3),
            batches: output(4),
            optimizer: output(5),
        }
    }
}

/// The median of `values` (0 when empty).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The most parameters a model built from flags may have: 50 million,
/// 200 MB of `f32` weights (an optimizer keeps up to three more copies).
pub const MAX_PARAMETERS: u64 = 50_000_000;

/// Errors unless an MLP of these layer sizes has at most
/// [`MAX_PARAMETERS`] parameters; checked before anything is allocated.
pub fn check_model_size(sizes: &[usize]) -> Result<(), BoxError> {
    let count = sizes.windows(2).fold(0_u64, |total, w| {
        let (i, o) = (w[0] as u64, w[1] as u64);
        total.saturating_add(i.saturating_mul(o).saturating_add(o))
    });
    if count > MAX_PARAMETERS {
        return Err(format!(
            "an MLP {sizes:?} would have {count} parameters, more than the limit of \
             {MAX_PARAMETERS}: choose smaller --hidden sizes"
        )
        .into());
    }
    Ok(())
}

/// Checks, before any work, that a figure can be written to `path`:
/// creates its directory if needed, refuses a directory or another
/// non-regular file, and creates (then removes) a file beside it. Returns
/// the absolute path, to tell the user where the figure goes.
pub fn check_output(path: &Path) -> Result<PathBuf, BoxError> {
    let cannot = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    if path.file_name().is_none() {
        return Err(cannot(&"the path does not name a file").into());
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the directory {}: {e}", dir.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(cannot(&"it exists and is not a regular file").into());
        }
    }
    let probe = dir.join(format!(".{}.probe-{}", file_name(path), std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| cannot(&e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Writes `contents` to `path` atomically (a temporary file renamed over
/// it: a full disk leaves the old file, never half of a new one), creating
/// its parent directories; the error names the file.
pub fn write_file(path: &Path, contents: &str) -> Result<(), BoxError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create the directory {}: {e}", parent.display()))?;
    }
    curvature::nn::write_atomically(path, |file| {
        std::io::Write::write_all(file, contents.as_bytes())
    })
    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
