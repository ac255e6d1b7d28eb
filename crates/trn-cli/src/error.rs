//! Errors of the command line and the exit code each maps to.

use std::path::PathBuf;
use trn_map::MapError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input is wrong: exit code 2.
    #[error("{0}")]
    BadInput(String),
    /// A map product or database could not be read or written.
    #[error(transparent)]
    Map(#[from] MapError),
    /// A map database was refused by the flight parser.
    #[error("{file}: {detail}")]
    MapDb {
        /// The database.
        file: PathBuf,
        /// The parser's verdict.
        detail: trn_flight::mapdb::MapDbError,
    },
    /// Anything else that went wrong while running: exit code 1.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// 2 for bad input, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::BadInput(_) | Self::MapDb { .. } => 2,
            Self::Map(MapError::Io { source, .. })
                if source.kind() != std::io::ErrorKind::NotFound =>
            {
                1
            }
            Self::Map(_) => 2,
            Self::Failed(_) => 1,
        }
    }
}
