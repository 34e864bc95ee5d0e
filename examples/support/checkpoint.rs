//! `train --save FILE` and `--load FILE`: a run's model, optimizer state
//! and standardiser in three safetensors files beside each other, so a
//! trained model can be evaluated, trained further, or its run resumed bit
//! for bit.
//!
//! For `--save run/model.safetensors`:
//! - `run/model.safetensors`: the MLP's parameters under PyTorch's
//!   `state_dict` names (`0.weight`, `0.bias`, `2.weight`, ...), so
//!   `model.load_state_dict(safetensors.torch.load_file(path))` loads it
//!   into the equivalent `nn.Sequential`. The header's metadata records
//!   the architecture and the run (keys `curvature.*`).
//! - `run/model.optim.safetensors`: the optimizer's buffers, keyed
//!   `"{parameter index}.{buffer}"` (`0.exp_avg`, `3.momentum_buffer`,
//!   ...), with its name and step count in the metadata.
//! - `run/model.scaler.safetensors`: the standardiser fitted on the
//!   training set, tensors `mean` and `scale` (`[features]`).
//!
//! A FILE that does not end in `.safetensors` gets `.optim.safetensors`
//! and `.scaler.safetensors` appended to its whole name.

// The errors carry the paths and names they report, and a run reads a
// checkpoint once: their size costs nothing worth a box.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use curvature::autograd::{Parameters, Tensor};
use curvature::nn::data::{Dataset, Standardizer};
use curvature::nn::{
    load_parameters, read_metadata, read_tensors, save_parameters_with_metadata, save_tensors,
    Activation, CheckpointError, DataError, Mlp,
};
use curvature::optim::{OptimError, Optimizer, OptimizerState};

use super::data::{DatasetName, Prepared};

/// What went wrong reading or writing a checkpoint; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointFileError {
    /// The file cannot be read or written, is not safetensors, or a
    /// tensor is missing, unexpected, or of another shape or dtype (the
    /// library's error names the file and the tensor).
    #[error(transparent)]
    File(#[from] CheckpointError),
    /// The header lacks an entry that `train --save` writes.
    #[error("{}: not written by `train --save`: the header has no `{key}` entry", .path.display())]
    NotFromTrain { path: PathBuf, key: String },
    /// The directory of the checkpoint cannot be created.
    #[error("cannot create the directory {}: {source}", .path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A header entry that does not parse.
    #[error("{}: the header entry `{key}` = `{value}` is not valid: {detail}", .path.display())]
    BadEntry {
        path: PathBuf,
        key: String,
        value: String,
        detail: String,
    },
    /// The standardiser's tensors are not a valid standardiser.
    #[error("{}: {source}", .path.display())]
    Scaler {
        path: PathBuf,
        #[source]
        source: DataError,
    },
    /// A setting of the resumed run differs from the saved run's.
    #[error(
        "{}: the saved run had {flag} {saved}, but this run has {flag} {current}: \
         resume with the saved run's flags",
        .path.display()
    )]
    Setting {
        path: PathBuf,
        flag: String,
        saved: String,
        current: String,
    },
    /// The checkpoint was made for data of another width.
    #[error(
        "{}: {what} takes {saved} features, but dataset {dataset} has {current}: \
         the checkpoint was saved from another dataset",
        .path.display()
    )]
    Features {
        path: PathBuf,
        what: String,
        dataset: String,
        saved: usize,
        current: usize,
    },
    /// The optimizer refused the saved state (another optimizer, another
    /// number or shape of buffers).
    #[error("{}: cannot restore the optimizer: {source}", .path.display())]
    Optimizer {
        path: PathBuf,
        #[source]
        source: OptimError,
    },
    /// Two files of one checkpoint written by different saves.
    #[error(
        "{}: written at step {found}, but {} at step {expected}: the files come from different saves",
        .path.display(), .model.display()
    )]
    Torn {
        path: PathBuf,
        model: PathBuf,
        expected: u64,
        found: u64,
    },
}

/// The three files of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// The model's parameters and the run's record.
    pub model: PathBuf,
    /// The optimizer's state.
    pub optimizer: PathBuf,
    /// The standardiser.
    pub scaler: PathBuf,
}

impl Paths {
    /// The files of the checkpoint whose model file is `model`.
    pub fn beside(model: &Path) -> Self {
        let name = model.file_name().unwrap_or_default().to_string_lossy();
        let stem = name.strip_suffix(".safetensors").unwrap_or(&name);
        let sibling = |suffix: &str| model.with_file_name(format!("{stem}.{suffix}.safetensors"));
        Self {
            model: model.to_path_buf(),
            optimizer: sibling("optim"),
            scaler: sibling("scaler"),
        }
    }
}

/// What a run records about itself in the model file's header.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// Layer sizes, from the input features to the outputs.
    pub sizes: Vec<usize>,
    pub activation: Activation,
    /// Epochs completed.
    pub epoch: usize,
    /// The epochs the run planned (its learning-rate schedule spans them).
    pub epochs: usize,
    /// Optimizer steps taken.
    pub step: u64,
    /// The settings that decide the run's course, by flag (`--dataset`,
    /// `--seed`, `--batch-size`, ...): a resumed run must have the same.
    pub settings: BTreeMap<String, String>,
}

impl RunRecord {
    /// The hidden layer widths.
    pub fn hidden(&self) -> Vec<usize> {
        // from_metadata checks that there are at least two sizes
        self.sizes[1..self.sizes.len() - 1].to_vec()
    }
}

const SIZES: &str = "curvature.sizes";
const ACTIVATION: &str = "curvature.activation";
const EPOCH: &str = "curvature.epoch";
const EPOCHS: &str = "curvature.epochs";
const STEP: &str = "curvature.step";
const SETTING: &str = "curvature.setting.";
const OPTIMIZER: &str = "curvature.optimizer";

impl RunRecord {
    fn to_metadata(&self) -> BTreeMap<String, String> {
        let sizes: Vec<String> = self.sizes.iter().map(usize::to_string).collect();
        let mut metadata = BTreeMap::from([
            (SIZES.to_string(), sizes.join(",")),
            (ACTIVATION.to_string(), self.activation.to_string()),
            (EPOCH.to_string(), self.epoch.to_string()),
            (EPOCHS.to_string(), self.epochs.to_string()),
            (STEP.to_string(), self.step.to_string()),
        ]);
        for (flag, value) in &self.settings {
            metadata.insert(format!("{SETTING}{flag}"), value.clone());
        }
        metadata
    }

    fn from_metadata(
        path: &Path,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Self, CheckpointFileError> {
        let entry = Entries { path, metadata };
        Ok(Self {
            sizes: entry.parse(SIZES, |v| {
                let sizes = v
                    .split(',')
                    .map(|s| s.parse::<usize>().map_err(|e| e.to_string()))
                    .collect::<Result<Vec<_>, _>>()?;
                if sizes.len() < 2 {
                    return Err("expected the input, hidden and output sizes".to_string());
                }
                Ok(sizes)
            })?,
            activation: entry.parse(ACTIVATION, |v| v.parse().map_err(|e| format!("{e}")))?,
            epoch: entry.number(EPOCH)?,
            epochs: entry.number(EPOCHS)?,
            step: entry.number(STEP)?,
            settings: metadata
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(SETTING)?.to_string(), v.clone())))
                .collect(),
        })
    }
}

/// A file's header entries, read with errors that name the file and entry.
struct Entries<'a> {
    path: &'a Path,
    metadata: &'a BTreeMap<String, String>,
}

impl Entries<'_> {
    fn get(&self, key: &str) -> Result<&str, CheckpointFileError> {
        self.metadata.get(key).map(String::as_str).ok_or_else(|| {
            CheckpointFileError::NotFromTrain {
                path: self.path.to_path_buf(),
                key: key.to_string(),
            }
        })
    }

    fn parse<V>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<V, String>,
    ) -> Result<V, CheckpointFileError> {
        let value = self.get(key)?;
        parse(value).map_err(|detail| CheckpointFileError::BadEntry {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            value: value.to_string(),
            detail,
        })
    }

    fn number<V: std::str::FromStr<Err = std::num::ParseIntError>>(
        &self,
        key: &str,
    ) -> Result<V, CheckpointFileError> {
        self.parse(key, |v| {
            v.parse()
                .map_err(|e: std::num::ParseIntError| e.to_string())
        })
    }
}

/// Writes the checkpoint: the standardiser, the optimizer state, then the
/// model (each file atomically; the model last, so a model file never
/// describes a step its companions have not reached).
pub fn save(
    paths: &Paths,
    model: &Mlp<f32>,
    optimizer: &dyn Optimizer<f32>,
    scaler: &Standardizer<f32>,
    record: &RunRecord,
) -> Result<(), CheckpointFileError> {
    if let Some(dir) = paths.model.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| CheckpointFileError::Directory {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    save_tensors(
        &paths.scaler,
        [
            ("mean".to_string(), scaler.mean()),
            ("scale".to_string(), scaler.scale()),
        ],
        &BTreeMap::new(),
    )?;
    let state = optimizer.state();
    let metadata = BTreeMap::from([
        (OPTIMIZER.to_string(), state.optimizer.clone()),
        (STEP.to_string(), state.step.to_string()),
    ]);
    save_tensors(
        &paths.optimizer,
        state.tensors.iter().map(|(k, t)| (k.clone(), t)),
        &metadata,
    )?;
    save_parameters_with_metadata(model, &paths.model, &record.to_metadata())?;
    Ok(())
}

/// The record in the model file's header (the parameters themselves load
/// into a model built to match, with `curvature::nn::load_parameters`).
pub fn read_record(paths: &Paths) -> Result<RunRecord, CheckpointFileError> {
    let metadata = read_metadata(&paths.model)?;
    RunRecord::from_metadata(&paths.model, &metadata)
}

/// The standardiser saved beside the model.
pub fn read_scaler(paths: &Paths) -> Result<Standardizer<f32>, CheckpointFileError> {
    let path = &paths.scaler;
    let mut tensors = read_tensors::<f32>(path)?;
    let mut take = |name: &str| {
        tensors
            .remove(name)
            .ok_or_else(|| CheckpointError::Missing {
                path: path.clone(),
                name: name.to_string(),
                expected: vec![],
            })
    };
    let (mean, scale) = (take("mean")?, take("scale")?);
    if let Some(name) = tensors.keys().min() {
        return Err(CheckpointError::Unexpected {
            path: path.clone(),
            name: name.clone(),
        }
        .into());
    }
    Standardizer::from_parts(mean, scale).map_err(|source| CheckpointFileError::Scaler {
        path: path.clone(),
        source,
    })
}

/// Restores the optimizer state saved beside the model into `optimizer`,
/// checking that it was saved at the model's step.
pub fn restore_optimizer(
    paths: &Paths,
    record: &RunRecord,
    optimizer: &mut dyn Optimizer<f32>,
) -> Result<(), CheckpointFileError> {
    let path = &paths.optimizer;
    let metadata = read_metadata(path)?;
    let entries = Entries {
        path,
        metadata: &metadata,
    };
    let step: u64 = entries.number(STEP)?;
    if step != record.step {
        return Err(CheckpointFileError::Torn {
            path: path.clone(),
            model: paths.model.clone(),
            expected: record.step,
            found: step,
        });
    }
    let state = OptimizerState {
        optimizer: entries.get(OPTIMIZER)?.to_string(),
        step,
        tensors: read_tensors::<f32>(path)?.into_iter().collect(),
    };
    optimizer
        .load_state(&state)
        .map_err(|source| CheckpointFileError::Optimizer {
            path: path.clone(),
            source,
        })
}

/// Checks that the standardiser saved in `paths` fits the dataset's width.
pub fn check_scaler(
    paths: &Paths,
    scaler: &Standardizer<f32>,
    dataset: &Dataset<f32>,
    name: &DatasetName,
) -> Result<(), CheckpointFileError> {
    let saved = scaler.mean().numel();
    if saved != dataset.n_features() {
        return Err(CheckpointFileError::Features {
            path: paths.scaler.clone(),
            what: "the standardiser (tensor `mean`)".to_string(),
            dataset: name.to_string(),
            saved,
            current: dataset.n_features(),
        });
    }
    Ok(())
}

/// `prepared` standardised with `scaler` (the one the model was trained
/// with) instead of its own.
pub fn with_scaler(prepared: Prepared, scaler: Standardizer<f32>) -> Prepared {
    Prepared {
        train: scaler.transform_dataset(&prepared.raw_train),
        test: scaler.transform_dataset(&prepared.raw_test),
        scaler,
        ..prepared
    }
}

/// Loads the saved parameters into `model` (built with the saved
/// architecture, or the flags' when they override it). A model saved for
/// data of another width is refused with the dataset named; any other
/// difference by the library, naming the tensor.
pub fn load_model(
    paths: &Paths,
    saved: &RunRecord,
    model: &mut Mlp<f32>,
    name: &DatasetName,
) -> Result<(), CheckpointFileError> {
    let current = model.sizes()[0];
    if saved.sizes.first() != Some(&current) {
        let tensor = model
            .parameter_names()
            .into_iter()
            .next()
            .unwrap_or_default();
        return Err(CheckpointFileError::Features {
            path: paths.model.clone(),
            what: format!("the model (tensor `{tensor}`)"),
            dataset: name.to_string(),
            saved: saved.sizes.first().copied().unwrap_or(0),
            current,
        });
    }
    load_parameters(model, &paths.model)?;
    Ok(())
}

/// Checks that a resumed run's settings are the saved run's, the dataset
/// first.
pub fn check_settings(
    paths: &Paths,
    saved: &RunRecord,
    current: &BTreeMap<String, String>,
) -> Result<(), CheckpointFileError> {
    let dataset = current.get_key_value("--dataset");
    let others = current.iter().filter(|(flag, _)| *flag != "--dataset");
    for (flag, value) in dataset.into_iter().chain(others) {
        let Some(saved_value) = saved.settings.get(flag) else {
            return Err(CheckpointFileError::NotFromTrain {
                path: paths.model.clone(),
                key: format!("{SETTING}{flag}"),
            });
        };
        if saved_value != value {
            return Err(CheckpointFileError::Setting {
                path: paths.model.clone(),
                flag: flag.clone(),
                saved: saved_value.clone(),
                current: value.clone(),
            });
        }
    }
    if let Some(flag) = saved.settings.keys().find(|f| !current.contains_key(*f)) {
        return Err(CheckpointFileError::Setting {
            path: paths.model.clone(),
            flag: flag.clone(),
            saved: saved.settings[flag].clone(),
            current: "none".to_string(),
        });
    }
    Ok(())
}

/// Whether two standardisers are equal bit for bit.
pub fn same_scaler(a: &Standardizer<f32>, b: &Standardizer<f32>) -> bool {
    let bits = |t: &Tensor<f32>| -> Vec<u32> { t.to_vec().iter().map(|v| v.to_bits()).collect() };
    a.mean().shape() == b.mean().shape()
        && bits(a.mean()) == bits(b.mean())
        && bits(a.scale()) == bits(b.scale())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companions_sit_beside_the_model_file() {
        let p = Paths::beside(Path::new("run/model.safetensors"));
        assert_eq!(p.optimizer, Path::new("run/model.optim.safetensors"));
        assert_eq!(p.scaler, Path::new("run/model.scaler.safetensors"));
        let p = Paths::beside(Path::new("m.st"));
        assert_eq!(p.optimizer, Path::new("m.st.optim.safetensors"));
    }
}
