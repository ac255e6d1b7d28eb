//! `trn report DIR`: (re-)render report.html from a results directory.

use crate::error::CliError;
use clap::Args;
use std::path::PathBuf;

/// Render report.html and its plots from a results directory written by `trn eval` or
/// `trn demo` (its rows.json) and the dataset it came from. The frame-with-matches plot
/// needs the matches, which only a live run has: re-rendered reports leave it out.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Results directory (holding rows.json).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The dataset the results are of.
    #[arg(long, value_name = "DATASET")]
    dataset: PathBuf,
    /// Print the recomputed summary as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: ReportArgs) -> Result<(), CliError> {
    let mut rows = trn_eval::read_rows(&a.dir).map_err(|e| CliError::BadInput(e.to_string()))?;
    let ds = trn_dataset::dataset::Dataset::read(&a.dataset)
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    if ds.frames.len() != rows.len() {
        return Err(CliError::BadInput(format!(
            "{}: {} result rows, but {} has {} frames",
            a.dir.join("rows.json").display(),
            rows.len(),
            a.dataset.display(),
            ds.frames.len()
        )));
    }
    // rows.json written before it kept the sun or the shadow: the dataset has them.
    for (r, f) in rows.iter_mut().zip(&ds.frames) {
        r.sun_el_deg.get_or_insert(f.sun_el_deg);
        // Without the images the report goes without the shadow table.
        if r.shadow_fraction.is_none()
            && let Ok(img) = trn_dataset::image::read_frame(&ds.dir.join(&f.image))
        {
            r.shadow_fraction = Some(trn_eval::shadow_fraction(&img.pixels, img.full_scale));
        }
    }
    let summary = trn_eval::summarise(&rows);
    crate::report::write(&a.dir, &ds, &rows, &[], &summary).map_err(CliError::Failed)?;
    if a.json {
        crate::progress::print_json(&summary)?;
    } else {
        println!("wrote {}/report.html", a.dir.display());
    }
    Ok(())
}
