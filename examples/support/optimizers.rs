//! The four optimizers behind one value chosen at run time, built from
//! command-line hyperparameters with defaults tuned for small MLPs.

use std::fmt;

use clap::ValueEnum;
use curvature::autograd::{Element, Parameters, Tape, Var};
use curvature::optim::{
    AdaHessian, AdaHessianConfig, Adam, AdamConfig, AdamW, AdamWConfig, OptimError, Optimizer,
    OptimizerState, Sgd, SgdConfig,
};

use super::BoxError;

/// Which optimizer to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerKind {
    /// Stochastic gradient descent (with momentum).
    Sgd,
    /// Adam (Kingma & Ba).
    Adam,
    /// Adam with decoupled weight decay.
    #[value(name = "adamw")]
    AdamW,
    /// AdaHessian: Adam with a Hutchinson estimate of the Hessian's diagonal.
    #[value(name = "adahessian")]
    AdaHessian,
}

impl OptimizerKind {
    /// Every optimizer, in the order the comparisons list them.
    pub const ALL: [OptimizerKind; 4] = [Self::Sgd, Self::Adam, Self::AdamW, Self::AdaHessian];

    /// The learning rate used when `--lr` is not given: tuned on the MLPs
    /// of the examples (the library's own defaults are PyTorch's and the
    /// AdaHessian authors').
    pub fn default_lr(self) -> f64 {
        match self {
            Self::Sgd => 0.1,
            Self::Adam | Self::AdamW => 0.01,
            Self::AdaHessian => 0.15,
        }
    }

    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Adam => "adam",
            Self::AdamW => "adamw",
            Self::AdaHessian => "adahessian",
        }
    }
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Hyperparameters from the command line; `None` takes the default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hyperparameters {
    pub lr: Option<f64>,
    pub momentum: Option<f64>,
    pub weight_decay: Option<f64>,
    pub betas: Option<(f64, f64)>,
    pub eps: Option<f64>,
    pub hessian_power: Option<f64>,
    pub update_each: Option<usize>,
    pub n_samples: Option<usize>,
}

impl Hyperparameters {
    /// Refuses a flag that the optimizer does not have, rather than
    /// silently ignoring it.
    fn check_applies_to(&self, kind: OptimizerKind) -> Result<(), BoxError> {
        use OptimizerKind::*;
        let flags: [(&str, bool, &[OptimizerKind]); 6] = [
            ("--momentum", self.momentum.is_some(), &[Sgd]),
            ("--betas", self.betas.is_some(), &[Adam, AdamW, AdaHessian]),
            ("--eps", self.eps.is_some(), &[Adam, AdamW, AdaHessian]),
            (
                "--hessian-power",
                self.hessian_power.is_some(),
                &[AdaHessian],
            ),
            ("--update-each", self.update_each.is_some(), &[AdaHessian]),
            ("--n-samples", self.n_samples.is_some(), &[AdaHessian]),
        ];
        for (flag, given, applies_to) in flags {
            if given && !applies_to.contains(&kind) {
                let names: Vec<&str> = applies_to.iter().map(|k| k.name()).collect();
                return Err(format!(
                    "{flag} does not apply to {kind} (only to {})",
                    names.join(", ")
                )
                .into());
            }
        }
        Ok(())
    }
}

/// One of the four optimizers, chosen at run time. It is itself an
/// [`Optimizer`]: each call is forwarded to the optimizer inside, so the
/// training loop is written once against the trait.
#[derive(Clone, Debug)]
pub enum AnyOptimizer<T> {
    Sgd(Sgd<T>),
    Adam(Adam<T>),
    AdamW(AdamW<T>),
    AdaHessian(AdaHessian<T>),
}

impl<T: Element> AnyOptimizer<T> {
    /// The optimizer `kind` for `params`, with `hyper` over the defaults;
    /// `seed` seeds AdaHessian's Rademacher draws. Errors name a flag that
    /// does not apply or a value out of range.
    pub fn new<P: Parameters<T> + ?Sized>(
        kind: OptimizerKind,
        hyper: &Hyperparameters,
        params: &P,
        seed: u64,
    ) -> Result<Self, BoxError> {
        hyper.check_applies_to(kind)?;
        let lr = hyper.lr.unwrap_or(kind.default_lr());
        let optimizer = match kind {
            OptimizerKind::Sgd => Self::Sgd(Sgd::new(SgdConfig {
                momentum: hyper.momentum.unwrap_or(0.9),
                weight_decay: hyper.weight_decay.unwrap_or(0.0),
                ..SgdConfig::new(lr)
            })?),
            OptimizerKind::Adam => {
                let d = AdamConfig::default();
                Self::Adam(Adam::new(AdamConfig {
                    lr,
                    betas: hyper.betas.unwrap_or(d.betas),
                    eps: hyper.eps.unwrap_or(d.eps),
                    weight_decay: hyper.weight_decay.unwrap_or(d.weight_decay),
                })?)
            }
            OptimizerKind::AdamW => {
                let d = AdamWConfig::default();
                Self::AdamW(AdamW::new(AdamWConfig {
                    lr,
                    betas: hyper.betas.unwrap_or(d.betas),
                    eps: hyper.eps.unwrap_or(d.eps),
                    weight_decay: hyper.weight_decay.unwrap_or(d.weight_decay),
                })?)
            }
            OptimizerKind::AdaHessian => {
                let d = AdaHessianConfig::default();
                let config = AdaHessianConfig {
                    lr,
                    betas: hyper.betas.unwrap_or(d.betas),
                    eps: hyper.eps.unwrap_or(d.eps),
                    weight_decay: hyper.weight_decay.unwrap_or(d.weight_decay),
                    hessian_power: hyper.hessian_power.unwrap_or(d.hessian_power),
                    update_each: hyper.update_each.unwrap_or(d.update_each),
                    n_samples: hyper.n_samples.unwrap_or(d.n_samples),
                    seed,
                    ..d
                };
                Self::AdaHessian(AdaHessian::new(params, config)?)
            }
        };
        Ok(optimizer)
    }

    /// The optimizer and its hyperparameters, for the log.
    pub fn describe(&self) -> String {
        match self {
            Self::Sgd(o) => {
                let c = o.config();
                format!(
                    "sgd (lr {}, momentum {}, weight decay {})",
                    c.lr, c.momentum, c.weight_decay
                )
            }
            Self::Adam(o) => {
                let c = o.config();
                format!(
                    "adam (lr {}, betas ({}, {}), eps {:e}, weight decay {})",
                    c.lr, c.betas.0, c.betas.1, c.eps, c.weight_decay
                )
            }
            Self::AdamW(o) => {
                let c = o.config();
                format!(
                    "adamw (lr {}, betas ({}, {}), eps {:e}, weight decay {})",
                    c.lr, c.betas.0, c.betas.1, c.eps, c.weight_decay
                )
            }
            Self::AdaHessian(o) => {
                let c = o.config();
                format!(
                    "adahessian (lr {}, betas ({}, {}), eps {:e}, weight decay {}, \
                     hessian power {}, update each {}, {} sample{} per estimate)",
                    c.lr,
                    c.betas.0,
                    c.betas.1,
                    c.eps,
                    c.weight_decay,
                    c.hessian_power,
                    c.update_each,
                    c.n_samples,
                    if c.n_samples == 1 { "" } else { "s" }
                )
            }
        }
    }
}

/// Forwards a call to the optimizer inside.
macro_rules! each {
    ($self:expr, $o:ident => $call:expr) => {
        match $self {
            AnyOptimizer::Sgd($o) => $call,
            AnyOptimizer::Adam($o) => $call,
            AnyOptimizer::AdamW($o) => $call,
            AnyOptimizer::AdaHessian($o) => $call,
        }
    };
}

impl<T: Element> Optimizer<T> for AnyOptimizer<T> {
    fn step<P, F>(&mut self, params: &mut P, loss: F) -> Result<T, OptimError>
    where
        P: Parameters<T> + ?Sized,
        F: Fn(&P, &Tape<T>, &[Var<T>]) -> Var<T>,
    {
        each!(self, o => o.step(params, loss))
    }

    fn learning_rate(&self) -> f64 {
        each!(self, o => o.learning_rate())
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError> {
        each!(self, o => o.set_learning_rate(lr))
    }

    fn step_count(&self) -> u64 {
        each!(self, o => o.step_count())
    }

    fn state(&self) -> OptimizerState<T> {
        each!(self, o => o.state())
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<(), OptimError> {
        each!(self, o => o.load_state(state))
    }
}

/// Parses `"0.9,0.999"` (for `--betas`).
pub fn parse_pair(s: &str) -> Result<(f64, f64), String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let number = |p: &str| {
        p.parse::<f64>()
            .map_err(|_| format!("`{p}` is not a number"))
    };
    match parts.as_slice() {
        [a, b] => Ok((number(a)?, number(b)?)),
        _ => Err(format!(
            "expected two numbers separated by a comma (e.g. 0.9,0.999), got `{s}`"
        )),
    }
}
