//! `OptimizerState`: what an optimizer saves and restores, as plain named
//! tensors and the step count, like PyTorch's `optimizer.state_dict()`.

use std::collections::BTreeMap;

use curvature_autograd::{Element, Tensor};

use crate::OptimError;

/// An optimizer's state: its kind, the number of steps taken, and its
/// per-parameter buffers keyed `"{index}.{buffer}"` (`"0.exp_avg"`,
/// `"3.momentum_buffer"`, ...). Hyperparameters are not part of it: they
/// belong to the config the optimizer is rebuilt from.
///
/// ```
/// use curvature_optim::{Adam, AdamConfig, Optimizer};
/// use curvature_autograd::Tensor;
///
/// let mut params = vec![Tensor::from_vec(vec![1.0_f64, -2.0], &[2])];
/// let mut adam = Adam::new(AdamConfig::default())?;
/// adam.step(&mut params, |_, _, p| p[0].square().sum())?;
/// let saved = adam.state();
/// assert_eq!(saved.step, 1);
/// assert_eq!(saved.tensors["0.exp_avg"].shape(), &[2]);
///
/// let mut resumed = Adam::new(AdamConfig::default())?;
/// resumed.load_state(&saved)?;
/// assert_eq!(resumed.step_count(), 1);
/// # Ok::<(), curvature_optim::OptimError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState<T> {
    /// The optimizer that saved it (`"sgd"`, `"adam"`, `"adamw"`, `"adahessian"`).
    pub optimizer: String,
    /// The number of steps taken.
    pub step: u64,
    /// The buffers, keyed `"{parameter index}.{buffer name}"`.
    pub tensors: BTreeMap<String, Tensor<T>>,
}

impl<T: Element> OptimizerState<T> {
    pub(crate) fn new(optimizer: &str, step: u64) -> Self {
        Self {
            optimizer: optimizer.to_string(),
            step,
            tensors: BTreeMap::new(),
        }
    }

    /// Adds one buffer per parameter under `"{index}.{name}"`.
    pub(crate) fn insert_per_parameter(&mut self, name: &str, buffers: &[Tensor<T>]) {
        for (i, b) in buffers.iter().enumerate() {
            self.tensors.insert(format!("{i}.{name}"), b.clone());
        }
    }

    /// Reads the buffers `names` for every parameter, checking that the
    /// state comes from `optimizer`, that no buffer is missing or unknown,
    /// and that the buffers of one parameter agree in shape. Returns one
    /// list per name, in parameter order.
    pub(crate) fn per_parameter(
        &self,
        optimizer: &str,
        names: &[&str],
    ) -> Result<Vec<Vec<Tensor<T>>>, OptimError> {
        if self.optimizer != optimizer {
            return Err(OptimError::State(format!(
                "it was saved by {}, not {optimizer}",
                self.optimizer
            )));
        }
        let mut count = 0;
        for key in self.tensors.keys() {
            let parsed = key
                .split_once('.')
                .and_then(|(i, name)| Some((i.parse::<usize>().ok()?, name)));
            match parsed {
                Some((i, name)) if names.contains(&name) => count = count.max(i + 1),
                _ => {
                    return Err(OptimError::State(format!(
                        "unexpected entry {key:?} for {optimizer} (expected \"{{index}}.{{{}}}\")",
                        names.join("|")
                    )))
                }
            }
        }
        let mut out: Vec<Vec<Tensor<T>>> = vec![Vec::with_capacity(count); names.len()];
        for i in 0..count {
            for (k, name) in names.iter().enumerate() {
                let key = format!("{i}.{name}");
                let t = self
                    .tensors
                    .get(&key)
                    .ok_or_else(|| OptimError::State(format!("missing entry {key:?}")))?;
                if k > 0 && t.shape() != out[0][i].shape() {
                    return Err(OptimError::State(format!(
                        "entry {key:?} has shape {:?} but \"{i}.{}\" has shape {:?}",
                        t.shape(),
                        names[0],
                        out[0][i].shape()
                    )));
                }
                out[k].push(t.clone());
            }
        }
        Ok(out)
    }
}

/// A `u64` (a counter, or an `f64`'s bits) as a `[4]` tensor of 16-bit
/// pieces, most significant first: exact in every element type, `f32`
/// included, so a saved run resumes bit for bit.
pub(crate) fn u64_to_tensor<T: Element>(n: u64) -> Tensor<T> {
    let pieces = (0..4)
        .rev()
        .map(|k| T::from_f64(((n >> (16 * k)) & 0xFFFF) as f64));
    Tensor::from_vec(pieces.collect(), &[4])
}

/// The `u64` that [`u64_to_tensor`] wrote; an error names the entry when
/// the tensor is not four whole pieces below 2^16.
pub(crate) fn u64_from_tensor<T: Element>(t: &Tensor<T>, name: &str) -> Result<u64, OptimError> {
    let v = t.to_vec();
    let bad = || OptimError::State(format!("entry {name:?} is not a saved 64-bit value"));
    if v.len() != 4 {
        return Err(bad());
    }
    v.iter().try_fold(0_u64, |n, p| {
        let p = p.as_f64();
        if (0.0..65_536.0).contains(&p) && p.fract() == 0.0 {
            Ok((n << 16) | p as u64)
        } else {
            Err(bad())
        }
    })
}

/// Checks restored buffers against the shapes an optimizer already knows.
pub(crate) fn check_shapes<T: Element>(
    buffers: &[Tensor<T>],
    shapes: &[&[usize]],
) -> Result<(), OptimError> {
    if buffers.len() != shapes.len() {
        return Err(OptimError::State(format!(
            "it holds buffers for {} parameters, but the optimizer has {}",
            buffers.len(),
            shapes.len()
        )));
    }
    for (i, (b, s)) in buffers.iter().zip(shapes).enumerate() {
        if b.shape() != *s {
            return Err(OptimError::State(format!(
                "the buffer of parameter #{i} has shape {:?}, but the parameter has shape {s:?}",
                b.shape()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> OptimizerState<f64> {
        let mut s = OptimizerState::new("adam", 3);
        s.insert_per_parameter("exp_avg", &[Tensor::zeros(&[2]), Tensor::zeros(&[3, 1])]);
        s.insert_per_parameter("exp_avg_sq", &[Tensor::zeros(&[2]), Tensor::zeros(&[3, 1])]);
        s
    }

    #[test]
    fn u64_values_round_trip_exactly_in_f32() {
        for n in [0, 1, 65_535, 65_536, u64::MAX, 1e-3_f64.to_bits()] {
            let t: Tensor<f32> = u64_to_tensor(n);
            assert_eq!(u64_from_tensor(&t, "n").unwrap(), n);
        }
        let bad = Tensor::<f32>::from_vec(vec![0.0, 0.5, 0.0, 0.0], &[4]);
        assert!(u64_from_tensor(&bad, "n").is_err());
        let short = Tensor::<f32>::from_vec(vec![0.0; 3], &[3]);
        assert!(u64_from_tensor(&short, "n").is_err());
    }

    #[test]
    fn reads_back_what_was_written_in_parameter_order() {
        let got = state()
            .per_parameter("adam", &["exp_avg", "exp_avg_sq"])
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1][1].shape(), &[3, 1]);
    }

    #[test]
    fn wrong_optimizer_missing_unknown_and_mismatched_entries_are_errors() {
        let e = state()
            .per_parameter("sgd", &["momentum_buffer"])
            .unwrap_err();
        assert!(e.to_string().contains("saved by adam"), "{e}");

        let mut s = state();
        s.tensors.remove("1.exp_avg_sq");
        let e = s
            .per_parameter("adam", &["exp_avg", "exp_avg_sq"])
            .unwrap_err();
        assert!(e.to_string().contains("1.exp_avg_sq"), "{e}");

        let mut s = state();
        s.tensors.insert("0.bogus".into(), Tensor::zeros(&[2]));
        let e = s
            .per_parameter("adam", &["exp_avg", "exp_avg_sq"])
            .unwrap_err();
        assert!(e.to_string().contains("0.bogus"), "{e}");

        let mut s = state();
        s.tensors.insert("0.exp_avg_sq".into(), Tensor::zeros(&[5]));
        let e = s
            .per_parameter("adam", &["exp_avg", "exp_avg_sq"])
            .unwrap_err();
        assert!(e.to_string().contains("[5]"), "{e}");

        let bufs = state().per_parameter("adam", &["exp_avg"]);
        assert!(
            bufs.is_err(),
            "exp_avg_sq is unknown to a reader of exp_avg only"
        );
        let ok = state()
            .per_parameter("adam", &["exp_avg", "exp_avg_sq"])
            .unwrap();
        assert!(check_shapes(&ok[0], &[&[2], &[3, 2]]).is_err());
        assert!(check_shapes(&ok[0], &[&[2]]).is_err());
        assert!(check_shapes(&ok[0], &[&[2], &[3, 1]]).is_ok());
    }
}
