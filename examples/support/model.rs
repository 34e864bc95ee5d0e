//! The models the examples train: the MLP of every dataset, or a small
//! convolutional network for the 8x8 digits.

use curvature::autograd::{seeded_rng, ConvOptions, Parameters};
use curvature::nn::data::Dataset;
use curvature::nn::{BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, Relu, Sequential, Unflatten};

use super::data::{DatasetName, Recipe};
use super::fit;
use super::optimizers::OptimizerKind;
use super::plot::{self, Area};
use super::BoxError;

/// Which model `train` and `compare` build.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ModelKind {
    /// A multilayer perceptron (`--hidden`, `--activation`).
    #[default]
    Mlp,
    /// The digits CNN ([`digits_cnn`]), for `--dataset digits` only.
    Cnn,
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Mlp => "mlp",
            Self::Cnn => "cnn",
        })
    }
}

/// The digits CNN in words, for the log.
pub const DIGITS_CNN: &str =
    "1x8x8 -> conv3x3(16) bn relu -> conv3x3(32) bn relu -> maxpool2 -> linear(512 -> 10)";

/// The digits CNN ([`DIGITS_CNN`]): 64 features as a 1x8x8 image, then
/// conv3x3(1->16, pad 1) batch-norm ReLU, conv3x3(16->32, pad 1)
/// batch-norm ReLU, max-pool 2, flatten (512), linear(512->`classes`).
/// PyTorch's initialisation, from `seed`.
pub fn digits_cnn(seed: u64, classes: usize) -> Sequential<f32> {
    let mut rng = seeded_rng(seed);
    let pad = ConvOptions {
        padding: (1, 1),
        ..Default::default()
    };
    let (c1, c2) = (16, 32);
    Sequential::new()
        .add(Unflatten::new(1, &[1, 8, 8]))
        .add(Conv2d::new(1, c1, (3, 3), pad, &mut rng).expect("valid sizes"))
        .add(BatchNorm2d::new(c1).expect("positive channels"))
        .add(Relu)
        .add(Conv2d::new(c1, c2, (3, 3), pad, &mut rng).expect("valid sizes"))
        .add(BatchNorm2d::new(c2).expect("positive channels"))
        .add(Relu)
        .add(MaxPool2d::new((2, 2)))
        .add(Flatten::default())
        .add(Linear::new(c2 * 4 * 4, classes, &mut rng))
}

/// Refuses flags that do not apply to `--model cnn`: another dataset than
/// the digits, MLP flags (`--hidden`, `--activation`), checkpoints.
pub fn check_cnn_flags(
    dataset: &DatasetName,
    mlp_flags: bool,
    checkpoint_flags: bool,
) -> Result<(), BoxError> {
    if *dataset != DatasetName::Digits {
        return Err(format!(
            "--model cnn trains on the 8x8 images of --dataset digits, not {dataset}"
        )
        .into());
    }
    if mlp_flags {
        return Err(
            "--hidden and --activation shape the MLP; --model cnn has a fixed architecture".into(),
        );
    }
    if checkpoint_flags {
        return Err("--save and --load write and read MLP runs only; not with --model cnn".into());
    }
    Ok(())
}

/// The digits recipe for the CNN: its epochs and batch size.
pub fn cnn_recipe(digits: Recipe) -> Recipe {
    Recipe {
        epochs: 30,
        batch_size: 32,
        ..digits
    }
}

/// The CNN's learning rate when `--lr` is not given.
pub fn cnn_default_lr(kind: OptimizerKind) -> f64 {
    match kind {
        OptimizerKind::Adam | OptimizerKind::AdamW => 0.003,
        other => other.default_lr(),
    }
}

/// The first conv layer's kernels as 3x3 images.
pub fn draw_filters(area: &Area<'_>, net: &Sequential<f32>) -> Result<(), BoxError> {
    let kernel = net.parameters()[0].clone();
    let s = kernel.shape().to_vec();
    let per = s[1..].iter().product::<usize>();
    let values = kernel.to_f64_vec();
    let images: Vec<Vec<f64>> = values.chunks(per).map(<[f64]>::to_vec).collect();
    plot::draw_image_grid(
        area,
        "learned first-layer filters (3x3)",
        &images,
        (s[2], s[3]),
        &[],
    )
}

/// Up to 16 test digits the model gets wrong, labelled `true -> predicted`.
/// `test` is what the model reads (standardised), `raw_test` the same
/// rows as given.
pub fn draw_misclassified(
    area: &Area<'_>,
    net: &Sequential<f32>,
    test: &Dataset<f32>,
    raw_test: &Dataset<f32>,
) -> Result<(), BoxError> {
    let predicted = fit::predict_classes(net, test.features());
    let labels = test.labels().unwrap_or_default();
    let pixels = raw_test.features().to_f64_vec();
    let width = raw_test.n_features();
    let wrong: Vec<usize> = (0..labels.len())
        .filter(|&i| predicted[i] != labels[i])
        .collect();
    let shown = &wrong[..wrong.len().min(16)];
    let images: Vec<Vec<f64>> = shown
        .iter()
        .map(|&i| pixels[i * width..(i + 1) * width].to_vec())
        .collect();
    let names: Vec<String> = shown
        .iter()
        .map(|&i| format!("{} -> {}", labels[i], predicted[i]))
        .collect();
    let title = format!(
        "misclassified test digits ({} of {}): true -> predicted",
        wrong.len(),
        labels.len()
    );
    plot::draw_image_grid(area, &title, &images, (8, 8), &names)
}
