//! A results directory: `results.csv`, `summary.json`, `rows.json` and the band tables,
//! each written whole or not at all.

use crate::bands::band_files;
use crate::error::EvalError;
use serde::Serialize;
use std::path::Path;
use trn_dataset::atomic::write_atomic;
use trn_dataset::results::{ResultRow, results_csv, rows_json};
use trn_dataset::summary::Summary;

/// `v` as pretty JSON with a final newline, written atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), EvalError> {
    let text = serde_json::to_string_pretty(v).map_err(|e| EvalError::Invalid(e.to_string()))?;
    Ok(write_atomic(path, (text + "\n").as_bytes())?)
}

/// The summary and the band tables over `rows`, written into `out`.
pub(crate) fn write_summary(
    out: &Path,
    rows: &[ResultRow],
    summary: &Summary,
) -> Result<(), EvalError> {
    write_json(&out.join("summary.json"), summary)?;
    for (name, text) in band_files(rows) {
        write_atomic(&out.join(name), text.as_bytes())?;
    }
    Ok(())
}

/// Writes `results.csv`, `summary.json`, `rows.json` (for merging and re-rendering
/// reports), `altitude_bands.csv`, `sun_bands.csv` and `shadow_bands.csv` (see
/// [`crate::bands`]) into `out` (created), each through a temporary name and a rename.
///
/// # Errors
///
/// [`EvalError::Io`] or [`EvalError::Dataset`] naming the file.
pub fn write_results(out: &Path, rows: &[ResultRow], summary: &Summary) -> Result<(), EvalError> {
    std::fs::create_dir_all(out).map_err(EvalError::io(out))?;
    write_atomic(&out.join("results.csv"), results_csv(rows).as_bytes())?;
    write_atomic(&out.join("rows.json"), rows_json(rows)?.as_bytes())?;
    write_summary(out, rows, summary)
}
