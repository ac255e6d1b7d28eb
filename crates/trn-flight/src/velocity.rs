//! Velocity over the interval between two consecutive fixed frames: from features tracked
//! between them ([`track`]), or from the difference of their fixes ([`from_fixes`]).
//!
//! The tracker ([`crate::track::track_pose`]) places features of the previous fixed frame
//! on the DEM from that frame's fix, finds them again around where the current fix projects
//! them, and solves the current camera position from those 3-D points. Because the points
//! inherit the previous fix's error, that error cancels in the difference: the velocity's
//! uncertainty is the tracking's and the DEM's under the tracked points
//! ([`crate::track::inherited_covariance`] with the previous pose held exact), not two
//! independent fixes', which is what differencing fixes gives. Both estimates are unbiased;
//! [`FrameSequence`](crate::pipeline::FrameSequence) keeps the one with the smaller reported
//! spread ([`Velocity::spread`]): fusing them would need their correlation (both use the
//! current fix).

use crate::camera::Camera;
use crate::dem::Heightfield;
use crate::linalg::{Mat6, Vec3};
use crate::math;
use crate::pose::Pose;
use crate::pyramid::Pyramid;
use crate::track::{FixedFrame, TrackConfig, TrackScratch, inherited_covariance, track_pose};

/// Velocity over the interval since the previous frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Velocity {
    /// Site-frame velocity, m/s (the mean over the interval).
    pub mps: Vec3,
    /// 1-sigma per axis, m/s.
    pub sigma_mps: [f64; 3],
    /// The interval, seconds.
    pub dt_s: f64,
    /// Features tracked from the previous frame and kept as inliers when the velocity comes
    /// from tracking; 0 when it is the difference of the two fixes.
    pub tracked_features: usize,
}

impl Velocity {
    /// The sum of the per-axis variances, m^2/s^2: how two estimates are compared.
    #[must_use]
    pub fn spread(&self) -> f64 {
        self.sigma_mps.iter().map(|s| s * s).sum()
    }

    /// Of two estimates, the one with the smaller [`Velocity::spread`] (`a` on a tie).
    #[must_use]
    pub fn tighter(a: Option<Self>, b: Option<Self>) -> Option<Self> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if a.spread() <= b.spread() { a } else { b }),
            (a, b) => a.or(b),
        }
    }
}

/// The difference of two fixes: positions `p0` at `t0_s` and `p1` at `t1_s` with per-axis
/// 1-sigma `s0` and `s1`, taken as independent. `None` unless `t1_s > t0_s`.
#[must_use]
pub fn from_fixes(
    (p0, s0, t0_s): (Vec3, [f64; 3], f64),
    (p1, s1, t1_s): (Vec3, [f64; 3], f64),
) -> Option<Velocity> {
    if !(t1_s > t0_s) {
        return None;
    }
    let dt = t1_s - t0_s;
    let sigma = |i: usize| {
        let (a, b) = (
            s0.get(i).copied().unwrap_or(0.0),
            s1.get(i).copied().unwrap_or(0.0),
        );
        math::sqrt(a * a + b * b) / dt
    };
    Some(Velocity {
        mps: (p1 - p0) * (1.0 / dt),
        sigma_mps: [sigma(0), sigma(1), sigma(2)],
        dt_s: dt,
        tracked_features: 0,
    })
}

/// The velocity of a pose tracked from the previous fixed frame (a tracked fix): the
/// difference of the two poses over `dt_s`, with the covariance of that difference
/// (`relative`, which leaves out the previous fix's error common to both). `None` unless
/// `dt_s > 0`.
#[must_use]
pub fn from_tracked_fix(
    previous: Vec3,
    current: Vec3,
    relative: &Mat6,
    dt_s: f64,
    inliers: usize,
) -> Option<Velocity> {
    if !(dt_s > 0.0) {
        return None;
    }
    let [c0, c1, c2, ..] = relative.diagonal();
    Some(Velocity {
        mps: (current - previous) * (1.0 / dt_s),
        sigma_mps: [c0, c1, c2].map(|c| math::sqrt_clamped(c) / dt_s),
        dt_s,
        tracked_features: inliers,
    })
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
    prev: &FixedFrame<'_>,
    frame: &Pyramid<'_>,
    pose: &Pose,
    time_s: f64,
    camera: &Camera,
    dem: &Heightfield<'_>,
    search_px: usize,
    dem_sigma_m: f64,
    scratch: &mut TrackScratch,
) -> Option<Velocity> {
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
    let exact = FixedFrame {
        covariance: Mat6::ZERO,
        ..*prev
    };
    let d = inherited_covariance(&exact, &t, camera, dem, dem_sigma_m, &cfg, scratch)?.dem;
    let [c0, c1, c2, ..] = t.estimate.covariance.diagonal();
    let [d0, d1, d2, ..] = d.diagonal();
    let sigma = |c: f64, d: f64| math::sqrt((c + d).max(0.0)) / dt;
    Some(Velocity {
        mps: (t.estimate.pose.position - prev.pose.position) * (1.0 / dt),
        sigma_mps: [sigma(c0, d0), sigma(c1, d1), sigma(c2, d2)],
        dt_s: dt,
        tracked_features: t.estimate.inliers,
    })
}
