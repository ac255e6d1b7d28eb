//! Running a dataset: each frame read, navigated, and compared with its truth.

use crate::error::EvalError;
use crate::map::build_map;
use crate::options::EvalOptions;
use crate::shadow::shadow_fraction;
use crate::summary::summarise;
use std::path::Path;
use std::time::Instant;
use trn::navigator::{FixStatus, Navigator, Observation, Prior, Velocity};
use trn_dataset::dataset::{Dataset, FrameRow};
use trn_dataset::image::read_frame;
use trn_dataset::results::ResultRow;
use trn_dataset::summary::Summary;
use trn_flight::mapdb::MapDb;

/// The navigator's prior for a frames.csv row: its prior pose, sigmas (the attitude's in
/// radians) and time.
#[must_use]
pub fn frame_prior(fr: &FrameRow) -> Prior {
    Prior {
        pose: fr.prior,
        sigma_pos_m: fr.prior_sigma_pos_m,
        sigma_att_rad: fr.prior_sigma_att_deg.to_radians(),
        time_s: fr.t_s,
    }
}

/// Bytes the evaluation holds per pixel of the camera: the decoded frame, the navigator's
/// two frame slots and their pyramids, and acquisition's buffers (with the constants below,
/// a bound on the peak resident memory measured on simulated descents: docs/FAULTS.md).
const BYTES_PER_FRAME_PX: f64 = 32.0;
/// Bytes per DEM (or orthoimage) pixel while the map is built: the raster, the site grid
/// resampled from it at its spacing, renders and the candidates' scores.
const BYTES_PER_MAP_PX: f64 = 48.0;
/// Bytes per frame of the dataset kept for the results (rows, matches for the report).
const BYTES_PER_FRAME: f64 = 16.0 * 1024.0;

/// The memory an evaluation of `ds` needs, bytes, from the sizes it declares: its camera,
/// its frame count, and the pixels of its map rasters (from their GeoTIFF headers; a raster
/// only GDAL reads counts for nothing).
#[must_use]
pub fn memory_estimate(ds: &Dataset) -> f64 {
    let cam = &ds.meta.camera;
    let frame_px = f64::from(cam.width) * f64::from(cam.height);
    let map_px: f64 = std::iter::once(&ds.meta.map.dem)
        .chain(ds.meta.map.ortho.as_ref())
        .map(|p| trn_map::io::tiff_pixel_count(ds.dir.join(p)))
        .sum();
    trn_dataset::budget::BASE_BYTES
        + BYTES_PER_FRAME_PX * frame_px
        + BYTES_PER_MAP_PX * map_px
        + BYTES_PER_FRAME * ds.frames.len() as f64
}

/// What the navigator said of a frame beyond its results row (for reports and tests; not
/// written to results files).
#[derive(Clone, Debug, Default)]
pub struct FrameDetail {
    /// Velocity from this and the previous frame's fixes.
    pub velocity: Option<Velocity>,
    /// The fine-stage matches with their inlier flags.
    pub observations: Vec<Observation>,
}

/// A dataset's evaluation: the dataset as read, one row and one detail per frame, in frame
/// order, and the summary over the rows.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// The dataset (`dataset.json` and `frames.csv`).
    pub dataset: Dataset,
    /// The rows of `results.csv` (and `rows.json`).
    pub rows: Vec<ResultRow>,
    /// Per-frame details, parallel to `rows`.
    pub details: Vec<FrameDetail>,
    /// `summary.json`.
    pub summary: Summary,
}

/// Runs a dataset. `progress(stage, done, total)` after every frame.
///
/// # Errors
///
/// [`EvalError`] for an invalid dataset or a map that cannot be built.
pub fn evaluate(
    dir: &Path,
    opts: &EvalOptions,
    progress: &dyn Fn(&str, usize, usize),
) -> Result<Evaluation, EvalError> {
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
) -> Result<Evaluation, EvalError> {
    let ds = Dataset::read_with(dir, opts.read)?;
    trn_dataset::budget::check(
        &format!(
            "{} ({} frames of {} x {} pixels)",
            dir.display(),
            ds.frames.len(),
            ds.meta.camera.width,
            ds.meta.camera.height
        ),
        memory_estimate(&ds),
        opts.max_memory_bytes,
    )?;
    let camera = ds.meta.camera.camera()?;
    progress("building map", 0, 1);
    let bytes = build_map(&ds, opts, map_out)?;
    let db = MapDb::parse(&bytes).map_err(EvalError::MapDb)?;
    let truth_dem = db.dem().and_then(|g| g.heightfield().ok());
    // The camera's calibration uncertainty is the dataset's to state.
    let mut cfg = opts.nav;
    if let Some(s) = ds.meta.camera.sigma {
        cfg.intrinsic_sigma = s.sigma();
    }
    let mut nav = Navigator::new(db, camera, cfg);
    let mut rows = Vec::with_capacity(ds.frames.len());
    let mut details = Vec::with_capacity(ds.frames.len());
    for (k, fr) in ds.frames.iter().enumerate() {
        let img = read_frame(&ds.dir.join(&fr.image))?;
        let shadow = shadow_fraction(&img.pixels, img.full_scale);
        let prior = frame_prior(fr);
        let t = Instant::now();
        let fix = nav.process(img.pixels, &prior, fr.lrf_range_m);
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
            reason: fix.reason,
            pose: is_fix.then_some(fix.pose),
            sigma_pos: fix.sigma_pos(),
            sigma_att_deg: fix.sigma_att_deg(),
            altitude_m: fix.altitude_m,
            lrf_status: fix.lrf.status,
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
        });
        details.push(FrameDetail {
            velocity: fix.velocity,
            observations: nav.observations().collect(),
        });
        progress("navigating", k + 1, ds.frames.len());
    }
    let summary = summarise(&rows);
    Ok(Evaluation {
        dataset: ds,
        rows,
        details,
        summary,
    })
}
