//! Standardisation: zero mean and unit variance per feature, fitted on
//! the training set only.

use curvature_autograd::{Element, Tensor};

use super::{DataError, Dataset};

/// Per-feature mean and scale of a training set, to map features to zero
/// mean and unit variance: `(x - mean) / scale`, with `scale` the
/// population standard deviation (as scikit-learn's `StandardScaler`).
///
/// Fit it on the training set only, then transform the training and the
/// test set with it, so no information from the test set leaks into
/// training. A constant column gets scale 1 (it maps to 0, never NaN).
///
/// ```
/// use curvature_autograd::Tensor;
/// use curvature_nn::data::Standardizer;
///
/// let train = Tensor::from_vec(vec![1.0_f64, 5.0, 3.0, 5.0], &[2, 2]);
/// let scaler = Standardizer::fit(&train);
/// assert_eq!(scaler.transform(&train).to_vec(), vec![-1.0, 0.0, 1.0, 0.0]);
/// let test = Tensor::from_vec(vec![4.0, 7.0], &[1, 2]);
/// assert_eq!(scaler.transform(&test).to_vec(), vec![2.0, 2.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer<T> {
    mean: Tensor<T>,
    scale: Tensor<T>,
}

impl<T: Element> Standardizer<T> {
    /// The mean and standard deviation of each column of `features`
    /// `[n, d]`, computed in `f64`. Panics unless `features` is 2-D with at
    /// least one row.
    pub fn fit(features: &Tensor<T>) -> Self {
        let shape = features.shape();
        assert!(
            shape.len() == 2 && shape[0] > 0,
            "Standardizer::fit: features of shape {shape:?} must be [n, d] with n >= 1"
        );
        let (n, d) = (shape[0], shape[1]);
        let x = features.as_slice();
        let column = |j: usize| (0..n).map(move |i| x[i * d + j].as_f64());
        let mut mean = Vec::with_capacity(d);
        let mut scale = Vec::with_capacity(d);
        for (j, first) in x[..d].iter().enumerate() {
            let first = first.as_f64();
            if column(j).all(|v| v == first) {
                // Constant: exact mean, and scale 1 so it maps to 0, not NaN.
                mean.push(first);
                scale.push(1.0);
                continue;
            }
            let m = column(j).sum::<f64>() / n as f64;
            let var = column(j).map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64;
            let s = var.sqrt();
            mean.push(m);
            scale.push(if s > 0.0 && s.is_finite() { s } else { 1.0 });
        }
        Self {
            mean: Tensor::from_f64_vec(mean, &[d]),
            scale: Tensor::from_f64_vec(scale, &[d]),
        }
    }

    /// A standardiser from statistics saved earlier (what
    /// [`Standardizer::mean`] and [`Standardizer::scale`] return), to
    /// transform new data exactly as the model's training data was.
    /// Errors unless both are `[d]` with `d >= 1`, finite, and every scale
    /// is positive.
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// use curvature_nn::data::Standardizer;
    ///
    /// let fitted = Standardizer::fit(&Tensor::from_vec(vec![1.0_f32, 5.0, 3.0, 9.0], &[2, 2]));
    /// let restored = Standardizer::from_parts(fitted.mean().clone(), fitted.scale().clone())?;
    /// assert_eq!(restored, fitted);
    /// assert!(Standardizer::from_parts(Tensor::<f32>::zeros(&[2]), Tensor::zeros(&[2])).is_err());
    /// # Ok::<(), curvature_nn::DataError>(())
    /// ```
    pub fn from_parts(mean: Tensor<T>, scale: Tensor<T>) -> Result<Self, DataError> {
        let invalid = |detail: String| Err(DataError::Invalid(format!("standardizer: {detail}")));
        if mean.ndim() != 1 || mean.numel() == 0 || scale.shape() != mean.shape() {
            return invalid(format!(
                "mean of shape {:?} and scale of shape {:?} must both be [d] with d >= 1",
                mean.shape(),
                scale.shape()
            ));
        }
        if !mean.all_finite() {
            return invalid("the mean is not finite".to_string());
        }
        let scale_values = scale.to_f64_vec();
        if let Some(j) = scale_values
            .iter()
            .position(|s| !(s.is_finite() && *s > 0.0))
        {
            return invalid(format!(
                "the scale of feature {j} is {}, not a finite positive number",
                scale_values[j]
            ));
        }
        Ok(Self { mean, scale })
    }

    /// The fitted means, `[d]`.
    pub fn mean(&self) -> &Tensor<T> {
        &self.mean
    }

    /// The fitted scales (standard deviations, 1 for constant columns), `[d]`.
    pub fn scale(&self) -> &Tensor<T> {
        &self.scale
    }

    /// `(x - mean) / scale` for `x` `[m, d]`. Panics, naming both widths,
    /// when `x` has another number of columns than the fitted data.
    pub fn transform(&self, x: &Tensor<T>) -> Tensor<T> {
        self.check_width("transform", x);
        &(x - &self.mean) / &self.scale
    }

    /// `x * scale + mean`: undoes [`Standardizer::transform`].
    pub fn inverse_transform(&self, x: &Tensor<T>) -> Tensor<T> {
        self.check_width("inverse_transform", x);
        &(x * &self.scale) + &self.mean
    }

    /// The dataset with its features transformed (targets unchanged).
    pub fn transform_dataset(&self, dataset: &Dataset<T>) -> Dataset<T> {
        dataset.with_features(self.transform(dataset.features()))
    }

    fn check_width(&self, op: &str, x: &Tensor<T>) {
        let d = self.mean.numel();
        assert!(
            x.ndim() == 2 && x.shape()[1] == d,
            "Standardizer::{op}: input of shape {:?} must be [m, {d}] (fitted on {d} features)",
            x.shape()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvature_autograd::seeded_rng;

    #[test]
    fn transformed_training_features_have_zero_mean_and_unit_variance() {
        let x = Tensor::<f64>::randn(&[500, 3], 10.0, 4.0, &mut seeded_rng(0));
        let z = Standardizer::fit(&x).transform(&x);
        let mean = z.mean_dim(0, false);
        let var = z.square().mean_dim(0, false);
        for j in 0..3 {
            assert!(mean.get(&[j]).abs() < 1e-12);
            assert!((var.get(&[j]) - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn constant_columns_map_to_zero_without_nan() {
        let x = Tensor::from_vec(
            vec![0.1_f32, 1e6, 2.0, 0.1, 1e6, 4.0, 0.1, 1e6, 6.0],
            &[3, 3],
        );
        let scaler = Standardizer::fit(&x);
        let z = scaler.transform(&x);
        assert!(z.all_finite());
        for i in 0..3 {
            assert_eq!(z.get(&[i, 0]), 0.0);
            assert_eq!(z.get(&[i, 1]), 0.0);
        }
        assert_eq!(scaler.scale().to_vec()[..2], [1.0, 1.0]);
        let back = scaler.inverse_transform(&z);
        assert!(back.allclose(&x, 1e-6, 1e-6));
    }

    #[test]
    #[should_panic(expected = "must be [m, 3] (fitted on 3 features)")]
    fn wrong_width_is_reported() {
        let scaler = Standardizer::fit(&Tensor::<f64>::ones(&[2, 3]));
        scaler.transform(&Tensor::ones(&[2, 2]));
    }
}
