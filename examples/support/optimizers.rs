//! Every optimizer as one `Box<dyn Optimizer>` chosen at run time, built
//! from command-line hyperparameters with defaults tuned for small MLPs.

use std::fmt;

use clap::ValueEnum;
use curvature::autograd::{Element, Parameters};
use curvature::optim::{
    AdaHessian, AdaHessianConfig, Adam, AdamConfig, AdamW, AdamWConfig, Lbfgs, LbfgsConfig,
    LineSearch, NewtonCg, NewtonCgConfig, Optimizer, Sgd, SgdConfig, SophiaH, SophiaHConfig,
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
    /// Sophia-H: clipped diagonal Newton with a Hutchinson estimate every k steps.
    #[value(name = "sophia-h")]
    SophiaH,
    /// Newton-CG (Hessian-free): conjugate gradient on exact Hessian-vector products.
    #[value(name = "newton-cg")]
    NewtonCg,
    /// L-BFGS with a strong-Wolfe line search (one iteration per step).
    Lbfgs,
}

impl OptimizerKind {
    /// Every optimizer, in the order the comparisons list them.
    pub const ALL: [OptimizerKind; 7] = [
        Self::Sgd,
        Self::Adam,
        Self::AdamW,
        Self::AdaHessian,
        Self::SophiaH,
        Self::NewtonCg,
        Self::Lbfgs,
    ];

    /// The learning rate used when `--lr` is not given: tuned on the MLPs
    /// of the examples (the library's own defaults are PyTorch's and the
    /// AdaHessian authors').
    pub fn default_lr(self) -> f64 {
        match self {
            Self::Sgd => 0.1,
            Self::Adam | Self::AdamW => 0.01,
            Self::AdaHessian => 0.15,
            Self::SophiaH => 0.01,
            Self::NewtonCg | Self::Lbfgs => 1.0,
        }
    }

    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Adam => "adam",
            Self::AdamW => "adamw",
            Self::AdaHessian => "adahessian",
            Self::SophiaH => "sophia-h",
            Self::NewtonCg => "newton-cg",
            Self::Lbfgs => "lbfgs",
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
        let flags: [(&str, bool, &[OptimizerKind]); 7] = [
            ("--momentum", self.momentum.is_some(), &[Sgd]),
            (
                "--weight-decay",
                self.weight_decay.is_some(),
                &[Sgd, Adam, AdamW, AdaHessian, SophiaH],
            ),
            (
                "--betas",
                self.betas.is_some(),
                &[Adam, AdamW, AdaHessian, SophiaH],
            ),
            (
                "--eps",
                self.eps.is_some(),
                &[Adam, AdamW, AdaHessian, SophiaH],
            ),
            (
                "--hessian-power",
                self.hessian_power.is_some(),
                &[AdaHessian],
            ),
            (
                "--update-each",
                self.update_each.is_some(),
                &[AdaHessian, SophiaH],
            ),
            (
                "--n-samples",
                self.n_samples.is_some(),
                &[AdaHessian, SophiaH],
            ),
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

/// The optimizer `kind` for `params`, with `hyper` over the defaults;
/// `seed` seeds AdaHessian's Rademacher draws. Errors name a flag that
/// does not apply or a value out of range. The box is an [`Optimizer`]
/// itself, and displays the method with its hyperparameters for the log.
pub fn build<T: Element, P: Parameters<T> + ?Sized>(
    kind: OptimizerKind,
    hyper: &Hyperparameters,
    params: &P,
    seed: u64,
) -> Result<Box<dyn Optimizer<T>>, BoxError> {
    hyper.check_applies_to(kind)?;
    let lr = hyper.lr.unwrap_or(kind.default_lr());
    let optimizer: Box<dyn Optimizer<T>> = match kind {
        OptimizerKind::Sgd => Box::new(Sgd::new(SgdConfig {
            momentum: hyper.momentum.unwrap_or(0.9),
            weight_decay: hyper.weight_decay.unwrap_or(0.0),
            ..SgdConfig::new(lr)
        })?),
        OptimizerKind::Adam => {
            let d = AdamConfig::default();
            Box::new(Adam::new(AdamConfig {
                lr,
                betas: hyper.betas.unwrap_or(d.betas),
                eps: hyper.eps.unwrap_or(d.eps),
                weight_decay: hyper.weight_decay.unwrap_or(d.weight_decay),
            })?)
        }
        OptimizerKind::AdamW => {
            let d = AdamWConfig::default();
            Box::new(AdamW::new(AdamWConfig {
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
            Box::new(AdaHessian::new(params, config)?)
        }
        OptimizerKind::SophiaH => {
            let d = SophiaHConfig::default();
            Box::new(SophiaH::new(SophiaHConfig {
                lr,
                betas: hyper.betas.unwrap_or(d.betas),
                eps: hyper.eps.unwrap_or(d.eps),
                weight_decay: hyper.weight_decay.unwrap_or(d.weight_decay),
                update_each: hyper.update_each.unwrap_or(d.update_each),
                n_samples: hyper.n_samples.unwrap_or(d.n_samples),
                seed,
                ..d
            })?)
        }
        // Mini-batch Hessian-free: few CG iterations per batch and a
        // damping that starts large (Martens 2010 starts at 1 too).
        OptimizerKind::NewtonCg => Box::new(NewtonCg::new(NewtonCgConfig {
            lr,
            damping: 1.0,
            max_cg_iter: 10,
            ..NewtonCgConfig::default()
        })?),
        // One L-BFGS iteration per step (per batch), with the line search.
        OptimizerKind::Lbfgs => Box::new(Lbfgs::new(LbfgsConfig {
            lr,
            max_iter: 1,
            max_eval: Some(10),
            history_size: 10,
            line_search: LineSearch::StrongWolfe,
            ..LbfgsConfig::default()
        })?),
    };
    Ok(optimizer)
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
