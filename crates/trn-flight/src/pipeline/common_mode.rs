//! Errors common to every landmark of a fix, carried into its covariance: the map's
//! registration and the camera's intrinsics.
//!
//! A map made from orbital products is registered to the body (and its orthoimage to its
//! DEM) only to some accuracy: the whole map may be offset, turned and scaled. Every
//! landmark shares that error, so a fix's residuals cannot show it, and through a narrow
//! view of gentle terrain a metre of it can move the pose by many metres along the
//! ambiguity between tilting and translating the camera. So the error is propagated as
//! four modes of the landmarks' horizontal positions, each of 1-sigma
//! `registration_sigma_m` (the setting of [`super::NavConfig::registration_sigma_m`] and
//! the map database): an offset along each site axis, and a rotation and a scale about
//! the inliers' centre that move them by that sigma at their RMS distance from it.
//!
//! A camera's calibration is likewise known to some accuracy, and an error in it moves
//! every image point together: a focal length error scales them about the principal point
//! (which a narrow view reads as a change of range), a principal point error shifts them,
//! and a radial distortion error moves them by their squared radius. Each of the four is a
//! mode of the normalised image points ([`intrinsics_covariance`]).
//!
//! Each mode's effect on the pose comes from re-solving with the points moved
//! ([`refine_pose`]); the sum of their outer products is the covariance added. A mode is
//! applied at a fraction of its sigma small enough that the re-solve keeps every inlier
//! (no point moves by more than a tenth of the inlier threshold), and its response scaled
//! back: the response is linear in errors of this size, and a point moved beyond the
//! threshold would leave the re-solve and take its response with it.

use crate::camera::IntrinsicSigma;
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
    // As for the intrinsics: each mode applied at a fraction of its sigma that turns no
    // landmark's line of sight by more than a tenth of the inlier threshold, the response
    // scaled back.
    let reach = 0.1 * rc.threshold_px / rc.focal_px;
    let mut cov = Mat6::ZERO;
    for mode in modes {
        let mut largest: f64 = 0.0;
        for p in world {
            let range = (*p - pose.position).norm();
            if range > 0.0 {
                largest = largest.max(mode(p).norm() / range);
            }
        }
        let fraction = linear_fraction(largest, reach);
        for (q, p) in perturbed.iter_mut().zip(world) {
            *q = *p + mode(p) * fraction;
        }
        let moved = refine_pose(pose, image, perturbed, rc).ok()?;
        cov.add_outer(&scaled_back(&moved, &base, fraction));
    }
    Some(cov)
}

/// The fraction of a mode to apply so that its largest motion of a point stays within
/// `reach` (1 when it already does): the re-solve then keeps every inlier.
fn linear_fraction(largest: f64, reach: f64) -> f64 {
    if largest > reach {
        reach / largest
    } else {
        1.0
    }
}

/// The pose's response to a whole mode from its response to `fraction` of it.
fn scaled_back(moved: &Pose, base: &Pose, fraction: f64) -> [f64; 6] {
    moved.delta_from(base).map(|r| r / fraction)
}

/// One mode of an intrinsic error: where it moves a normalised image point.
type ImageMode<'a> = dyn Fn(&[f64; 2]) -> [f64; 2] + 'a;

/// The covariance camera intrinsic errors of 1-sigma `sigma` add to the pose `pose` solved
/// from `image` (normalised points of a camera of focal lengths `focal`, pixels) and
/// `world`, whose inliers `mask` marks (`perturbed` is scratch of at least `image`'s
/// length): one mode per intrinsic. Zero when every sigma is zero; `None` when a sigma is
/// negative or not finite, the inputs disagree in length, there are fewer than three
/// inliers, or a re-solve fails.
#[allow(clippy::too_many_arguments)]
pub(super) fn intrinsics_covariance(
    pose: &Pose,
    image: &[[f64; 2]],
    world: &[Vec3],
    mask: &[bool],
    perturbed: &mut [[f64; 2]],
    rc: &RansacConfig,
    sigma: &IntrinsicSigma,
    focal: (f64, f64),
) -> Option<Mat6> {
    if !(sigma.is_valid() && focal.0 > 0.0 && focal.1 > 0.0) {
        return None;
    }
    if sigma.is_zero() {
        return Some(Mat6::ZERO);
    }
    let n = image.len();
    if world.len() != n || mask.len() != n || mask.iter().filter(|m| **m).count() < 3 {
        return None;
    }
    let perturbed = perturbed.get_mut(..n)?;
    // Re-solved to convergence: a principal point error is a turn of the camera that a few
    // iterations along the tilt-translation ambiguity would take partly as a translation.
    let base = refine_pose(pose, image, world, rc).ok()?;
    // A point measured at pixel u is normalised with the stated intrinsics: a focal length
    // larger by s scales it by 1 + s/f, a principal point offset by d shifts it by -d/f,
    // and a k1 larger by k moves it by k r^2 (first order).
    let scale = 2.0 * sigma.focal_px / (focal.0 + focal.1);
    let (dx, dy) = (sigma.cx_px / focal.0, sigma.cy_px / focal.1);
    let k1 = sigma.k1;
    let modes: [(f64, &ImageMode<'_>); 4] = [
        (scale, &|p| [p[0] * (1.0 + scale), p[1] * (1.0 + scale)]),
        (dx, &|p| [p[0] + dx, p[1]]),
        (dy, &|p| [p[0], p[1] + dy]),
        (k1, &|p| {
            let r2 = p[0] * p[0] + p[1] * p[1];
            [p[0] * (1.0 + k1 * r2), p[1] * (1.0 + k1 * r2)]
        }),
    ];
    // Each mode is applied at a fraction of its sigma that moves no point by more than a
    // tenth of the inlier threshold (a point moved beyond it would leave the re-solve), and
    // the response scaled back: the pose's response is linear in errors of this size.
    let reach = 0.1 * rc.threshold_px / rc.focal_px;
    let mut cov = Mat6::ZERO;
    for (size, mode) in modes {
        if size == 0.0 {
            continue;
        }
        let mut largest: f64 = 0.0;
        for p in image {
            let q = mode(p);
            largest = largest.max(math::sqrt(
                (q[0] - p[0]) * (q[0] - p[0]) + (q[1] - p[1]) * (q[1] - p[1]),
            ));
        }
        let fraction = linear_fraction(largest, reach);
        for (q, p) in perturbed.iter_mut().zip(image) {
            let m = mode(p);
            *q = [
                p[0] + fraction * (m[0] - p[0]),
                p[1] + fraction * (m[1] - p[1]),
            ];
        }
        let moved = refine_pose(pose, perturbed, world, rc).ok()?;
        cov.add_outer(&scaled_back(&moved, &base, fraction));
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

    /// Low over the terrain, where the registration sigma (1 m at 300 m) moves the
    /// landmarks by more than the inlier threshold, the covariance is the one a threshold
    /// no error reaches gives (the modes are applied in part and scaled back).
    #[test]
    fn holds_where_the_sigma_exceeds_the_inlier_threshold() {
        let (pose, image, world) = scene(300.0);
        let mask = std::vec![true; world.len()];
        let mut scratch = std::vec![Vec3::ZERO; world.len()];
        let wide = RansacConfig {
            threshold_px: 1000.0,
            ..config()
        };
        let mut cov = |rc: &RansacConfig| {
            registration_covariance(&pose, &image, &world, &mask, &mut scratch, rc, 1.0)
                .unwrap()
                .diagonal()
        };
        let (narrow, wide) = (cov(&config()), cov(&wide));
        for (i, (n, w)) in narrow.iter().zip(wide).enumerate() {
            assert!(
                w > 0.0 && (n / w - 1.0).abs() < 0.05,
                "axis {i}: {n} vs {w}"
            );
        }
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

    /// Cameras miscalibrated by random focal lengths, principal points and k1 of the
    /// stated sigmas give poses whose errors the covariance states: on every axis with a
    /// response the mean squared error is its variance.
    #[test]
    fn states_the_pose_errors_of_miscalibrated_cameras() {
        let (pose, image, world) = scene(3000.0);
        let mask = std::vec![true; world.len()];
        let mut scratch = std::vec![[0.0; 2]; world.len()];
        // A threshold no drawn error reaches, so that every trial keeps every point.
        let rc = RansacConfig {
            threshold_px: 100.0,
            ..config()
        };
        let focal = (1000.0, 1000.0);
        let sigma = IntrinsicSigma {
            focal_px: 10.0,
            cx_px: 2.0,
            cy_px: 2.0,
            k1: 0.002,
        };
        let cov = intrinsics_covariance(
            &pose,
            &image,
            &world,
            &mask,
            &mut scratch,
            &rc,
            &sigma,
            focal,
        )
        .unwrap()
        .diagonal();
        let base = refine_pose(&pose, &image, &world, &rc).unwrap();
        let mut rng = Pcg32::new(5, 1);
        let (mut sum, trials) = ([0.0; 6], 400);
        for _ in 0..trials {
            let s = sigma.focal_px / focal.0 * rng.normal();
            let (dx, dy) = (
                sigma.cx_px / focal.0 * rng.normal(),
                sigma.cy_px / focal.1 * rng.normal(),
            );
            let k = sigma.k1 * rng.normal();
            let moved: Vec<[f64; 2]> = image
                .iter()
                .map(|p| {
                    let r2 = p[0] * p[0] + p[1] * p[1];
                    let g = (1.0 + s) * (1.0 + k * r2);
                    [p[0] * g + dx, p[1] * g + dy]
                })
                .collect();
            let p = refine_pose(&pose, &moved, &world, &rc).unwrap();
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
        // With the pipeline's 2 px threshold, which these errors exceed at the image's
        // edge, the modes are applied in part and scaled back: the same covariance.
        let narrow = intrinsics_covariance(
            &pose,
            &image,
            &world,
            &mask,
            &mut scratch,
            &config(),
            &sigma,
            focal,
        )
        .unwrap()
        .diagonal();
        for (i, (n, c)) in narrow.iter().zip(cov).enumerate() {
            assert!((n / c - 1.0).abs() < 0.05, "axis {i}: {n} vs {c}");
        }
        // Zero sigmas add nothing; a negative one is refused.
        let zero = IntrinsicSigma::default();
        let none = |s: &IntrinsicSigma, scratch: &mut [[f64; 2]]| {
            intrinsics_covariance(&pose, &image, &world, &mask, scratch, &rc, s, focal)
        };
        assert!(none(&zero, &mut scratch).unwrap().is_zero());
        let negative = IntrinsicSigma {
            focal_px: -1.0,
            ..zero
        };
        assert!(none(&negative, &mut scratch).is_none());
    }
}
