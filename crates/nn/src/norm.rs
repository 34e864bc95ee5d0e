//! `BatchNorm2d`, PyTorch's `nn.BatchNorm2d`: batch statistics while
//! training (differentiated through), running statistics in evaluation
//! mode.

use std::sync::{Mutex, MutexGuard};

use curvature_autograd::{Buffer, Element, ParameterKind, Parameters, Tensor, Var};

use crate::module::{check_param_count, Module};

/// Batch normalisation of each channel of an input `[N, C, H, W]`, as
/// PyTorch's `nn.BatchNorm2d(C)` with `affine=True` and
/// `track_running_stats=True`: parameters `weight` (ones) and `bias`
/// (zeros), `[C]` each, and buffers `running_mean` (zeros),
/// `running_var` (ones) and `num_batches_tracked`, PyTorch's state-dict
/// names (a checkpoint stores the counter as `I64`, as PyTorch does).
///
/// In training mode ([`Module::set_training`], the default) `forward`
/// normalises with the batch's mean and biased variance, which are
/// recorded ops, so gradients and Hessian-vector products go through them
/// ([`Var::batch_norm_training`]); and it updates the running statistics,
/// `running = (1 - momentum) running + momentum batch`, with the unbiased
/// variance, and counts the batch, as PyTorch's forward does. `forward`
/// takes `&self` (see [`Module`]), so the running statistics sit behind a
/// mutex (see `docs/architecture.md`): every training-mode forward updates
/// them once, including the extra loss evaluations of a line search, as in
/// PyTorch. In evaluation mode it normalises with the running statistics
/// and changes nothing.
///
/// ```
/// use curvature_autograd::{Parameters, Tensor};
/// use curvature_nn::{BatchNorm2d, Module};
///
/// let mut bn = BatchNorm2d::<f64>::new(2).unwrap();
/// let x = Tensor::from_vec((0..16).map(f64::from).collect(), &[2, 2, 2, 2]);
/// let y = bn.predict(&x); // training mode: batch statistics
/// assert!(y.mean().item().abs() < 1e-12);
/// assert_eq!(bn.num_batches_tracked(), 1);
/// // channel 0 holds 0..4 and 8..12: mean 5.5, unbiased variance 138/7
/// assert!((bn.running_mean().to_vec()[0] - 0.55).abs() < 1e-12);
/// assert!((bn.running_var().to_vec()[0] - (0.9 + 0.1 * 138.0 / 7.0)).abs() < 1e-12);
/// bn.set_training(false);
/// let names: Vec<String> = bn.buffers().into_iter().map(|b| b.name).collect();
/// assert_eq!(names, ["running_mean", "running_var", "num_batches_tracked"]);
/// ```
#[derive(Debug)]
pub struct BatchNorm2d<T: Element> {
    weight: Tensor<T>,
    bias: Tensor<T>,
    running: Mutex<Running<T>>,
    eps: f64,
    momentum: Option<f64>,
    training: bool,
}

/// The running statistics and the number of batches they have seen.
#[derive(Clone, Debug)]
struct Running<T: Element> {
    mean: Tensor<T>,
    var: Tensor<T>,
    batches: u64,
}

impl<T: Element> Clone for BatchNorm2d<T> {
    fn clone(&self) -> Self {
        Self {
            weight: self.weight.clone(),
            bias: self.bias.clone(),
            running: Mutex::new(self.running().clone()),
            eps: self.eps,
            momentum: self.momentum,
            training: self.training,
        }
    }
}

impl<T: Element> BatchNorm2d<T> {
    /// A layer over `num_features` channels with PyTorch's defaults:
    /// `eps = 1e-5`, `momentum = 0.1`, weight ones, bias zeros, running
    /// mean zeros, running variance ones, in training mode. Errors when
    /// `num_features` is 0.
    pub fn new(num_features: usize) -> Result<Self, String> {
        if num_features == 0 {
            return Err("BatchNorm2d: the number of channels must be positive, got 0".into());
        }
        let c = [num_features];
        Ok(Self {
            weight: Tensor::ones(&c),
            bias: Tensor::zeros(&c),
            running: Mutex::new(Running {
                mean: Tensor::zeros(&c),
                var: Tensor::ones(&c),
                batches: 0,
            }),
            eps: 1e-5,
            momentum: Some(0.1),
            training: true,
        })
    }

    /// The layer with another `eps` (added to the variance) and
    /// `momentum` (`None`: PyTorch's cumulative average, the running
    /// statistics the plain mean of every batch's). Errors, naming the
    /// value, unless `eps` is finite and non-negative and `momentum` in
    /// `[0, 1]`.
    pub fn with_eps_and_momentum(
        mut self,
        eps: f64,
        momentum: Option<f64>,
    ) -> Result<Self, String> {
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(format!(
                "BatchNorm2d: eps must be finite and non-negative, got {eps}"
            ));
        }
        if let Some(m) = momentum {
            if !(0.0..=1.0).contains(&m) {
                return Err(format!("BatchNorm2d: momentum must be in [0, 1], got {m}"));
            }
        }
        self.eps = eps;
        self.momentum = momentum;
        Ok(self)
    }

    /// The number of channels.
    pub fn num_features(&self) -> usize {
        self.weight.numel()
    }

    /// The constant added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// The running statistics' momentum (`None`: a cumulative average).
    pub fn momentum(&self) -> Option<f64> {
        self.momentum
    }

    /// The running mean, `[C]`.
    pub fn running_mean(&self) -> Tensor<T> {
        self.running().mean.clone()
    }

    /// The running (unbiased) variance, `[C]`.
    pub fn running_var(&self) -> Tensor<T> {
        self.running().var.clone()
    }

    /// The number of training-mode batches seen (PyTorch's
    /// `num_batches_tracked`).
    pub fn num_batches_tracked(&self) -> u64 {
        self.running().batches
    }

    /// Training (`true`: batch statistics, running statistics updated) or
    /// evaluation mode (running statistics); the same as
    /// [`Module::set_training`], without naming the element type.
    pub fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    /// Whether the layer is in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// The running statistics, locked. A panic while they were held
    /// leaves them consistent (each update replaces them whole), so a
    /// poisoned lock is taken over.
    fn running(&self) -> MutexGuard<'_, Running<T>> {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T: Element> Parameters<T> for BatchNorm2d<T> {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        vec![&self.weight, &self.bias]
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        vec![&mut self.weight, &mut self.bias]
    }

    fn parameter_names(&self) -> Vec<String> {
        vec!["weight".into(), "bias".into()]
    }

    fn parameter_kinds(&self) -> Vec<ParameterKind> {
        vec![ParameterKind::Other, ParameterKind::Bias]
    }

    fn buffers(&self) -> Vec<Buffer<T>> {
        let running = self.running();
        vec![
            Buffer {
                name: "running_mean".into(),
                value: running.mean.clone(),
                integer: false,
            },
            Buffer {
                name: "running_var".into(),
                value: running.var.clone(),
                integer: false,
            },
            Buffer {
                name: "num_batches_tracked".into(),
                value: Tensor::scalar(T::from_f64(running.batches as f64)),
                integer: true,
            },
        ]
    }

    fn set_buffers(&mut self, values: Vec<Tensor<T>>) {
        let c = self.num_features();
        let shapes: Vec<Vec<usize>> = values.iter().map(|v| v.shape().to_vec()).collect();
        assert!(
            shapes == [vec![c], vec![c], vec![]],
            "BatchNorm2d: set_buffers expects running_mean [{c}], running_var [{c}] and \
             num_batches_tracked [], got shapes {shapes:?}"
        );
        let batches = values[2].item().as_f64();
        assert!(
            batches >= 0.0 && batches.fract() == 0.0,
            "BatchNorm2d: num_batches_tracked must be a non-negative integer, got {batches}"
        );
        let mut values = values.into_iter();
        *self.running() = Running {
            mean: values.next().expect("three values"),
            var: values.next().expect("three values"),
            batches: batches as u64,
        };
    }
}

impl<T: Element> Module<T> for BatchNorm2d<T> {
    fn forward(&self, params: &[Var<T>], x: &Var<T>) -> Var<T> {
        check_param_count("BatchNorm2d", params, 2);
        let s = x.shape();
        let c = self.num_features();
        assert!(
            s.len() == 4 && s[1] == c,
            "BatchNorm2d: expects an input [N, {c}, H, W] for its {c} channels, got shape {s:?}"
        );
        if self.training {
            let (y, stats) = x.batch_norm_training(Some(&params[0]), Some(&params[1]), self.eps);
            let mut running = self.running();
            running.batches += 1;
            let momentum = self.momentum.unwrap_or(1.0 / running.batches as f64);
            let (mean, var) = stats.updated_running(&running.mean, &running.var, momentum);
            running.mean = mean;
            running.var = var;
            y
        } else {
            let running = self.running();
            x.batch_norm_eval(
                &running.mean,
                &running.var,
                Some(&params[0]),
                Some(&params[1]),
                self.eps,
            )
        }
    }

    fn num_parameter_tensors(&self) -> usize {
        2
    }

    fn set_training(&mut self, training: bool) {
        BatchNorm2d::set_training(self, training);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Conv2d, Sequential, Tanh};
    use curvature_autograd::{
        gradcheck, gradgradcheck, seeded_rng, CheckOptions, ConvOptions, Tape,
    };

    fn input(seed: u64) -> Tensor<f64> {
        Tensor::randn(&[3, 2, 3, 3], 0.5, 2.0, &mut seeded_rng(seed))
    }

    #[test]
    fn two_training_batches_update_the_running_statistics_as_pytorch() {
        let bn = BatchNorm2d::<f64>::new(2).unwrap();
        let (a, b) = (input(1), input(2));
        let tape = Tape::new();
        let p = bn.bind(&tape);
        let (_, sa) = tape.constant(&a).batch_norm_training(None, None, 1e-5);
        let (_, sb) = tape.constant(&b).batch_norm_training(None, None, 1e-5);
        bn.forward(&p, &tape.constant(&a));
        bn.forward(&p, &tape.constant(&b));
        let n = 27.0;
        for ch in 0..2 {
            let m1 = 0.1 * sa.mean.to_vec()[ch];
            let v1 = 0.9 + 0.1 * sa.var.to_vec()[ch] * n / (n - 1.0);
            let m2 = 0.9 * m1 + 0.1 * sb.mean.to_vec()[ch];
            let v2 = 0.9 * v1 + 0.1 * sb.var.to_vec()[ch] * n / (n - 1.0);
            assert!((bn.running_mean().to_vec()[ch] - m2).abs() < 1e-14);
            assert!((bn.running_var().to_vec()[ch] - v2).abs() < 1e-14);
        }
        assert_eq!(bn.num_batches_tracked(), 2);
    }

    #[test]
    fn without_momentum_the_running_statistics_are_the_cumulative_average() {
        let bn = BatchNorm2d::<f64>::new(2)
            .unwrap()
            .with_eps_and_momentum(1e-3, None)
            .unwrap();
        let batches: Vec<Tensor<f64>> = (3..6).map(input).collect();
        let mut means = [0.0; 2];
        for x in &batches {
            bn.predict(x);
            let (_, s) = Tape::new().constant(x).batch_norm_training(None, None, 0.0);
            for (m, v) in means.iter_mut().zip(s.mean.to_vec()) {
                *m += v / 3.0;
            }
        }
        let ours = bn.running_mean().to_vec();
        assert!((ours[0] - means[0]).abs() < 1e-14 && (ours[1] - means[1]).abs() < 1e-14);
    }

    #[test]
    fn evaluation_mode_uses_the_running_statistics_and_changes_nothing() {
        let mut bn = BatchNorm2d::<f64>::new(2).unwrap();
        bn.set_buffers(vec![
            Tensor::from_vec(vec![1.0, -2.0], &[2]),
            Tensor::from_vec(vec![4.0, 0.25], &[2]),
            Tensor::scalar(7.0),
        ]);
        bn.set_training(false);
        let x = Tensor::from_vec(vec![3.0, -1.0], &[1, 2, 1, 1]);
        let y = bn.predict(&x).to_vec();
        assert!((y[0] - 2.0 / (4.0 + 1e-5f64).sqrt()).abs() < 1e-12);
        assert!((y[1] - 1.0 / (0.25 + 1e-5f64).sqrt()).abs() < 1e-12);
        assert_eq!(bn.num_batches_tracked(), 7);
        assert_eq!(bn.running_mean().to_vec(), vec![1.0, -2.0]);
    }

    #[test]
    fn a_conv_and_batch_norm_pass_gradcheck_and_gradgradcheck_in_training_mode() {
        let mut rng = seeded_rng(4);
        let pad = ConvOptions {
            padding: (1, 1),
            ..Default::default()
        };
        let mut model = Sequential::<f64>::new()
            .add(Conv2d::new(2, 3, (3, 3), pad, &mut rng).unwrap())
            .add(BatchNorm2d::new(3).unwrap())
            .add(Tanh);
        // a weight and bias away from their initial ones and zeros
        *model.parameters_mut()[2] = Tensor::from_vec(vec![0.5, 1.5, -1.0], &[3]);
        *model.parameters_mut()[3] = Tensor::from_vec(vec![0.1, -0.2, 0.3], &[3]);
        let x = input(5);
        let f = |tape: &Tape<f64>, p: &[Var<f64>]| model.forward(p, &tape.constant(&x));
        let params: Vec<Tensor<f64>> = model.parameters().into_iter().cloned().collect();
        let options = CheckOptions::default();
        let report = gradcheck(f, &params, &options);
        assert!(report.passed, "{report}");
        let report = gradgradcheck(f, &params, &options);
        assert!(report.passed, "{report}");
        assert!(
            model.buffers()[2].value.item() > 0.0,
            "the forwards counted"
        );
    }

    #[test]
    fn sequential_names_parameters_and_buffers_as_pytorch() {
        let mut rng = seeded_rng(0);
        let model = Sequential::<f32>::new()
            .add(Conv2d::new(1, 4, (3, 3), ConvOptions::default(), &mut rng).unwrap())
            .add(BatchNorm2d::new(4).unwrap());
        assert_eq!(
            model.parameter_names(),
            ["0.weight", "0.bias", "1.weight", "1.bias"]
        );
        let buffers: Vec<(String, bool)> = model
            .buffers()
            .into_iter()
            .map(|b| (b.name, b.integer))
            .collect();
        assert_eq!(
            buffers,
            [
                ("1.running_mean".to_string(), false),
                ("1.running_var".to_string(), false),
                ("1.num_batches_tracked".to_string(), true)
            ]
        );
    }

    #[test]
    #[should_panic(
        expected = "BatchNorm2d: expects an input [N, 4, H, W] for its 4 channels, got shape [2, 3, 5, 5]"
    )]
    fn the_wrong_channel_count_is_named() {
        let bn = BatchNorm2d::<f32>::new(4).unwrap();
        bn.predict(&Tensor::zeros(&[2, 3, 5, 5]));
    }

    #[test]
    fn bad_configuration_is_refused_naming_the_value() {
        assert!(BatchNorm2d::<f32>::new(0).unwrap_err().contains("got 0"));
        let bn = || BatchNorm2d::<f32>::new(1).unwrap();
        assert!(bn()
            .with_eps_and_momentum(-1.0, None)
            .unwrap_err()
            .contains("got -1"));
        assert!(bn()
            .with_eps_and_momentum(1e-5, Some(1.5))
            .unwrap_err()
            .contains("got 1.5"));
    }
}
