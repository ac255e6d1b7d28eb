//! `trn eval DATASET --out DIR`.

use crate::error::CliError;
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use trn_dataset::DatasetError;
use trn_dataset::dataset::ReadOptions;
use trn_eval::{EvalError, EvalOptions, Templates, evaluate_saving_map, write_results};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TemplateSource {
    /// The orthoimage when its sun is within 5 degrees of the frames'; relit when its sun is known (map.ortho_sun) and further; without its sun, the orthoimage when the DEM's posts are more than 1.5 times its pixel; else DEM renders.
    Auto,
    /// Renders of the DEM under the frames' sun.
    Render,
    /// The orthoimage.
    Ortho,
    /// The orthoimage relit under the frames' sun: DEM renders times the orthoimage with its own sun's shading (map.ortho_sun) divided out.
    Relit,
}

/// Run a dataset (DATASET.md format) and write results.csv, summary.json and report.html.
///
/// Builds the map database from the dataset's map section (the DEM resampled onto the
/// largest site-centred square inside it at its own spacing, rendered under the frames'
/// sun), navigates every frame with its prior and rangefinder reading, and compares with
/// truth where the dataset has it.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EvalArgs {
    #[command(subcommand)]
    merge: Option<EvalSub>,
    /// The dataset directory (holding dataset.json), or a campaign directory (holding
    /// campaign.json, from `trn sim campaign`).
    #[arg(value_name = "DATASET")]
    dataset: Option<PathBuf>,
    /// Output directory for results.csv, summary.json, report.html and its plots, and
    /// altitude_bands.csv, sun_bands.csv and shadow_bands.csv (availability, error and
    /// integrity by band of true altitude, of sun elevation and of the share of the frame in
    /// shadow); for a campaign: one directory per dataset, and summary.json and the three
    /// band tables over all of them.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run only shard K of N of a campaign: every dataset whose index is K modulo N
    /// (0-based). Merge the shard outputs with `trn eval merge`.
    #[arg(long, value_name = "K/N", value_parser = shard)]
    shard: Option<(usize, usize)>,
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
    /// Accept image, frames and map paths in the dataset that are absolute or climb out of
    /// its directory through `..` (refused by default: a dataset reads only its own files).
    #[arg(long)]
    allow_outside_paths: bool,
    /// The most memory the run may need, GiB: a dataset whose camera, frame count and map
    /// rasters need more (an estimate from their declared sizes) is refused before they
    /// are read. Default: three quarters of this machine's memory.
    #[arg(long, value_name = "GIB")]
    max_memory_gb: Option<f64>,
}

#[derive(Debug, Subcommand)]
enum EvalSub {
    /// Merge shard outputs of a campaign (`trn eval CAMPAIGN --shard K/N`) into one: the
    /// per-dataset results copied, summary.json over all frames, shard.json listing them.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// Shard output directories.
    #[arg(value_name = "DIR", required = true)]
    shards: Vec<PathBuf>,
    /// The merged output directory.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Print the merged summary.json on stdout.
    #[arg(long)]
    json: bool,
}

fn shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("expected K/N (like 0/4), got '{s}'"))?;
    let (k, n) = (
        k.trim()
            .parse::<usize>()
            .map_err(|_| format!("bad K in '{s}'"))?,
        n.trim()
            .parse::<usize>()
            .map_err(|_| format!("bad N in '{s}'"))?,
    );
    if n == 0 || k >= n {
        return Err(format!("'{s}': need 0 <= K < N"));
    }
    Ok((k, n))
}

fn eval_err(e: EvalError) -> CliError {
    match e {
        EvalError::Io { file, source } => CliError::Failed(format!("{}: {source}", file.display())),
        EvalError::Map(m) => m.into(),
        EvalError::MapDb(d) => CliError::Failed(format!("built map refused: {d}")),
        // An output that cannot be written is a failure; an input that cannot be read or
        // parsed is the caller's to fix.
        EvalError::Dataset(d @ DatasetError::Write { .. }) => CliError::Failed(d.to_string()),
        other => CliError::BadInput(other.to_string()),
    }
}

pub fn run(a: EvalArgs) -> Result<(), CliError> {
    if let Some(EvalSub::Merge(m)) = a.merge {
        let staged = crate::output::output_dir(&m.out, "summary.json")?;
        let s = trn_eval::merge(&m.shards, staged.path()).map_err(eval_err)?;
        staged.commit().map_err(|e| eval_err(e.into()))?;
        if m.json {
            crate::progress::print_json(&s)?;
        } else {
            println!(
                "merged {} shards: {} frames, {} fixes; wrote {}/summary.json",
                m.shards.len(),
                s.frames,
                s.fixes,
                m.out.display()
            );
        }
        return Ok(());
    }
    let (Some(dataset), Some(out)) = (a.dataset.clone(), a.out.clone()) else {
        return Err(CliError::BadInput(
            "trn eval needs DATASET and --out DIR (or `trn eval merge DIR... --out DIR`)".into(),
        ));
    };
    let campaign = trn_sim::campaign::read_campaign(&dataset)
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    let mut opts = EvalOptions {
        templates: match a.templates {
            TemplateSource::Auto => Templates::Auto,
            TemplateSource::Render => Templates::Render,
            TemplateSource::Ortho => Templates::Ortho,
            TemplateSource::Relit => Templates::Relit,
        },
        max_landmarks: a.max_landmarks,
        read: ReadOptions {
            allow_outside_paths: a.allow_outside_paths,
        },
        max_memory_bytes: trn_dataset::budget::limit_bytes(a.max_memory_gb)
            .map_err(|e| CliError::BadInput(e.to_string()))?,
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
    // Taken before the work, so that a second run on one output fails at once.
    let staged = crate::output::output_dir(&out, "summary.json")?;
    if let Some(c) = campaign {
        let (k, n) = a.shard.unwrap_or((0, 1));
        let bar = crate::progress::bar(1, "{msg:>14} [{bar:40}] {pos}/{len} datasets ({eta})");
        let s = trn_eval::evaluate_campaign(
            &dataset,
            &c.datasets,
            (k, n),
            &opts,
            staged.path(),
            &crate::progress::stage_progress(&bar),
        )
        .map_err(eval_err)?;
        staged.commit().map_err(|e| eval_err(e.into()))?;
        bar.finish_and_clear();
        if a.json {
            crate::progress::print_json(&s)?;
        } else {
            println!(
                "campaign shard {k}/{n}: {} frames, {} fixes ({:.1}%); wrote {}/summary.json, altitude_bands.csv, sun_bands.csv and shadow_bands.csv",
                s.frames,
                s.fixes,
                100.0 * s.availability,
                out.display()
            );
            let mut rows = Vec::new();
            for name in c.datasets.iter().skip(k).step_by(n) {
                rows.extend(trn_eval::read_rows(&out.join(name)).map_err(|e| eval_err(e.into()))?);
            }
            if let Some(line) = crate::report::target_line(&rows) {
                println!("  sun >= 5 deg      {line}");
            }
        }
        return Ok(());
    }
    if a.shard.is_some() {
        return Err(CliError::BadInput(format!(
            "--shard needs a campaign directory; {} has no campaign.json",
            dataset.display()
        )));
    }
    let bar = crate::progress::bar(1, "{msg:>14} [{bar:40}] {pos}/{len} ({eta})");
    let ev = evaluate_saving_map(
        &dataset,
        &opts,
        a.save_map.as_deref(),
        &crate::progress::stage_progress(&bar),
    )
    .map_err(eval_err)?;
    bar.finish_and_clear();
    let (ds, rows, summary) = (&ev.dataset, &ev.rows, &ev.summary);
    write_results(staged.path(), rows, summary).map_err(eval_err)?;
    crate::report::write(staged.path(), ds, rows, &ev.details, summary)
        .map_err(CliError::Failed)?;
    staged.commit().map_err(|e| eval_err(e.into()))?;
    if a.json {
        crate::progress::print_json(&summary)?;
        return Ok(());
    }
    let st = |s: Option<trn_eval::Stats>| {
        s.map_or("-".to_string(), |s| {
            format!(
                "median {:.2}, p95 {:.2}, p99 {:.2}, max {:.2}",
                s.median, s.p95, s.p99, s.max
            )
        })
    };
    println!(
        "{} frames, {} fixes ({:.1}%)\n  position error m  {}\n  horizontal m      {}\n  altitude m        {}\n  attitude deg      {}\n  outside 3-sigma   {}\n  rangefinder       {} readings, {} faulty, {} flagged, {} missed, {} false alarms, {} good readings held\n  latency ms        median {:.1}, p95 {:.1}, max {:.1}",
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
        summary.lrf.held_good,
        summary.latency_ms.median,
        summary.latency_ms.p95,
        summary.latency_ms.max,
    );
    // Where the fixes stop, in one line (the whole table is in altitude_bands.csv).
    let bands: Vec<String> = trn_eval::by_altitude(rows)
        .iter()
        .map(|b| {
            let to = if b.to.is_finite() {
                format!("{}", b.to)
            } else {
                String::new()
            };
            let tracked = if b.tracked > 0 {
                format!(" ({} tracked)", b.tracked)
            } else {
                String::new()
            };
            format!("{}-{to} m {}/{}{tracked}", b.from, b.fixes, b.frames)
        })
        .collect();
    if !bands.is_empty() {
        println!("  fixes by altitude {}", bands.join(", "));
    }
    if let Some(line) = crate::report::target_line(rows) {
        println!("  sun >= 5 deg      {line}");
    }
    println!(
        "wrote {}/results.csv, summary.json, altitude_bands.csv, sun_bands.csv, shadow_bands.csv and report.html",
        out.display()
    );
    Ok(())
}
