//! Robust pose tested like OpenCV's `test_solvepnp_ransac`: many random trials of 500
//! correspondences with noise and outliers, passing on a share of trials within tolerance;
//! plus the degenerate inputs that must be refused, and the statistical honesty of the
//! covariance (normalised estimation error squared).

mod common;

use common::Rand;
use trn_flight::linalg::invert_spd6;
use trn_flight::robust::{AttitudePrior, MIN_POINTS, PoseError, RansacConfig, estimate_pose};
use trn_flight::{Pose, Quat, Vec3};

const F: f64 = 886.8;
const C: f64 = 511.5;

struct Scene {
    truth: Pose,
    image: Vec<[f64; 2]>,
    world: Vec<Vec3>,
    outlier: Vec<bool>,
}

/// `n` terrain points seen by a lander camera at `altitude`, pixel noise `sigma_px`, a
/// share `outliers` of correspondences replaced by uniformly random image points.
fn scene(r: &mut Rand, n: usize, altitude: f64, sigma_px: f64, outliers: f64) -> Scene {
    scene_in(r, &WIDE, n, altitude, sigma_px, outliers)
}

/// Where the points of a scene are seen and how rough their terrain is.
struct View {
    /// Camera tilt off nadir, radians.
    tilt: f64,
    /// Pixel span of the observations (both axes).
    pixels: (f64, f64),
    /// Terrain heights, +- this fraction of the altitude.
    relief: f64,
}

/// The whole 1024-pixel image over terrain of +-3 % relief, the camera tilted up to 0.5 rad.
const WIDE: View = View {
    tilt: 0.5,
    pixels: (0.0, 1023.0),
    relief: 0.03,
};

/// The central 512 x 512 pixels (a 32 degree view) over gentle relief (+-1 %).
const NARROW: View = View {
    tilt: 0.3,
    pixels: (256.0, 767.0),
    relief: 0.01,
};

fn scene_in(
    r: &mut Rand,
    view: &View,
    n: usize,
    altitude: f64,
    sigma_px: f64,
    outliers: f64,
) -> Scene {
    let truth = common::lander_pose(r, altitude, view.tilt);
    let rot = truth.attitude.to_mat3();
    let mut s = Scene {
        truth,
        image: vec![],
        world: vec![],
        outlier: vec![],
    };
    let (lo, hi) = view.pixels;
    while s.world.len() < n {
        let (u, v) = (r.uniform(lo, hi), r.uniform(lo, hi));
        let b = rot.mul_vec(Vec3::new((u - C) / F, (v - C) / F, 1.0));
        if b.z > -0.2 {
            continue;
        }
        // Intersect with rough terrain: a plane at a random height within the relief.
        let h = r.uniform(-view.relief, view.relief) * altitude;
        let t = (h - truth.position.z) / b.z;
        let x = truth.position + b * t;
        let is_out = r.0.next_f64() < outliers;
        let (mu, mv) = if is_out {
            (r.uniform(0.0, 1023.0), r.uniform(0.0, 1023.0))
        } else {
            (u + sigma_px * r.normal(), v + sigma_px * r.normal())
        };
        s.image.push([(mu - C) / F, (mv - C) / F]);
        s.world.push(x);
        s.outlier.push(is_out);
    }
    s
}

/// Position error (m), attitude error (rad, camera frame) and the 6-D NEES.
fn errors(est: &trn_flight::robust::PoseEstimate, truth: &Pose) -> (f64, f64, f64) {
    let dp = truth.position - est.pose.position;
    let dth = est
        .pose
        .attitude
        .conjugate()
        .mul_quat(truth.attitude)
        .to_rotation_vector();
    let e = [dp.x, dp.y, dp.z, dth.x, dth.y, dth.z];
    let inv = invert_spd6(&est.covariance).unwrap();
    let mut nees = 0.0;
    for i in 0..6 {
        for j in 0..6 {
            nees += e[i] * inv[i][j] * e[j];
        }
    }
    (dp.norm(), dth.norm(), nees)
}

fn trials(outliers: f64, count: usize, seed: u64) -> (usize, usize, f64) {
    let mut nees_sum = 0.0;
    let mut r = Rand::new(seed);
    let mut pass = 0;
    let mut consistent = 0;
    let mut worst_att_deg: f64 = 0.0;
    let config = RansacConfig::new(F);
    for _ in 0..count {
        let altitude = r.uniform(200.0, 12_000.0);
        let s = scene(&mut r, 500, altitude, 0.5, outliers);
        let mut mask = vec![false; s.image.len()];
        let est = estimate_pose(&s.image, &s.world, &mut mask, &config).expect("a pose");
        let (dp, dth, nees) = errors(&est, &s.truth);
        worst_att_deg = worst_att_deg.max(dth.to_degrees());
        // Tolerances scale with altitude: 0.5 px of noise at 1000 m is 0.56 m on the ground.
        if dp < 1e-3 * altitude && dth.to_degrees() < 0.05 {
            pass += 1;
        }
        // 99.99 % chi-square quantile for 6 dof.
        nees_sum += nees;
        if nees < 27.86 {
            consistent += 1;
        }
        // Flagged outliers are (nearly) the true outliers.
        let wrong = mask
            .iter()
            .zip(&s.outlier)
            .filter(|(m, o)| **m && **o)
            .count();
        assert!(
            wrong <= s.image.len() / 50,
            "{wrong} outliers kept as inliers"
        );
    }
    // An honest 6-D covariance has a mean NEES of 6: far below is over-cautious (useless
    // for gating), far above is over-confident (dangerous).
    let mean_nees = nees_sum / count as f64;
    println!("mean NEES {mean_nees:.2} over {count} trials at {outliers} outliers");
    assert!((4.5..8.0).contains(&mean_nees), "mean NEES {mean_nees}");
    (pass, consistent, worst_att_deg)
}

#[test]
fn thousand_trials_thirty_percent_outliers() {
    let (pass, consistent, worst) = trials(0.3, 1000, 11);
    println!(
        "30% outliers: {pass}/1000 within tolerance, {consistent}/1000 NEES-consistent, worst attitude error {worst:.4} deg"
    );
    assert!(pass >= 995, "only {pass} of 1000 trials within tolerance");
    assert!(
        consistent >= 985,
        "covariance inconsistent in {} of 1000 trials",
        1000 - consistent
    );
}

#[test]
fn trials_at_five_and_fifty_percent_outliers() {
    for (share, seed) in [(0.05, 12), (0.5, 13)] {
        let (pass, consistent, worst) = trials(share, 300, seed);
        println!(
            "{share} outliers: {pass}/300 within tolerance, {consistent}/300 NEES-consistent, worst {worst:.4} deg"
        );
        assert!(
            pass >= 297,
            "{share}: only {pass} of 300 trials within tolerance"
        );
        assert!(
            consistent >= 294,
            "{share}: covariance inconsistent in {} trials",
            300 - consistent
        );
    }
}

#[test]
fn deterministic_for_a_seed() {
    let mut r = Rand::new(5);
    let s = scene(&mut r, 300, 3000.0, 0.5, 0.3);
    let mut mask = vec![false; 300];
    let a = estimate_pose(&s.image, &s.world, &mut mask, &RansacConfig::new(F)).unwrap();
    let b = estimate_pose(&s.image, &s.world, &mut mask, &RansacConfig::new(F)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn refuses_degenerate_input() {
    let mut r = Rand::new(6);
    let s = scene(&mut r, 50, 2000.0, 0.3, 0.0);
    let cfg = RansacConfig::new(F);
    let mut mask = vec![false; 50];

    // Too few points.
    let e = estimate_pose(
        &s.image[..MIN_POINTS - 1],
        &s.world[..MIN_POINTS - 1],
        &mut mask,
        &cfg,
    );
    assert_eq!(e.unwrap_err(), PoseError::NotEnoughPoints);
    // Mismatched lengths, short mask.
    assert_eq!(
        estimate_pose(&s.image[..10], &s.world[..9], &mut mask, &cfg).unwrap_err(),
        PoseError::LengthMismatch
    );
    assert_eq!(
        estimate_pose(&s.image, &s.world, &mut mask[..10], &cfg).unwrap_err(),
        PoseError::MaskTooShort
    );
    // NaN anywhere.
    let mut img = s.image.clone();
    img[17][1] = f64::NAN;
    assert_eq!(
        estimate_pose(&img, &s.world, &mut mask, &cfg).unwrap_err(),
        PoseError::NonFinite { index: 17 }
    );
    let mut wld = s.world.clone();
    wld[3].z = f64::INFINITY;
    assert_eq!(
        estimate_pose(&s.image, &wld, &mut mask, &cfg).unwrap_err(),
        PoseError::NonFinite { index: 3 }
    );
    // Bad configuration.
    let mut bad = cfg;
    bad.focal_px = 0.0;
    assert_eq!(
        estimate_pose(&s.image, &s.world, &mut mask, &bad).unwrap_err(),
        PoseError::InvalidConfig
    );

    // Collinear world points (a straight ridge line) observed exactly.
    let truth = s.truth;
    let line: Vec<Vec3> = (0..30)
        .map(|i| {
            Vec3::new(
                -300.0 + 20.0 * i as f64,
                0.5 * (-300.0 + 20.0 * i as f64),
                0.0,
            )
        })
        .collect();
    let img: Vec<[f64; 2]> = line
        .iter()
        .map(|w| {
            let c = truth.to_camera(*w);
            [c.x / c.z, c.y / c.z]
        })
        .collect();
    let e = estimate_pose(&img, &line, &mut mask, &cfg).unwrap_err();
    assert!(
        matches!(e, PoseError::Degenerate | PoseError::TooFewInliers),
        "{e:?}"
    );

    // Pure outliers: no consistent pose.
    let mut r2 = Rand::new(9);
    let junk: Vec<[f64; 2]> = (0..50)
        .map(|_| [r2.uniform(-0.5, 0.5), r2.uniform(-0.5, 0.5)])
        .collect();
    assert_eq!(
        estimate_pose(&junk, &s.world, &mut mask, &cfg).unwrap_err(),
        PoseError::TooFewInliers
    );
}

#[test]
fn points_behind_the_camera_give_no_pose() {
    // Correspondences whose world points lie behind the true camera: their image
    // coordinates are the projections through the centre. No proper rotation places a
    // non-coplanar set in front with those projections, so the estimator must refuse.
    let mut r = Rand::new(8);
    let truth = common::lander_pose(&mut r, 2000.0, 0.2);
    let rot = truth.attitude.to_mat3();
    let mut world = vec![];
    let mut image = vec![];
    for _ in 0..60 {
        let b = Vec3::new(r.uniform(-0.5, 0.5), r.uniform(-0.5, 0.5), 1.0);
        let depth = -r.uniform(500.0, 3000.0);
        world.push(truth.position + rot.mul_vec(b * depth));
        image.push([b.x, b.y]);
    }
    let mut mask = vec![false; 60];
    let e = estimate_pose(&image, &world, &mut mask, &RansacConfig::new(F));
    assert!(
        e.is_err(),
        "a pose was returned for points behind the camera: {e:?}"
    );
}

#[test]
fn exact_data_gives_exact_pose_and_floor_limited_covariance() {
    let mut r = Rand::new(10);
    let s = scene(&mut r, 200, 5000.0, 0.0, 0.0);
    let mut mask = vec![false; 200];
    let est = estimate_pose(&s.image, &s.world, &mut mask, &RansacConfig::new(F)).unwrap();
    let (dp, dth, _) = errors(&est, &s.truth);
    assert!(dp < 1e-6 && dth < 1e-10, "{dp} {dth}");
    assert_eq!(est.inliers, 200);
    assert!(est.sigma_px < 1e-6);
    // The floor keeps the covariance from claiming perfection.
    assert!(est.position_sigma().x > 0.0 && est.attitude_sigma().z > 0.0);
}

/// Few landmarks over a narrow view: vision alone trades a camera translation for a
/// rotation that keeps the image in place; an inertial attitude good to 0.1 degree pins
/// the position, and the fused covariance stays honest (mean NEES near 6).
#[test]
fn attitude_prior_pins_the_position_of_a_few_landmark_fix() {
    let mut r = Rand::new(31);
    let sigma_att = 0.1f64.to_radians();
    let (mut sq_vision, mut sq_fused, mut nees_sum, mut trials) = (0.0, 0.0, 0.0, 0);
    for _ in 0..300 {
        let s = scene_in(&mut r, &NARROW, 15, 1500.0, 0.3, 0.0);
        let noise = Vec3::new(r.normal(), r.normal(), r.normal()) * sigma_att;
        let measured = s.truth.attitude.mul_quat(Quat::from_rotation_vector(noise));
        let mut mask = vec![false; s.image.len()];
        let vision = estimate_pose(&s.image, &s.world, &mut mask, &RansacConfig::new(F)).unwrap();
        let mut cfg = RansacConfig::new(F);
        cfg.attitude_prior = Some(AttitudePrior {
            attitude: measured,
            sigma_rad: sigma_att,
        });
        let fused = estimate_pose(&s.image, &s.world, &mut mask, &cfg).unwrap();
        let (dv, _, _) = errors(&vision, &s.truth);
        let (df, _, nees) = errors(&fused, &s.truth);
        sq_vision += dv * dv;
        sq_fused += df * df;
        nees_sum += nees;
        trials += 1;
        // The attitude is known at least as well as the prior alone tells it.
        let sa = fused.attitude_sigma();
        assert!(
            sa.x.max(sa.y).max(sa.z) <= sigma_att * (1.0 + 1e-9),
            "{sa:?}"
        );
    }
    let (rms_vision, rms_fused) = (
        (sq_vision / f64::from(trials)).sqrt(),
        (sq_fused / f64::from(trials)).sqrt(),
    );
    let mean_nees = nees_sum / f64::from(trials);
    println!(
        "15 points at 1500 m: position RMS {rms_vision:.2} m vision, {rms_fused:.2} m fused; fused mean NEES {mean_nees:.2}"
    );
    assert!(rms_fused < 0.6 * rms_vision, "{rms_fused} vs {rms_vision}");
    assert!((4.5..8.0).contains(&mean_nees), "mean NEES {mean_nees}");
}

/// A prior with an enormous sigma carries no information: the fused pose is vision's.
#[test]
fn uninformative_attitude_prior_changes_nothing() {
    let mut r = Rand::new(32);
    let s = scene(&mut r, 40, 3000.0, 0.5, 0.1);
    let mut mask = vec![false; s.image.len()];
    let vision = estimate_pose(&s.image, &s.world, &mut mask, &RansacConfig::new(F)).unwrap();
    let mut cfg = RansacConfig::new(F);
    cfg.attitude_prior = Some(AttitudePrior {
        attitude: s
            .truth
            .attitude
            .mul_quat(Quat::from_rotation_vector(Vec3::new(0.01, -0.02, 0.01))),
        sigma_rad: 1e6,
    });
    let fused = estimate_pose(&s.image, &s.world, &mut mask, &cfg).unwrap();
    let d = (fused.pose.position - vision.pose.position).norm();
    assert!(d < 1e-6, "{d} m apart");
    assert_eq!(fused.inliers, vision.inliers);
    // A non-positive sigma is a configuration error, not a silent vision-only fix.
    cfg.attitude_prior = Some(AttitudePrior {
        attitude: s.truth.attitude,
        sigma_rad: 0.0,
    });
    assert_eq!(
        estimate_pose(&s.image, &s.world, &mut mask, &cfg).unwrap_err(),
        PoseError::InvalidConfig
    );
}
