//! Velocity from features tracked between consecutive frames.
//!
//! trn-flight's tracker ([`trn_flight::track::track_pose`]) places features of the previous
//! fixed frame on the DEM from that frame's fix, finds them again around where the current
//! fix projects them, and solves the current camera position from those 3-D points.
//! Because the points inherit the previous fix's error, that error cancels in the
//! difference: the velocity's uncertainty is the tracking's and the DEM's under the tracked
//! points ([`trn_flight::track::inherited_covariance`] with the previous pose held exact),
//! not two independent fixes', which is what differencing fixes would give.

use trn_flight::Pose;
use trn_flight::Vec3;
use trn_flight::camera::Camera;
use trn_flight::dem::Heightfield;
use trn_flight::pyramid::Pyramid;
use trn_flight::track::{
    PreviousFrame, TrackConfig, TrackScratch, inherited_covariance, track_pose,
};

/// A velocity from tracking.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tracked {
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
) -> Option<Tracked> {
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
        covariance: trn_flight::Mat6::ZERO,
        ..*prev
    };
    let d = inherited_covariance(&exact, &t, camera, dem, dem_sigma_m, &cfg, scratch)?.dem;
    let c = &t.estimate.covariance;
    let sigma = |i: usize| (c[i][i] + d[i][i]).max(0.0).sqrt() / dt;
    Some(Tracked {
        mps: (t.estimate.pose.position - prev.pose.position) * (1.0 / dt),
        sigma_mps: [sigma(0), sigma(1), sigma(2)],
        inliers: t.estimate.inliers,
        dt_s: dt,
    })
}
