//! Fine matching: each predicted landmark's template searched for in the frame.
//!
//! The frame is resampled onto the landmark's tangent plane through the prior pose: plane
//! point `p + dj a + di b` (template pixel offsets `dj` east, `di` south) is, in the camera
//! frame, `c0 + dj A + di B` with `A = R^T a`, `B = R^T b`, so each window pixel costs three
//! multiply-adds, a division and the lens distortion, and the warp is the exact homography
//! of the plane. The window is sampled from the frame pyramid level whose pixels are no
//! larger than the template's, then trn-flight's ZNCC kernel finds the template in it. A
//! peak at offset `(dj, di)` from the predicted centre means the landmark is where the prior
//! would put the plane point `(dj, di)`: its observation is that point's normalised image
//! coordinates, exact to first order in the prior's error.

use crate::frame::FramePyramid;
use crate::predict::{Prediction, plane_point};
use rayon::prelude::*;
use trn_flight::camera::Camera;
use trn_flight::dem::Heightfield;
use trn_flight::mapdb::Landmarks;
use trn_flight::ncc::{self, ImageView, NccConfig};
use trn_flight::{Pose, Vec3};

/// Matching settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatchConfig {
    /// Smallest ZNCC score of a match.
    pub min_score: f32,
    /// Smallest ratio of the peak to the best score outside it (ambiguity).
    pub min_ratio: f32,
    /// Exclusion radius around the peak for the ratio, template pixels.
    pub exclusion: usize,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            min_score: 0.6,
            min_ratio: 1.1,
            exclusion: 3,
        }
    }
}

/// A matched landmark.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LandmarkMatch {
    /// Index in the database.
    pub index: usize,
    /// Landmark id.
    pub id: u32,
    /// Site-frame position.
    pub world: Vec3,
    /// Undistorted normalised image coordinates of the observation.
    pub normalized: [f64; 2],
    /// The observation in level-0 (distorted) pixels.
    pub pixel: [f64; 2],
    /// ZNCC score.
    pub score: f32,
    /// Peak ratio.
    pub ratio: f32,
    /// Template level used.
    pub level: usize,
    /// Template pixel size at that level, metres.
    pub template_px_m: f64,
    /// Shift from the prediction, template pixels (east, south).
    pub shift: [f64; 2],
}

/// What matching saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatchStats {
    /// Predictions searched.
    pub searched: usize,
    /// Matches kept.
    pub matched: usize,
    /// Rejected: score below the minimum.
    pub weak: usize,
    /// Rejected: peak ratio below the minimum.
    pub ambiguous: usize,
    /// Rejected: peak on the window's edge.
    pub on_border: usize,
    /// Could not be searched (window off the frame, flat window, ...).
    pub failed: usize,
}

enum Outcome {
    Match(LandmarkMatch),
    Weak,
    Ambiguous,
    Border,
    Failed,
}

/// Camera-frame point of a ground offset from the landmark: on its tangent plane, or on
/// the DEM when one is given (the window is then orthorectified: relief inside the window
/// does not distort it).
struct PlaneView<'h> {
    c0: Vec3,
    a: Vec3,
    b: Vec3,
    up: Vec3,
    origin: Vec3,
    normal: Vec3,
    s: f64,
    dem: Option<&'h Heightfield<'h>>,
}

/// Heights of the DEM above the landmark's plane on every second node of a window.
struct Lift {
    step_w: usize,
    values: Vec<f64>,
}

impl Lift {
    fn at(&self, j: usize, i: usize) -> f64 {
        if self.values.is_empty() {
            return 0.0;
        }
        let (j0, i0) = (j / 2, i / 2);
        let (fj, fi) = ((j % 2) as f64 * 0.5, (i % 2) as f64 * 0.5);
        let g = |a: usize, b: usize| self.values.get(b * self.step_w + a).copied().unwrap_or(0.0);
        let (a0, a1) = (j0, (j0 + 1).min(self.step_w - 1));
        let rows = self.values.len() / self.step_w;
        let (b0, b1) = (i0, (i0 + 1).min(rows - 1));
        let top = g(a0, b0) + (g(a1, b0) - g(a0, b0)) * fj;
        let bottom = g(a0, b1) + (g(a1, b1) - g(a0, b1)) * fj;
        top + (bottom - top) * fi
    }
}

impl PlaneView<'_> {
    fn plane_cam(&self, dj: f64, di: f64) -> Vec3 {
        self.c0 + self.a * dj + self.b * di
    }

    fn lift_grid(&self, wside: usize, off: f64) -> Lift {
        let Some(dem) = self.dem else {
            return Lift {
                step_w: 1,
                values: Vec::new(),
            };
        };
        let n = wside.div_ceil(2) + 1;
        let mut values = Vec::with_capacity(n * n);
        for bi in 0..n {
            for bj in 0..n {
                let p = plane_point(
                    self.origin,
                    self.normal,
                    self.s,
                    (2 * bj) as f64 - off,
                    (2 * bi) as f64 - off,
                );
                values.push(match dem.height_at(p.x, p.y) {
                    Ok(h) => dem.surface_z(p.x, p.y, h) - p.z,
                    Err(_) => 0.0,
                });
            }
        }
        Lift { step_w: n, values }
    }

    fn cam(&self, dj: f64, di: f64) -> Vec3 {
        let c = self.c0 + self.a * dj + self.b * di;
        let Some(dem) = self.dem else {
            return c;
        };
        let p = plane_point(self.origin, self.normal, self.s, dj, di);
        match dem.height_at(p.x, p.y) {
            Ok(h) => c + self.up * (dem.surface_z(p.x, p.y, h) - p.z),
            Err(_) => c,
        }
    }
}

fn match_one(
    p: &Prediction,
    lms: &Landmarks<'_>,
    camera: &Camera,
    prior: &Pose,
    frame: &FramePyramid,
    dem: Option<&Heightfield<'_>>,
    cfg: &MatchConfig,
) -> Outcome {
    let Some(lm) = lms.get(p.index) else {
        return Outcome::Failed;
    };
    let side = lms.template_side();
    let half = side / 2;
    let mut tpl = vec![0.0f32; side * side];
    if lm.template_into(p.level, &mut tpl).is_none() {
        return Outcome::Failed;
    }
    let s = f64::from(lm.scale_m) * f64::from(1u32 << p.level);
    let rot = prior.attitude.to_mat3();
    let origin = lm.position;
    let pa = plane_point(origin, lm.normal, s, 1.0, 0.0) - origin;
    let pb = plane_point(origin, lm.normal, s, 0.0, 1.0) - origin;
    let view = PlaneView {
        c0: rot.tr_mul_vec(origin - prior.position),
        a: rot.tr_mul_vec(pa),
        b: rot.tr_mul_vec(pb),
        up: rot.tr_mul_vec(Vec3::new(0.0, 0.0, 1.0)),
        origin,
        normal: lm.normal,
        s,
        dem,
    };
    // Frame level with pixels no larger than the template's.
    let gsd0 = s / p.scale_ratio.max(1e-9);
    let mut k = 0;
    while k + 1 < frame.levels.len() && gsd0 * f64::from(1u32 << (k + 1)) <= s * 1.0001 {
        k += 1;
    }
    let r = p.radius;
    let wside = side + 2 * r;
    let (fx, fy) = camera.focal();
    let (cx, cy) = camera.principal_point();
    let dist = camera.distortion();
    let distorted = !dist.is_zero();
    let to_pixel = |c: Vec3| -> Option<([f64; 2], [f64; 2])> {
        if c.z <= 1e-6 {
            return None;
        }
        let (x, y) = (c.x / c.z, c.y / c.z);
        let [xd, yd] = if distorted {
            dist.distort(x, y)
        } else {
            [x, y]
        };
        Some(([x, y], [fx * xd + cx, fy * yd + cy]))
    };
    let mut win = vec![0.0f32; wside * wside];
    let off = (half + r) as f64;
    // The DEM's departure from the plane, on every second window node and interpolated
    // between: relief at the template's own pixel scale moves the window by a fraction of
    // its parallax, a quarter of the DEM lookups.
    let lift = view.lift_grid(wside, off);
    for i in 0..wside {
        for j in 0..wside {
            let c = view.plane_cam(j as f64 - off, i as f64 - off) + view.up * lift.at(j, i);
            let Some((_, [u, v])) = to_pixel(c) else {
                return Outcome::Failed;
            };
            let Some(val) = frame.sample(k, u, v) else {
                return Outcome::Failed;
            };
            win[i * wside + j] = val;
        }
    }
    let (Ok(tv), Ok(wv)) = (
        ImageView::packed(&tpl, side, side),
        ImageView::packed(&win, wside, wside),
    ) else {
        return Outcome::Failed;
    };
    let n = 2 * r + 1;
    let mut scores = vec![0.0f32; n * n];
    let ncfg = NccConfig {
        exclusion_radius: cfg.exclusion,
        ..NccConfig::default()
    };
    let Ok(peak) = ncc::search(&tv, &wv, &mut scores, &ncfg) else {
        return Outcome::Failed;
    };
    if peak.on_border {
        return Outcome::Border;
    }
    if peak.score < cfg.min_score {
        return Outcome::Weak;
    }
    if peak.ratio < cfg.min_ratio {
        return Outcome::Ambiguous;
    }
    let (dj, di) = (f64::from(peak.x) - off, f64::from(peak.y) - off);
    let Some((normalized, pixel)) = to_pixel(view.cam(dj, di)) else {
        return Outcome::Failed;
    };
    Outcome::Match(LandmarkMatch {
        index: p.index,
        id: lm.id,
        world: lm.position,
        normalized,
        pixel,
        score: peak.score,
        ratio: peak.ratio,
        level: p.level,
        template_px_m: s,
        shift: [dj, di],
    })
}

/// Matches every prediction (rayon over landmarks); the result is in prediction order
/// whatever the thread count. With `dem`, windows are orthorectified on it.
#[must_use]
pub fn match_landmarks(
    preds: &[Prediction],
    lms: &Landmarks<'_>,
    camera: &Camera,
    prior: &Pose,
    frame: &FramePyramid,
    dem: Option<&Heightfield<'_>>,
    cfg: &MatchConfig,
) -> (Vec<LandmarkMatch>, MatchStats) {
    let outcomes: Vec<Outcome> = preds
        .par_iter()
        .map(|p| match_one(p, lms, camera, prior, frame, dem, cfg))
        .collect();
    let mut stats = MatchStats {
        searched: preds.len(),
        ..MatchStats::default()
    };
    let mut out = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Match(m) => out.push(m),
            Outcome::Weak => stats.weak += 1,
            Outcome::Ambiguous => stats.ambiguous += 1,
            Outcome::Border => stats.on_border += 1,
            Outcome::Failed => stats.failed += 1,
        }
    }
    stats.matched = out.len();
    (out, stats)
}
