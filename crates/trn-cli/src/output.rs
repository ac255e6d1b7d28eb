//! Output directories of the commands: written whole under a lock
//! ([`trn_dataset::output_dir`]), and removed when the process is interrupted.

use crate::error::CliError;
use std::path::Path;
use trn_dataset::DatasetError;
use trn_dataset::output_dir::OutputDir;

/// The output directory `out` of a command whose output always holds `marker`, staged.
///
/// # Errors
///
/// [`CliError::BadInput`] when `out` is not this command's to replace or another run holds
/// it; [`CliError::Failed`] when it cannot be made.
pub fn output_dir(out: &Path, marker: &str) -> Result<OutputDir, CliError> {
    OutputDir::create(out, marker).map_err(|e| match e {
        DatasetError::Write { .. } => CliError::Failed(e.to_string()),
        _ => CliError::BadInput(e.to_string()),
    })
}

/// On SIGINT, SIGTERM or SIGHUP: removes the staging directories of the outputs being
/// written (saying so when there were any) and exits with 130 (the shell's code for an
/// interrupt).
pub fn remove_partial_output_on_signal() {
    // Without a handler (one already installed) an interrupt still leaves the previous
    // output whole; the next run removes the staging directory.
    let _ = ctrlc::set_handler(|| {
        trn_dataset::output_dir::abandon_all_then(|n| {
            if n > 0 {
                eprintln!("trn: interrupted; the output being written was removed");
            }
            std::process::exit(130)
        })
    });
}
