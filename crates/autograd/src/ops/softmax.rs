//! Softmax, log-softmax and log-sum-exp, composed from recorded ops so that
//! every order of derivative comes for free.

use crate::{Element, Var};

impl<T: Element> Var<T> {
    /// `log(sum(exp(x)))` along `dim`, computed as `m + log(sum(exp(x - m)))`
    /// with `m` the (detached) maximum, so it never overflows. Detaching `m`
    /// is exact: the value does not depend on it, so neither does any derivative.
    pub fn logsumexp(&self, dim: usize, keepdim: bool) -> Var<T> {
        let m = self.max_dim(dim, true).detach();
        let lse = &(self - &m).exp().sum_dim(dim, true).log() + &m;
        if keepdim {
            lse
        } else {
            lse.squeeze(dim)
        }
    }

    /// `log(softmax(x))` along `dim`, as `x - logsumexp(x)`: stable for any logits.
    pub fn log_softmax(&self, dim: usize) -> Var<T> {
        self - &self.logsumexp(dim, true)
    }

    /// `exp(x) / sum(exp(x))` along `dim`, stable for any logits.
    pub fn softmax(&self, dim: usize) -> Var<T> {
        self.log_softmax(dim).exp()
    }
}
