//! The loss on a batch, greedy decoding and the held-out metrics of the
//! `gpt` example.
//!
//! Decoding records nothing for a derivative (the parameters are bound as
//! constants), keeps each block's keys and values (`decode.rs`), and runs
//! a chunk of sequences at a time.

use curvature::autograd::{Tape, Var};
use curvature::nn::{cross_entropy, Gpt};

use super::decode;
use super::task::Examples;

/// Sequences evaluated at once. Chunks of 250 keep each activation of
/// the default model within about a megabyte, which the allocator reuses
/// from one chunk to the next; 1,000-sequence tensors were fresh pages,
/// zeroed by the kernel, at every evaluation (the two evaluations of the
/// default sort run took 1.7-1.8 s in one chunk of 1,000, 0.5 s in
/// chunks of 250).
const CHUNK: usize = 250;

/// The mean cross-entropy of the answer tokens of `examples` under the
/// model (parameters `params` bound on a tape), teacher-forced.
pub fn answer_loss(model: &Gpt<f32>, params: &[Var<f32>], examples: &Examples) -> Var<f32> {
    let task = examples.task;
    let (n, a, v) = (examples.len(), task.answer_len(), task.vocabulary());
    let logits = model.forward(params, &examples.inputs());
    // Position prompt_len - 1 predicts the first answer token.
    let answer_logits = logits
        .narrow(1, task.prompt_len() - 1, a)
        .reshape(&[n * a, v]);
    cross_entropy(&answer_logits, &examples.answers)
}

/// The model's greedy answers to the prompts of `examples`, flattened
/// `[len, answer_len]`: each step appends the most likely next token
/// (with a key-value cache, a chunk of sequences at a time).
pub fn greedy_answers(model: &Gpt<f32>, examples: &Examples) -> Vec<usize> {
    let task = examples.task;
    let (p, a) = (task.prompt_len(), task.answer_len());
    let mut answers = Vec::with_capacity(examples.answers.len());
    for start in (0..examples.len()).step_by(CHUNK) {
        let rows = CHUNK.min(examples.len() - start);
        let prompts = &examples.prompts[start * p..(start + rows) * p];
        answers.extend(decode::greedy(model, prompts, rows, a));
    }
    answers
}

/// The held-out figures at one point of training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Optimizer steps taken.
    pub step: u64,
    /// Teacher-forced cross-entropy of the answer tokens.
    pub loss: f64,
    /// The fraction of whole answers decoded exactly.
    pub exact_match: f64,
    /// The fraction of answer tokens decoded right.
    pub token_accuracy: f64,
    /// Wall time from the start of training to the end of this
    /// evaluation (this one and the earlier ones included).
    pub seconds: f64,
}

/// The held-out loss, exact match and per-token accuracy of the model on
/// `examples` (greedy decoding), at `step` and `seconds`.
pub fn evaluate(model: &Gpt<f32>, examples: &Examples, step: u64, seconds: f64) -> Evaluation {
    let a = examples.task.answer_len();
    let decoded = greedy_answers(model, examples);
    let n = examples.len().max(1);
    let exact = decoded
        .chunks(a)
        .zip(examples.answers.chunks(a))
        .filter(|(d, t)| d == t)
        .count();
    let right = decoded
        .iter()
        .zip(&examples.answers)
        .filter(|(d, t)| d == t)
        .count();
    let mut loss = 0.0;
    for start in (0..examples.len()).step_by(CHUNK) {
        let rows = CHUNK.min(examples.len() - start);
        let tape = Tape::new();
        let params: Vec<Var<f32>> = curvature::autograd::Parameters::parameters(model)
            .into_iter()
            .map(|p| tape.constant(p))
            .collect();
        let mean = answer_loss(model, &params, &examples.rows(start, rows)).item();
        loss += f64::from(mean) * rows as f64 / n as f64;
    }
    Evaluation {
        step,
        loss,
        exact_match: exact as f64 / n as f64,
        token_accuracy: right as f64 / (n * a) as f64,
        seconds,
    }
}
