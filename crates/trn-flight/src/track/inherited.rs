//! What a tracked pose inherits from its 3-D points: the previous fix's error and the
//! DEM's, propagated by re-solving with each perturbed.

use super::pose::ransac;
use super::{FixedFrame, MAX_FEATURES, TrackConfig, TrackScratch, Tracked};
use crate::camera::Camera;
use crate::dem::Heightfield;
use crate::linalg::{Mat6, Quat, Vec3};
use crate::math;
use crate::pose::Pose;
use crate::robust::refine_pose;

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
///
/// [`track_pose`]: super::track_pose
#[must_use]
pub fn inherited_covariance(
    prev: &FixedFrame<'_>,
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
    let delta = |p: &Pose| p.delta_from(&base);
    // The previous pose: one column per axis, by finite differences (none to carry when
    // its covariance is zero, as for velocity, where it cancels).
    let mut jac = Mat6::ZERO;
    let mut world = [Vec3::ZERO; MAX_FEATURES];
    let carried = !prev.covariance.is_zero();
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
                prev.pose.attitude.mul_quat(Quat::from_rotation_vector(ev)),
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
        for (row, d) in jac.rows_mut().iter_mut().zip(delta(&p)) {
            *row.get_mut(axis)? = d / eps;
        }
    }
    let previous = prev.covariance.sandwich(&jac);
    let mut cov = Mat6::ZERO;
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
            cov.add_outer(&col);
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
            cov.add_outer(&sum);
        }
    }
    Some(Inherited { previous, dem: cov })
}
