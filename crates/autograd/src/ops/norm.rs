//! Batch normalisation, composed from recorded ops (`sum_to`, element-wise
//! arithmetic, `powf`), so that its derivatives of every order, through the
//! batch statistics, come for free.

use crate::{Element, Tensor, Var};

/// The statistics of one batch that a training-mode [`Var::batch_norm_training`]
/// normalised with, per channel, for updating running statistics (they are
/// values, detached from the tape).
#[derive(Clone, Debug, PartialEq)]
pub struct BatchStats<T: Element> {
    /// The mean of each channel over the batch and spatial positions, `[C]`.
    pub mean: Tensor<T>,
    /// The biased variance of each channel (divided by `count`), `[C]`: the
    /// one the output was normalised with.
    pub var: Tensor<T>,
    /// The number of values each channel's statistics were taken over
    /// (`N H W` for an input `[N, C, H, W]`).
    pub count: usize,
}

impl<T: Element> BatchStats<T> {
    /// PyTorch's update of running statistics with these batch statistics:
    /// `running_mean = (1 - momentum) running_mean + momentum mean` and
    /// `running_var = (1 - momentum) running_var + momentum var_unbiased`,
    /// where `var_unbiased = var count / (count - 1)` (Bessel's correction,
    /// which PyTorch applies to the running variance only). Returns the new
    /// `(running_mean, running_var)`.
    ///
    /// Panics, naming the shapes, unless both running tensors have the
    /// statistics' shape `[C]`.
    pub fn updated_running(
        &self,
        running_mean: &Tensor<T>,
        running_var: &Tensor<T>,
        momentum: f64,
    ) -> (Tensor<T>, Tensor<T>) {
        assert!(
            running_mean.shape() == self.mean.shape() && running_var.shape() == self.mean.shape(),
            "batch_norm: running mean {:?} and running variance {:?} must have the batch \
             statistics' shape {:?}",
            running_mean.shape(),
            running_var.shape(),
            self.mean.shape()
        );
        let keep = T::from_f64(1.0 - momentum);
        let m = T::from_f64(momentum);
        let bessel = self.count as f64 / (self.count as f64 - 1.0);
        let mean = running_mean.mul_scalar(keep).add(&self.mean.mul_scalar(m));
        let var = running_var
            .mul_scalar(keep)
            .add(&self.var.mul_scalar(T::from_f64(momentum * bessel)));
        (mean, var)
    }
}

/// `[1, C, 1, ..]`: the shape a per-channel tensor broadcasts from.
fn channel_shape(shape: &[usize]) -> Vec<usize> {
    let mut kept = vec![1; shape.len()];
    kept[1] = shape[1];
    kept
}

/// Panics, naming the op and the shapes, unless `x` is `[N, C, ..]` and
/// each per-channel tensor is `[C]`.
fn check_shapes(op: &str, x: &[usize], per_channel: &[(&str, Option<Vec<usize>>)]) {
    assert!(
        x.len() >= 2,
        "{op}: expects an input [N, C, ..] of at least 2 dimensions, got shape {x:?}"
    );
    for (name, shape) in per_channel {
        if let Some(shape) = shape {
            assert!(
                shape.as_slice() == [x[1]],
                "{op}: the {name} has shape {shape:?}, but the input {x:?} has {} channels \
                 (expected [{}])",
                x[1],
                x[1]
            );
        }
    }
}

/// `y * weight + bias`, each `[C]` broadcast along dimension 1.
fn affine<T: Element>(y: Var<T>, weight: Option<&Var<T>>, bias: Option<&Var<T>>) -> Var<T> {
    let kept = channel_shape(&y.shape());
    let y = match weight {
        Some(w) => &y * &w.reshape(&kept),
        None => y,
    };
    match bias {
        Some(b) => &y + &b.reshape(&kept),
        None => y,
    }
}

impl<T: Element> Var<T> {
    /// Batch normalisation in training mode (PyTorch's `F.batch_norm` with
    /// `training=True`): each channel (dimension 1 of `[N, C, ..]`) is
    /// normalised with the mean and biased variance of its values over the
    /// batch and the remaining dimensions, `(x - mean) / sqrt(var + eps)`,
    /// then scaled by `weight` and shifted by `bias` (`[C]` each, when
    /// given). The statistics are recorded ops of `x`, so the gradient and
    /// every higher derivative see them (a Hessian-vector product couples
    /// the examples of a batch, as PyTorch's does).
    ///
    /// Also returns the statistics, as values, for
    /// [`BatchStats::updated_running`].
    ///
    /// Panics, naming the shapes, when `x` has fewer than 2 dimensions, a
    /// channel has a single value (PyTorch refuses it too: its variance is
    /// 0 / 0 unbiased), or `weight` or `bias` is not `[C]`.
    ///
    /// ```
    /// use curvature_autograd::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 5.0], &[2, 2]));
    /// let (y, stats) = x.batch_norm_training(None, None, 0.0);
    /// assert_eq!(y.value().to_vec(), vec![-1.0, -1.0, 1.0, 1.0]);
    /// assert_eq!(stats.mean.to_vec(), vec![2.0, 3.5]);
    /// assert_eq!(stats.var.to_vec(), vec![1.0, 2.25]);
    /// ```
    pub fn batch_norm_training(
        &self,
        weight: Option<&Var<T>>,
        bias: Option<&Var<T>>,
        eps: f64,
    ) -> (Var<T>, BatchStats<T>) {
        let shape = self.shape();
        check_shapes(
            "batch_norm",
            &shape,
            &[
                ("weight", weight.map(|w| w.shape().to_vec())),
                ("bias", bias.map(|b| b.shape().to_vec())),
            ],
        );
        let channels = shape[1];
        let count = self.numel() / channels.max(1);
        assert!(
            count > 1,
            "batch_norm: expected more than 1 value per channel when training, got input \
             shape {shape:?}"
        );
        let kept = channel_shape(&shape);
        let inv_count = T::from_f64(1.0 / count as f64);
        let mean = self.sum_to(&kept).mul_scalar(inv_count);
        let centered = self - &mean;
        let var = centered.square().sum_to(&kept).mul_scalar(inv_count);
        let inv_std = var.add_scalar(T::from_f64(eps)).powf(T::from_f64(-0.5));
        let stats = BatchStats {
            mean: mean.value().reshape(&[channels]).contiguous(),
            var: var.value().reshape(&[channels]).contiguous(),
            count,
        };
        (affine(&centered * &inv_std, weight, bias), stats)
    }

    /// Batch normalisation in evaluation mode (PyTorch's `F.batch_norm`
    /// with `training=False`): each channel is normalised with the given
    /// running statistics, `(x - running_mean) / sqrt(running_var + eps)`,
    /// then scaled by `weight` and shifted by `bias`. The statistics are
    /// constants: the output is an affine function of `x`.
    ///
    /// Panics, naming the shapes, when `x` has fewer than 2 dimensions or a
    /// per-channel tensor is not `[C]`.
    pub fn batch_norm_eval(
        &self,
        running_mean: &Tensor<T>,
        running_var: &Tensor<T>,
        weight: Option<&Var<T>>,
        bias: Option<&Var<T>>,
        eps: f64,
    ) -> Var<T> {
        let shape = self.shape();
        check_shapes(
            "batch_norm",
            &shape,
            &[
                ("running mean", Some(running_mean.shape().to_vec())),
                ("running variance", Some(running_var.shape().to_vec())),
                ("weight", weight.map(|w| w.shape().to_vec())),
                ("bias", bias.map(|b| b.shape().to_vec())),
            ],
        );
        let kept = channel_shape(&shape);
        let tape = self.tape();
        let mean = tape.constant(running_mean.reshape(&kept));
        let inv_std = tape.constant(
            running_var
                .add_scalar(T::from_f64(eps))
                .powf(T::from_f64(-0.5))
                .reshape(&kept),
        );
        affine(&(self - &mean) * &inv_std, weight, bias)
    }
}
