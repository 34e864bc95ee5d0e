//! Batch normalisation: values against the definition, first and second
//! derivatives (through the batch statistics) against central differences,
//! PyTorch's running-statistics update, a conv net with batch norm against
//! PyTorch's autograd, and errors that name the shapes.

mod common;

use common::{assert_first_and_second_order as check, distinct, positive, randn};
use curvature_autograd::{functional, ConvOptions, Tape, Tensor, Var};

/// Batch norm by its definition, one channel at a time, in plain f64.
fn by_definition(x: &Tensor<f64>, mean_var: Option<(&[f64], &[f64])>, eps: f64) -> Vec<f64> {
    let s = x.shape().to_vec();
    let (n, c) = (s[0], s[1]);
    let inner: usize = s[2..].iter().product();
    let at = |b: usize, ch: usize, i: usize| x.to_vec()[(b * c + ch) * inner + i];
    let mut out = vec![0.0; x.numel()];
    for ch in 0..c {
        let values: Vec<f64> = (0..n)
            .flat_map(|b| (0..inner).map(move |i| (b, i)))
            .map(|(b, i)| at(b, ch, i))
            .collect();
        let (mean, var) = match mean_var {
            Some((m, v)) => (m[ch], v[ch]),
            None => {
                let mean = values.iter().sum::<f64>() / values.len() as f64;
                let var =
                    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
                (mean, var)
            }
        };
        for b in 0..n {
            for i in 0..inner {
                out[(b * c + ch) * inner + i] = (at(b, ch, i) - mean) / (var + eps).sqrt();
            }
        }
    }
    out
}

#[test]
fn training_and_evaluation_match_the_definition() {
    let x = randn(&[3, 2, 2, 3], 1);
    let tape = Tape::new();
    let xv = tape.constant(&x);
    let (y, stats) = xv.batch_norm_training(None, None, 1e-5);
    let expected = by_definition(&x, None, 1e-5);
    assert!(common::max_abs_diff(&y.value().to_vec(), &expected) < 1e-12);
    assert_eq!(stats.count, 3 * 2 * 3);
    let (mean, var) = (stats.mean.to_vec(), stats.var.to_vec());
    let expected = by_definition(&x, Some((&mean, &var)), 1e-5);
    assert!(common::max_abs_diff(&y.value().to_vec(), &expected) < 1e-12);

    let (rm, rv) = (randn(&[2], 2), positive(&[2], 3));
    let y = xv.batch_norm_eval(&rm, &rv, None, None, 1e-3);
    let expected = by_definition(&x, Some((&rm.to_vec(), &rv.to_vec())), 1e-3);
    assert!(common::max_abs_diff(&y.value().to_vec(), &expected) < 1e-12);

    // weight and bias scale and shift each channel
    let (w, b) = (randn(&[2], 4), randn(&[2], 5));
    let affine = xv.batch_norm_eval(
        &rm,
        &rv,
        Some(&tape.constant(&w)),
        Some(&tape.constant(&b)),
        1e-3,
    );
    let inner = 6;
    for (k, (a, e)) in affine.value().to_vec().iter().zip(&expected).enumerate() {
        let ch = (k / inner) % 2;
        assert!((a - (e * w.to_vec()[ch] + b.to_vec()[ch])).abs() < 1e-12);
    }
}

#[test]
fn the_running_update_is_pytorchs_with_the_unbiased_variance() {
    let x = randn(&[4, 3, 2, 2], 6);
    let tape = Tape::new();
    let (_, stats) = tape.constant(&x).batch_norm_training(None, None, 1e-5);
    let (rm, rv) = (randn(&[3], 7), positive(&[3], 8));
    let (m, v) = stats.updated_running(&rm, &rv, 0.1);
    let n = 16.0;
    for ch in 0..3 {
        let expected_m = 0.9 * rm.to_vec()[ch] + 0.1 * stats.mean.to_vec()[ch];
        let expected_v = 0.9 * rv.to_vec()[ch] + 0.1 * stats.var.to_vec()[ch] * n / (n - 1.0);
        assert!((m.to_vec()[ch] - expected_m).abs() < 1e-14);
        assert!((v.to_vec()[ch] - expected_v).abs() < 1e-14);
    }
}

#[test]
fn training_mode_is_correct_to_second_order_through_the_batch_statistics() {
    let x = distinct(&[3, 2, 2, 2], 9);
    let (w, b) = (randn(&[2], 10), randn(&[2], 11));
    // a non-linear function of the output, so second derivatives are not
    // those of a quadratic
    check(
        "batch_norm_training",
        |_, p: &[Var<f64>]| {
            let (y, _) = p[0].batch_norm_training(Some(&p[1]), Some(&p[2]), 1e-5);
            y.tanh()
        },
        [&x, &w, &b],
    );
    check(
        "batch_norm_training without affine, 2-D input",
        |_, p: &[Var<f64>]| p[0].batch_norm_training(None, None, 0.1).0.sin(),
        [randn(&[4, 3], 12)],
    );
}

#[test]
fn evaluation_mode_is_correct_to_second_order() {
    let x = randn(&[2, 3, 2, 2], 13);
    let (rm, rv) = (randn(&[3], 14), positive(&[3], 15));
    let (w, b) = (randn(&[3], 16), randn(&[3], 17));
    check(
        "batch_norm_eval",
        |_, p: &[Var<f64>]| {
            p[0].batch_norm_eval(&rm, &rv, Some(&p[1]), Some(&p[2]), 1e-5)
                .tanh()
        },
        [&x, &w, &b],
    );
}

#[test]
#[should_panic(
    expected = "batch_norm: the weight has shape [3], but the input [2, 4, 3, 3] has 4 channels (expected [4])"
)]
fn a_weight_of_the_wrong_channel_count_is_named() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::zeros(&[2, 4, 3, 3]));
    let _ = x.batch_norm_training(Some(&tape.var(Tensor::ones(&[3]))), None, 1e-5);
}

#[test]
#[should_panic(
    expected = "batch_norm: expected more than 1 value per channel when training, got input shape [1, 4, 1, 1]"
)]
fn a_single_value_per_channel_is_refused_in_training() {
    let tape = Tape::<f64>::new();
    let _ = tape
        .var(Tensor::zeros(&[1, 4, 1, 1]))
        .batch_norm_training(None, None, 1e-5);
}

#[test]
#[should_panic(
    expected = "batch_norm: the running variance has shape [2], but the input [2, 3] has 3 channels"
)]
fn running_statistics_of_the_wrong_shape_are_named() {
    let tape = Tape::<f64>::new();
    let _ = tape.var(Tensor::zeros(&[2, 3])).batch_norm_eval(
        &Tensor::zeros(&[3]),
        &Tensor::ones(&[2]),
        None,
        None,
        1e-5,
    );
}

/// `name -> values` from the PyTorch fixture
/// (`fixtures/batch_norm_reference.py`).
fn torch_reference() -> std::collections::HashMap<String, Vec<f64>> {
    let text = include_str!("fixtures/batch_norm_reference.txt");
    text.lines()
        .map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next().expect("a name").to_string();
            let n: usize = words.next().expect("a count").parse().expect("a count");
            let values: Vec<f64> = words.map(|w| w.parse().expect("a number")).collect();
            assert_eq!(values.len(), n, "{name}: {n} values announced");
            (name, values)
        })
        .collect()
}

fn closed_form(shape: &[usize], f: impl Fn(usize) -> f64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(f).collect(), shape)
}

const SHAPES: [&[usize]; 10] = [
    &[3, 1, 3, 3],
    &[3],
    &[3],
    &[3],
    &[4, 3, 2, 2],
    &[4],
    &[4],
    &[4],
    &[3, 4],
    &[3],
];
const NAMES: [&str; 10] = ["w1", "b1", "g1", "be1", "w2", "b2", "g2", "be2", "w3", "b3"];

/// The fixture's closed-form running statistics of a layer of `c` channels.
fn running(c: usize, k: f64) -> (Tensor<f64>, Tensor<f64>) {
    (
        closed_form(&[c], |i| 0.2 * (0.9 * i as f64 + k).sin()),
        closed_form(&[c], |i| 0.5 + 0.25 * (0.6 * i as f64 + k).cos().powi(2)),
    )
}

#[test]
fn a_conv_net_with_batch_norm_agrees_with_pytorch_in_both_modes() {
    let params: Vec<Tensor<f64>> = SHAPES
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let gain = if NAMES[k].starts_with('g') { 1.0 } else { 0.0 };
            closed_form(s, |i| 0.5 * (0.71 * i as f64 + k as f64).cos() + gain)
        })
        .collect();
    let v: Vec<Tensor<f64>> = SHAPES
        .iter()
        .enumerate()
        .map(|(k, s)| closed_form(s, |i| (1.3 * i as f64 + 0.5 * k as f64).sin()))
        .collect();
    let stats = [running(3, 0.0), running(4, 1.0)];
    let reference = torch_reference();
    let close = |what: &str, ours: &[f64], theirs: &[f64], scale: f64| {
        // relative to the tensor, or to the whole vector for the biases
        // before a batch norm, whose exact gradient is 0 (PyTorch's is
        // rounding noise of 1e-16)
        let diff: Vec<f64> = ours.iter().zip(theirs).map(|(a, b)| a - b).collect();
        let err = common::norm(&diff) / common::norm(theirs).max(scale);
        eprintln!("{what}: relative error {err:.1e} against PyTorch");
        assert!(
            err < 1e-10,
            "{what}: relative error {err:e} against PyTorch"
        );
    };
    for mode in ["train", "eval"] {
        let training = mode == "train";
        let net = |tape: &Tape<f64>, p: &[Var<f64>]| {
            let x = tape.constant(closed_form(&[4, 1, 6, 6], |i| {
                (0.37 * i as f64 + 0.1).sin()
            }));
            let norm = |h: Var<f64>, layer: usize, g: &Var<f64>, b: &Var<f64>| {
                if training {
                    h.batch_norm_training(Some(g), Some(b), 1e-5).0
                } else {
                    let (m, v) = &stats[layer];
                    h.batch_norm_eval(m, v, Some(g), Some(b), 1e-5)
                }
            };
            let pad1 = ConvOptions {
                padding: (1, 1),
                ..Default::default()
            };
            let h = x.conv2d(&p[0], Some(&p[1]), pad1);
            let h = norm(h, 0, &p[2], &p[3])
                .tanh()
                .max_pool2d((2, 2), (2, 2), (0, 0));
            let h = h.conv2d(&p[4], Some(&p[5]), ConvOptions::default());
            let h = norm(h, 1, &p[6], &p[7]).tanh();
            let h = h.adaptive_avg_pool2d_1x1().flatten_from(1);
            let logits = &h.matmul_nt(&p[8]) + &p[9];
            let labels = Tensor::from_vec(vec![2, 0, 1, 2], &[4, 1]);
            -logits.log_softmax(1).gather(1, &labels).mean()
        };
        let (value, grads) = functional::value_and_grad(net, &params);
        close(
            &format!("{mode} loss"),
            &[value.item()],
            &reference[&format!("{mode}_loss")],
            0.0,
        );
        let hv = functional::hvp(net, &params, &v);
        let grad_scale = common::norm(&common::flat(&grads));
        let hvp_scale = common::norm(&common::flat(&hv));
        for (k, name) in NAMES.iter().enumerate() {
            close(
                &format!("{mode} grad {name}"),
                &grads[k].to_vec(),
                &reference[&format!("{mode}_grad_{name}")],
                grad_scale,
            );
            close(
                &format!("{mode} hvp {name}"),
                &hv[k].to_vec(),
                &reference[&format!("{mode}_hvp_{name}")],
                hvp_scale,
            );
        }
    }

    // the running statistics after the one training-mode forward
    let x = closed_form(&[4, 1, 6, 6], |i| (0.37 * i as f64 + 0.1).sin());
    let tape = Tape::new();
    let p: Vec<Var<f64>> = params.iter().map(|t| tape.constant(t)).collect();
    let pad1 = ConvOptions {
        padding: (1, 1),
        ..Default::default()
    };
    let h = tape.constant(&x).conv2d(&p[0], Some(&p[1]), pad1);
    let (h, first) = h.batch_norm_training(Some(&p[2]), Some(&p[3]), 1e-5);
    let h = h.tanh().max_pool2d((2, 2), (2, 2), (0, 0));
    let h = h.conv2d(&p[4], Some(&p[5]), ConvOptions::default());
    let (_, second) = h.batch_norm_training(Some(&p[6]), Some(&p[7]), 1e-5);
    for (i, batch) in [first, second].iter().enumerate() {
        let (m, v) = batch.updated_running(&stats[i].0, &stats[i].1, 0.1);
        close(
            &format!("running mean {}", i + 1),
            &m.to_vec(),
            &reference[&format!("running_mean{}", i + 1)],
            0.0,
        );
        close(
            &format!("running var {}", i + 1),
            &v.to_vec(),
            &reference[&format!("running_var{}", i + 1)],
            0.0,
        );
    }
}
