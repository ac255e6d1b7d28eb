//! The dataset format of `../shared/DATASET.md` (version 1): `dataset.json`, `frames.csv`,
//! one grey image per frame ([`crate::image`]), and the map. The writer is what `trn sim
//! descent` uses; the reader is strict: it refuses anything the format does not allow with
//! an error naming the file, the line and the field, and never guesses.

use crate::csv::{self, exact};
use crate::error::DatasetError;
use crate::image::frame_size;
use crate::input;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use trn_flight::{Pose, Quat, Vec3};

/// The format tag of `dataset.json`.
pub const FORMAT: &str = "trn-dataset/1";

/// The columns of `frames.csv`, in the order the writer emits them.
pub const COLUMNS: [&str; 23] = [
    "frame",
    "t_s",
    "image",
    "sun_az_deg",
    "sun_el_deg",
    "true_x_m",
    "true_y_m",
    "true_z_m",
    "true_qw",
    "true_qx",
    "true_qy",
    "true_qz",
    "prior_x_m",
    "prior_y_m",
    "prior_z_m",
    "prior_qw",
    "prior_qx",
    "prior_qy",
    "prior_qz",
    "prior_sigma_pos_m",
    "prior_sigma_att_deg",
    "lrf_range_m",
    "lrf_fault",
];

/// `body` of `dataset.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    /// Body name.
    pub name: String,
    /// Reference sphere radius, metres.
    pub radius_m: f64,
}

/// `site` of `dataset.json`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteRef {
    /// Latitude, degrees.
    pub lat_deg: f64,
    /// Longitude, degrees.
    pub lon_deg: f64,
}

/// Brown-Conrady coefficients (OpenCV order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistortionJson {
    /// Radial.
    pub k1: f64,
    /// Radial.
    pub k2: f64,
    /// Tangential.
    pub p1: f64,
    /// Tangential.
    pub p2: f64,
    /// Radial.
    pub k3: f64,
}

/// `camera` of `dataset.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraJson {
    /// Always `pinhole`.
    pub model: String,
    /// Image width, pixels.
    pub width: u32,
    /// Image height, pixels.
    pub height: u32,
    /// Focal length, pixels.
    pub fx: f64,
    /// Focal length, pixels.
    pub fy: f64,
    /// Principal point column.
    pub cx: f64,
    /// Principal point row.
    pub cy: f64,
    /// Lens distortion.
    pub distortion: DistortionJson,
    /// The calibration's 1-sigma (absent: exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<IntrinsicSigmaJson>,
}

/// `camera.sigma` of `dataset.json`: the calibration's 1-sigma.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntrinsicSigmaJson {
    /// Focal length (both axes together), pixels.
    pub focal_px: f64,
    /// Principal point column, pixels.
    pub cx_px: f64,
    /// Principal point row, pixels.
    pub cy_px: f64,
    /// Radial distortion `k1`.
    pub k1: f64,
}

impl IntrinsicSigmaJson {
    /// As the navigator takes it.
    #[must_use]
    pub fn sigma(&self) -> trn_flight::camera::IntrinsicSigma {
        trn_flight::camera::IntrinsicSigma {
            focal_px: self.focal_px,
            cx_px: self.cx_px,
            cy_px: self.cy_px,
            k1: self.k1,
        }
    }
}

impl CameraJson {
    /// The camera model.
    ///
    /// # Errors
    ///
    /// [`DatasetError::Invalid`] naming the field (`camera.width`, `camera.fx`, ...) the
    /// camera model refuses: a size of 0 or above [`MAX_IMAGE_SIDE`], a focal length that
    /// is not positive and finite, a principal point or distortion coefficient that is not
    /// finite.
    pub fn camera(&self) -> Result<trn_flight::camera::Camera, DatasetError> {
        let d = self.distortion;
        for (field, side) in [("camera.width", self.width), ("camera.height", self.height)] {
            if side == 0 || side > MAX_IMAGE_SIDE {
                return Err(DatasetError::invalid(
                    field,
                    format!("{side} pixels (1 to {MAX_IMAGE_SIDE})"),
                ));
            }
        }
        for (field, f) in [("camera.fx", self.fx), ("camera.fy", self.fy)] {
            if !(f > 0.0 && f.is_finite()) {
                return Err(DatasetError::invalid(
                    field,
                    format!("{f} (a positive focal length in pixels)"),
                ));
            }
        }
        for (field, v) in [
            ("camera.cx", self.cx),
            ("camera.cy", self.cy),
            ("camera.distortion.k1", d.k1),
            ("camera.distortion.k2", d.k2),
            ("camera.distortion.p1", d.p1),
            ("camera.distortion.p2", d.p2),
            ("camera.distortion.k3", d.k3),
        ] {
            if !v.is_finite() {
                return Err(DatasetError::invalid(
                    field,
                    format!("{v} (must be finite)"),
                ));
            }
        }
        if let Some(s) = self.sigma {
            for (field, v) in [
                ("camera.sigma.focal_px", s.focal_px),
                ("camera.sigma.cx_px", s.cx_px),
                ("camera.sigma.cy_px", s.cy_px),
                ("camera.sigma.k1", s.k1),
            ] {
                if !(v >= 0.0 && v.is_finite()) {
                    return Err(DatasetError::invalid(
                        field,
                        format!("{v} (a 1-sigma: finite, not negative)"),
                    ));
                }
            }
        }
        trn_flight::camera::Camera::new(
            self.width,
            self.height,
            self.fx,
            self.fy,
            self.cx,
            self.cy,
            trn_flight::camera::Distortion {
                k1: d.k1,
                k2: d.k2,
                p1: d.p1,
                p2: d.p2,
                k3: d.k3,
            },
        )
        .map_err(|e| DatasetError::invalid("camera", format!("{e:?}")))
    }
}

/// The largest image side a dataset's camera may have, pixels (what a run of a camera
/// this size needs is checked against its memory limit: [`crate::budget`]).
pub const MAX_IMAGE_SIDE: u32 = 16_384;

/// The radii a dataset's body may have, metres: from small moons to gas giants.
pub const BODY_RADIUS_M: std::ops::RangeInclusive<f64> = 1.0e3..=1.0e8;

/// A sun direction in a file.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SunJson {
    /// Azimuth, degrees clockwise from north.
    pub az_deg: f64,
    /// Elevation, degrees.
    pub el_deg: f64,
}

/// `map` of `dataset.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapJson {
    /// DEM GeoTIFF, relative to the dataset directory.
    pub dem: String,
    /// Orthoimage GeoTIFF, relative path, or null.
    pub ortho: Option<String>,
    /// Sun of the orthoimage, or null.
    #[serde(default)]
    pub ortho_sun: Option<SunJson>,
    /// 1-sigma vertical error of the DEM, metres.
    pub dem_sigma_m: f64,
    /// 1-sigma of the map's registration error against the body, metres per horizontal
    /// axis: the whole map (orthoimage and DEM) may be offset, turned and scaled by that
    /// much at its edge. Absent: 0 (the map is registered perfectly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_sigma_m: Option<f64>,
}

/// `dataset.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetJson {
    /// Always [`FORMAT`].
    pub format: String,
    /// Dataset name.
    pub name: String,
    /// The body.
    pub body: Body,
    /// The site (origin of the site frame).
    pub site: SiteRef,
    /// The camera.
    pub camera: CameraJson,
    /// The map.
    pub map: MapJson,
    /// Path of `frames.csv`, relative.
    pub frames: String,
}

/// One row of `frames.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameRow {
    /// Frame id.
    pub frame: u64,
    /// Time since the first frame, seconds.
    pub t_s: f64,
    /// Image path relative to the dataset directory.
    pub image: String,
    /// Sun azimuth, degrees.
    pub sun_az_deg: f64,
    /// Sun elevation, degrees.
    pub sun_el_deg: f64,
    /// True camera pose, when known.
    pub truth: Option<Pose>,
    /// Prior pose.
    pub prior: Pose,
    /// Prior 1-sigma per position axis, metres.
    pub prior_sigma_pos_m: f64,
    /// Prior 1-sigma of attitude per axis, degrees.
    pub prior_sigma_att_deg: f64,
    /// Rangefinder slant range, metres (None: no reading).
    pub lrf_range_m: Option<f64>,
    /// Truth of the rangefinder: faulty (Some(true)), good (Some(false)), unknown (None).
    pub lrf_fault: Option<bool>,
}

fn pose_cells(p: &Pose) -> [String; 7] {
    let q = p.attitude;
    [p.position.x, p.position.y, p.position.z, q.w, q.x, q.y, q.z].map(exact)
}

/// `frames.csv` text for `rows`.
#[must_use]
pub fn frames_csv(rows: &[FrameRow]) -> String {
    let mut out = csv::line(COLUMNS);
    for r in rows {
        let mut cells: Vec<String> = vec![
            r.frame.to_string(),
            exact(r.t_s),
            r.image.clone(),
            exact(r.sun_az_deg),
            exact(r.sun_el_deg),
        ];
        match &r.truth {
            Some(t) => cells.extend(pose_cells(t)),
            None => cells.extend(std::iter::repeat_n(String::new(), 7)),
        }
        cells.extend(pose_cells(&r.prior));
        cells.push(exact(r.prior_sigma_pos_m));
        cells.push(exact(r.prior_sigma_att_deg));
        cells.push(r.lrf_range_m.map(exact).unwrap_or_default());
        cells.push(match r.lrf_fault {
            Some(true) => "1".into(),
            Some(false) => "0".into(),
            None => String::new(),
        });
        out.push_str(&csv::line(cells));
    }
    out
}

/// How [`Dataset::read_with`] reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Accept paths in `dataset.json` and `frames.csv` that are absolute or climb out of
    /// the dataset directory through `..` (refused by default).
    pub allow_outside_paths: bool,
}

/// A dataset read from disk.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The dataset directory.
    pub dir: PathBuf,
    /// `dataset.json`.
    pub meta: DatasetJson,
    /// The frames, in order.
    pub frames: Vec<FrameRow>,
}

impl Dataset {
    /// Reads and checks a dataset: `dataset.json`'s fields, every column of `frames.csv`
    /// (present by name; values parse; frames and times strictly increasing; unit
    /// quaternions; truth all or nothing per row; `lrf_fault` empty, 0 or 1), that every
    /// image is a regular file inside the dataset with the camera's size, and that the map
    /// files are. Sizes are bounded before anything is read ([`crate::input`]).
    ///
    /// # Errors
    ///
    /// [`DatasetError::Invalid`] naming the file, line and field; [`DatasetError::Io`] for files
    /// that cannot be read.
    pub fn read(dir: &Path) -> Result<Self, DatasetError> {
        Self::read_with(dir, ReadOptions::default())
    }

    /// [`Dataset::read`] with [`ReadOptions`].
    ///
    /// # Errors
    ///
    /// As [`Dataset::read`].
    pub fn read_with(dir: &Path, opts: ReadOptions) -> Result<Self, DatasetError> {
        let jpath = dir.join("dataset.json");
        let text = input::read_text(&jpath, input::MAX_JSON_BYTES)?;
        let meta: DatasetJson = serde_json::from_str(&text)
            .map_err(|e| DatasetError::invalid_file(&jpath, "json", e.to_string()))?;
        if meta.format != FORMAT {
            return Err(DatasetError::invalid_file(
                &jpath,
                "format",
                format!("'{}', expected '{FORMAT}'", meta.format),
            ));
        }
        if meta.camera.model != "pinhole" {
            return Err(DatasetError::invalid_file(
                &jpath,
                "camera.model",
                format!("'{}', expected 'pinhole'", meta.camera.model),
            ));
        }
        meta.camera.camera().map_err(|e| match e {
            DatasetError::Invalid { field, detail, .. } => {
                DatasetError::invalid_file(&jpath, field, detail)
            }
            other => other,
        })?;
        if !BODY_RADIUS_M.contains(&meta.body.radius_m) {
            return Err(DatasetError::invalid_file(
                &jpath,
                "body.radius_m",
                format!(
                    "{} m (a sphere of {} to {} m)",
                    meta.body.radius_m,
                    BODY_RADIUS_M.start(),
                    BODY_RADIUS_M.end()
                ),
            ));
        }
        if !(-90.0..=90.0).contains(&meta.site.lat_deg) {
            return Err(DatasetError::invalid_file(
                &jpath,
                "site.lat_deg",
                format!("{} (must be within -90..90)", meta.site.lat_deg),
            ));
        }
        if !meta.site.lon_deg.is_finite() {
            return Err(DatasetError::invalid_file(
                &jpath,
                "site.lon_deg",
                format!("{} (must be finite)", meta.site.lon_deg),
            ));
        }
        if !(meta.map.dem_sigma_m >= 0.0) {
            return Err(DatasetError::invalid_file(
                &jpath,
                "map.dem_sigma_m",
                meta.map.dem_sigma_m.to_string(),
            ));
        }
        if let Some(r) = meta.map.registration_sigma_m
            && !(r >= 0.0 && r.is_finite())
        {
            return Err(DatasetError::invalid_file(
                &jpath,
                "map.registration_sigma_m",
                r.to_string(),
            ));
        }
        for (field, p) in [
            ("map.dem", Some(&meta.map.dem)),
            ("map.ortho", meta.map.ortho.as_ref()),
        ] {
            if let Some(p) = p {
                let path = input::inside(dir, p, &jpath, field, opts.allow_outside_paths)?;
                if !path.exists() {
                    return Err(DatasetError::invalid_file(
                        &jpath,
                        field,
                        format!("'{p}' does not exist"),
                    ));
                }
                input::regular_file(&path)?;
            }
        }
        let fpath = input::inside(
            dir,
            &meta.frames,
            &jpath,
            "frames",
            opts.allow_outside_paths,
        )?;
        let text = input::read_text(&fpath, input::MAX_TABLE_BYTES)?;
        let frames = parse_frames(&fpath, &text, dir, &meta.camera, opts)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            meta,
            frames,
        })
    }
}

/// A pose from the seven columns `{prefix}_x_m` .. `{prefix}_qz` of `row`: `None` when all
/// are empty, an error when only some are or the quaternion is not a unit one.
fn pose_columns(row: &csv::Row<'_>, prefix: &str) -> Result<Option<Pose>, DatasetError> {
    let names = ["x_m", "y_m", "z_m", "qw", "qx", "qy", "qz"].map(|c| format!("{prefix}_{c}"));
    let mut v = [0.0; 7];
    let mut present = 0;
    for (slot, name) in v.iter_mut().zip(&names) {
        if let Some(x) = row.opt_f64(name)? {
            *slot = x;
            present += 1;
        }
    }
    if present == 0 {
        return Ok(None);
    }
    if present != 7 {
        return Err(row.error(
            &format!("{prefix}_*"),
            "pose columns must be all present or all empty",
        ));
    }
    let norm = (v[3] * v[3] + v[4] * v[4] + v[5] * v[5] + v[6] * v[6]).sqrt();
    if (norm - 1.0).abs() > 1e-6 {
        return Err(row.error(
            &format!("{prefix}_q*"),
            format!("quaternion norm {norm}, must be 1"),
        ));
    }
    let q = Quat::try_new(v[3], v[4], v[5], v[6])
        .ok_or_else(|| row.error(&format!("{prefix}_q*"), "not a rotation"))?;
    Ok(Some(Pose::new(Vec3::new(v[0], v[1], v[2]), q)))
}

fn parse_frames(
    path: &Path,
    text: &str,
    dir: &Path,
    cam: &CameraJson,
    opts: ReadOptions,
) -> Result<Vec<FrameRow>, DatasetError> {
    let table = csv::Table::parse(path, text, &COLUMNS)?;
    let mut rows: Vec<FrameRow> = Vec::with_capacity(table.len());
    for row in table.rows() {
        let frame = row.u64("frame")?;
        if let Some(prev) = rows.last()
            && frame <= prev.frame
        {
            return Err(row.error(
                "frame",
                format!("{frame} does not increase (previous {})", prev.frame),
            ));
        }
        let truth = pose_columns(&row, "true")?;
        let prior = pose_columns(&row, "prior")?.ok_or_else(|| row.error("prior_*", "missing"))?;
        let t_s = row.f64("t_s")?;
        if !t_s.is_finite() {
            return Err(row.error("t_s", format!("{t_s} (must be finite)")));
        }
        if let Some(prev) = rows.last()
            && t_s <= prev.t_s
        {
            return Err(row.error(
                "t_s",
                format!("{t_s} does not increase (previous {})", prev.t_s),
            ));
        }
        let sigma_pos = row.f64("prior_sigma_pos_m")?;
        let sigma_att = row.f64("prior_sigma_att_deg")?;
        for (column, v) in [
            ("prior_sigma_pos_m", sigma_pos),
            ("prior_sigma_att_deg", sigma_att),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(row.error(column, format!("{v} (must be positive and finite)")));
            }
        }
        let sun_el = row.f64("sun_el_deg")?;
        if !(-90.0..=90.0).contains(&sun_el) {
            return Err(row.error("sun_el_deg", format!("{sun_el} outside -90..90")));
        }
        let lrf = row.opt_f64("lrf_range_m")?;
        if lrf.is_some_and(|r| r <= 0.0) {
            return Err(row.error("lrf_range_m", "must be positive"));
        }
        let fault = match row.cell("lrf_fault") {
            "" => None,
            "0" => Some(false),
            "1" => Some(true),
            other => {
                return Err(row.error("lrf_fault", format!("'{other}', expected empty, 0 or 1")));
            }
        };
        let image = row.cell("image").to_string();
        if image.is_empty() {
            return Err(row.error("image", "empty"));
        }
        let path = input::inside(dir, &image, path, "image", opts.allow_outside_paths)
            .map_err(|e| row.error("image", e.to_string()))?;
        let (w, h) = frame_size(&path).map_err(|e| row.error("image", e.to_string()))?;
        if (w, h) != (cam.width as usize, cam.height as usize) {
            return Err(row.error(
                "image",
                format!(
                    "{image} is {w} x {h}, the camera is {} x {}",
                    cam.width, cam.height
                ),
            ));
        }
        rows.push(FrameRow {
            frame,
            t_s,
            image,
            sun_az_deg: row.f64("sun_az_deg")?,
            sun_el_deg: sun_el,
            truth,
            prior,
            prior_sigma_pos_m: sigma_pos,
            prior_sigma_att_deg: sigma_att,
            lrf_range_m: lrf,
            lrf_fault: fault,
        });
    }
    if rows.is_empty() {
        return Err(DatasetError::invalid_file(path, "rows", "no frames"));
    }
    Ok(rows)
}
