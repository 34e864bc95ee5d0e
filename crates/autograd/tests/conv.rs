//! Convolution and pooling: values against direct loops, first and second
//! derivatives against central differences, errors that name the shapes.

mod common;

use common::{assert_first_and_second_order as check, distinct, randn};
use curvature_autograd::{ConvOptions, Tape, Tensor, Var};

/// The convolution by its definition, one output element at a time.
fn direct_conv2d(
    x: &Tensor<f64>,
    w: &Tensor<f64>,
    b: Option<&Tensor<f64>>,
    o: ConvOptions,
) -> Tensor<f64> {
    let (xs, ws) = (x.shape(), w.shape());
    let (n, h, wd) = (xs[0], xs[2], xs[3]);
    let (oc, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let og = oc / o.groups;
    let oh = (h + 2 * o.padding.0 - o.dilation.0 * (kh - 1) - 1) / o.stride.0 + 1;
    let ow = (wd + 2 * o.padding.1 - o.dilation.1 * (kw - 1) - 1) / o.stride.1 + 1;
    let mut out = Vec::new();
    for bi in 0..n {
        for oci in 0..oc {
            let group = oci / og;
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = b.map_or(0.0, |b| b.get(&[oci]));
                    for ci in 0..cg {
                        for ki in 0..kh {
                            for kj in 0..kw {
                                let r = (i * o.stride.0 + ki * o.dilation.0) as isize
                                    - o.padding.0 as isize;
                                let q = (j * o.stride.1 + kj * o.dilation.1) as isize
                                    - o.padding.1 as isize;
                                if r >= 0 && q >= 0 && (r as usize) < h && (q as usize) < wd {
                                    let xin = x.get(&[bi, group * cg + ci, r as usize, q as usize]);
                                    acc += xin * w.get(&[oci, ci, ki, kj]);
                                }
                            }
                        }
                    }
                    out.push(acc);
                }
            }
        }
    }
    Tensor::from_vec(out, &[n, oc, oh, ow])
}

const OPTIONS: [ConvOptions; 4] = [
    ConvOptions {
        stride: (1, 1),
        padding: (0, 0),
        dilation: (1, 1),
        groups: 1,
    },
    ConvOptions {
        stride: (2, 1),
        padding: (1, 2),
        dilation: (1, 1),
        groups: 1,
    },
    ConvOptions {
        stride: (1, 2),
        padding: (2, 1),
        dilation: (2, 1),
        groups: 1,
    },
    ConvOptions {
        stride: (1, 1),
        padding: (1, 1),
        dilation: (1, 1),
        groups: 2,
    },
];

#[test]
fn conv2d_matches_the_direct_definition() {
    for (k, options) in OPTIONS.into_iter().enumerate() {
        let x = randn(&[2, 4, 6, 5], 10 + k as u64);
        let w = randn(&[6, 4 / options.groups, 3, 2], 20 + k as u64);
        let b = randn(&[6], 30 + k as u64);
        let tape = Tape::new();
        let (xv, wv, bv) = (tape.var(&x), tape.var(&w), tape.var(&b));
        let ours = xv.conv2d(&wv, Some(&bv), options).value();
        let expected = direct_conv2d(&x, &w, Some(&b), options);
        assert!(
            ours.allclose(&expected, 1e-12, 1e-12),
            "{options:?}: {ours:?} vs {expected:?}"
        );
        let no_bias = xv.conv2d(&wv, None, options).value();
        assert!(no_bias.allclose(&direct_conv2d(&x, &w, None, options), 1e-12, 1e-12));
    }
}

#[test]
fn conv2d_is_correct_to_second_order_in_input_weight_and_bias() {
    for (k, options) in OPTIONS.into_iter().enumerate() {
        let inputs = [
            randn(&[2, 2, 4, 4], 40 + k as u64),
            randn(&[2, 2 / options.groups, 2, 3], 50 + k as u64),
            randn(&[2], 60 + k as u64),
        ];
        check(
            &format!("tanh(conv2d) {options:?}"),
            move |_, p: &[Var<f64>]| p[0].conv2d(&p[1], Some(&p[2]), options).tanh(),
            &inputs,
        );
    }
}

#[test]
fn pooling_matches_direct_loops() {
    let x = randn(&[2, 3, 5, 4], 1);
    let tape = Tape::new();
    let xv = tape.var(&x);
    let max = xv.max_pool2d((2, 2), (2, 1), (1, 0)).value();
    let avg = xv.avg_pool2d((2, 2), (2, 1), (1, 0)).value();
    assert_eq!(max.shape(), &[2, 3, 3, 3]);
    for n in 0..2 {
        for c in 0..3 {
            for i in 0..3 {
                for j in 0..3 {
                    let mut best = f64::NEG_INFINITY;
                    let mut sum = 0.0;
                    for ki in 0..2 {
                        for kj in 0..2 {
                            let r = (i * 2 + ki) as isize - 1;
                            let q = j + kj;
                            if r >= 0 && (r as usize) < 5 && q < 4 {
                                let v = x.get(&[n, c, r as usize, q]);
                                best = best.max(v);
                                sum += v;
                            }
                        }
                    }
                    assert_eq!(max.get(&[n, c, i, j]), best);
                    // zero padding counts in the mean, as PyTorch's default
                    assert!((avg.get(&[n, c, i, j]) - sum / 4.0).abs() < 1e-15);
                }
            }
        }
    }
    let global = xv.adaptive_avg_pool2d_1x1().value();
    assert_eq!(global.shape(), &[2, 3, 1, 1]);
    let mean: f64 = (0..5)
        .flat_map(|r| (0..4).map(move |q| (r, q)))
        .map(|(r, q)| x.get(&[1, 2, r, q]))
        .sum::<f64>()
        / 20.0;
    assert!((global.get(&[1, 2, 0, 0]) - mean).abs() < 1e-15);
}

#[test]
fn pooling_and_flatten_are_correct_to_second_order() {
    // distinct values: no ties inside a finite-difference step
    let x = distinct(&[1, 2, 4, 4], 3);
    check(
        "max_pool2d",
        |_, p: &[Var<f64>]| p[0].max_pool2d((2, 2), (2, 2), (0, 0)).square(),
        [&x],
    );
    check(
        "max_pool2d, overlapping and padded",
        |_, p: &[Var<f64>]| p[0].max_pool2d((3, 2), (1, 2), (1, 1)).sin(),
        [&x],
    );
    let y = randn(&[2, 2, 4, 3], 4);
    check(
        "avg_pool2d",
        |_, p: &[Var<f64>]| p[0].avg_pool2d((2, 2), (1, 1), (1, 0)).tanh(),
        [&y],
    );
    check(
        "avg_pool2d, windows that tile (a block sum), the last row left out",
        |_, p: &[Var<f64>]| p[0].avg_pool2d((3, 1), (3, 1), (0, 0)).sin(),
        [&randn(&[2, 2, 5, 3], 5)],
    );
    check(
        "adaptive_avg_pool2d",
        |_, p: &[Var<f64>]| p[0].adaptive_avg_pool2d_1x1().tanh(),
        [&y],
    );
    check(
        "flatten_from(1)",
        |_, p: &[Var<f64>]| p[0].flatten_from(1).tanh(),
        [&y],
    );
}

#[test]
fn a_small_conv_net_has_exact_hessian_vector_products() {
    use curvature_autograd::functional;
    // conv -> tanh -> avg pool -> flatten -> linear -> log-softmax loss
    let f = |tape: &Tape<f64>, p: &[Var<f64>]| {
        let x = tape.constant(randn(&[2, 1, 5, 5], 7));
        let options = ConvOptions {
            padding: (1, 1),
            ..Default::default()
        };
        let h = x.conv2d(&p[0], Some(&p[1]), options).tanh();
        let z = h.avg_pool2d((2, 2), (2, 2), (0, 0)).flatten_from(1);
        let logits = z.matmul_nt(&p[2]);
        -logits.log_softmax(1).narrow(1, 0, 1).sum()
    };
    let params = [randn(&[3, 1, 3, 3], 1), randn(&[3], 2), randn(&[4, 12], 3)];
    let v = [randn(&[3, 1, 3, 3], 4), randn(&[3], 5), randn(&[4, 12], 6)];
    let hv = functional::hvp(f, &params, &v);
    let fd = common::finite_difference_hvp(&f, &params, &v, 1e-5);
    let ours = common::flat(&hv);
    let err = common::relative_error(&ours, &fd);
    assert!(
        err < 1e-7,
        "HVP against finite differences of gradients: relative error {err:e}"
    );
}

#[test]
#[should_panic(
    expected = "conv2d: the weight [4, 3, 3, 3] expects 3 input channels per group, the input [1, 2, 5, 5] has 2"
)]
fn conv2d_names_a_channel_mismatch() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::zeros(&[1, 2, 5, 5]));
    let _ = x.conv2d(
        &tape.var(Tensor::zeros(&[4, 3, 3, 3])),
        None,
        ConvOptions::default(),
    );
}

#[test]
#[should_panic(expected = "conv2d: groups 2 must divide the input channels (3)")]
fn conv2d_names_groups_that_do_not_divide() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::zeros(&[1, 3, 5, 5]));
    let options = ConvOptions {
        groups: 2,
        ..Default::default()
    };
    let _ = x.conv2d(&tape.var(Tensor::zeros(&[4, 1, 3, 3])), None, options);
}

#[test]
#[should_panic(expected = "conv2d: input [1, 1, 2, 2], weight [1, 1, 3, 3]: the kernel (3, 3)")]
fn conv2d_names_a_kernel_larger_than_the_padded_input() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::zeros(&[1, 1, 2, 2]));
    let _ = x.conv2d(
        &tape.var(Tensor::zeros(&[1, 1, 3, 3])),
        None,
        ConvOptions::default(),
    );
}

#[test]
#[should_panic(expected = "must be positive")]
fn conv2d_refuses_a_zero_stride() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::zeros(&[1, 1, 4, 4]));
    let options = ConvOptions {
        stride: (0, 1),
        ..Default::default()
    };
    let _ = x.conv2d(&tape.var(Tensor::zeros(&[1, 1, 2, 2])), None, options);
}

#[test]
fn tiling_average_pooling_is_the_mean_of_each_window_in_f32() {
    // the block-sum path against the mean of each window's column, in
    // value and gradient, on an image whose last rows and column are left out
    let x: Tensor<f32> = Tensor::from_vec(
        randn(&[2, 3, 7, 5], 8)
            .to_vec()
            .iter()
            .map(|&v| v as f32)
            .collect(),
        &[2, 3, 7, 5],
    );
    let by_blocks = |x: &Var<f32>| x.avg_pool2d((2, 2), (2, 2), (0, 0));
    let by_columns = |x: &Var<f32>| {
        let window = curvature_autograd::Window2d::new((2, 2)).stride((2, 2));
        x.reshape(&[6, 1, 7, 5])
            .unfold2d(window, 0.0)
            .mean_dim(1, false)
            .reshape(&[2, 3, 3, 2])
    };
    let run = |f: &dyn Fn(&Var<f32>) -> Var<f32>| {
        let tape = Tape::new();
        let xv = tape.var(&x);
        let y = f(&xv);
        let loss = y.square().sum();
        let g = tape.grad(&loss, [&xv]).remove(0);
        (y.value(), g)
    };
    let (y1, g1) = run(&by_blocks);
    let (y2, g2) = run(&by_columns);
    assert_eq!(y1.shape(), &[2, 3, 3, 2]);
    for (a, b) in y1
        .to_vec()
        .iter()
        .zip(y2.to_vec())
        .chain(g1.to_vec().iter().zip(g2.to_vec()))
    {
        assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} vs {b}");
    }
    // the row and column past the last whole block get no gradient
    assert_eq!(g1.get(&[1, 2, 6, 3]), 0.0);
    assert_eq!(g1.get(&[0, 0, 2, 4]), 0.0);
}

#[test]
#[should_panic(expected = "avg_pool2d: input [1, 1, 1, 3]: the kernel (2, 2)")]
fn an_average_pool_that_leaves_no_output_is_named() {
    let tape = Tape::<f64>::new();
    let _ = tape
        .var(Tensor::zeros(&[1, 1, 1, 3]))
        .avg_pool2d((2, 2), (2, 2), (0, 0));
}

#[test]
#[should_panic(expected = "max_pool2d: input [1, 1, 1, 3]: the kernel (2, 2)")]
fn a_pool_that_leaves_no_output_is_named() {
    let tape = Tape::<f64>::new();
    let _ = tape
        .var(Tensor::zeros(&[1, 1, 1, 3]))
        .max_pool2d((2, 2), (2, 2), (0, 0));
}

/// `name -> values` from the PyTorch fixture (`fixtures/conv_reference.py`).
fn torch_reference() -> std::collections::HashMap<String, Vec<f64>> {
    let text = include_str!("fixtures/conv_reference.txt");
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

#[test]
fn a_conv_net_agrees_with_pytorch_in_value_gradient_and_hvp() {
    use curvature_autograd::functional;
    const SHAPES: [&[usize]; 6] = [&[3, 1, 3, 3], &[3], &[6, 1, 2, 2], &[6], &[3, 6], &[3]];
    const NAMES: [&str; 6] = ["w1", "b1", "w2", "b2", "w3", "b3"];
    let params: Vec<Tensor<f64>> = SHAPES
        .iter()
        .enumerate()
        .map(|(k, s)| closed_form(s, |i| 0.5 * (0.71 * i as f64 + k as f64).cos()))
        .collect();
    let v: Vec<Tensor<f64>> = SHAPES
        .iter()
        .enumerate()
        .map(|(k, s)| closed_form(s, |i| (1.3 * i as f64 + 0.5 * k as f64).sin()))
        .collect();
    let f = |tape: &Tape<f64>, p: &[Var<f64>]| {
        let x = tape.constant(closed_form(&[2, 1, 6, 6], |i| {
            (0.37 * i as f64 + 0.1).sin()
        }));
        let pad1 = ConvOptions {
            padding: (1, 1),
            ..Default::default()
        };
        let h = x.conv2d(&p[0], Some(&p[1]), pad1).tanh();
        let h = h.max_pool2d((2, 2), (2, 2), (0, 0));
        let grouped = ConvOptions { groups: 3, ..pad1 };
        let h = h.conv2d(&p[2], Some(&p[3]), grouped).tanh();
        let h = h.avg_pool2d((2, 2), (1, 1), (0, 0));
        let h = h.adaptive_avg_pool2d_1x1().flatten_from(1);
        let logits = &h.matmul_nt(&p[4]) + &p[5];
        let labels = Tensor::from_vec(vec![2, 0], &[2, 1]);
        -logits.log_softmax(1).gather(1, &labels).mean()
    };
    let reference = torch_reference();
    let close = |what: &str, ours: &[f64], theirs: &[f64]| {
        let err = common::relative_error(ours, theirs);
        eprintln!("{what}: relative error {err:.1e} against PyTorch");
        assert!(
            err < 1e-10,
            "{what}: relative error {err:e} against PyTorch"
        );
    };
    let (value, grads) = functional::value_and_grad(f, &params);
    close("loss", &[value.item()], &reference["loss"]);
    let hv = functional::hvp(f, &params, &v);
    for (k, name) in NAMES.iter().enumerate() {
        close(
            &format!("grad {name}"),
            &grads[k].to_vec(),
            &reference[&format!("grad_{name}")],
        );
        close(
            &format!("hvp {name}"),
            &hv[k].to_vec(),
            &reference[&format!("hvp_{name}")],
        );
    }
}
