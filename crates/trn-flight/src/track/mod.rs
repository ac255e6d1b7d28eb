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
//! One module per step: `register`, `features` (placing and matching) with `pose` (the
//! solves), `inherited`; this one holds the settings, the types and the shared geometry.
//!
//! ```
//! use trn_flight::track::{TrackConfig, TrackScratch};
//! let cfg = TrackConfig::default();
//! assert!(cfg.grid * cfg.grid <= trn_flight::track::MAX_FEATURES);
//! let scratch = TrackScratch::new();
//! assert_eq!(scratch.features(), 0);
//! ```

mod features;
mod inherited;
mod pose;
mod register;

pub use inherited::{Inherited, inherited_covariance};
pub use pose::track_pose;
pub use register::register;

use crate::camera::Camera;
use crate::dem::Heightfield;
use crate::linalg::{Mat6, Vec3};
use crate::math;
use crate::ncc;
use crate::pose::Pose;
use crate::pyramid::Pyramid;
use crate::robust::{AttitudePrior, PoseEstimate};

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

/// Side of a tracked feature's patch, pixels of the matching level.
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
pub struct FixedFrame<'a> {
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
