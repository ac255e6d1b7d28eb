//! Writing files so that a reader never sees half of one: a temporary name in the same
//! directory, then a rename.

use crate::error::SimError;
use std::path::Path;

/// Writes `bytes` to `path` through `path.partial` and a rename.
///
/// # Errors
///
/// [`SimError::Io`] naming `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, bytes).map_err(|e| SimError::io(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        SimError::io(path, e)
    })
}
