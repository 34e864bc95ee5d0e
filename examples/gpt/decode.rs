//! Greedy decoding with a key-value cache ([`KvCache`]): the model reads
//! the prompts at once, then one position at a time, and each block keeps
//! the keys and values of the positions already read, so appending a
//! token costs one position's work rather than a pass over the whole
//! sequence. The tests check that its logits match the whole sequence's
//! forward at every position.

use curvature::autograd::Tensor;
use curvature::nn::{Gpt, KvCache};

/// A model reading sequences a few positions at a time.
pub struct Decoder<'m> {
    model: &'m Gpt<f32>,
    cache: KvCache<f32>,
}

impl<'m> Decoder<'m> {
    /// A decoder of `model`, before the first position.
    pub fn new(model: &'m Gpt<f32>) -> Self {
        Self {
            model,
            cache: KvCache::new(),
        }
    }

    /// Reads the next `len` tokens of each of `rows` rows (`ids` flattened
    /// `[rows, len]`, the same rows at every call) and returns the logits
    /// of the token after them, `[rows, vocabulary]`. Panics when the
    /// context is full or a token is out of the vocabulary.
    pub fn read(&mut self, ids: &[usize], rows: usize) -> Tensor<f32> {
        let len = ids.len() / rows.max(1);
        let logits = self.model.logits_cached(
            &Tensor::from_vec(ids.to_vec(), &[rows, len]),
            &mut self.cache,
        );
        let vocabulary = logits.shape()[2];
        logits
            .narrow(1, len - 1, 1)
            .reshape(&[rows, vocabulary])
            .contiguous()
    }

    /// Reads one token of each row: [`Decoder::read`] of one position.
    pub fn step(&mut self, tokens: &[usize]) -> Tensor<f32> {
        self.read(tokens, tokens.len())
    }
}

/// The greedy continuation of `prompts` (`rows` prompts of equal length,
/// flattened) by `answer_len` tokens, flattened `[rows, answer_len]`.
pub fn greedy(model: &Gpt<f32>, prompts: &[usize], rows: usize, answer_len: usize) -> Vec<usize> {
    let mut decoder = Decoder::new(model);
    let mut logits = (!prompts.is_empty()).then(|| decoder.read(prompts, rows));
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
