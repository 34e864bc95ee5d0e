//! Losses on `Var`s, built from recorded ops (so differentiable to any
//! order) and numerically stable, plus accuracy on plain tensors.
//!
//! Each loss is a mean over the batch, PyTorch's default `reduction="mean"`.

use curvature_autograd::{Element, Tensor, Var};

/// Mean squared error, `mean((prediction - target)^2)`. The shapes must be
/// equal: a `[B, 1]` prediction against a `[B]` target would broadcast to
/// `[B, B]` and silently compute something else, so it panics instead.
pub fn mse_loss<T: Element>(prediction: &Var<T>, target: &Var<T>) -> Var<T> {
    let (p, t) = (prediction.shape(), target.shape());
    assert_eq!(
        p.as_slice(),
        t.as_slice(),
        "mse_loss: prediction of shape {:?} and target of shape {:?} differ \
         (reshape one of them; broadcasting here is almost always a bug)",
        p.as_slice(),
        t.as_slice()
    );
    (prediction - target).square().mean()
}

/// Cross-entropy of `logits [B, C]` against class `labels` (`B` of them, each
/// in `0..C`), averaged over the batch: `nll_loss(log_softmax(logits), labels)`.
/// The log-softmax subtracts the row maximum first, so any finite logits
/// (even ±1000) give a finite loss and finite derivatives of every order.
///
/// Panics, naming the label, its position and the class count, when a
/// label is out of range.
pub fn cross_entropy<T: Element>(logits: &Var<T>, labels: &[usize]) -> Var<T> {
    check_classification("cross_entropy", logits, labels);
    nll_loss(&logits.log_softmax(1), labels)
}

/// The negative log-likelihood of class `labels` under `log_probs [B, C]`
/// (log-probabilities, e.g. from `log_softmax`), averaged over the batch:
/// `-mean_i log_probs[i, labels[i]]`.
///
/// Panics, naming the label, its position and the class count, when a
/// label is out of range.
pub fn nll_loss<T: Element>(log_probs: &Var<T>, labels: &[usize]) -> Var<T> {
    check_classification("nll_loss", log_probs, labels);
    let index = Tensor::from_vec(labels.to_vec(), &[labels.len(), 1]);
    log_probs.gather(1, &index).mean().neg()
}

/// Binary cross-entropy of `logits` against `targets` in `[0, 1]` (same
/// shape), averaged: `mean(softplus(x) - y x)`, which equals
/// `-y log sigmoid(x) - (1 - y) log(1 - sigmoid(x))` but never takes the
/// log of a rounded-to-zero probability.
pub fn binary_cross_entropy_with_logits<T: Element>(logits: &Var<T>, targets: &Var<T>) -> Var<T> {
    let (x, y) = (logits.shape(), targets.shape());
    assert_eq!(
        x.as_slice(),
        y.as_slice(),
        "binary_cross_entropy_with_logits: logits of shape {:?} and targets of shape {:?} differ",
        x.as_slice(),
        y.as_slice()
    );
    (&logits.softplus() - &(targets * logits)).mean()
}

/// The predicted class of each row of `outputs`: the argmax of each row of
/// `[B, C]` logits or probabilities (`C >= 2`); for a single column `[B, 1]`
/// or `[B]`, the column is a binary logit and the class is 1 where it is
/// positive.
pub fn predicted_classes<T: Element>(outputs: &Tensor<T>) -> Vec<usize> {
    match outputs.shape() {
        [_] | [_, 1] => outputs
            .as_slice()
            .iter()
            .map(|&x| usize::from(x > T::zero()))
            .collect(),
        [_, _] => outputs.argmax_dim(1).into_vec(),
        shape => panic!("predicted_classes: outputs of shape {shape:?} must be [B, C] or [B]"),
    }
}

/// The fraction of rows whose predicted class (see [`predicted_classes`])
/// equals the label; `outputs` are logits, probabilities or single binary
/// logits. An empty batch has accuracy 0.
pub fn accuracy<T: Element>(outputs: &Tensor<T>, labels: &[usize]) -> f64 {
    let predicted = predicted_classes(outputs);
    assert_eq!(
        predicted.len(),
        labels.len(),
        "accuracy: {} rows of outputs (shape {:?}) but {} labels",
        predicted.len(),
        outputs.shape(),
        labels.len()
    );
    if labels.is_empty() {
        return 0.0;
    }
    let correct = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    correct as f64 / labels.len() as f64
}

/// Panics with a clear message unless `scores` is `[B, C]` with `B` labels,
/// each in `0..C`.
fn check_classification<T: Element>(op: &str, scores: &Var<T>, labels: &[usize]) {
    let shape = scores.shape();
    assert!(
        shape.len() == 2 && shape[0] == labels.len(),
        "{op}: scores of shape {:?} must be [batch, classes] with one row per label ({} labels)",
        shape.as_slice(),
        labels.len()
    );
    let classes = shape[1];
    if let Some((i, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
        panic!(
            "{op}: label {label} (at position {i}) is out of range for {classes} classes \
             (labels must be in 0..{classes})"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvature_autograd::{gradcheck, gradgradcheck, seeded_rng, CheckOptions, Tape};

    type LossFn<'a> = dyn Fn(&Tape<f64>, &[Var<f64>]) -> Var<f64> + 'a;

    fn logits() -> Tensor<f64> {
        Tensor::from_vec(vec![1.0, 2.0, 0.5, -1.0, 0.0, 3.0], &[2, 3])
    }

    #[test]
    fn cross_entropy_matches_a_hand_computed_value() {
        let tape = Tape::new();
        let loss = cross_entropy(&tape.constant(logits()), &[1, 2]);
        // row 0: -2 + ln(e^1 + e^2 + e^0.5); row 1: -3 + ln(e^-1 + 1 + e^3)
        let row0 = -2.0 + (1f64.exp() + 2f64.exp() + 0.5f64.exp()).ln();
        let row1 = -3.0 + ((-1f64).exp() + 1.0 + 3f64.exp()).ln();
        assert!((loss.item() - (row0 + row1) / 2.0).abs() < 1e-14);
    }

    #[test]
    fn nll_loss_picks_minus_the_labelled_log_probability() {
        let tape = Tape::new();
        let lp = tape.constant(Tensor::<f64>::from_vec(
            vec![-0.1, -2.0, -3.0, -0.5],
            &[2, 2],
        ));
        assert!((nll_loss(&lp, &[0, 1]).item() - 0.3).abs() < 1e-15);
    }

    #[test]
    fn mse_matches_a_hand_computed_value() {
        let tape = Tape::new();
        let p = tape.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]));
        let t = tape.constant(Tensor::from_vec(vec![0.0, 2.0, 5.0, 3.0], &[2, 2]));
        // (1 + 0 + 4 + 1) / 4
        assert_eq!(mse_loss(&p, &t).item(), 1.5);
    }

    #[test]
    fn bce_with_logits_matches_the_probability_form_and_stays_finite() {
        let tape = Tape::new();
        let x = tape.constant(Tensor::from_vec(vec![0.3, -1.2, 2.0], &[3]));
        let y = tape.constant(Tensor::from_vec(vec![1.0, 0.0, 0.25], &[3]));
        let s = |v: f64| 1.0 / (1.0 + (-v).exp());
        let expected = [(0.3, 1.0), (-1.2, 0.0), (2.0, 0.25)]
            .iter()
            .map(|&(x, y)| -(y * s(x).ln() + (1.0 - y) * (1.0 - s(x)).ln()))
            .sum::<f64>()
            / 3.0;
        let loss = binary_cross_entropy_with_logits(&x, &y).item();
        assert!((loss - expected).abs() < 1e-14, "{loss} vs {expected}");
        let big = tape.constant(Tensor::from_vec(vec![1000.0, -1000.0], &[2]));
        let wrong = tape.constant(Tensor::from_vec(vec![0.0, 1.0], &[2]));
        assert_eq!(
            binary_cross_entropy_with_logits(&big, &wrong).item(),
            1000.0
        );
    }

    #[test]
    fn losses_pass_gradcheck_and_gradgradcheck() {
        let options = CheckOptions::default();
        let labels = [1, 2, 0, 2];
        let x = Tensor::randn(&[4, 3], 0.0, 1.5, &mut seeded_rng(0));
        let y = Tensor::randn(&[4, 3], 0.0, 1.0, &mut seeded_rng(1));
        let probs = Tensor::rand_uniform(&[4, 3], 0.0, 1.0, &mut seeded_rng(2));
        let ce = |_: &Tape<f64>, p: &[Var<f64>]| cross_entropy(&p[0], &labels);
        let nll = |_: &Tape<f64>, p: &[Var<f64>]| nll_loss(&p[0].log_softmax(1), &labels);
        let mse = |_: &Tape<f64>, p: &[Var<f64>]| mse_loss(&p[0], &p[1]);
        let bce = |_: &Tape<f64>, p: &[Var<f64>]| binary_cross_entropy_with_logits(&p[0], &p[1]);
        let cases: [(&str, &LossFn<'_>, Vec<Tensor<f64>>); 4] = [
            ("cross_entropy", &ce, vec![x.clone()]),
            ("nll_loss", &nll, vec![x.clone()]),
            ("mse_loss", &mse, vec![x.clone(), y]),
            ("bce_with_logits", &bce, vec![x.clone(), probs]),
        ];
        for (name, f, inputs) in cases {
            let report = gradcheck(f, &inputs, &options);
            assert!(report.passed, "{name}: {report}");
            let report = gradgradcheck(f, &inputs, &options);
            assert!(report.passed, "{name}: {report}");
        }
    }

    #[test]
    fn cross_entropy_at_extreme_logits_is_finite_and_checks() {
        let x = Tensor::from_vec(vec![1000.0, -1000.0, 0.0, -1000.0, 1000.0, 999.0], &[2, 3]);
        let labels = [1, 2];
        let tape = Tape::new();
        let v = tape.var(&x);
        let loss = cross_entropy(&v, &labels);
        assert!((loss.item() - (2001.0 + (1.0 + (-1f64).exp()).ln()) / 2.0).abs() < 1e-9);
        let g = tape.grad_graph(&loss, [&v]);
        assert!(g[0].value().all_finite());
        let h = tape.grad(&g[0].sum(), [&v]);
        assert!(h[0].all_finite());
        let f = |_: &Tape<f64>, p: &[Var<f64>]| cross_entropy(&p[0], &labels);
        let options = CheckOptions::default();
        let report = gradcheck(f, [&x], &options);
        assert!(report.passed, "{report}");
        let report = gradgradcheck(f, [&x], &options);
        assert!(report.passed, "{report}");
    }

    #[test]
    #[should_panic(expected = "label 3 (at position 1) is out of range for 3 classes")]
    fn out_of_range_label_names_the_label_and_the_class_count() {
        let tape = Tape::new();
        cross_entropy(&tape.constant(logits()), &[0, 3]);
    }

    #[test]
    #[should_panic(expected = "prediction of shape [4, 1] and target of shape [4] differ")]
    fn mse_refuses_to_broadcast() {
        let tape = Tape::new();
        mse_loss(
            &tape.constant(Tensor::<f64>::zeros(&[4, 1])),
            &tape.constant(Tensor::zeros(&[4])),
        );
    }

    #[test]
    fn accuracy_takes_logits_or_single_binary_logits() {
        assert_eq!(accuracy(&logits(), &[1, 2]), 1.0);
        assert_eq!(accuracy(&logits(), &[1, 0]), 0.5);
        let binary = Tensor::from_vec(vec![0.3_f32, -2.0, 0.1, -0.1], &[4, 1]);
        assert_eq!(predicted_classes(&binary), vec![1, 0, 1, 0]);
        assert_eq!(accuracy(&binary, &[1, 0, 0, 0]), 0.75);
        assert_eq!(accuracy(&Tensor::<f64>::zeros(&[0, 3]), &[]), 0.0);
    }
}
