//! `summary.json` from result rows (the figures DATASET.md defines).

use std::collections::BTreeMap;
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
/// Rangefinder scoring, over rows whose `lrf_fault` is known: a faulty reading is flagged
/// when its status is `fault` or `held`, missed otherwise; a good reading is a false alarm
/// when its status is `fault`, and counted in `held_good` when it is `held` (consistent, but
/// the sensor still earning re-admission after a fault).
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
        // DATASET.md's definitions, from the two files' columns alone.
        match (r.lrf_fault, r.lrf_status) {
            (Some(true), LrfStatus::Fault | LrfStatus::Held) => {
                lrf.faults_true += 1;
                lrf.faults_flagged += 1;
            }
            (Some(true), _) => {
                lrf.faults_true += 1;
                lrf.missed += 1;
            }
            (Some(false), LrfStatus::Fault) => lrf.false_alarms += 1,
            (Some(false), LrfStatus::Held) => lrf.held_good += 1,
            _ => {}
        }
    }
    let mut reasons = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status != FixStatus::Fix) {
        *reasons.entry(r.reason.as_str().to_string()).or_insert(0) += 1;
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
        reasons,
        lrf,
        latency_ms: Latency {
            median: lat.median,
            p95: lat.p95,
            max: lat.max,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fault: Option<bool>, status: LrfStatus) -> ResultRow {
        ResultRow {
            lrf_fault: fault,
            lrf_status: status,
            lrf_reading: status != LrfStatus::NoReading,
            ..ResultRow::default()
        }
    }

    /// Every rangefinder figure as DATASET.md defines it: `held` is flagged on a faulty
    /// reading and `held_good` (not an alarm) on a good one; rows without truth count in
    /// none.
    #[test]
    fn rangefinder_figures_follow_the_format() {
        use LrfStatus::{Fault, Held, NoReading, Ok, Unchecked};
        let rows = [
            row(Some(true), Fault),
            row(Some(true), Held),
            row(Some(true), Ok),
            row(Some(true), Unchecked),
            row(Some(false), Fault),
            row(Some(false), Held),
            row(Some(false), Held),
            row(Some(false), Ok),
            row(None, Fault),
            row(None, Held),
            row(None, NoReading),
        ];
        let s = summarise(&rows).lrf;
        assert_eq!(
            s,
            LrfSummary {
                frames_with_reading: 10,
                faults_true: 4,
                faults_flagged: 2,
                missed: 2,
                false_alarms: 1,
                held_good: 2,
            }
        );
    }
}
