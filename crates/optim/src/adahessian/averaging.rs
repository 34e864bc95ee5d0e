//! Averaging of the Hessian-diagonal estimate within a parameter: the
//! paper's "spatial averaging" (Yao et al. 2020), declared
//! per parameter and checked against its shape.

use std::fmt;

use curvature_autograd::{Element, ParameterKind, Parameters};

use crate::OptimError;

/// How AdaHessian averages a parameter's Hessian-diagonal estimate `D`
/// before squaring it into the second moment.
///
/// Averaging trades resolution for variance: every element of a group gets
/// the group's mean, so a noisy single-draw estimate is smoothed over
/// elements that are expected to share their curvature (the taps of one
/// convolution kernel, a row of a weight matrix).
///
/// ```
/// use curvature_optim::Averaging;
/// assert!(Averaging::Axes(vec![2, 3]).check(&[16, 3, 3, 3]).is_ok()); // a conv kernel
/// assert!(Averaging::Axes(vec![2, 3]).check(&[16, 3, 3]).is_err());   // rank 3: no axis 3
/// assert!(Averaging::Blocks(4).check(&[10]).is_ok());                 // blocks 4, 4 and 2
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Averaging {
    /// No averaging: `D` element by element (the authors' choice for
    /// tensors of rank 0, 1 and 2). Valid for every shape.
    #[default]
    None,
    /// The mean over these axes, kept as size-1 dimensions and broadcast
    /// back (the authors' `mean(dim=[2, 3], keepdim=True)` for a conv
    /// kernel `[out, in, kh, kw]`). Each axis must exist, once; the list
    /// must not be empty.
    Axes(Vec<usize>),
    /// The mean over blocks of `b` consecutive elements in row-major order
    /// (the paper's block averaging); when `b` does not divide the element
    /// count, the last, shorter block is averaged on its own. `b >= 1`.
    Blocks(usize),
}

impl fmt::Display for Averaging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Averaging::None => write!(f, "None"),
            Averaging::Axes(axes) => write!(f, "Axes({axes:?})"),
            Averaging::Blocks(b) => write!(f, "Blocks({b})"),
        }
    }
}

impl Averaging {
    /// The authors' rule for convolution kernels, `Axes([2, 3])`: one mean
    /// per (output, input) channel pair over the kernel's taps.
    pub fn conv_kernel() -> Self {
        Averaging::Axes(vec![2, 3])
    }

    /// Per-parameter overrides reproducing the authors' image-classification
    /// rule: [`Averaging::conv_kernel`] for every rank-4 parameter, nothing
    /// for the others. Use it as `AdaHessianConfig::averaging_overrides`.
    pub fn conv_kernels_of<T: Element, P: Parameters<T> + ?Sized>(
        params: &P,
    ) -> Vec<(usize, Averaging)> {
        params
            .parameters()
            .iter()
            .enumerate()
            .filter(|(_, p)| p.ndim() == 4)
            .map(|(i, _)| (i, Averaging::conv_kernel()))
            .collect()
    }

    /// Whether this averaging can apply to a tensor of `shape`; the reason
    /// when it cannot.
    pub fn check(&self, shape: &[usize]) -> Result<(), String> {
        match self {
            Averaging::None => Ok(()),
            Averaging::Blocks(0) => Err("the block size must be at least 1".into()),
            Averaging::Blocks(_) => Ok(()),
            Averaging::Axes(axes) if axes.is_empty() => {
                Err("no axes given (use Averaging::None for no averaging)".into())
            }
            Averaging::Axes(axes) => {
                let rank = shape.len();
                if let Some(&a) = axes.iter().find(|&&a| a >= rank) {
                    return Err(format!(
                        "axis {a} does not exist in a tensor of rank {rank}"
                    ));
                }
                for (k, a) in axes.iter().enumerate() {
                    if axes[..k].contains(a) {
                        return Err(format!("axis {a} is listed twice"));
                    }
                }
                Ok(())
            }
        }
    }

    /// Replaces `data` (a tensor of `shape`, row-major) by its average.
    /// `self` must have passed [`Averaging::check`] for `shape`.
    pub(crate) fn apply<T: Element>(&self, shape: &[usize], data: &mut [T]) {
        match self {
            Averaging::None => {}
            Averaging::Blocks(b) => {
                for block in data.chunks_mut(*b) {
                    let mean = block.iter().copied().sum::<T>() / T::from_f64(block.len() as f64);
                    block.fill(mean);
                }
            }
            Averaging::Axes(axes) => {
                let (group_of, groups, per_group) = groups_for_axes(shape, axes);
                let mut sums = vec![T::zero(); groups];
                for (i, &x) in data.iter().enumerate() {
                    sums[group_of(i)] += x;
                }
                let n = T::from_f64(per_group as f64);
                for (i, x) in data.iter_mut().enumerate() {
                    *x = sums[group_of(i)] / n;
                }
            }
        }
    }
}

/// For a mean over `axes` of a tensor of `shape`: the group (index into the
/// kept-dimension result) of each flat element, the number of groups, and
/// the number of elements per group.
fn groups_for_axes(shape: &[usize], axes: &[usize]) -> (impl Fn(usize) -> usize, usize, usize) {
    let rank = shape.len();
    // Row-major strides of the input, and of the result with averaged axes
    // reduced to size 1 (their stride is 0: they do not move the group).
    let mut strides = vec![1; rank];
    let mut kept_strides = vec![0; rank];
    let (mut size, mut kept) = (1, 1);
    for d in (0..rank).rev() {
        strides[d] = size;
        size *= shape[d];
        if !axes.contains(&d) {
            kept_strides[d] = kept;
            kept *= shape[d];
        }
    }
    let per_group: usize = axes.iter().map(|&a| shape[a]).product();
    let shape = shape.to_vec();
    let group_of = move |flat: usize| {
        (0..rank)
            .map(|d| (flat / strides[d]) % shape[d] * kept_strides[d])
            .sum()
    };
    (group_of, kept, per_group)
}

/// Resolves the averaging of every parameter (an override, or the default)
/// and checks each against its shape: an averaging a parameter cannot take
/// is an error here, when the optimizer is built, never at a step.
pub(crate) fn resolve<T: Element, P: Parameters<T> + ?Sized>(
    params: &P,
    default: &Averaging,
    overrides: &[(usize, Averaging)],
) -> Result<Vec<Averaging>, OptimError> {
    let shapes: Vec<Vec<usize>> = params
        .parameters()
        .iter()
        .map(|p| p.shape().to_vec())
        .collect();
    let names = || params.parameter_names();
    // a declared convolution kernel is averaged over its spatial axes (the
    // authors' rule); an explicit override still wins
    let mut out: Vec<Averaging> = params
        .parameter_kinds()
        .iter()
        .map(|kind| match kind {
            ParameterKind::ConvKernel => Averaging::conv_kernel(),
            _ => default.clone(),
        })
        .collect();
    out.resize(shapes.len(), default.clone());
    for (index, averaging) in overrides {
        if *index >= shapes.len() {
            return Err(OptimError::Averaging {
                averaging: averaging.to_string(),
                parameter: format!("#{index}"),
                index: *index,
                shape: Vec::new(),
                reason: format!("there are only {} parameters", shapes.len()),
            });
        }
        out[*index] = averaging.clone();
    }
    for (index, (averaging, shape)) in out.iter().zip(&shapes).enumerate() {
        if let Err(reason) = averaging.check(shape) {
            return Err(OptimError::Averaging {
                averaging: averaging.to_string(),
                parameter: names().swap_remove(index),
                index,
                shape: shape.clone(),
                reason,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn averaged(a: &Averaging, shape: &[usize], src: &[f64]) -> Vec<f64> {
        a.check(shape).unwrap();
        let mut data = src.to_vec();
        a.apply(shape, &mut data);
        data
    }

    #[test]
    fn axes_mean_keeps_dims_and_broadcasts_back() {
        // [2, 2, 3]: mean over the last axis
        let src: Vec<f64> = (0..12).map(f64::from).collect();
        let got = averaged(&Averaging::Axes(vec![2]), &[2, 2, 3], &src);
        let want = [
            1.0, 1.0, 1.0, 4.0, 4.0, 4.0, 7.0, 7.0, 7.0, 10.0, 10.0, 10.0,
        ];
        assert_eq!(got, want);
        // mean over axes 0 and 2: groups are the two rows of axis 1
        let got = averaged(&Averaging::Axes(vec![2, 0]), &[2, 2, 3], &src);
        let (a, b) = (
            (0.0 + 1.0 + 2.0 + 6.0 + 7.0 + 8.0) / 6.0,
            (3.0 + 4.0 + 5.0 + 9.0 + 10.0 + 11.0) / 6.0,
        );
        assert_eq!(got, [a, a, a, b, b, b, a, a, a, b, b, b]);
        // over every axis: the global mean
        let got = averaged(&Averaging::Axes(vec![0, 1, 2]), &[2, 2, 3], &src);
        assert!(got.iter().all(|&x| x == 5.5));
    }

    #[test]
    fn blocks_average_consecutive_elements_and_a_last_partial_block_alone() {
        let src = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 10.0];
        let got = averaged(&Averaging::Blocks(3), &[7], &src);
        assert_eq!(got, [2.0, 2.0, 2.0, 5.0, 5.0, 5.0, 10.0]);
        let got = averaged(&Averaging::Blocks(4), &[7], &src);
        assert_eq!(got, [2.5, 2.5, 2.5, 2.5, 7.0, 7.0, 7.0]);
        let got = averaged(&Averaging::Blocks(1), &[7], &src);
        assert_eq!(got, src);
    }

    #[test]
    fn shapes_an_averaging_cannot_take_are_rejected_with_a_reason() {
        assert!(Averaging::Axes(vec![2, 3])
            .check(&[4, 3, 5])
            .unwrap_err()
            .contains("axis 3"));
        assert!(Averaging::Axes(vec![0]).check(&[]).is_err());
        assert!(Averaging::Axes(vec![1, 1])
            .check(&[2, 2])
            .unwrap_err()
            .contains("twice"));
        assert!(Averaging::Axes(vec![]).check(&[2]).is_err());
        assert!(Averaging::Blocks(0).check(&[2]).is_err());
        assert!(Averaging::Blocks(5).check(&[]).is_ok());
        assert!(Averaging::None.check(&[1, 2, 3, 4, 5]).is_ok());
    }
}
