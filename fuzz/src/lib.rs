//! The bodies of the fuzz targets, one function per target: each feeds
//! arbitrary bytes to curvature-nn's public loaders and checks that they
//! return `Ok` with a consistent value or a clean `Err`, never a panic.
//!
//! The same functions replay the committed corpus on stable in
//! `crates/nn/tests/fuzz_corpus.rs`, which includes this file as a module;
//! so it uses only curvature-nn, curvature-autograd and flate2, never
//! libfuzzer-sys.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use curvature_autograd::{Element, Parameters, Tensor};
use curvature_nn::data::{
    load_breast_cancer_from, load_csv, load_digits_from, load_iris_from, load_wine_from,
};
use curvature_nn::{
    load_parameters, read_tensors, Activation, CheckpointError, Dataset, Mlp, Module,
};

/// Target `csv`: the first byte chooses the loader and its options, the
/// rest is the file.
///
/// Selector bits: `0..=2` the loader (`0..=3` [`load_csv`] with that label
/// column, `4` iris, `5` wine, `6` breast cancer, `7` digits); `3` whether
/// `load_csv` skips a header line; `4` `f32` rather than `f64`; `5` for
/// digits, the bytes go to the gzip decoder as they are rather than
/// gzip-compressed first (which lets the fuzzer reach the CSV parser).
pub fn csv(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    if selector & 0x10 != 0 {
        csv_as::<f32>(selector, body);
    } else {
        csv_as::<f64>(selector, body);
    }
}

fn csv_as<T: Element>(selector: u8, body: &[u8]) {
    let loader = selector & 0x07;
    let result = match loader {
        0..=3 => load_csv::<T>(scratch_file(body), loader as usize, selector & 0x08 != 0),
        4 => load_iris_from(scratch_file(body)),
        5 => load_wine_from(scratch_file(body)),
        6 => load_breast_cancer_from(scratch_file(body)),
        _ if selector & 0x20 != 0 => load_digits_from(scratch_file(body)),
        _ => load_digits_from(scratch_file(&gzip(body))),
    };
    match result {
        Ok(dataset) => check_dataset(&dataset),
        Err(e) => drop(e.to_string()),
    }
}

/// What every loaded dataset promises: `[n, d]` features, all finite, with
/// `d >= 1`, and one label in `0..n_classes` per row.
fn check_dataset<T: Element>(data: &Dataset<T>) {
    let (n, d) = (data.len(), data.n_features());
    assert_eq!(data.features().shape(), &[n, d]);
    assert!(d >= 1, "a dataset without features");
    assert!(
        data.features().all_finite(),
        "a loaded dataset has a non-finite feature"
    );
    let labels = data.labels().expect("a classification dataset");
    let n_classes = data.n_classes().expect("a classification dataset");
    assert_eq!(labels.len(), n);
    assert!(labels.iter().all(|&l| l < n_classes));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// Target `checkpoint`: the bytes are a safetensors file, read as `f32`
/// and as `f64` tensors.
pub fn checkpoint(data: &[u8]) {
    let path = scratch_file(data);
    check_tensors(read_tensors::<f32>(&path));
    check_tensors(read_tensors::<f64>(&path));
}

fn check_tensors<T: Element>(result: Result<HashMap<String, Tensor<T>>, CheckpointError>) {
    match result {
        Ok(tensors) => {
            // what a user does first with a loaded tensor: look at it
            for tensor in tensors.values() {
                assert_eq!(tensor.to_vec().len(), tensor.numel());
                drop(format!("{tensor:?}"));
            }
        }
        Err(e) => drop(e.to_string()),
    }
}

/// The models of target `checkpoint_into_mlp`, by layer sizes.
pub const MODELS: [&[usize]; 4] = [&[1, 1], &[2, 3, 1], &[3, 4, 4, 2], &[2, 8, 3]];

/// Target `checkpoint_into_mlp`: the first byte chooses the model (bits
/// `0..=1`, an index into [`MODELS`]) and its element type (bit 4: `f64`
/// rather than `f32`); the rest is a safetensors file loaded into it.
pub fn checkpoint_into_mlp(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let sizes = MODELS[usize::from(selector & 0x03)];
    let path = scratch_file(body);
    if selector & 0x10 != 0 {
        load_into::<f64>(sizes, &path);
    } else {
        load_into::<f32>(sizes, &path);
    }
}

/// Loads `path` into an `Mlp` of `sizes`: on success every parameter keeps
/// its shape and the model runs; on failure the model is unchanged.
fn load_into<T: Element>(sizes: &[usize], path: &Path) {
    let mut mlp = Mlp::<T>::new(sizes, Activation::Tanh, 0);
    let before: Vec<Tensor<T>> = mlp.parameters().into_iter().cloned().collect();
    match load_parameters(&mut mlp, path) {
        Ok(()) => {
            for (new, old) in mlp.parameters().into_iter().zip(&before) {
                assert_eq!(new.shape(), old.shape());
            }
            let out = mlp.predict(&Tensor::zeros(&[2, sizes[0]]));
            assert_eq!(out.shape(), [2, sizes[sizes.len() - 1]]);
        }
        Err(e) => {
            drop(e.to_string());
            let after: Vec<&Tensor<T>> = mlp.parameters();
            assert!(
                after.into_iter().eq(&before),
                "a failed load changed the model"
            );
        }
    }
}

/// The loaders read files, so each input is written to a scratch file, one
/// per thread (the corpus replay runs on several), in `/dev/shm` where
/// there is one; it is removed when the thread ends.
fn scratch_file(bytes: &[u8]) -> PathBuf {
    struct Scratch(PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    thread_local! {
        static SCRATCH: Scratch = {
            let shm = Path::new("/dev/shm");
            let dir = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
            let thread = format!("{:?}", std::thread::current().id());
            let name: String = thread.chars().filter(char::is_ascii_digit).collect();
            Scratch(dir.join(format!("curvature-fuzz-{}-{name}", std::process::id())))
        };
    }
    let path = SCRATCH.with(|s| s.0.clone());
    std::fs::write(&path, bytes).expect("write the scratch file");
    path
}
