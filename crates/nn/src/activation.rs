//! Activation modules (`Tanh`, `Sigmoid`, `Relu`, `Gelu`, `Softplus`,
//! `Identity`) and the `Activation` enum that names them, e.g. from a
//! command-line flag.

use std::fmt;
use std::str::FromStr;

use curvature_autograd::{Element, Parameters, Tensor, Var};

use crate::module::{check_param_count, Module};

/// An element-wise activation, chosen at run time (parse one from a
/// string with [`str::parse`]). It is also a [`Module`] with no parameters.
///
/// ```
/// use curvature_nn::Activation;
/// let act: Activation = "tanh".parse().unwrap();
/// assert_eq!(act, Activation::Tanh);
/// assert_eq!(act.to_string(), "tanh");
/// assert!("swish".parse::<Activation>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// `max(x, 0)`.
    Relu,
    /// GELU, exact form `x * Phi(x)` (PyTorch's default).
    Gelu,
    /// `log(1 + e^x)`.
    Softplus,
    /// `x`: no activation.
    Identity,
}

impl Activation {
    /// Every activation, in declaration order.
    pub const ALL: [Activation; 6] = [
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Relu,
        Activation::Gelu,
        Activation::Softplus,
        Activation::Identity,
    ];

    /// The lower-case name that [`str::parse`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
            Activation::Softplus => "softplus",
            Activation::Identity => "identity",
        }
    }

    /// The activation applied to a `Var` (recorded, differentiable to any order).
    pub fn apply<T: Element>(self, x: &Var<T>) -> Var<T> {
        match self {
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Relu => x.relu(),
            Activation::Gelu => x.gelu(),
            Activation::Softplus => x.softplus(),
            Activation::Identity => x.clone(),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string that names no [`Activation`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown activation `{given}`; expected one of: tanh, sigmoid, relu, gelu, softplus, identity"
)]
pub struct ParseActivationError {
    /// The string that was given.
    pub given: String,
}

impl FromStr for Activation {
    type Err = ParseActivationError;

    /// Parses a name, ignoring case and surrounding spaces; `linear` and
    /// `none` are accepted for `identity`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        match name.as_str() {
            "linear" | "none" => return Ok(Activation::Identity),
            _ => {}
        }
        Activation::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| ParseActivationError {
                given: s.to_string(),
            })
    }
}

impl<T: Element> Parameters<T> for Activation {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        Vec::new()
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        Vec::new()
    }
}

impl<T: Element> Module<T> for Activation {
    fn forward(&self, params: &[Var<T>], x: &Var<T>) -> Var<T> {
        check_param_count(self.name(), params, 0);
        self.apply(x)
    }

    fn num_parameter_tensors(&self) -> usize {
        0
    }
}

macro_rules! activation_modules {
    ($($(#[$doc:meta])* $name:ident => $variant:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

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
                Activation::$variant.apply(x)
            }

            fn num_parameter_tensors(&self) -> usize {
                0
            }
        }

        impl From<$name> for Activation {
            fn from(_: $name) -> Activation {
                Activation::$variant
            }
        }
    )*};
}

activation_modules! {
    /// The hyperbolic tangent as a module, PyTorch's `nn.Tanh`.
    Tanh => Tanh;
    /// The logistic sigmoid as a module, PyTorch's `nn.Sigmoid`.
    Sigmoid => Sigmoid;
    /// `max(x, 0)` as a module, PyTorch's `nn.ReLU`.
    Relu => Relu;
    /// GELU (exact, `x * Phi(x)`) as a module, PyTorch's `nn.GELU`.
    Gelu => Gelu;
    /// `log(1 + e^x)` as a module, PyTorch's `nn.Softplus`.
    Softplus => Softplus;
    /// The identity as a module, PyTorch's `nn.Identity`.
    Identity => Identity;
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvature_autograd::{gradcheck, gradgradcheck, seeded_rng, CheckOptions, Tape};

    #[test]
    fn names_round_trip_through_parse() {
        for a in Activation::ALL {
            assert_eq!(a.name().parse::<Activation>(), Ok(a));
            assert_eq!(a.to_string().to_uppercase().parse::<Activation>(), Ok(a));
        }
        assert_eq!(" ReLU ".parse::<Activation>(), Ok(Activation::Relu));
        assert_eq!("none".parse::<Activation>(), Ok(Activation::Identity));
        let err = "swish".parse::<Activation>().unwrap_err();
        assert!(err.to_string().contains("`swish`"), "{err}");
        assert!(err.to_string().contains("tanh"), "{err}");
    }

    #[test]
    fn every_activation_passes_gradcheck_and_gradgradcheck() {
        // Away from 0, where relu has a kink that central differences straddle.
        let x = Tensor::from_vec(vec![-1.7, -0.4, 0.3, 0.9, 2.2, -3.0], &[2, 3]);
        let options = CheckOptions::default();
        for a in Activation::ALL {
            let f = |_: &Tape<f64>, p: &[Var<f64>]| a.forward(&[], &p[0]);
            let report = gradcheck(f, [&x], &options);
            assert!(report.passed, "{a}: {report}");
            let report = gradgradcheck(f, [&x], &options);
            assert!(report.passed, "{a}: {report}");
        }
    }

    #[test]
    fn unit_modules_compute_their_activation() {
        let x = Tensor::<f64>::randn(&[3, 4], 0.0, 2.0, &mut seeded_rng(0));
        let pairs: [(&dyn Module<f64>, Activation); 6] = [
            (&Tanh, Activation::Tanh),
            (&Sigmoid, Activation::Sigmoid),
            (&Relu, Activation::Relu),
            (&Gelu, Activation::Gelu),
            (&Softplus, Activation::Softplus),
            (&Identity, Activation::Identity),
        ];
        for (module, act) in pairs {
            assert_eq!(module.num_parameter_tensors(), 0);
            assert_eq!(module.predict(&x), act.predict(&x), "{act}");
        }
        assert_eq!(Tanh.predict(&x), x.tanh());
        assert_eq!(Relu.predict(&x), x.relu());
        assert_eq!(Activation::from(Gelu), Activation::Gelu);
    }
}
