//! Errors of the simulator, naming the file and field.

use std::path::{Path, PathBuf};
use trn_map::MapError;

/// Why a simulation could not run or write its output.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A file could not be read or written.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A map product could not be read or written.
    #[error(transparent)]
    Map(#[from] MapError),
    /// A dataset file could not be read or written.
    #[error(transparent)]
    Dataset(#[from] trn_dataset::DatasetError),
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

impl SimError {
    /// An I/O error on `file`.
    pub fn io(file: &Path, source: std::io::Error) -> Self {
        Self::Io {
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
