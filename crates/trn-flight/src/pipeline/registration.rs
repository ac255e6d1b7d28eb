//! The map's registration error carried into a fix's covariance.
//!
//! A map made from orbital products is registered to the body (and its orthoimage to its
//! DEM) only to some accuracy: the whole map may be offset, turned and scaled. Every
//! landmark shares that error, so a fix's residuals cannot show it, and through a narrow
//! view of gentle terrain a metre of it can move the pose by many metres along the
//! ambiguity between tilting and translating the camera. So the error is propagated as
//! four modes of the landmarks' horizontal positions, each of 1-sigma
//! `registration_sigma_m` (the setting of [`super::NavConfig::registration_sigma_m`] and
//! the map database): an offset along each site axis, and a rotation and a scale about
//! the inliers' centre that move them by that sigma at their RMS distance from it. Each
//! mode's effect on the pose comes from re-solving with the landmarks moved
//! ([`refine_pose`]); the sum of their outer products is the covariance added.

use crate::linalg::{Mat6, Vec3};
use crate::math;
use crate::pose::Pose;
use crate::robust::{RansacConfig, refine_pose};

/// Iterations of each re-solve.
const RESOLVE_ITERATIONS: u32 = 3;

/// The covariance a map registration error of 1-sigma `sigma_m` adds to the pose `pose`
/// solved from `image` (normalised points) and `world`, whose inliers `mask` marks
/// (`perturbed` is scratch of at least `world`'s length). Zero when `sigma_m` is zero;
/// `None` when the inputs disagree in length, there are fewer than three inliers, or a
/// re-solve fails.
pub(super) fn registration_covariance(
    pose: &Pose,
    image: &[[f64; 2]],
    world: &[Vec3],
    mask: &[bool],
    perturbed: &mut [Vec3],
    rc: &RansacConfig,
    sigma_m: f64,
) -> Option<Mat6> {
    if !(sigma_m > 0.0) {
        return (sigma_m == 0.0).then_some(Mat6::ZERO);
    }
    let n = world.len();
    if image.len() != n || mask.len() != n {
        return None;
    }
    let perturbed = perturbed.get_mut(..n)?;
    // The inliers' centre and RMS horizontal distance from it.
    let (mut cx, mut cy, mut count) = (0.0, 0.0, 0.0);
    for (p, _) in world.iter().zip(mask).filter(|(_, m)| **m) {
        cx += p.x;
        cy += p.y;
        count += 1.0;
    }
    if count < 3.0 {
        return None;
    }
    (cx, cy) = (cx / count, cy / count);
    let mut r2 = 0.0;
    for (p, _) in world.iter().zip(mask).filter(|(_, m)| **m) {
        r2 += ((p.x - cx) * (p.x - cx) + (p.y - cy) * (p.y - cy)) / count;
    }
    let rho = math::sqrt(r2);
    if !(rho > 0.0) {
        return None;
    }
    // Differences are taken against the same data re-solved unperturbed, so that the
    // re-solve's own offset from the estimate enters no column. The pose is the solution of
    // the unperturbed data, so a few iterations reach a perturbed one's: the response is
    // linear in a registration error of metres.
    let rc = &RansacConfig {
        refine_iterations: rc.refine_iterations.min(RESOLVE_ITERATIONS),
        ..*rc
    };
    let base = refine_pose(pose, image, world, rc).ok()?;
    let k = sigma_m / rho;
    let modes: [&dyn Fn(&Vec3) -> Vec3; 4] = [
        &|_| Vec3::new(sigma_m, 0.0, 0.0),
        &|_| Vec3::new(0.0, sigma_m, 0.0),
        &|p| Vec3::new(-k * (p.y - cy), k * (p.x - cx), 0.0),
        &|p| Vec3::new(k * (p.x - cx), k * (p.y - cy), 0.0),
    ];
    let mut cov = Mat6::ZERO;
    for mode in modes {
        for (q, p) in perturbed.iter_mut().zip(world) {
            *q = *p + mode(p);
        }
        let moved = refine_pose(pose, image, perturbed, rc).ok()?;
        cov.add_outer(&moved.delta_from(&base));
    }
    Some(cov)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Quat;
    use crate::rng::Pcg32;
    extern crate std;
    use std::vec::Vec;

    /// A camera `alt_m` above gentle terrain looking down, tilted 10 degrees, and 120
    /// landmarks over its view (a 40 degree field), with their normalised image points.
    fn scene(alt_m: f64) -> (Pose, Vec<[f64; 2]>, Vec<Vec3>) {
        let down = Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), core::f64::consts::PI);
        let tilt = Quat::from_axis_angle(Vec3::new(0.0, 1.0, 0.0), 10f64.to_radians());
        let pose = Pose::new(Vec3::new(100.0, -50.0, alt_m), tilt.mul_quat(down));
        let mut rng = Pcg32::new(3, 7);
        let (mut image, mut world) = (Vec::new(), Vec::new());
        let rot = pose.attitude.to_mat3();
        let half = 20f64.to_radians().tan();
        while world.len() < 120 {
            let (u, v) = (
                half * (2.0 * rng.next_f64() - 1.0),
                half * (2.0 * rng.next_f64() - 1.0),
            );
            let d = rot.mul_vec(Vec3::new(u, v, 1.0));
            // Gentle terrain: the plane z = 0 with a low swell.
            let t = -pose.position.z / d.z;
            let mut p = pose.position + d * t;
            p.z = 0.01 * alt_m * (p.x / alt_m).sin();
            let c = rot.transpose().mul_vec(p - pose.position);
            image.push([c.x / c.z, c.y / c.z]);
            world.push(p);
        }
        (pose, image, world)
    }

    fn config() -> RansacConfig {
        RansacConfig::new(1000.0)
    }

    /// The covariance is zero without a registration error and grows with its square.
    #[test]
    fn grows_with_the_registration_sigma() {
        let (pose, image, world) = scene(2000.0);
        let mask = std::vec![true; world.len()];
        let mut scratch = std::vec![Vec3::ZERO; world.len()];
        let rc = config();
        let mut cov = |s| {
            registration_covariance(&pose, &image, &world, &mask, &mut scratch, &rc, s).unwrap()
        };
        assert!(cov(0.0).is_zero());
        let (a, b) = (cov(1.0).diagonal(), cov(2.0).diagonal());
        for (i, (a, b)) in a.iter().zip(b).enumerate() {
            assert!(*a > 0.0, "axis {i}: {a}");
            assert!((b / a - 4.0).abs() < 0.05, "axis {i}: {a} then {b}");
        }
        // The offsets alone move the camera by at least the sigma horizontally.
        assert!(a[0] >= 1.0 && a[1] >= 1.0, "{a:?}");
        assert!(
            registration_covariance(&pose, &image, &world, &mask, &mut scratch, &rc, -1.0)
                .is_none()
        );
    }

    /// Maps misregistered by random offsets, rotations and scales of that sigma give poses
    /// whose errors the covariance states: on every axis the mean squared error is its
    /// variance.
    #[test]
    fn states_the_pose_errors_of_misregistered_maps() {
        let (pose, image, world) = scene(3000.0);
        let mask = std::vec![true; world.len()];
        let mut scratch = std::vec![Vec3::ZERO; world.len()];
        let rc = config();
        let sigma = 5.0;
        let cov = registration_covariance(&pose, &image, &world, &mask, &mut scratch, &rc, sigma)
            .unwrap()
            .diagonal();
        let base = refine_pose(&pose, &image, &world, &rc).unwrap();
        let n = world.len() as f64;
        let (cx, cy) = (
            world.iter().map(|p| p.x).sum::<f64>() / n,
            world.iter().map(|p| p.y).sum::<f64>() / n,
        );
        let rho = (world
            .iter()
            .map(|p| (p.x - cx) * (p.x - cx) + (p.y - cy) * (p.y - cy))
            .sum::<f64>()
            / n)
            .sqrt();
        let mut rng = Pcg32::new(9, 2);
        let (mut sum, trials) = ([0.0; 6], 400);
        for _ in 0..trials {
            let (dx, dy) = (sigma * rng.normal(), sigma * rng.normal());
            let (th, sc) = (sigma / rho * rng.normal(), sigma / rho * rng.normal());
            let moved: Vec<Vec3> = world
                .iter()
                .map(|p| {
                    let (x, y) = (p.x - cx, p.y - cy);
                    Vec3::new(p.x + dx - th * y + sc * x, p.y + dy + th * x + sc * y, p.z)
                })
                .collect();
            let p = refine_pose(&pose, &image, &moved, &rc).unwrap();
            for (s, e) in sum.iter_mut().zip(p.delta_from(&base)) {
                *s += e * e / f64::from(trials);
            }
        }
        for (i, (s, c)) in sum.iter().zip(cov).enumerate() {
            assert!(
                (s / c - 1.0).abs() < 0.25,
                "axis {i}: mean square {s} vs variance {c}"
            );
        }
    }
}
