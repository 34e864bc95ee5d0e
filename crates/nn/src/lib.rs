//! Layers, losses, seeded initialisers, datasets and safetensors
//! checkpoints on top of [`curvature_autograd`].
//!
//! A [`Module`] is a function of its parameters and an input: `forward`
//! receives the parameters bound on the caller's tape, as flax's
//! `apply(params, x)`, so an optimizer can hold the model mutably while
//! the loss closure reads it. Every module is also a
//! [`Parameters`](curvature_autograd::Parameters) container whose names are
//! PyTorch's `state_dict` keys.
//!
//! Build an MLP, compute a loss and its gradient, and a Hessian-vector
//! product of the same loss:
//!
//! ```
//! use curvature_autograd::{functional, Parameters, Tape, Tensor, Var};
//! use curvature_nn::{cross_entropy, data, Activation, Mlp, Module};
//!
//! let moons = data::two_moons::<f64>(64, 0.1, 0);
//! let (x, labels) = (moons.features().clone(), moons.labels().unwrap().to_vec());
//! let mlp = Mlp::<f64>::new(&[2, 16, 16, 2], Activation::Tanh, 0);
//!
//! // By hand on one tape: bind the parameters, run forward, differentiate.
//! let tape = Tape::new();
//! let params = mlp.bind(&tape);
//! let logits = mlp.forward(&params, &tape.constant(&x));
//! let loss = cross_entropy(&logits, &labels);
//! let grads = tape.grad(&loss, &params);
//! assert_eq!(grads.len(), 6); // weight and bias of each of the 3 layers
//! assert_eq!(grads[0].shape(), &[16, 2]);
//!
//! // The same loss as a closure over the parameters, for the functional API.
//! let f = |tape: &Tape<f64>, p: &[Var<f64>]| {
//!     cross_entropy(&mlp.forward(p, &tape.constant(&x)), &labels)
//! };
//! let theta: Vec<Tensor<f64>> = mlp.parameters().into_iter().cloned().collect();
//! let (value, g) = functional::value_and_grad(f, &theta);
//! assert!((value.item() - loss.item()).abs() < 1e-12);
//! let hv = functional::hvp(f, &theta, &g); // H g, by reverse over reverse
//! assert_eq!(hv[2].shape(), &[16, 16]);
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod activation;
mod atomic_file;
mod checkpoint;
mod conv;
pub mod data;
mod dropout;
pub mod init;
mod linear;
mod loss;
mod mlp;
mod module;
mod norm;
mod pool;
mod sequential;
mod transformer;

pub use activation::{
    Activation, Gelu, Identity, ParseActivationError, Relu, Sigmoid, Softplus, Tanh,
};
pub use atomic_file::write_atomically;
pub use checkpoint::{
    load_parameters, read_metadata, read_tensors, save_parameters, save_parameters_with_metadata,
    save_tensors, CheckpointError,
};
pub use conv::{Conv2d, ConvConfigError};
pub use data::{DataError, Dataset, Standardizer, Targets};
pub use dropout::Dropout;
pub use linear::Linear;
pub use loss::{
    accuracy, binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss,
    predicted_classes,
};
pub use mlp::{LayerSizesError, Mlp};
pub use module::Module;
pub use norm::BatchNorm2d;
pub use pool::{AdaptiveAvgPool2d, AvgPool2d, Flatten, MaxPool2d, Unflatten};
pub use sequential::Sequential;
pub use transformer::{
    Embedding, Gpt, GptConfig, GptError, KvCache, LayerNorm, MultiHeadSelfAttention,
    TransformerBlock,
};
