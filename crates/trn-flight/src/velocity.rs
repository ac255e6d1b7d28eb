//! Velocity from features tracked between consecutive frames.
//!
//! The tracker ([`crate::track::track_pose`]) places features of the previous fixed frame
//! on the DEM from that frame's fix, finds them again around where the current fix projects
//! them, and solves the current camera position from those 3-D points. Because the points
//! inherit the previous fix's error, that error cancels in the difference: the velocity's
//! uncertainty is the tracking's and the DEM's under the tracked points
//! ([`crate::track::inherited_covariance`] with the previous pose held exact), not two
//! independent fixes', which is what differencing fixes would give.

use crate::camera::Camera;
use crate::dem::Heightfield;
use crate::linalg::{Mat6, Vec3};
use crate::math;
use crate::pose::Pose;
use crate::pyramid::Pyramid;
use crate::track::{PreviousFrame, TrackConfig, TrackScratch, inherited_covariance, track_pose};

/// A velocity from features tracked since the previous frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackedVelocity {
    /// Site-frame velocity, m/s (mean over the interval).
    pub mps: Vec3,
    /// 1-sigma per axis, m/s.
    pub sigma_mps: [f64; 3],
    /// Features tracked and kept as inliers.
    pub inliers: usize,
    /// The interval, seconds.
    pub dt_s: f64,
}

/// Tracks features from `prev` into `frame` (the current frame's pyramid) whose fix is
/// `pose` at `time_s`, with windows `search_px` level-0 pixels wide either side of where
/// the fix puts them; `dem_sigma_m` is the DEM's height error under the points. No
/// allocation: the buffers are `scratch`.
///
/// `None` when the interval is not positive or tracking finds no pose.
#[must_use]
#[allow(clippy::too_many_arguments)]
pub fn track(
    prev: &PreviousFrame<'_>,
    frame: &Pyramid<'_>,
    pose: &Pose,
    time_s: f64,
    camera: &Camera,
    dem: &Heightfield<'_>,
    search_px: usize,
    dem_sigma_m: f64,
    scratch: &mut TrackScratch,
) -> Option<TrackedVelocity> {
    let dt = time_s - prev.time_s;
    if dt.is_nan() || dt <= 0.0 {
        return None;
    }
    let cfg = TrackConfig {
        search_px,
        min_inliers: 8,
        ..TrackConfig::default()
    };
    let t = track_pose(prev, frame, pose, None, camera, dem, &cfg, scratch)?;
    // The previous pose's error cancels in the difference; the DEM's does not.
    let exact = PreviousFrame {
        covariance: Mat6::ZERO,
        ..*prev
    };
    let d = inherited_covariance(&exact, &t, camera, dem, dem_sigma_m, &cfg, scratch)?.dem;
    let [c0, c1, c2, ..] = t.estimate.covariance.diagonal();
    let [d0, d1, d2, ..] = d.diagonal();
    let sigma = |c: f64, d: f64| math::sqrt((c + d).max(0.0)) / dt;
    Some(TrackedVelocity {
        mps: (t.estimate.pose.position - prev.pose.position) * (1.0 / dt),
        sigma_mps: [sigma(c0, d0), sigma(c1, d1), sigma(c2, d2)],
        inliers: t.estimate.inliers,
        dt_s: dt,
    })
}
