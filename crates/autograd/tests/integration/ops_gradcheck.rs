//! Every op's first and second derivatives against central differences in
//! f64 (`gradcheck` and `gradgradcheck`, PyTorch's tolerances), at seeded
//! random inputs kept away from kinks and domain edges.

use crate::common;

use common::{assert_first_and_second_order as check, away_from_zero, distinct, positive, randn};
use curvature_autograd::{gradcheck, gradgradcheck, CheckOptions, Tape, Tensor, Var};

type F = fn(&Tape<f64>, &[Var<f64>]) -> Var<f64>;

/// Shape pairs that broadcast: equal, trailing, both-sided, scalar.
const BROADCAST_PAIRS: [(&[usize], &[usize]); 6] = [
    (&[2, 3], &[2, 3]),
    (&[2, 3], &[3]),
    (&[3], &[2, 3]),
    (&[2, 1], &[1, 3]),
    (&[], &[2, 3]),
    (&[2, 3], &[]),
];

fn check_binary(name: &str, f: F, rhs: fn(&[usize], u64) -> Tensor<f64>) {
    for (k, (sa, sb)) in BROADCAST_PAIRS.iter().enumerate() {
        let a = randn(sa, 10 + k as u64);
        let b = rhs(sb, 20 + k as u64);
        check(&format!("{name} {sa:?} with {sb:?}"), f, &[a, b]);
    }
}

#[test]
fn add_is_correct_to_second_order_with_and_without_broadcasting() {
    check_binary("add", |_, p| &p[0] + &p[1], randn);
}

#[test]
fn sub_is_correct_to_second_order_with_and_without_broadcasting() {
    check_binary("sub", |_, p| &p[0] - &p[1], randn);
}

#[test]
fn mul_is_correct_to_second_order_with_and_without_broadcasting() {
    check_binary("mul", |_, p| &p[0] * &p[1], randn);
}

#[test]
fn div_is_correct_to_second_order_with_and_without_broadcasting() {
    check_binary("div", |_, p| &p[0] / &p[1], away_from_zero);
}

#[test]
fn broadcast_operands_are_correct_inside_a_nonlinear_expression() {
    // second derivatives that cross the broadcast: d2/da db of tanh(a b) / (1 + b^2)
    check_binary(
        "tanh(a * b) / (1 + b^2)",
        |_, p| &(&p[0] * &p[1]).tanh() / &(p[1].square() + 1.0),
        randn,
    );
}

#[test]
fn scalar_forms_are_correct_on_both_sides() {
    let x = away_from_zero(&[2, 3], 1);
    let cases: [(&str, F); 8] = [
        ("x + 2.5", |_, p| &p[0] + 2.5),
        ("x - 2.5", |_, p| &p[0] - 2.5),
        ("x * 2.5", |_, p| &p[0] * 2.5),
        ("x / 2.5", |_, p| &p[0] / 2.5),
        ("2.5 + x", |_, p| 2.5 + &p[0]),
        ("2.5 - x", |_, p| 2.5 - &p[0]),
        ("2.5 * x", |_, p| 2.5 * &p[0]),
        ("2.5 / x", |_, p| 2.5 / &p[0]),
    ];
    for (name, f) in cases {
        check(name, f, [&x]);
        // and inside a curve, so the second derivative is not zero
        check(&format!("sin({name})"), move |t, p| f(t, p).sin(), [&x]);
    }
}

#[test]
fn owned_operator_forms_are_correct_to_second_order() {
    let inputs = [randn(&[3], 1), away_from_zero(&[3], 2)];
    let f: F = |_, p| {
        let (a, b) = (p[0].clone(), p[1].clone());
        (a.clone() + b.clone()) * (a.clone() - b.clone()) / b.clone()
            + (a * 2.0 - 1.0) / 4.0
            + (-p[1].clone())
    };
    check("owned operators", f, &inputs);
}

#[test]
fn elementwise_functions_are_correct_to_second_order() {
    let shape = [2, 3];
    let cases: [(&str, F, Tensor<f64>); 19] = [
        ("neg", |_, p| p[0].neg(), randn(&shape, 1)),
        ("exp", |_, p| p[0].exp(), randn(&shape, 2)),
        ("log", |_, p| p[0].log(), positive(&shape, 3)),
        ("sqrt", |_, p| p[0].sqrt(), positive(&shape, 4)),
        ("powf 2.5", |_, p| p[0].powf(2.5), positive(&shape, 5)),
        ("powf -1.5", |_, p| p[0].powf(-1.5), positive(&shape, 6)),
        ("powf 3 (any sign)", |_, p| p[0].powf(3.0), randn(&shape, 7)),
        ("square", |_, p| p[0].square(), randn(&shape, 8)),
        ("abs", |_, p| p[0].abs(), away_from_zero(&shape, 9)),
        ("tanh", |_, p| p[0].tanh(), randn(&shape, 10)),
        ("sigmoid", |_, p| p[0].sigmoid(), randn(&shape, 11)),
        ("relu", |_, p| p[0].relu(), away_from_zero(&shape, 12)),
        ("softplus", |_, p| p[0].softplus(), randn(&shape, 13)),
        ("gelu", |_, p| p[0].gelu(), randn(&shape, 14)),
        ("normal_cdf", |_, p| p[0].normal_cdf(), randn(&shape, 15)),
        ("sin", |_, p| p[0].sin(), randn(&shape, 16)),
        ("cos", |_, p| p[0].cos(), randn(&shape, 17)),
        ("recip", |_, p| p[0].recip(), away_from_zero(&shape, 18)),
        (
            "tanh(square)",
            |_, p| p[0].square().tanh(),
            randn(&shape, 19),
        ),
    ];
    for (name, f, x) in cases {
        check(name, f, &[x]);
    }
}

#[test]
fn piecewise_functions_are_correct_on_both_sides_of_their_kink() {
    // every input either clearly negative or clearly positive, both present
    let x = Tensor::from_vec(vec![-1.3, -0.4, 0.35, 0.9, -2.0, 1.7], &[2, 3]);
    let with_curve: [(&str, F); 2] = [
        ("abs * x^2", |_, p| &p[0].abs() * &p[0].square()),
        ("relu(x) * exp(x)", |_, p| &p[0].relu() * &p[0].exp()),
    ];
    for (name, f) in with_curve {
        check(name, f, [&x]);
    }
}

#[test]
fn softplus_and_sigmoid_are_correct_far_out_in_the_tails() {
    let x = Tensor::from_vec(vec![-30.0, -12.0, -3.0, 3.0, 12.0, 30.0], &[6]);
    check("softplus tails", |_, p| p[0].softplus(), [&x]);
    check("sigmoid tails", |_, p| p[0].sigmoid(), [&x]);
}

#[test]
fn matmul_is_correct_in_every_transposed_form() {
    let cases: [(&str, F, [usize; 2], [usize; 2]); 4] = [
        ("matmul", |_, p| p[0].matmul(&p[1]), [3, 4], [4, 2]),
        ("matmul_nt", |_, p| p[0].matmul_nt(&p[1]), [3, 4], [2, 4]),
        ("matmul_tn", |_, p| p[0].matmul_tn(&p[1]), [4, 3], [4, 2]),
        (
            "matmul_transposed(true, true)",
            |_, p| p[0].matmul_transposed(&p[1], true, true),
            [4, 3],
            [2, 4],
        ),
    ];
    for (k, (name, f, sa, sb)) in cases.into_iter().enumerate() {
        let inputs = [randn(&sa, 30 + k as u64), randn(&sb, 40 + k as u64)];
        check(name, f, &inputs);
        // the product of one input with itself reaches the mixed second derivatives
        check(
            &format!("tanh({name})"),
            move |t, q| f(t, q).tanh(),
            &inputs,
        );
    }
}

#[test]
fn batched_matmul_is_correct_in_every_transposed_form() {
    let cases: [(bool, bool, [usize; 3], [usize; 3]); 4] = [
        (false, false, [2, 3, 4], [2, 4, 2]),
        (false, true, [2, 3, 4], [2, 2, 4]),
        (true, false, [2, 4, 3], [2, 4, 2]),
        (true, true, [2, 4, 3], [2, 2, 4]),
    ];
    for (k, (ta, tb, sa, sb)) in cases.into_iter().enumerate() {
        let inputs = [randn(&sa, 50 + k as u64), randn(&sb, 60 + k as u64)];
        check(
            &format!("batched matmul_transposed({ta}, {tb})"),
            move |_, p| p[0].matmul_transposed(&p[1], ta, tb).sin(),
            &inputs,
        );
    }
}

#[test]
fn transposes_are_correct() {
    let m = randn(&[2, 3], 1);
    check("t", |_, p| p[0].t(), [&m]);
    check("t then square", |_, p| p[0].t().square(), &[m]);
    let x = randn(&[2, 3, 4], 2);
    for (d0, d1) in [(0, 1), (0, 2), (1, 2), (2, 0), (1, 1)] {
        check(
            &format!("transpose({d0}, {d1})"),
            move |_, p| p[0].transpose(d0, d1).tanh(),
            [&x],
        );
    }
}

#[test]
fn reshapes_flatten_unsqueeze_and_squeeze_are_correct() {
    let x = randn(&[2, 3], 1);
    let cases: [(&str, F); 7] = [
        ("reshape [3, 2]", |_, p| p[0].reshape(&[3, 2]).tanh()),
        ("reshape [1, 6, 1]", |_, p| p[0].reshape(&[1, 6, 1]).tanh()),
        ("flatten", |_, p| p[0].flatten().tanh()),
        ("unsqueeze 0", |_, p| p[0].unsqueeze(0).tanh()),
        ("unsqueeze 1", |_, p| p[0].unsqueeze(1).tanh()),
        ("unsqueeze 2", |_, p| p[0].unsqueeze(2).tanh()),
        ("unsqueeze then squeeze", |_, p| {
            p[0].unsqueeze(1).squeeze(1).tanh()
        }),
    ];
    for (name, f) in cases {
        check(name, f, [&x]);
    }
    let y = randn(&[2, 1, 3], 2);
    check("squeeze 1", |_, p| p[0].squeeze(1).square(), &[y]);
}

#[test]
fn broadcast_to_and_sum_to_are_correct() {
    let cases: [(&[usize], &[usize]); 5] = [
        (&[3], &[2, 3]),
        (&[2, 1], &[2, 3]),
        (&[], &[2, 2]),
        (&[1, 3], &[2, 2, 3]),
        (&[2, 3], &[2, 3]),
    ];
    for (k, (small, big)) in cases.into_iter().enumerate() {
        let x = randn(small, 70 + k as u64);
        check(
            &format!("broadcast_to {small:?} -> {big:?}"),
            move |_, p| p[0].broadcast_to(big).sin(),
            &[x],
        );
        let y = randn(big, 80 + k as u64);
        check(
            &format!("sum_to {big:?} -> {small:?}"),
            move |_, p| p[0].sum_to(small).sin(),
            &[y],
        );
    }
}

#[test]
fn full_sum_and_mean_are_correct() {
    let x = randn(&[2, 3], 1);
    check("sum", |_, p| p[0].sum(), [&x]);
    check("mean", |_, p| p[0].mean(), [&x]);
    check("sum of squares", |_, p| p[0].square().sum().sin(), [&x]);
    check("mean of exp", |_, p| p[0].exp().mean().square(), &[x]);
}

#[test]
fn sum_dim_and_mean_dim_are_correct_along_each_dim_with_and_without_keepdim() {
    let x = randn(&[2, 3, 4], 1);
    for dim in 0..3 {
        for keepdim in [true, false] {
            check(
                &format!("sum_dim({dim}, {keepdim})"),
                move |_, p| p[0].sum_dim(dim, keepdim).tanh(),
                [&x],
            );
            check(
                &format!("mean_dim({dim}, {keepdim})"),
                move |_, p| p[0].mean_dim(dim, keepdim).tanh(),
                [&x],
            );
        }
    }
}

#[test]
fn max_dim_is_correct_along_each_dim_without_ties() {
    let x = distinct(&[2, 3, 4], 1);
    for dim in 0..3 {
        for keepdim in [true, false] {
            check(
                &format!("max_dim({dim}, {keepdim})"),
                move |_, p| p[0].max_dim(dim, keepdim).square(),
                [&x],
            );
        }
    }
}

#[test]
fn softmax_log_softmax_and_logsumexp_are_correct_along_each_dim() {
    let x = randn(&[2, 3, 4], 1);
    for dim in 0..3 {
        check(
            &format!("softmax({dim})"),
            move |_, p| p[0].softmax(dim),
            [&x],
        );
        check(
            &format!("log_softmax({dim})"),
            move |_, p| p[0].log_softmax(dim),
            [&x],
        );
        for keepdim in [true, false] {
            check(
                &format!("logsumexp({dim}, {keepdim})"),
                move |_, p| p[0].logsumexp(dim, keepdim),
                [&x],
            );
        }
    }
}

#[test]
fn logsumexp_is_correct_on_large_logits() {
    // exp(500) overflows: the stable form must still differentiate correctly
    let x = randn(&[2, 3], 1).map(|v| 500.0 + v);
    check(
        "logsumexp of large logits",
        |_, p| p[0].logsumexp(1, false),
        [&x],
    );
    check(
        "log_softmax of large logits",
        |_, p| p[0].log_softmax(1),
        &[x],
    );
}

#[test]
fn gather_and_scatter_add_are_correct_with_repeated_indices() {
    let x = randn(&[3, 4], 1);
    let cols = Tensor::from_vec(vec![3, 0, 1, 1, 2, 2], &[3, 2]);
    check(
        "gather dim 1",
        move |_, p| p[0].gather(1, &cols).sin(),
        [&x],
    );
    let rows = Tensor::from_vec(vec![2, 0, 1, 2, 0, 0, 1, 1], &[2, 4]);
    check(
        "gather dim 0",
        move |_, p| p[0].gather(0, &rows).sin(),
        [&x],
    );
    let src = randn(&[3, 2], 2);
    let index = Tensor::from_vec(vec![1, 1, 0, 3, 2, 0], &[3, 2]);
    check(
        "scatter_add dim 1",
        move |_, p| p[0].scatter_add(1, &index, &[3, 4]).sin(),
        [&src],
    );
    let src0 = randn(&[2, 3], 3);
    let index0 = Tensor::from_vec(vec![0, 3, 3, 0, 1, 3], &[2, 3]);
    check(
        "scatter_add dim 0",
        move |_, p| p[0].scatter_add(0, &index0, &[4, 3]).sin(),
        &[src0],
    );
}

#[test]
fn concat_is_correct_along_each_dim() {
    let parts0 = [randn(&[2, 3], 1), randn(&[1, 3], 2), randn(&[3, 3], 3)];
    check(
        "concat dim 0",
        |_, p| Var::concat(&[&p[0], &p[1], &p[2]], 0).tanh(),
        &parts0,
    );
    let parts1 = [randn(&[2, 1], 4), randn(&[2, 3], 5)];
    check(
        "concat dim 1",
        |_, p| Var::concat(&[&p[0], &p[1]], 1).tanh(),
        &parts1,
    );
    // one part used twice, and mixed with a product of the parts
    check(
        "concat with a repeated part",
        |_, p| Var::concat(&[&p[0], &p[0], &(&p[0] * &p[1])], 1).sin(),
        &[randn(&[2, 3], 6), randn(&[2, 3], 7)],
    );
}

#[test]
fn narrow_is_correct_along_each_dim() {
    let x = randn(&[3, 4, 2], 1);
    let cases: [(usize, usize, usize); 5] = [(0, 1, 2), (1, 0, 2), (1, 2, 2), (2, 1, 1), (0, 0, 3)];
    for (dim, start, len) in cases {
        check(
            &format!("narrow({dim}, {start}, {len})"),
            move |_, p| p[0].narrow(dim, start, len).tanh(),
            [&x],
        );
    }
}

#[test]
fn gradcheck_rejects_a_wrong_first_derivative() {
    // value x^2, but the tape only sees one factor: derivative x, not 2x
    let f = |_: &Tape<f64>, p: &[Var<f64>]| &p[0] * &p[0].detach();
    let report = gradcheck(f, &[randn(&[3], 1)], &CheckOptions::default());
    assert!(
        !report.passed,
        "gradcheck accepted a wrong derivative: {report}"
    );
}

#[test]
fn gradgradcheck_rejects_a_derivative_whose_own_derivative_is_wrong() {
    // value x^2 and first derivative 2x, but the derivative's graph is cut:
    // its derivative reads 0 instead of 2
    let f = |_: &Tape<f64>, p: &[Var<f64>]| {
        let frozen = p[0].detach();
        &frozen.square() + &(&(&p[0] - &frozen) * &frozen).mul_scalar(2.0)
    };
    let x = [randn(&[3], 1)];
    let first = gradcheck(f, &x, &CheckOptions::default());
    assert!(first.passed, "the first derivative is right: {first}");
    let second = gradgradcheck(f, &x, &CheckOptions::default());
    assert!(
        !second.passed,
        "gradgradcheck accepted a wrong second derivative: {second}"
    );
}

#[test]
fn fused_tanh_and_sigmoid_rules_are_correct_to_second_order() {
    // tanh_backward(g, y) = g (1 - y^2), sigmoid_backward(g, s) = g s (1 - s),
    // as used inside the tanh and sigmoid rules; y and s inside (0, 1) and (-1, 1)
    let g = randn(&[2, 3], 1);
    let y = common::uniform(&[2, 3], -0.9, 0.9, 2);
    let s = common::uniform(&[2, 3], 0.1, 0.9, 3);
    check(
        "tanh_backward",
        |_, p| p[0].tanh_backward(&p[1]),
        &[g.clone(), y],
    );
    check(
        "sigmoid_backward",
        |_, p| p[0].sigmoid_backward(&p[1]),
        &[g.clone(), s],
    );
    // third order through tanh: the rule of the rule of the rule
    check(
        "gradient of tanh, differentiated",
        |tape, p| {
            let y = p[0].tanh();
            let g = tape.grad_graph(&y.square().sum(), [&p[0]]).remove(0);
            g.sin()
        },
        &[randn(&[4], 4)],
    );
}

#[test]
fn fused_rules_are_correct_with_broadcast_operands() {
    // a gradient [2, 3] against an output [3], and the other way round
    for (sg, sy) in [
        (&[2, 3][..], &[3][..]),
        (&[3][..], &[2, 3][..]),
        (&[2, 1][..], &[1, 3][..]),
    ] {
        let y = common::uniform(sy, -0.9, 0.9, 2);
        check(
            &format!("tanh_backward {sg:?} with {sy:?}"),
            |_, p| p[0].tanh_backward(&p[1]),
            &[randn(sg, 1), y],
        );
        let s = common::uniform(sy, 0.1, 0.9, 3);
        check(
            &format!("sigmoid_backward {sg:?} with {sy:?}"),
            |_, p| p[0].sigmoid_backward(&p[1]),
            &[randn(sg, 1), s],
        );
    }
}

#[test]
fn dropout_is_correct_to_second_order_with_its_mask_fixed_by_the_tape_seed() {
    // every evaluation runs on a fresh tape seeded alike, so the mask is the same
    check(
        "dropout(0.3) then tanh",
        |_, p: &[Var<f64>]| p[0].dropout(0.3).tanh(),
        [&randn(&[4, 5], 1)],
    );
}

#[test]
#[should_panic(expected = "dropout: the probability must be in [0, 1), got 1")]
fn dropout_refuses_a_probability_of_one() {
    let tape = Tape::<f64>::new();
    let _ = tape.var(Tensor::ones(&[2])).dropout(1.0);
}
