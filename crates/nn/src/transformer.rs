//! Sequence models: `Embedding`, `LayerNorm`, `MultiHeadSelfAttention`, a
//! pre-LN `TransformerBlock` and a small `Gpt`, with PyTorch's module
//! layouts and `state_dict` names (those of the reference model in the
//! benchmark harness), so checkpoints move between the two.
//!
//! Every op inside is a composite of recorded primitives, so a gradient,
//! a Hessian-vector product or any higher derivative of a loss through
//! attention and layer norm is exact.
//!
//! ```
//! use curvature_autograd::{Parameters, Tape, Tensor};
//! use curvature_nn::{cross_entropy, Gpt, GptConfig};
//!
//! let config = GptConfig { vocabulary: 10, context: 6, d: 16, heads: 2, layers: 1 };
//! let gpt = Gpt::<f64>::new(config, 0)?;
//! assert_eq!(gpt.parameter_names()[..3], ["tok.weight", "pos.weight", "blocks.0.ln1.weight"]);
//! let ids = Tensor::from_vec(vec![1, 2, 3, 4, 5, 6, 7, 8], &[2, 4]);
//! gpt.check_tokens(&ids)?;
//! let tape = Tape::new();
//! let params = gpt.bind(&tape);
//! let logits = gpt.forward(&params, &ids); // [2, 4, 10]
//! let targets = [2, 3, 4, 5, 6, 7, 8, 9];
//! let loss = cross_entropy(&logits.reshape(&[8, 10]), &targets);
//! let grads = tape.grad(&loss, &params);
//! assert_eq!(grads.len(), gpt.parameters().len());
//! # Ok::<(), curvature_nn::GptError>(())
//! ```

use curvature_autograd::{seeded_rng, Element, ParameterKind, Parameters, Tensor, Var};
use rand::Rng;

use crate::init::normal;
use crate::linear::Linear;
use crate::module::{check_param_count, Module};

/// A bad configuration of a sequence model, or bad data for one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GptError {
    /// The number of heads does not divide the model width.
    #[error("{heads} heads do not divide the model width d = {d}")]
    HeadsDoNotDivide {
        /// The model width.
        d: usize,
        /// The number of heads.
        heads: usize,
    },
    /// A size of the configuration is zero.
    #[error("the configuration's {what} must be positive")]
    ZeroSize {
        /// Which size.
        what: &'static str,
    },
    /// A token id outside the vocabulary.
    #[error(
        "token id {id} at position {position:?} is out of range for a vocabulary of {vocabulary}"
    )]
    TokenOutOfRange {
        /// The id.
        id: usize,
        /// Its index in the token tensor.
        position: Vec<usize>,
        /// The vocabulary size.
        vocabulary: usize,
    },
    /// A sequence longer than the model's context.
    #[error("a sequence of {length} tokens is longer than the context of {context}")]
    TooLong {
        /// The sequence length.
        length: usize,
        /// The context length.
        context: usize,
    },
    /// Tokens that are not `[batch, time]`.
    #[error("tokens of shape {shape:?} must be [batch, time]")]
    TokenShape {
        /// The shape given.
        shape: Vec<usize>,
    },
}

/// `x @ W^T + b` over the last dimension of a value of any rank (a
/// [`Linear`]'s parameters `w`, `b` applied per position).
fn linear_last<T: Element>(x: &Var<T>, w: &Var<T>, b: &Var<T>) -> Var<T> {
    let shape = x.shape();
    let (inner, out) = (shape[shape.len() - 1], w.shape()[0]);
    assert!(
        w.shape().as_slice() == [out, inner],
        "linear: input of shape {shape:?} does not fit a weight of shape {:?}",
        w.shape()
    );
    let rows: usize = shape[..shape.len() - 1].iter().product();
    let y = &x.reshape(&[rows, inner]).matmul_nt(w) + b;
    let mut out_shape = shape.to_vec();
    *out_shape.last_mut().expect("a dimension") = out;
    y.reshape(&out_shape)
}

/// A lookup table of `num_embeddings` vectors of size `dim`, as PyTorch's
/// `nn.Embedding`: `weight` is `[num_embeddings, dim]`, initialised from
/// N(0, 1). Parameter name: `weight`. Its input is token ids, not a `Var`,
/// so it is called through [`Embedding::forward_ids`] rather than
/// [`Module::forward`].
#[derive(Clone, Debug)]
pub struct Embedding<T> {
    weight: Tensor<T>,
}

impl<T: Element> Embedding<T> {
    /// A table with PyTorch's initialisation, N(0, 1).
    pub fn new<R: Rng + ?Sized>(num_embeddings: usize, dim: usize, rng: &mut R) -> Self {
        Self {
            weight: normal(&[num_embeddings, dim], 0.0, 1.0, rng),
        }
    }

    /// A table with the given weight `[num_embeddings, dim]`; panics,
    /// naming its shape, when it is not 2-D.
    pub fn from_tensor(weight: Tensor<T>) -> Self {
        assert!(
            weight.ndim() == 2,
            "Embedding::from_tensor: the weight must be [num_embeddings, dim], got {:?}",
            weight.shape()
        );
        Self { weight }
    }

    /// The number of vectors (the vocabulary).
    pub fn num_embeddings(&self) -> usize {
        self.weight.shape()[0]
    }

    /// The size of each vector.
    pub fn dim(&self) -> usize {
        self.weight.shape()[1]
    }

    /// The weight, `[num_embeddings, dim]`.
    pub fn weight(&self) -> &Tensor<T> {
        &self.weight
    }

    /// The vectors of `ids`, shape `ids.shape() + [dim]`, with `params`
    /// this table's weight bound on the tape. Panics, naming the id, when
    /// one is out of range (see [`Var::embedding`]).
    pub fn forward_ids(&self, params: &[Var<T>], ids: &Tensor<usize>) -> Var<T> {
        check_param_count("Embedding", params, 1);
        params[0].embedding(ids)
    }
}

impl<T: Element> Parameters<T> for Embedding<T> {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        vec![&self.weight]
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        vec![&mut self.weight]
    }

    fn parameter_names(&self) -> Vec<String> {
        vec!["weight".to_string()]
    }
}

/// Layer normalisation over the last dimension, as PyTorch's
/// `nn.LayerNorm(d)`: `(x - mean) / sqrt(var + eps) * weight + bias`, with
/// `weight` ones and `bias` zeros at first and `eps` 1e-5. Parameter
/// names: `weight`, `bias`.
#[derive(Clone, Debug)]
pub struct LayerNorm<T> {
    weight: Tensor<T>,
    bias: Tensor<T>,
    eps: f64,
}

impl<T: Element> LayerNorm<T> {
    /// A layer over `d` features with PyTorch's defaults.
    pub fn new(d: usize) -> Self {
        Self {
            weight: Tensor::ones(&[d]),
            bias: Tensor::zeros(&[d]),
            eps: 1e-5,
        }
    }

    /// The same layer with another `eps`.
    #[must_use]
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// The number of features.
    pub fn features(&self) -> usize {
        self.weight.numel()
    }

    /// The constant added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }
}

impl<T: Element> Parameters<T> for LayerNorm<T> {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        vec![&self.weight, &self.bias]
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        vec![&mut self.weight, &mut self.bias]
    }

    fn parameter_names(&self) -> Vec<String> {
        vec!["weight".to_string(), "bias".to_string()]
    }

    fn parameter_kinds(&self) -> Vec<ParameterKind> {
        vec![ParameterKind::Other, ParameterKind::Bias]
    }
}

impl<T: Element> Module<T> for LayerNorm<T> {
    /// Panics, naming the shapes, when `x`'s last dimension is not the
    /// layer's number of features.
    fn forward(&self, params: &[Var<T>], x: &Var<T>) -> Var<T> {
        check_param_count("LayerNorm", params, 2);
        x.layer_norm(Some(&params[0]), Some(&params[1]), self.eps)
    }

    fn num_parameter_tensors(&self) -> usize {
        2
    }
}

/// Multi-head self-attention over `[batch, time, d]`, laid out as the
/// reference model: one `qkv` [`Linear`] `d -> 3d` (queries, keys and
/// values, in that order along its output) and one output projection
/// `proj` `d -> d`; scores `q k^T / sqrt(d / heads)`, softmax over the
/// keys (only the earlier ones when causal). Parameter names:
/// `qkv.weight`, `qkv.bias`, `proj.weight`, `proj.bias`.
#[derive(Clone, Debug)]
pub struct MultiHeadSelfAttention<T> {
    qkv: Linear<T>,
    proj: Linear<T>,
    heads: usize,
    causal: bool,
}

impl<T: Element> MultiHeadSelfAttention<T> {
    /// Attention of width `d` with `heads` heads, PyTorch's `Linear`
    /// initialisation (`qkv` drawn first). Errors when `heads` does not
    /// divide `d` or either is zero.
    pub fn new<R: Rng + ?Sized>(
        d: usize,
        heads: usize,
        causal: bool,
        rng: &mut R,
    ) -> Result<Self, GptError> {
        if d == 0 {
            return Err(GptError::ZeroSize { what: "width d" });
        }
        if heads == 0 || d % heads != 0 {
            return Err(GptError::HeadsDoNotDivide { d, heads });
        }
        let qkv = Linear::new(d, 3 * d, rng);
        let proj = Linear::new(d, d, rng);
        Ok(Self {
            qkv,
            proj,
            heads,
            causal,
        })
    }

    /// The model width.
    pub fn d(&self) -> usize {
        self.proj.out_features()
    }

    /// The number of heads.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// Whether each position sees only itself and earlier ones.
    pub fn causal(&self) -> bool {
        self.causal
    }
}

impl<T: Element> Parameters<T> for MultiHeadSelfAttention<T> {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        let mut p = self.qkv.parameters();
        p.extend(self.proj.parameters());
        p
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        let mut p = self.qkv.parameters_mut();
        p.extend(self.proj.parameters_mut());
        p
    }

    fn parameter_names(&self) -> Vec<String> {
        ["qkv.weight", "qkv.bias", "proj.weight", "proj.bias"]
            .map(String::from)
            .to_vec()
    }

    fn parameter_kinds(&self) -> Vec<ParameterKind> {
        let mut k = self.qkv.parameter_kinds();
        k.extend(self.proj.parameter_kinds());
        k
    }
}

impl<T: Element> MultiHeadSelfAttention<T> {
    /// [`Module::forward`] after the positions held in `past` (the keys
    /// and values `[batch, heads, p, dh]` of the `p` positions read before,
    /// or `None` at the start): the new positions attend to those and, if
    /// causal, to the new ones up to themselves. `past` becomes the keys
    /// and values of all the positions read. Panics, naming the shapes,
    /// unless `x` is `[batch, time, d]`.
    pub fn forward_cached(
        &self,
        params: &[Var<T>],
        x: &Var<T>,
        past: &mut Option<(Tensor<T>, Tensor<T>)>,
    ) -> Var<T> {
        check_param_count("MultiHeadSelfAttention", params, 4);
        let shape = x.shape();
        let d = self.d();
        assert!(
            shape.len() == 3 && shape[2] == d,
            "MultiHeadSelfAttention(d={d}, heads={}): input of shape {:?} must be [batch, time, {d}]",
            self.heads,
            shape.as_slice()
        );
        let (b, t, h) = (shape[0], shape[1], self.heads);
        let dh = d / h;
        let qkv = linear_last(x, &params[0], &params[1]);
        let heads = |u: &Var<T>| u.reshape(&[b, t, h, dh]).permute(&[0, 2, 1, 3]);
        let parts = qkv.split(d, 2);
        let (q, mut k, mut v) = (heads(&parts[0]), heads(&parts[1]), heads(&parts[2]));
        if let Some((old_k, old_v)) = past.take() {
            let tape = x.tape();
            k = Var::concat([&tape.constant(old_k), &k], 2);
            v = Var::concat([&tape.constant(old_v), &v], 2);
        }
        *past = Some((k.value(), v.value()));
        // the new positions are the last t of the `keys` read
        let keys = k.shape()[2];
        let before = keys - t;
        let scores = q
            .matmul_nt(&k)
            .mul_scalar(T::from_f64(1.0 / (dh as f64).sqrt()));
        let att = if self.causal {
            let mask = (0..t * keys)
                .map(|n| n % keys <= before + n / keys)
                .collect();
            scores.masked_softmax(3, &Tensor::from_vec(mask, &[t, keys]))
        } else {
            scores.softmax(3)
        };
        let y = att.matmul(&v).permute(&[0, 2, 1, 3]).reshape(&[b, t, d]);
        linear_last(&y, &params[2], &params[3])
    }
}

impl<T: Element> Module<T> for MultiHeadSelfAttention<T> {
    /// Panics, naming the shapes, unless `x` is `[batch, time, d]`.
    fn forward(&self, params: &[Var<T>], x: &Var<T>) -> Var<T> {
        self.forward_cached(params, x, &mut None)
    }

    fn num_parameter_tensors(&self) -> usize {
        4
    }
}

/// A pre-LN transformer block, as the reference model's `Block`:
/// `x + proj(attention(ln1(x)))`, then `x + fc2(gelu(fc1(ln2(x))))` with
/// the exact GELU and a hidden width of `4 d`. Parameter names, in
/// PyTorch's registration order: `ln1.*`, `ln2.*`, `qkv.*`, `proj.*`,
/// `fc1.*`, `fc2.*` (each `weight` then `bias`).
#[derive(Clone, Debug)]
pub struct TransformerBlock<T> {
    ln1: LayerNorm<T>,
    ln2: LayerNorm<T>,
    attention: MultiHeadSelfAttention<T>,
    fc1: Linear<T>,
    fc2: Linear<T>,
}

impl<T: Element> TransformerBlock<T> {
    /// A block of width `d` with `heads` heads, causal or not; the layers
    /// are drawn in PyTorch's order (`qkv`, `proj`, `fc1`, `fc2`). Errors
    /// when `heads` does not divide `d`.
    pub fn new<R: Rng + ?Sized>(
        d: usize,
        heads: usize,
        causal: bool,
        rng: &mut R,
    ) -> Result<Self, GptError> {
        let attention = MultiHeadSelfAttention::new(d, heads, causal, rng)?;
        let fc1 = Linear::new(d, 4 * d, rng);
        let fc2 = Linear::new(4 * d, d, rng);
        Ok(Self {
            ln1: LayerNorm::new(d),
            ln2: LayerNorm::new(d),
            attention,
            fc1,
            fc2,
        })
    }

    /// The attention layer.
    pub fn attention(&self) -> &MultiHeadSelfAttention<T> {
        &self.attention
    }
}

impl<T: Element> Parameters<T> for TransformerBlock<T> {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        let mut p = self.ln1.parameters();
        p.extend(self.ln2.parameters());
        p.extend(self.attention.parameters());
        p.extend(self.fc1.parameters());
        p.extend(self.fc2.parameters());
        p
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        let mut p = self.ln1.parameters_mut();
        p.extend(self.ln2.parameters_mut());
        p.extend(self.attention.parameters_mut());
        p.extend(self.fc1.parameters_mut());
        p.extend(self.fc2.parameters_mut());
        p
    }

    fn parameter_names(&self) -> Vec<String> {
        let prefixed = |prefix: &str, m: &dyn Parameters<T>| {
            m.parameter_names()
                .into_iter()
                .map(|n| format!("{prefix}.{n}"))
                .collect::<Vec<_>>()
        };
        let mut names = prefixed("ln1", &self.ln1);
        names.extend(prefixed("ln2", &self.ln2));
        names.extend(self.attention.parameter_names());
        names.extend(prefixed("fc1", &self.fc1));
        names.extend(prefixed("fc2", &self.fc2));
        names
    }

    fn parameter_kinds(&self) -> Vec<ParameterKind> {
        let mut k = self.ln1.parameter_kinds();
        k.extend(self.ln2.parameter_kinds());
        k.extend(self.attention.parameter_kinds());
        k.extend(self.fc1.parameter_kinds());
        k.extend(self.fc2.parameter_kinds());
        k
    }
}

impl<T: Element> TransformerBlock<T> {
    /// [`Module::forward`] after the positions whose attention keys and
    /// values `past` holds (see [`MultiHeadSelfAttention::forward_cached`]).
    pub fn forward_cached(
        &self,
        params: &[Var<T>],
        x: &Var<T>,
        past: &mut Option<(Tensor<T>, Tensor<T>)>,
    ) -> Var<T> {
        check_param_count("TransformerBlock", params, 12);
        let attended =
            self.attention
                .forward_cached(&params[4..8], &self.ln1.forward(&params[0..2], x), past);
        let x = x + &attended;
        let hidden = linear_last(&self.ln2.forward(&params[2..4], &x), &params[8], &params[9]);
        &x + &linear_last(&hidden.gelu(), &params[10], &params[11])
    }
}

impl<T: Element> Module<T> for TransformerBlock<T> {
    /// Panics, naming the shapes, unless `x` is `[batch, time, d]`.
    fn forward(&self, params: &[Var<T>], x: &Var<T>) -> Var<T> {
        self.forward_cached(params, x, &mut None)
    }

    fn num_parameter_tensors(&self) -> usize {
        12
    }
}

/// The attention keys and values of the positions a [`Gpt`] has read, per
/// block: with it the model reads a sequence a few positions at a time
/// (greedy decoding) without recomputing the earlier ones
/// ([`Gpt::forward_cached`]).
#[derive(Clone, Debug)]
pub struct KvCache<T> {
    layers: Vec<Option<(Tensor<T>, Tensor<T>)>>,
    len: usize,
}

impl<T> Default for KvCache<T> {
    fn default() -> Self {
        Self {
            layers: Vec::new(),
            len: 0,
        }
    }
}

impl<T> KvCache<T> {
    /// An empty cache: nothing read yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of positions read.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been read.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The sizes of a [`Gpt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GptConfig {
    /// The number of distinct tokens.
    pub vocabulary: usize,
    /// The longest sequence (the number of learned positions).
    pub context: usize,
    /// The model width.
    pub d: usize,
    /// Attention heads per block (must divide `d`).
    pub heads: usize,
    /// The number of blocks.
    pub layers: usize,
}

/// A small GPT, the reference model of the benchmark harness: token and
/// learned position embeddings (`tok`, `pos`), `layers` causal pre-LN
/// [`TransformerBlock`]s (`blocks.{i}`), a final [`LayerNorm`] (`ln`) and
/// a [`Linear`] head (`head`) to logits over the vocabulary.
///
/// Parameter names are the PyTorch module's `state_dict` keys, in its
/// order. The PyTorch module also registers each block's causal mask as a
/// buffer (`blocks.{i}.mask`); it is not a parameter, and is rebuilt here
/// from the sequence length, so a file of parameters (`named_parameters`,
/// or the `state_dict` without the masks, loaded back with
/// `strict=False`) moves between the two.
#[derive(Clone, Debug)]
pub struct Gpt<T> {
    config: GptConfig,
    tok: Embedding<T>,
    pos: Embedding<T>,
    blocks: Vec<TransformerBlock<T>>,
    ln: LayerNorm<T>,
    head: Linear<T>,
}

impl<T: Element> Gpt<T> {
    /// A model of `config` with PyTorch's default initialisations, drawn
    /// from `seed` in PyTorch's order (`tok`, `pos`, each block, `head`).
    /// Errors when a size is zero or `heads` does not divide `d`.
    pub fn new(config: GptConfig, seed: u64) -> Result<Self, GptError> {
        for (what, n) in [
            ("vocabulary", config.vocabulary),
            ("context", config.context),
            ("width d", config.d),
            ("number of layers", config.layers),
        ] {
            if n == 0 {
                return Err(GptError::ZeroSize { what });
            }
        }
        let GptConfig {
            vocabulary,
            context,
            d,
            heads,
            layers,
        } = config;
        if heads == 0 || d % heads != 0 {
            return Err(GptError::HeadsDoNotDivide { d, heads });
        }
        let mut rng = seeded_rng(seed);
        let tok = Embedding::new(vocabulary, d, &mut rng);
        let pos = Embedding::new(context, d, &mut rng);
        let blocks = (0..layers)
            .map(|_| TransformerBlock::new(d, heads, true, &mut rng))
            .collect::<Result<Vec<_>, _>>()?;
        let head = Linear::new(d, vocabulary, &mut rng);
        Ok(Self {
            config,
            tok,
            pos,
            blocks,
            ln: LayerNorm::new(d),
            head,
        })
    }

    /// The model's sizes.
    pub fn config(&self) -> GptConfig {
        self.config
    }

    /// Checks data from outside: `ids` must be `[batch, time]` with `time`
    /// at most the context and every id in the vocabulary.
    pub fn check_tokens(&self, ids: &Tensor<usize>) -> Result<(), GptError> {
        let shape = ids.shape();
        if shape.len() != 2 {
            return Err(GptError::TokenShape {
                shape: shape.to_vec(),
            });
        }
        if shape[1] > self.config.context {
            return Err(GptError::TooLong {
                length: shape[1],
                context: self.config.context,
            });
        }
        let vocabulary = self.config.vocabulary;
        if let Some(n) = ids.to_vec().iter().position(|&id| id >= vocabulary) {
            return Err(GptError::TokenOutOfRange {
                id: ids.to_vec()[n],
                position: vec![n / shape[1], n % shape[1]],
                vocabulary,
            });
        }
        Ok(())
    }

    /// The logits `[batch, time, vocabulary]` of `ids` `[batch, time]`,
    /// with `params` the model's parameters bound on a tape. Panics with
    /// the message of [`Gpt::check_tokens`] on bad tokens (check data from
    /// outside with it first).
    pub fn forward(&self, params: &[Var<T>], ids: &Tensor<usize>) -> Var<T> {
        self.forward_cached(params, ids, &mut KvCache::new())
    }

    /// [`Gpt::forward`] of `ids` `[batch, time]` as the positions that
    /// follow those `cache` holds (read by earlier calls with the same
    /// batch), which are not computed again; `cache` then holds all of
    /// them. Panics, naming both, when the positions read would exceed the
    /// context, and as [`Gpt::forward`] otherwise.
    ///
    /// ```
    /// use curvature_autograd::Tensor;
    /// use curvature_nn::{Gpt, GptConfig, KvCache};
    /// let config = GptConfig { vocabulary: 5, context: 4, d: 8, heads: 2, layers: 1 };
    /// let model = Gpt::<f64>::new(config, 0).unwrap();
    /// let ids = Tensor::from_vec(vec![1, 4, 2], &[1, 3]);
    /// let whole = model.logits(&ids);
    /// let mut cache = KvCache::new();
    /// let _ = model.logits_cached(&Tensor::from_vec(vec![1, 4], &[1, 2]), &mut cache);
    /// let last = model.logits_cached(&Tensor::from_vec(vec![2], &[1, 1]), &mut cache);
    /// let (a, b) = (whole.get(&[0, 2, 3]), last.get(&[0, 0, 3]));
    /// assert!((a - b).abs() < 1e-12);
    /// ```
    pub fn forward_cached(
        &self,
        params: &[Var<T>],
        ids: &Tensor<usize>,
        cache: &mut KvCache<T>,
    ) -> Var<T> {
        check_param_count("Gpt", params, self.parameters().len());
        if let Err(e) = self.check_tokens(ids) {
            panic!("Gpt: {e}");
        }
        let (start, t) = (cache.len, ids.shape()[1]);
        assert!(
            start + t <= self.config.context,
            "Gpt: {t} positions after the {start} read are beyond the context of {}",
            self.config.context
        );
        cache.layers.resize(self.blocks.len(), None);
        let positions = Tensor::from_vec((start..start + t).collect(), &[t]);
        let mut x = &self.tok.forward_ids(&params[0..1], ids)
            + &self.pos.forward_ids(&params[1..2], &positions);
        let mut at = 2;
        for (block, past) in self.blocks.iter().zip(&mut cache.layers) {
            x = block.forward_cached(&params[at..at + 12], &x, past);
            at += 12;
        }
        cache.len += t;
        let x = self.ln.forward(&params[at..at + 2], &x);
        linear_last(&x, &params[at + 2], &params[at + 3])
    }

    /// The logits of `ids` with the model's own parameters, nothing
    /// recorded for a derivative.
    pub fn logits(&self, ids: &Tensor<usize>) -> Tensor<T> {
        let tape = curvature_autograd::Tape::new();
        let params: Vec<Var<T>> = self
            .parameters()
            .into_iter()
            .map(|p| tape.constant(p))
            .collect();
        self.forward(&params, ids).value()
    }

    /// [`Gpt::forward_cached`] with the model's own parameters, nothing
    /// recorded for a derivative.
    pub fn logits_cached(&self, ids: &Tensor<usize>, cache: &mut KvCache<T>) -> Tensor<T> {
        let tape = curvature_autograd::Tape::new();
        let params: Vec<Var<T>> = self
            .parameters()
            .into_iter()
            .map(|p| tape.constant(p))
            .collect();
        self.forward_cached(&params, ids, cache).value()
    }
}

impl<T: Element> Parameters<T> for Gpt<T> {
    fn parameters(&self) -> Vec<&Tensor<T>> {
        let mut p = self.tok.parameters();
        p.extend(self.pos.parameters());
        for b in &self.blocks {
            p.extend(b.parameters());
        }
        p.extend(self.ln.parameters());
        p.extend(self.head.parameters());
        p
    }

    fn parameters_mut(&mut self) -> Vec<&mut Tensor<T>> {
        let mut p = self.tok.parameters_mut();
        p.extend(self.pos.parameters_mut());
        for b in &mut self.blocks {
            p.extend(b.parameters_mut());
        }
        p.extend(self.ln.parameters_mut());
        p.extend(self.head.parameters_mut());
        p
    }

    fn parameter_names(&self) -> Vec<String> {
        let mut names = vec!["tok.weight".to_string(), "pos.weight".to_string()];
        for (i, b) in self.blocks.iter().enumerate() {
            names.extend(
                b.parameter_names()
                    .into_iter()
                    .map(|n| format!("blocks.{i}.{n}")),
            );
        }
        names.extend(["ln.weight", "ln.bias", "head.weight", "head.bias"].map(String::from));
        names
    }

    fn parameter_kinds(&self) -> Vec<ParameterKind> {
        let mut k = vec![ParameterKind::Other; 2];
        for b in &self.blocks {
            k.extend(b.parameter_kinds());
        }
        k.extend(self.ln.parameter_kinds());
        k.extend(self.head.parameter_kinds());
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvature_autograd::{gradcheck, gradgradcheck, CheckOptions, Tape};

    fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
        Tensor::randn(shape, 0.0, 1.0, &mut seeded_rng(seed))
    }

    /// gradcheck and gradgradcheck of `f` over the input and parameters.
    fn check(what: &str, f: impl Fn(&Tape<f64>, &[Var<f64>]) -> Var<f64>, inputs: &[Tensor<f64>]) {
        let options = CheckOptions::default();
        let first = gradcheck(&f, inputs, &options);
        assert!(first.passed, "{what}: gradcheck {first}");
        let second = gradgradcheck(&f, inputs, &options);
        assert!(second.passed, "{what}: gradgradcheck {second}");
    }

    #[test]
    fn attention_causal_or_not_is_correct_to_second_order() {
        for causal in [true, false] {
            let att = MultiHeadSelfAttention::<f64>::new(4, 2, causal, &mut seeded_rng(1)).unwrap();
            let mut inputs = vec![randn(&[1, 3, 4], 2)];
            inputs.extend(att.parameters().into_iter().cloned());
            check(
                &format!("attention, causal {causal}"),
                |_, p| att.forward(&p[1..], &p[0]).sin(),
                &inputs,
            );
        }
    }

    #[test]
    fn causal_attention_does_not_look_ahead() {
        let att = MultiHeadSelfAttention::<f64>::new(4, 2, true, &mut seeded_rng(3)).unwrap();
        let x = randn(&[1, 4, 4], 4);
        let mut changed = x.to_vec();
        for v in &mut changed[12..] {
            *v += 1.0; // the last position only
        }
        let (a, b) = (
            att.predict(&x),
            att.predict(&Tensor::from_vec(changed, &[1, 4, 4])),
        );
        assert_eq!(a.to_vec()[..12], b.to_vec()[..12]);
        assert_ne!(a.to_vec()[12..], b.to_vec()[12..]);
    }

    #[test]
    fn a_block_is_correct_to_second_order_and_names_its_parameters_as_pytorch() {
        let block = TransformerBlock::<f64>::new(4, 2, true, &mut seeded_rng(5)).unwrap();
        assert_eq!(
            block.parameter_names(),
            [
                "ln1.weight",
                "ln1.bias",
                "ln2.weight",
                "ln2.bias",
                "qkv.weight",
                "qkv.bias",
                "proj.weight",
                "proj.bias",
                "fc1.weight",
                "fc1.bias",
                "fc2.weight",
                "fc2.bias"
            ]
        );
        let shapes: Vec<&[usize]> = block.parameters().iter().map(|p| p.shape()).collect();
        assert_eq!(shapes[4], &[12, 4]);
        assert_eq!(shapes[8], &[16, 4]);
        let mut inputs = vec![randn(&[2, 2, 4], 6)];
        inputs.extend(block.parameters().into_iter().cloned());
        check(
            "block",
            |_, p| block.forward(&p[1..], &p[0]).sum_dim(2, false),
            &inputs,
        );
    }

    #[test]
    fn embedding_and_layer_norm_modules_match_their_ops() {
        let table = Embedding::<f64>::new(5, 3, &mut seeded_rng(7));
        assert_eq!((table.num_embeddings(), table.dim()), (5, 3));
        let ids = Tensor::from_vec(vec![4, 0], &[2]);
        let tape = Tape::new();
        let rows = table.forward_ids(&table.bind(&tape), &ids).value();
        assert_eq!(rows.to_vec()[..3], table.weight().to_vec()[12..]);
        let ln = LayerNorm::<f64>::new(3);
        let x = randn(&[4, 3], 8);
        let y = ln.predict(&x);
        for r in 0..4 {
            let row: Vec<f64> = (0..3).map(|j| y.get(&[r, j])).collect();
            let input: Vec<f64> = (0..3).map(|j| x.get(&[r, j])).collect();
            let mean = input.iter().sum::<f64>() / 3.0;
            let var_in = input.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 3.0;
            assert!(row.iter().sum::<f64>().abs() < 1e-12);
            // the biased variance of the output is var / (var + eps)
            let var = row.iter().map(|v| v * v).sum::<f64>() / 3.0;
            assert!((var - var_in / (var_in + 1e-5)).abs() < 1e-12, "{var}");
        }
    }

    #[test]
    fn heads_that_do_not_divide_d_are_an_error() {
        let e = MultiHeadSelfAttention::<f64>::new(6, 4, true, &mut seeded_rng(0)).unwrap_err();
        assert_eq!(e, GptError::HeadsDoNotDivide { d: 6, heads: 4 });
        assert!(TransformerBlock::<f64>::new(6, 0, true, &mut seeded_rng(0)).is_err());
    }

    #[test]
    #[should_panic(
        expected = "MultiHeadSelfAttention(d=4, heads=2): input of shape [3, 4] must be [batch, time, 4]"
    )]
    fn attention_of_a_wrong_shape_names_it() {
        let att = MultiHeadSelfAttention::<f64>::new(4, 2, true, &mut seeded_rng(0)).unwrap();
        att.predict(&Tensor::zeros(&[3, 4]));
    }
}
