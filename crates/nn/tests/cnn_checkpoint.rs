//! A CNN's weights cross between PyTorch and us unchanged: a file written
//! by PyTorch (`fixtures/cnn_reference.py`) loads into the same `Sequential`
//! and gives PyTorch's logits; a file we write has PyTorch's keys, shapes
//! and dtype, and loads back bit for bit. The same for a CNN with batch
//! norm, whose running statistics travel as PyTorch's buffers.

use curvature_autograd::{seeded_rng, ConvOptions, Parameters, Tensor};
use curvature_nn::{
    load_parameters, read_tensors, save_parameters, AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d,
    Conv2d, Flatten, Linear, MaxPool2d, Module, Sequential, Tanh,
};

const TORCH_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/cnn_torch.safetensors"
);

/// The architecture of `fixtures/cnn_reference.py`, freshly initialised.
fn cnn() -> Sequential<f32> {
    let mut rng = seeded_rng(7);
    let pad = ConvOptions {
        padding: (1, 1),
        ..Default::default()
    };
    let grouped = ConvOptions { groups: 2, ..pad };
    Sequential::new()
        .add(Conv2d::new(1, 4, (3, 3), pad, &mut rng).unwrap())
        .add(Tanh)
        .add(MaxPool2d::new((2, 2)))
        .add(Conv2d::new(4, 6, (3, 3), grouped, &mut rng).unwrap())
        .add(Tanh)
        .add(AvgPool2d::new((2, 2)))
        .add(AdaptiveAvgPool2d)
        .add(Flatten::default())
        .add(Linear::new(6, 3, &mut rng))
}

fn closed_form_input() -> Tensor<f32> {
    let values = (0..128)
        .map(|i| (0.37 * i as f64 + 0.1).sin() as f32)
        .collect();
    Tensor::from_vec(values, &[2, 1, 8, 8])
}

#[test]
fn a_cnn_written_by_pytorch_loads_and_gives_its_logits() {
    let mut model = cnn();
    load_parameters(&mut model, TORCH_FILE).expect("PyTorch's file loads");
    let logits = model.predict(&closed_form_input()).to_vec();
    let text = include_str!("fixtures/cnn_torch_logits.txt");
    let torch: Vec<f32> = text
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    assert_eq!(logits.len(), torch.len());
    for (ours, theirs) in logits.iter().zip(&torch) {
        assert!(
            (ours - theirs).abs() < 1e-5,
            "logits {logits:?} vs PyTorch {torch:?}"
        );
    }
}

#[test]
fn a_cnn_we_write_has_pytorch_keys_shapes_and_dtype_and_loads_back_exactly() {
    let model = cnn();
    let dir = std::env::temp_dir().join(format!("curvature-cnn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cnn.safetensors");
    save_parameters(&model, &path).unwrap();
    let ours = read_tensors::<f32>(&path).unwrap();
    let torch = read_tensors::<f32>(TORCH_FILE).unwrap();
    let mut our_keys: Vec<&String> = ours.keys().collect();
    let mut torch_keys: Vec<&String> = torch.keys().collect();
    our_keys.sort();
    torch_keys.sort();
    assert_eq!(our_keys, torch_keys);
    for (name, t) in &torch {
        assert_eq!(ours[name].shape(), t.shape(), "{name}");
    }
    let mut back = cnn();
    for p in back.parameters_mut() {
        *p = Tensor::zeros(p.shape());
    }
    load_parameters(&mut back, &path).unwrap();
    for (a, b) in model.parameters().iter().zip(back.parameters()) {
        assert_eq!(a.to_vec(), b.to_vec());
    }
    std::fs::remove_dir_all(&dir).ok();
}

const TORCH_BN_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/cnn_bn_torch.safetensors"
);

/// The batch-norm architecture of `fixtures/cnn_reference.py`
/// (`bn_model`), freshly initialised.
fn bn_cnn() -> Sequential<f32> {
    let mut rng = seeded_rng(8);
    let pad = ConvOptions {
        padding: (1, 1),
        ..Default::default()
    };
    Sequential::new()
        .add(Conv2d::new(1, 4, (3, 3), pad, &mut rng).unwrap())
        .add(BatchNorm2d::new(4).unwrap())
        .add(Tanh)
        .add(MaxPool2d::new((2, 2)))
        .add(Conv2d::new(4, 6, (3, 3), pad, &mut rng).unwrap())
        .add(BatchNorm2d::new(6).unwrap())
        .add(Tanh)
        .add(AdaptiveAvgPool2d)
        .add(Flatten::default())
        .add(Linear::new(6, 3, &mut rng))
}

/// `name -> (dtype, shape)` of every tensor in a safetensors file.
fn layout(path: &std::path::Path) -> std::collections::BTreeMap<String, (String, Vec<usize>)> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    file.iter()
        .map(|(name, view)| {
            (
                name.to_string(),
                (format!("{:?}", view.dtype()), view.shape().to_vec()),
            )
        })
        .collect()
}

#[test]
fn a_cnn_with_batch_norm_written_by_pytorch_gives_its_evaluation_logits() {
    let mut model = bn_cnn();
    load_parameters(&mut model, TORCH_BN_FILE).expect("PyTorch's file loads");
    let counters: Vec<f32> = model
        .buffers()
        .into_iter()
        .filter(|b| b.integer)
        .map(|b| b.value.item())
        .collect();
    assert_eq!(counters, [3.0, 3.0], "num_batches_tracked of both layers");
    model.set_training(false);
    let logits = model.predict(&closed_form_input()).to_vec();
    let text = include_str!("fixtures/cnn_bn_torch_logits.txt");
    let torch: Vec<f32> = text
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    assert_eq!(logits.len(), torch.len());
    for (ours, theirs) in logits.iter().zip(&torch) {
        assert!(
            (ours - theirs).abs() < 1e-5,
            "logits {logits:?} vs PyTorch {torch:?}"
        );
    }
    // evaluation mode changed no running statistic
    let again: Vec<f32> = model.predict(&closed_form_input()).to_vec();
    assert_eq!(again, logits);
}

#[test]
fn a_cnn_with_batch_norm_we_write_has_pytorchs_state_dict_and_loads_back_exactly() {
    let model = bn_cnn();
    // two training-mode batches: running statistics away from their start
    model.predict(&closed_form_input());
    model.predict(&closed_form_input().mul_scalar(2.0));
    let dir = std::env::temp_dir().join(format!("curvature-cnn-bn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cnn_bn.safetensors");
    save_parameters(&model, &path).unwrap();
    let ours = layout(&path);
    let torch = layout(std::path::Path::new(TORCH_BN_FILE));
    assert_eq!(ours, torch, "keys, dtypes (I64 counters) and shapes");

    let mut back = bn_cnn();
    for p in back.parameters_mut() {
        *p = Tensor::zeros(p.shape());
    }
    load_parameters(&mut back, &path).unwrap();
    assert_eq!(back.buffers(), model.buffers());
    assert_eq!(back.buffers()[2].value.item(), 2.0);
    for (a, b) in model.parameters().iter().zip(back.parameters()) {
        assert_eq!(a.to_vec(), b.to_vec());
    }
    let (mut model, mut back) = (model, back);
    model.set_training(false);
    back.set_training(false);
    let x = closed_form_input();
    assert_eq!(model.predict(&x).to_vec(), back.predict(&x).to_vec());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_file_without_running_statistics_is_refused_naming_the_buffer() {
    let mut model = bn_cnn();
    let err = load_parameters(&mut model, TORCH_FILE)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is missing"), "{err}");
}
