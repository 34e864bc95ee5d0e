//! Safetensors checkpoints: bit-exact round trips, errors that name the
//! tensor and what differs, and saves that never leave half a file.

use crate::common;

use std::fs;

use common::TempDir;
use curvature_autograd::{Parameters, Tensor};
use curvature_nn::{
    load_parameters, read_tensors, save_parameters, Activation, CheckpointError, Linear, Mlp,
    Sequential, Tanh,
};

fn mlp(seed: u64) -> Mlp<f64> {
    Mlp::new(&[4, 8, 3], Activation::Tanh, seed)
}

fn bits(model: &impl Parameters<f64>) -> Vec<Vec<u64>> {
    model
        .parameters()
        .iter()
        .map(|t| t.as_slice().iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// Loads `path` into a fresh model, expecting an error; checks the model
/// was left unchanged and returns the message.
fn load_error(path: &std::path::Path) -> String {
    let mut model = mlp(99);
    let before = bits(&model);
    let err = load_parameters(&mut model, path).expect_err("the file must be refused");
    assert_eq!(
        bits(&model),
        before,
        "a failed load must not touch the model"
    );
    err.to_string()
}

#[test]
fn save_then_load_is_bit_exact_and_matches_sequential_names() {
    let dir = TempDir::new("roundtrip");
    let path = dir.path().join("mlp.safetensors");
    let trained = mlp(1);
    save_parameters(&trained, &path).unwrap();
    let mut restored = mlp(2);
    assert_ne!(bits(&restored), bits(&trained));
    load_parameters(&mut restored, &path).unwrap();
    assert_eq!(bits(&restored), bits(&trained));

    // The same file loads into the Sequential an Mlp stands for.
    let mut rng = curvature_autograd::seeded_rng(7);
    let mut seq = Sequential::<f64>::new()
        .add(Linear::new(4, 8, &mut rng))
        .add(Tanh)
        .add(Linear::new(8, 3, &mut rng));
    load_parameters(&mut seq, &path).unwrap();
    assert_eq!(bits(&seq), bits(&trained));
    assert_eq!(dir.entries(), vec!["mlp.safetensors"]);
}

#[test]
fn file_layout_is_pytorch_state_dict() {
    let dir = TempDir::new("layout");
    let path = dir.path().join("m.safetensors");
    let model = mlp(0);
    save_parameters(&model, &path).unwrap();
    let tensors = read_tensors::<f64>(&path).unwrap();
    assert_eq!(tensors["0.weight"].shape(), &[8, 4]);
    assert_eq!(tensors["0.bias"].shape(), &[8]);
    assert_eq!(tensors["2.weight"].shape(), &[3, 8]);
    assert_eq!(&tensors["2.weight"], model.layers()[1].weight());
    // The header declares F64 and the `pt` format, as safetensors.torch writes.
    let bytes = fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    assert!(header.contains("\"dtype\":\"F64\""), "{header}");
    assert!(header.contains("\"format\":\"pt\""), "{header}");
}

#[test]
fn missing_unexpected_and_reshaped_tensors_are_named() {
    let dir = TempDir::new("names");
    // Missing: a file with only the first layer.
    let first_layer = vec![
        mlp(0).layers()[0].weight().clone(),
        mlp(0).layers()[0].bias().clone(),
    ];
    struct Named(Vec<Tensor<f64>>, Vec<&'static str>);
    impl Parameters<f64> for Named {
        fn parameters(&self) -> Vec<&Tensor<f64>> {
            self.0.iter().collect()
        }
        fn parameters_mut(&mut self) -> Vec<&mut Tensor<f64>> {
            self.0.iter_mut().collect()
        }
        fn parameter_names(&self) -> Vec<String> {
            self.1.iter().map(|s| s.to_string()).collect()
        }
    }
    let path = dir.path().join("missing.safetensors");
    save_parameters(&Named(first_layer, vec!["0.weight", "0.bias"]), &path).unwrap();
    let msg = load_error(&path);
    assert!(
        msg.contains("tensor `2.weight` is missing (the model expects shape [3, 8])"),
        "{msg}"
    );

    // Unexpected: every tensor plus one more.
    let mut all: Vec<Tensor<f64>> = mlp(0).parameters().into_iter().cloned().collect();
    all.push(Tensor::zeros(&[2]));
    let names = vec!["0.weight", "0.bias", "2.weight", "2.bias", "4.bias"];
    let path = dir.path().join("extra.safetensors");
    save_parameters(&Named(all, names), &path).unwrap();
    let msg = load_error(&path);
    assert!(msg.contains("unexpected tensor `4.bias`"), "{msg}");

    // Wrong shape: a model of other widths.
    let path = dir.path().join("shape.safetensors");
    save_parameters(&Mlp::<f64>::new(&[4, 5, 3], Activation::Tanh, 0), &path).unwrap();
    let msg = load_error(&path);
    assert!(
        msg.contains("tensor `0.weight` has shape [5, 4], but the model expects [8, 4]"),
        "{msg}"
    );
}

#[test]
fn wrong_dtype_is_named() {
    let dir = TempDir::new("dtype");
    let path = dir.path().join("f32.safetensors");
    save_parameters(&Mlp::<f32>::new(&[4, 8, 3], Activation::Tanh, 0), &path).unwrap();
    let msg = load_error(&path);
    assert!(
        msg.contains("has dtype F32, but the model expects F64"),
        "{msg}"
    );
    assert!(msg.contains("f32.safetensors"), "{msg}");
}

#[test]
fn truncated_files_and_random_bytes_are_errors_not_panics() {
    let dir = TempDir::new("corrupt");
    let good = dir.path().join("good.safetensors");
    save_parameters(&mlp(0), &good).unwrap();
    let bytes = fs::read(&good).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    for (cut, expected) in [
        (0, "truncated: 0 bytes"),
        (5, "truncated: 5 bytes"),
        (8 + n / 2, "truncated: the header declares"),
        (bytes.len() - 1, "truncated or extended"),
        (8 + n + 10, "truncated or extended"),
    ] {
        let path = dir.write(&format!("cut{cut}.safetensors"), &bytes[..cut]);
        let msg = load_error(&path);
        assert!(msg.contains("not a valid safetensors file"), "{msg}");
        assert!(msg.contains(expected), "cut at {cut}: {msg}");
    }
    // Random bytes, from a seeded generator: every length is refused.
    let mut rng = curvature_autograd::seeded_rng(0);
    for len in [3, 16, 200, 5000] {
        let noise = Tensor::<f64>::rand_uniform(&[len], 0.0, 256.0, &mut rng);
        let noise: Vec<u8> = noise.as_slice().iter().map(|&v| v as u8).collect();
        let path = dir.write(&format!("noise{len}.safetensors"), noise);
        let msg = load_error(&path);
        assert!(msg.contains("not a valid safetensors file"), "{msg}");
    }
    // A plausible header length over non-JSON text.
    let mut fake = 12u64.to_le_bytes().to_vec();
    fake.extend_from_slice(b"hello world!");
    let path = dir.write("fake.safetensors", fake);
    let msg = load_error(&path);
    assert!(msg.contains("not valid safetensors JSON"), "{msg}");
    let missing = dir.path().join("absent.safetensors");
    let err = load_parameters(&mut mlp(0), &missing).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }), "{err}");
    assert!(err.to_string().contains("absent.safetensors"), "{err}");
}

/// A safetensors file of one tensor, its header written by hand.
fn one_tensor_file(dtype: &str, shape: &[u64], data: &[u8]) -> Vec<u8> {
    let header = format!(
        r#"{{"w":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[0,{}]}}}}"#,
        data.len()
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn an_empty_tensor_whose_shape_overflows_is_an_error() {
    // found while writing the checkpoint fuzz target: safetensors accepts [0, 2^33, 2^33] (0 elements)
    // but the row-major strides 2^66 overflow (a panic on first use)
    let dir = TempDir::new("huge-shape");
    let path = dir.write(
        "huge.safetensors",
        one_tensor_file("F64", &[0, 1 << 33, 1 << 33], &[]),
    );
    let err = read_tensors::<f64>(&path).unwrap_err();
    assert!(
        err.to_string()
            .contains("tensor `w`: shape [0, 8589934592, 8589934592] is too large to address"),
        "{err}"
    );
    let msg = load_error(&path);
    assert!(msg.contains("is too large to address"), "{msg}");
    // an empty tensor of a shape that fits is read as it is
    let path = dir.write("empty.safetensors", one_tensor_file("F64", &[0, 3], &[]));
    let tensors = read_tensors::<f64>(&path).unwrap();
    assert_eq!(tensors["w"].shape(), &[0, 3]);
}

#[test]
fn a_failed_save_never_leaves_a_file_at_the_target() {
    let dir = TempDir::new("failed-save");
    // The parent directory is missing: nothing is written anywhere.
    let orphan = dir.path().join("gone").join("m.safetensors");
    let err = save_parameters(&mlp(0), &orphan).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }), "{err}");
    assert!(err.to_string().contains("m.safetensors"), "{err}");
    assert!(dir.entries().is_empty());

    // The target cannot be replaced (it is a directory): the rename fails
    // after the temporary file was written, and the temporary file goes.
    let occupied = dir.path().join("occupied.safetensors");
    fs::create_dir(&occupied).unwrap();
    assert!(save_parameters(&mlp(0), &occupied).is_err());
    assert!(occupied.is_dir());
    assert_eq!(dir.entries(), vec!["occupied.safetensors"]);

    // An existing checkpoint survives a failed overwrite untouched.
    let path = dir.path().join("kept.safetensors");
    save_parameters(&mlp(1), &path).unwrap();
    let before = fs::read(&path).unwrap();
    let bad_path = path.join("not-a-dir.safetensors");
    assert!(save_parameters(&mlp(2), &bad_path).is_err());
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(
        dir.entries(),
        vec!["kept.safetensors", "occupied.safetensors"]
    );
}
