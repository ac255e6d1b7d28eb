//! A dataset in the format of DATASET.md evaluated through trn-eval's API: the map database
//! built from the dataset's DEM (and orthoimage), every frame navigated, errors against
//! truth, and the results directory that `trn eval` writes (`results.csv`, `summary.json`,
//! `rows.json`, band tables).
//!
//! `cargo run --release -p trn-examples --example evaluate_dataset -- [DATASET] [OUT]`
//! (defaults: the shipped descent, `trn-example-out/`).

use std::path::PathBuf;
use trn::FixStatus;
use trn_eval::{EvalOptions, Templates, evaluate, write_results};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dataset = args
        .next()
        .map_or_else(trn_examples::shipped_descent, PathBuf::from);
    let out = args
        .next()
        .map_or_else(|| PathBuf::from("trn-example-out"), PathBuf::from);

    // Settings: templates from the orthoimage when its sun suits the frames', the
    // rangefinder's noise (the dataset format does not carry it), the navigator's gates.
    let mut opts = EvalOptions {
        templates: Templates::Auto,
        ..EvalOptions::default()
    };
    opts.nav.rangefinder.sigma_m = 0.3;

    let ev = evaluate(&dataset, &opts, &|stage, done, total| {
        if done == total {
            eprintln!("{stage}: {done}/{total}");
        }
    })?;
    for (frame, row) in ev.dataset.frames.iter().zip(&ev.rows) {
        let err = row.pos_err_m.map_or("-".into(), |e| format!("{e:.2} m"));
        let sigma = row.sigma_pos.iter().fold(0.0f64, |a, s| a.max(*s));
        if row.status == FixStatus::Fix {
            println!(
                "frame {:3} at {:7.0} m: fix, error {err}, largest sigma {sigma:.2} m, rangefinder {}",
                frame.frame,
                frame.truth.map_or(f64::NAN, |t| t.position.z),
                row.lrf_status
            );
        } else {
            println!("frame {:3}: {}", frame.frame, row.status.as_str());
        }
    }
    write_results(&out, &ev.rows, &ev.summary)?;
    println!(
        "{} of {} frames fixed; {} outside 3 sigma; wrote {}",
        ev.summary.fixes,
        ev.summary.frames,
        ev.summary.outside_3sigma,
        out.display()
    );
    Ok(())
}
