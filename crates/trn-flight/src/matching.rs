//! Fine matching: each predicted landmark's template searched for in the frame.
//!
//! The frame is resampled onto the landmark's tangent plane through the prior pose: plane
//! point `p + dj a + di b` (template pixel offsets `dj` east, `di` south) is, in the camera
//! frame, `c0 + dj A + di B` with `A = R^T a`, `B = R^T b`, so each window pixel costs three
//! multiply-adds, a division and the lens distortion, and the warp is the exact homography
//! of the plane. The window is sampled from the frame pyramid level whose pixels are no
//! larger than the template's, then the ZNCC kernel of [`crate::ncc`] finds the template in it. A
//! peak at offset `(dj, di)` from the predicted centre means the landmark is where the prior
//! would put the plane point `(dj, di)`: its observation is that point's normalised image
//! coordinates, exact to first order in the prior's error.

//!
//! Everything runs in caller memory: a [`MatchScratch`] per thread. [`match_all`] is the
//! single-threaded loop; trn-features runs [`match_landmark`] over landmarks with rayon,
//! one scratch per worker, and gets the same outcomes.

use crate::camera::Camera;
use crate::dem::Heightfield;
use crate::linalg::Vec3;
use crate::mapdb::Landmarks;
use crate::ncc::{self, ImageView, MAX_TEMPLATE, NccConfig};
use crate::pose::Pose;
use crate::predict::{MAX_SEARCH_RADIUS, Prediction, plane_point};
use crate::pyramid::Pyramid;

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
#[derive(Clone, Copy, Debug, Default, PartialEq)]
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

impl MatchStats {
    /// Counts `outcomes`; `searched` is their number.
    #[must_use]
    pub fn tally(outcomes: &[MatchOutcome]) -> Self {
        let mut s = Self {
            searched: outcomes.len(),
            ..Self::default()
        };
        for o in outcomes {
            match o {
                MatchOutcome::Match(_) => s.matched += 1,
                MatchOutcome::Weak => s.weak += 1,
                MatchOutcome::Ambiguous => s.ambiguous += 1,
                MatchOutcome::Border => s.on_border += 1,
                MatchOutcome::Failed => s.failed += 1,
            }
        }
        s
    }
}

/// What searching one landmark gave.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum MatchOutcome {
    /// Found.
    Match(LandmarkMatch),
    /// Score below the minimum.
    Weak,
    /// Peak ratio below the minimum.
    Ambiguous,
    /// Peak on the window's edge.
    Border,
    /// Not searched: window off the frame, flat, or larger than the scratch.
    #[default]
    Failed,
}

impl MatchOutcome {
    /// The match, when there is one.
    #[must_use]
    pub fn matched(&self) -> Option<&LandmarkMatch> {
        match self {
            Self::Match(m) => Some(m),
            _ => None,
        }
    }
}

const MAX_WINDOW: usize = MAX_TEMPLATE + 2 * MAX_SEARCH_RADIUS;
const MAX_SCORES: usize = (2 * MAX_SEARCH_RADIUS + 1) * (2 * MAX_SEARCH_RADIUS + 1);
const MAX_LIFT: usize = (MAX_WINDOW.div_ceil(2) + 1) * (MAX_WINDOW.div_ceil(2) + 1);

/// Working memory of one matching thread: the template, the window, the score surface and
/// the DEM lift grid, sized for [`MAX_TEMPLATE`] and [`MAX_SEARCH_RADIUS`] (about 220 KB;
/// place it in a static or on the heap rather than a small stack).
#[derive(Clone, Debug)]
pub struct MatchScratch {
    tpl: [f32; MAX_TEMPLATE * MAX_TEMPLATE],
    win: [f32; MAX_WINDOW * MAX_WINDOW],
    scores: [f32; MAX_SCORES],
    lift: [f64; MAX_LIFT],
    lift_row: [f64; MAX_WINDOW],
    /// The plane's camera-frame point of each window column on the landmark's row.
    columns: [Vec3; MAX_WINDOW],
}

impl Default for MatchScratch {
    fn default() -> Self {
        Self::new()
    }
}

impl MatchScratch {
    /// Zeroed scratch.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            tpl: [0.0; MAX_TEMPLATE * MAX_TEMPLATE],
            win: [0.0; MAX_WINDOW * MAX_WINDOW],
            scores: [0.0; MAX_SCORES],
            lift: [0.0; MAX_LIFT],
            lift_row: [0.0; MAX_WINDOW],
            columns: [Vec3::ZERO; MAX_WINDOW],
        }
    }
}

/// What every landmark of a frame is matched against.
#[derive(Clone, Copy, Debug)]
pub struct MatchContext<'a> {
    /// The database's landmarks.
    pub landmarks: Landmarks<'a>,
    /// The camera.
    pub camera: &'a Camera,
    /// The pose the windows are warped with.
    pub prior: Pose,
    /// The frame's pyramid.
    pub frame: Pyramid<'a>,
    /// The DEM the windows are orthorectified on (tangent planes without it).
    pub dem: Option<&'a Heightfield<'a>>,
    /// Settings.
    pub config: MatchConfig,
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
struct Lift<'v> {
    step_w: usize,
    values: &'v [f64],
}

impl Lift<'_> {
    /// Row `i` of the lift, interpolated onto every window node of `out` (zero without a
    /// DEM): the bilinear interpolation between grid nodes, with the row's terms computed
    /// once.
    fn row_into(&self, i: usize, out: &mut [f64]) {
        if self.values.is_empty() || self.step_w == 0 {
            out.fill(0.0);
            return;
        }
        let rows = self.values.len() / self.step_w;
        let i0 = i / 2;
        let fi = (i % 2) as f64 * 0.5;
        let (b0, b1) = (i0, (i0 + 1).min(rows.saturating_sub(1)));
        let (Some(top_row), Some(bottom_row)) = (
            self.values.get(b0 * self.step_w..(b0 + 1) * self.step_w),
            self.values.get(b1 * self.step_w..(b1 + 1) * self.step_w),
        ) else {
            out.fill(0.0);
            return;
        };
        let g = |r: &[f64], a: usize| r.get(a).copied().unwrap_or(0.0);
        for (j, o) in out.iter_mut().enumerate() {
            let j0 = j / 2;
            let fj = (j % 2) as f64 * 0.5;
            let (a0, a1) = (j0, (j0 + 1).min(self.step_w - 1));
            let top = g(top_row, a0) + (g(top_row, a1) - g(top_row, a0)) * fj;
            let bottom = g(bottom_row, a0) + (g(bottom_row, a1) - g(bottom_row, a0)) * fj;
            *o = top + (bottom - top) * fi;
        }
    }
}

impl PlaneView<'_> {
    fn plane_cam(&self, dj: f64, di: f64) -> Vec3 {
        self.c0 + self.a * dj + self.b * di
    }

    /// Fills `buf` with the lift grid of a `wside` window (`None` when `buf` is too small).
    fn lift_grid<'v>(&self, wside: usize, off: f64, buf: &'v mut [f64]) -> Option<Lift<'v>> {
        let Some(dem) = self.dem else {
            return Some(Lift {
                step_w: 1,
                values: &[],
            });
        };
        let n = wside.div_ceil(2) + 1;
        let values = buf.get_mut(..n * n)?;
        for (k, v) in values.iter_mut().enumerate() {
            let (bi, bj) = (k / n, k % n);
            let p = plane_point(
                self.origin,
                self.normal,
                self.s,
                (2 * bj) as f64 - off,
                (2 * bi) as f64 - off,
            );
            *v = match dem.height_at(p.x, p.y) {
                Ok(h) => dem.surface_z(p.x, p.y, h) - p.z,
                Err(_) => 0.0,
            };
        }
        Some(Lift { step_w: n, values })
    }

    fn cam(&self, dj: f64, di: f64) -> Vec3 {
        let c = self.plane_cam(dj, di);
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

/// Searches one predicted landmark.
#[must_use]
pub fn match_landmark(
    p: &Prediction,
    ctx: &MatchContext<'_>,
    scratch: &mut MatchScratch,
) -> MatchOutcome {
    let (lms, camera, prior, frame, cfg) = (
        &ctx.landmarks,
        ctx.camera,
        &ctx.prior,
        &ctx.frame,
        &ctx.config,
    );
    let Some(lm) = lms.get(p.index) else {
        return MatchOutcome::Failed;
    };
    let full = lms.template_side();
    let half = p.template_half.min(full / 2);
    let side = 2 * half + 1;
    let r = p.radius;
    let wside = side + 2 * r;
    let n = 2 * r + 1;
    let (Some(tpl), Some(win), Some(scores)) = (
        scratch.tpl.get_mut(..side * side),
        scratch.win.get_mut(..wside * wside),
        scratch.scores.get_mut(..n * n),
    ) else {
        return MatchOutcome::Failed;
    };
    if lm.template_centre_into(p.level, side, tpl).is_none() {
        return MatchOutcome::Failed;
    }
    let s = f64::from(lm.scale_m) * f64::from(1u32 << p.level.min(31));
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
        dem: ctx.dem,
    };
    // Frame level with pixels no larger than the template's.
    let gsd0 = s / p.scale_ratio.max(1e-9);
    let mut k = 0;
    while k + 1 < frame.len() && gsd0 * f64::from(1u32 << (k + 1).min(31)) <= s * 1.0001 {
        k += 1;
    }
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
    let off = (half + r) as f64;
    // The DEM's departure from the plane, on every second window node and interpolated
    // between: relief at the template's own pixel scale moves the window by a fraction of
    // its parallax, a quarter of the DEM lookups.
    let Some(lift) = view.lift_grid(wside, off, &mut scratch.lift) else {
        return MatchOutcome::Failed;
    };
    let (Some(level), Some(lift_row), Some(columns)) = (
        frame.level(k),
        scratch.lift_row.get_mut(..wside),
        scratch.columns.get_mut(..wside),
    ) else {
        return MatchOutcome::Failed;
    };
    // The plane's point is c0 + a dj + b di: the column part is the same on every row.
    for (j, c) in columns.iter_mut().enumerate() {
        *c = view.c0 + view.a * (j as f64 - off);
    }
    // Level-k pixels per level-0 pixel: a power of two, so the product is exact.
    let to_level = 1.0 / f64::from(1u32 << k.min(31));
    for (i, row) in win.chunks_exact_mut(wside).enumerate() {
        lift.row_into(i, lift_row);
        let down = view.b * (i as f64 - off);
        for ((px, l), column) in row.iter_mut().zip(lift_row.iter()).zip(columns.iter()) {
            let c = *column + down + view.up * *l;
            let Some((_, [u, v])) = to_pixel(c) else {
                return MatchOutcome::Failed;
            };
            let Some(val) = level.bilinear(u * to_level, v * to_level) else {
                return MatchOutcome::Failed;
            };
            *px = val;
        }
    }
    let (Ok(tv), Ok(wv)) = (
        ImageView::packed(tpl, side, side),
        ImageView::packed(win, wside, wside),
    ) else {
        return MatchOutcome::Failed;
    };
    let ncfg = NccConfig {
        exclusion_radius: cfg.exclusion,
        ..NccConfig::default()
    };
    let Ok(peak) = ncc::search(&tv, &wv, scores, &ncfg) else {
        return MatchOutcome::Failed;
    };
    if peak.on_border {
        return MatchOutcome::Border;
    }
    if peak.score < cfg.min_score {
        return MatchOutcome::Weak;
    }
    if peak.ratio < cfg.min_ratio {
        return MatchOutcome::Ambiguous;
    }
    let (dj, di) = (f64::from(peak.x) - off, f64::from(peak.y) - off);
    let Some((normalized, pixel)) = to_pixel(view.cam(dj, di)) else {
        return MatchOutcome::Failed;
    };
    MatchOutcome::Match(LandmarkMatch {
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

/// Matches every prediction in turn into `out` (one outcome per prediction; extra
/// predictions beyond `out.len()` are not searched).
pub fn match_all(
    preds: &[Prediction],
    ctx: &MatchContext<'_>,
    scratch: &mut MatchScratch,
    out: &mut [MatchOutcome],
) {
    for (p, o) in preds.iter().zip(out.iter_mut()) {
        *o = match_landmark(p, ctx, scratch);
    }
}
