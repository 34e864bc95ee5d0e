//! Atomic file writes: a temporary file in the target's directory, synced,
//! then renamed over the target. A reader (or a crash) sees the old file or
//! the new one, never half of one.
//!
//! A symbolic link is followed to the file it names (as `open(2)`, and so
//! `torch.save`, do), so the link stays a link; a target that exists but is
//! not a regular file (a directory, a FIFO, a device, a socket) is refused
//! before anything is written, rather than replaced by a regular file.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// Writes `path` through `write`, atomically: into a temporary file in the
/// same directory, synced, then renamed over `path`. On any error the
/// target is untouched and the temporary file is removed.
///
/// A symbolic link is followed to its target, which is replaced; a target
/// that is not a regular file (a directory, FIFO, device or socket) is an
/// error of kind `InvalidInput`, and nothing is written.
///
/// ```
/// use std::io::Write;
/// let path = std::env::temp_dir().join(format!("doc-atomic-{}.txt", std::process::id()));
/// curvature_nn::write_atomically(&path, |file| file.write_all(b"all or nothing"))?;
/// assert_eq!(std::fs::read(&path)?, b"all or nothing");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_atomically(
    path: impl AsRef<Path>,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let target = regular_file_target(path.as_ref())?;
    let path = target.as_path();
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

/// The file that writing `path` should replace: `path`, or the end of the
/// chain of symbolic links that starts there (which may not exist yet).
/// Errors when it exists and is not a regular file.
fn regular_file_target(path: &Path) -> io::Result<PathBuf> {
    // Linux gives up after 40 links (ELOOP).
    const MAX_LINKS: usize = 40;
    let mut target = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        let meta = match fs::symlink_metadata(&target) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(target),
            Err(e) => return Err(e),
        };
        if meta.file_type().is_symlink() {
            let link = fs::read_link(&target)?;
            // A relative link is relative to the directory holding it.
            target = match target.parent() {
                Some(dir) => dir.join(link),
                None => link,
            };
            continue;
        }
        if meta.is_file() {
            return Ok(target);
        }
        let via = if target.as_path() == path {
            String::new()
        } else {
            format!(" (the symbolic link {} points to it)", path.display())
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is {}, not a regular file{via}: refusing to replace it",
                target.display(),
                describe_file_type(&meta.file_type())
            ),
        ));
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{}: more than {MAX_LINKS} symbolic links in a row (a loop?)",
            path.display()
        ),
    ))
}

/// `a directory`, `a FIFO`, ... for an error message.
fn describe_file_type(file_type: &fs::FileType) -> &'static str {
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
    }
    "a special file"
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

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_followed_and_stays_a_link() {
        let dir = TempDir::new("atomic-link");
        fs::create_dir(dir.0.join("real")).unwrap();
        fs::write(dir.0.join("real").join("model.bin"), b"old").unwrap();
        // A relative link, and a link to that link.
        std::os::unix::fs::symlink("real/model.bin", dir.0.join("latest")).unwrap();
        std::os::unix::fs::symlink("latest", dir.0.join("current")).unwrap();
        write_atomically(dir.0.join("current"), |f| f.write_all(b"new")).unwrap();
        assert!(fs::symlink_metadata(dir.0.join("current"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::symlink_metadata(dir.0.join("latest"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            fs::read(dir.0.join("real").join("model.bin")).unwrap(),
            b"new"
        );
        assert_eq!(entries(&dir.0.join("real")), vec!["model.bin"]);
        // A dangling link creates the file it names.
        std::os::unix::fs::symlink("real/fresh.bin", dir.0.join("dangling")).unwrap();
        write_atomically(dir.0.join("dangling"), |f| f.write_all(b"x")).unwrap();
        assert_eq!(
            fs::read(dir.0.join("real").join("fresh.bin")).unwrap(),
            b"x"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_directory_is_refused_and_left_in_place() {
        let dir = TempDir::new("atomic-special");
        let fifo = dir.0.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = write_atomically(&fifo, |f| f.write_all(b"data")).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(
                err.to_string().contains("is a FIFO, not a regular file"),
                "{err}"
            );
            use std::os::unix::fs::FileTypeExt;
            assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        }
        // (No device here: on the old code, a test run as root would have
        // replaced /dev/null with a regular file.)
        let sub = dir.0.join("sub");
        fs::create_dir(&sub).unwrap();
        std::os::unix::fs::symlink("sub", dir.0.join("to-sub")).unwrap();
        let err = write_atomically(dir.0.join("to-sub"), |f| f.write_all(b"data")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("is a directory, not a regular file") && msg.contains("to-sub"),
            "{msg}"
        );
        assert!(sub.is_dir());
        let mut left = entries(&dir.0);
        left.retain(|n| n != "pipe");
        assert_eq!(left, vec!["sub", "to-sub"], "no temporary file is left");
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
