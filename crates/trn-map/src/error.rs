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
    /// A map build chose fewer landmarks than it needs: the setting that would help most
    /// and a value for it.
    #[error("{file}: {detail}: set {setting} {value}")]
    TooFewLandmarks {
        /// The DEM the map was built from.
        file: PathBuf,
        /// The setting to change (its command-line name).
        setting: &'static str,
        /// The value to give it.
        value: String,
        /// How many landmarks were chosen, how many were needed, and why there were few.
        detail: String,
        /// How many landmarks the best selection chose (with any number of levels).
        chosen: usize,
    },
}

impl MapError {
    /// The error with `file` as the file it names, for errors of a build (which knows its
    /// rasters but not their paths); other errors are returned unchanged.
    #[must_use]
    pub fn for_file(self, file: impl Into<PathBuf>) -> Self {
        match self {
            Self::TooFewLandmarks {
                setting,
                value,
                detail,
                chosen,
                ..
            } => Self::TooFewLandmarks {
                file: file.into(),
                setting,
                value,
                detail,
                chosen,
            },
            other => other,
        }
    }
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
            trn_dataset::DatasetError::Busy { file, holder } => Self::Io {
                file,
                source: std::io::Error::other(format!("in use by {holder}")),
            },
        }
    }
}
