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

use std::collections::{BTreeMap, BTreeSet, HashMap};
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
/// `nn` modules), with dtype `F32` or `F64` as `T`, row-major, little-endian,
/// followed by its [`Parameters::buffers`] (PyTorch's buffers, a batch
/// norm's `running_mean`, `running_var` and `num_batches_tracked`, the
/// last as `I64`), so the file is the module's whole `state_dict`.
///
/// The write is atomic: a temporary file in the same directory is written,
/// synced and renamed over `path`. On any error `path` is untouched and the
/// temporary file is removed.
pub fn save_parameters<T, M>(model: &M, path: impl AsRef<Path>) -> Result<(), CheckpointError>
where
    T: Element,
    M: Parameters<T> + ?Sized,
{
    save_parameters_with_metadata(model, path, &BTreeMap::new())
}

/// [`save_parameters`] with `metadata` in the file's header (safetensors'
/// `__metadata__`, string pairs that PyTorch's loaders ignore), beside
/// the `"format": "pt"` entry that marks a PyTorch `state_dict`. Read it
/// back with [`read_metadata`].
///
/// ```
/// use std::collections::BTreeMap;
/// use curvature_nn::{read_metadata, save_parameters_with_metadata, Activation, Mlp};
///
/// let path = std::env::temp_dir().join(format!("doc-meta-{}.safetensors", std::process::id()));
/// let model = Mlp::<f32>::new(&[2, 8, 1], Activation::Tanh, 0);
/// let metadata = BTreeMap::from([("epoch".to_string(), "3".to_string())]);
/// save_parameters_with_metadata(&model, &path, &metadata)?;
/// let read = read_metadata(&path)?;
/// assert_eq!((read["epoch"].as_str(), read["format"].as_str()), ("3", "pt"));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), curvature_nn::CheckpointError>(())
/// ```
pub fn save_parameters_with_metadata<T, M>(
    model: &M,
    path: impl AsRef<Path>,
    metadata: &BTreeMap<String, String>,
) -> Result<(), CheckpointError>
where
    T: Element,
    M: Parameters<T> + ?Sized,
{
    let names = model.parameter_names();
    let params = model.parameters();
    assert_eq!(
        names.len(),
        params.len(),
        "save_parameters: the model names {} parameters but has {}",
        names.len(),
        params.len()
    );
    let mut metadata = metadata.clone();
    metadata.insert("format".to_string(), "pt".to_string());
    let mut raw: Vec<(String, Raw)> = names
        .into_iter()
        .zip(params)
        .map(|(name, p)| (name, Raw::encode(p)))
        .collect();
    for buffer in model.buffers() {
        let encoded = if buffer.integer {
            Raw::encode_i64(&buffer.value)
        } else {
            Raw::encode(&buffer.value)
        };
        raw.push((buffer.name, encoded));
    }
    save_raw(path.as_ref(), raw, &metadata)
}

/// Writes named tensors to `path` as safetensors (dtype `F32` or `F64` as
/// `T`), with `metadata` in the header, atomically as [`save_parameters`].
/// For state that is not a module's parameters: an optimizer's buffers, a
/// standardiser's mean and scale. Errors when two tensors share a name.
pub fn save_tensors<'a, T: Element>(
    path: impl AsRef<Path>,
    tensors: impl IntoIterator<Item = (String, &'a Tensor<T>)>,
    metadata: &BTreeMap<String, String>,
) -> Result<(), CheckpointError> {
    let raw = tensors
        .into_iter()
        .map(|(name, tensor)| (name, Raw::encode(tensor)))
        .collect();
    save_raw(path.as_ref(), raw, metadata)
}

/// Writes encoded tensors to `path` with `metadata`, atomically; errors
/// when two share a name.
fn save_raw(
    path: &Path,
    raw: Vec<(String, Raw)>,
    metadata: &BTreeMap<String, String>,
) -> Result<(), CheckpointError> {
    let mut seen = BTreeSet::new();
    for (name, _) in &raw {
        if !seen.insert(name.clone()) {
            return Err(CheckpointError::DuplicateName { name: name.clone() });
        }
    }
    let bytes = safetensors::serialize(raw, None).map_err(|e| CheckpointError::Format {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let bytes = with_metadata(bytes, metadata);
    write_atomically(path, |file| file.write_all(&bytes)).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// `bytes`, a safetensors file without metadata, with `metadata` added to
/// its header in key order. (safetensors writes the metadata of a
/// `HashMap` in its iteration order, which differs between two maps, so
/// the same checkpoint saved twice would differ byte for byte.) The data
/// offsets in the header count from the end of the header, so they stay.
fn with_metadata(bytes: Vec<u8>, metadata: &BTreeMap<String, String>) -> Vec<u8> {
    if metadata.is_empty() {
        return bytes;
    }
    let declared = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + declared]).expect("safetensors writes JSON");
    let tensors = header.trim_end().strip_prefix('{').expect("a JSON object");
    let entries: Vec<String> = metadata
        .iter()
        .map(|(k, v)| format!("{}:{}", json_string(k), json_string(v)))
        .collect();
    let separator = if tensors.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    let mut header = format!(
        "{{\"__metadata__\":{{{}}}{separator}{tensors}",
        entries.join(",")
    );
    // safetensors pads the header with spaces to a multiple of 8 bytes, so
    // the data that follows is aligned.
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + bytes.len() - 8 - declared);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&bytes[8 + declared..]);
    out
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The metadata in the header of the safetensors file at `path` (empty
/// when it has none). Errors when the file cannot be read or is not valid
/// safetensors.
pub fn read_metadata(path: impl AsRef<Path>) -> Result<BTreeMap<String, String>, CheckpointError> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| CheckpointError::Format {
        path: path.to_path_buf(),
        detail: describe(&e, &bytes),
    })?;
    Ok(header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect())
}

/// The bytes of `path`, checked to be long enough for the header they declare.
fn read_file(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    check_header_length(&bytes).map_err(|detail| CheckpointError::Format {
        path: path.to_path_buf(),
        detail,
    })?;
    Ok(bytes)
}

/// Reads `path` into the parameters and buffers of `model` (a batch
/// norm's running statistics; a counter may be stored as `I64`, as PyTorch
/// writes it), checking every name, shape and dtype first: a missing tensor, an unexpected one, a shape or a dtype
/// that differs, a truncated or corrupt file is an error that names the
/// tensor and what differs, and leaves `model` unchanged.
pub fn load_parameters<T, M>(model: &mut M, path: impl AsRef<Path>) -> Result<(), CheckpointError>
where
    T: Element,
    M: Parameters<T> + ?Sized,
{
    let path = path.as_ref();
    let mut file = read_with_dtypes::<T>(path)?;
    let expected_dtype = dtype_of::<T>();
    let mut take = |name: &String, shape: &[usize], integer: bool| {
        let (dtype, tensor) = file.remove(name).ok_or_else(|| CheckpointError::Missing {
            path: path.to_path_buf(),
            name: name.clone(),
            expected: shape.to_vec(),
        })?;
        // PyTorch stores counters as I64; ours may also be in T's dtype
        if dtype != expected_dtype && !(integer && dtype == Dtype::I64) {
            return Err(CheckpointError::Dtype {
                path: path.to_path_buf(),
                name: name.clone(),
                expected: format!("{expected_dtype:?}"),
                found: format!("{dtype:?}"),
            });
        }
        if tensor.shape() != shape {
            return Err(CheckpointError::Shape {
                path: path.to_path_buf(),
                name: name.clone(),
                expected: shape.to_vec(),
                found: tensor.shape().to_vec(),
            });
        }
        Ok(tensor)
    };
    let names = model.parameter_names();
    let mut loaded = Vec::with_capacity(names.len());
    for (name, param) in names.iter().zip(model.parameters()) {
        loaded.push(take(name, param.shape(), false)?);
    }
    let mut buffers = Vec::new();
    for buffer in model.buffers() {
        buffers.push(take(&buffer.name, buffer.value.shape(), buffer.integer)?);
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
    model.set_buffers(buffers);
    Ok(())
}

/// Every tensor of a safetensors file, by name, as `Tensor<T>`. Errors
/// when the file cannot be read, is not valid safetensors, or holds a
/// tensor whose dtype is not `T`'s (`F32` for `f32`, `F64` for `f64`).
pub fn read_tensors<T: Element>(
    path: impl AsRef<Path>,
) -> Result<HashMap<String, Tensor<T>>, CheckpointError> {
    let path = path.as_ref();
    let expected = dtype_of::<T>();
    let mut tensors = HashMap::new();
    for (name, (dtype, tensor)) in read_with_dtypes::<T>(path)? {
        if dtype != expected {
            return Err(CheckpointError::Dtype {
                path: path.to_path_buf(),
                name,
                expected: format!("{expected:?}"),
                found: format!("{dtype:?}"),
            });
        }
        tensors.insert(name, tensor);
    }
    Ok(tensors)
}

/// Every tensor of a safetensors file, by name, with the dtype it was
/// stored in: `T`'s, or `I64` (PyTorch's counters, converted to `T`).
/// Errors on any other dtype, naming the tensor.
fn read_with_dtypes<T: Element>(
    path: &Path,
) -> Result<HashMap<String, (Dtype, Tensor<T>)>, CheckpointError> {
    let bytes = read_file(path)?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| CheckpointError::Format {
        path: path.to_path_buf(),
        detail: describe(&e, &bytes),
    })?;
    let expected = dtype_of::<T>();
    let mut tensors = HashMap::with_capacity(file.len());
    for (name, view) in file.iter() {
        let dtype = view.dtype();
        if dtype != expected && dtype != Dtype::I64 {
            return Err(CheckpointError::Dtype {
                path: path.to_path_buf(),
                name: name.to_string(),
                expected: format!("{expected:?}"),
                found: format!("{dtype:?}"),
            });
        }
        let tensor = check_shape(view.shape())
            .and_then(|()| decode(view.data(), view.shape(), dtype))
            .map_err(|detail| CheckpointError::Format {
                path: path.to_path_buf(),
                detail: format!("tensor `{name}`: {detail}"),
            })?;
        tensors.insert(name.to_string(), (dtype, tensor));
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

/// Little-endian bytes of `dtype` (`F32`, `F64` or `I64`) into a tensor
/// (safetensors has checked that their count fits the shape).
fn decode<T: Element>(bytes: &[u8], shape: &[usize], dtype: Dtype) -> Result<Tensor<T>, String> {
    let data: Vec<T> = match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| T::from_f64(f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64))
            .collect(),
        Dtype::I64 => bytes
            .chunks_exact(8)
            .map(|b| T::from_f64(i64::from_le_bytes(b.try_into().expect("8 bytes")) as f64))
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
        // A strided view (a transpose, a narrow) is written in row-major order.
        let tensor = tensor.contiguous();
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

impl Raw {
    /// A tensor of integers (a counter) as `I64`, PyTorch's dtype for them.
    fn encode_i64<T: Element>(tensor: &Tensor<T>) -> Self {
        let bytes = tensor
            .to_f64_vec()
            .iter()
            .flat_map(|v| (v.round() as i64).to_le_bytes())
            .collect();
        Self {
            dtype: Dtype::I64,
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

    #[cfg(unix)]
    #[test]
    fn saving_through_a_symlink_replaces_its_target_and_a_fifo_is_refused() {
        let dir = TempDir::new("ckpt-link");
        let model = Mlp::<f32>::new(&[2, 3, 1], Activation::Tanh, 0);
        let real = dir.0.join("run-7.safetensors");
        let link = dir.0.join("latest.safetensors");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        save_parameters(&model, &link).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(read_tensors::<f32>(&real).unwrap().len(), 4);
        let fifo = dir.0.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = save_parameters(&model, &fifo).unwrap_err();
            assert!(err.to_string().contains("not a regular file"), "{err}");
            use std::os::unix::fs::FileTypeExt;
            assert!(std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo());
        }
    }

    #[test]
    fn metadata_is_written_in_key_order_so_saves_are_byte_identical() {
        let dir = TempDir::new("ckpt-meta");
        let (a, b) = (dir.0.join("a.safetensors"), dir.0.join("b.safetensors"));
        let model = Mlp::<f32>::new(&[3, 5, 2], Activation::Tanh, 0);
        let metadata: BTreeMap<String, String> = (0..20)
            .map(|i| (format!("key {i}"), format!("\"quoted\" \\ {i}\n")))
            .collect();
        save_parameters_with_metadata(&model, &a, &metadata).unwrap();
        save_parameters_with_metadata(&model, &b, &metadata).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        let mut expected = metadata.clone();
        expected.insert("format".into(), "pt".into());
        assert_eq!(read_metadata(&a).unwrap(), expected);
        let mut restored = Mlp::<f32>::new(&[3, 5, 2], Activation::Tanh, 1);
        load_parameters(&mut restored, &a).unwrap();
        assert_eq!(restored.parameters(), model.parameters());

        let empty: [(String, &Tensor<f64>); 0] = [];
        save_tensors(&a, empty, &metadata).unwrap();
        assert_eq!(read_metadata(&a).unwrap(), metadata);
        assert!(read_tensors::<f64>(&a).unwrap().is_empty());
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
