//! The synthetic sequence tasks of the `gpt` example, drawn on the fly
//! from a seeded generator: each example is a prompt and the answer the
//! model must continue it with.
//!
//! - `sort`: 8 digits 0-9, answered with the same digits sorted.
//! - `reverse`: 8 digits 0-9, answered with them in reverse order.
//! - `add`: `abc+def=` (two 3-digit numbers, leading zeros kept), answered
//!   with the 4 digits of the sum, least significant first, so each digit
//!   depends only on the digits of its column and the carry from the
//!   previous one, which the model has just written.
//!
//! A training sequence is the prompt followed by the answer, less its
//! last token; the loss is the cross-entropy of the answer's tokens only
//! (the prompt is random, so predicting it teaches nothing).

use std::collections::HashSet;
use std::fmt;

use clap::ValueEnum;
use curvature::autograd::Tensor;
use rand::{Rng, RngExt};

/// Which task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub enum TaskName {
    /// Sort 8 digits.
    Sort,
    /// Reverse 8 digits.
    Reverse,
    /// Add two 3-digit numbers.
    Add,
}

impl TaskName {
    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sort => "sort",
            Self::Reverse => "reverse",
            Self::Add => "add",
        }
    }
}

impl fmt::Display for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TaskName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        <Self as ValueEnum>::from_str(s, true)
    }
}

/// Digits in a `sort` or `reverse` prompt.
pub const LIST_LENGTH: usize = 8;
/// Digits of each operand of `add`.
pub const ADD_DIGITS: usize = 3;
/// The ids of `add`'s two symbols (after the ten digits).
const PLUS: usize = 10;
const EQUALS: usize = 11;

/// A task with its encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    pub name: TaskName,
    /// A separator token (id 10) between the digits and the answer of
    /// `sort` and `reverse`. It carries no information (the answer always
    /// starts at position 8, which the position embedding already tells),
    /// and the reference PyTorch run has none, so it is off by default.
    /// `add` always has its `+` and `=`.
    pub separator: bool,
}

impl Task {
    /// The task `name`; `separator` applies to `sort` and `reverse` only.
    pub fn new(name: TaskName, separator: bool) -> Self {
        Self {
            name,
            separator: separator && name != TaskName::Add,
        }
    }

    /// The number of distinct tokens.
    pub fn vocabulary(&self) -> usize {
        match self.name {
            TaskName::Sort | TaskName::Reverse => 10 + usize::from(self.separator),
            TaskName::Add => 12,
        }
    }

    /// Tokens of a prompt.
    pub fn prompt_len(&self) -> usize {
        match self.name {
            TaskName::Sort | TaskName::Reverse => LIST_LENGTH + usize::from(self.separator),
            TaskName::Add => 2 * ADD_DIGITS + 2,
        }
    }

    /// Tokens of an answer.
    pub fn answer_len(&self) -> usize {
        match self.name {
            TaskName::Sort | TaskName::Reverse => LIST_LENGTH,
            TaskName::Add => ADD_DIGITS + 1,
        }
    }

    /// The positions the model needs: a prompt and an answer less its
    /// last token (which is predicted, never read).
    pub fn context(&self) -> usize {
        self.prompt_len() + self.answer_len() - 1
    }

    /// One example: `(prompt, answer)`.
    pub fn example<R: Rng + ?Sized>(&self, rng: &mut R) -> (Vec<usize>, Vec<usize>) {
        match self.name {
            TaskName::Sort | TaskName::Reverse => {
                let digits: Vec<usize> =
                    (0..LIST_LENGTH).map(|_| rng.random_range(0..10)).collect();
                let mut answer = digits.clone();
                if self.name == TaskName::Sort {
                    answer.sort_unstable();
                } else {
                    answer.reverse();
                }
                let mut prompt = digits;
                if self.separator {
                    prompt.push(10);
                }
                (prompt, answer)
            }
            TaskName::Add => {
                let limit = 10_usize.pow(ADD_DIGITS as u32);
                let (a, b) = (rng.random_range(0..limit), rng.random_range(0..limit));
                let mut prompt = digits_of(a, ADD_DIGITS);
                prompt.push(PLUS);
                prompt.extend(digits_of(b, ADD_DIGITS));
                prompt.push(EQUALS);
                let mut answer = digits_of(a + b, ADD_DIGITS + 1);
                answer.reverse();
                (prompt, answer)
            }
        }
    }

    /// `n` examples whose prompts are not in `excluded` (the held-out
    /// set), as prompts `[n, prompt_len]` and answers `[n, answer_len]`
    /// flattened row by row.
    pub fn examples<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        n: usize,
        excluded: &HashSet<Vec<usize>>,
    ) -> Examples {
        let mut prompts = Vec::with_capacity(n * self.prompt_len());
        let mut answers = Vec::with_capacity(n * self.answer_len());
        let mut count = 0;
        while count < n {
            let (prompt, answer) = self.example(rng);
            if excluded.contains(&prompt) {
                continue;
            }
            prompts.extend(prompt);
            answers.extend(answer);
            count += 1;
        }
        Examples {
            task: *self,
            prompts,
            answers,
        }
    }

    /// A token as text: a digit, `|` (the separator), `+` or `=`.
    pub fn token_text(&self, token: usize) -> String {
        match (self.name, token) {
            (_, 0..=9) => token.to_string(),
            (TaskName::Add, PLUS) => "+".to_string(),
            (TaskName::Add, EQUALS) => "=".to_string(),
            (_, 10) => "|".to_string(),
            _ => format!("<{token}>"),
        }
    }

    /// An answer as people read it: the digits, and for `add` the sum in
    /// its usual order (the model writes it least significant first).
    pub fn answer_text(&self, answer: &[usize]) -> String {
        let mut tokens: Vec<String> = answer.iter().map(|&t| self.token_text(t)).collect();
        if self.name == TaskName::Add {
            tokens.reverse();
        }
        tokens.concat()
    }

    /// A prompt as people read it.
    pub fn prompt_text(&self, prompt: &[usize]) -> String {
        prompt.iter().map(|&t| self.token_text(t)).collect()
    }
}

/// The `width` decimal digits of `n`, most significant first.
fn digits_of(n: usize, width: usize) -> Vec<usize> {
    (0..width)
        .rev()
        .map(|k| (n / 10_usize.pow(k as u32)) % 10)
        .collect()
}

/// Examples of a task, row by row.
#[derive(Clone, Debug, PartialEq)]
pub struct Examples {
    pub task: Task,
    /// `[len, prompt_len]`, flattened.
    pub prompts: Vec<usize>,
    /// `[len, answer_len]`, flattened.
    pub answers: Vec<usize>,
}

impl Examples {
    /// The number of examples.
    pub fn len(&self) -> usize {
        self.answers.len() / self.task.answer_len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    /// The prompt of example `i`.
    pub fn prompt(&self, i: usize) -> &[usize] {
        let p = self.task.prompt_len();
        &self.prompts[i * p..(i + 1) * p]
    }

    /// The answer of example `i`.
    pub fn answer(&self, i: usize) -> &[usize] {
        let a = self.task.answer_len();
        &self.answers[i * a..(i + 1) * a]
    }

    /// Examples `start..start + len`.
    pub fn rows(&self, start: usize, len: usize) -> Examples {
        let (p, a) = (self.task.prompt_len(), self.task.answer_len());
        Examples {
            task: self.task,
            prompts: self.prompts[start * p..(start + len) * p].to_vec(),
            answers: self.answers[start * a..(start + len) * a].to_vec(),
        }
    }

    /// The prompts of every example, as a set.
    pub fn prompt_set(&self) -> HashSet<Vec<usize>> {
        (0..self.len()).map(|i| self.prompt(i).to_vec()).collect()
    }

    /// What the model reads while learning, `[len, context]`: each prompt
    /// followed by its answer less the last token (teacher forcing).
    pub fn inputs(&self) -> Tensor<usize> {
        let (n, t) = (self.len(), self.task.context());
        let a = self.task.answer_len();
        let mut ids = Vec::with_capacity(n * t);
        for i in 0..n {
            ids.extend_from_slice(self.prompt(i));
            ids.extend_from_slice(&self.answer(i)[..a - 1]);
        }
        Tensor::from_vec(ids, &[n, t])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvature::autograd::seeded_rng;

    #[test]
    fn sort_and_reverse_answer_their_prompt() {
        let mut rng = seeded_rng(1);
        for (name, separator) in [(TaskName::Sort, false), (TaskName::Reverse, true)] {
            let task = Task::new(name, separator);
            let (prompt, answer) = task.example(&mut rng);
            assert_eq!(prompt.len(), task.prompt_len());
            let mut expected = prompt[..LIST_LENGTH].to_vec();
            if name == TaskName::Sort {
                expected.sort_unstable();
            } else {
                expected.reverse();
            }
            assert_eq!(answer, expected);
            assert_eq!(prompt.last() == Some(&10), separator);
        }
    }

    #[test]
    fn add_writes_the_sum_least_significant_digit_first() {
        let task = Task::new(TaskName::Add, true);
        assert!(!task.separator);
        assert_eq!((task.vocabulary(), task.context()), (12, 11));
        let mut rng = seeded_rng(2);
        for _ in 0..100 {
            let (prompt, answer) = task.example(&mut rng);
            let number = |d: &[usize]| d.iter().fold(0, |n, &d| 10 * n + d);
            let (a, b) = (number(&prompt[0..3]), number(&prompt[4..7]));
            assert_eq!((prompt[3], prompt[7]), (PLUS, EQUALS));
            let sum: Vec<usize> = answer.iter().rev().copied().collect();
            assert_eq!(number(&sum), a + b);
            assert_eq!(task.answer_text(&answer), format!("{:04}", a + b));
        }
    }

    #[test]
    fn examples_avoid_the_excluded_prompts_and_feed_the_answer_shifted() {
        let task = Task::new(TaskName::Add, false);
        // exclude everything the first draws would give
        let first = task.examples(&mut seeded_rng(3), 50, &HashSet::new());
        let again = task.examples(&mut seeded_rng(3), 50, &first.prompt_set());
        assert!((0..50).all(|i| !first.prompt_set().contains(again.prompt(i))));
        let inputs = again.inputs();
        assert_eq!(inputs.shape(), &[50, 11]);
        let row: Vec<usize> = (0..11).map(|j| inputs.get(&[7, j])).collect();
        assert_eq!(&row[..8], again.prompt(7));
        assert_eq!(&row[8..], &again.answer(7)[..3]);
        let some = again.rows(7, 2);
        assert_eq!(
            (some.len(), some.prompt(0), some.answer(1)),
            (2, again.prompt(7), again.answer(8))
        );
    }
}
