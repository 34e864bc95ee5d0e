//! Atomic file writes: a temporary file in the target's directory, synced,
//! then renamed over the target. A reader (or a crash) sees the old file or
//! the new one, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// Writes `path` through `write`, atomically. On any error the target is
/// untouched and the temporary file is removed.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file")
    })?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let (temp_path, mut file) = create_temp(dir, &file_name.to_string_lossy())?;
    let result = (|| {
        // Keep the permissions of a file being replaced.
        if let Ok(meta) = fs::metadata(path) {
            if meta.is_file() {
                file.set_permissions(meta.permissions())?;
            }
        }
        write(&mut file)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp_path, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&temp_path);
        return Err(e);
    }
    sync_dir(dir);
    Ok(())
}

/// A new, empty file `.NAME.tmp-PID-K` in `dir` that did not exist before.
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    loop {
        let k = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.tmp-{}-{k}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            // A stale file from a killed process: try the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && k % 1000 != 999 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Makes the rename durable (best effort: not every platform can open a
/// directory, and the data itself is already synced).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A fresh directory under the system's temporary directory, removed on drop.
    pub(crate) struct TempDir(pub(crate) PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> Self {
            let k = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("curvature-nn-{tag}-{}-{k}", std::process::id()));
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_and_replaces_the_target() {
        let dir = TempDir::new("atomic-ok");
        let target = dir.0.join("out.bin");
        write_atomically(&target, |f| f.write_all(b"first")).unwrap();
        write_atomically(&target, |f| f.write_all(b"second")).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"second");
        assert_eq!(entries(&dir.0), vec!["out.bin"]);
    }

    #[test]
    fn a_failing_write_leaves_the_old_target_and_no_temporary_file() {
        let dir = TempDir::new("atomic-fail");
        let target = dir.0.join("out.bin");
        fs::write(&target, b"old contents").unwrap();
        let err = write_atomically(&target, |f| {
            f.write_all(b"half of the new")?;
            Err(io::Error::other("disk full (simulated)"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("simulated"));
        assert_eq!(fs::read(&target).unwrap(), b"old contents");
        assert_eq!(entries(&dir.0), vec!["out.bin"]);
        // And with no previous target, no target appears.
        let fresh = dir.0.join("fresh.bin");
        let _ = write_atomically(&fresh, |f| {
            f.write_all(b"x")?;
            Err(io::Error::other("simulated"))
        });
        assert!(!fresh.exists());
        assert_eq!(entries(&dir.0), vec!["out.bin"]);
    }

    #[test]
    fn a_failing_rename_removes_the_temporary_file() {
        let dir = TempDir::new("atomic-rename");
        // A directory cannot be replaced by a file.
        let target = dir.0.join("occupied");
        fs::create_dir(&target).unwrap();
        assert!(write_atomically(&target, |f| f.write_all(b"data")).is_err());
        assert!(target.is_dir());
        assert_eq!(entries(&dir.0), vec!["occupied"]);
    }

    #[test]
    fn a_missing_parent_directory_is_an_error_and_creates_nothing() {
        let dir = TempDir::new("atomic-parent");
        let target = dir.0.join("no").join("such").join("out.bin");
        let err = write_atomically(&target, |f| f.write_all(b"data")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(entries(&dir.0).is_empty());
    }
}
