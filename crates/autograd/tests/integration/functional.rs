//! The functional API (`grad`, `value_and_grad`, `vjp`, `jvp`, `hvp`,
//! `vhp`, `hessian`, `jacobian`) on functions with known derivatives, and
//! the tape's behaviour at the edges: unused inputs, constant gradients,
//! reused closures, `f32`.

use crate::common;

use common::{
    flat, max_abs_diff, randn, relative_error, sigmoid_mlp_cross_entropy, sigmoid_mlp_params,
    tanh_mlp_mse, tanh_mlp_params,
};
use curvature_autograd::{functional, GradOptions, Tape, Tensor, Var};

fn sech2(x: f64) -> f64 {
    1.0 - x.tanh().powi(2)
}

/// `f(x, y) = sum(x^2 y) + sum(sin x)`.
fn known(_: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    (&p[0].square() * &p[1]).sum() + p[0].sin().sum()
}

#[test]
fn value_and_grad_match_hand_derivatives() {
    let (x, y) = (randn(&[3], 1), randn(&[3], 2));
    let (xs, ys) = (x.to_vec(), y.to_vec());
    let value: f64 = (0..3).map(|i| xs[i] * xs[i] * ys[i] + xs[i].sin()).sum();
    let gx: Vec<f64> = (0..3).map(|i| 2.0 * xs[i] * ys[i] + xs[i].cos()).collect();
    let gy: Vec<f64> = xs.iter().map(|x| x * x).collect();

    let (v, g) = functional::value_and_grad(known, &[x.clone(), y.clone()]);
    assert_eq!(v.shape(), &[] as &[usize]);
    assert!((v.item() - value).abs() < 1e-14);
    assert!(max_abs_diff(&g[0].to_vec(), &gx) < 1e-14);
    assert!(max_abs_diff(&g[1].to_vec(), &gy) < 1e-14);
    let g2 = functional::grad(known, &[x, y]);
    assert_eq!(g2, g);
}

#[test]
fn vjp_matches_hand_derivatives_of_a_tensor_valued_function() {
    // f(x) = tanh(x) * w, row-broadcast: (v^T J)_ij = v_ij (1 - tanh^2 x_ij) w_j
    let w = randn(&[3], 3);
    let f = |tape: &Tape<f64>, p: &[Var<f64>]| &p[0].tanh() * &tape.constant(randn(&[3], 3));
    let x = randn(&[2, 3], 4);
    let v = randn(&[2, 3], 5);
    let (value, g) = functional::vjp(f, [&x], &v);
    let (xs, vs, ws) = (x.to_vec(), v.to_vec(), w.to_vec());
    let expected_value: Vec<f64> = (0..6).map(|k| xs[k].tanh() * ws[k % 3]).collect();
    let expected: Vec<f64> = (0..6).map(|k| vs[k] * sech2(xs[k]) * ws[k % 3]).collect();
    assert!(max_abs_diff(&value.to_vec(), &expected_value) < 1e-14);
    assert_eq!(g[0].shape(), &[2, 3]);
    assert!(max_abs_diff(&g[0].to_vec(), &expected) < 1e-14);
}

/// `f(a [3], b [2]) = a b^T + sin(a) 1^T`, an `[3, 2]` output.
fn outer(_: &Tape<f64>, p: &[Var<f64>]) -> Var<f64> {
    &(&p[0].unsqueeze(1) * &p[1].unsqueeze(0)) + &p[0].sin().unsqueeze(1)
}

#[test]
fn jacobian_has_shape_output_then_input_and_known_entries() {
    let (a, b) = (randn(&[3], 1), randn(&[2], 2));
    let j = functional::jacobian(outer, &[a.clone(), b.clone()]);
    assert_eq!(j.len(), 2);
    assert_eq!(j[0].shape(), &[3, 2, 3]);
    assert_eq!(j[1].shape(), &[3, 2, 2]);
    for (i, &ai) in a.as_slice().iter().enumerate() {
        for (k, &bk) in b.as_slice().iter().enumerate() {
            for m in 0..3 {
                let expected = if m == i { bk + ai.cos() } else { 0.0 };
                assert!((j[0].get(&[i, k, m]) - expected).abs() < 1e-14);
            }
            for m in 0..2 {
                let expected = if m == k { ai } else { 0.0 };
                assert!((j[1].get(&[i, k, m]) - expected).abs() < 1e-14);
            }
        }
    }
}

#[test]
fn jacobian_of_a_matrix_product_is_the_other_factor() {
    // y = W x with W [2, 3], x [3, 1]: dy_i/dW_kl = [i == k] x_l, dy_i/dx_l = W_il
    let (w, x) = (randn(&[2, 3], 1), randn(&[3, 1], 2));
    let j = functional::jacobian(|_, p| p[0].matmul(&p[1]), &[w.clone(), x.clone()]);
    assert_eq!(j[0].shape(), &[2, 1, 2, 3]);
    assert_eq!(j[1].shape(), &[2, 1, 3, 1]);
    for i in 0..2 {
        for k in 0..2 {
            for l in 0..3 {
                let expected = if i == k { x.get(&[l, 0]) } else { 0.0 };
                assert_eq!(j[0].get(&[i, 0, k, l]), expected);
            }
        }
        for l in 0..3 {
            assert_eq!(j[1].get(&[i, 0, l, 0]), w.get(&[i, l]));
        }
    }
    // a scalar output: the Jacobian is the gradient, with the input's shape
    let j = functional::jacobian(known, &[randn(&[3], 3), randn(&[3], 4)]);
    assert_eq!(j[0].shape(), &[3]);
}

#[test]
fn jvp_equals_the_jacobian_times_the_tangent() {
    let (a, b) = (randn(&[3], 1), randn(&[2], 2));
    let (ta, tb) = (randn(&[3], 3), randn(&[2], 4));
    let (value, jv) = functional::jvp(outer, &[a.clone(), b.clone()], &[ta.clone(), tb.clone()]);
    assert_eq!(jv.shape(), &[3, 2]);
    let j = functional::jacobian(outer, &[a.clone(), b.clone()]);
    let mut expected = vec![0.0; 6];
    for (out, e) in expected.iter_mut().enumerate() {
        *e = (0..3)
            .map(|m| j[0].as_slice()[out * 3 + m] * ta.as_slice()[m])
            .sum::<f64>()
            + (0..2)
                .map(|m| j[1].as_slice()[out * 2 + m] * tb.as_slice()[m])
                .sum::<f64>();
    }
    assert!(max_abs_diff(&jv.to_vec(), &expected) < 1e-14);
    // and the hand formula: d(a_i b_k + sin a_i) = ta_i (b_k + cos a_i) + a_i tb_k
    let (a, b, ta, tb) = (a.to_vec(), b.to_vec(), ta.to_vec(), tb.to_vec());
    for i in 0..3 {
        for k in 0..2 {
            let by_hand = ta[i] * (b[k] + a[i].cos()) + a[i] * tb[k];
            assert!((jv.get(&[i, k]) - by_hand).abs() < 1e-14);
            assert!((value.get(&[i, k]) - (a[i] * b[k] + a[i].sin())).abs() < 1e-14);
        }
    }
}

#[test]
fn vhp_equals_hvp_and_the_hand_hessian() {
    // H of known: d2/dx_i^2 = 2 y_i - sin x_i, d2/dx_i dy_i = 2 x_i, d2/dy^2 = 0
    let (x, y) = (randn(&[3], 1), randn(&[3], 2));
    let (vx, vy) = (randn(&[3], 3), randn(&[3], 4));
    let at = [x.clone(), y.clone()];
    let v = [vx.clone(), vy.clone()];
    let vh = functional::vhp(known, &at, &v);
    let hv = functional::hvp(known, &at, &v);
    assert_eq!(vh, hv);
    let (x, y, vx, vy) = (x.to_vec(), y.to_vec(), vx.to_vec(), vy.to_vec());
    let hx: Vec<f64> = (0..3)
        .map(|i| (2.0 * y[i] - x[i].sin()) * vx[i] + 2.0 * x[i] * vy[i])
        .collect();
    let hy: Vec<f64> = (0..3).map(|i| 2.0 * x[i] * vx[i]).collect();
    assert!(max_abs_diff(&hv[0].to_vec(), &hx) < 1e-14);
    assert!(max_abs_diff(&hv[1].to_vec(), &hy) < 1e-14);
}

#[test]
fn a_closure_stored_in_a_variable_is_reused_by_reference() {
    let data = randn(&[3], 9);
    // f(x) = sum(tanh(x)^2 * d), owning its data: not Copy, so every call
    // below borrows the one closure
    let owned = data.clone();
    let f = move |tape: &Tape<f64>, p: &[Var<f64>]| {
        (&p[0].tanh().square() * &tape.constant(&owned)).sum()
    };
    let second = |x: f64, d: f64| 2.0 * d * sech2(x) * (1.0 - 3.0 * x.tanh().powi(2));
    for seed in [1, 2, 3] {
        let x = randn(&[3], seed);
        let v = randn(&[3], seed + 10);
        let h = functional::hessian(&f, [&x]);
        let hv = functional::hvp(&f, [&x], [&v]);
        let g = functional::grad(&f, [&x]);
        for i in 0..3 {
            let (xi, di) = (x.as_slice()[i], data.as_slice()[i]);
            for j in 0..3 {
                let expected = if i == j { second(xi, di) } else { 0.0 };
                assert!((h.get(&[i, j]) - expected).abs() < 1e-13);
            }
            assert!((hv[0].as_slice()[i] - second(xi, di) * v.as_slice()[i]).abs() < 1e-13);
            let first = 2.0 * di * xi.tanh() * sech2(xi);
            assert!((g[0].as_slice()[i] - first).abs() < 1e-14);
        }
    }
    // the closure is still usable afterwards
    let tape = Tape::new();
    let _ = f(&tape, &[tape.var(&data)]);
}

#[test]
fn inputs_not_on_the_path_get_zero_gradient_hvp_and_hessian() {
    // y is never used; z only through a detached copy
    let f = |_: &Tape<f64>, p: &[Var<f64>]| p[0].powf(3.0).sum() + (&p[0] * &p[2].detach()).sum();
    let at = [randn(&[2], 1), randn(&[3], 2), randn(&[2], 3)];
    let g = functional::grad(f, &at);
    assert_eq!(g[1], Tensor::zeros(&[3]));
    assert_eq!(g[2], Tensor::zeros(&[2]));
    assert!(g[0].to_vec().iter().all(|&d| d != 0.0));
    let v = [randn(&[2], 4), randn(&[3], 5), randn(&[2], 6)];
    let hv = functional::hvp(f, &at, &v);
    assert_eq!(hv[1], Tensor::zeros(&[3]));
    assert_eq!(hv[2], Tensor::zeros(&[2]));
    let x = at[0].to_vec();
    let expected: Vec<f64> = (0..2).map(|i| 6.0 * x[i] * v[0].as_slice()[i]).collect();
    assert!(max_abs_diff(&hv[0].to_vec(), &expected) < 1e-14);
    let h = functional::hessian(f, &at);
    assert_eq!(h.shape(), &[7, 7]);
    for i in 0..7 {
        for j in 0..7 {
            if i >= 2 || j >= 2 {
                assert_eq!(h.get(&[i, j]), 0.0, "H[{i}, {j}]");
            }
        }
    }
}

#[test]
fn inputs_recorded_after_the_output_get_zero_gradient() {
    let tape = Tape::new();
    let x = tape.var(randn(&[3], 1));
    let y = x.square().sum();
    let later = tape.var(randn(&[2], 2));
    let g = tape.grad(&y, [&x, &later]);
    assert_eq!(g[0].to_vec(), x.value().map(|v| 2.0 * v).to_vec());
    assert_eq!(g[1], Tensor::zeros(&[2]));
    let strict = tape.try_grad(&y, [&later], &GradOptions::new().strict(true));
    assert!(strict.is_err());
}

#[test]
fn the_gradient_of_a_linear_function_differentiates_to_zero() {
    let c = randn(&[3], 2);
    let tape = Tape::new();
    let x = tape.var(randn(&[3], 1));
    let y = (&x * &tape.constant(&c)).sum();
    let g = tape.grad_graph(&y, [&x]);
    assert_eq!(g[0].value(), c);
    let again = tape.grad(&g[0].sum(), [&x]);
    assert_eq!(again[0], Tensor::zeros(&[3]));
    let third = tape.grad_graph(&g[0].square().sum(), [&x]);
    assert_eq!(third[0].value(), Tensor::zeros(&[3]));

    let linear = |tape: &Tape<f64>, p: &[Var<f64>]| {
        (&p[0] * &tape.constant(randn(&[3], 2))).sum() + p[0].sum() * 2.0
    };
    let at = [randn(&[3], 3)];
    assert_eq!(functional::hessian(linear, &at), Tensor::zeros(&[3, 3]));
    assert_eq!(
        functional::hvp(linear, &at, &[randn(&[3], 4)])[0],
        Tensor::zeros(&[3])
    );
}

#[test]
fn derivatives_of_any_order_come_from_repeated_grad_graph() {
    // d^k/dx^k sin x cycles through cos, -sin, -cos, sin
    let x0 = randn(&[4], 1);
    let tape = Tape::new();
    let x = tape.var(&x0);
    let mut d = x.sin();
    let expected: [fn(f64) -> f64; 5] = [
        |x| x.cos(),
        |x| -x.sin(),
        |x| -x.cos(),
        |x| x.sin(),
        |x| x.cos(),
    ];
    for (order, derivative) in expected.iter().enumerate() {
        d = tape.grad_graph(&d.sum(), [&x]).remove(0);
        let want: Vec<f64> = x0.to_vec().into_iter().map(derivative).collect();
        assert!(
            max_abs_diff(&d.value().to_vec(), &want) < 1e-14,
            "derivative of order {}",
            order + 1
        );
    }
}

#[test]
fn gradient_with_respect_to_an_intermediate_value() {
    let tape = Tape::new();
    let x = tape.var(randn(&[3], 1));
    let h = x.tanh();
    let y = h.square().sum();
    let g = tape.grad(&y, [&h, &x]);
    let hv = h.value().to_vec();
    assert!(
        max_abs_diff(
            &g[0].to_vec(),
            &hv.iter().map(|h| 2.0 * h).collect::<Vec<_>>()
        ) < 1e-15
    );
    let gx: Vec<f64> = hv.iter().map(|h| 2.0 * h * (1.0 - h * h)).collect();
    assert!(max_abs_diff(&g[1].to_vec(), &gx) < 1e-15);
}

#[test]
fn values_computed_under_no_grad_are_constants() {
    let tape = Tape::new();
    let x = tape.var(randn(&[3], 1));
    let frozen = tape.no_grad(|| x.square());
    assert!(!frozen.requires_grad());
    assert!(x.square().requires_grad());
    let g = tape.grad(&(&frozen * &x).sum(), [&x]);
    assert_eq!(g[0], x.value().square());
}

#[test]
fn f32_derivatives_agree_with_f64() {
    let params = tanh_mlp_params(11);
    let v = common::random_like(&params, 3);
    let as_f32 = |ts: &[Tensor<f64>]| -> Vec<Tensor<f32>> { ts.iter().map(Tensor::cast).collect() };
    let g64 = flat(&functional::grad(tanh_mlp_mse::<f64>, &params));
    let g32 = flat(&functional::grad(tanh_mlp_mse::<f32>, as_f32(&params)));
    let hv64 = flat(&functional::hvp(tanh_mlp_mse::<f64>, &params, &v));
    let hv32 = flat(&functional::hvp(
        tanh_mlp_mse::<f32>,
        as_f32(&params),
        as_f32(&v),
    ));
    let (eg, eh) = (relative_error(&g32, &g64), relative_error(&hv32, &hv64));
    eprintln!("f32 against f64: gradient {eg:.3e}, HVP {eh:.3e}");
    assert!(eg < 1e-5 && eh < 1e-5, "gradient {eg:.3e}, HVP {eh:.3e}");

    let params = sigmoid_mlp_params(21);
    let h64 = functional::hessian(sigmoid_mlp_cross_entropy::<f64>, &params);
    let h32 = functional::hessian(sigmoid_mlp_cross_entropy::<f32>, as_f32(&params));
    let e = relative_error(&h32.to_f64_vec(), &h64.to_vec());
    eprintln!("f32 against f64: Hessian {e:.3e}");
    assert!(e < 1e-5, "Hessian {e:.3e}");
}
