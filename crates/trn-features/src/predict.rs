//! Which landmarks the prior says are in view, at which template level, and how far to
//! search for each.
//!
//! For each landmark: project its position with the prior pose; keep it when it falls
//! inside the image with room for its template, faces the camera, and the frame's ground
//! sample distance there is within [`PredictConfig::max_scale_ratio`] of one of its
//! template levels (the level closest in scale is chosen, as LVS switches maps with
//! altitude). The search radius comes from the prior covariance: the pixel displacement that
//! a 1-sigma position error (across the line of sight) and a 1-sigma attitude error cause,
//! times [`PredictConfig::sigmas`].

use trn_flight::camera::Camera;
use trn_flight::mapdb::Landmarks;
use trn_flight::{Pose, Vec3};

/// Prediction settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PredictConfig {
    /// Search radius in standard deviations of the predicted pixel position.
    pub sigmas: f64,
    /// Smallest search radius, template pixels.
    pub min_radius: usize,
    /// Largest search radius, template pixels (larger predictions are clamped).
    pub max_radius: usize,
    /// Largest ratio between the frame's ground sample distance and the chosen template
    /// level's (either way).
    pub max_scale_ratio: f64,
    /// Most landmarks to predict; when more are in view, an even stride through them (the
    /// database order is spread over the map) keeps both coverage and quality.
    pub max_landmarks: usize,
    /// Smallest cosine between the landmark's normal and the direction to the camera.
    pub min_facing: f64,
}

impl Default for PredictConfig {
    fn default() -> Self {
        Self {
            sigmas: 3.0,
            min_radius: 3,
            max_radius: 48,
            max_scale_ratio: 1.6,
            max_landmarks: 200,
            min_facing: 0.3,
        }
    }
}

/// One landmark expected in the frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    /// Index of the landmark in the database.
    pub index: usize,
    /// Template level chosen.
    pub level: usize,
    /// Predicted level-0 pixel (distorted image coordinates).
    pub pixel: [f64; 2],
    /// Search radius, template pixels at `level`.
    pub radius: usize,
    /// Frame ground sample distance at the landmark over the template's, (> 1: the frame is
    /// coarser).
    pub scale_ratio: f64,
}

/// Landmarks of `db` predicted in the frame of `camera` at `prior`, whose position and
/// attitude are uncertain by `sigma_pos_m` (per axis) and `sigma_att_rad` (per axis).
#[must_use]
pub fn predict(
    lms: &Landmarks<'_>,
    camera: &Camera,
    prior: &Pose,
    sigma_pos_m: f64,
    sigma_att_rad: f64,
    cfg: &PredictConfig,
) -> Vec<Prediction> {
    let (fx, fy) = camera.focal();
    let f = 0.5 * (fx + fy);
    let (w, h) = (f64::from(camera.width()), f64::from(camera.height()));
    let half = (lms.template_side() / 2) as f64;
    let mut out = Vec::new();
    for (index, lm) in lms.iter().enumerate() {
        let pc = prior.to_camera(lm.position);
        if pc.z <= 1.0 {
            continue;
        }
        let Ok(uv) = camera.project(pc) else {
            continue;
        };
        let to_cam = prior.position - lm.position;
        let range = to_cam.norm();
        let facing = lm.normal.dot(to_cam) / range.max(1e-9);
        if facing < cfg.min_facing {
            continue;
        }
        // Ground sample distance of the frame at the landmark, on its plane.
        let gsd = range / f * (pc.norm() / pc.z) / facing.max(0.2);
        let s0 = f64::from(lm.scale_m);
        // Level whose pixel is closest to the frame's in log scale.
        let mut best = (f64::INFINITY, 0usize);
        for level in 0..lms.levels() {
            let r = (gsd / (s0 * f64::from(1u32 << level))).ln().abs();
            if r < best.0 {
                best = (r, level);
            }
        }
        let (log_ratio, level) = best;
        // A frame finer than the finest template is matched on its pyramid, resampled to
        // the template's spacing; only a frame coarser than the coarsest, or between levels
        // by more than the tolerance, is refused.
        let finer_than_all = level == 0 && gsd < s0;
        if log_ratio > cfg.max_scale_ratio.ln() && !finer_than_all {
            continue;
        }
        let tpl_px = s0 * f64::from(1u32 << level);
        // Pixel uncertainty: lateral position error over range, plus attitude.
        let sigma_px = f * (sigma_pos_m / range + sigma_att_rad);
        let radius_img = cfg.sigmas * sigma_px;
        // Image pixels to template pixels at this level.
        let radius = (radius_img * gsd / tpl_px).ceil() as usize;
        let radius = radius.clamp(cfg.min_radius, cfg.max_radius);
        // The search window (in image pixels) must fit inside the frame: shrink the radius
        // to the room there is, and drop the landmark when even the smallest does not fit.
        let px_per_tpl = tpl_px / gsd;
        let room = uv[0].min(uv[1]).min(w - 1.0 - uv[0]).min(h - 1.0 - uv[1]) - 2.0;
        let fits = (room / px_per_tpl - half).floor();
        if fits < cfg.min_radius as f64 {
            continue;
        }
        let radius = radius.min(fits as usize);
        out.push(Prediction {
            index,
            level,
            pixel: uv,
            radius,
            scale_ratio: gsd / tpl_px,
        });
    }
    if out.len() > cfg.max_landmarks {
        // Keep an even subset (the database order is spread over the map, best first per
        // coverage round, so a stride keeps both spread and quality).
        let step = out.len() as f64 / cfg.max_landmarks as f64;
        out = (0..cfg.max_landmarks)
            .filter_map(|k| out.get((k as f64 * step) as usize).copied())
            .collect();
    }
    out
}

/// The site-frame point of template pixel offset `(dj, di)` (columns east, rows south) from
/// a landmark at `p` with normal `n`, template pixel `s` metres: on the landmark's tangent
/// plane.
#[must_use]
pub fn plane_point(p: Vec3, n: Vec3, s: f64, dj: f64, di: f64) -> Vec3 {
    let (dx, dy) = (dj * s, -di * s);
    let dz = if n.z.abs() > 1e-6 {
        -(n.x * dx + n.y * dy) / n.z
    } else {
        0.0
    };
    Vec3::new(p.x + dx, p.y + dy, p.z + dz)
}
