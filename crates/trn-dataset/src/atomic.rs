//! Writing files so that a reader never sees half of one: the bytes go to `NAME.partial`
//! in the same directory, which is renamed over `NAME` only once complete (a rename within
//! one directory is atomic on POSIX file systems). A failed write removes the partial file.

use crate::error::DatasetError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary name a write to `path` goes through: `path` with `.partial` appended.
#[must_use]
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Writes `bytes` to `path` through [`partial_path`] and a rename.
///
/// # Errors
///
/// [`DatasetError::Write`] naming `path`.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("trn-atomic-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// trn_dataset::atomic::write_atomic(&dir.join("a.txt"), b"whole").unwrap();
/// assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"whole");
/// assert!(!dir.join("a.txt.partial").exists());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DatasetError> {
    write_atomic_with(path, |w| {
        w.write_all(bytes).map_err(|e| DatasetError::io(path, e))
    })
}

/// Writes `path` through [`partial_path`] and a rename, the content streamed by `write`
/// into a buffered writer (for encoders that write as they go). `write`'s own errors come
/// back as they are; failing to create, flush or rename the file comes back as
/// [`DatasetError::Write`] naming `path`, converted into `E`. The data reaches the disk
/// before the rename, and the rename before this returns (the directory is synced where
/// the platform allows).
///
/// # Errors
///
/// As above; the partial file is removed on every error.
pub fn write_atomic_with<E: From<DatasetError>>(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<(), E>,
) -> Result<(), E> {
    let tmp = partial_path(path);
    let io = |e: std::io::Error| E::from(DatasetError::write(path, e));
    let written = (|| {
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut w = std::io::BufWriter::new(file);
        write(&mut w)?;
        // The writer is flushed and closed here, before the rename (or the removal below).
        w.into_inner()
            .map_err(std::io::IntoInnerError::into_error)
            .and_then(|f| f.sync_all())
            .map_err(io)
    })();
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path).map_err(io)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself reaches the disk with the directory's metadata.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_neither_file() {
        let dir = std::env::temp_dir().join(format!("trn-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.bin");
        let err = write_atomic_with(&path, |w| {
            w.write_all(b"half")
                .map_err(|e| DatasetError::io(&path, e))?;
            Err(DatasetError::io(
                &path,
                std::io::Error::other("encoder failed"),
            ))
        })
        .unwrap_err();
        assert!(err.to_string().contains("x.bin"), "{err}");
        assert!(!path.exists() && !partial_path(&path).exists());
        // A complete write replaces an older file whole.
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new content").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new content");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
