//! `summary.json` from result rows (the figures DATASET.md defines).

use trn::navigator::FixStatus;
use trn_dataset::results::ResultRow;
use trn_dataset::summary::{Latency, LrfSummary, SUMMARY_FORMAT, Stats, Summary};
use trn_flight::rangefinder::LrfStatus;

/// Whether a row's position error exceeds 3 times its reported 1-sigma along any axis
/// (false without truth).
#[must_use]
pub fn outside_3sigma(r: &ResultRow) -> bool {
    r.err_xyz
        .is_some_and(|e| (0..3).any(|i| e[i].abs() > 3.0 * r.sigma_pos[i]))
}

/// The summary of result rows.
///
/// Rangefinder scoring: a faulty reading is flagged when its status is `fault`; a faulty
/// silence (a dropout: no reading where one was due) when its status is `no_reading` or
/// `fault`. A false alarm is a good reading the monitor judged inconsistent; good readings
/// reported `fault` only because the monitor still holds the sensor out after a real
/// fault (until `readmit_after` consistent readings) are not counted as alarms.
#[must_use]
pub fn summarise(rows: &[ResultRow]) -> Summary {
    let fixes: Vec<&ResultRow> = rows.iter().filter(|r| r.status == FixStatus::Fix).collect();
    let with_truth: Vec<&&ResultRow> = fixes.iter().filter(|r| r.err_xyz.is_some()).collect();
    let pos = with_truth.iter().filter_map(|r| r.pos_err_m).collect();
    let horiz = with_truth
        .iter()
        .filter_map(|r| r.err_xyz.map(|e| e[0].hypot(e[1])))
        .collect();
    let alt = with_truth
        .iter()
        .filter_map(|r| r.true_altitude_m.map(|t| (r.altitude_m - t).abs()))
        .filter(|v| v.is_finite())
        .collect();
    let att = with_truth.iter().filter_map(|r| r.att_err_deg).collect();
    let outside = with_truth.iter().filter(|r| outside_3sigma(r)).count();
    let mut lrf = LrfSummary::default();
    for r in rows {
        lrf.frames_with_reading += usize::from(r.lrf_reading);
        let fault = r.lrf_status == LrfStatus::Fault;
        let flagged = fault || (!r.lrf_reading && r.lrf_status == LrfStatus::NoReading);
        match r.lrf_fault {
            Some(true) => {
                lrf.faults_true += 1;
                if flagged {
                    lrf.faults_flagged += 1;
                } else {
                    lrf.missed += 1;
                }
            }
            Some(false) if fault && !r.lrf_consistent => {
                lrf.false_alarms += 1;
            }
            _ => {}
        }
    }
    let lat = Stats::of(rows.iter().map(|r| r.latency_ms).collect()).unwrap_or_default();
    Summary {
        format: SUMMARY_FORMAT.into(),
        frames: rows.len(),
        fixes: fixes.len(),
        availability: if rows.is_empty() {
            0.0
        } else {
            fixes.len() as f64 / rows.len() as f64
        },
        pos_err_m: Stats::of(pos),
        horiz_err_m: Stats::of(horiz),
        alt_err_m: Stats::of(alt),
        att_err_deg: Stats::of(att),
        outside_3sigma: outside,
        lrf,
        latency_ms: Latency {
            median: lat.median,
            p95: lat.p95,
            max: lat.max,
        },
    }
}
