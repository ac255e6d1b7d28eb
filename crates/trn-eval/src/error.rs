//! Why an evaluation failed.

use std::path::PathBuf;

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// An input (the dataset, a shard's results) is unreadable or invalid, or an output
    /// file could not be written ([`trn_dataset::DatasetError::Write`]).
    #[error(transparent)]
    Dataset(#[from] trn_dataset::DatasetError),
    /// The map could not be built.
    #[error(transparent)]
    Map(#[from] trn_map::MapError),
    /// The built map was refused by the flight parser (a bug if it happens).
    #[error("map database: {0}")]
    MapDb(trn_flight::mapdb::MapDbError),
    /// An output directory could not be created.
    #[error("{file}: {source}")]
    Io {
        /// The file or directory.
        file: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A bad option or inconsistent input.
    #[error("{0}")]
    Invalid(String),
}

impl EvalError {
    /// An I/O error on `file`.
    pub(crate) fn io(file: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            file: file.to_path_buf(),
            source,
        }
    }
}
