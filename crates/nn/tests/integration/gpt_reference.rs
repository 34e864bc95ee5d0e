//! A one-block GPT against PyTorch in f64 (`fixtures/gpt_reference.py`):
//! PyTorch's file of parameters loads into our `Gpt` by name, and the
//! logits, the loss, its gradient and a Hessian-vector product agree with
//! `torch.autograd` to 1e-10 relative; a file we write has PyTorch's keys
//! and shapes and loads back exactly.

use std::collections::HashMap;

use curvature_autograd::{functional, Parameters, Tape, Tensor, Var};
use curvature_nn::{
    cross_entropy, load_parameters, read_tensors, save_parameters, Gpt, GptConfig, GptError,
};

const TORCH_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/gpt_torch.safetensors"
);

/// The sizes of `gpt_reference.py`'s model.
const CONFIG: GptConfig = GptConfig {
    vocabulary: 7,
    context: 5,
    d: 8,
    heads: 2,
    layers: 1,
};

/// The fixture's lines, by key (`names` holds the parameter names as words).
fn reference() -> HashMap<String, Vec<String>> {
    include_str!("../fixtures/gpt_reference.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace().map(String::from);
            (words.next().unwrap(), words.collect())
        })
        .collect()
}

fn numbers(r: &HashMap<String, Vec<String>>, key: &str) -> Vec<f64> {
    r[key].iter().map(|w| w.parse().unwrap()).collect()
}

/// The script's tokens and targets, `[3, 5]`, from the same closed forms.
fn tokens() -> Tensor<usize> {
    let ids = (0..3)
        .flat_map(|b| (0..5).map(move |t| (3 * b + 5 * t + b * t) % 7))
        .collect();
    Tensor::from_vec(ids, &[3, 5])
}

fn targets() -> Vec<usize> {
    (0..3)
        .flat_map(|b| (0..5).map(move |t| (2 * b + 3 * t + 1) % 7))
        .collect()
}

/// `||a - b|| / ||b||`.
fn relative(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let norm: f64 = b.iter().map(|y| y * y).sum();
    (diff / norm).sqrt()
}

fn loaded() -> Gpt<f64> {
    let mut gpt = Gpt::<f64>::new(CONFIG, 1).unwrap();
    load_parameters(&mut gpt, TORCH_FILE).expect("PyTorch's file loads");
    gpt
}

fn loss(gpt: &Gpt<f64>) -> impl Fn(&Tape<f64>, &[Var<f64>]) -> Var<f64> + '_ {
    move |_, p| cross_entropy(&gpt.forward(p, &tokens()).reshape(&[15, 7]), &targets())
}

#[test]
fn a_gpt_written_by_pytorch_loads_and_gives_its_logits() {
    let r = reference();
    let gpt = loaded();
    assert_eq!(gpt.parameter_names(), r["names"]);
    let logits = gpt.logits(&tokens());
    assert_eq!(logits.shape(), &[3, 5, 7]);
    let error = relative(&logits.to_vec(), &numbers(&r, "logits"));
    eprintln!("gpt fixture: logits relative error {error:.2e}");
    assert!(error < 1e-10, "logits differ from PyTorch's: {error:e}");
}

#[test]
fn loss_gradient_and_hvp_of_a_gpt_agree_with_torch_autograd() {
    let r = reference();
    let gpt = loaded();
    let theta: Vec<Tensor<f64>> = gpt.parameters().into_iter().cloned().collect();
    let (value, grad) = functional::value_and_grad(loss(&gpt), &theta);
    let want = numbers(&r, "loss")[0];
    let loss_error = (value.item() - want).abs() / want.abs();
    // v as the script: sin(0.37 i + k + 0.1) for element i of parameter k
    let v: Vec<Tensor<f64>> = theta
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let values = (0..p.numel())
                .map(|i| (0.37 * i as f64 + k as f64 + 0.1).sin())
                .collect();
            Tensor::from_vec(values, p.shape())
        })
        .collect();
    let hv = functional::hvp(loss(&gpt), &theta, &v);
    let (mut worst_grad, mut worst_hvp) = (0.0_f64, 0.0_f64);
    for (k, name) in gpt.parameter_names().iter().enumerate() {
        let g = relative(&grad[k].to_vec(), &numbers(&r, &format!("grad.{name}")));
        let h = relative(&hv[k].to_vec(), &numbers(&r, &format!("hvp.{name}")));
        assert!(g < 1e-10, "gradient of {name}: relative error {g:e}");
        assert!(h < 1e-10, "HVP of {name}: relative error {h:e}");
        worst_grad = worst_grad.max(g);
        worst_hvp = worst_hvp.max(h);
    }
    eprintln!(
        "gpt fixture: loss {loss_error:.2e}, worst gradient {worst_grad:.2e}, \
         worst HVP {worst_hvp:.2e} (relative, per parameter tensor)"
    );
    assert!(
        loss_error < 1e-10,
        "loss {} vs PyTorch's {want}",
        value.item()
    );
}

#[test]
fn a_gpt_we_write_has_pytorch_keys_and_shapes_and_loads_back_exactly() {
    let model = Gpt::<f64>::new(CONFIG, 3).unwrap();
    let dir = std::env::temp_dir().join(format!("curvature-gpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gpt.safetensors");
    save_parameters(&model, &path).unwrap();
    let ours = read_tensors::<f64>(&path).unwrap();
    let torch = read_tensors::<f64>(TORCH_FILE).unwrap();
    assert_eq!(ours.len(), torch.len());
    for (name, t) in &torch {
        assert_eq!(ours[name].shape(), t.shape(), "{name}");
    }
    let mut back = loaded();
    load_parameters(&mut back, &path).unwrap();
    for (a, b) in model.parameters().iter().zip(back.parameters()) {
        assert_eq!(a.to_vec(), b.to_vec());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_configurations_and_tokens_are_named() {
    let bad = GptConfig { heads: 3, ..CONFIG };
    let e = Gpt::<f64>::new(bad, 0).unwrap_err();
    assert_eq!(e, GptError::HeadsDoNotDivide { d: 8, heads: 3 });
    assert_eq!(e.to_string(), "3 heads do not divide the model width d = 8");
    let zero = GptConfig {
        layers: 0,
        ..CONFIG
    };
    assert!(Gpt::<f64>::new(zero, 0).is_err());
    let gpt = Gpt::<f64>::new(CONFIG, 0).unwrap();
    let long = Tensor::from_vec(vec![0; 12], &[2, 6]);
    assert_eq!(
        gpt.check_tokens(&long).unwrap_err().to_string(),
        "a sequence of 6 tokens is longer than the context of 5"
    );
    let out = Tensor::from_vec(vec![0, 1, 2, 9], &[2, 2]);
    assert_eq!(
        gpt.check_tokens(&out).unwrap_err().to_string(),
        "token id 9 at position [1, 1] is out of range for a vocabulary of 7"
    );
    let flat = Tensor::from_vec(vec![0, 1], &[2]);
    assert!(matches!(
        gpt.check_tokens(&flat),
        Err(GptError::TokenShape { .. })
    ));
}

#[test]
#[should_panic(
    expected = "Gpt: token id 9 at position [1, 1] is out of range for a vocabulary of 7"
)]
fn forward_on_a_token_outside_the_vocabulary_panics_naming_it() {
    let gpt = Gpt::<f64>::new(CONFIG, 0).unwrap();
    gpt.logits(&Tensor::from_vec(vec![0, 1, 2, 9], &[2, 2]));
}
