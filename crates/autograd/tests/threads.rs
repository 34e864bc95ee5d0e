//! The tensor kernels give the same bits on any number of threads: a
//! product splits its output among the threads (never its inner sum), and
//! an element-wise kernel computes each element the same way anywhere.
//! Its own test binary: the number of threads is process-wide.

use curvature_autograd::{
    functional, num_threads, seeded_rng, set_num_threads, ConvOptions, Error, Tape, Tensor, Var,
};

/// An HVP of a tanh MLP large enough that its products and element-wise
/// kernels take the parallel paths (1024 x 300 activations: 307,200
/// elements; products of 46M and 92M multiply-adds).
fn hvp_of_an_mlp() -> Vec<Tensor<f32>> {
    let mut rng = seeded_rng(7);
    let x = Tensor::<f32>::randn(&[1024, 150], 0.0, 1.0, &mut rng);
    let w1 = Tensor::randn(&[300, 150], 0.0, 0.1, &mut rng);
    let w2 = Tensor::randn(&[300, 300], 0.0, 0.1, &mut rng);
    let b = Tensor::randn(&[300], 0.0, 0.1, &mut rng);
    let v: Vec<_> = [&w1, &w2, &b]
        .iter()
        .map(|p| Tensor::randn(p.shape(), 0.0, 1.0, &mut rng))
        .collect();
    let f = |tape: &Tape<f32>, p: &[Var<f32>]| {
        let h = (tape.constant(&x).matmul_nt(&p[0]) + &p[2]).tanh();
        h.matmul_nt(&p[1]).sigmoid().square().mean()
    };
    functional::hvp(f, [&w1, &w2, &b], &v)
}

/// An HVP of a two-layer conv net large enough that unfold, fold and the
/// per-image products take their parallel paths (columns of 295k and 590k
/// elements; 64 products of 74k and 147k multiply-adds).
fn hvp_of_a_conv_net() -> Vec<Tensor<f32>> {
    let mut rng = seeded_rng(8);
    let x = Tensor::<f32>::randn(&[64, 8, 10, 10], 0.0, 1.0, &mut rng);
    let w1 = Tensor::randn(&[16, 8, 3, 3], 0.0, 0.2, &mut rng);
    let w2 = Tensor::randn(&[8, 16, 3, 3], 0.0, 0.2, &mut rng);
    let v: Vec<_> = [&w1, &w2]
        .iter()
        .map(|p| Tensor::randn(p.shape(), 0.0, 1.0, &mut rng))
        .collect();
    let f = |tape: &Tape<f32>, p: &[Var<f32>]| {
        let same = ConvOptions {
            padding: (1, 1),
            ..ConvOptions::default()
        };
        let h = tape.constant(&x).conv2d(&p[0], None, same).tanh();
        h.conv2d(&p[1], None, same).square().mean()
    };
    functional::hvp(f, [&w1, &w2], &v)
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    set_num_threads(1).unwrap();
    assert_eq!(num_threads(), 1);
    let (mlp, conv) = (hvp_of_an_mlp(), hvp_of_a_conv_net());
    for threads in [2, 3, 4] {
        set_num_threads(threads).unwrap();
        assert_eq!(num_threads(), threads);
        assert_eq!(hvp_of_an_mlp(), mlp, "MLP, {threads} threads");
        assert_eq!(hvp_of_a_conv_net(), conv, "conv net, {threads} threads");
    }
    assert!(mlp.iter().chain(&conv).all(|t| t.all_finite()));
    assert_eq!(
        set_num_threads(0),
        Err(Error::Threads(
            "the number of threads must be at least 1, got 0".into()
        ))
    );
    assert_eq!(num_threads(), 4, "a refused setting keeps the pool");
}
