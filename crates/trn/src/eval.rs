//! `trn eval`: a dataset in, `results.csv` and `summary.json` out (DATASET.md).
//!
//! The map database is built from the dataset's `map` section: the DEM resampled onto the
//! largest site-centred square inside it, at the DEM's own spacing, rendered under the
//! frames' sun (or the orthoimage used, when its sun is within 5 degrees of the frames' and
//! `--templates` allows).

use crate::navigator::{FixStatus, NavConfig, Navigator, Prior};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trn_flight::frames::SiteFrame;
use trn_flight::mapdb::MapDb;
use trn_map::build::{BuildParams, LandmarkSource};
use trn_map::render::Sun;
use trn_sim::dataset::{Dataset, read_png_gray_scaled};

/// Where templates come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Templates {
    /// Renders of the DEM under the frames' sun.
    Render,
    /// The orthoimage.
    Ortho,
    /// The orthoimage when its sun is within 5 degrees of the frames', else renders.
    Auto,
}

/// Evaluation settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalOptions {
    /// Template source.
    pub templates: Templates,
    /// Navigator settings.
    pub nav: NavConfig,
    /// Most landmarks in the map.
    pub max_landmarks: usize,
}

impl Default for EvalOptions {
    /// Auto templates, 3000 landmarks, and a rangefinder of 0.3 m + 0.2 % (1-sigma): the
    /// dataset format does not carry the sensor's noise, so it is an option.
    fn default() -> Self {
        let mut nav = NavConfig::default();
        nav.rangefinder.sigma_m = 0.3;
        nav.rangefinder.sigma_fraction = 0.002;
        Self {
            templates: Templates::Auto,
            nav,
            max_landmarks: 3000,
        }
    }
}

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The dataset is unreadable or invalid.
    #[error(transparent)]
    Dataset(#[from] trn_sim::SimError),
    /// The map could not be built.
    #[error(transparent)]
    Map(#[from] trn_map::MapError),
    /// The built map was refused by the flight parser (a bug if it happens).
    #[error("map database: {0}")]
    MapDb(trn_flight::mapdb::MapDbError),
    /// Output could not be written.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A bad option or inconsistent input.
    #[error("{0}")]
    Invalid(String),
}

/// One row of `results.csv`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResultRow {
    /// Frame id.
    pub frame: u64,
    /// `fix`, `no_fix` or `rejected`.
    pub status: FixStatus,
    /// Estimated pose (fix only).
    pub pose: Option<trn_flight::Pose>,
    /// 1-sigma position, metres.
    pub sigma_pos: [f64; 3],
    /// 1-sigma attitude, degrees.
    pub sigma_att_deg: f64,
    /// Altitude above the DEM, metres.
    pub altitude_m: f64,
    /// Rangefinder verdict.
    pub lrf_status: &'static str,
    /// Landmarks matched (features tracked, for a pose from tracking).
    pub matched: usize,
    /// Inliers.
    pub inliers: usize,
    /// Features tracked from the previous fixed frame when the pose comes from tracking
    /// (below the map's reach), 0 for a pose from the map (not a results.csv column).
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
    pub sun_el_deg: Option<f64>,
    /// Share of the frame's pixels in shadow ([`shadow_fraction`]).
    pub shadow_fraction: Option<f64>,
    /// Rangefinder fault truth.
    pub lrf_fault: Option<bool>,
    /// Whether the rangefinder's reading itself was judged consistent (a `fault` status
    /// with a consistent reading is the monitor holding the sensor out after a fault).
    pub lrf_consistent: bool,
    /// Whether the frame had a reading.
    pub lrf_reading: bool,
    /// Residual sigma of the pose's inliers, frame pixels (not a results.csv column).
    pub residual_px: Option<f64>,
    /// Frame pixels per template pixel of the fine stage (not a results.csv column).
    pub gsd_ratio: Option<f64>,
    /// Map common-mode sigma added to the covariance, metres (not a results.csv column).
    pub map_sigma_m: Option<f64>,
    /// Velocity from this and the previous frame's fixes (not a results.csv column).
    pub velocity: Option<crate::navigator::Velocity>,
    /// The fine-stage matches with their inlier flags (not a results.csv column).
    pub observations: Vec<crate::navigator::Observation>,
}

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

fn stats(mut v: Vec<f64>) -> Option<Stats> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Some(Stats {
        median: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
        max: q(1.0),
    })
}

/// Rangefinder statistics of `summary.json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LrfSummary {
    /// Frames with a reading.
    pub frames_with_reading: usize,
    /// Frames whose reading is truly faulty.
    pub faults_true: usize,
    /// Of those, flagged `fault`.
    pub faults_flagged: usize,
    /// Of those, not flagged.
    pub missed: usize,
    /// Good readings flagged `fault`.
    pub false_alarms: usize,
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

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Always `trn-results/1`.
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
    /// Rangefinder.
    pub lrf: LrfSummary,
    /// Latency of `process`, ms.
    pub latency_ms: Latency,
}

/// Whether a row's position error exceeds 3 times its reported 1-sigma along any axis
/// (false without truth).
fn outside_3sigma(r: &ResultRow) -> bool {
    r.err_xyz
        .is_some_and(|e| (0..3).any(|i| e[i].abs() > 3.0 * r.sigma_pos[i]))
}

/// Edges of the bands of [`by_altitude`], metres of true altitude above the DEM.
pub const ALTITUDE_BANDS_M: [f64; 10] = [
    0.0,
    100.0,
    300.0,
    600.0,
    1000.0,
    1500.0,
    2500.0,
    5000.0,
    10_000.0,
    f64::INFINITY,
];

/// Edges of the bands of [`by_sun_elevation`], degrees (1.5 and 5 are the availability
/// target's thresholds).
pub const SUN_BANDS_DEG: [f64; 7] = [-90.0, 1.5, 5.0, 10.0, 20.0, 45.0, 90.01];

/// The frames of one band (of true altitude or sun elevation) and how they fared.
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

/// Frames grouped by `key` into the bands between consecutive `edges`; empty bands and
/// frames without a key are left out.
fn by_band(
    rows: &[ResultRow],
    edges: &[f64],
    key: impl Fn(&ResultRow) -> Option<f64>,
) -> Vec<Band> {
    edges
        .windows(2)
        .filter_map(|edge| {
            let (from, to) = (edge[0], edge[1]);
            let band: Vec<&ResultRow> = rows
                .iter()
                .filter(|r| key(r).is_some_and(|a| a >= from && a < to))
                .collect();
            if band.is_empty() {
                return None;
            }
            let fixes: Vec<&&ResultRow> =
                band.iter().filter(|r| r.status == FixStatus::Fix).collect();
            Some(Band {
                from,
                to,
                frames: band.len(),
                fixes: fixes.len(),
                rejected: band
                    .iter()
                    .filter(|r| r.status == FixStatus::Rejected)
                    .count(),
                tracked: fixes.iter().filter(|r| r.tracked > 0).count(),
                pos_err_m: stats(fixes.iter().filter_map(|r| r.pos_err_m).collect()),
                outside_3sigma: fixes.iter().filter(|r| outside_3sigma(r)).count(),
            })
        })
        .collect()
}

/// Availability, error and integrity by band of true altitude ([`ALTITUDE_BANDS_M`]):
/// where a descent's fixes stop is what an analyst asks first. Frames without truth are
/// left out.
///
/// ```
/// use trn::eval::{ResultRow, by_altitude};
/// use trn::FixStatus;
/// let row = |alt: f64, status| ResultRow {
///     status,
///     true_altitude_m: Some(alt),
///     pos_err_m: (status == FixStatus::Fix).then_some(1.0),
///     err_xyz: (status == FixStatus::Fix).then_some([1.0, 0.0, 0.0]),
///     sigma_pos: [0.5, 0.5, 0.5],
///     ..ResultRow::default()
/// };
/// let bands = by_altitude(&[row(3000.0, FixStatus::Fix), row(700.0, FixStatus::NoFix)]);
/// assert_eq!(bands.len(), 2);
/// assert_eq!((bands[0].from, bands[0].frames, bands[0].fixes), (600.0, 1, 0));
/// assert_eq!((bands[1].from, bands[1].fixes, bands[1].outside_3sigma), (2500.0, 1, 0));
/// ```
#[must_use]
pub fn by_altitude(rows: &[ResultRow]) -> Vec<Band> {
    by_band(rows, &ALTITUDE_BANDS_M, |r| r.true_altitude_m)
}

/// The same by band of the sun's elevation at the site ([`SUN_BANDS_DEG`]): the
/// availability target is stated for frames with the sun at 5 degrees or more, and
/// reported for 1.5-5 degrees.
#[must_use]
pub fn by_sun_elevation(rows: &[ResultRow]) -> Vec<Band> {
    by_band(rows, &SUN_BANDS_DEG, |r| r.sun_el_deg)
}

/// Edges of the bands of [`by_shadow`]: the share of a frame in shadow.
pub const SHADOW_BANDS: [f64; 5] = [0.0, 0.5, 0.8, 0.95, 1.01];

/// Frames with this share of their pixels in shadow or more show too little lit ground to
/// navigate by (a view wholly inside a crater's shadow shows none); [`availability_target`]
/// reports availability without them beside the plain figure.
pub const DARK_FRAME: f64 = 0.8;

/// The same by band of the share of the frame in shadow ([`SHADOW_BANDS`]): a descent that
/// ends in a crater's shadow loses its last frames whatever the navigator does, and this
/// table says how many of the frames lost were such.
#[must_use]
pub fn by_shadow(rows: &[ResultRow]) -> Vec<Band> {
    by_band(rows, &SHADOW_BANDS, |r| r.shadow_fraction)
}

/// The availability target's frames: those with the sun at 5 degrees or more, then of
/// those the ones less than [`DARK_FRAME`] in shadow (frames without a shadow fraction
/// count as lit). `None` for either when it holds no frame.
///
/// ```
/// use trn::eval::{ResultRow, availability_target};
/// use trn::FixStatus;
/// let row = |sun: f64, shadow: f64, status| ResultRow {
///     status,
///     sun_el_deg: Some(sun),
///     shadow_fraction: Some(shadow),
///     ..ResultRow::default()
/// };
/// let rows = [
///     row(12.0, 0.1, FixStatus::Fix),
///     row(12.0, 0.97, FixStatus::NoFix),
///     row(3.0, 0.2, FixStatus::NoFix),
/// ];
/// let (all, lit) = availability_target(&rows);
/// assert_eq!(all.map(|b| (b.frames, b.fixes)), Some((2, 1)));
/// assert_eq!(lit.map(|b| (b.frames, b.fixes)), Some((1, 1)));
/// ```
#[must_use]
pub fn availability_target(rows: &[ResultRow]) -> (Option<Band>, Option<Band>) {
    let edges = [5.0, SUN_BANDS_DEG[SUN_BANDS_DEG.len() - 1]];
    let all = by_band(rows, &edges, |r| r.sun_el_deg).pop();
    let lit = by_band(rows, &edges, |r| {
        r.sun_el_deg
            .filter(|_| r.shadow_fraction.is_none_or(|f| f < DARK_FRAME))
    })
    .pop();
    (all, lit)
}

/// Share of a frame's pixels in shadow: darker than 5 % of its bright level (the 99.5th
/// percentile, where automatic exposure puts lit ground) or than 1 % of `full_scale`,
/// whichever is higher, so that a frame wholly in shadow, whose bright level is only noise,
/// counts as dark. Read from the image alone, so it means the same for real imagery;
/// sampled on every 7th pixel. 0 for an empty image.
///
/// ```
/// use trn::eval::shadow_fraction;
/// // A quarter of the frame black, the rest lit and textured.
/// let px: Vec<f32> = (0..4096).map(|i| if i < 1024 { 0.0 } else { 100.0 + (i % 50) as f32 }).collect();
/// assert!((shadow_fraction(&px, 255.0) - 0.25).abs() < 0.01);
/// // Noise alone is shadow.
/// assert!(shadow_fraction(&[0.0, 1.0, 2.0, 1.0], 255.0) > 0.99);
/// ```
#[must_use]
pub fn shadow_fraction(px: &[f32], full_scale: f32) -> f64 {
    let mut sample: Vec<f32> = px.iter().step_by(7).copied().collect();
    if sample.is_empty() {
        return 0.0;
    }
    let k = ((sample.len() - 1) as f64 * 0.995).round() as usize;
    let (_, bright, _) = sample.select_nth_unstable_by(k, f32::total_cmp);
    let threshold = (0.05 * *bright).max(0.01 * full_scale);
    sample.iter().filter(|&&v| v < threshold).count() as f64 / sample.len() as f64
}

/// A band table as CSV, the edges' unit in the first two column names (`from_m`, ...): one
/// row per band, an unbounded edge written `inf`, errors empty without fixes.
#[must_use]
pub fn bands_csv(bands: &[Band], unit: &str) -> String {
    let mut s = format!(
        "from_{unit},to_{unit},frames,fixes,availability,rejected,tracked,pos_err_median_m,pos_err_p99_m,pos_err_max_m,outside_3sigma\n",
    );
    for b in bands {
        let e = |f: fn(&Stats) -> f64| {
            b.pos_err_m
                .as_ref()
                .map_or(String::new(), |st| format!("{:.3}", f(st)))
        };
        s += &format!(
            "{},{},{},{},{:.4},{},{},{},{},{},{}\n",
            b.from,
            if b.to.is_finite() {
                b.to.to_string()
            } else {
                "inf".to_string()
            },
            b.frames,
            b.fixes,
            b.availability(),
            b.rejected,
            b.tracked,
            e(|st| st.median),
            e(|st| st.p99),
            e(|st| st.max),
            b.outside_3sigma
        );
    }
    s
}

/// The band tables written beside a summary: (file name, CSV).
fn band_files(rows: &[ResultRow]) -> [(&'static str, String); 3] {
    [
        ("altitude_bands.csv", bands_csv(&by_altitude(rows), "m")),
        ("sun_bands.csv", bands_csv(&by_sun_elevation(rows), "deg")),
        ("shadow_bands.csv", bands_csv(&by_shadow(rows), "frac")),
    ]
}

/// Runs a dataset. `progress(stage, done, total)` after every frame.
///
/// # Errors
///
/// [`EvalError`] for an invalid dataset, a map that cannot be built, or output that
/// cannot be written.
pub fn evaluate(
    dir: &Path,
    opts: &EvalOptions,
    progress: &dyn Fn(&str, usize, usize),
) -> Result<(Vec<ResultRow>, Summary), EvalError> {
    evaluate_saving_map(dir, opts, None, progress)
}

/// [`evaluate`], also writing the map database it built to `map_out` (for peers and
/// inspection with `trn map info`).
///
/// # Errors
///
/// As [`evaluate`], and [`EvalError::Io`] when the map cannot be written.
pub fn evaluate_saving_map(
    dir: &Path,
    opts: &EvalOptions,
    map_out: Option<&Path>,
    progress: &dyn Fn(&str, usize, usize),
) -> Result<(Vec<ResultRow>, Summary), EvalError> {
    let ds = Dataset::read(dir)?;
    let camera = ds.meta.camera.camera()?;
    let dem = trn_map::io::read_raster(ds.dir.join(&ds.meta.map.dem))?;
    let ortho = match &ds.meta.map.ortho {
        Some(p) => Some(trn_map::io::read_raster(ds.dir.join(p))?),
        None => None,
    };
    let frame = SiteFrame::from_degrees(
        ds.meta.site.lat_deg,
        ds.meta.site.lon_deg,
        ds.meta.body.radius_m,
    )
    .map_err(|e| EvalError::Invalid(format!("site: {e:?}")))?;
    let f0 = &ds.frames[0];
    let sun = Sun {
        azimuth_deg: f0.sun_az_deg,
        elevation_deg: f0.sun_el_deg,
    };
    let gsd = dem.transform.0[1].abs().max(dem.transform.0[5].abs());
    let half = (trn_map::site_dem::inscribed_half_side(&dem, &frame) - 8.0 * gsd).max(10.0 * gsd);
    // The map must lie under the descent: every prior position within the map's square.
    let fpath = ds.dir.join(&ds.meta.frames);
    for (k, fr) in ds.frames.iter().enumerate() {
        let p = fr.prior.position;
        if p.x.abs() > half || p.y.abs() > half {
            return Err(EvalError::Invalid(format!(
                "{}: line {}, prior_x_m/prior_y_m: ({:.0}, {:.0}) m is outside the map \
                 ({} covers +-{:.0} m around the site): the map does not cover the trajectory",
                fpath.display(),
                k + 2,
                p.x,
                p.y,
                ds.meta.map.dem,
                half
            )));
        }
    }
    let mut p = BuildParams::new(
        ds.meta.site.lat_deg,
        ds.meta.site.lon_deg,
        2.0 * half,
        2.0 * half,
        gsd,
        sun,
    );
    p.dem_sigma_m = ds.meta.map.dem_sigma_m;
    p.landmarks.max_landmarks = opts.max_landmarks;
    let ortho_sun_close = ds.meta.map.ortho_sun.is_some_and(|s| {
        (s.el_deg - sun.elevation_deg).abs() < 5.0
            && ((s.az_deg - sun.azimuth_deg + 540.0).rem_euclid(360.0) - 180.0).abs() < 5.0
    });
    p.landmark_source = match opts.templates {
        Templates::Ortho => LandmarkSource::Ortho,
        Templates::Auto if ortho.is_some() && ortho_sun_close => LandmarkSource::Ortho,
        _ => LandmarkSource::Render,
    };
    if p.landmark_source == LandmarkSource::Ortho && ortho.is_none() {
        return Err(EvalError::Invalid(
            "--templates ortho: the dataset has no orthoimage".into(),
        ));
    }
    progress("building map", 0, 1);
    let built = trn_map::build(
        &dem,
        if p.landmark_source == LandmarkSource::Ortho {
            ortho.as_ref()
        } else {
            None
        },
        &p,
        &(),
    )?;
    let bytes = trn_map::mapdb::to_bytes(&built.contents())?;
    if let Some(path) = map_out {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| EvalError::Io {
                file: parent.to_path_buf(),
                source,
            })?;
        }
        trn_map::mapdb::write(path, &built.contents())?;
    }
    let db = MapDb::parse(&bytes).map_err(EvalError::MapDb)?;
    let truth_dem = db.dem().and_then(|g| g.heightfield().ok());
    let mut nav = Navigator::new(db, camera, opts.nav);
    let mut rows = Vec::with_capacity(ds.frames.len());
    for (k, fr) in ds.frames.iter().enumerate() {
        let (_, _, px, full_scale) = read_png_gray_scaled(&ds.dir.join(&fr.image))?;
        let shadow = shadow_fraction(&px, full_scale);
        let prior = Prior {
            pose: fr.prior,
            sigma_pos_m: fr.prior_sigma_pos_m,
            sigma_att_rad: fr.prior_sigma_att_deg.to_radians(),
            time_s: fr.t_s,
        };
        let t = Instant::now();
        let fix = nav.process(px, &prior, fr.lrf_range_m);
        let latency_ms = t.elapsed().as_secs_f64() * 1e3;
        let is_fix = fix.status == FixStatus::Fix;
        let (pos_err, att_err, err_xyz) = match (&fr.truth, is_fix) {
            (Some(t), true) => {
                let d = fix.pose.position - t.position;
                (
                    Some(d.norm()),
                    Some(fix.pose.attitude.angle_to(t.attitude).to_degrees()),
                    Some([d.x, d.y, d.z]),
                )
            }
            _ => (None, None, None),
        };
        let true_alt = match (&fr.truth, &truth_dem) {
            (Some(t), Some(d)) => d.altitude(t.position).ok().map(|a| a.altitude),
            _ => None,
        };
        rows.push(ResultRow {
            frame: fr.frame,
            status: fix.status,
            pose: is_fix.then_some(fix.pose),
            sigma_pos: fix.sigma_pos(),
            sigma_att_deg: fix.sigma_att_deg(),
            altitude_m: fix.altitude_m,
            lrf_status: fix.lrf.status.as_str(),
            matched: fix.matched,
            inliers: fix.inliers,
            tracked: fix.tracked,
            latency_ms,
            pos_err_m: pos_err,
            att_err_deg: att_err,
            err_xyz,
            true_altitude_m: true_alt,
            sun_el_deg: Some(fr.sun_el_deg),
            shadow_fraction: Some(shadow),
            lrf_fault: fr.lrf_fault,
            lrf_consistent: fix.lrf.consistent,
            lrf_reading: fr.lrf_range_m.is_some(),
            residual_px: fix.residual_px.is_finite().then_some(fix.residual_px),
            gsd_ratio: fix.gsd_ratio.is_finite().then_some(fix.gsd_ratio),
            map_sigma_m: fix.map_sigma_m.is_finite().then_some(fix.map_sigma_m),
            velocity: fix.velocity,
            observations: nav.observations().collect(),
        });
        progress("navigating", k + 1, ds.frames.len());
    }
    let summary = summarise(&rows);
    Ok((rows, summary))
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
        let flagged = r.lrf_status == "fault" || (!r.lrf_reading && r.lrf_status == "no_reading");
        match r.lrf_fault {
            Some(true) => {
                lrf.faults_true += 1;
                if flagged {
                    lrf.faults_flagged += 1;
                } else {
                    lrf.missed += 1;
                }
            }
            Some(false) if r.lrf_status == "fault" && !r.lrf_consistent => {
                lrf.false_alarms += 1;
            }
            _ => {}
        }
    }
    let lat = stats(rows.iter().map(|r| r.latency_ms).collect()).unwrap_or_default();
    Summary {
        format: "trn-results/1".into(),
        frames: rows.len(),
        fixes: fixes.len(),
        availability: if rows.is_empty() {
            0.0
        } else {
            fixes.len() as f64 / rows.len() as f64
        },
        pos_err_m: stats(pos),
        horiz_err_m: stats(horiz),
        alt_err_m: stats(alt),
        att_err_deg: stats(att),
        outside_3sigma: outside,
        lrf,
        latency_ms: Latency {
            median: lat.median,
            p95: lat.p95,
            max: lat.max,
        },
    }
}

fn cell(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| format!("{x:.6}"))
        .unwrap_or_default()
}

/// `results.csv` text.
#[must_use]
pub fn results_csv(rows: &[ResultRow]) -> String {
    let mut s = String::from(
        "frame,status,x_m,y_m,z_m,qw,qx,qy,qz,sigma_x_m,sigma_y_m,sigma_z_m,sigma_att_deg,altitude_m,lrf_status,matched,inliers,latency_ms,pos_err_m,att_err_deg\n",
    );
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
        let mut cells = vec![r.frame.to_string(), r.status.as_str().to_string()];
        cells.extend(pose.iter().map(|v| cell(*v)));
        for i in 0..3 {
            cells.push(cell(fix.then_some(r.sigma_pos[i])));
        }
        cells.push(cell(fix.then_some(r.sigma_att_deg)));
        cells.push(cell(Some(r.altitude_m)));
        cells.push(r.lrf_status.to_string());
        cells.push(r.matched.to_string());
        cells.push(r.inliers.to_string());
        cells.push(format!("{:.3}", r.latency_ms));
        cells.push(cell(r.pos_err_m));
        cells.push(cell(r.att_err_deg));
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    s
}

/// Writes `results.csv`, `summary.json`, `rows.json` (for merging and re-rendering
/// reports), `altitude_bands.csv` ([`by_altitude`]), `sun_bands.csv`
/// ([`by_sun_elevation`]) and `shadow_bands.csv` ([`by_shadow`]) into `out` (created), each
/// through a temporary name and a rename.
///
/// # Errors
///
/// [`EvalError::Io`] naming the file.
pub fn write_results(out: &Path, rows: &[ResultRow], summary: &Summary) -> Result<(), EvalError> {
    std::fs::create_dir_all(out).map_err(|source| EvalError::Io {
        file: out.to_path_buf(),
        source,
    })?;
    let json =
        serde_json::to_string_pretty(summary).map_err(|e| EvalError::Invalid(e.to_string()))?;
    let recs: Vec<RowRecord> = rows.iter().map(RowRecord::from).collect();
    let rows_json = serde_json::to_string(&recs).map_err(|e| EvalError::Invalid(e.to_string()))?;
    for (name, text) in [
        ("results.csv", results_csv(rows)),
        ("summary.json", json + "\n"),
        ("rows.json", rows_json + "\n"),
    ]
    .into_iter()
    .chain(band_files(rows))
    {
        write_text(&out.join(name), &text)?;
    }
    Ok(())
}

/// A result row as stored in `rows.json` for merging shards: every field the summary needs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct RowRecord {
    frame: u64,
    status: String,
    pose: Option<[f64; 7]>,
    sigma_pos: [f64; 3],
    sigma_att_deg: f64,
    altitude_m: f64,
    lrf_status: String,
    matched: usize,
    inliers: usize,
    latency_ms: f64,
    pos_err_m: Option<f64>,
    att_err_deg: Option<f64>,
    err_xyz: Option<[f64; 3]>,
    true_altitude_m: Option<f64>,
    #[serde(default)]
    sun_el_deg: Option<f64>,
    #[serde(default)]
    shadow_fraction: Option<f64>,
    lrf_fault: Option<bool>,
    lrf_consistent: bool,
    lrf_reading: bool,
    #[serde(default)]
    residual_px: Option<f64>,
    #[serde(default)]
    gsd_ratio: Option<f64>,
    #[serde(default)]
    map_sigma_m: Option<f64>,
    #[serde(default)]
    tracked: usize,
}

impl From<&ResultRow> for RowRecord {
    fn from(r: &ResultRow) -> Self {
        Self {
            frame: r.frame,
            status: r.status.as_str().into(),
            pose: r.pose.map(|p| {
                [
                    p.position.x,
                    p.position.y,
                    p.position.z,
                    p.attitude.w,
                    p.attitude.x,
                    p.attitude.y,
                    p.attitude.z,
                ]
            }),
            sigma_pos: r.sigma_pos,
            sigma_att_deg: r.sigma_att_deg,
            altitude_m: r.altitude_m,
            lrf_status: r.lrf_status.into(),
            matched: r.matched,
            inliers: r.inliers,
            latency_ms: r.latency_ms,
            pos_err_m: r.pos_err_m,
            att_err_deg: r.att_err_deg,
            err_xyz: r.err_xyz,
            true_altitude_m: r.true_altitude_m,
            sun_el_deg: r.sun_el_deg,
            shadow_fraction: r.shadow_fraction,
            lrf_fault: r.lrf_fault,
            lrf_consistent: r.lrf_consistent,
            lrf_reading: r.lrf_reading,
            residual_px: r.residual_px,
            gsd_ratio: r.gsd_ratio,
            map_sigma_m: r.map_sigma_m,
            tracked: r.tracked,
        }
    }
}

impl RowRecord {
    fn into_row(self, file: &Path) -> Result<ResultRow, EvalError> {
        let bad = |what: &str| EvalError::Invalid(format!("{}: {what}", file.display()));
        let status = match self.status.as_str() {
            "fix" => FixStatus::Fix,
            "no_fix" => FixStatus::NoFix,
            "rejected" => FixStatus::Rejected,
            other => return Err(bad(&format!("status '{other}'"))),
        };
        let lrf_status = match self.lrf_status.as_str() {
            "ok" => "ok",
            "no_reading" => "no_reading",
            "fault" => "fault",
            "unchecked" => "unchecked",
            other => return Err(bad(&format!("lrf_status '{other}'"))),
        };
        let pose = match self.pose {
            Some(p) => Some(trn_flight::Pose::new(
                trn_flight::Vec3::new(p[0], p[1], p[2]),
                trn_flight::Quat::try_new(p[3], p[4], p[5], p[6])
                    .ok_or_else(|| bad("pose quaternion"))?,
            )),
            None => None,
        };
        Ok(ResultRow {
            frame: self.frame,
            status,
            pose,
            sigma_pos: self.sigma_pos,
            sigma_att_deg: self.sigma_att_deg,
            altitude_m: self.altitude_m,
            lrf_status,
            matched: self.matched,
            inliers: self.inliers,
            latency_ms: self.latency_ms,
            pos_err_m: self.pos_err_m,
            att_err_deg: self.att_err_deg,
            err_xyz: self.err_xyz,
            true_altitude_m: self.true_altitude_m,
            sun_el_deg: self.sun_el_deg,
            shadow_fraction: self.shadow_fraction,
            lrf_fault: self.lrf_fault,
            lrf_consistent: self.lrf_consistent,
            lrf_reading: self.lrf_reading,
            residual_px: self.residual_px,
            gsd_ratio: self.gsd_ratio,
            map_sigma_m: self.map_sigma_m,
            tracked: self.tracked,
            velocity: None,
            observations: Vec::new(),
        })
    }
}

/// `shard.json`: which datasets of a campaign an output directory holds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShardJson {
    /// `[k, n]`: this output holds every dataset whose index is `k` modulo `n`.
    pub shard: [usize; 2],
    /// The datasets, in campaign order.
    pub datasets: Vec<String>,
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), EvalError> {
    let text = serde_json::to_string_pretty(v).map_err(|e| EvalError::Invalid(e.to_string()))?;
    write_text(path, &(text + "\n"))
}

/// Writes `text` to `path` through a `.partial` file renamed into place (never half a file).
fn write_text(path: &Path, text: &str) -> Result<(), EvalError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    std::fs::write(&tmp, text).map_err(|source| EvalError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| EvalError::Io {
        file: path.to_path_buf(),
        source,
    })
}

/// The summary and the band tables over a campaign's rows, written into `out`.
fn write_campaign_summary(out: &Path, all: &[ResultRow]) -> Result<Summary, EvalError> {
    let summary = summarise(all);
    write_json(&out.join("summary.json"), &summary)?;
    for (name, text) in band_files(all) {
        write_text(&out.join(name), &text)?;
    }
    Ok(summary)
}

/// Reads the `rows.json` that [`write_results`] writes beside `results.csv` (every field
/// the summary and the report need; velocity and matches are not kept).
///
/// # Errors
///
/// [`EvalError::Io`] / [`EvalError::Invalid`] naming the file.
pub fn read_rows(dir: &Path) -> Result<Vec<ResultRow>, EvalError> {
    let path = dir.join("rows.json");
    let text = std::fs::read_to_string(&path).map_err(|source| EvalError::Io {
        file: path.clone(),
        source,
    })?;
    let recs: Vec<RowRecord> = serde_json::from_str(&text)
        .map_err(|e| EvalError::Invalid(format!("{}: {e}", path.display())))?;
    recs.into_iter().map(|r| r.into_row(&path)).collect()
}

/// Runs shard `k` of `n` of the campaign in `dir` (every dataset whose index is `k` modulo
/// `n`) into `out`: `out/<dataset>/` per dataset, `out/summary.json` over all their frames,
/// `out/shard.json`. `progress(dataset, done, total)`.
///
/// # Errors
///
/// As [`evaluate`]; [`EvalError::Invalid`] for a bad shard.
pub fn evaluate_campaign(
    dir: &Path,
    datasets: &[String],
    shard: (usize, usize),
    opts: &EvalOptions,
    out: &Path,
    progress: &dyn Fn(&str, usize, usize),
) -> Result<Summary, EvalError> {
    let (k, n) = shard;
    if n == 0 || k >= n {
        return Err(EvalError::Invalid(format!(
            "--shard {k}/{n}: need 0 <= K < N"
        )));
    }
    let mine: Vec<&String> = datasets
        .iter()
        .enumerate()
        .filter(|(i, _)| i % n == k)
        .map(|(_, d)| d)
        .collect();
    let mut all = Vec::new();
    for (i, name) in mine.iter().enumerate() {
        let (rows, summary) = evaluate(&dir.join(name.as_str()), opts, &|_, _, _| {})?;
        write_results(&out.join(name.as_str()), &rows, &summary)?;
        all.extend(rows);
        progress(name, i + 1, mine.len());
    }
    let summary = write_campaign_summary(out, &all)?;
    write_json(
        &out.join("shard.json"),
        &ShardJson {
            shard: [k, n],
            datasets: mine.into_iter().cloned().collect(),
        },
    )?;
    Ok(summary)
}

/// Merges shard outputs into `out`: the per-dataset directories copied, `summary.json` over
/// all frames in dataset-name order (the campaign's order), `shard.json` listing them all.
///
/// # Errors
///
/// [`EvalError::Invalid`] when a directory is not a shard output or two shards hold the
/// same dataset; [`EvalError::Io`] for files that cannot be read or written.
pub fn merge(shards: &[PathBuf], out: &Path) -> Result<Summary, EvalError> {
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    for s in shards {
        let path = s.join("shard.json");
        let text = std::fs::read_to_string(&path).map_err(|source| EvalError::Io {
            file: path.clone(),
            source,
        })?;
        let sj: ShardJson = serde_json::from_str(&text)
            .map_err(|e| EvalError::Invalid(format!("{}: {e}", path.display())))?;
        for d in sj.datasets {
            if names.iter().any(|(n, _)| *n == d) {
                return Err(EvalError::Invalid(format!(
                    "dataset {d} appears in two shards ({})",
                    s.display()
                )));
            }
            names.push((d, s.clone()));
        }
    }
    names.sort();
    let mut all = Vec::new();
    for (name, src) in &names {
        let (from, to) = (src.join(name), out.join(name));
        std::fs::create_dir_all(&to).map_err(|source| EvalError::Io {
            file: to.clone(),
            source,
        })?;
        for e in std::fs::read_dir(&from).map_err(|source| EvalError::Io {
            file: from.clone(),
            source,
        })? {
            let p = e
                .map_err(|source| EvalError::Io {
                    file: from.clone(),
                    source,
                })?
                .path();
            if p.is_file() {
                std::fs::copy(&p, to.join(p.file_name().unwrap_or_default())).map_err(
                    |source| EvalError::Io {
                        file: p.clone(),
                        source,
                    },
                )?;
            }
        }
        all.extend(read_rows(&from)?);
    }
    let summary = write_campaign_summary(out, &all)?;
    write_json(
        &out.join("shard.json"),
        &ShardJson {
            shard: [0, 1],
            datasets: names.into_iter().map(|(n, _)| n).collect(),
        },
    )?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(alt: Option<f64>, status: FixStatus, err: f64, sigma: f64) -> ResultRow {
        let fix = status == FixStatus::Fix;
        ResultRow {
            status,
            true_altitude_m: alt,
            pos_err_m: fix.then_some(err),
            err_xyz: fix.then_some([0.0, err, 0.0]),
            sigma_pos: [sigma; 3],
            ..ResultRow::default()
        }
    }

    /// Frames fall in the band their true altitude opens (edges belong to the band above),
    /// frames without truth in none; fixes, rejections, errors and 3-sigma exceedances are
    /// counted per band, and the CSV says the same.
    #[test]
    fn altitude_bands_count_what_each_band_holds() {
        let rows = [
            row(Some(1000.0), FixStatus::Fix, 2.0, 1.0),
            row(Some(1499.9), FixStatus::Fix, 4.0, 1.0),
            row(Some(1200.0), FixStatus::Rejected, 0.0, 1.0),
            row(Some(999.9), FixStatus::NoFix, 0.0, 1.0),
            row(Some(20_000.0), FixStatus::Fix, 1.0, 1.0),
            row(None, FixStatus::Fix, 9.0, 1.0),
        ];
        let b = by_altitude(&rows);
        assert_eq!(b.len(), 3);
        assert_eq!(
            (b[0].from, b[0].to, b[0].frames, b[0].fixes),
            (600.0, 1000.0, 1, 0)
        );
        assert_eq!(b[0].pos_err_m, None);
        assert_eq!(
            (b[1].from, b[1].frames, b[1].fixes, b[1].rejected),
            (1000.0, 3, 2, 1)
        );
        assert_eq!(b[1].outside_3sigma, 1);
        assert_eq!(b[1].pos_err_m.map(|s| s.max), Some(4.0));
        assert_eq!((b[2].from, b[2].to), (10_000.0, f64::INFINITY));
        let csv = bands_csv(&b, "m");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("from_m,to_m,frames,"));
        assert_eq!(lines[1], "600,1000,1,0,0.0000,0,0,,,,0");
        assert!(
            lines[2].starts_with("1000,1500,3,2,0.6667,1,"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].starts_with("10000,inf,1,1,1.0000,0,"),
            "{}",
            lines[3]
        );

        // By sun elevation: the target's thresholds are band edges; no sun, no band.
        let mut rows = rows.to_vec();
        for (r, sun) in rows.iter_mut().zip([3.0, 4.99, 5.0, 12.0, 1.0]) {
            r.sun_el_deg = Some(sun);
        }
        let b = by_sun_elevation(&rows);
        let got: Vec<(f64, usize, usize)> = b.iter().map(|b| (b.from, b.frames, b.fixes)).collect();
        assert_eq!(got, [(-90.0, 1, 1), (1.5, 2, 2), (5.0, 1, 0), (10.0, 1, 0)]);
        assert!(bands_csv(&b, "deg").starts_with("from_deg,to_deg,"));
    }
}
