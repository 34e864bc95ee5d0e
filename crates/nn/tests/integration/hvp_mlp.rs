//! Second order through a whole model: the Hessian-vector product of an
//! MLP's loss with respect to all its parameters, against central finite
//! differences of its gradient.

use curvature_autograd::{functional, seeded_rng, Parameters, Tape, Tensor, Var};
use curvature_nn::{cross_entropy, data, mse_loss, Activation, Mlp, Module};

/// `max |a - b| / max |b|` over all tensors.
fn relative_error(a: &[Tensor<f64>], b: &[Tensor<f64>]) -> f64 {
    let mut diff: f64 = 0.0;
    let mut scale: f64 = 0.0;
    for (x, y) in a.iter().zip(b) {
        for (u, v) in x.as_slice().iter().zip(y.as_slice()) {
            diff = diff.max((u - v).abs());
            scale = scale.max(v.abs());
        }
    }
    diff / scale
}

/// `(grad(theta + eps v) - grad(theta - eps v)) / (2 eps)`.
fn finite_difference_hvp<F>(f: F, theta: &[Tensor<f64>], v: &[Tensor<f64>]) -> Vec<Tensor<f64>>
where
    F: Fn(&Tape<f64>, &[Var<f64>]) -> Var<f64> + Copy,
{
    let eps = 1e-5;
    let moved = |sign: f64| -> Vec<Tensor<f64>> {
        theta
            .iter()
            .zip(v)
            .map(|(t, d)| t + &d.mul_scalar(sign * eps))
            .collect()
    };
    let plus = functional::grad(f, moved(1.0));
    let minus = functional::grad(f, moved(-1.0));
    plus.iter()
        .zip(&minus)
        .map(|(p, m)| (p - m).mul_scalar(1.0 / (2.0 * eps)))
        .collect()
}

fn random_direction(theta: &[Tensor<f64>], seed: u64) -> Vec<Tensor<f64>> {
    let mut rng = seeded_rng(seed);
    theta
        .iter()
        .map(|t| Tensor::randn(t.shape(), 0.0, 1.0, &mut rng))
        .collect()
}

#[test]
fn hvp_of_a_tanh_mlp_cross_entropy_matches_finite_differences() {
    let data = data::spirals::<f64>(48, 3, 0.05, 0);
    let x = data.features().clone();
    let labels = data.labels().unwrap().to_vec();
    let mlp = Mlp::<f64>::new(&[2, 16, 16, 3], Activation::Tanh, 1);
    let f = |tape: &Tape<f64>, p: &[Var<f64>]| {
        cross_entropy(&mlp.forward(p, &tape.constant(&x)), &labels)
    };
    let theta: Vec<Tensor<f64>> = mlp.parameters().into_iter().cloned().collect();
    let v = random_direction(&theta, 2);
    let exact = functional::hvp(f, &theta, &v);
    let numeric = finite_difference_hvp(f, &theta, &v);
    let err = relative_error(&exact, &numeric);
    assert!(err < 1e-6, "relative error {err:e}");
}

#[test]
fn hvp_of_a_gelu_mlp_regression_matches_finite_differences() {
    let data = data::sine::<f64>(32, 0.1, 0);
    let x = data.features().clone();
    let y = data.targets().values().unwrap().clone();
    let mlp = Mlp::<f64>::new(&[1, 8, 8, 1], Activation::Gelu, 3);
    let f = |tape: &Tape<f64>, p: &[Var<f64>]| {
        let prediction = mlp.forward(p, &tape.constant(&x));
        mse_loss(&prediction, &tape.constant(&y))
    };
    let theta: Vec<Tensor<f64>> = mlp.parameters().into_iter().cloned().collect();
    let v = random_direction(&theta, 4);
    let exact = functional::hvp(f, &theta, &v);
    let numeric = finite_difference_hvp(f, &theta, &v);
    let err = relative_error(&exact, &numeric);
    assert!(err < 1e-6, "relative error {err:e}");
}

#[test]
fn hessian_of_a_small_mlp_is_symmetric_and_agrees_with_hvp() {
    let data = data::xor::<f64>(12, 0.2, 0);
    let x = data.features().clone();
    let labels = data.labels().unwrap().to_vec();
    let mlp = Mlp::<f64>::new(&[2, 3, 2], Activation::Softplus, 5);
    let f = |tape: &Tape<f64>, p: &[Var<f64>]| {
        cross_entropy(&mlp.forward(p, &tape.constant(&x)), &labels)
    };
    let theta: Vec<Tensor<f64>> = mlp.parameters().into_iter().cloned().collect();
    let h = functional::hessian(f, &theta);
    let n = mlp.parameter_count();
    assert_eq!(h.shape(), &[n, n]);
    for i in 0..n {
        for j in 0..n {
            assert!((h.get(&[i, j]) - h.get(&[j, i])).abs() < 1e-12);
        }
    }
    let v = random_direction(&theta, 6);
    let flat_v: Vec<f64> = v.iter().flat_map(|t| t.to_vec()).collect();
    let hv = h.matmul(&Tensor::from_vec(flat_v, &[n, 1]));
    let from_hvp: Vec<f64> = functional::hvp(f, &theta, &v)
        .iter()
        .flat_map(|t| t.to_vec())
        .collect();
    for (a, b) in hv.as_slice().iter().zip(&from_hvp) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}
