//! `Sequential`: modules applied one after the other.

use std::fmt;

use curvature_autograd::{Buffer, Element, ParameterKind, Parameters, Tensor, Var};

use crate::module::{check_param_count, Module};

/// Modules applied in order, each to the previous one's output, as
/// PyTorch's `nn.Sequential`. Each child consumes its own slice of the
/// parameters, in order; parameter names are the child's position and its
/// own name (`0.weight`, `0.bias`, `2.weight`, ...), PyTorch's
/// `state_dict` keys, so a `torch.nn.Sequential` of the same layers loads
/// the same file.
///
/// ```
/// use curvature_autograd::{seeded_rng, Parameters, Tensor};
/// use curvature_nn::{Linear, Module, Sequential, Tanh};
///
/// let mut rng = seeded_rng(0);
/// let model = Sequential::<f64>::new()
///     .add(Linear::new(2, 8, &mut rng))
///     .add(Tanh)
///     .add(Linear::new(8, 1, &mut rng));
/// assert_eq!(model.parameter_names(), ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// assert_eq!(model.predict(&Tensor::zeros(&[5, 2])).shape(), &[5, 1]);
/// ```
pub struct Sequential<T: Element> {
    children: Vec<Box<dyn Module<T>>>,
}

impl<T: Element> Sequential<T> {
    /// An empty sequence (the identity).
    pub fn new() -> Self {
        Self {
            children: Vec::new(),
        }
    }

    /// The sequence with `module` appended (a builder; the name tch and
    /// candle use, hence no `std::ops::Add`).
    #[must_use]
    #[allow(clippy::should_implement_trait)]
    pub fn add<M: Module<T> + 'static>(mut self, module: M) -> Self {
        self.push(module);
        self
    }

    /// Appends `module`.
    pub fn push<M: Module<T> + 'static>(&mut self, module: M) {
        self.children.push(Box::new(module));
    }

    /// The number of children.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// Whether there are no children.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// The children, in order.
    pub fn children(&self) -> impl Iterator<Item = &dyn Module<T>> {
        self.children.iter().map(|c| c.as_ref())
    }
}

impl<T: Element> Default for Sequential<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> fmt::Debug for Sequential<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sequential")
            .field("children", &self.children.len())
            .field("parameter_names", &self.parameter_names())
            .finish()
    }
}

impl<T: Element> Parameters<T> for Sequential<T> {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        self.children.iter().flat_map(|c| c.parameters()).collect()
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        self.children
            .iter_mut()
            .flat_map(|c| c.parameters_mut())
            .collect()
    }

    fn parameter_names(&self) -> Vec<String> {
        self.children
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                c.parameter_names()
                    .into_iter()
                    .map(move |name| format!("{i}.{name}"))
            })
            .collect()
    }

    fn parameter_kinds(&self) -> Vec<ParameterKind> {
        self.children
            .iter()
            .flat_map(|c| c.parameter_kinds())
            .collect()
    }

    fn buffers(&self) -> Vec<Buffer<T>> {
        self.children
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                c.buffers().into_iter().map(move |b| Buffer {
                    name: format!("{i}.{}", b.name),
                    ..b
                })
            })
            .collect()
    }

    fn set_buffers(&mut self, values: Vec<Tensor<T>>) {
        let counts: Vec<usize> = self.children.iter().map(|c| c.buffers().len()).collect();
        let total: usize = counts.iter().sum();
        assert_eq!(
            values.len(),
            total,
            "Sequential: set_buffers expects {total} tensors, got {}",
            values.len()
        );
        let mut values = values.into_iter();
        for (child, n) in self.children.iter_mut().zip(counts) {
            child.set_buffers(values.by_ref().take(n).collect());
        }
    }
}

impl<T: Element> Module<T> for Sequential<T> {
    fn set_training(&mut self, training: bool) {
        for child in &mut self.children {
            child.set_training(training);
        }
    }

    fn forward(&self, params: &[Var<T>], x: &Var<T>) -> Var<T> {
        check_param_count("Sequential", params, self.num_parameter_tensors());
        let mut rest = params;
        let mut h = x.clone();
        for child in &self.children {
            let (mine, others) = rest.split_at(child.num_parameter_tensors());
            h = child.forward(mine, &h);
            rest = others;
        }
        h
    }

    fn num_parameter_tensors(&self) -> usize {
        self.children
            .iter()
            .map(|c| c.num_parameter_tensors())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Linear, Relu, Tanh};
    use curvature_autograd::{gradcheck, gradgradcheck, seeded_rng, CheckOptions, Tape};

    fn model(seed: u64) -> Sequential<f64> {
        let mut rng = seeded_rng(seed);
        Sequential::new()
            .add(Linear::new(3, 4, &mut rng))
            .add(Tanh)
            .add(Linear::new(4, 2, &mut rng))
    }

    #[test]
    fn children_consume_their_parameters_in_order() {
        let seq = model(0);
        let mut rng = seeded_rng(0);
        let l1 = Linear::<f64>::new(3, 4, &mut rng);
        let l2 = Linear::<f64>::new(4, 2, &mut rng);
        let x = Tensor::randn(&[5, 3], 0.0, 1.0, &mut seeded_rng(1));
        let by_hand = l2.predict(&l1.predict(&x).tanh());
        assert!(seq.predict(&x).allclose(&by_hand, 1e-14, 1e-14));
        assert_eq!(seq.num_parameter_tensors(), 4);
        assert_eq!(seq.parameter_count(), 3 * 4 + 4 + 4 * 2 + 2);
        assert_eq!(seq.len(), 3);
    }

    #[test]
    fn nested_sequentials_prefix_names_like_pytorch() {
        let mut rng = seeded_rng(0);
        let inner = Sequential::<f32>::new()
            .add(Linear::new(2, 2, &mut rng))
            .add(Relu);
        let outer = Sequential::new()
            .add(inner)
            .add(Linear::new(2, 1, &mut rng));
        assert_eq!(
            outer.parameter_names(),
            ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]
        );
    }

    #[test]
    fn parameters_mut_reach_every_child() {
        let mut seq = model(0);
        for p in seq.parameters_mut() {
            p.make_mut().fill(0.0);
        }
        let y = seq.predict(&Tensor::ones(&[2, 3]));
        assert!(y.as_slice().iter().all(|&v| v == 0.0));
    }

    #[test]
    fn sequential_passes_gradcheck_and_gradgradcheck_in_all_its_parameters() {
        let seq = model(2);
        let x = Tensor::randn(&[3, 3], 0.0, 1.0, &mut seeded_rng(3));
        let f = |tape: &Tape<f64>, p: &[Var<f64>]| seq.forward(p, &tape.constant(&x));
        let params: Vec<Tensor<f64>> = seq.parameters().into_iter().cloned().collect();
        let options = CheckOptions::default();
        let report = gradcheck(f, &params, &options);
        assert!(report.passed, "{report}");
        let report = gradgradcheck(f, &params, &options);
        assert!(report.passed, "{report}");
    }

    #[test]
    #[should_panic(expected = "Sequential: forward expects 4 parameter tensors, got 2")]
    fn too_few_parameters_is_reported() {
        let seq = model(0);
        let tape = Tape::new();
        let p = seq.bind(&tape);
        seq.forward(&p[..2], &tape.constant(Tensor::zeros(&[1, 3])));
    }
}
