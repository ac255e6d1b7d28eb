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
//! single-threaded loop; trn runs [`match_landmark`] over landmarks with rayon,
//! one scratch per worker, and gets the same outcomes.

use crate::camera::Camera;
use crate::dem::Heightfield;
use crate::linalg::Vec3;
use crate::mapdb::Landmarks;
use crate::ncc::{self, MAX_TEMPLATE, NccConfig};
use crate::pose::Pose;
use crate::predict::{MAX_SEARCH_RADIUS, Prediction, plane_point};
use crate::pyramid::Pyramid;
use crate::view::ImageView;

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
/// Nodes of a window row: every second window pixel, and one past the last pixel when
/// that pixel falls between nodes.
const MAX_NODES: usize = MAX_WINDOW / 2 + 1;

/// Working memory of one matching thread: the template, the window, the score surface and
/// two rows of the window's projected nodes, sized for [`MAX_TEMPLATE`] and
/// [`MAX_SEARCH_RADIUS`] (about 175 KB; place it in a static or on the heap rather than a
/// small stack).
#[derive(Clone, Debug)]
pub struct MatchScratch {
    tpl: [f32; MAX_TEMPLATE * MAX_TEMPLATE],
    win: [f32; MAX_WINDOW * MAX_WINDOW],
    scores: [f32; MAX_SCORES],
    /// Frame pixels of the nodes of the row above and of the row below.
    nodes: [[[f64; 2]; MAX_NODES]; 2],
    /// Between them.
    between: [[f64; 2]; MAX_NODES],
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
            nodes: [[[0.0; 2]; MAX_NODES]; 2],
            between: [[0.0; 2]; MAX_NODES],
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

impl PlaneView<'_> {
    fn plane_cam(&self, dj: f64, di: f64) -> Vec3 {
        self.c0 + self.a * dj + self.b * di
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

/// A window's samples and the node rows its warp works in.
struct WindowRows<'w> {
    nodes: &'w mut [[[f64; 2]; MAX_NODES]; 2],
    between: &'w mut [[f64; 2]; MAX_NODES],
    /// `wside * wside` samples, row-major.
    win: &'w mut [f32],
    wside: usize,
}

/// Fills the window (pixel `(j, i)` is the plane offset `(j - off, i - off)` template
/// pixels) with `sample` at its frame position (level-0 pixels times `to_level`).
///
/// Every second window node (the ground point, on the DEM, projected exactly) and the
/// pixels between them interpolated: over two window pixels the projection departs from
/// linear by a few thousandths of a pixel of the level sampled (0.0035 in a test built to be
/// worse than practice: 45 degrees off nadir from 300 m through a strong barrel lens), and
/// relief is followed at the DEM's own spacing (a template pixel) at a quarter of the
/// lookups and projections. Two node rows at a time, the window rows between them
/// halfway. `None` when a node is behind the camera or `sample` refuses.
fn warp_window(
    view: &PlaneView<'_>,
    camera: &Camera,
    to_level: f64,
    off: f64,
    rows: WindowRows<'_>,
    mut sample: impl FnMut(f64, f64) -> Option<f32>,
) -> Option<()> {
    let WindowRows {
        nodes: [above, below],
        between,
        win,
        wside,
    } = rows;
    let n_nodes = wside / 2 + 1;
    let node_row = |bi: usize, out: &mut [[f64; 2]]| -> Option<()> {
        for (bj, o) in out.iter_mut().enumerate() {
            let c = view.cam((2 * bj) as f64 - off, (2 * bi) as f64 - off);
            let [u, v] = camera.project(c).ok()?;
            *o = [u * to_level, v * to_level];
        }
        Some(())
    };
    // One window row from its nodes' pixels: even columns on a node, odd ones halfway.
    let mut fill = |nodes: &[[f64; 2]], row: &mut [f32]| -> Option<()> {
        for (j, px) in row.iter_mut().enumerate() {
            let p = nodes.get(j / 2)?;
            let [u, v] = if j % 2 == 0 {
                *p
            } else {
                let q = nodes.get(j / 2 + 1)?;
                [0.5 * (p[0] + q[0]), 0.5 * (p[1] + q[1])]
            };
            *px = sample(u, v)?;
        }
        Some(())
    };
    let (mut above, mut below) = (above.get_mut(..n_nodes)?, below.get_mut(..n_nodes)?);
    let between = between.get_mut(..n_nodes)?;
    let mut rows = win.get_mut(..wside * wside)?.chunks_exact_mut(wside);
    node_row(0, above)?;
    fill(above, rows.next()?)?;
    for bi in 1.. {
        let Some(odd) = rows.next() else {
            break;
        };
        node_row(bi, below)?;
        for ((m, a), b) in between.iter_mut().zip(above.iter()).zip(below.iter()) {
            *m = [0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1])];
        }
        fill(between, odd)?;
        if let Some(even) = rows.next() {
            fill(below, even)?;
        }
        core::mem::swap(&mut above, &mut below);
    }
    Some(())
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
    let off = (half + r) as f64;
    let Some(level) = frame.level(k) else {
        return MatchOutcome::Failed;
    };
    // Level-k pixels per level-0 pixel: a power of two, so the product is exact.
    let to_level = 1.0 / f64::from(1u32 << k.min(31));
    let warped = warp_window(
        &view,
        camera,
        to_level,
        off,
        WindowRows {
            nodes: &mut scratch.nodes,
            between: &mut scratch.between,
            win,
            wside,
        },
        |u, v| level.bilinear(u, v),
    );
    if warped.is_none() {
        return MatchOutcome::Failed;
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
    let Ok((normalized, pixel)) = camera.project_normalized(view.cam(dj, di)) else {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::Distortion;
    extern crate std;
    use crate::linalg::Quat;

    /// The window warp's interpolation between exactly projected nodes against projecting
    /// every pixel, on a worst case for it: a steep, close view (45 degrees off nadir from
    /// 300 m, onto ground tilted 30 degrees), a lens with strong barrel distortion, a wide
    /// window (73 template pixels of 2 m) whose edge reaches the frame's corner region.
    #[test]
    fn window_warp_interpolation_stays_within_thousandths_of_a_pixel() {
        let camera = Camera::new(
            1024,
            1024,
            600.0,
            600.0,
            511.5,
            511.5,
            Distortion {
                k1: -0.3,
                k2: 0.1,
                p1: 0.001,
                p2: -0.002,
                k3: 0.0,
            },
        )
        .unwrap();
        let origin = Vec3::new(20.0, -30.0, 5.0);
        let normal = Vec3::new(0.0, 0.5, 0.866_025_403_784_438_6);
        let s = 2.0;
        // Camera to site: nadir (a half turn about x), then 45 degrees back towards +y.
        let attitude =
            Quat::from_rotation_vector(Vec3::new(core::f64::consts::PI - 0.785, 0.0, 0.0));
        let position = origin + Vec3::new(-40.0, 212.0, 212.0);
        let pose = Pose::new(position, attitude);
        let rot = attitude.to_mat3();
        let view = PlaneView {
            c0: rot.tr_mul_vec(origin - position),
            a: rot.tr_mul_vec(plane_point(origin, normal, s, 1.0, 0.0) - origin),
            b: rot.tr_mul_vec(plane_point(origin, normal, s, 0.0, 1.0) - origin),
            up: rot.tr_mul_vec(Vec3::new(0.0, 0.0, 1.0)),
            origin,
            normal,
            s,
            dem: None,
        };
        let (wside, off) = (73usize, 36.0);
        let mut scratch = MatchScratch::new();
        let mut at = [[0.0f64; 2]; 73 * 73];
        // Level 0 (nodes 8 frame pixels apart here: finer than matching ever samples) and
        // level 2 (nodes 2 pixels apart, a template pixel per level pixel, as matching picks).
        for (to_level, bound) in [(1.0, 0.02), (0.25, 0.005)] {
            let mut k = 0;
            let warped = warp_window(
                &view,
                &camera,
                to_level,
                off,
                WindowRows {
                    nodes: &mut scratch.nodes,
                    between: &mut scratch.between,
                    win: &mut scratch.win,
                    wside,
                },
                |u, v| {
                    at[k] = [u, v];
                    k += 1;
                    Some(0.0)
                },
            );
            assert_eq!(warped, Some(()));
            assert_eq!(k, wside * wside);
            let (mut worst, mut span) = (0.0f64, [f64::MAX, f64::MIN]);
            for (idx, got) in at.iter().enumerate() {
                let (i, j) = (idx / wside, idx % wside);
                let c = pose.to_camera(plane_point(
                    origin,
                    normal,
                    s,
                    j as f64 - off,
                    i as f64 - off,
                ));
                let [u, v] = camera.project(c).unwrap();
                let exact = [u * to_level, v * to_level];
                worst = worst.max((got[0] - exact[0]).hypot(got[1] - exact[1]));
                span = [span[0].min(exact[0]), span[1].max(exact[0])];
            }
            std::eprintln!(
                "level pixels per frame pixel {to_level}: window spans columns {span:?}, \
                 interpolation error at most {worst:.5} level pixels"
            );
            // The window covers a good part of the frame, where distortion bends it most.
            assert!(
                (span[1] - span[0]) / to_level > 150.0,
                "window spans {span:?}"
            );
            assert!(
                worst < bound,
                "interpolated pixel {worst} px from the exact projection"
            );
        }
        // Not vacuous: the projection is not affine over the window.
        let mid = |a: [f64; 2], b: [f64; 2]| [0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1])];
        let (first, last) = (at[36 * wside], at[36 * wside + wside - 1]);
        let centre = at[36 * wside + 36];
        let m = mid(first, last);
        assert!((m[0] - centre[0]).hypot(m[1] - centre[1]) > 1.0);
    }
}
