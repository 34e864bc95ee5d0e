//! `gpt --save FILE` and `--load FILE`: the model's parameters under the
//! PyTorch module's `state_dict` names (`tok.weight`, `blocks.0.qkv.weight`,
//! ...), with the task and the architecture in the safetensors header
//! (keys `curvature.gpt.*`), so `--load` rebuilds the model it needs.

use std::collections::BTreeMap;
use std::path::Path;

use curvature::nn::{
    load_parameters, read_metadata, save_parameters_with_metadata, Gpt, GptConfig,
};

use super::task::{Task, TaskName};
use crate::support::BoxError;

const TASK: &str = "curvature.gpt.task";
const SEPARATOR: &str = "curvature.gpt.separator";
const VOCABULARY: &str = "curvature.gpt.vocabulary";
const CONTEXT: &str = "curvature.gpt.context";
const D: &str = "curvature.gpt.d";
const HEADS: &str = "curvature.gpt.heads";
const LAYERS: &str = "curvature.gpt.layers";
const STEP: &str = "curvature.gpt.step";

/// What a checkpoint's header says about its model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saved {
    pub task: Task,
    pub config: GptConfig,
    /// Optimizer steps the model was trained for.
    pub step: u64,
}

/// Writes the model and what rebuilds it to `path` (atomically).
pub fn save(path: &Path, model: &Gpt<f32>, task: Task, step: u64) -> Result<(), BoxError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the directory {}: {e}", dir.display()))?;
    }
    let c = model.config();
    let metadata = BTreeMap::from([
        (TASK.to_string(), task.name.to_string()),
        (SEPARATOR.to_string(), task.separator.to_string()),
        (VOCABULARY.to_string(), c.vocabulary.to_string()),
        (CONTEXT.to_string(), c.context.to_string()),
        (D.to_string(), c.d.to_string()),
        (HEADS.to_string(), c.heads.to_string()),
        (LAYERS.to_string(), c.layers.to_string()),
        (STEP.to_string(), step.to_string()),
    ]);
    save_parameters_with_metadata(model, path, &metadata)?;
    Ok(())
}

/// The header of a checkpoint written by [`save`]; the error names the
/// file and the entry that is missing or wrong.
pub fn read(path: &Path) -> Result<Saved, BoxError> {
    let metadata = read_metadata(path)?;
    let get = |key: &str| {
        metadata.get(key).map(String::as_str).ok_or_else(|| {
            format!(
                "{}: not written by `gpt --save`: the header has no `{key}` entry",
                path.display()
            )
        })
    };
    let bad = |key: &str, value: &str| {
        format!(
            "{}: the header entry `{key}` = `{value}` is not valid",
            path.display()
        )
    };
    let number = |key: &str| -> Result<usize, BoxError> {
        let value = get(key)?;
        Ok(value.parse().map_err(|_| bad(key, value))?)
    };
    let name: TaskName = get(TASK)?
        .parse()
        .map_err(|_| bad(TASK, get(TASK).unwrap_or("")))?;
    let separator = match get(SEPARATOR)? {
        "true" => true,
        "false" => false,
        other => return Err(bad(SEPARATOR, other).into()),
    };
    let config = GptConfig {
        vocabulary: number(VOCABULARY)?,
        context: number(CONTEXT)?,
        d: number(D)?,
        heads: number(HEADS)?,
        layers: number(LAYERS)?,
    };
    let task = Task::new(name, separator);
    if config.vocabulary != task.vocabulary() || config.context < task.context() {
        return Err(format!(
            "{}: a model of vocabulary {} and context {} cannot do task {} (vocabulary {}, \
             {} positions)",
            path.display(),
            config.vocabulary,
            config.context,
            task.name,
            task.vocabulary(),
            task.context()
        )
        .into());
    }
    Ok(Saved {
        task,
        config,
        step: number(STEP)? as u64,
    })
}

/// Reads the parameters of `path` into `model`, which must have been
/// built from the file's header: every name, shape and dtype is checked,
/// and an error names the tensor.
pub fn load(path: &Path, model: &mut Gpt<f32>) -> Result<(), BoxError> {
    load_parameters(model, path)?;
    Ok(())
}
