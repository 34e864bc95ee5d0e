//! Every op the engine records has a first- and second-order check.
//!
//! `CASES` holds at least one case per op of `op_table()`, and one with
//! operands of different shapes for every op that broadcasts. Each case is
//! run under `gradcheck` and `gradgradcheck` in f64 (PyTorch's tolerances),
//! and must really record its op on the tape. Adding an op to a family
//! table without adding its case here fails `every_op_has_a_case`.

use crate::common;

use std::collections::BTreeSet;

use common::{assert_first_and_second_order as check, away_from_zero, positive, randn, uniform};
use curvature_autograd::{op_table, OpInfo, Tape, Tensor, Var, Window2d};

type F = fn(&Tape<f64>, &[Var<f64>]) -> Var<f64>;

/// One check: the op it is for, the function, and its inputs.
struct Case {
    op: &'static str,
    f: F,
    inputs: fn() -> Vec<Tensor<f64>>,
}

const fn case(op: &'static str, f: F, inputs: fn() -> Vec<Tensor<f64>>) -> Case {
    Case { op, f, inputs }
}

/// A full operand and a row that broadcasts against it, each way round,
/// and two operands that both expand.
fn broadcast_pairs(rhs: fn(&[usize], u64) -> Tensor<f64>) -> [Vec<Tensor<f64>>; 3] {
    [
        vec![randn(&[2, 3], 1), rhs(&[3], 2)],
        vec![randn(&[3], 3), rhs(&[2, 3], 4)],
        vec![randn(&[2, 1], 5), rhs(&[1, 3], 6)],
    ]
}

const CASES: &[Case] = &[
    // unary
    case("neg", |_, p| p[0].neg().sin(), || vec![randn(&[2, 3], 1)]),
    case(
        "add_scalar",
        |_, p| (&p[0] + 0.7).sin(),
        || vec![randn(&[2, 3], 2)],
    ),
    case(
        "mul_scalar",
        |_, p| (&p[0] * -1.3).sin(),
        || vec![randn(&[2, 3], 3)],
    ),
    case("exp", |_, p| p[0].exp(), || vec![randn(&[2, 3], 4)]),
    case("log", |_, p| p[0].log(), || vec![positive(&[2, 3], 5)]),
    case("sqrt", |_, p| p[0].sqrt(), || vec![positive(&[2, 3], 6)]),
    case("powf", |_, p| p[0].powf(2.5), || vec![positive(&[2, 3], 7)]),
    case(
        "powf",
        |_, p| p[0].powf(-1.5),
        || vec![positive(&[2, 3], 8)],
    ),
    case(
        "square",
        |_, p| p[0].square().sin(),
        || vec![randn(&[2, 3], 9)],
    ),
    case(
        "abs",
        |_, p| &p[0].abs() * &p[0].square(),
        || vec![away_from_zero(&[2, 3], 10)],
    ),
    case("tanh", |_, p| p[0].tanh(), || vec![randn(&[2, 3], 11)]),
    case(
        "sigmoid",
        |_, p| p[0].sigmoid(),
        || vec![randn(&[2, 3], 12)],
    ),
    case(
        "relu",
        |_, p| &p[0].relu() * &p[0].exp(),
        || vec![away_from_zero(&[2, 3], 13)],
    ),
    case(
        "softplus",
        |_, p| p[0].softplus(),
        || vec![randn(&[2, 3], 14)],
    ),
    case(
        "normal_cdf",
        |_, p| p[0].normal_cdf(),
        || vec![randn(&[2, 3], 15)],
    ),
    case("gelu", |_, p| p[0].gelu(), || vec![randn(&[2, 3], 20)]),
    case(
        "gelu_derivative",
        |_, p| p[0].gelu_derivative(),
        || vec![randn(&[2, 3], 21)],
    ),
    case("sin", |_, p| p[0].sin(), || vec![randn(&[2, 3], 16)]),
    case("cos", |_, p| p[0].cos(), || vec![randn(&[2, 3], 17)]),
    case("atan", |_, p| p[0].atan(), || vec![randn(&[2, 3], 18)]),
    case("log1p", |_, p| p[0].log1p(), || vec![positive(&[2, 3], 19)]),
    // binary, equal shapes and broadcasting
    case(
        "add",
        |_, p| (&p[0] + &p[1]).sin(),
        || vec![randn(&[2, 3], 1), randn(&[2, 3], 2)],
    ),
    case(
        "add",
        |_, p| (&p[0] + &p[1]).sin(),
        || broadcast_pairs(randn)[0].clone(),
    ),
    case(
        "add",
        |_, p| (&p[0] + &p[1]).sin(),
        || broadcast_pairs(randn)[2].clone(),
    ),
    case(
        "sub",
        |_, p| (&p[0] - &p[1]).sin(),
        || broadcast_pairs(randn)[0].clone(),
    ),
    case(
        "sub",
        |_, p| (&p[0] - &p[1]).sin(),
        || broadcast_pairs(randn)[1].clone(),
    ),
    case(
        "mul",
        |_, p| &p[0] * &p[1],
        || vec![randn(&[2, 3], 1), randn(&[2, 3], 2)],
    ),
    case(
        "mul",
        |_, p| &p[0] * &p[1],
        || broadcast_pairs(randn)[1].clone(),
    ),
    case(
        "mul",
        |_, p| &p[0] * &p[1],
        || broadcast_pairs(randn)[2].clone(),
    ),
    case(
        "div",
        |_, p| &p[0] / &p[1],
        || broadcast_pairs(away_from_zero)[0].clone(),
    ),
    case(
        "div",
        |_, p| &p[0] / &p[1],
        || broadcast_pairs(away_from_zero)[1].clone(),
    ),
    case(
        "div",
        |_, p| &p[0] / &p[1],
        || broadcast_pairs(away_from_zero)[2].clone(),
    ),
    case(
        "tanh_backward",
        |_, p| p[0].tanh_backward(&p[1]),
        || vec![randn(&[2, 3], 1), uniform(&[2, 3], -0.9, 0.9, 2)],
    ),
    case(
        "tanh_backward",
        |_, p| p[0].tanh_backward(&p[1]),
        || vec![randn(&[2, 1], 1), uniform(&[1, 3], -0.9, 0.9, 2)],
    ),
    case(
        "sigmoid_backward",
        |_, p| p[0].sigmoid_backward(&p[1]),
        || vec![randn(&[2, 3], 1), uniform(&[2, 3], 0.1, 0.9, 3)],
    ),
    case(
        "sigmoid_backward",
        |_, p| p[0].sigmoid_backward(&p[1]),
        || vec![randn(&[3], 1), uniform(&[2, 3], 0.1, 0.9, 3)],
    ),
    // layout
    case(
        "transpose",
        |_, p| p[0].transpose(0, 2).tanh(),
        || vec![randn(&[2, 3, 4], 1)],
    ),
    case(
        "permute",
        |_, p| p[0].permute(&[2, 0, 1]).tanh(),
        || vec![randn(&[2, 3, 4], 8)],
    ),
    case(
        "permute",
        |_, p| p[0].permute(&[1, 0]).matmul(&p[1]).sin(),
        || vec![randn(&[3, 2], 9), randn(&[3, 4], 10)],
    ),
    case(
        "reshape",
        |_, p| p[0].reshape(&[3, 2]).tanh(),
        || vec![randn(&[2, 3], 2)],
    ),
    case(
        "broadcast_to",
        |_, p| p[0].broadcast_to(&[2, 2, 3]).sin(),
        || vec![randn(&[1, 3], 3)],
    ),
    case(
        "sum_to",
        |_, p| p[0].sum_to(&[2, 1]).sin(),
        || vec![randn(&[2, 3], 4)],
    ),
    case(
        "concat",
        |_, p| Var::concat(&[&p[0], &p[1], &p[0]], 1).tanh(),
        || vec![randn(&[2, 1], 5), randn(&[2, 3], 6)],
    ),
    case(
        "narrow",
        |_, p| p[0].narrow(1, 1, 2).tanh(),
        || vec![randn(&[3, 4], 7)],
    ),
    // conv
    case(
        "unfold2d",
        |_, p| {
            let w = Window2d::new((2, 3))
                .stride((1, 2))
                .padding((1, 1))
                .dilation((2, 1));
            p[0].unfold2d(w, 0.0).tanh()
        },
        || vec![randn(&[2, 2, 4, 5], 1)],
    ),
    case(
        "fold2d",
        |_, p| {
            let w = Window2d::new((2, 2)).stride((2, 1)).padding((1, 0));
            p[0].fold2d((4, 3), w).sin()
        },
        || vec![randn(&[1, 8, 6], 2)],
    ),
    case(
        "im2col",
        |_, p| {
            let w = Window2d::new((2, 3))
                .stride((1, 2))
                .padding((1, 1))
                .dilation((2, 1));
            p[0].im2col(w).tanh()
        },
        || vec![randn(&[2, 2, 4, 5], 3)],
    ),
    case(
        "col2im",
        |_, p| {
            let w = Window2d::new((2, 2)).stride((2, 1)).padding((1, 0));
            p[0].col2im((4, 3), w).sin()
        },
        || vec![randn(&[4, 12], 4)],
    ),
    case(
        "block_sum2d",
        |_, p| p[0].block_sum2d((2, 3), 0.4).tanh(),
        || vec![randn(&[2, 2, 5, 6], 5)],
    ),
    case(
        "block_spread2d",
        |_, p| p[0].block_spread2d((5, 7), (2, 3), 0.7).sin(),
        || vec![randn(&[2, 2, 2, 2], 6)],
    ),
    // index
    case(
        "gather",
        |_, p| {
            p[0].gather(1, &Tensor::from_vec(vec![3, 0, 1, 1, 2, 2], &[3, 2]))
                .sin()
        },
        || vec![randn(&[3, 4], 1)],
    ),
    case(
        "scatter_add",
        |_, p| {
            let index = Tensor::from_vec(vec![1, 1, 0, 3, 2, 0], &[3, 2]);
            p[0].scatter_add(1, &index, &[3, 4]).sin()
        },
        || vec![randn(&[3, 2], 2)],
    ),
    // product
    case(
        "matmul",
        |_, p| p[0].matmul(&p[1]).tanh(),
        || vec![randn(&[3, 4], 1), randn(&[4, 2], 2)],
    ),
    case(
        "matmul",
        |_, p| p[0].matmul_transposed(&p[1], true, true).sin(),
        || vec![randn(&[2, 4, 3], 3), randn(&[2, 2, 4], 4)],
    ),
];

/// Whether a case's operands have different shapes (it broadcasts).
fn broadcasts(case: &Case) -> bool {
    let inputs = (case.inputs)();
    inputs.windows(2).any(|w| w[0].shape() != w[1].shape())
}

/// What the table lacks: an op without a case, a broadcasting op without a
/// broadcasting case, or a case for an op the engine does not know.
fn missing(table: &[OpInfo], cases: &[&Case]) -> Vec<String> {
    let mut problems = Vec::new();
    for op in table {
        let mine: Vec<&&Case> = cases.iter().filter(|c| c.op == op.name).collect();
        if mine.is_empty() {
            problems.push(format!(
                "op `{}` ({} family) has no gradcheck/gradgradcheck case",
                op.name, op.family
            ));
        } else if op.broadcasts && !mine.iter().any(|c| broadcasts(c)) {
            problems.push(format!(
                "op `{}` broadcasts but has no broadcasting case",
                op.name
            ));
        }
    }
    let known: BTreeSet<&str> = table.iter().map(|op| op.name).collect();
    for c in cases {
        if !known.contains(c.op) {
            problems.push(format!("a case names `{}`, which is not an op", c.op));
        }
    }
    problems
}

#[test]
fn every_op_has_a_case() {
    let cases: Vec<&Case> = CASES.iter().collect();
    let problems = missing(&op_table(), &cases);
    assert!(
        problems.is_empty(),
        "add cases to CASES:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_missing_case_is_detected() {
    // the same check on the table with one op's cases taken out must fail
    for removed in ["tanh", "matmul", "scatter_add"] {
        let cases: Vec<&Case> = CASES.iter().filter(|c| c.op != removed).collect();
        let problems = missing(&op_table(), &cases);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains(removed), "{problems:?}");
    }
    // and a broadcasting op checked at equal shapes only
    let div_equal = Case {
        op: "div",
        f: |_, p| &p[0] / &p[1],
        inputs: || vec![randn(&[2, 3], 1), away_from_zero(&[2, 3], 2)],
    };
    let mut with_div: Vec<&Case> = CASES.iter().filter(|c| c.op != "div").collect();
    with_div.push(&div_equal);
    let problems = missing(&op_table(), &with_div);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("`div` broadcasts"), "{problems:?}");
}

#[test]
fn every_case_passes_gradcheck_and_gradgradcheck_and_records_its_op() {
    for (k, c) in CASES.iter().enumerate() {
        let inputs = (c.inputs)();
        let shapes: Vec<&[usize]> = inputs.iter().map(|x| x.shape()).collect();
        let what = format!("case {k} ({} at {shapes:?})", c.op);
        let tape = Tape::new();
        let vars: Vec<Var<f64>> = inputs.iter().map(|x| tape.var(x)).collect();
        let _ = (c.f)(&tape, &vars);
        assert!(
            tape.recorded_ops().contains(&c.op),
            "{what}: the function does not record `{}` (it records {:?})",
            c.op,
            tape.recorded_ops()
        );
        check(&what, c.f, &inputs);
    }
}
