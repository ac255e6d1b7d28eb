//! The tracked pose: the placed features matched and solved, then matched again within a
//! few pixels of that pose and solved again.

use super::features::{match_features, place_features, shared_box};
use super::{FixedFrame, TrackConfig, TrackScratch, Tracked};
use crate::camera::Camera;
use crate::dem::Heightfield;
use crate::pose::Pose;
use crate::pyramid::Pyramid;
use crate::robust::{AttitudePrior, PoseEstimate, RansacConfig, estimate_pose};

pub(super) fn ransac(
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
///
/// [`inherited_covariance`]: super::inherited_covariance
#[must_use]
#[allow(clippy::too_many_arguments)]
pub fn track_pose(
    prev: &FixedFrame<'_>,
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
