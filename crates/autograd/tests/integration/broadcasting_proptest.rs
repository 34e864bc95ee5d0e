//! Random broadcasting shape pairs under gradcheck and gradgradcheck of a
//! composed expression.

use crate::common;

use common::{assert_first_and_second_order, positive, randn};
use curvature_autograd::{Tape, Var};
use proptest::collection::vec;
use proptest::prelude::*;

/// Two shapes that broadcast together, and the shape they broadcast to,
/// built independently of the engine: start from an output shape, then for
/// each operand drop some leading dimensions and set some others to 1.
fn broadcasting_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, Vec<usize>)> {
    vec(2usize..=3, 1..=3)
        .prop_flat_map(|out| {
            let rank = out.len();
            // keep every dimension more often than not, so that most pairs
            // are of rank 2 or 3 with a real mix of expanded dimensions
            let drop = move || prop_oneof![2 => Just(0), 1 => 0..=rank];
            let ones = move || vec(proptest::bool::weighted(0.35), rank);
            (Just(out), drop(), drop(), ones(), ones())
        })
        .prop_map(|(out, drop_a, drop_b, ones_a, ones_b)| {
            let operand = |drop: usize, ones: &[bool]| -> Vec<usize> {
                (drop..out.len())
                    .map(|i| if ones[i] { 1 } else { out[i] })
                    .collect()
            };
            let a = operand(drop_a, &ones_a);
            let b = operand(drop_b, &ones_b);
            // each aligned dimension is out[i] or 1 on both sides: the
            // result takes the larger; a dimension missing on both sides
            // (both dropped) does not appear at all
            let rank = a.len().max(b.len());
            let skip = out.len() - rank;
            let expected = (skip..out.len())
                .map(|i| {
                    let da = if i >= drop_a { a[i - drop_a] } else { 1 };
                    let db = if i >= drop_b { b[i - drop_b] } else { 1 };
                    da.max(db)
                })
                .collect();
            (a, b, expected)
        })
}

fn composed(_: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    let (a, b) = (&p[0], &p[1]);
    let product = (a * b).tanh();
    let quotient = b / &(a.square() + 1.0);
    &(&product + &quotient) - &(a - b).sin() * &b.log()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn composed_expression_passes_gradcheck_on_random_broadcasting_shapes(
        (sa, sb, expected) in broadcasting_pair(),
        seed in 0u64..1_000_000,
    ) {
        let a = randn(&sa, seed);
        let b = positive(&sb, seed + 1);
        let tape = Tape::new();
        let out = composed(&tape, &[tape.var(&a), tape.var(&b)]);
        prop_assert_eq!(out.shape().to_vec(), expected);
        assert_first_and_second_order(
            &format!("composed expression on {sa:?} and {sb:?}"),
            composed,
            &[a, b],
        );
    }
}
