//! Replays every saved fuzz input on stable: the minimised corpus of each
//! target under `fuzz/corpus/<target>/` and the inputs that once crashed it
//! under `fuzz/artifacts/<target>/`. Each goes through the fuzz target's own
//! body (`fuzz/src/lib.rs`), which asserts `Ok` with a consistent value or
//! a clean `Err`; a panic fails this test and names the file.

#[path = "../../../fuzz/src/lib.rs"]
mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The files of `fuzz/<dir>/<target>/`, sorted (none if it does not exist).
fn saved_inputs(dir: &str, target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `body` on every saved input of `target`; returns how many.
fn replay(target: &str, body: fn(&[u8])) -> usize {
    let files: Vec<PathBuf> = ["corpus", "artifacts"]
        .iter()
        .flat_map(|dir| saved_inputs(dir, target))
        .collect();
    let panicked: Vec<String> = files
        .iter()
        .filter(|file| {
            let bytes = std::fs::read(file).expect("read a saved input");
            catch_unwind(AssertUnwindSafe(|| body(&bytes))).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        panicked.is_empty(),
        "{target}: {} of {} saved inputs panic:\n{}",
        panicked.len(),
        files.len(),
        panicked.join("\n")
    );
    files.len()
}

#[test]
fn csv_corpus_loads_or_errs_cleanly() {
    let n = replay("csv", harness::csv);
    assert!(n >= 10, "the csv corpus has only {n} inputs");
}

#[test]
fn checkpoint_corpus_reads_or_errs_cleanly() {
    let n = replay("checkpoint", harness::checkpoint);
    assert!(n >= 10, "the checkpoint corpus has only {n} inputs");
}

#[test]
fn checkpoint_into_mlp_corpus_loads_or_errs_cleanly_and_leaves_the_model_unchanged_on_error() {
    let n = replay("checkpoint_into_mlp", harness::checkpoint_into_mlp);
    assert!(
        n >= 10,
        "the checkpoint_into_mlp corpus has only {n} inputs"
    );
}
