//! `trn demo`: the shipped default descent, end to end.

use crate::error::CliError;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;
use trn_eval::{EvalOptions, evaluate, write_results};

/// Run the shipped default descent (data/default-descent) end to end and print a summary.
///
/// Builds the map database from the dataset's DEM and orthoimage, navigates all 60 frames
/// (15 km down to 50 m) with their inertial priors and rangefinder readings, and writes
/// results.csv, summary.json and report.html (with plots) to the output directory.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The dataset to run.
    #[arg(long, value_name = "DATASET", default_value = "data/default-descent")]
    dataset: PathBuf,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "trn-demo-out")]
    out: PathBuf,
    /// Print summary.json on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(a: DemoArgs) -> Result<(), CliError> {
    let t0 = Instant::now();
    if !a.dataset.join("dataset.json").is_file() {
        return Err(CliError::BadInput(format!(
            "{}: no dataset.json here; run from the repository root or pass --dataset",
            a.dataset.display()
        )));
    }
    let staged = crate::output::output_dir(&a.out, "summary.json")?;
    let bar = crate::progress::bar(1, "{msg:>14} [{bar:40}] {pos}/{len}");
    let ev = evaluate(
        &a.dataset,
        &EvalOptions::default(),
        &crate::progress::stage_progress(&bar),
    )
    .map_err(|e| CliError::Failed(e.to_string()))?;
    bar.finish_and_clear();
    let (rows, s) = (&ev.rows, &ev.summary);
    write_results(staged.path(), rows, s).map_err(|e| CliError::Failed(e.to_string()))?;
    crate::report::write(staged.path(), &ev.dataset, rows, &ev.details, s)
        .map_err(CliError::Failed)?;
    staged
        .commit()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    if a.json {
        crate::progress::print_json(&s)?;
        return Ok(());
    }
    let below10: Vec<f64> = rows
        .iter()
        .filter(|r| r.true_altitude_m.is_some_and(|h| h < 10_000.0))
        .filter_map(|r| r.pos_err_m)
        .collect();
    let q = |v: &[f64], p: f64| {
        trn_flight::stats::sample_quantile(&mut v.to_vec(), p).unwrap_or(f64::NAN)
    };
    let fixes_alt: Vec<f64> = rows
        .iter()
        .filter(|r| r.pose.is_some())
        .filter_map(|r| r.true_altitude_m)
        .collect();
    let lowest = fixes_alt.iter().copied().fold(f64::INFINITY, f64::min);
    println!("trn demo: {} ({} frames)", a.dataset.display(), s.frames);
    println!(
        "  {:<34} {} / {} ({:.0}%)",
        "frames / fixes",
        s.frames,
        s.fixes,
        100.0 * s.availability
    );
    println!("  {:<34} {:.0} m", "lowest fix altitude", lowest);
    if let Some(p) = s.pos_err_m {
        println!(
            "  {:<34} median {:.2} m, p99 {:.2} m",
            "position error, all fixes", p.median, p.p99
        );
    }
    println!(
        "  {:<34} median {:.2} m, p99 {:.2} m",
        "position error, below 10 km",
        q(&below10, 0.5),
        q(&below10, 0.99)
    );
    if let Some(p) = s.alt_err_m {
        println!(
            "  {:<34} median {:.2} m, max {:.2} m",
            "altitude error (vision)", p.median, p.max
        );
    }
    println!("  {:<34} {}", "fixes outside 3-sigma", s.outside_3sigma);
    println!(
        "  {:<34} {} of {} faulty readings flagged, {} false alarms",
        "rangefinder faults caught", s.lrf.faults_flagged, s.lrf.faults_true, s.lrf.false_alarms
    );
    println!(
        "  {:<34} median {:.1} ms, p95 {:.1} ms",
        "latency per frame", s.latency_ms.median, s.latency_ms.p95
    );
    println!(
        "wrote {}/results.csv, summary.json and report.html in {:.1} s",
        a.out.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
