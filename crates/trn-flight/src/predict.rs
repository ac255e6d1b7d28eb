//! Which landmarks the prior says are in view, at which template level, and how far to
//! search for each.
//!
//! For each landmark: project its position with the prior pose; keep it when it falls
//! inside the image with room for its search window (the window's corners projected, the
//! template cropped towards [`PredictConfig::min_template_side`] when the whole one does
//! not fit), faces the camera, and the frame's ground
//! sample distance there is within [`PredictConfig::max_scale_ratio`] of one of its
//! template levels (the level closest in scale is chosen, as LVS switches maps with
//! altitude). The search radius comes from the prior covariance: the pixel displacement that
//! a 1-sigma position error (across the line of sight) and a 1-sigma attitude error cause,
//! times [`PredictConfig::sigmas`].

use crate::camera::Camera;
use crate::linalg::{Mat3, Vec3};
use crate::mapdb::{Landmark, Landmarks};
use crate::math;
use crate::pose::Pose;

/// Largest search radius [`crate::matching::MatchScratch`] has room for, template pixels;
/// a prediction with a larger radius (a [`PredictConfig::max_radius`] above this) fails to
/// match rather than overrun the scratch.
pub const MAX_SEARCH_RADIUS: usize = 64;

/// Room kept between a search window's projected corners and the frame's edge, pixels.
const WINDOW_MARGIN_PX: f64 = 2.0;

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
    /// Smallest template side (odd, at least [`crate::ncc::MIN_TEMPLATE`]) a landmark's
    /// template is cropped to, about its centre, when the window of the whole template
    /// with the smallest radius does not fit in the frame: low over the site a frame spans
    /// few map pixels, and a smaller template keeps landmarks near its edges. The
    /// database's side (or more) never crops.
    pub min_template_side: usize,
    /// A frame is matched against one layer of the map (the landmarks sharing a template
    /// scale: a map built from a DEM and a finer orthoimage has two): the finest with at
    /// least this many landmarks in view that fit it ([`PredictConfig::layer_fit_ratio`]),
    /// else the one with the most that fit, else the one with the most. Layers made from
    /// different products differ by small registration and rendering biases; mixed in one
    /// frame, a bias between two parts of the image reads as a rotation, and at altitude a
    /// rotation as metres of position.
    pub min_layer_landmarks: usize,
    /// A landmark fits its layer when the frame's pixel is at most this many times its
    /// template level's. A frame finer than a template is reduced on its own pyramid; one
    /// coarser cannot show what the template holds, and matching it errs by metres at
    /// altitude where a coarser layer fits.
    pub layer_fit_ratio: f64,
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
            min_template_side: 13,
            min_layer_landmarks: 40,
            layer_fit_ratio: core::f64::consts::SQRT_2,
        }
    }
}

/// Most distinct template scales [`predict`] tells apart; landmarks of further scales count
/// with the last.
pub const MAX_LAYERS: usize = 8;

/// Writes the landmarks `ctx` predicts to `out` in database order (as many as fit),
/// showing each to `seen`; returns how many there were.
fn fill(
    lms: &Landmarks<'_>,
    ctx: &Context<'_>,
    out: &mut [Prediction],
    mut seen: impl FnMut(&Landmark<'_>, &Prediction),
) -> usize {
    let mut n = 0usize;
    for (index, lm) in lms.iter().enumerate() {
        if let Some(p) = ctx.consider(index, &lm) {
            seen(&lm, &p);
            if let Some(slot) = out.get_mut(n) {
                *slot = p;
            }
            n += 1;
        }
    }
    n
}

/// One layer in view: its template scale, its predictions, and those that fit it.
type LayerCount = (f32, usize, usize);

/// Counts a landmark of template scale `scale` in `layers[..*n]`, adding its layer when new.
fn count_layer(layers: &mut [LayerCount; MAX_LAYERS], n: &mut usize, scale: f32, fits: bool) {
    let k = layers
        .iter()
        .take(*n)
        .position(|l| same_scale(l.0, scale))
        .unwrap_or((*n).min(MAX_LAYERS - 1));
    if k == *n && *n < MAX_LAYERS {
        if let Some(l) = layers.get_mut(k) {
            *l = (scale, 0, 0);
        }
        *n += 1;
    }
    if let Some(l) = layers.get_mut(k) {
        l.1 += 1;
        l.2 += usize::from(fits);
    }
}

fn same_scale(a: f32, b: f32) -> bool {
    math::abs(f64::from(a) - f64::from(b)) <= 1e-4 * f64::from(a.abs().max(b.abs()))
}

/// One landmark expected in the frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Prediction {
    /// Index of the landmark in the database.
    pub index: usize,
    /// Template level chosen.
    pub level: usize,
    /// Predicted level-0 pixel (distorted image coordinates).
    pub pixel: [f64; 2],
    /// Search radius, template pixels at `level`.
    pub radius: usize,
    /// Half-side of the template searched, template pixels: the database's, or less when
    /// cropped to fit the frame ([`PredictConfig::min_template_side`]).
    pub template_half: usize,
    /// Frame ground sample distance at the landmark over the template's, (> 1: the frame is
    /// coarser).
    pub scale_ratio: f64,
}

/// Landmarks of `lms` predicted in the frame of `camera` at `prior`, whose position and
/// attitude are uncertain by `sigma_pos_m` (per axis) and `sigma_att_rad` (per axis),
/// written to `out` in database order; returns how many. At most
/// `min(cfg.max_landmarks, out.len())` are kept: when more are in view, an even stride
/// through them (two passes over the database, no buffer for the rest).
pub fn predict(
    lms: &Landmarks<'_>,
    camera: &Camera,
    prior: &Pose,
    sigma_pos_m: f64,
    sigma_att_rad: f64,
    cfg: &PredictConfig,
    out: &mut [Prediction],
) -> usize {
    let mut ctx = Context::new(lms, camera, prior, sigma_pos_m, sigma_att_rad, cfg);
    let cap = cfg.max_landmarks.min(out.len());
    let (mut layers, mut n_layers) = ([(0.0f32, 0usize, 0usize); MAX_LAYERS], 0usize);
    let mut n = fill(lms, &ctx, out, |lm, p| {
        let fits = p.scale_ratio <= cfg.layer_fit_ratio;
        count_layer(&mut layers, &mut n_layers, lm.scale_m, fits);
    });
    if n_layers > 1 {
        // One layer: the finest with enough landmarks in view that fit it, else the one
        // with the most that fit, else the fullest.
        let used = layers.get_mut(..n_layers).unwrap_or(&mut []);
        used.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let most_fitting = used.iter().rev().max_by_key(|l| l.2).filter(|l| l.2 > 0);
        let chosen = used
            .iter()
            .find(|l| l.2 >= cfg.min_layer_landmarks)
            .or(most_fitting)
            .or_else(|| used.iter().rev().max_by_key(|l| l.1))
            .copied()
            .unwrap_or((0.0, 0, 0));
        ctx.layer = Some(chosen.0);
        if n <= out.len() {
            // Every prediction is at hand: keep the layer's, in order.
            let mut k = 0usize;
            for i in 0..n {
                let Some(p) = out.get(i).copied() else { break };
                if lms
                    .get(p.index)
                    .is_some_and(|l| same_scale(l.scale_m, chosen.0))
                {
                    if let Some(slot) = out.get_mut(k) {
                        *slot = p;
                    }
                    k += 1;
                }
            }
            n = k;
        } else if chosen.1 <= cap {
            // Some were not kept: predict the layer again.
            n = fill(lms, &ctx, out, |_, _| {});
        } else {
            n = chosen.1;
        }
    }
    if n <= cap {
        return n;
    }
    // Keep an even subset (the database order is spread over the map, best first per
    // coverage round, so a stride keeps both spread and quality): the k-th kept is the
    // in-view prediction number floor(k n / cap).
    let step = n as f64 / cap as f64;
    let (mut seen, mut k) = (0usize, 0usize);
    for (index, lm) in lms.iter().enumerate() {
        if k >= cap {
            break;
        }
        if let Some(p) = ctx.consider(index, &lm) {
            if seen == (k as f64 * step) as usize {
                if let Some(slot) = out.get_mut(k) {
                    *slot = p;
                }
                k += 1;
            }
            seen += 1;
        }
    }
    k
}

struct Context<'c> {
    camera: &'c Camera,
    prior: &'c Pose,
    /// The prior's camera-to-site rotation, formed once for every landmark.
    rot: Mat3,
    /// `ln(cfg.max_scale_ratio)`.
    log_max_scale_ratio: f64,
    cfg: &'c PredictConfig,
    f: f64,
    w: f64,
    h: f64,
    half: usize,
    levels: usize,
    sigma_pos_m: f64,
    sigma_att_rad: f64,
    /// Only landmarks of this template scale (when the frame sees several layers).
    layer: Option<f32>,
}

impl<'c> Context<'c> {
    fn new(
        lms: &Landmarks<'_>,
        camera: &'c Camera,
        prior: &'c Pose,
        sigma_pos_m: f64,
        sigma_att_rad: f64,
        cfg: &'c PredictConfig,
    ) -> Self {
        let (fx, fy) = camera.focal();
        Self {
            camera,
            prior,
            rot: prior.attitude.to_mat3(),
            log_max_scale_ratio: math::ln(cfg.max_scale_ratio),
            cfg,
            f: 0.5 * (fx + fy),
            w: f64::from(camera.width()),
            h: f64::from(camera.height()),
            half: lms.template_side() / 2,
            levels: lms.levels(),
            sigma_pos_m,
            sigma_att_rad,
            layer: None,
        }
    }

    fn consider(&self, index: usize, lm: &Landmark<'_>) -> Option<Prediction> {
        let (cfg, f) = (self.cfg, self.f);
        if self.layer.is_some_and(|s| !same_scale(s, lm.scale_m)) {
            return None;
        }
        let pc = self.rot.tr_mul_vec(lm.position - self.prior.position);
        if pc.z <= 1.0 {
            return None;
        }
        let uv = self.camera.project(pc).ok()?;
        // Most of a map is out of view: refuse those before any other work (the window's
        // fit below needs the centre this far inside anyway).
        let inside = |x: f64, size: f64| x > WINDOW_MARGIN_PX && x < size - 1.0 - WINDOW_MARGIN_PX;
        if !(inside(uv[0], self.w) && inside(uv[1], self.h)) {
            return None;
        }
        let to_cam = self.prior.position - lm.position;
        let range = to_cam.norm();
        let facing = lm.normal.dot(to_cam) / range.max(1e-9);
        if facing < cfg.min_facing {
            return None;
        }
        // Ground sample distance of the frame at the landmark, on its plane.
        let gsd = range / f * (pc.norm() / pc.z) / facing.max(0.2);
        let s0 = f64::from(lm.scale_m);
        // Level whose pixel is closest to the frame's in log scale (level k's pixel is 2^k
        // times level 0's).
        let log0 = math::ln(gsd / s0);
        let mut best = (f64::INFINITY, 0usize);
        for level in 0..self.levels {
            let r = math::abs(log0 - level as f64 * core::f64::consts::LN_2);
            if r < best.0 {
                best = (r, level);
            }
        }
        let (log_ratio, level) = best;
        // A frame finer than the finest template is matched on its pyramid, resampled to
        // the template's spacing; only a frame coarser than the coarsest, or between levels
        // by more than the tolerance, is refused.
        let finer_than_all = level == 0 && gsd < s0;
        if log_ratio > self.log_max_scale_ratio && !finer_than_all {
            return None;
        }
        let tpl_px = s0 * f64::from(1u32 << level.min(31));
        // Pixel uncertainty: lateral position error over range, plus attitude.
        let sigma_px = f * (self.sigma_pos_m / range + self.sigma_att_rad);
        let radius_img = cfg.sigmas * sigma_px;
        // Image pixels to template pixels at this level (saturating for huge values).
        let radius = math::ceil(radius_img * gsd / tpl_px) as usize;
        let radius = radius.clamp(cfg.min_radius, cfg.max_radius.max(cfg.min_radius));
        // The search window must fit inside the frame. It is the template's square grown by
        // the radius on the landmark's plane, so its corners are projected with the prior: a
        // yawed view turns the square (its corners reach sqrt 2 further than its half-side)
        // and an oblique one stretches it. The radius shrinks to the room there is, assuming
        // the corners move linearly with the window's half-side; the landmark is dropped when
        // even the smallest radius does not fit, with the template cropped to its smallest.
        let half_side = (self.half + radius) as f64;
        // The plane's template-pixel steps in the camera frame: the corners are the centre
        // plus or minus the half-side times each.
        let p = lm.position;
        let step_j = self
            .rot
            .tr_mul_vec(plane_point(p, lm.normal, tpl_px, half_side, 0.0) - p);
        let step_i = self
            .rot
            .tr_mul_vec(plane_point(p, lm.normal, tpl_px, 0.0, half_side) - p);
        let mut grow = f64::INFINITY;
        for (dj, di) in [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)] {
            let qc = pc + step_j * dj + step_i * di;
            if qc.z <= 1.0 {
                return None;
            }
            let corner = self.camera.project(qc).ok()?;
            for (c, centre, size) in [(corner[0], uv[0], self.w), (corner[1], uv[1], self.h)] {
                let d = c - centre;
                // Bilinear sampling needs the next pixel too; relief lifts samples off the
                // plane by a little: a margin of two pixels either side.
                let room = if d < 0.0 {
                    centre - WINDOW_MARGIN_PX
                } else {
                    size - 1.0 - WINDOW_MARGIN_PX - centre
                };
                if !(room > 0.0) {
                    return None;
                }
                if math::abs(d) > 1e-9 {
                    grow = grow.min(room / math::abs(d));
                }
            }
        }
        // Largest half-side of template plus radius that fits.
        let reach = math::floor(grow * half_side);
        if !(reach >= (cfg.min_radius + crate::ncc::MIN_TEMPLATE / 2) as f64) {
            return None;
        }
        let reach = reach as usize;
        let template_half = self.half.min(reach - cfg.min_radius);
        if 2 * template_half + 1 < cfg.min_template_side.max(crate::ncc::MIN_TEMPLATE) {
            return None;
        }
        let radius = radius.min(reach - template_half);
        Some(Prediction {
            index,
            level,
            pixel: uv,
            radius,
            template_half,
            scale_ratio: gsd / tpl_px,
        })
    }
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
