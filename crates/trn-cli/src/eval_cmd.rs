//! `trn eval DATASET --out DIR`.

use crate::error::CliError;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;
use trn::eval::{EvalError, EvalOptions, Templates, evaluate_saving_map, write_results};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TemplateSource {
    /// The orthoimage when its sun is within 5 degrees of the frames', else DEM renders.
    Auto,
    /// Renders of the DEM under the frames' sun.
    Render,
    /// The orthoimage.
    Ortho,
}

/// Run a dataset (DATASET.md format) and write results.csv, summary.json and report.html.
///
/// Builds the map database from the dataset's map section (the DEM resampled onto the
/// largest site-centred square inside it at its own spacing, rendered under the frames'
/// sun), navigates every frame with its prior and rangefinder reading, and compares with
/// truth where the dataset has it.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The dataset directory (holding dataset.json).
    #[arg(value_name = "DATASET")]
    dataset: PathBuf,
    /// Output directory for results.csv, summary.json, report.html and its plots.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Where landmark templates come from.
    #[arg(long, value_enum, default_value_t = TemplateSource::Auto)]
    templates: TemplateSource,
    /// Most landmarks in the map database.
    #[arg(long, default_value_t = 3000)]
    max_landmarks: usize,
    /// Rangefinder noise, constant part, metres 1-sigma.
    #[arg(long, default_value_t = 0.3)]
    lrf_sigma_m: f64,
    /// Rangefinder noise proportional to range (fraction, 1-sigma).
    #[arg(long, default_value_t = 0.002)]
    lrf_sigma_frac: f64,
    /// Also write the map database built from the dataset here (readable by `trn map info`
    /// and by benches/peers/reference_pipeline.py).
    #[arg(long, value_name = "MAP.trnmap")]
    save_map: Option<PathBuf>,
    /// Print summary.json on stdout instead of the text summary.
    #[arg(long)]
    json: bool,
}

fn eval_err(e: EvalError) -> CliError {
    match e {
        EvalError::Io { file, source } => CliError::Failed(format!("{}: {source}", file.display())),
        EvalError::Map(m) => m.into(),
        EvalError::MapDb(d) => CliError::Failed(format!("built map refused: {d}")),
        other => CliError::BadInput(other.to_string()),
    }
}

pub fn run(a: EvalArgs) -> Result<(), CliError> {
    let mut opts = EvalOptions {
        templates: match a.templates {
            TemplateSource::Auto => Templates::Auto,
            TemplateSource::Render => Templates::Render,
            TemplateSource::Ortho => Templates::Ortho,
        },
        max_landmarks: a.max_landmarks,
        ..EvalOptions::default()
    };
    if !(a.lrf_sigma_m >= 0.0 && a.lrf_sigma_frac >= 0.0) {
        return Err(CliError::BadInput(format!(
            "--lrf-sigma-m {} / --lrf-sigma-frac {}: must be non-negative",
            a.lrf_sigma_m, a.lrf_sigma_frac
        )));
    }
    opts.nav.rangefinder.sigma_m = a.lrf_sigma_m;
    opts.nav.rangefinder.sigma_fraction = a.lrf_sigma_frac;
    let bar = ProgressBar::with_draw_target(Some(1), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let (rows, summary) = evaluate_saving_map(
        &a.dataset,
        &opts,
        a.save_map.as_deref(),
        &|stage, done, total| {
            bar.set_message(stage.to_string());
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )
    .map_err(eval_err)?;
    bar.finish_and_clear();
    write_results(&a.out, &rows, &summary).map_err(eval_err)?;
    let ds =
        trn_sim::dataset::Dataset::read(&a.dataset).map_err(|e| CliError::Failed(e.to_string()))?;
    crate::report::write(&a.out, &ds, &rows, &summary).map_err(CliError::Failed)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).map_err(|e| CliError::Failed(e.to_string()))?
        );
        return Ok(());
    }
    let st = |s: Option<trn::eval::Stats>| {
        s.map_or("-".to_string(), |s| {
            format!(
                "median {:.2}, p95 {:.2}, p99 {:.2}, max {:.2}",
                s.median, s.p95, s.p99, s.max
            )
        })
    };
    println!(
        "{} frames, {} fixes ({:.1}%)\n  position error m  {}\n  horizontal m      {}\n  altitude m        {}\n  attitude deg      {}\n  outside 3-sigma   {}\n  rangefinder       {} readings, {} faulty, {} flagged, {} missed, {} false alarms\n  latency ms        median {:.1}, p95 {:.1}, max {:.1}\nwrote {}/results.csv, summary.json and report.html",
        summary.frames,
        summary.fixes,
        100.0 * summary.availability,
        st(summary.pos_err_m),
        st(summary.horiz_err_m),
        st(summary.alt_err_m),
        st(summary.att_err_deg),
        summary.outside_3sigma,
        summary.lrf.frames_with_reading,
        summary.lrf.faults_true,
        summary.lrf.faults_flagged,
        summary.lrf.missed,
        summary.lrf.false_alarms,
        summary.latency_ms.median,
        summary.latency_ms.p95,
        summary.latency_ms.max,
        a.out.display()
    );
    Ok(())
}
