//! Greedy decoding with a key-value cache: the model reads one position
//! at a time, and each block keeps the keys and values of the positions
//! already read, so appending a token costs one position's work rather
//! than a pass over the whole sequence (15 position-passes for a sort
//! answer instead of 92).
//!
//! This is [`Gpt::forward`]'s computation, written out per position from
//! the model's parameters (in its `parameters()` order) with the same
//! recorded ops on constants, so nothing is kept for a derivative; the
//! tests check that its logits match the model's at every position.

use curvature::autograd::{Parameters, Tape, Tensor, Var};
use curvature::nn::Gpt;

/// Parameter tensors per block: ln1, ln2 (weight, bias each), qkv, proj,
/// fc1, fc2 (weight, bias each).
const PER_BLOCK: usize = 12;
/// The epsilon of every layer norm of [`Gpt`] (PyTorch's default).
const LAYER_NORM_EPS: f64 = 1e-5;

/// `x @ W^T + b` over the last dimension of a `[rows, in]` value.
fn linear(x: &Var<f32>, w: &Var<f32>, b: &Var<f32>) -> Var<f32> {
    &x.matmul_nt(w) + b
}

/// A model reading sequences position by position.
pub struct Decoder<'m> {
    model: &'m Gpt<f32>,
    /// Per block, the keys and values read so far, `[rows, heads, t, dh]`.
    keys: Vec<Option<Tensor<f32>>>,
    values: Vec<Option<Tensor<f32>>>,
    position: usize,
}

impl<'m> Decoder<'m> {
    /// A decoder of `model`, before the first position.
    pub fn new(model: &'m Gpt<f32>) -> Self {
        let layers = model.config().layers;
        Self {
            model,
            keys: vec![None; layers],
            values: vec![None; layers],
            position: 0,
        }
    }

    /// Reads the next token of each row (`tokens.len()` rows, the same
    /// number at every call) and returns the logits of the next one,
    /// `[rows, vocabulary]`. Panics when the context is full or a token
    /// is out of the vocabulary.
    pub fn step(&mut self, tokens: &[usize]) -> Tensor<f32> {
        let config = self.model.config();
        assert!(
            self.position < config.context,
            "Decoder::step: position {} is beyond the context of {}",
            self.position,
            config.context
        );
        let (rows, d, heads) = (tokens.len(), config.d, config.heads);
        let dh = d / heads;
        // A tape of constants per position, dropped at its end: no op is
        // recorded, and only the cache outlives the step.
        let tape = Tape::new();
        let p: Vec<Var<f32>> = self
            .model
            .parameters()
            .into_iter()
            .map(|t| tape.constant(t))
            .collect();
        let ids = Tensor::from_vec(tokens.to_vec(), &[rows]);
        let position = Tensor::from_vec(vec![self.position], &[1]);
        let mut x = &p[0].embedding(&ids) + &p[1].embedding(&position);
        let scale = 1.0 / (dh as f32).sqrt();
        for layer in 0..config.layers {
            let b = &p[2 + PER_BLOCK * layer..2 + PER_BLOCK * (layer + 1)];
            let h = x.layer_norm(Some(&b[0]), Some(&b[1]), LAYER_NORM_EPS);
            let qkv = linear(&h, &b[4], &b[5]);
            let heads_of = |u: &Var<f32>| u.reshape(&[rows, heads, 1, dh]);
            let parts = qkv.split(d, 1);
            let (q, k, v) = (
                heads_of(&parts[0]),
                heads_of(&parts[1]),
                heads_of(&parts[2]),
            );
            let append = |cache: &mut Option<Tensor<f32>>, new: Var<f32>| {
                let all = match cache.take() {
                    Some(old) => Var::concat([&tape.constant(old), &new], 2),
                    None => new,
                };
                *cache = Some(all.value());
                all
            };
            let keys = append(&mut self.keys[layer], k);
            let values = append(&mut self.values[layer], v);
            let t = keys.shape()[2];
            let every = Tensor::from_vec(vec![true; t], &[1, t]);
            let attention = q
                .matmul_nt(&keys)
                .mul_scalar(scale)
                .masked_softmax(3, &every);
            let y = attention.matmul(&values).reshape(&[rows, d]);
            x = &x + &linear(&y, &b[6], &b[7]);
            let h = x.layer_norm(Some(&b[2]), Some(&b[3]), LAYER_NORM_EPS);
            x = &x + &linear(&linear(&h, &b[8], &b[9]).gelu(), &b[10], &b[11]);
        }
        self.position += 1;
        let at = 2 + PER_BLOCK * config.layers;
        let x = x.layer_norm(Some(&p[at]), Some(&p[at + 1]), LAYER_NORM_EPS);
        linear(&x, &p[at + 2], &p[at + 3]).value()
    }
}

/// The greedy continuation of `prompts` (`rows` prompts of equal length,
/// flattened) by `answer_len` tokens, flattened `[rows, answer_len]`.
pub fn greedy(model: &Gpt<f32>, prompts: &[usize], rows: usize, answer_len: usize) -> Vec<usize> {
    let prompt_len = prompts.len() / rows.max(1);
    let mut decoder = Decoder::new(model);
    let column =
        |k: usize| -> Vec<usize> { (0..rows).map(|r| prompts[r * prompt_len + k]).collect() };
    let mut logits = None;
    for k in 0..prompt_len {
        logits = Some(decoder.step(&column(k)));
    }
    let mut answers = vec![0; rows * answer_len];
    for k in 0..answer_len {
        let next = logits
            .take()
            .expect("a prompt of at least one token")
            .argmax_dim(1)
            .into_vec();
        for (r, &token) in next.iter().enumerate() {
            answers[r * answer_len + k] = token;
        }
        if k + 1 < answer_len {
            logits = Some(decoder.step(&next));
        }
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvature::nn::GptConfig;

    #[test]
    fn cached_logits_match_the_whole_sequence_forward_at_every_position() {
        let config = GptConfig {
            vocabulary: 7,
            context: 6,
            d: 16,
            heads: 4,
            layers: 2,
        };
        let model = Gpt::<f32>::new(config, 3).unwrap();
        let ids: Vec<usize> = (0..18).map(|i| (i * 5 + 1) % 7).collect();
        let full = model.logits(&Tensor::from_vec(ids.clone(), &[3, 6]));
        let mut decoder = Decoder::new(&model);
        for t in 0..6 {
            let column: Vec<usize> = (0..3).map(|r| ids[r * 6 + t]).collect();
            let cached = decoder.step(&column);
            for r in 0..3 {
                for c in 0..7 {
                    let (a, b) = (cached.get(&[r, c]), full.get(&[r, t, c]));
                    assert!(
                        (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                        "{t} {r} {c}: {a} {b}"
                    );
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "beyond the context of 2")]
    fn reading_past_the_context_panics() {
        let config = GptConfig {
            vocabulary: 3,
            context: 2,
            d: 4,
            heads: 1,
            layers: 1,
        };
        let model = Gpt::<f32>::new(config, 0).unwrap();
        let mut decoder = Decoder::new(&model);
        for _ in 0..3 {
            decoder.step(&[1]);
        }
    }
}
