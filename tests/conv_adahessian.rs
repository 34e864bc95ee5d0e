//! AdaHessian on a convolutional network: the kernel of every `Conv2d` is
//! averaged over its spatial axes because the layer declares it one (not
//! because of its rank), as the authors do, and every option runs.

use curvature::autograd::{seeded_rng, ConvOptions, Tensor};
use curvature::nn::{cross_entropy, AvgPool2d, Conv2d, Flatten, Linear, Module, Sequential, Tanh};
use curvature::optim::{AdaHessian, AdaHessianConfig, Averaging, Optimizer};

fn cnn(seed: u64) -> Sequential<f64> {
    let mut rng = seeded_rng(seed);
    let pad = ConvOptions {
        padding: (1, 1),
        ..Default::default()
    };
    Sequential::new()
        .add(Conv2d::new(1, 3, (3, 3), pad, &mut rng).unwrap())
        .add(Tanh)
        .add(AvgPool2d::new((2, 2)))
        .add(Flatten::default())
        .add(Linear::new(3 * 3 * 3, 4, &mut rng))
}

fn batch() -> (Tensor<f64>, Vec<usize>) {
    let x = Tensor::randn(&[8, 1, 6, 6], 0.0, 1.0, &mut seeded_rng(11));
    (x, vec![0, 1, 2, 3, 3, 2, 1, 0])
}

fn step(opt: &mut AdaHessian<f64>, model: &mut Sequential<f64>) -> f64 {
    let (x, labels) = batch();
    opt.step(model, |m, tape, p| {
        cross_entropy(&m.forward(p, &tape.constant(&x)), &labels)
    })
    .expect("a finite step")
}

#[test]
fn a_declared_conv_kernel_is_averaged_over_its_taps_and_nothing_else_is() {
    let model = cnn(0);
    let opt = AdaHessian::new(&model, AdaHessianConfig::default()).unwrap();
    assert_eq!(
        opt.averaging(),
        &[
            Averaging::conv_kernel(),
            Averaging::None,
            Averaging::None,
            Averaging::None
        ]
    );
}

#[test]
fn the_averaged_estimate_is_the_mean_of_z_hz_over_each_kernels_taps() {
    // the same draws with and without the declared averaging: the authors'
    // formula is mean over (kh, kw) of |z * Hz| for each (out, in) pair
    let config = AdaHessianConfig {
        seed: 5,
        ..AdaHessianConfig::default()
    };
    let raw_config = AdaHessianConfig {
        averaging_overrides: vec![(0, Averaging::None)],
        ..config.clone()
    };
    let (mut a, mut b) = (cnn(1), cnn(1));
    let mut averaged = AdaHessian::new(&a, config).unwrap();
    let mut raw = AdaHessian::new(&b, raw_config).unwrap();
    step(&mut averaged, &mut a);
    step(&mut raw, &mut b);
    let d_avg = &averaged.hessian_diagonal()[0];
    let d_raw = &raw.hessian_diagonal()[0];
    assert_eq!(d_avg.shape(), &[3, 1, 3, 3]);
    let expected = d_raw
        .mean_dim(3, true)
        .mean_dim(2, true)
        .broadcast_to(&[3, 1, 3, 3]);
    assert!(
        d_avg.allclose(&expected.contiguous(), 1e-12, 0.0),
        "{d_avg:?} vs {expected:?}"
    );
    // not trivially equal: the raw estimate varies over the taps
    assert!(!d_raw.allclose(&expected.contiguous(), 1e-3, 0.0));
    // the other parameters are the same in both
    for k in 1..4 {
        assert_eq!(averaged.hessian_diagonal()[k], raw.hessian_diagonal()[k]);
    }
}

#[test]
fn every_option_runs_on_a_conv_net_and_lowers_the_loss() {
    let configs = [
        AdaHessianConfig::default(),
        AdaHessianConfig {
            hessian_power: 0.5,
            ..AdaHessianConfig::default()
        },
        AdaHessianConfig {
            update_each: 3,
            ..AdaHessianConfig::default()
        },
        AdaHessianConfig {
            n_samples: 3,
            ..AdaHessianConfig::default()
        },
    ];
    for config in configs {
        let mut model = cnn(2);
        let mut opt = AdaHessian::new(&model, config.clone()).unwrap();
        let first = step(&mut opt, &mut model);
        let mut last = first;
        for _ in 0..30 {
            last = step(&mut opt, &mut model);
        }
        assert!(last < 0.7 * first, "{config:?}: loss {first} -> {last}");
    }
}
