//! The pieces together: data, split, standardisation, batches, an MLP and
//! its loss, trained by plain gradient descent written with tensors.

use curvature_autograd::{seeded_rng, Parameters, Tape};
use curvature_nn::{accuracy, cross_entropy, data, Activation, Mlp, Module, Standardizer};

#[test]
fn an_mlp_learns_two_moons_with_minibatch_sgd() {
    let moons = data::two_moons::<f32>(400, 0.1, 0);
    let (train, test) = moons.train_test_split(0.25, 0).unwrap();
    let scaler = Standardizer::fit(train.features());
    let (train, test) = (
        scaler.transform_dataset(&train),
        scaler.transform_dataset(&test),
    );
    let mut mlp = Mlp::<f32>::new(&[2, 16, 16, 2], Activation::Tanh, 0);
    let mut rng = seeded_rng(1);
    let lr = 0.5_f32;
    let mut first_loss = None;
    let mut last_loss = 0.0;
    for _epoch in 0..60 {
        for (x, y) in train.batches(32, &mut rng) {
            let tape = Tape::new();
            let params = mlp.bind(&tape);
            let logits = mlp.forward(&params, &tape.constant(x));
            let loss = cross_entropy(&logits, y.labels().unwrap());
            let grads = tape.grad(&loss, &params);
            for (p, g) in mlp.parameters_mut().into_iter().zip(&grads) {
                *p = &*p - &g.mul_scalar(lr);
            }
            first_loss.get_or_insert(loss.item());
            last_loss = loss.item();
        }
    }
    assert!(
        last_loss < 0.5 * first_loss.unwrap(),
        "{first_loss:?} -> {last_loss}"
    );
    let test_accuracy = accuracy(&mlp.predict(test.features()), test.labels().unwrap());
    assert!(test_accuracy > 0.95, "test accuracy {test_accuracy}");
}
