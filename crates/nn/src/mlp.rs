//! `Mlp`: a multilayer perceptron from its layer sizes.

use curvature_autograd::{seeded_rng, Element, ParameterKind, Parameters, Tensor, Var};

use crate::activation::Activation;
use crate::linear::Linear;
use crate::module::{check_param_count, Module};

/// Layer sizes that cannot make an [`Mlp`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid MLP layer sizes {sizes:?}: {reason}")]
pub struct LayerSizesError {
    /// The sizes that were given.
    pub sizes: Vec<usize>,
    /// What is wrong with them.
    pub reason: &'static str,
}

/// A multilayer perceptron: `Linear, act, Linear, act, ..., Linear`, with
/// no activation after the last layer (its outputs are logits or
/// regression values).
///
/// Parameter names are those of the equivalent `torch.nn.Sequential`
/// (`0.weight`, `0.bias`, `2.weight`, ...: the activations hold the odd
/// positions), so `torch.nn.Sequential(nn.Linear(2, 32), nn.Tanh(), ...)`
/// loads a saved `Mlp` with `load_state_dict` unchanged.
///
/// ```
/// use curvature_autograd::{Parameters, Tensor};
/// use curvature_nn::{Activation, Mlp, Module};
///
/// let mlp = Mlp::<f32>::new(&[2, 32, 32, 1], Activation::Tanh, 0);
/// assert_eq!(mlp.parameter_count(), 2 * 32 + 32 + 32 * 32 + 32 + 32 + 1);
/// assert_eq!(mlp.parameter_names()[2], "2.weight");
/// assert_eq!(mlp.predict(&Tensor::zeros(&[10, 2])).shape(), &[10, 1]);
/// ```
#[derive(Clone, Debug)]
pub struct Mlp<T> {
    layers: Vec<Linear<T>>,
    activation: Activation,
}

impl<T: Element> Mlp<T> {
    /// An MLP with layer widths `sizes` (input first, output last) and
    /// `activation` between layers, initialised as PyTorch's `Linear`
    /// from `seeded_rng(seed)`, layer by layer, weight before bias.
    ///
    /// Panics when `sizes` has fewer than two entries or a zero; use
    /// [`Mlp::try_new`] for sizes from a command line or a file.
    pub fn new(sizes: &[usize], activation: Activation, seed: u64) -> Self {
        Self::try_new(sizes, activation, seed).unwrap_or_else(|e| panic!("Mlp::new: {e}"))
    }

    /// The fallible form of [`Mlp::new`].
    pub fn try_new(
        sizes: &[usize],
        activation: Activation,
        seed: u64,
    ) -> Result<Self, LayerSizesError> {
        let reason = if sizes.len() < 2 {
            Some("need at least an input and an output size")
        } else if sizes.contains(&0) {
            Some("every size must be at least 1")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(LayerSizesError {
                sizes: sizes.to_vec(),
                reason,
            });
        }
        let mut rng = seeded_rng(seed);
        let layers = sizes
            .windows(2)
            .map(|w| Linear::new(w[0], w[1], &mut rng))
            .collect();
        Ok(Self { layers, activation })
    }

    /// An MLP from existing layers (each one's `in_features` must be the
    /// previous one's `out_features`). Panics otherwise, naming the layer.
    pub fn from_layers(layers: Vec<Linear<T>>, activation: Activation) -> Self {
        assert!(!layers.is_empty(), "Mlp::from_layers: no layers given");
        for (i, pair) in layers.windows(2).enumerate() {
            assert_eq!(
                pair[0].out_features(),
                pair[1].in_features(),
                "Mlp::from_layers: layer {i} has {} outputs but layer {} has {} inputs",
                pair[0].out_features(),
                i + 1,
                pair[1].in_features()
            );
        }
        Self { layers, activation }
    }

    /// The layer widths, input first.
    pub fn sizes(&self) -> Vec<usize> {
        std::iter::once(self.layers[0].in_features())
            .chain(self.layers.iter().map(Linear::out_features))
            .collect()
    }

    /// The activation between layers.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The linear layers, in order.
    pub fn layers(&self) -> &[Linear<T>] {
        &self.layers
    }
}

impl<T: Element> Parameters<T> for Mlp<T> {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        self.layers.iter().flat_map(Linear::parameters).collect()
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        self.layers
            .iter_mut()
            .flat_map(Linear::parameters_mut)
            .collect()
    }

    fn parameter_names(&self) -> Vec<String> {
        (0..self.layers.len())
            .flat_map(|i| {
                let position = 2 * i;
                [format!("{position}.weight"), format!("{position}.bias")]
            })
            .collect()
    }

    fn parameter_kinds(&self) -> Vec<ParameterKind> {
        self.layers
            .iter()
            .flat_map(|_| [ParameterKind::Weight, ParameterKind::Bias])
            .collect()
    }
}

impl<T: Element> Module<T> for Mlp<T> {
    fn forward(&self, params: &[Var<T>], x: &Var<T>) -> Var<T> {
        check_param_count("Mlp", params, self.num_parameter_tensors());
        let last = self.layers.len() - 1;
        let mut h = x.clone();
        for (i, (layer, p)) in self.layers.iter().zip(params.chunks(2)).enumerate() {
            h = layer.forward(p, &h);
            if i < last {
                h = self.activation.apply(&h);
            }
        }
        h
    }

    fn num_parameter_tensors(&self) -> usize {
        2 * self.layers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Sequential, Tanh};
    use curvature_autograd::{gradcheck, gradgradcheck, CheckOptions, Tape};

    #[test]
    fn mlp_equals_the_sequential_it_stands_for() {
        let mlp = Mlp::<f64>::new(&[2, 5, 3, 1], Activation::Tanh, 7);
        let mut rng = seeded_rng(7);
        let seq = Sequential::new()
            .add(Linear::<f64>::new(2, 5, &mut rng))
            .add(Tanh)
            .add(Linear::new(5, 3, &mut rng))
            .add(Tanh)
            .add(Linear::new(3, 1, &mut rng));
        assert_eq!(mlp.parameter_names(), seq.parameter_names());
        assert_eq!(mlp.parameters(), seq.parameters());
        let x = Tensor::randn(&[4, 2], 0.0, 1.0, &mut seeded_rng(0));
        assert_eq!(mlp.predict(&x), seq.predict(&x));
        assert_eq!(mlp.sizes(), vec![2, 5, 3, 1]);
        assert_eq!(mlp.num_parameter_tensors(), 6);
    }

    #[test]
    fn bad_sizes_are_errors_naming_the_sizes() {
        let err = Mlp::<f32>::try_new(&[3], Activation::Relu, 0).unwrap_err();
        assert!(err.to_string().contains("[3]"), "{err}");
        let err = Mlp::<f32>::try_new(&[3, 0, 1], Activation::Relu, 0).unwrap_err();
        assert!(err.to_string().contains("at least 1"), "{err}");
    }

    #[test]
    fn mlp_passes_gradcheck_and_gradgradcheck_for_every_activation() {
        let x = Tensor::randn(&[3, 2], 0.0, 1.0, &mut seeded_rng(1));
        let options = CheckOptions::default();
        for act in Activation::ALL {
            let mlp = Mlp::<f64>::new(&[2, 3, 2], act, 5);
            let f = |tape: &Tape<f64>, p: &[Var<f64>]| mlp.forward(p, &tape.constant(&x));
            let params: Vec<Tensor<f64>> = mlp.parameters().into_iter().cloned().collect();
            let report = gradcheck(f, &params, &options);
            assert!(report.passed, "{act}: {report}");
            let report = gradgradcheck(f, &params, &options);
            assert!(report.passed, "{act}: {report}");
        }
    }
}
