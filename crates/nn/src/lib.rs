//! Layers, losses, seeded initialisers, datasets and safetensors
//! checkpoints for curvature.

mod activation;
pub mod init;
mod linear;
mod loss;
mod mlp;
mod module;
mod sequential;

pub use activation::{
    Activation, Gelu, Identity, ParseActivationError, Relu, Sigmoid, Softplus, Tanh,
};
pub use linear::Linear;
pub use loss::{
    accuracy, binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss,
    predicted_classes,
};
pub use mlp::{LayerSizesError, Mlp};
pub use module::Module;
pub use sequential::Sequential;
