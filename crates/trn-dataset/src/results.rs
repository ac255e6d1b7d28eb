//! The results formats of DATASET.md: `results.csv` (one row per frame), `rows.json` (every
//! field of a row that summaries, merges and reports need), and the read side of both.

use crate::error::DatasetError;
use serde::{Deserialize, Serialize};
use std::path::Path;
use trn_flight::pipeline::{FixStatus, Reason};
use trn_flight::rangefinder::LrfStatus;
use trn_flight::{Pose, Quat, Vec3};

/// The result of one frame: the columns of `results.csv` and what summaries need beside
/// them (kept in `rows.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// Frame id.
    pub frame: u64,
    /// `fix`, `no_fix` or `rejected`.
    #[serde(with = "fix_status")]
    pub status: FixStatus,
    /// Why there is no fix (empty for a fix).
    #[serde(with = "reason", default)]
    pub reason: Reason,
    /// Estimated pose (fix only).
    #[serde(with = "pose7")]
    pub pose: Option<Pose>,
    /// 1-sigma position, metres.
    #[serde(with = "nan_as_null")]
    pub sigma_pos: [f64; 3],
    /// 1-sigma attitude, degrees.
    #[serde(with = "nan_as_null")]
    pub sigma_att_deg: f64,
    /// Altitude above the DEM, metres (NaN when there is none).
    #[serde(with = "nan_as_null")]
    pub altitude_m: f64,
    /// Rangefinder verdict.
    #[serde(with = "lrf_status")]
    pub lrf_status: LrfStatus,
    /// Landmarks matched (features tracked, for a pose from tracking).
    pub matched: usize,
    /// Inliers.
    pub inliers: usize,
    /// Features tracked from the previous fixed frame when the pose comes from tracking
    /// (below the map's reach), 0 for a pose from the map (not a results.csv column).
    #[serde(default)]
    pub tracked: usize,
    /// Processing time, ms.
    pub latency_ms: f64,
    /// Position error against truth, metres.
    pub pos_err_m: Option<f64>,
    /// Attitude error against truth, degrees.
    pub att_err_deg: Option<f64>,
    /// Position error per site axis (for the 3-sigma test and summaries).
    pub err_xyz: Option<[f64; 3]>,
    /// Truth altitude above the DEM (for the altitude statistics).
    pub true_altitude_m: Option<f64>,
    /// The sun's elevation at the site, degrees (from frames.csv).
    #[serde(default)]
    pub sun_el_deg: Option<f64>,
    /// Share of the frame's pixels in shadow (see trn-eval's `shadow_fraction`).
    #[serde(default)]
    pub shadow_fraction: Option<f64>,
    /// Rangefinder fault truth.
    pub lrf_fault: Option<bool>,
    /// Whether the rangefinder's reading itself was judged consistent (a `fault` status
    /// with a consistent reading is the monitor holding the sensor out after a fault).
    pub lrf_consistent: bool,
    /// Whether the frame had a reading.
    pub lrf_reading: bool,
    /// Residual sigma of the pose's inliers, frame pixels (not a results.csv column).
    #[serde(default)]
    pub residual_px: Option<f64>,
    /// Frame pixels per template pixel of the fine stage (not a results.csv column).
    #[serde(default)]
    pub gsd_ratio: Option<f64>,
    /// Map common-mode sigma added to the covariance, metres (not a results.csv column).
    #[serde(default)]
    pub map_sigma_m: Option<f64>,
}

/// The results-file spelling of a [`FixStatus`] back into it.
#[must_use]
pub fn parse_fix_status(s: &str) -> Option<FixStatus> {
    [FixStatus::Fix, FixStatus::NoFix, FixStatus::Rejected]
        .into_iter()
        .find(|v| v.as_str() == s)
}

/// The results-file spelling of a [`Reason`] back into it (empty: [`Reason::None`]).
#[must_use]
pub fn parse_reason(s: &str) -> Option<Reason> {
    Reason::ALL.into_iter().find(|v| v.as_str() == s)
}

/// The results-file spelling of an [`LrfStatus`] back into it.
#[must_use]
pub fn parse_lrf_status(s: &str) -> Option<LrfStatus> {
    [
        LrfStatus::Ok,
        LrfStatus::NoReading,
        LrfStatus::Fault,
        LrfStatus::Held,
        LrfStatus::Unchecked,
    ]
    .into_iter()
    .find(|v| v.as_str() == s)
}

mod fix_status {
    use super::{FixStatus, parse_fix_status};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    pub fn serialize<S: Serializer>(v: &FixStatus, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FixStatus, D::Error> {
        let s = String::deserialize(d)?;
        parse_fix_status(&s).ok_or_else(|| D::Error::custom(format!("status '{s}'")))
    }
}

mod reason {
    use super::{Reason, parse_reason};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    pub fn serialize<S: Serializer>(v: &Reason, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Reason, D::Error> {
        let s = String::deserialize(d)?;
        parse_reason(&s).ok_or_else(|| D::Error::custom(format!("reason '{s}'")))
    }
}

mod lrf_status {
    use super::{LrfStatus, parse_lrf_status};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    pub fn serialize<S: Serializer>(v: &LrfStatus, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<LrfStatus, D::Error> {
        let s = String::deserialize(d)?;
        parse_lrf_status(&s).ok_or_else(|| D::Error::custom(format!("lrf_status '{s}'")))
    }
}

/// Numbers that may be NaN (no value): JSON has no NaN, so they are written `null` and
/// read back as NaN.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub trait Nullable: Sized {
        type Json: Serialize + for<'de> Deserialize<'de>;
        fn to_json(&self) -> Self::Json;
        fn from_json(j: Self::Json) -> Self;
    }

    impl Nullable for f64 {
        type Json = Option<f64>;
        fn to_json(&self) -> Option<f64> {
            self.is_finite().then_some(*self)
        }
        fn from_json(j: Option<f64>) -> f64 {
            j.unwrap_or(f64::NAN)
        }
    }

    impl Nullable for [f64; 3] {
        type Json = [Option<f64>; 3];
        fn to_json(&self) -> [Option<f64>; 3] {
            self.map(|v| v.is_finite().then_some(v))
        }
        fn from_json(j: [Option<f64>; 3]) -> [f64; 3] {
            j.map(|v| v.unwrap_or(f64::NAN))
        }
    }

    pub fn serialize<T: Nullable, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        v.to_json().serialize(s)
    }

    pub fn deserialize<'de, T: Nullable, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        T::Json::deserialize(d).map(T::from_json)
    }
}

/// A pose as `[x, y, z, qw, qx, qy, qz]`.
mod pose7 {
    use super::{Pose, Quat, Vec3};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};
    pub fn serialize<S: Serializer>(v: &Option<Pose>, s: S) -> Result<S::Ok, S::Error> {
        v.map(|p| {
            let (c, q) = (p.position, p.attitude);
            [c.x, c.y, c.z, q.w, q.x, q.y, q.z]
        })
        .serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Pose>, D::Error> {
        let Some(p) = Option::<[f64; 7]>::deserialize(d)? else {
            return Ok(None);
        };
        let q = Quat::try_new(p[3], p[4], p[5], p[6])
            .ok_or_else(|| D::Error::custom("pose quaternion is not a rotation"))?;
        Ok(Some(Pose::new(Vec3::new(p[0], p[1], p[2]), q)))
    }
}

/// The columns of `results.csv`, in order.
pub const RESULTS_COLUMNS: [&str; 21] = [
    "frame",
    "status",
    "reason",
    "x_m",
    "y_m",
    "z_m",
    "qw",
    "qx",
    "qy",
    "qz",
    "sigma_x_m",
    "sigma_y_m",
    "sigma_z_m",
    "sigma_att_deg",
    "altitude_m",
    "lrf_status",
    "matched",
    "inliers",
    "latency_ms",
    "pos_err_m",
    "att_err_deg",
];

fn cell(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| format!("{x:.6}"))
        .unwrap_or_default()
}

/// `results.csv` text: pose and sigmas only for fixes, six decimals, latency three, an
/// empty cell for anything absent or not finite.
#[must_use]
pub fn results_csv(rows: &[ResultRow]) -> String {
    let mut s = crate::csv::line(RESULTS_COLUMNS);
    for r in rows {
        let pose: [Option<f64>; 7] = match &r.pose {
            Some(p) => [
                Some(p.position.x),
                Some(p.position.y),
                Some(p.position.z),
                Some(p.attitude.w),
                Some(p.attitude.x),
                Some(p.attitude.y),
                Some(p.attitude.z),
            ],
            None => [None; 7],
        };
        let fix = r.status == FixStatus::Fix;
        let mut cells = vec![
            r.frame.to_string(),
            r.status.as_str().to_string(),
            r.reason.as_str().to_string(),
        ];
        cells.extend(pose.iter().map(|v| cell(*v)));
        for i in 0..3 {
            cells.push(cell(fix.then_some(r.sigma_pos[i])));
        }
        cells.push(cell(fix.then_some(r.sigma_att_deg)));
        cells.push(cell(Some(r.altitude_m)));
        cells.push(r.lrf_status.as_str().to_string());
        cells.push(r.matched.to_string());
        cells.push(r.inliers.to_string());
        cells.push(format!("{:.3}", r.latency_ms));
        cells.push(cell(r.pos_err_m));
        cells.push(cell(r.att_err_deg));
        s.push_str(&crate::csv::line(cells));
    }
    s
}

/// `rows.json` text for `rows`.
///
/// # Errors
///
/// [`DatasetError::Invalid`] if a row cannot be serialised (it always can).
pub fn rows_json(rows: &[ResultRow]) -> Result<String, DatasetError> {
    serde_json::to_string(rows)
        .map(|s| s + "\n")
        .map_err(|e| DatasetError::invalid("rows.json", e.to_string()))
}

/// Reads the `rows.json` in `dir`.
///
/// # Errors
///
/// [`DatasetError::Io`] / [`DatasetError::Invalid`] naming the file.
pub fn read_rows(dir: &Path) -> Result<Vec<ResultRow>, DatasetError> {
    let path = dir.join("rows.json");
    let text = std::fs::read_to_string(&path).map_err(|e| DatasetError::io(&path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| DatasetError::invalid_file(&path, "rows", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_json_and_the_csv_has_its_columns() {
        let rows = vec![
            ResultRow {
                frame: 3,
                status: FixStatus::Fix,
                pose: Some(Pose::new(
                    Vec3::new(1.0, -2.5, 300.0),
                    Quat::try_new(0.5, 0.5, 0.5, 0.5).unwrap(),
                )),
                sigma_pos: [0.5, 0.6, 0.7],
                lrf_status: LrfStatus::Fault,
                err_xyz: Some([0.1, 0.2, 0.3]),
                ..ResultRow::default()
            },
            ResultRow {
                frame: 4,
                reason: Reason::PriorGate,
                lrf_status: LrfStatus::NoReading,
                altitude_m: f64::NAN,
                ..ResultRow::default()
            },
        ];
        let dir = std::env::temp_dir().join(format!("trn-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rows.json"), rows_json(&rows).unwrap()).unwrap();
        let back = read_rows(&dir).unwrap();
        assert_eq!(back[0], rows[0]);
        assert_eq!(back[1].lrf_status, LrfStatus::NoReading);
        assert_eq!(back[1].reason, Reason::PriorGate);
        assert!(back[1].altitude_m.is_nan());
        let csv = results_csv(&rows);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0].split(',').count(), 21);
        assert!(lines[1].starts_with("3,fix,,1.000000,-2.500000,300.000000,0.500000,"));
        assert!(lines[1].contains(",fault,"), "{}", lines[1]);
        assert!(lines[2].starts_with("4,no_fix,prior_gate,,,,,,,,,,,,,no_reading,"));
        for r in Reason::ALL {
            assert_eq!(parse_reason(r.as_str()), Some(r));
        }
        std::fs::write(dir.join("rows.json"), r#"[{"status":"maybe"}]"#).unwrap();
        let err = read_rows(&dir).unwrap_err().to_string();
        assert!(err.contains("rows.json"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
