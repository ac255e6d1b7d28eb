//! End to end on the shipped simulated descent (data/default-descent): a map built from the
//! dataset's DEM, every frame navigated, and the targets that 60 frames can check.

use std::path::PathBuf;
use trn::FixStatus;
use trn::eval::{EvalOptions, evaluate};

fn dataset() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/default-descent")
}

#[test]
fn default_descent_meets_the_checkable_targets() {
    let (rows, summary) = evaluate(&dataset(), &EvalOptions::default(), &|_, _, _| {}).unwrap();
    assert_eq!(summary.frames, 60);
    let map_px = 10.0;
    let truth = trn_sim::dataset::Dataset::read(&dataset()).unwrap();
    let alt = |k: usize| truth.frames[k].truth.unwrap().position.z;

    // Every frame above 1.6 km has a fix (below, the 10 m map holds too few landmarks in
    // the view for a pose: no fix rather than a wrong one).
    for (k, r) in rows.iter().enumerate() {
        if alt(k) > 1600.0 {
            assert_eq!(r.status, FixStatus::Fix, "frame {k} at {:.0} m", alt(k));
        }
    }
    // Accuracy below 10 km: median <= 0.5 map pixel, 99th percentile <= 2.
    let mut errs: Vec<f64> = rows
        .iter()
        .enumerate()
        .filter(|(k, r)| r.status == FixStatus::Fix && alt(*k) < 10_000.0)
        .filter_map(|(_, r)| r.pos_err_m)
        .collect();
    errs.sort_by(f64::total_cmp);
    assert!(errs.len() >= 20);
    let median = errs[errs.len() / 2];
    let p99 = errs[((errs.len() - 1) as f64 * 0.99).round() as usize];
    assert!(median <= 0.5 * map_px, "median {median} m");
    assert!(p99 <= 2.0 * map_px, "p99 {p99} m");
    // Altitude from vision within 1 % of altitude on every fix.
    for (k, r) in rows.iter().enumerate() {
        if r.status == FixStatus::Fix {
            let t = r.true_altitude_m.unwrap();
            assert!(
                (r.altitude_m - t).abs() <= 0.01 * t,
                "frame {k}: {} vs {t}",
                r.altitude_m
            );
        }
    }
    // Integrity: the reported covariance bounds the error (at most one 3-sigma excursion
    // in 60 frames; the 1-in-1000 target needs campaigns).
    assert!(summary.outside_3sigma <= 1, "{}", summary.outside_3sigma);
    // Every injected rangefinder fault episode flagged within 3 frames; no false alarm.
    let mut k = 0;
    while k < rows.len() {
        if rows[k].lrf_fault == Some(true) {
            let start = k;
            while k < rows.len() && rows[k].lrf_fault == Some(true) {
                k += 1;
            }
            let flagged = rows[start..k.min(start + 3)].iter().any(|r| {
                r.lrf_status == "fault" || (!r.lrf_reading && r.lrf_status == "no_reading")
            });
            assert!(
                flagged,
                "fault starting at frame {start} not flagged within 3 frames"
            );
        } else {
            k += 1;
        }
    }
    assert_eq!(summary.lrf.false_alarms, 0);

    // Velocity from consecutive fixes against the same difference of the true positions:
    // within 3 reported sigma on (nearly) every axis.
    let (mut checked, mut outside) = (0, 0);
    for (k, row) in rows.iter().enumerate().skip(1) {
        let Some(v) = row.velocity else { continue };
        let (a, b) = (
            truth.frames[k - 1].truth.unwrap(),
            truth.frames[k].truth.unwrap(),
        );
        let vt = (b.position - a.position) * (1.0 / v.dt_s);
        for (i, (e, t)) in [v.mps.x, v.mps.y, v.mps.z]
            .iter()
            .zip([vt.x, vt.y, vt.z])
            .enumerate()
        {
            checked += 1;
            if (e - t).abs() > 3.0 * v.sigma_mps[i] {
                outside += 1;
            }
        }
    }
    assert!(checked >= 60, "{checked} velocity components");
    assert!(
        outside <= 1,
        "{outside} of {checked} velocity components outside 3 sigma"
    );
}

#[test]
fn thread_count_does_not_change_the_result() {
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| evaluate(&dataset(), &EvalOptions::default(), &|_, _, _| {}).unwrap())
    };
    let (a, _) = run(1);
    let (b, _) = run(2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.status, y.status, "frame {}", x.frame);
        if let (Some(p), Some(q)) = (x.pose, y.pose) {
            assert!((p.position - q.position).norm() < 1e-4, "frame {}", x.frame);
        }
    }
}
