//! Pooling and flattening modules, without parameters: PyTorch's
//! `nn.MaxPool2d`, `nn.AvgPool2d`, `nn.AdaptiveAvgPool2d((1, 1))`,
//! `nn.Flatten` and `nn.Unflatten`, over `[N, C, H, W]` inputs.

use curvature_autograd::{Element, Parameters, Tensor, Var};

use crate::module::{check_param_count, Module};

macro_rules! parameter_free {
    ($name:ident, |$self_:ident, $x:ident| $forward:expr) => {
        impl<T: Element> Parameters<T> for $name {
            fn parameters(&self) -> Vec<&Tensor<T>> {
                Vec::new()
            }

            fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
                Vec::new()
            }
        }

        impl<T: Element> Module<T> for $name {
            fn forward(&self, params: &[Var<T>], x: &Var<T>) -> Var<T> {
                check_param_count(stringify!($name), params, 0);
                let ($self_, $x) = (self, x);
                $forward
            }

            fn num_parameter_tensors(&self) -> usize {
                0
            }
        }
    };
}

/// Max pooling over `kernel` windows; the stride defaults to the kernel,
/// as in PyTorch. The gradient goes to the first largest element.
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_nn::{MaxPool2d, Module};
/// let x = Tensor::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4]);
/// let y = MaxPool2d::new((2, 2)).predict(&x);
/// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    /// Window size, (height, width).
    pub kernel: (usize, usize),
    /// Step between windows.
    pub stride: (usize, usize),
    /// Padding on both sides (never the maximum).
    pub padding: (usize, usize),
}

impl MaxPool2d {
    /// Windows of `kernel`, stride `kernel`, no padding.
    pub fn new(kernel: (usize, usize)) -> Self {
        Self {
            kernel,
            stride: kernel,
            padding: (0, 0),
        }
    }
}

parameter_free!(MaxPool2d, |pool, x| x.max_pool2d(
    pool.kernel,
    pool.stride,
    pool.padding
));

/// Average pooling over `kernel` windows (zero padding counts in the mean,
/// as PyTorch's default); the stride defaults to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2d {
    /// Window size, (height, width).
    pub kernel: (usize, usize),
    /// Step between windows.
    pub stride: (usize, usize),
    /// Zero padding on both sides.
    pub padding: (usize, usize),
}

impl AvgPool2d {
    /// Windows of `kernel`, stride `kernel`, no padding.
    pub fn new(kernel: (usize, usize)) -> Self {
        Self {
            kernel,
            stride: kernel,
            padding: (0, 0),
        }
    }
}

parameter_free!(AvgPool2d, |pool, x| x.avg_pool2d(
    pool.kernel,
    pool.stride,
    pool.padding
));

/// The mean of each channel's image, `[N, C, H, W] -> [N, C, 1, 1]`:
/// PyTorch's `nn.AdaptiveAvgPool2d((1, 1))`, a global average.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdaptiveAvgPool2d;

parameter_free!(AdaptiveAvgPool2d, |_pool, x| x.adaptive_avg_pool2d_1x1());

/// Merges the dimensions from `start_dim` on (PyTorch's `nn.Flatten`,
/// whose default `start_dim` is 1: `[N, C, H, W] -> [N, C H W]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flatten {
    /// The first dimension merged.
    pub start_dim: usize,
}

impl Default for Flatten {
    fn default() -> Self {
        Self { start_dim: 1 }
    }
}

parameter_free!(Flatten, |flatten, x| x.flatten_from(flatten.start_dim));

/// Splits dimension `dim` into `sizes` (PyTorch's `nn.Unflatten`): rows of
/// 64 features become `[N, 1, 8, 8]` images with `Unflatten::new(1, &[1,
/// 8, 8])`, so a CNN trains on a dataset of feature rows. Panics, naming
/// the shapes, when the dimension does not hold `sizes`' product.
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_nn::{Module, Unflatten};
/// let rows = Tensor::<f64>::zeros(&[5, 12]);
/// assert_eq!(Unflatten::new(1, &[3, 2, 2]).predict(&rows).shape(), &[5, 3, 2, 2]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unflatten {
    /// The dimension split.
    pub dim: usize,
    /// What it becomes.
    pub sizes: Vec<usize>,
}

impl Unflatten {
    /// Splits dimension `dim` into `sizes`.
    pub fn new(dim: usize, sizes: &[usize]) -> Self {
        Self {
            dim,
            sizes: sizes.to_vec(),
        }
    }

    fn apply<T: Element>(&self, x: &Var<T>) -> Var<T> {
        let s = x.shape();
        let held: usize = self.sizes.iter().product();
        assert!(
            self.dim < s.len() && s[self.dim] == held,
            "Unflatten: dimension {} of the input of shape {s:?} must hold {:?} ({held} elements)",
            self.dim,
            self.sizes
        );
        let mut shape = s[..self.dim].to_vec();
        shape.extend_from_slice(&self.sizes);
        shape.extend_from_slice(&s[self.dim + 1..]);
        x.reshape(&shape)
    }
}

parameter_free!(Unflatten, |unflatten, x| unflatten.apply(x));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Conv2d, Linear, Sequential, Tanh};
    use curvature_autograd::{seeded_rng, ConvOptions, Tape};

    #[test]
    fn unflatten_splits_one_dimension_and_flatten_undoes_it() {
        let x = Tensor::from_vec((0..24).map(f64::from).collect(), &[2, 12]);
        let images = Unflatten::new(1, &[3, 2, 2]).predict(&x);
        assert_eq!(images.shape(), &[2, 3, 2, 2]);
        assert_eq!(images.get(&[1, 2, 0, 1]), 21.0);
        assert_eq!(Flatten::default().predict(&images), x);
        let last = Unflatten::new(0, &[1, 2]).predict(&x);
        assert_eq!(last.shape(), &[1, 2, 12]);
    }

    #[test]
    #[should_panic(
        expected = "Unflatten: dimension 1 of the input of shape [2, 12] must hold [1, 8, 8] (64 elements)"
    )]
    fn unflatten_names_a_dimension_that_does_not_hold_the_sizes() {
        let _ = Unflatten::new(1, &[1, 8, 8]).predict(&Tensor::<f64>::zeros(&[2, 12]));
    }

    #[test]
    fn a_small_cnn_is_a_sequential_with_pytorch_names_and_shapes() {
        let mut rng = seeded_rng(0);
        let pad = ConvOptions {
            padding: (1, 1),
            ..Default::default()
        };
        let model = Sequential::<f64>::new()
            .add(Conv2d::new(1, 4, (3, 3), pad, &mut rng).unwrap())
            .add(Tanh)
            .add(MaxPool2d::new((2, 2)))
            .add(Conv2d::new(4, 6, (3, 3), pad, &mut rng).unwrap())
            .add(Tanh)
            .add(AvgPool2d::new((2, 2)))
            .add(AdaptiveAvgPool2d)
            .add(Flatten::default())
            .add(Linear::new(6, 3, &mut rng));
        assert_eq!(
            model.parameter_names(),
            vec!["0.weight", "0.bias", "3.weight", "3.bias", "8.weight", "8.bias"]
        );
        let x = Tensor::randn(&[2, 1, 8, 8], 0.0, 1.0, &mut rng);
        assert_eq!(model.predict(&x).shape(), &[2, 3]);
        // gradients reach every parameter
        let tape = Tape::new();
        let params = model.bind(&tape);
        let y = model.forward(&params, &tape.constant(&x)).square().sum();
        let grads = tape.grad(&y, &params);
        assert!(grads.iter().all(|g| g.to_vec().iter().any(|&v| v != 0.0)));
    }
}
