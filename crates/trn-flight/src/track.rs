//! Frame-to-frame tracking: a frame's pose from the ground it shares with the previous
//! fixed frame.
//!
//! Below the map's reach (a view a few tens of metres wide spans fewer map pixels than a
//! template holds) the map has nothing left to match, but the previous frame does: its
//! fix places its pixels on the DEM, and the same ground seen again gives the current pose
//! relative to that fix. Three steps, all in caller memory ([`TrackScratch`]):
//!
//! 1. **Registration** ([`register`]): once the last fix is a few seconds old, the inertial
//!    prior's altitude is uncertain by tens of metres, which at 60 m is the whole scale.
//!    Blocks of the previous frame warped into the current view through the ground plane
//!    (for a ladder of altitudes, at a coarse pyramid level, at the frame's centre and
//!    half-way to its corners) are searched for over the current frame; the best
//!    correlation gives the altitude and the horizontal position.
//! 2. **Tracking** ([`track_pose`]): on a grid over the part of the previous frame the
//!    current one sees, the most textured pixel of each cell is cast onto the DEM from the
//!    previous pose; its patch, warped into the current view through the local terrain
//!    plane, is searched for with ZNCC at the level where the two frames' pixels are of a
//!    size; P3P LO-RANSAC on those 3-D points gives the pose, and a second pass with
//!    windows from that pose refines it.
//! 3. **Covariance** ([`inherited_covariance`]): the points carry the previous pose's error
//!    and the DEM's. Both are propagated by re-solving with the previous pose and each point
//!    perturbed; the tracking's own scatter is the estimate's covariance.
//!
//! ```
//! use trn_flight::track::{TrackConfig, TrackScratch};
//! let cfg = TrackConfig::default();
//! assert!(cfg.grid * cfg.grid <= trn_flight::track::MAX_FEATURES);
//! let scratch = TrackScratch::new();
//! assert_eq!(scratch.features(), 0);
//! ```

use crate::camera::Camera;
use crate::dem::Heightfield;
use crate::linalg::{Mat6, Vec3};
use crate::math;
use crate::ncc::{self, ImageView, NccConfig};
use crate::pose::Pose;
use crate::pyramid::Pyramid;
use crate::robust::{AttitudePrior, PoseEstimate, RansacConfig, estimate_pose, refine_pose};

/// Most grid cells per side.
pub const MAX_GRID: usize = 10;
/// Most features tracked.
pub const MAX_FEATURES: usize = MAX_GRID * MAX_GRID;
/// Largest search half-width, pixels of the matching level.
pub const MAX_SEARCH_PX: usize = 16;
/// Largest side of the coarse level registration searches (its whole image is the window).
pub const MAX_REGISTER_SIDE: usize = 96;
/// Most altitudes registration tries.
pub const MAX_ALTITUDES: usize = 64;

const PATCH: usize = 15;
const HALF: usize = PATCH / 2;
/// Registration's template side (the correlation kernel's largest).
const REG: usize = ncc::MAX_TEMPLATE;
const REG_HALF: usize = REG / 2;
const MAX_REG_PLACEMENTS: usize = (MAX_REGISTER_SIDE - REG + 1) * (MAX_REGISTER_SIDE - REG + 1);

/// Tracking settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackConfig {
    /// Grid cells per side over the shared view (at most [`MAX_GRID`]).
    pub grid: usize,
    /// Search half-width after registration, level-0 pixels (divided by the matching
    /// level's scale; at most [`MAX_SEARCH_PX`] at that level).
    pub search_px: usize,
    /// Search half-width of the refinement pass, pixels of the matching level.
    pub refine_px: usize,
    /// Weakest ZNCC peak kept.
    pub min_score: f32,
    /// Least peak ratio (best over second-best) kept: below, the texture repeats.
    pub min_ratio: f32,
    /// Fewest inliers for a pose.
    pub min_inliers: usize,
    /// RANSAC inlier threshold, pixels of the matching level.
    pub threshold_px: f64,
    /// Registration runs at the first pyramid level whose larger side is at most this.
    pub register_side: usize,
    /// Ratio between successive altitudes tried by registration, minus one.
    pub altitude_step: f64,
    /// Registration tries altitudes within this factor of the previous frame's.
    pub max_altitude_ratio: f64,
    /// Weakest registration peak accepted.
    pub min_register_score: f32,
}

impl Default for TrackConfig {
    fn default() -> Self {
        Self {
            grid: 8,
            search_px: 14,
            refine_px: 2,
            min_score: 0.7,
            min_ratio: 1.05,
            min_inliers: 12,
            threshold_px: 1.5,
            register_side: 64,
            altitude_step: 0.06,
            max_altitude_ratio: 4.0,
            min_register_score: 0.5,
        }
    }
}

/// The previous fixed frame: its pyramid, pose and covariance.
#[derive(Clone, Copy, Debug)]
pub struct PreviousFrame<'a> {
    /// Its pyramid (level 0 at the camera's size).
    pub pyramid: Pyramid<'a>,
    /// Its fix.
    pub pose: Pose,
    /// The fix's 6x6 covariance (position m, then camera-frame attitude rad).
    pub covariance: Mat6,
    /// Its time, seconds.
    pub time_s: f64,
}

/// A pose from tracking.
#[derive(Clone, Copy, Debug)]
pub struct Tracked {
    /// The pose, with the covariance of the tracking alone (the points held fixed).
    pub estimate: PoseEstimate,
    /// Features matched in the last pass.
    pub found: usize,
    /// Pixels of the matching level per level-0 pixel, the coarsest used.
    pub level_scale: f64,
    /// The attitude measurement fused into the pose, if any.
    pub attitude: Option<AttitudePrior>,
    /// Which [`track_pose`] call of its scratch made it ([`inherited_covariance`] reads
    /// that call's correspondences from the scratch, and refuses another's).
    generation: u64,
}

/// Tracking's working memory (about 60 KB): features, correspondences and the
/// registration's buffers.
#[derive(Clone, Debug)]
pub struct TrackScratch {
    /// Feature pixels in the previous frame (level 0).
    prev_px: [[f64; 2]; MAX_FEATURES],
    /// Their ground points and terrain normals.
    world: [Vec3; MAX_FEATURES],
    normal: [Vec3; MAX_FEATURES],
    n_features: usize,
    /// Correspondences of the last pass: current normalised coordinates, feature index.
    image: [[f64; 2]; MAX_FEATURES],
    pixel: [[f64; 2]; MAX_FEATURES],
    index: [usize; MAX_FEATURES],
    points: [Vec3; MAX_FEATURES],
    mask: [bool; MAX_FEATURES],
    n_matches: usize,
    /// [`track_pose`] calls made with this scratch.
    generation: u64,
    /// Registration: camera-frame rays of the template's pixels, the template, scores.
    rays: [Vec3; REG * REG],
    template: [f32; REG * REG],
    scores: [f32; MAX_REG_PLACEMENTS],
}

impl Default for TrackScratch {
    fn default() -> Self {
        Self::new()
    }
}

impl TrackScratch {
    /// Empty buffers.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            prev_px: [[0.0; 2]; MAX_FEATURES],
            world: [Vec3::ZERO; MAX_FEATURES],
            normal: [Vec3::ZERO; MAX_FEATURES],
            n_features: 0,
            image: [[0.0; 2]; MAX_FEATURES],
            pixel: [[0.0; 2]; MAX_FEATURES],
            index: [0; MAX_FEATURES],
            points: [Vec3::ZERO; MAX_FEATURES],
            mask: [false; MAX_FEATURES],
            n_matches: 0,
            generation: 0,
            rays: [Vec3::ZERO; REG * REG],
            template: [0.0; REG * REG],
            scores: [0.0; MAX_REG_PLACEMENTS],
        }
    }

    /// Features placed on the ground by the last [`track_pose`].
    #[must_use]
    pub fn features(&self) -> usize {
        self.n_features
    }

    /// The last pass's correspondences: level-0 pixel in the current frame and whether the
    /// pose kept it.
    pub fn matches(&self) -> impl Iterator<Item = ([f64; 2], bool)> + '_ {
        self.pixel
            .iter()
            .zip(self.mask.iter())
            .take(self.n_matches)
            .map(|(p, m)| (*p, *m))
    }
}

/// The pyramid level whose pixels are closest in size to `ratio` level-0 pixels (log2
/// rounded; 0 for ratios up to 1).
fn octave(ratio: f64) -> usize {
    if ratio > 1.0 {
        (math::ln(ratio) / core::f64::consts::LN_2 + 0.5) as usize
    } else {
        0
    }
}

/// Where the ray through level-0 pixel `(u, v)` of a camera at `pose` meets the plane
/// through `p0` with normal `n`.
fn on_plane(camera: &Camera, pose: &Pose, u: f64, v: f64, p0: Vec3, n: Vec3) -> Option<Vec3> {
    let d = pose.attitude.rotate(camera.unproject(u, v).ok()?);
    let den = d.dot(n);
    if !(math::abs(den) > 1e-9) {
        return None;
    }
    let t = (p0 - pose.position).dot(n) / den;
    (t > 0.0).then(|| pose.position + d * t)
}

/// Level-0 pixel of `world` in a camera at `pose`.
fn pixel_of(camera: &Camera, pose: &Pose, world: Vec3) -> Option<[f64; 2]> {
    camera.project(pose.to_camera(world)).ok()
}

/// Height of the camera at `pose` above the terrain its boresight meets, and that point.
fn ground_below(pose: &Pose, dem: &Heightfield<'_>) -> Option<(f64, Vec3)> {
    let hit = dem.ray_cast(pose.position, pose.boresight(), 1e6).ok()?;
    let h = pose.position.z - hit.point.z;
    (h > 0.0).then_some((h, hit.point))
}

/// The pose of the current frame from the previous one at the altitude and horizontal
/// position where the previous frame, warped into the current view through the ground
/// plane, best matches it (blocks centred on the frame's centre and half-way to its
/// corners: shifts up to about three eighths of the frame are found), and the match's
/// score. `prior` gives the attitude
/// and the horizontal position searched around; `sigma_z_m` bounds the altitudes tried
/// (3 sigma, within [`TrackConfig::max_altitude_ratio`] of the previous frame's).
///
/// `None` when no altitude gives a peak above [`TrackConfig::min_register_score`] clear of
/// the window's border, or the geometry fails (no ground below, no coarse level small
/// enough).
#[must_use]
#[allow(clippy::too_many_arguments)]
pub fn register(
    prev: &PreviousFrame<'_>,
    frame: &Pyramid<'_>,
    prior: &Pose,
    sigma_z_m: f64,
    camera: &Camera,
    dem: &Heightfield<'_>,
    cfg: &TrackConfig,
    scratch: &mut TrackScratch,
) -> Option<(Pose, f32)> {
    // The coarse level: the first at most `register_side` on its larger side.
    let mut level = None;
    for k in 0..frame.len() {
        let l = frame.level(k)?;
        if l.width.max(l.height) <= cfg.register_side.min(MAX_REGISTER_SIDE) {
            level = Some((k, *l));
            break;
        }
    }
    let (k, lvl) = level?;
    if lvl.width < REG || lvl.height < REG {
        return None;
    }
    let scale = f64::from(1u32 << k.min(31));
    let (_, ground) = ground_below(&prev.pose, dem)?;
    let window = ImageView::packed(lvl.data, lvl.width, lvl.height).ok()?;
    if !(cfg.altitude_step > 0.0) {
        return None;
    }
    // Template positions: the frame's centre, which finds shifts up to a quarter of the
    // coarse level either way, and four positions half-way to the corners, each reaching
    // twice as far towards the opposite corner. The best score over all wins.
    let (mx, my) = (lvl.width / 2, lvl.height / 2);
    let (ox, oy) = ((lvl.width - REG) / 4, (lvl.height - REG) / 4);
    let centres = [
        (mx, my),
        (mx - ox, my - oy),
        (mx + ox, my - oy),
        (mx - ox, my + oy),
        (mx + ox, my + oy),
    ];
    let mut best: Option<Rung> = None;
    for (cx, cy) in centres {
        // The ground this template sees: low down, relief comparable to the altitude makes
        // the plane under the previous camera the wrong one (its height error becomes the
        // altitude's).
        let (u, v) = (scale * cx as f64, scale * cy as f64);
        let plane = seen_plane(camera, prior, (u, v), scale * REG_HALF as f64, dem)
            .unwrap_or((ground, Vec3::new(0.0, 0.0, 1.0)));
        // Altitudes: a geometric ladder over the prior's 3-sigma range, within the ratio of
        // the previous camera's height over the same ground.
        let h_prev = prev.pose.position.z - plane.0.z;
        let h_prior = prior.position.z - plane.0.z;
        let lo = (h_prior - 3.0 * sigma_z_m).max(h_prev / cfg.max_altitude_ratio);
        let hi = (h_prior + 3.0 * sigma_z_m).min(h_prev * cfg.max_altitude_ratio);
        if !(lo > 0.0 && hi >= lo) {
            continue;
        }
        let mut step = 1.0 + cfg.altitude_step;
        let span = math::ln(hi / lo);
        if span / math::ln(step) > (MAX_ALTITUDES - 1) as f64 {
            step = math::exp(span / (MAX_ALTITUDES - 1) as f64);
        }
        let Some(r) = ladder(
            prev,
            camera,
            &window,
            scale,
            (cx, cy),
            prior,
            plane,
            h_prev,
            (lo, hi, step),
            scratch,
        ) else {
            continue;
        };
        if best.as_ref().is_none_or(|b| r.score > b.score) {
            best = Some(r);
        }
    }
    let best = best?;
    if best.score < cfg.min_register_score {
        return None;
    }
    let (p0, n) = best.plane;
    let pose = Pose::new(
        Vec3::new(prior.position.x, prior.position.y, p0.z + best.h),
        prior.attitude,
    );
    // Where the template's centre was found says how far the camera must move over the
    // plane.
    let centre = (scale * best.centre.0 as f64, scale * best.centre.1 as f64);
    let found = (
        scale * f64::from(best.peak[0]),
        scale * f64::from(best.peak[1]),
    );
    let xc = on_plane(camera, &pose, centre.0, centre.1, p0, n)?;
    let xo = on_plane(camera, &pose, found.0, found.1, p0, n)?;
    // Moved horizontally. Along the plane would keep the camera's distance to it exactly,
    // but the plane's tilt is the DEM's over a template's width, not the ground's: moving
    // along it made the altitude errors worse (p90 1.8 -> 2.7 % of the altitude over the
    // development campaign's low pairs).
    let shift = xc - xo;
    let moved = Pose::new(
        pose.position + Vec3::new(shift.x, shift.y, 0.0),
        pose.attitude,
    );
    moved.is_finite().then_some((moved, best.score))
}

/// The plane of the ground a registration template sees from the prior pose: where the
/// ray through level-0 pixel `(u, v)` meets the DEM, tilted as the DEM is over `half`
/// level-0 pixels' worth of ground either side (the template's half-width, not one DEM
/// cell's slope). `None` off the DEM.
fn seen_plane(
    camera: &Camera,
    prior: &Pose,
    (u, v): (f64, f64),
    half: f64,
    dem: &Heightfield<'_>,
) -> Option<(Vec3, Vec3)> {
    let d = prior.attitude.rotate(camera.unproject(u, v).ok()?);
    let hit = dem.ray_cast(prior.position, d, 1e6).ok()?;
    let p0 = hit.point;
    let g = dem.grid();
    let reach = ((p0 - prior.position).norm() * half / camera.focal().0.max(camera.focal().1))
        .max(math::abs(g.dx))
        .max(math::abs(g.dy));
    let h = |dx: f64, dy: f64| dem.height_at(p0.x + dx, p0.y + dy).ok();
    let gx = (h(reach, 0.0)? - h(-reach, 0.0)?) / (2.0 * reach);
    let gy = (h(0.0, reach)? - h(0.0, -reach)?) / (2.0 * reach);
    let n = Vec3::new(-gx, -gy, 1.0).try_normalize()?;
    Some((p0, n))
}

/// The best altitude of one template position.
struct Rung {
    /// Camera height above the plane's point, refined between rungs.
    h: f64,
    /// The plane warped through: a point and its unit normal.
    plane: (Vec3, Vec3),
    score: f32,
    /// Where the template's centre was found, coarse-level pixels.
    peak: [f32; 2],
    /// The template's centre, coarse-level pixels.
    centre: (usize, usize),
}

/// Registration's ladder of altitudes for the template centred at `centre` (coarse-level
/// pixels): the previous frame warped into each altitude's view through `plane` (a point
/// and its normal; altitudes are the camera's height above the point), searched for over
/// the whole coarse level.
#[allow(clippy::too_many_arguments)]
fn ladder(
    prev: &PreviousFrame<'_>,
    camera: &Camera,
    window: &ImageView<'_>,
    scale: f64,
    centre: (usize, usize),
    prior: &Pose,
    plane: (Vec3, Vec3),
    h_prev: f64,
    (lo, hi, step): (f64, f64, f64),
    scratch: &mut TrackScratch,
) -> Option<Rung> {
    let (p0, n) = plane;
    let (cx, cy) = centre;
    let (x0, y0) = (cx.checked_sub(REG_HALF)?, cy.checked_sub(REG_HALF)?);
    if x0 + REG > window.width() || y0 + REG > window.height() {
        return None;
    }
    // The template's rays, once for every altitude.
    for (idx, ray) in scratch.rays.iter_mut().enumerate() {
        let (i, j) = (idx / REG, idx % REG);
        let (u, v) = (scale * (x0 + j) as f64, scale * (y0 + i) as f64);
        *ray = camera.unproject(u, v).ok()?;
    }
    let placements = (window.width() - REG + 1) * (window.height() - REG + 1);
    let rot = prior.attitude.to_mat3();
    // The peak for the camera `h` above the plane (none off the previous frame or on the
    // border of the search).
    let mut rung = |h: f64| -> Option<(f32, [f32; 2])> {
        let position = Vec3::new(prior.position.x, prior.position.y, p0.z + h);
        // Previous-frame pixels per template pixel: the level to sample it at.
        let m = octave(scale * h / h_prev).min(prev.pyramid.len().saturating_sub(1));
        for (t, ray) in scratch.template.iter_mut().zip(scratch.rays.iter()) {
            let d = rot.mul_vec(*ray);
            let den = d.dot(n);
            if !(den < -1e-9) {
                return None;
            }
            let along = (p0 - position).dot(n) / den;
            if !(along > 0.0) {
                return None;
            }
            let x = position + d * along;
            let [pu, pv] = pixel_of(camera, &prev.pose, x)?;
            *t = prev.pyramid.sample(m, pu, pv)?;
        }
        let tv = ImageView::packed(&scratch.template, REG, REG).ok()?;
        let scores = scratch.scores.get_mut(..placements)?;
        let p = ncc::search(&tv, window, scores, &NccConfig::default()).ok()?;
        (!p.on_border).then_some((p.score, [p.x, p.y]))
    };
    // Coarse rungs three steps apart over the range, then the five fine rungs around the
    // best of them: the score falls off smoothly with the scale's error, so the fine
    // optimum lies within half a coarse step of the best coarse rung.
    let coarse = step * step * step;
    let mut best: Option<(f64, f32, [f32; 2])> = None;
    let mut h = lo;
    let mut rungs = 0;
    while h <= hi * (1.0 + 1e-9) && rungs < MAX_ALTITUDES {
        if let Some((score, peak)) = rung(h)
            && best.is_none_or(|b| score > b.1)
        {
            best = Some((h, score, peak));
        }
        h *= coarse;
        rungs += 1;
    }
    let (h_coarse, _, _) = best?;
    let mut fine = [None; 5];
    for (j, f) in fine.iter_mut().enumerate() {
        let h = h_coarse * math::exp((j as f64 - 2.0) * math::ln(step));
        *f = rung(h).map(|(score, peak)| (h, score, peak));
    }
    let (ib, (mut h_best, score, peak)) = fine
        .iter()
        .enumerate()
        .filter_map(|(j, f)| f.map(|f| (j, f)))
        .max_by(|a, b| a.1.1.total_cmp(&b.1.1))?;
    // Sub-step altitude: a parabola through the scores at the neighbouring rungs (in log h).
    let neighbour = |j: Option<usize>| j.and_then(|j| fine.get(j).copied().flatten()).map(|f| f.1);
    if let (Some(a), Some(c)) = (neighbour(ib.checked_sub(1)), neighbour(Some(ib + 1))) {
        let (a, b, c) = (f64::from(a), f64::from(score), f64::from(c));
        let den = a - 2.0 * b + c;
        if den < 0.0 {
            let off = (0.5 * (a - c) / den).clamp(-0.5, 0.5);
            h_best *= math::exp(off * math::ln(step));
        }
    }
    Some(Rung {
        h: h_best,
        plane,
        score,
        peak,
        centre,
    })
}

/// Places features of the previous frame on the ground: the most textured pixel of each
/// cell of a `grid x grid` partition of the box `[c0, c1] x [r0, r1]` (level-0 pixels).
fn place_features(
    prev: &PreviousFrame<'_>,
    box_px: [f64; 4],
    camera: &Camera,
    dem: &Heightfield<'_>,
    cfg: &TrackConfig,
    s: &mut TrackScratch,
) -> Option<()> {
    let l0 = prev.pyramid.level(0)?;
    let margin = (HALF + 2) as f64;
    let c0 = box_px[0].max(margin);
    let r0 = box_px[1].max(margin);
    let c1 = box_px[2].min(l0.width as f64 - 1.0 - margin);
    let r1 = box_px[3].min(l0.height as f64 - 1.0 - margin);
    let grid = cfg.grid.clamp(1, MAX_GRID);
    let (cw, ch) = ((c1 - c0) / grid as f64, (r1 - r0) / grid as f64);
    if !(cw >= 4.0 && ch >= 4.0) {
        return None;
    }
    let rot = prev.pose.attitude.to_mat3();
    let at = |c: usize, r: usize| l0.data.get(r * l0.width + c).copied().unwrap_or(0.0);
    s.n_features = 0;
    for gy in 0..grid {
        for gx in 0..grid {
            let (xa, ya) = (
                (c0 + gx as f64 * cw) as usize,
                (r0 + gy as f64 * ch) as usize,
            );
            let (xb, yb) = (
                (c0 + (gx + 1) as f64 * cw) as usize,
                (r0 + (gy + 1) as f64 * ch) as usize,
            );
            let mut best = (0.0f32, xa, ya);
            for y in (ya..yb).step_by(2) {
                for x in (xa..xb).step_by(2) {
                    let gxv = at(x + 1, y) - at(x - 1, y);
                    let gyv = at(x, y + 1) - at(x, y - 1);
                    let e = gxv * gxv + gyv * gyv;
                    if e > best.0 {
                        best = (e, x, y);
                    }
                }
            }
            let (_, px, py) = best;
            let Ok(ray) = camera.unproject(px as f64, py as f64) else {
                continue;
            };
            let Ok(hit) = dem.ray_cast(prev.pose.position, rot.mul_vec(ray), 1e6) else {
                continue;
            };
            let k = s.n_features;
            if let (Some(p), Some(w), Some(n)) = (
                s.prev_px.get_mut(k),
                s.world.get_mut(k),
                s.normal.get_mut(k),
            ) {
                *p = [px as f64, py as f64];
                *w = hit.point;
                *n = hit.normal;
                s.n_features += 1;
            }
        }
    }
    Some(())
}

/// The box of the previous frame (level-0 pixels) that a camera at `guess` sees, through
/// the plane under the previous boresight.
fn shared_box(
    prev: &PreviousFrame<'_>,
    guess: &Pose,
    camera: &Camera,
    dem: &Heightfield<'_>,
) -> Option<[f64; 4]> {
    let (_, ground) = ground_below(&prev.pose, dem)?;
    let up = Vec3::new(0.0, 0.0, 1.0);
    let (w, h) = (f64::from(camera.width()), f64::from(camera.height()));
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for (u, v) in [
        (0.0, 0.0),
        (w - 1.0, 0.0),
        (0.0, h - 1.0),
        (w - 1.0, h - 1.0),
    ] {
        let x = on_plane(camera, guess, u, v, ground, up)?;
        let [pu, pv] = pixel_of(camera, &prev.pose, x)?;
        b = [b[0].min(pu), b[1].min(pv), b[2].max(pu), b[3].max(pv)];
    }
    Some(b)
}

/// Matches the placed features into `frame` with windows of half-width `search_px` (level-0
/// pixels) around where `guess` puts them; the correspondences go to the scratch. Returns
/// the coarsest matching level's scale.
fn match_features(
    prev: &PreviousFrame<'_>,
    frame: &Pyramid<'_>,
    guess: &Pose,
    search_px: usize,
    camera: &Camera,
    cfg: &TrackConfig,
    s: &mut TrackScratch,
) -> f64 {
    let mut tpl = [0.0f32; PATCH * PATCH];
    let mut scores = [0.0f32; (2 * MAX_SEARCH_PX + 1) * (2 * MAX_SEARCH_PX + 1)];
    let mut coarsest = 1.0f64;
    s.n_matches = 0;
    for f in 0..s.n_features {
        let (Some(&p), Some(&x), Some(&n)) = (s.prev_px.get(f), s.world.get(f), s.normal.get(f))
        else {
            continue;
        };
        let Some([u, v]) = pixel_of(camera, guess, x) else {
            continue;
        };
        // Previous-frame pixels per current pixel, from the local plane's mapping.
        let step = HALF as f64;
        let map = |du: f64, dv: f64| {
            on_plane(camera, guess, u + du, v + dv, x, n)
                .and_then(|g| pixel_of(camera, &prev.pose, g))
        };
        let (Some(q0), Some(qx), Some(qy)) = (map(0.0, 0.0), map(step, 0.0), map(0.0, step)) else {
            continue;
        };
        let a = [
            [(qx[0] - q0[0]) / step, (qy[0] - q0[0]) / step],
            [(qx[1] - q0[1]) / step, (qy[1] - q0[1]) / step],
        ];
        let det = math::abs(a[0][0] * a[1][1] - a[0][1] * a[1][0]);
        if !(det > 1e-6) {
            continue;
        }
        // The level where a current pixel covers about one previous pixel.
        let per = math::sqrt(det);
        let k = octave(1.0 / per).min(frame.len().saturating_sub(1));
        let sc = f64::from(1u32 << k.min(31));
        let Some(lvl) = frame.level(k) else {
            continue;
        };
        let r = math::ceil(search_px as f64 / sc).max(2.0) as usize;
        if r > MAX_SEARCH_PX {
            continue;
        }
        let wside = PATCH + 2 * r;
        let (uc, vc) = (
            math::floor(u / sc + 0.5) as i64,
            math::floor(v / sc + 0.5) as i64,
        );
        let (l, t) = (uc - (HALF + r) as i64, vc - (HALF + r) as i64);
        if l < 0 || t < 0 || l as usize + wside > lvl.width || t as usize + wside > lvl.height {
            continue;
        }
        // The previous frame at the level where its pixels match the template's.
        let m = octave(per * sc).min(prev.pyramid.len().saturating_sub(1));
        if !fill_template(prev, m, p, a, sc, &mut tpl) {
            continue;
        }
        // The window is a view of the level, rows `lvl.width` apart.
        let start = t as usize * lvl.width + l as usize;
        let (Ok(tv), Some(wdata)) = (ImageView::packed(&tpl, PATCH, PATCH), lvl.data.get(start..))
        else {
            continue;
        };
        let Ok(wv) = ImageView::new(wdata, wside, wside, lvl.width) else {
            continue;
        };
        let n_out = (2 * r + 1) * (2 * r + 1);
        let Some(sb) = scores.get_mut(..n_out) else {
            continue;
        };
        let Ok(peak) = ncc::search(&tv, &wv, sb, &NccConfig::default()) else {
            continue;
        };
        if peak.on_border || peak.score < cfg.min_score || peak.ratio < cfg.min_ratio {
            continue;
        }
        let (mu, mv) = (
            sc * (l as f64 + f64::from(peak.x)),
            sc * (t as f64 + f64::from(peak.y)),
        );
        let Ok(nrm) = camera.pixel_to_normalized(mu, mv) else {
            continue;
        };
        let m = s.n_matches;
        if let (Some(im), Some(px), Some(ix), Some(pt)) = (
            s.image.get_mut(m),
            s.pixel.get_mut(m),
            s.index.get_mut(m),
            s.points.get_mut(m),
        ) {
            *im = nrm;
            *px = [mu, mv];
            *ix = f;
            *pt = x;
            s.n_matches += 1;
            coarsest = coarsest.max(sc);
        }
    }
    coarsest
}

/// The previous frame's patch around `p` seen through the affine map `a` (previous
/// level-0 pixels per current level-0 pixel) at a current pixel size of `sc`, sampled from
/// its level `m`; false when it leaves the previous frame.
fn fill_template(
    prev: &PreviousFrame<'_>,
    m: usize,
    p: [f64; 2],
    a: [[f64; 2]; 2],
    sc: f64,
    out: &mut [f32; PATCH * PATCH],
) -> bool {
    for (idx, o) in out.iter_mut().enumerate() {
        let (i, j) = (
            (idx / PATCH) as f64 - HALF as f64,
            (idx % PATCH) as f64 - HALF as f64,
        );
        let (du, dv) = (sc * j, sc * i);
        let pu = p[0] + a[0][0] * du + a[0][1] * dv;
        let pv = p[1] + a[1][0] * du + a[1][1] * dv;
        match prev.pyramid.sample(m, pu, pv) {
            Some(v) => *o = v,
            None => return false,
        }
    }
    true
}

fn ransac(
    camera: &Camera,
    cfg: &TrackConfig,
    level_scale: f64,
    attitude: Option<AttitudePrior>,
) -> RansacConfig {
    let (fx, fy) = camera.focal();
    let mut rc = RansacConfig::new(0.5 * (fx + fy));
    rc.threshold_px = cfg.threshold_px * level_scale;
    rc.min_inliers = cfg.min_inliers.max(6);
    rc.attitude_prior = attitude;
    rc
}

fn solve(
    camera: &Camera,
    cfg: &TrackConfig,
    level_scale: f64,
    attitude: Option<AttitudePrior>,
    s: &mut TrackScratch,
) -> Option<PoseEstimate> {
    let n = s.n_matches;
    if n < cfg.min_inliers.max(6) {
        return None;
    }
    let rc = ransac(camera, cfg, level_scale, attitude);
    estimate_pose(
        s.image.get(..n)?,
        s.points.get(..n)?,
        s.mask.get_mut(..n)?,
        &rc,
    )
    .ok()
}

/// The current frame's pose from features of the previous frame: placed on the DEM by its
/// pose, matched around where `guess` puts them (half-width [`TrackConfig::search_px`]),
/// solved with P3P LO-RANSAC, then matched again within [`TrackConfig::refine_px`] of that
/// pose and solved again. The estimate's covariance is the tracking's alone; see
/// [`inherited_covariance`] for what the points carry.
///
/// `attitude`, an independent attitude measurement (the inertial one), is fused into the
/// pose as the map's fixes fuse it: low over flat ground a shift of the tracked points and
/// a tilt of the camera look alike, and the inertial attitude tells them apart.
///
/// `None` when too few features are placed, matched or kept.
#[must_use]
#[allow(clippy::too_many_arguments)]
pub fn track_pose(
    prev: &PreviousFrame<'_>,
    frame: &Pyramid<'_>,
    guess: &Pose,
    attitude: Option<AttitudePrior>,
    camera: &Camera,
    dem: &Heightfield<'_>,
    cfg: &TrackConfig,
    scratch: &mut TrackScratch,
) -> Option<Tracked> {
    scratch.n_features = 0;
    scratch.n_matches = 0;
    scratch.generation = scratch.generation.wrapping_add(1);
    let b = shared_box(prev, guess, camera, dem)?;
    place_features(prev, b, camera, dem, cfg, scratch)?;
    let sc = match_features(prev, frame, guess, cfg.search_px, camera, cfg, scratch);
    let first = solve(camera, cfg, sc, attitude, scratch)?;
    let sc = match_features(
        prev,
        frame,
        &first.pose,
        cfg.refine_px,
        camera,
        cfg,
        scratch,
    );
    let estimate = solve(camera, cfg, sc, attitude, scratch)?;
    Some(Tracked {
        estimate,
        found: scratch.n_matches,
        level_scale: sc,
        attitude,
        generation: scratch.generation,
    })
}

/// What a tracked pose inherits from its 3-D points, as two covariances.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Inherited {
    /// The previous pose's covariance carried through the re-solved pose: common to the
    /// previous fix and this pose, so it cancels in their difference.
    pub previous: Mat6,
    /// The DEM's height error under the points: the tracked pose has it relative to the
    /// previous fix too.
    pub dem: Mat6,
}

/// The covariance the tracked pose `tracked` inherits from its 3-D points: the previous
/// pose's (its covariance carried through the re-solved pose) and the DEM's height error
/// `dem_sigma_m`, independent at each point and in three modes common to all of them (an
/// offset, and a tilt along each axis reaching one sigma at the points' RMS distance from
/// their centre): an overbound of the DEM's errors correlated over the footprint. Uses the
/// inliers `tracked`'s [`track_pose`] left in `scratch`, once.
///
/// `None` when `scratch` no longer holds them (another [`track_pose`] or
/// `inherited_covariance` ran since), a perturbed point cannot be placed or a re-solve
/// fails.
#[must_use]
pub fn inherited_covariance(
    prev: &PreviousFrame<'_>,
    tracked: &Tracked,
    camera: &Camera,
    dem: &Heightfield<'_>,
    dem_sigma_m: f64,
    cfg: &TrackConfig,
    scratch: &mut TrackScratch,
) -> Option<Inherited> {
    let s = scratch;
    if s.generation != tracked.generation {
        return None;
    }
    // The scratch is about to be compacted: it serves this call only.
    s.generation = s.generation.wrapping_add(1);
    // Keep the inliers, compacted.
    let mut n = 0;
    for m in 0..s.n_matches {
        if s.mask.get(m).copied() != Some(true) {
            continue;
        }
        let (img, idx) = (*s.image.get(m)?, *s.index.get(m)?);
        *s.image.get_mut(n)? = img;
        *s.index.get_mut(n)? = idx;
        *s.points.get_mut(n)? = *s.world.get(idx)?;
        *s.mask.get_mut(n)? = true;
        n += 1;
    }
    s.n_matches = n;
    let rc = ransac(camera, cfg, tracked.level_scale, tracked.attitude);
    // Differences are taken against the same data re-solved without perturbation: the
    // re-solve's weighting of a fused attitude (from the residuals at its start) need not
    // be the estimate's, and that offset must not enter every column.
    let base = refine_pose(
        &tracked.estimate.pose,
        s.image.get(..n)?,
        s.points.get(..n)?,
        &rc,
    )
    .ok()?;
    let start = tracked.estimate.pose;
    let delta = |p: &Pose| -> [f64; 6] {
        let dp = p.position - base.position;
        let da = base
            .attitude
            .conjugate()
            .mul_quat(p.attitude)
            .to_rotation_vector();
        [dp.x, dp.y, dp.z, da.x, da.y, da.z]
    };
    // The previous pose: one column per axis, by finite differences (none to carry when
    // its covariance is zero, as for velocity, where it cancels).
    let mut jac = [[0.0f64; 6]; 6];
    let mut world = [Vec3::ZERO; MAX_FEATURES];
    let carried = prev.covariance.iter().flatten().any(|c| *c != 0.0);
    for axis in (0..6).filter(|_| carried) {
        let eps = if axis < 3 { 0.05 } else { 5e-5 };
        let mut e = [0.0; 3];
        *e.get_mut(axis % 3)? = eps;
        let ev = Vec3::new(e[0], e[1], e[2]);
        let moved = if axis < 3 {
            Pose::new(prev.pose.position + ev, prev.pose.attitude)
        } else {
            Pose::new(
                prev.pose.position,
                prev.pose
                    .attitude
                    .mul_quat(crate::linalg::Quat::from_rotation_vector(ev)),
            )
        };
        let rot = moved.attitude.to_mat3();
        for k in 0..n {
            let idx = *s.index.get(k)?;
            let [pu, pv] = *s.prev_px.get(idx)?;
            let ray = camera.unproject(pu, pv).ok()?;
            *world.get_mut(k)? = dem
                .ray_cast(moved.position, rot.mul_vec(ray), 1e6)
                .ok()?
                .point;
        }
        let p = refine_pose(&start, s.image.get(..n)?, world.get(..n)?, &rc).ok()?;
        for (row, d) in jac.iter_mut().zip(delta(&p)) {
            *row.get_mut(axis)? = d / eps;
        }
    }
    let previous = sandwich(&jac, &prev.covariance);
    let mut cov = [[0.0f64; 6]; 6];
    // The DEM: each point moved along its ray by one sigma of terrain height, one point at
    // a time (the columns); the DEM's error is then modelled as independent at each point
    // plus three modes common to all of them, each of one sigma: an offset, and a tilt
    // along each axis reaching one sigma at the points' RMS distance from their centre (a
    // crater or slope the DEM lacks under a small footprint tilts the whole point cloud,
    // which reads as attitude). By linearity a mode's effect is its weighted sum of columns.
    if dem_sigma_m > 0.0 {
        let rot = prev.pose.attitude.to_mat3();
        let mut cols = [[0.0f64; 6]; MAX_FEATURES];
        for k in 0..n {
            let points = s.points.get(..n)?;
            world.get_mut(..n)?.copy_from_slice(points);
            let idx = *s.index.get(k)?;
            let [pu, pv] = *s.prev_px.get(idx)?;
            let d = rot.mul_vec(camera.unproject(pu, pv).ok()?);
            let nrm = *s.normal.get(idx)?;
            let along = math::abs(d.dot(nrm));
            if !(along > 1e-3) {
                return None;
            }
            *world.get_mut(k)? = *points.get(k)? + d * (dem_sigma_m * math::abs(nrm.z) / along);
            let p = refine_pose(&start, s.image.get(..n)?, world.get(..n)?, &rc).ok()?;
            let col = delta(&p);
            add_outer(&mut cov, &col);
            *cols.get_mut(k)? = col;
        }
        let points = s.points.get(..n)?;
        let cols = cols.get(..n)?;
        let count = n as f64;
        let (mut cx, mut cy) = (0.0, 0.0);
        for p in points {
            cx += p.x / count;
            cy += p.y / count;
        }
        let (mut rx, mut ry) = (0.0, 0.0);
        for p in points {
            rx += (p.x - cx) * (p.x - cx) / count;
            ry += (p.y - cy) * (p.y - cy) / count;
        }
        let (rx, ry) = (math::sqrt(rx).max(1e-6), math::sqrt(ry).max(1e-6));
        let modes: [&dyn Fn(&Vec3) -> f64; 3] =
            [&|_| 1.0, &|p: &Vec3| (p.x - cx) / rx, &|p: &Vec3| {
                (p.y - cy) / ry
            }];
        for mode in modes {
            let mut sum = [0.0f64; 6];
            for (p, col) in points.iter().zip(cols) {
                let w = mode(p);
                for (acc, c) in sum.iter_mut().zip(col) {
                    *acc += w * c;
                }
            }
            add_outer(&mut cov, &sum);
        }
    }
    Some(Inherited { previous, dem: cov })
}

/// `J C J^T`.
#[allow(clippy::indexing_slicing)] // Every index is below 6 by the loop bounds over 6x6 arrays.
fn sandwich(j: &Mat6, c: &Mat6) -> Mat6 {
    let mut out = [[0.0f64; 6]; 6];
    for r in 0..6 {
        for s in 0..6 {
            let mut acc = 0.0;
            for a in 0..6 {
                for b in 0..6 {
                    acc += j[r][a] * c[a][b] * j[s][b];
                }
            }
            out[r][s] = acc;
        }
    }
    out
}

/// `m += v v^T`.
fn add_outer(m: &mut Mat6, v: &[f64; 6]) {
    for (row, a) in m.iter_mut().zip(v) {
        for (x, b) in row.iter_mut().zip(v) {
            *x += a * b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::Distortion;
    use crate::dem::Grid;
    use crate::linalg::Quat;
    extern crate std;
    use std::vec::Vec;

    /// On ground tilted 0.3 in x and raised 20 m, the plane a template sees is found on its
    /// ray, at the ground's height and with the ground's normal, wherever it looks.
    #[test]
    fn seen_plane_is_the_ground_on_the_ray() {
        let grid = Grid {
            width: 81,
            height: 81,
            stride: 81,
            x0: -200.0,
            y0: 200.0,
            dx: 5.0,
            dy: -5.0,
            radius: 1_737_400.0,
        };
        let data: Vec<f32> = (0..81 * 81)
            .map(|i| (20.0 + 0.3 * (grid.x0 + grid.dx * (i % 81) as f64)) as f32)
            .collect();
        let dem = Heightfield::new(&data, grid, None).unwrap();
        let camera =
            Camera::new(512, 512, 600.0, 600.0, 255.5, 255.5, Distortion::default()).unwrap();
        // Nadir, a little turned.
        let attitude = Quat::from_rotation_vector(Vec3::new(core::f64::consts::PI, 0.0, 0.0))
            .mul_quat(Quat::from_rotation_vector(Vec3::new(0.05, -0.08, 0.3)));
        let pose = Pose::new(Vec3::new(10.0, -5.0, 120.0), attitude);
        let want_n = Vec3::new(-0.3, 0.0, 1.0) * (1.0 / 1.09f64.sqrt());
        for (u, v) in [(255.5, 255.5), (380.0, 120.0), (60.0, 400.0)] {
            let (p0, n) = seen_plane(&camera, &pose, (u, v), 120.0, &dem).unwrap();
            let [pu, pv] = pixel_of(&camera, &pose, p0).unwrap();
            assert!((pu - u).abs() < 1e-3 && (pv - v).abs() < 1e-3, "{pu} {pv}");
            let ground = dem.height_of(p0);
            assert!((ground - (20.0 + 0.3 * p0.x)).abs() < 0.02, "{p0:?}");
            assert!((n - want_n).norm() < 1e-3, "{n:?}");
        }
        // Looking off the DEM: no plane.
        let away = Pose::new(Vec3::new(0.0, 0.0, 120.0), Quat::IDENTITY);
        assert!(seen_plane(&camera, &away, (255.5, 255.5), 120.0, &dem).is_none());
    }
}
