//! `Dropout`, PyTorch's `nn.Dropout`: random zeroing while training, the
//! identity in evaluation mode.

use curvature_autograd::{Element, Parameters, Tensor, Var};

use crate::module::{check_param_count, Module};

/// Zeroes each element with probability `p` while training and scales the
/// rest by `1 / (1 - p)`; the identity in evaluation mode
/// ([`Module::set_training`]). The mask comes from the tape's own
/// generator (`Tape::with_seed`), so runs are reproducible and a step's
/// gradient and Hessian-vector products share one mask.
///
/// ```
/// use curvature_autograd::{Tape, Tensor};
/// use curvature_nn::{Dropout, Module};
/// let mut drop = Dropout::new(0.5).unwrap();
/// let tape = Tape::with_seed(1);
/// let x = tape.constant(Tensor::<f32>::ones(&[8]));
/// assert!(drop.forward(&[], &x).value().to_vec().contains(&0.0));
/// drop.set_training(false);
/// assert_eq!(drop.forward(&[], &x).value().to_vec(), vec![1.0; 8]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    p: f64,
    training: bool,
}

impl Dropout {
    /// Dropout with probability `p`, in training mode. Errors unless
    /// `0 <= p < 1`, naming the value.
    pub fn new(p: f64) -> Result<Self, String> {
        if (0.0..1.0).contains(&p) {
            Ok(Self { p, training: true })
        } else {
            Err(format!(
                "Dropout: the probability must be in [0, 1), got {p}"
            ))
        }
    }

    /// The probability of zeroing an element.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Training (`true`) or evaluation mode (the identity); the same as
    /// [`Module::set_training`], without naming the element type.
    pub fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    /// Whether the module is in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }
}

impl<T: Element> Parameters<T> for Dropout {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        Vec::new()
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        Vec::new()
    }
}

impl<T: Element> Module<T> for Dropout {
    fn forward(&self, params: &[Var<T>], x: &Var<T>) -> Var<T> {
        check_param_count("Dropout", params, 0);
        if self.training {
            x.dropout(self.p)
        } else {
            x.clone()
        }
    }

    fn num_parameter_tensors(&self) -> usize {
        0
    }

    fn set_training(&mut self, training: bool) {
        Dropout::set_training(self, training);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Linear, Sequential, Tanh};
    use curvature_autograd::{functional, seeded_rng, Tape};

    #[test]
    fn a_bad_probability_is_refused() {
        assert!(Dropout::new(1.0).unwrap_err().contains("got 1"));
        assert!(Dropout::new(-0.1).is_err());
        assert!(Dropout::new(f64::NAN).is_err());
    }

    #[test]
    fn sequential_passes_the_mode_to_its_children() {
        let mut rng = seeded_rng(0);
        let mut model = Sequential::<f64>::new()
            .add(Linear::new(4, 4, &mut rng))
            .add(Tanh)
            .add(Dropout::new(0.5).unwrap());
        let x = Tensor::ones(&[3, 4]);
        let eval = |m: &Sequential<f64>| {
            let tape = Tape::with_seed(9);
            let p = m.bind(&tape);
            m.forward(&p, &tape.constant(&x)).value()
        };
        let train = eval(&model);
        model.set_training(false);
        let evaluated = eval(&model);
        assert_ne!(train, evaluated);
        assert_eq!(evaluated, model.predict(&x));
        // the same seed gives the same mask
        model.set_training(true);
        assert_eq!(eval(&model), train);
    }

    #[test]
    fn gradient_and_hvp_of_one_step_share_the_mask() {
        // f(w) = sum(dropout(tanh(x w))^2): the HVP on one tape equals the
        // finite difference of gradients taken on tapes with the same seed
        let x = Tensor::<f64>::randn(&[5, 3], 0.0, 1.0, &mut seeded_rng(1));
        let f = |tape: &Tape<f64>, p: &[Var<f64>]| {
            let h = tape.constant(&x).matmul(&p[0]).tanh();
            h.dropout(0.4).square().sum()
        };
        let w = Tensor::randn(&[3, 2], 0.0, 1.0, &mut seeded_rng(2));
        let v = Tensor::randn(&[3, 2], 0.0, 1.0, &mut seeded_rng(3));
        let hv = functional::hvp(f, [&w], [&v]);
        let g = |t: f64| functional::grad(f, [&w.add(&v.mul_scalar(t))]).remove(0);
        let eps = 1e-5;
        let fd = g(eps).sub(&g(-eps)).mul_scalar(0.5 / eps);
        assert!(hv[0].allclose(&fd, 1e-6, 1e-8), "{:?} vs {:?}", hv[0], fd);
    }
}
