//! Bad input: shape mismatches panic naming the op and both shapes; data
//! from outside and gradient requests return typed errors; Vars of two
//! tapes never mix silently.

use std::panic::{catch_unwind, AssertUnwindSafe};

use curvature_autograd::{functional, Error, GradOptions, Tape, Tensor, Var};

fn leaf(tape: &Tape<f64>, shape: &[usize]) -> Var<f64> {
    tape.var(Tensor::ones(shape))
}

#[test]
#[should_panic(expected = "add: shapes [2, 3] and [4] cannot be broadcast together")]
fn add_of_incompatible_shapes_names_the_op_and_both_shapes() {
    let tape = Tape::new();
    let _ = &leaf(&tape, &[2, 3]) + &leaf(&tape, &[4]);
}

#[test]
#[should_panic(expected = "div: shapes [3, 1, 2] and [3, 4] cannot be broadcast together")]
fn div_of_incompatible_shapes_names_the_op_and_both_shapes() {
    let tape = Tape::new();
    let _ = &leaf(&tape, &[3, 1, 2]) / &leaf(&tape, &[3, 4]);
}

#[test]
#[should_panic(expected = "sub: shapes [2] and [3] cannot be broadcast together")]
fn tensor_sub_of_incompatible_shapes_names_the_op_and_both_shapes() {
    let _ = &Tensor::<f64>::zeros(&[2]) - &Tensor::zeros(&[3]);
}

#[test]
#[should_panic(expected = "matmul: shapes [2, 3] and [4, 5] have inner dimensions 3 and 4")]
fn matmul_with_mismatched_inner_dimensions_names_both_shapes() {
    let tape = Tape::new();
    let _ = leaf(&tape, &[2, 3]).matmul(&leaf(&tape, &[4, 5]));
}

#[test]
#[should_panic(
    expected = "matmul: shapes [3, 2] (transposed) and [3, 4] (transposed) have inner dimensions 3 and 4"
)]
fn transposed_matmul_mismatch_says_which_operand_was_transposed() {
    let tape = Tape::new();
    let _ = leaf(&tape, &[3, 2]).matmul_transposed(&leaf(&tape, &[3, 4]), true, true);
}

#[test]
#[should_panic(
    expected = "matmul: shapes [2, 3] and [3] must both be 2-D, or 3-D with the same batch size"
)]
fn matmul_of_mismatched_ranks_names_both_shapes() {
    let tape = Tape::new();
    let _ = leaf(&tape, &[2, 3]).matmul(&leaf(&tape, &[3]));
}

#[test]
#[should_panic(expected = "reshape: cannot reshape a tensor of shape [2, 3] (6 elements) to [4]")]
fn reshape_to_a_different_element_count_names_both_shapes() {
    let tape = Tape::new();
    let _ = leaf(&tape, &[2, 3]).reshape(&[4]);
}

#[test]
#[should_panic(expected = "concat: shapes [2, 3] and [2, 4] differ outside dimension 0")]
fn concat_of_mismatched_parts_names_both_shapes() {
    let tape = Tape::new();
    let _ = Var::concat(&[&leaf(&tape, &[2, 3]), &leaf(&tape, &[2, 4])], 0);
}

#[test]
#[should_panic(expected = "broadcast_to: cannot broadcast shape [3] to [2, 4]")]
fn broadcast_to_an_incompatible_shape_names_both_shapes() {
    let tape = Tape::new();
    let _ = leaf(&tape, &[3]).broadcast_to(&[2, 4]);
}

#[test]
#[should_panic(
    expected = "sum_dim: dimension 2 is out of range for a tensor of shape [2, 3] (rank 2)"
)]
fn reducing_along_a_missing_dimension_names_the_shape() {
    let tape = Tape::new();
    let _ = leaf(&tape, &[2, 3]).sum_dim(2, false);
}

#[test]
#[should_panic(expected = "gather: index 3 is out of range for dimension 1 of shape [2, 3]")]
fn gather_with_an_out_of_range_label_names_it() {
    let tape = Tape::new();
    let labels = Tensor::from_vec(vec![0, 3], &[2, 1]);
    let _ = leaf(&tape, &[2, 3]).gather(1, &labels);
}

#[test]
#[should_panic(expected = "narrow: range 2..5 is out of bounds for dimension 0 of shape [4]")]
fn narrow_out_of_bounds_names_the_range_and_shape() {
    let tape = Tape::new();
    let _ = leaf(&tape, &[4]).narrow(0, 2, 3);
}

#[test]
#[should_panic(expected = "hvp: v 0 has shape [2] but input 0 has shape [3]")]
fn hvp_with_a_direction_of_the_wrong_shape_names_both_shapes() {
    let f = |_: &Tape<f64>, p: &[Var<f64>]| p[0].square().sum();
    let _ = functional::hvp(f, &[Tensor::ones(&[3])], &[Tensor::ones(&[2])]);
}

#[test]
fn try_from_vec_with_the_wrong_element_count_is_an_element_count_error() {
    let err = Tensor::try_from_vec(vec![1.0_f64, 2.0, 3.0], &[2, 2]).unwrap_err();
    assert_eq!(
        err,
        Error::ElementCount {
            op: "Tensor::from_vec",
            shape: vec![2, 2],
            expected: 4,
            got: 3,
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("[2, 2]") && message.contains('4') && message.contains('3'),
        "{message}"
    );
    let ok =
        Tensor::try_from_vec(vec![1.0_f64, 2.0, 3.0, 4.0], &[2, 2]).expect("4 elements fit [2, 2]");
    assert_eq!(ok.get(&[1, 0]), 3.0);
}

#[test]
#[should_panic(expected = "Tensor::from_vec: shape [3] needs 3 elements, but 2 were given")]
fn from_vec_with_the_wrong_element_count_panics_with_the_same_message() {
    let _ = Tensor::from_vec(vec![1.0_f32, 2.0], &[3]);
}

#[test]
fn strict_grad_of_an_unused_input_is_an_unused_input_error() {
    let tape = Tape::new();
    let x = leaf(&tape, &[2]);
    let unused = leaf(&tape, &[3]);
    let y = x.exp().sum();
    let err = tape
        .try_grad(&y, [&x, &unused], &GradOptions::new().strict(true))
        .unwrap_err();
    assert_eq!(
        err,
        Error::UnusedInput {
            index: 1,
            node: unused.node(),
            shape: vec![3],
        }
    );
    // the same request without strict gives zeros
    let g = tape
        .try_grad(&y, [&x, &unused], &GradOptions::new())
        .expect("not strict");
    assert_eq!(g[1], Tensor::zeros(&[3]));
    // and strict is satisfied when every input is used
    assert!(tape
        .try_grad(&y, [&x], &GradOptions::new().strict(true))
        .is_ok());
    let err = tape
        .try_grad_graph(&y, [&unused], &GradOptions::new().strict(true))
        .unwrap_err();
    assert!(matches!(err, Error::UnusedInput { index: 0, .. }));
}

#[test]
fn grad_of_a_non_scalar_output_without_a_seed_is_a_seed_error() {
    let tape = Tape::new();
    let x = leaf(&tape, &[2, 3]);
    let y = x.tanh();
    match tape.try_grad(&y, [&x], &GradOptions::new()) {
        Err(Error::Seed(message)) => assert!(message.contains("[2, 3]"), "{message}"),
        other => panic!("expected a seed error, got {other:?}"),
    }
    match tape.try_grad_graph(&y, [&x], &GradOptions::new()) {
        Err(Error::Seed(_)) => {}
        other => panic!("expected a seed error, got {other:?}"),
    }
    // a seed of the wrong shape is a seed error too, naming both shapes
    let wrong = GradOptions::new().grad_output(Tensor::ones(&[3, 2]));
    match tape.try_grad(&y, [&x], &wrong) {
        Err(Error::Seed(message)) => {
            assert!(
                message.contains("[3, 2]") && message.contains("[2, 3]"),
                "{message}"
            )
        }
        other => panic!("expected a seed error, got {other:?}"),
    }
    // with a seed of the output's shape it is a vector-Jacobian product
    let seed = Tensor::full(&[2, 3], 2.0);
    let g = tape
        .try_grad(&y, [&x], &GradOptions::new().grad_output(seed))
        .expect("seed of the output's shape");
    let expected = 2.0 * (1.0 - 1.0_f64.tanh().powi(2));
    assert!(g[0].to_vec().iter().all(|&d| (d - expected).abs() < 1e-15));
}

#[test]
#[should_panic(expected = "not one element; pass a grad_output of that shape")]
fn grad_of_a_non_scalar_output_panics_in_the_infallible_form() {
    let tape = Tape::new();
    let x = leaf(&tape, &[2]);
    let _ = tape.grad(&x.exp(), [&x]);
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

/// The tape number a Var prints in its debug form (`tape=#N`).
fn tape_number(v: &Var<f64>) -> String {
    let debug = format!("{v:?}");
    let start = debug.find("tape=#").expect("debug form names the tape") + "tape=".len();
    debug[start..]
        .split(',')
        .next()
        .expect("a number")
        .to_string()
}

#[test]
fn vars_of_two_tapes_mixed_in_an_op_panic_naming_both_tapes() {
    let (first, second) = (Tape::new(), Tape::new());
    let a = leaf(&first, &[2]);
    let b = leaf(&second, &[2]);
    let (na, nb) = (tape_number(&a), tape_number(&b));
    assert_ne!(na, nb);
    let message = panic_message(|| {
        let _ = &a * &b;
    });
    assert!(
        message.starts_with("mul: Vars from two different tapes"),
        "{message}"
    );
    assert!(
        message.contains(&format!("tape {na}")) && message.contains(&format!("tape {nb}")),
        "{message} should name {na} and {nb}"
    );
    let message = panic_message(|| {
        let _ = a.matmul(&b.unsqueeze(1));
    });
    assert!(
        message.contains("matmul") && message.contains(&na) && message.contains(&nb),
        "{message}"
    );
    let message = panic_message(|| {
        let _ = Var::concat(&[&a, &b], 0);
    });
    assert!(
        message.contains("concat") && message.contains(&na) && message.contains(&nb),
        "{message}"
    );
}

#[test]
fn grad_with_respect_to_a_var_of_another_tape_panics_naming_both_tapes() {
    let (first, second) = (Tape::new(), Tape::new());
    let x = leaf(&first, &[2]);
    let y = x.square().sum();
    let stranger = leaf(&second, &[2]);
    let (nx, ns) = (tape_number(&x), tape_number(&stranger));
    let message = panic_message(|| {
        let _ = first.grad(&y, [&stranger]);
    });
    assert!(message.starts_with("grad:"), "{message}");
    assert!(message.contains(&nx) && message.contains(&ns), "{message}");
    // asking one tape for the gradient of another tape's output
    let message = panic_message(|| {
        let _ = second.grad(&y, [&x]);
    });
    assert!(message.starts_with("grad:"), "{message}");
    assert!(message.contains(&nx) && message.contains(&ns), "{message}");
}

#[test]
#[should_panic(
    expected = "grad_many: shapes [3] and [2] are incompatible: grad_output 1 must have the shape of output 1"
)]
fn grad_many_with_a_seed_of_the_wrong_shape_names_the_output_and_both_shapes() {
    let tape = Tape::new();
    let x = leaf(&tape, &[2]);
    let (a, b) = (x.square(), x.exp());
    let _ = tape.grad_many(&[&a, &b], &[Tensor::ones(&[2]), Tensor::ones(&[3])], [&x]);
}

#[test]
fn grad_many_equals_grad_of_the_seeded_sum() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![0.3, -0.7, 1.1], &[3]));
    let (a, b) = (x.tanh(), (&x * &x).sum());
    let (va, vb) = (
        Tensor::from_vec(vec![1.0, -2.0, 0.5], &[3]),
        Tensor::scalar(3.0),
    );
    let many = tape.grad_many(&[&a, &b], &[va.clone(), vb.clone()], [&x]);
    let seeded = (&a * &tape.constant(va)).sum() + (&b * &tape.constant(vb)).sum();
    let one = tape.grad(&seeded, [&x]);
    assert!(
        many[0].allclose(&one[0], 1e-14, 1e-14),
        "{:?} vs {:?}",
        many[0],
        one[0]
    );
}

#[test]
fn try_grad_many_returns_shape_and_count_errors_instead_of_panicking() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![0.5_f64, -1.0], &[2]));
    let (a, b) = (x.square(), x.exp());
    match tape.try_grad_many([&a, &b], &[Tensor::ones(&[2]), Tensor::ones(&[3])], [&x]) {
        Err(Error::Shape { op, lhs, rhs, .. }) => {
            assert_eq!((op, lhs, rhs), ("grad_many", vec![3], vec![2]));
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    match tape.try_grad_many([&a, &b], &[Tensor::ones(&[2])], [&x]) {
        Err(Error::Seed(message)) => assert!(message.contains("2 outputs but 1"), "{message}"),
        other => panic!("expected a seed error, got {other:?}"),
    }
    let ok = tape
        .try_grad_many([&a, &b], &[Tensor::ones(&[2]), Tensor::ones(&[2])], [&x])
        .expect("matching seeds");
    // d/dx (x^2 + e^x) = 2x + e^x
    assert!((ok[0].get(&[0]) - (1.0 + 0.5_f64.exp())).abs() < 1e-12);
}
