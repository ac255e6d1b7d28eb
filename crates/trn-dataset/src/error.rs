//! Errors of reading and writing trn's files, naming the file, the field and the value.

use std::path::{Path, PathBuf};

/// Why a file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file could not be read (an input: the caller's to fix).
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file could not be written (an output: the disk's or the permissions').
    #[error("{file}: cannot write: {source}")]
    Write {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An output is being written by another process.
    #[error("{file}: in use by {holder}; wait for it to finish or choose another output")]
    Busy {
        /// The output.
        file: PathBuf,
        /// Who holds it.
        holder: String,
    },
    /// A parameter or file content is out of range or inconsistent.
    #[error("{file}invalid {field}: {detail}")]
    Invalid {
        /// The file, followed by ": ", or empty for parameters.
        file: String,
        /// The field or parameter.
        field: String,
        /// What is wrong.
        detail: String,
    },
}

impl DatasetError {
    /// An error reading `file`.
    pub fn io(file: &Path, source: std::io::Error) -> Self {
        Self::Io {
            file: file.to_path_buf(),
            source,
        }
    }

    /// An error writing `file`.
    pub fn write(file: &Path, source: std::io::Error) -> Self {
        Self::Write {
            file: file.to_path_buf(),
            source,
        }
    }

    /// An invalid parameter.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Invalid {
            file: String::new(),
            field: field.into(),
            detail: detail.into(),
        }
    }

    /// An invalid field in a file.
    pub fn invalid_file(file: &Path, field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Invalid {
            file: format!("{}: ", file.display()),
            field: field.into(),
            detail: detail.into(),
        }
    }
}
