//! The ops of sequence models (`embedding`, `layer_norm`, `gelu_tanh`,
//! `masked_fill`, `where_`, `masked_softmax`, `split`, `chunk`, matmul over
//! leading dimensions): values against PyTorch's (printed by
//! `torch.nn.functional` in f64), first and second derivatives against
//! central differences, and bad input named.

use crate::common;

use common::{assert_first_and_second_order as check, randn};
use curvature_autograd::{Tape, Tensor, Var};

fn causal(t: usize) -> Tensor<bool> {
    let m = (0..t * t).map(|k| k % t <= k / t).collect();
    Tensor::from_vec(m, &[t, t])
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}

#[test]
fn embedding_picks_rows_and_sums_the_gradients_of_repeated_ids() {
    let tape = Tape::new();
    let table = tape.var(Tensor::from_vec((0..8).map(f64::from).collect(), &[4, 2]));
    let ids = Tensor::from_vec(vec![3, 1, 3], &[1, 3]);
    let x = table.embedding(&ids);
    assert_eq!(x.shape().as_slice(), &[1, 3, 2]);
    assert_eq!(x.value().to_vec(), vec![6.0, 7.0, 2.0, 3.0, 6.0, 7.0]);
    let g = tape.grad(&x.sum(), [&table]);
    assert_eq!(g[0].to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 2.0, 2.0]);
}

#[test]
fn embedding_is_correct_to_second_order() {
    let ids = Tensor::from_vec(vec![2, 0, 2, 1, 4, 2], &[2, 3]);
    check(
        "embedding",
        move |_, p| {
            let x = p[0].embedding(&ids);
            (&x * &x.sin()).sum_dim(2, false)
        },
        [randn(&[5, 3], 1)],
    );
}

#[test]
#[should_panic(
    expected = "embedding: token id 7 (at flat position 2 of ids of shape [4]) \
                           is out of range for a vocabulary of 5 (weight shape [5, 3])"
)]
fn embedding_of_an_id_outside_the_vocabulary_names_it() {
    let tape = Tape::new();
    let table = tape.var(Tensor::<f64>::zeros(&[5, 3]));
    let _ = table.embedding(&Tensor::from_vec(vec![0, 4, 7, 1], &[4]));
}

#[test]
fn layer_norm_matches_pytorch_and_is_correct_to_second_order() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(
        vec![1.0, 2.0, 4.0, -1.0, 0.5, 3.0],
        &[2, 3],
    ));
    let w = tape.var(Tensor::from_vec(vec![1.0, 0.5, -2.0], &[3]));
    let b = tape.var(Tensor::from_vec(vec![0.1, 0.2, 0.3], &[3]));
    let y = x.layer_norm(Some(&w), Some(&b), 1e-5);
    // F.layer_norm(x, (3,), w, b, 1e-5) in float64
    let torch = [
        -0.9690415314502977,
        0.06636980856871275,
        -2.372603828625744,
        -1.0111657580926074,
        0.09898493108249026,
        -2.326391791855255,
    ];
    close(&y.value().to_vec(), &torch, 1e-14);
    check(
        "layer_norm with weight and bias",
        |_, p| p[0].layer_norm(Some(&p[1]), Some(&p[2]), 1e-5).sin(),
        [randn(&[2, 3, 4], 2), randn(&[4], 3), randn(&[4], 4)],
    );
    check(
        "layer_norm without affine",
        |_, p| p[0].layer_norm(None, None, 0.1).square(),
        [randn(&[3, 5], 5)],
    );
}

#[test]
#[should_panic(
    expected = "layer_norm: weight of shape [3] must be [4] for a value of shape [2, 4]"
)]
fn layer_norm_with_a_wrong_weight_names_both_shapes() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::zeros(&[2, 4]));
    let w = tape.var(Tensor::<f64>::ones(&[3]));
    let _ = x.layer_norm(Some(&w), None, 1e-5);
}

#[test]
fn both_gelus_match_pytorch_and_are_correct_to_second_order() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![-1.5, -0.3, 0.0, 0.7, 2.0], &[5]));
    // F.gelu(x) and F.gelu(x, approximate="tanh") in float64
    let exact = [
        -0.10021080190328704,
        -0.1146265733433142,
        0.0,
        0.5306254434438489,
        1.9544997361036416,
    ];
    let tanh = [
        -0.10042842301976707,
        -0.11462907645724074,
        0.0,
        0.5305701347051167,
        1.954597694087775,
    ];
    close(&x.gelu().value().to_vec(), &exact, 1e-14);
    // one kernel, the same value as the product it replaced, bit for bit
    assert_eq!(x.gelu().value(), (&x * &x.normal_cdf()).value());
    // and its derivative Phi(x) + x phi(x) is its own op, checked alike
    let phi = x
        .square()
        .mul_scalar(-0.5)
        .exp()
        .mul_scalar(0.398_942_280_401_432_7);
    close(
        &x.gelu_derivative().value().to_vec(),
        &(&x.normal_cdf() + &(&x * &phi)).value().to_vec(),
        1e-15,
    );
    check(
        "gelu_derivative",
        |_, p| p[0].gelu_derivative(),
        [randn(&[2, 3], 8)],
    );
    close(&x.gelu_tanh().value().to_vec(), &tanh, 1e-14);
    check("gelu", |_, p| p[0].gelu(), [randn(&[2, 3], 6)]);
    check("gelu_tanh", |_, p| p[0].gelu_tanh(), [randn(&[2, 3], 7)]);
}

#[test]
fn masked_fill_and_where_select_and_are_correct_to_second_order() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]));
    let mask = Tensor::from_vec(vec![true, false], &[2]); // broadcast over rows
    assert_eq!(
        x.masked_fill(&mask, -9.0).value().to_vec(),
        vec![-9.0, 2.0, -9.0, 4.0]
    );
    let filled = x.masked_fill(&mask, f64::NEG_INFINITY).value().to_vec();
    assert_eq!(filled[0], f64::NEG_INFINITY);
    assert_eq!(filled[1], 2.0);
    let g = tape.grad(&x.masked_fill(&mask, -9.0).square().sum(), [&x]);
    assert_eq!(g[0].to_vec(), vec![0.0, 4.0, 0.0, 8.0]);
    let y = tape.var(Tensor::from_vec(vec![10.0, 20.0], &[2, 1]));
    let w = Var::where_(&mask, &x, &y);
    assert_eq!(w.value().to_vec(), vec![1.0, 10.0, 3.0, 20.0]);

    let m = Tensor::from_vec(vec![true, false, false, true, true, false], &[2, 3]);
    let m2 = m.clone();
    check(
        "masked_fill",
        move |_, p| p[0].masked_fill(&m, 0.5).sin(),
        [randn(&[2, 3], 8)],
    );
    check(
        "where",
        move |_, p| Var::where_(&m2, &p[0], &p[1].exp()).sin(),
        [randn(&[2, 3], 9), randn(&[3], 10)],
    );
}

#[test]
#[should_panic(
    expected = "masked_fill: a mask of shape [3] does not broadcast to the value's shape [2, 2]"
)]
fn masked_fill_with_a_wrong_mask_names_both_shapes() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::zeros(&[2, 2]));
    let _ = x.masked_fill(&Tensor::from_vec(vec![true; 3], &[3]), 0.0);
}

#[test]
fn masked_softmax_equals_softmax_over_the_unmasked_positions() {
    let tape = Tape::new();
    let x = tape.var(randn(&[2, 4, 4], 11).map(|v| 3.0 * v));
    let p = x.masked_softmax(2, &causal(4)).value();
    for b in 0..2 {
        for i in 0..4 {
            let row: Vec<f64> = (0..=i).map(|j| x.value().get(&[b, i, j])).collect();
            let m = row.iter().cloned().fold(f64::MIN, f64::max);
            let z: f64 = row.iter().map(|v| (v - m).exp()).sum();
            for j in 0..4 {
                let expected = row.get(j).map_or(0.0, |v| (v - m).exp() / z); // 0 if masked
                assert!((p.get(&[b, i, j]) - expected).abs() < 1e-15);
            }
        }
    }
    // large logits at the masked positions do not overflow, and get no gradient
    let big = tape.var(Tensor::from_vec(vec![0.0, 800.0, -800.0, 1.0], &[2, 2]));
    let y = big.masked_softmax(1, &causal(2));
    assert!(y.value().all_finite(), "{:?}", y.value());
    let g = tape.grad(&(&y * &tape.constant(randn(&[2, 2], 12))).sum(), [&big]);
    assert_eq!(g[0].get(&[0, 1]), 0.0);
    assert!(g[0].all_finite());
}

#[test]
fn masked_softmax_is_correct_to_second_order_along_any_dim() {
    let mask = causal(3);
    check(
        "masked_softmax dim 2",
        move |_, p| p[0].masked_softmax(2, &mask).sin(),
        [randn(&[2, 3, 3], 13)],
    );
    let mask = causal(3);
    check(
        "masked_softmax dim 0",
        move |_, p| p[0].masked_softmax(0, &mask).sin(),
        [randn(&[3, 3], 14)],
    );
}

#[test]
#[should_panic(
    expected = "masked_softmax: a mask of shape [3, 3] does not broadcast to the value's shape [2, 4, 4]"
)]
fn masked_softmax_with_a_wrong_mask_names_both_shapes() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::zeros(&[2, 4, 4]));
    let _ = x.masked_softmax(2, &causal(3));
}

#[test]
fn split_and_chunk_cut_as_pytorch_and_are_correct_to_second_order() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::zeros(&[2, 7]));
    let sizes = |parts: Vec<Var<f64>>| parts.iter().map(|p| p.shape()[1]).collect::<Vec<_>>();
    assert_eq!(sizes(x.split(3, 1)), vec![3, 3, 1]);
    assert_eq!(sizes(x.chunk(3, 1)), vec![3, 3, 1]);
    assert_eq!(sizes(x.chunk(7, 1)), vec![1; 7]);
    let y = tape.var(Tensor::<f64>::zeros(&[6]));
    assert_eq!(y.chunk(4, 0).len(), 3); // PyTorch: pieces of 2, so three
    check(
        "split",
        |_, p| {
            let parts = p[0].split(2, 1);
            &(&parts[0] * &parts[1]) + &parts[2].sin()
        },
        [randn(&[3, 6], 15)],
    );
    check(
        "chunk",
        |_, p| {
            let parts = p[0].chunk(3, 0);
            &parts[0].exp() * &parts[2]
        },
        [randn(&[3, 2], 16)],
    );
}

#[test]
fn matmul_over_leading_dimensions_is_a_product_per_slice() {
    let tape = Tape::new();
    let a = tape.var(randn(&[2, 3, 4, 5], 17));
    let b = tape.var(randn(&[2, 3, 4, 5], 18));
    let c = a.matmul_nt(&b).value();
    assert_eq!(c.shape(), &[2, 3, 4, 4]);
    for i in 0..2 {
        for h in 0..3 {
            let slice = |v: &Var<f64>| v.narrow(0, i, 1).narrow(1, h, 1).reshape(&[4, 5]);
            let expected = slice(&a).matmul_nt(&slice(&b)).value().to_vec();
            let got = c.narrow(0, i, 1).narrow(1, h, 1).to_vec();
            close(&got, &expected, 1e-14);
        }
    }
    check(
        "matmul [B, H, T, d] @ [B, H, d, T]",
        |_, p| p[0].matmul(&p[1]).sin(),
        [randn(&[2, 2, 3, 2], 19), randn(&[2, 2, 2, 3], 20)],
    );
    check(
        "matmul 4-D, both transposed, of permuted views",
        |_, p| {
            let q = p[0].permute(&[0, 2, 1, 3]);
            q.matmul_transposed(&p[1], true, true).tanh()
        },
        [randn(&[1, 3, 2, 2], 21), randn(&[1, 2, 4, 3], 22)],
    );
}

#[test]
#[should_panic(
    expected = "matmul: shapes [2, 3, 4, 5] and [3, 2, 5, 4] must have the same leading (batch) dimensions"
)]
fn matmul_with_different_leading_dimensions_names_both_shapes() {
    let tape = Tape::new();
    let a = tape.var(Tensor::<f64>::zeros(&[2, 3, 4, 5]));
    let b = tape.var(Tensor::<f64>::zeros(&[3, 2, 5, 4]));
    let _ = a.matmul(&b);
}

#[test]
fn causal_attention_is_correct_to_second_order() {
    // one head of attention with its projections, the whole composite
    let mask = causal(3);
    check(
        "attention",
        move |_, p| {
            let x = p[0].layer_norm(None, None, 1e-5);
            let qkv = x.reshape(&[3, 2]).matmul_nt(&p[1]).reshape(&[1, 3, 6]);
            let parts = qkv.split(2, 2);
            let split = |v: &Var<f64>| v.reshape(&[1, 3, 1, 2]).permute(&[0, 2, 1, 3]);
            let (q, k, v) = (split(&parts[0]), split(&parts[1]), split(&parts[2]));
            let att = q
                .matmul_nt(&k)
                .mul_scalar(0.5f64.sqrt().recip())
                .masked_softmax(3, &mask);
            att.matmul(&v)
                .permute(&[0, 2, 1, 3])
                .reshape(&[1, 3, 2])
                .gelu_tanh()
        },
        [randn(&[1, 3, 2], 23), randn(&[6, 2], 24).map(|w| 0.5 * w)],
    );
}

#[test]
fn layer_norm_and_masked_softmax_record_the_nodes_the_docs_count() {
    // docs/sequence-models.md: layer_norm records 9 nodes (11 with weight
    // and bias), masked_softmax 6, besides leaves and constants
    fn ops(tape: &Tape<f64>) -> usize {
        let names = tape.recorded_ops();
        names
            .iter()
            .filter(|name| **name != "leaf" && **name != "constant")
            .count()
    }
    let tape = Tape::new();
    let x = tape.var(randn(&[2, 3, 3], 25));
    let _plain = x.layer_norm(None, None, 1e-5);
    assert_eq!(ops(&tape), 9);

    let tape = Tape::new();
    let x = tape.var(randn(&[2, 3, 3], 25));
    let (w, b) = (tape.var(randn(&[3], 26)), tape.var(randn(&[3], 27)));
    let _affine = x.layer_norm(Some(&w), Some(&b), 1e-5);
    assert_eq!(ops(&tape), 11);

    let tape = Tape::new();
    let x = tape.var(randn(&[2, 3, 3], 25));
    let _probabilities = x.masked_softmax(2, &causal(3));
    assert_eq!(ops(&tape), 6);
}
