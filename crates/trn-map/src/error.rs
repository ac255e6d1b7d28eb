//! Errors that name the file, the field and the value.

use std::path::PathBuf;

/// Why a map product could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The file could not be opened, read or written.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The TIFF structure is broken or truncated.
    #[error("{file}: not a readable TIFF: {detail}")]
    Tiff {
        /// The file.
        file: PathBuf,
        /// What the TIFF decoder reported.
        detail: String,
    },
    /// A field holds a value this reader does not support.
    #[error("{file}: unsupported {field} = {value}{hint}")]
    Unsupported {
        /// The file.
        file: PathBuf,
        /// The field (TIFF tag or GeoKey name).
        field: &'static str,
        /// Its value.
        value: String,
        /// What to do instead, starting with "; " (may be empty).
        hint: String,
    },
    /// A required field is missing or inconsistent.
    #[error("{file}: invalid {field}: {detail}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The field.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
}

impl From<trn_dataset::DatasetError> for MapError {
    /// Writing through trn-dataset's atomic writes: its I/O errors are this crate's.
    fn from(e: trn_dataset::DatasetError) -> Self {
        match e {
            trn_dataset::DatasetError::Io { file, source }
            | trn_dataset::DatasetError::Write { file, source } => Self::Io { file, source },
            trn_dataset::DatasetError::Invalid {
                file,
                field,
                detail,
            } => Self::Io {
                file: PathBuf::from(file.trim_end_matches(": ")),
                source: std::io::Error::other(format!("invalid {field}: {detail}")),
            },
        }
    }
}
