//! `summary.json`, the band tables (`altitude_bands.csv`, `sun_bands.csv`,
//! `shadow_bands.csv`) and `shard.json`: the formats; what goes into them is computed by
//! the evaluation (trn-eval).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Order statistics of a sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Median.
    pub median: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

impl Stats {
    /// The statistics of `sample` by trn's one quantile rule
    /// ([`trn_flight::stats::sample_quantile`]); `None` for an empty sample.
    ///
    /// ```
    /// let s = trn_dataset::summary::Stats::of(vec![3.0, 1.0, 2.0, 10.0]).unwrap();
    /// assert_eq!((s.median, s.max), (3.0, 10.0));
    /// ```
    #[must_use]
    pub fn of(mut sample: Vec<f64>) -> Option<Self> {
        let mut q = |p| trn_flight::stats::sample_quantile(&mut sample, p);
        Some(Self {
            median: q(0.5)?,
            p95: q(0.95)?,
            p99: q(0.99)?,
            max: q(1.0)?,
        })
    }
}

/// Rangefinder statistics of `summary.json`, over the frames whose `lrf_fault` is 0 or 1
/// (DATASET.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LrfSummary {
    /// Frames with a reading.
    pub frames_with_reading: usize,
    /// Faulty readings (`lrf_fault` 1).
    pub faults_true: usize,
    /// Of those, the ones whose status is `fault` or `held`.
    pub faults_flagged: usize,
    /// Of those, the ones with any other status.
    pub missed: usize,
    /// Good readings (`lrf_fault` 0) whose status is `fault`.
    pub false_alarms: usize,
    /// Good readings whose status is `held`: consistent, but the sensor was still earning
    /// re-admission after a fault.
    pub held_good: usize,
}

/// Latency statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Median, ms.
    pub median: f64,
    /// 95th percentile, ms.
    pub p95: f64,
    /// Maximum, ms.
    pub max: f64,
}

/// The format tag of `summary.json`.
pub const SUMMARY_FORMAT: &str = "trn-results/1";

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Always [`SUMMARY_FORMAT`].
    pub format: String,
    /// Frames processed.
    pub frames: usize,
    /// Frames with status `fix`.
    pub fixes: usize,
    /// `fixes / frames`.
    pub availability: f64,
    /// Position error of fixes, metres.
    pub pos_err_m: Option<Stats>,
    /// Horizontal position error, metres.
    pub horiz_err_m: Option<Stats>,
    /// Altitude error (estimate minus truth altitude above the DEM), absolute, metres.
    pub alt_err_m: Option<Stats>,
    /// Attitude error, degrees.
    pub att_err_deg: Option<Stats>,
    /// Fixes whose error exceeds 3 times the reported 1-sigma along any axis.
    pub outside_3sigma: usize,
    /// Frames without a fix by their `reason` (results.csv's spelling).
    pub reasons: BTreeMap<String, usize>,
    /// Rangefinder.
    pub lrf: LrfSummary,
    /// Latency of `process`, ms.
    pub latency_ms: Latency,
}

/// The frames of one band (of true altitude, sun elevation or shadow) and how they fared.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Band {
    /// Lower edge (included).
    pub from: f64,
    /// Upper edge (excluded).
    pub to: f64,
    /// Frames in the band.
    pub frames: usize,
    /// Of those, fixes.
    pub fixes: usize,
    /// Of those, `rejected` (a solution that failed its integrity checks).
    pub rejected: usize,
    /// Of the fixes, those from tracking the previous fixed frame.
    pub tracked: usize,
    /// Position error of the fixes with truth, metres.
    pub pos_err_m: Option<Stats>,
    /// Fixes outside their 3-sigma along any axis.
    pub outside_3sigma: usize,
}

impl Band {
    /// Fixes over frames (0 for an empty band).
    #[must_use]
    pub fn availability(&self) -> f64 {
        self.fixes as f64 / self.frames.max(1) as f64
    }
}

/// A band table as CSV, the edges' unit in the first two column names (`from_m`, ...): one
/// row per band, an unbounded edge written `inf`, errors empty without fixes.
#[must_use]
pub fn bands_csv(bands: &[Band], unit: &str) -> String {
    let from = format!("from_{unit}");
    let to = format!("to_{unit}");
    let mut s = crate::csv::line([
        from.as_str(),
        to.as_str(),
        "frames",
        "fixes",
        "availability",
        "rejected",
        "tracked",
        "pos_err_median_m",
        "pos_err_p99_m",
        "pos_err_max_m",
        "outside_3sigma",
    ]);
    for b in bands {
        let e = |f: fn(&Stats) -> f64| {
            b.pos_err_m
                .as_ref()
                .map_or(String::new(), |st| format!("{:.3}", f(st)))
        };
        s += &crate::csv::line([
            b.from.to_string(),
            if b.to.is_finite() {
                b.to.to_string()
            } else {
                "inf".to_string()
            },
            b.frames.to_string(),
            b.fixes.to_string(),
            format!("{:.4}", b.availability()),
            b.rejected.to_string(),
            b.tracked.to_string(),
            e(|st| st.median),
            e(|st| st.p99),
            e(|st| st.max),
            b.outside_3sigma.to_string(),
        ]);
    }
    s
}

/// `shard.json`: which datasets of a campaign an output directory holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardJson {
    /// `[k, n]`: this output holds every dataset whose index is `k` modulo `n`.
    pub shard: [usize; 2],
    /// The datasets, in campaign order.
    pub datasets: Vec<String>,
}
