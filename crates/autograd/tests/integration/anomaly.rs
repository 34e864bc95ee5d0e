//! Anomaly mode: the first op that produces a NaN or an infinity is
//! reported with its name, its input and output shapes, and whether it
//! ran forward or inside a derivative rule.

use curvature_autograd::{Phase, Tape, Tensor};

#[test]
fn log_of_a_negative_number_is_reported_in_the_forward_phase() {
    let tape = Tape::new();
    tape.set_detect_anomaly(true);
    let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, -3.0, 4.0], &[2, 2]));
    let fine = x.exp();
    assert_eq!(tape.anomaly(), None, "exp of finite values is finite");
    let y = x.log();
    let anomaly = tape.anomaly().expect("log(-3) is NaN");
    assert_eq!(anomaly.op, "log");
    assert_eq!(anomaly.phase, Phase::Forward);
    let inputs: Vec<&[usize]> = anomaly.input_shapes.iter().map(|s| s.as_slice()).collect();
    assert_eq!(inputs, vec![&[2, 2][..]]);
    assert_eq!(anomaly.output_shape.as_slice(), &[2, 2]);
    assert_eq!(anomaly.node, y.node());
    let message = anomaly.to_string();
    assert!(
        message.starts_with("log produced a NaN or infinity"),
        "{message}"
    );
    assert!(
        message.contains("[[2, 2]]") && message.contains("output [2, 2]"),
        "{message}"
    );
    assert!(!message.contains("backward"), "{message}");
    let _ = fine;
}

#[test]
fn only_the_first_anomaly_is_kept() {
    let tape = Tape::new();
    tape.set_detect_anomaly(true);
    let x = tape.var(Tensor::from_vec(vec![-1.0, 0.0], &[2]));
    let _ = x.sqrt();
    let _ = x.log();
    let _ = x.recip();
    assert_eq!(tape.anomaly().expect("sqrt(-1) is NaN").op, "sqrt");
}

#[test]
fn division_by_zero_reports_both_broadcast_input_shapes() {
    let tape = Tape::new();
    tape.set_detect_anomaly(true);
    let x = tape.var(Tensor::ones(&[2, 3]));
    let zero = tape.scalar(0.0);
    let _ = &x / &zero;
    let anomaly = tape.anomaly().expect("1 / 0 is infinite");
    assert_eq!(anomaly.op, "div");
    let inputs: Vec<&[usize]> = anomaly.input_shapes.iter().map(|s| s.as_slice()).collect();
    assert_eq!(inputs, vec![&[2, 3][..], &[][..]]);
    assert_eq!(anomaly.output_shape.as_slice(), &[2, 3]);
}

#[test]
fn an_infinite_gradient_born_in_sqrts_rule_is_reported_in_the_backward_phase() {
    for create_graph in [false, true] {
        let tape = Tape::new();
        tape.set_detect_anomaly(true);
        // sqrt(0) = 0 is finite; its derivative 1 / (2 sqrt 0) is not
        let x = tape.var(Tensor::from_vec(vec![0.0_f64, 4.0], &[2]));
        let y = x.sqrt().sum();
        assert_eq!(tape.anomaly(), None, "the forward pass is finite");
        let g = if create_graph {
            tape.grad_graph(&y, [&x]).remove(0).value()
        } else {
            tape.grad(&y, [&x]).remove(0)
        };
        assert!(g.as_slice()[0].is_infinite());
        assert_eq!(g.as_slice()[1], 0.25);
        let anomaly = tape.anomaly().expect("the gradient is infinite");
        assert_eq!(anomaly.phase, Phase::Backward { of: "sqrt" });
        assert_eq!(anomaly.op, "div", "sqrt's rule divides by its output");
        assert_eq!(anomaly.output_shape.as_slice(), &[2]);
        let message = anomaly.to_string();
        assert!(
            message.ends_with("in the backward pass of sqrt"),
            "{message}"
        );
    }
}

#[test]
fn a_nan_born_in_a_second_derivative_is_reported_in_the_backward_phase() {
    // d/dx x^1.5 = 1.5 x^0.5 is finite at 0; its derivative 0.75 x^-0.5 is not
    let tape = Tape::new();
    tape.set_detect_anomaly(true);
    let x = tape.var(Tensor::from_vec(vec![0.0, 1.0], &[2]));
    let y = x.powf(1.5).sum();
    let g = tape.grad_graph(&y, [&x]);
    assert_eq!(tape.anomaly(), None, "the first derivative is finite");
    let _ = tape.grad(&g[0].sum(), [&x]);
    let anomaly = tape.anomaly().expect("x^-0.5 at 0 is infinite");
    assert_eq!(anomaly.op, "powf");
    assert_eq!(anomaly.phase, Phase::Backward { of: "powf" });
}

#[test]
fn the_phase_returns_to_forward_after_a_backward_pass() {
    let tape = Tape::new();
    tape.set_detect_anomaly(true);
    let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2]));
    let _ = tape.grad(&x.square().sum(), [&x]);
    assert_eq!(tape.anomaly(), None);
    let _ = x.neg().log();
    let anomaly = tape.anomaly().expect("log of negatives");
    assert_eq!((anomaly.op, anomaly.phase), ("log", Phase::Forward));
}

#[test]
fn a_non_finite_input_is_reported_where_it_enters_the_tape() {
    let tape = Tape::new();
    tape.set_detect_anomaly(true);
    let x = tape.constant(Tensor::from_vec(vec![1.0, f64::NAN], &[2]));
    let anomaly = tape.anomaly().expect("a NaN came in");
    assert_eq!(anomaly.op, "constant");
    assert_eq!(anomaly.node, x.node());
    assert!(anomaly.input_shapes.is_empty());
}

#[test]
fn with_detection_off_nothing_is_recorded() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![-1.0_f64, 0.0], &[2]));
    let y = x.log();
    assert!(y.value().as_slice()[0].is_nan());
    let _ = tape.grad(&x.abs().sqrt().sum(), [&x]);
    assert_eq!(tape.anomaly(), None);

    // switched off after being on: later anomalies are not recorded
    let tape = Tape::new();
    tape.set_detect_anomaly(true);
    tape.set_detect_anomaly(false);
    let x = tape.var(Tensor::from_vec(vec![-1.0], &[1]));
    let _ = x.log();
    assert_eq!(tape.anomaly(), None);
}
