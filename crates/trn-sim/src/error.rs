//! Errors of the simulator, naming the file and field: an invalid parameter or file field,
//! or a file that cannot be read or written, is trn-dataset's [`DatasetError`] (one error
//! type for the whole data side); a map product's is trn-map's [`MapError`].

use std::path::Path;
use trn_dataset::DatasetError;
use trn_map::MapError;

/// Why a simulation could not run or write its output.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A map product could not be read or written.
    #[error(transparent)]
    Map(#[from] MapError),
    /// A parameter or file field is invalid ([`DatasetError::Invalid`]), or a file could
    /// not be read ([`DatasetError::Io`]) or written ([`DatasetError::Write`]).
    #[error(transparent)]
    Dataset(#[from] DatasetError),
}

impl SimError {
    /// An error reading `file`.
    pub fn io(file: &Path, source: std::io::Error) -> Self {
        DatasetError::io(file, source).into()
    }

    /// An error writing `file` (or making its directory).
    pub fn write(file: &Path, source: std::io::Error) -> Self {
        DatasetError::write(file, source).into()
    }

    /// An invalid parameter.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        DatasetError::invalid(field, detail).into()
    }

    /// An invalid field in a file.
    pub fn invalid_file(file: &Path, field: impl Into<String>, detail: impl Into<String>) -> Self {
        DatasetError::invalid_file(file, field, detail).into()
    }
}
