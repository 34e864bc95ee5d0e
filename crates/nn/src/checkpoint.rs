//! Saving and loading parameters as safetensors, the format PyTorch,
//! Hugging Face, candle and burn read, with PyTorch's `state_dict` names
//! and layouts.
//!
//! ```
//! use curvature_nn::{load_parameters, save_parameters, Activation, Mlp};
//! use curvature_autograd::Parameters;
//!
//! let path = std::env::temp_dir().join(format!("doc-mlp-{}.safetensors", std::process::id()));
//! let trained = Mlp::<f32>::new(&[2, 16, 1], Activation::Tanh, 0);
//! save_parameters(&trained, &path)?;
//!
//! let mut restored = Mlp::<f32>::new(&[2, 16, 1], Activation::Tanh, 1);
//! load_parameters(&mut restored, &path)?;
//! assert_eq!(restored.parameters(), trained.parameters());
//! # std::fs::remove_file(&path).unwrap();
//! # Ok::<(), curvature_nn::CheckpointError>(())
//! ```
//!
//! In Python, the same file loads into the equivalent `nn.Sequential`:
//! `model.load_state_dict(safetensors.torch.load_file(path))`.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use curvature_autograd::{Element, Parameters, Tensor};
use safetensors::{Dtype, SafeTensorError, SafeTensors, View};

use crate::atomic_file::write_atomically;

/// What went wrong saving or loading a checkpoint; each variant names the
/// file and, where there is one, the tensor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The checkpoint file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a valid safetensors file (truncated, corrupt, or
    /// not safetensors at all).
    #[error("{}: not a valid safetensors file: {detail}", .path.display())]
    Format {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A parameter of the model has no tensor in the file.
    #[error("{}: tensor `{name}` is missing (the model expects shape {expected:?})", .path.display())]
    Missing {
        /// The checkpoint file.
        path: PathBuf,
        /// The parameter's name.
        name: String,
        /// The parameter's shape.
        expected: Vec<usize>,
    },
    /// The file holds a tensor the model has no parameter for.
    #[error("{}: unexpected tensor `{name}`: the model has no parameter of that name", .path.display())]
    Unexpected {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
    },
    /// A tensor whose shape differs from its parameter's.
    #[error("{}: tensor `{name}` has shape {found:?}, but the model expects {expected:?}", .path.display())]
    Shape {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// The parameter's shape.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor whose dtype differs from the model's element type.
    #[error("{}: tensor `{name}` has dtype {found}, but the model expects {expected}", .path.display())]
    Dtype {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// The model's dtype (`F32` or `F64`).
        expected: String,
        /// The dtype in the file.
        found: String,
    },
    /// Two parameters of the model share a name, so a file cannot hold both.
    #[error("the model has two parameters named `{name}`")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },
}

/// Writes every parameter of `model` to `path` as safetensors, under its
/// [`Parameters::parameter_names`] name (PyTorch's `state_dict` keys for
/// `nn` modules), with dtype `F32` or `F64` as `T`, row-major, little-endian.
///
/// The write is atomic: a temporary file in the same directory is written,
/// synced and renamed over `path`. On any error `path` is untouched and the
/// temporary file is removed.
pub fn save_parameters<T, M>(model: &M, path: impl AsRef<Path>) -> Result<(), CheckpointError>
where
    T: Element,
    M: Parameters<T> + ?Sized,
{
    let path = path.as_ref();
    let names = model.parameter_names();
    let params = model.parameters();
    assert_eq!(
        names.len(),
        params.len(),
        "save_parameters: the model names {} parameters but has {}",
        names.len(),
        params.len()
    );
    let mut seen = BTreeSet::new();
    if let Some(name) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(CheckpointError::DuplicateName { name: name.clone() });
    }
    let tensors: Vec<(String, Raw)> = names
        .into_iter()
        .zip(params)
        .map(|(name, p)| (name, Raw::encode(p)))
        .collect();
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes =
        safetensors::serialize(tensors, Some(metadata)).map_err(|e| CheckpointError::Format {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    write_atomically(path, |file| file.write_all(&bytes)).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads `path` into the parameters of `model`, checking every name, shape
/// and dtype first: a missing tensor, an unexpected one, a shape or a dtype
/// that differs, a truncated or corrupt file is an error that names the
/// tensor and what differs, and leaves `model` unchanged.
pub fn load_parameters<T, M>(model: &mut M, path: impl AsRef<Path>) -> Result<(), CheckpointError>
where
    T: Element,
    M: Parameters<T> + ?Sized,
{
    let path = path.as_ref();
    let mut file = read_tensors::<T>(path)?;
    let names = model.parameter_names();
    let mut loaded = Vec::with_capacity(names.len());
    for (name, param) in names.iter().zip(model.parameters()) {
        let tensor = file.remove(name).ok_or_else(|| CheckpointError::Missing {
            path: path.to_path_buf(),
            name: name.clone(),
            expected: param.shape().to_vec(),
        })?;
        if tensor.shape() != param.shape() {
            return Err(CheckpointError::Shape {
                path: path.to_path_buf(),
                name: name.clone(),
                expected: param.shape().to_vec(),
                found: tensor.shape().to_vec(),
            });
        }
        loaded.push(tensor);
    }
    if let Some(name) = file.keys().min() {
        return Err(CheckpointError::Unexpected {
            path: path.to_path_buf(),
            name: name.clone(),
        });
    }
    for (param, tensor) in model.parameters_mut().into_iter().zip(loaded) {
        *param = tensor;
    }
    Ok(())
}

/// Every tensor of a safetensors file, by name, as `Tensor<T>`. Errors
/// when the file cannot be read, is not valid safetensors, or holds a
/// tensor whose dtype is not `T`'s (`F32` for `f32`, `F64` for `f64`).
pub fn read_tensors<T: Element>(
    path: impl AsRef<Path>,
) -> Result<HashMap<String, Tensor<T>>, CheckpointError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let format_error = |detail: String| CheckpointError::Format {
        path: path.to_path_buf(),
        detail,
    };
    check_header_length(&bytes).map_err(format_error)?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| format_error(describe(&e, &bytes)))?;
    let expected = dtype_of::<T>();
    let mut tensors = HashMap::with_capacity(file.len());
    for (name, view) in file.iter() {
        if view.dtype() != expected {
            return Err(CheckpointError::Dtype {
                path: path.to_path_buf(),
                name: name.to_string(),
                expected: format!("{expected:?}"),
                found: format!("{:?}", view.dtype()),
            });
        }
        let tensor = check_shape(view.shape())
            .and_then(|()| decode(view.data(), view.shape()))
            .map_err(|detail| format_error(format!("tensor `{name}`: {detail}")))?;
        tensors.insert(name.to_string(), tensor);
    }
    Ok(tensors)
}

/// Refuses a shape whose strides overflow `usize`. safetensors checks only
/// the element count, which a zero dimension keeps at 0 however large the
/// others are (`[0, 2^33, 2^33]`); the row-major strides multiply the
/// other dimensions all the same.
fn check_shape(shape: &[usize]) -> Result<(), String> {
    match shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1)))
    {
        Some(_) => Ok(()),
        None => Err(format!("shape {shape:?} is too large to address")),
    }
}

/// The safetensors dtype of `T`.
fn dtype_of<T: Element>() -> Dtype {
    match T::DTYPE {
        "f32" => Dtype::F32,
        "f64" => Dtype::F64,
        other => unreachable!("no safetensors dtype for element type {other}"),
    }
}

/// Little-endian bytes of `dtype_of::<T>()` into a tensor (safetensors has
/// checked that their count fits the shape).
fn decode<T: Element>(bytes: &[u8], shape: &[usize]) -> Result<Tensor<T>, String> {
    let data: Vec<T> = match dtype_of::<T>() {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| T::from_f64(f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64))
            .collect(),
        _ => bytes
            .chunks_exact(8)
            .map(|b| T::from_f64(f64::from_le_bytes(b.try_into().expect("8 bytes"))))
            .collect(),
    };
    Tensor::try_from_vec(data, shape).map_err(|e| e.to_string())
}

/// Rejects files too short for their declared header, with a message that
/// says so (safetensors' own is terse).
fn check_header_length(bytes: &[u8]) -> Result<(), String> {
    let Some(prefix) = bytes.get(..8) else {
        return Err(format!(
            "truncated: {} bytes, shorter than the 8-byte header length",
            bytes.len()
        ));
    };
    let declared = u64::from_le_bytes(prefix.try_into().expect("8 bytes"));
    let available = (bytes.len() - 8) as u64;
    if declared > 100_000_000 {
        return Err(format!(
            "the header length {declared} is implausible: this is not a safetensors file"
        ));
    }
    if declared > available {
        return Err(format!(
            "truncated: the header declares {declared} bytes but only {available} follow"
        ));
    }
    Ok(())
}

/// safetensors' error, said for a person.
fn describe(error: &SafeTensorError, bytes: &[u8]) -> String {
    match error {
        SafeTensorError::MetadataIncompleteBuffer => format!(
            "truncated or extended: the header's tensor offsets do not match the file's {} bytes",
            bytes.len()
        ),
        SafeTensorError::InvalidHeader(_) => {
            "the header is not UTF-8 text: this is not a safetensors file".to_string()
        }
        SafeTensorError::InvalidHeaderDeserialization(e) => {
            format!("the header is not valid safetensors JSON ({e})")
        }
        other => other.to_string(),
    }
}

/// A tensor's bytes, ready for safetensors.
struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl Raw {
    fn encode<T: Element>(tensor: &Tensor<T>) -> Self {
        let dtype = dtype_of::<T>();
        let values = tensor.as_slice();
        let bytes = match dtype {
            Dtype::F32 => values
                .iter()
                .flat_map(|v| (v.as_f64() as f32).to_le_bytes())
                .collect(),
            _ => values
                .iter()
                .flat_map(|v| v.as_f64().to_le_bytes())
                .collect(),
        };
        Self {
            dtype,
            shape: tensor.shape().to_vec(),
            bytes,
        }
    }
}

impl View for Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        (&self.bytes[..]).into()
    }

    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atomic_file::tests::TempDir;
    use crate::{Activation, Mlp};

    #[test]
    fn round_trip_is_bit_exact_in_both_precisions() {
        let dir = TempDir::new("ckpt-roundtrip");
        let path = dir.0.join("m.safetensors");
        let a = Mlp::<f64>::new(&[3, 7, 2], Activation::Gelu, 0);
        save_parameters(&a, &path).unwrap();
        let mut b = Mlp::<f64>::new(&[3, 7, 2], Activation::Gelu, 1);
        load_parameters(&mut b, &path).unwrap();
        for (x, y) in a.parameters().iter().zip(b.parameters()) {
            let bits =
                |t: &Tensor<f64>| t.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(x), bits(y));
        }
        let c = Mlp::<f32>::new(&[3, 7, 2], Activation::Gelu, 0);
        save_parameters(&c, &path).unwrap();
        let mut d = Mlp::<f32>::new(&[3, 7, 2], Activation::Gelu, 1);
        load_parameters(&mut d, &path).unwrap();
        assert_eq!(c.parameters(), d.parameters());
        let names: BTreeSet<String> = read_tensors::<f32>(&path).unwrap().into_keys().collect();
        let expected: BTreeSet<String> = ["0.weight", "0.bias", "2.weight", "2.bias"]
            .map(String::from)
            .into();
        assert_eq!(names, expected);
    }

    #[test]
    fn duplicate_names_are_refused_before_writing() {
        struct Twins(Vec<Tensor<f32>>);
        impl Parameters<f32> for Twins {
            fn parameters(&self) -> Vec<&Tensor<f32>> {
                self.0.iter().collect()
            }
            fn parameters_mut(&mut self) -> Vec<&mut Tensor<f32>> {
                self.0.iter_mut().collect()
            }
            fn parameter_names(&self) -> Vec<String> {
                vec!["w".into(), "w".into()]
            }
        }
        let dir = TempDir::new("ckpt-dup");
        let path = dir.0.join("m.safetensors");
        let twins = Twins(vec![Tensor::zeros(&[1]), Tensor::zeros(&[2])]);
        let err = save_parameters(&twins, &path).unwrap_err();
        assert_eq!(err.to_string(), "the model has two parameters named `w`");
        assert!(!path.exists());
    }
}
