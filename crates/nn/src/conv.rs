//! `Conv2d`: 2-D convolution in PyTorch's layouts (NCHW input, OIHW kernel).

use curvature_autograd::{ConvOptions, Element, ParameterKind, Parameters, Tensor, Var};
use rand::Rng;

use crate::init::{fan_in_and_fan_out, kaiming_uniform, symmetric_uniform, FanMode, Nonlinearity};
use crate::module::{check_param_count, Module};

/// A 2-D convolution layer, as PyTorch's `nn.Conv2d`: input `[N, C, H, W]`,
/// `weight` `[out_channels, in_channels / groups, kh, kw]`, `bias`
/// `[out_channels]`, output `[N, out_channels, oh, ow]`. Parameter names
/// `weight` and `bias`, so a `Sequential` of these saves and loads with
/// `torch.nn.Sequential`'s state-dict keys. Exact to any order of
/// derivative (see `docs/convolution.md`).
///
/// ```
/// use curvature_autograd::{seeded_rng, ConvOptions, Tensor};
/// use curvature_nn::{Conv2d, Module};
///
/// let options = ConvOptions { padding: (1, 1), ..Default::default() };
/// let conv = Conv2d::<f32>::new(1, 16, (3, 3), options, &mut seeded_rng(0))?;
/// let y = conv.predict(&Tensor::zeros(&[2, 1, 8, 8]));
/// assert_eq!(y.shape(), &[2, 16, 8, 8]);
/// # Ok::<(), curvature_nn::ConvConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d<T> {
    weight: Tensor<T>,
    bias: Tensor<T>,
    options: ConvOptions,
}

/// A convolution layer that cannot be built: the message names what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Conv2d: {0}")]
pub struct ConvConfigError(String);

impl<T: Element> Conv2d<T> {
    /// A layer with PyTorch's default initialisation: weight and bias both
    /// `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` with `fan_in = in/groups * kh * kw`
    /// (Kaiming-uniform with `a = sqrt(5)`), weight drawn first. Errors when
    /// a size is zero or `groups` does not divide both channel counts.
    pub fn new<R: Rng + ?Sized>(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        options: ConvOptions,
        rng: &mut R,
    ) -> Result<Self, ConvConfigError> {
        let g = options.groups;
        let sizes = [in_channels, out_channels, kernel.0, kernel.1, g];
        let steps = [
            options.stride.0,
            options.stride.1,
            options.dilation.0,
            options.dilation.1,
        ];
        if sizes.contains(&0) || steps.contains(&0) {
            return Err(ConvConfigError(format!(
                "channels {in_channels} -> {out_channels}, kernel {kernel:?}, groups {g}, \
                 stride {:?} and dilation {:?} must all be positive",
                options.stride, options.dilation
            )));
        }
        if in_channels % g != 0 || out_channels % g != 0 {
            return Err(ConvConfigError(format!(
                "groups {g} must divide the input channels ({in_channels}) and the output \
                 channels ({out_channels})"
            )));
        }
        let shape = [out_channels, in_channels / g, kernel.0, kernel.1];
        let weight = kaiming_uniform(
            &shape,
            FanMode::FanIn,
            Nonlinearity::LeakyRelu(5f64.sqrt()),
            rng,
        );
        let (fan_in, _) = fan_in_and_fan_out(&shape);
        let bias = symmetric_uniform(&[out_channels], 1.0 / (fan_in as f64).sqrt(), rng);
        Ok(Self {
            weight,
            bias,
            options,
        })
    }

    /// A layer with the given weight `[O, C / groups, kh, kw]` and bias `[O]`.
    pub fn from_tensors(
        weight: Tensor<T>,
        bias: Tensor<T>,
        options: ConvOptions,
    ) -> Result<Self, ConvConfigError> {
        if weight.ndim() != 4 || bias.shape() != [weight.shape()[0]] {
            return Err(ConvConfigError(format!(
                "weight {:?} must be [out, in / groups, kh, kw] and bias {:?} must be [out]",
                weight.shape(),
                bias.shape()
            )));
        }
        if options.groups == 0 || weight.shape()[0] % options.groups != 0 {
            return Err(ConvConfigError(format!(
                "groups {} must divide the output channels ({})",
                options.groups,
                weight.shape()[0]
            )));
        }
        Ok(Self {
            weight,
            bias,
            options,
        })
    }

    /// The input channels the layer expects.
    pub fn in_channels(&self) -> usize {
        self.weight.shape()[1] * self.options.groups
    }

    /// The output channels.
    pub fn out_channels(&self) -> usize {
        self.weight.shape()[0]
    }

    /// The kernel size, (height, width).
    pub fn kernel_size(&self) -> (usize, usize) {
        (self.weight.shape()[2], self.weight.shape()[3])
    }

    /// Stride, padding, dilation and groups.
    pub fn options(&self) -> ConvOptions {
        self.options
    }
}

impl<T: Element> Parameters<T> for Conv2d<T> {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        vec![&self.weight, &self.bias]
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        vec![&mut self.weight, &mut self.bias]
    }

    fn parameter_names(&self) -> Vec<String> {
        vec!["weight".to_string(), "bias".to_string()]
    }

    fn parameter_kinds(&self) -> Vec<ParameterKind> {
        vec![ParameterKind::ConvKernel, ParameterKind::Bias]
    }
}

impl<T: Element> Module<T> for Conv2d<T> {
    fn forward(&self, params: &[Var<T>], x: &Var<T>) -> Var<T> {
        check_param_count("Conv2d", params, 2);
        let s = x.shape();
        assert!(
            s.len() == 4 && s[1] == self.in_channels(),
            "Conv2d(in_channels={}, out_channels={}, kernel_size={:?}): input of shape {:?} \
             must be [N, {}, H, W]",
            self.in_channels(),
            self.out_channels(),
            self.kernel_size(),
            s.as_slice(),
            self.in_channels()
        );
        x.conv2d(&params[0], Some(&params[1]), self.options)
    }

    fn num_parameter_tensors(&self) -> usize {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvature_autograd::{gradcheck, gradgradcheck, seeded_rng, CheckOptions, Tape};

    #[test]
    fn initialisation_is_bounded_by_one_over_sqrt_fan_in() {
        let conv = Conv2d::<f64>::new(
            4,
            8,
            (3, 3),
            ConvOptions {
                groups: 2,
                ..Default::default()
            },
            &mut seeded_rng(1),
        )
        .unwrap();
        assert_eq!(conv.weight.shape(), &[8, 2, 3, 3]);
        let bound = 1.0 / 18f64.sqrt();
        let inside = |t: &Tensor<f64>| t.to_vec().iter().all(|v| v.abs() <= bound);
        assert!(inside(&conv.weight) && inside(&conv.bias));
        // not all zero, and spread over the interval
        let max = conv
            .weight
            .to_vec()
            .iter()
            .fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(max > 0.8 * bound, "{max} vs bound {bound}");
    }

    #[test]
    fn bad_configurations_are_errors_that_name_the_problem() {
        let mut rng = seeded_rng(0);
        let groups = ConvOptions {
            groups: 2,
            ..Default::default()
        };
        let e = Conv2d::<f32>::new(3, 4, (3, 3), groups, &mut rng).unwrap_err();
        assert!(
            e.to_string()
                .contains("groups 2 must divide the input channels (3)"),
            "{e}"
        );
        let stride0 = ConvOptions {
            stride: (0, 1),
            ..Default::default()
        };
        assert!(Conv2d::<f32>::new(1, 1, (3, 3), stride0, &mut rng).is_err());
        assert!(Conv2d::<f32>::new(1, 1, (0, 3), ConvOptions::default(), &mut rng).is_err());
    }

    #[test]
    #[should_panic(
        expected = "Conv2d(in_channels=3, out_channels=2, kernel_size=(3, 3)): input of shape [1, 2, 5, 5]"
    )]
    fn a_wrong_input_channel_count_names_the_layer() {
        let conv =
            Conv2d::<f64>::new(3, 2, (3, 3), ConvOptions::default(), &mut seeded_rng(0)).unwrap();
        let _ = conv.predict(&Tensor::zeros(&[1, 2, 5, 5]));
    }

    #[test]
    fn the_layer_is_correct_to_second_order() {
        let conv = Conv2d::<f64>::new(
            2,
            3,
            (2, 2),
            ConvOptions {
                padding: (1, 0),
                ..Default::default()
            },
            &mut seeded_rng(3),
        )
        .unwrap();
        let x = Tensor::randn(&[2, 2, 3, 3], 0.0, 1.0, &mut seeded_rng(4));
        let f = |tape: &Tape<f64>, p: &[Var<f64>]| conv.forward(p, &tape.constant(&x)).tanh();
        let options = CheckOptions::default();
        let params = conv.parameters().into_iter().cloned().collect::<Vec<_>>();
        assert!(gradcheck(f, &params, &options).passed);
        assert!(gradgradcheck(f, &params, &options).passed);
    }
}
