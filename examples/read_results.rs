//! A results directory read back, as an independent scorer would: the pose of every frame
//! from `results.csv`, the truth from the dataset's `frames.csv`, and the summary's
//! figures recomputed from those two files alone, then set beside `summary.json`.
//!
//! `cargo run --release -p trn-examples --example read_results -- [RESULTS] [DATASET]`
//! (defaults: `trn-demo-out`, which `trn demo` writes, and the shipped descent).

use std::path::{Path, PathBuf};
use trn_dataset::csv::Table;
use trn_dataset::dataset::Dataset;
use trn_dataset::results::RESULTS_COLUMNS;
use trn_flight::stats::sample_quantile;

/// What the summary says that `frames.csv` and `results.csv` alone determine.
#[derive(Debug, PartialEq)]
struct Recomputed {
    frames: usize,
    fixes: usize,
    pos_err_median_m: Option<f64>,
    pos_err_max_m: Option<f64>,
    outside_3sigma: usize,
    faults_true: usize,
    faults_flagged: usize,
}

fn recompute(results: &Path, dataset: &Path) -> Result<Recomputed, Box<dyn std::error::Error>> {
    let ds = Dataset::read(dataset)?;
    let path = results.join("results.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let table = Table::parse(&path, &text, &RESULTS_COLUMNS)?;
    let mut errors = Vec::new();
    let (mut fixes, mut outside, mut faults_true, mut faults_flagged) = (0, 0, 0, 0);
    for row in table.rows() {
        let id = row.u64("frame")?;
        let truth = ds.frames.iter().find(|f| f.frame == id).ok_or_else(|| {
            row.error("frame", format!("{id} is not in the dataset's frames.csv"))
        })?;
        if truth.lrf_fault == Some(true) {
            faults_true += 1;
            let status = row.cell("lrf_status");
            faults_flagged += usize::from(
                status == "fault" || (truth.lrf_range_m.is_none() && status == "no_reading"),
            );
        }
        if row.cell("status") != "fix" {
            continue;
        }
        fixes += 1;
        let Some(t) = truth.truth else { continue };
        let est = [row.f64("x_m")?, row.f64("y_m")?, row.f64("z_m")?];
        let sigma = [
            row.f64("sigma_x_m")?,
            row.f64("sigma_y_m")?,
            row.f64("sigma_z_m")?,
        ];
        let d = [
            est[0] - t.position.x,
            est[1] - t.position.y,
            est[2] - t.position.z,
        ];
        errors.push(d.iter().map(|v| v * v).sum::<f64>().sqrt());
        outside += usize::from((0..3).any(|i| d[i].abs() > 3.0 * sigma[i]));
    }
    Ok(Recomputed {
        frames: table.len(),
        fixes,
        pos_err_median_m: sample_quantile(&mut errors, 0.5),
        pos_err_max_m: sample_quantile(&mut errors, 1.0),
        outside_3sigma: outside,
        faults_true,
        faults_flagged,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let results = args
        .next()
        .map_or_else(|| PathBuf::from("trn-demo-out"), PathBuf::from);
    let dataset = args
        .next()
        .map_or_else(trn_examples::shipped_descent, PathBuf::from);
    let r = recompute(&results, &dataset)?;
    let path = results.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("recomputed from results.csv and frames.csv: {r:#?}");
    println!("{}:\n{text}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::recompute;
    use trn_dataset::results::ResultRow;
    use trn_flight::pipeline::FixStatus;
    use trn_flight::rangefinder::LrfStatus;

    /// Rows with known errors for the shipped descent's frames, written as `trn eval`
    /// writes them, recompute to the summary trn-eval made of the same rows.
    #[test]
    fn the_scorer_agrees_with_the_summary() {
        let ds = trn_dataset::dataset::Dataset::read(&trn_examples::shipped_descent()).unwrap();
        let rows: Vec<ResultRow> = ds
            .frames
            .iter()
            .enumerate()
            .map(|(k, f)| {
                let t = f.truth.unwrap();
                let e = [0.15 * (k % 7) as f64, -0.05 * (k % 3) as f64, 0.2];
                let mut p = t;
                p.position += trn_flight::Vec3::new(e[0], e[1], e[2]);
                let fix = k % 5 != 0;
                ResultRow {
                    frame: f.frame,
                    status: if fix {
                        FixStatus::Fix
                    } else {
                        FixStatus::NoFix
                    },
                    pose: fix.then_some(p),
                    sigma_pos: [0.22, 0.22, 0.22],
                    altitude_m: t.position.z,
                    lrf_status: if k % 4 == 0 {
                        LrfStatus::Fault
                    } else {
                        LrfStatus::Ok
                    },
                    lrf_reading: f.lrf_range_m.is_some(),
                    lrf_fault: f.lrf_fault,
                    pos_err_m: fix.then(|| e.iter().map(|v| v * v).sum::<f64>().sqrt()),
                    err_xyz: fix.then_some(e),
                    ..ResultRow::default()
                }
            })
            .collect();
        let summary = trn_eval::summarise(&rows);
        let dir = std::env::temp_dir().join(format!("trn-read-results-{}", std::process::id()));
        trn_eval::write_results(&dir, &rows, &summary).unwrap();
        let r = recompute(&dir, &trn_examples::shipped_descent()).unwrap();
        assert_eq!((r.frames, r.fixes), (summary.frames, summary.fixes));
        assert_eq!(r.outside_3sigma, summary.outside_3sigma);
        assert!(r.outside_3sigma > 0, "errors up to 0.9 m exceed 3 x 0.22 m");
        let s = summary.pos_err_m.unwrap();
        assert!((r.pos_err_median_m.unwrap() - s.median).abs() < 1e-5);
        assert!((r.pos_err_max_m.unwrap() - s.max).abs() < 1e-5);
        assert_eq!(r.faults_true, summary.lrf.faults_true);
        assert_eq!(r.faults_flagged, summary.lrf.faults_flagged);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
