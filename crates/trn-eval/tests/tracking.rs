//! Frame-to-frame tracking (trn-flight's `track`) on the shipped descent's last frames,
//! below the map's reach: registration recovers the altitude and position the inertial
//! prior no longer knows, the tracked pose agrees with truth, the covariance it inherits
//! from the previous pose is the one Monte Carlo gives, and ground that is not shared is
//! refused.

use std::path::PathBuf;
use std::sync::OnceLock;
use trn::FramePyramid;
use trn_dataset::dataset::Dataset;
use trn_eval::EvalOptions;
use trn_eval::map::build_map;
use trn_flight::camera::Camera;
use trn_flight::mapdb::MapDb;
use trn_flight::rng::Pcg32;
use trn_flight::robust::AttitudePrior;
use trn_flight::track::{
    FixedFrame, TrackConfig, TrackScratch, inherited_covariance, register, track_pose,
};
use trn_flight::{Mat6, Pose, Quat, Vec3};

struct Shipped {
    ds: Dataset,
    camera: Camera,
    map: Vec<u8>,
}

/// The shipped descent and the map its evaluation builds (built once for the tests here).
fn shipped() -> Shipped {
    static MAP: OnceLock<Vec<u8>> = OnceLock::new();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/default-descent");
    let map = MAP
        .get_or_init(|| {
            let ds = Dataset::read(&dir).unwrap();
            build_map(&ds, &EvalOptions::default(), None).unwrap()
        })
        .clone();
    let ds = Dataset::read(&dir).unwrap();
    let camera = ds.meta.camera.camera().unwrap();
    Shipped { ds, camera, map }
}

impl Shipped {
    fn pyramid(&self, k: usize) -> FramePyramid {
        let px = trn_dataset::image::read_frame(&self.ds.dir.join(&self.ds.frames[k].image))
            .unwrap()
            .pixels;
        let mut p = FramePyramid::default();
        let (w, h) = (self.camera.width() as usize, self.camera.height() as usize);
        p.rebuild(w, h, px, 6).unwrap();
        p
    }

    fn truth(&self, k: usize) -> Pose {
        self.ds.frames[k].truth.unwrap()
    }
}

/// Pairs of consecutive frames from 147 m down to 50 m: a prior 7 m off horizontally (a
/// tenth of the view at 50 m; registration searches about a quarter) and 25 % off in
/// altitude is registered to within the tracking's windows, and tracking from the true
/// previous pose lands within 0.3 m of truth (the points sit on the 10 m DEM, which lacks
/// the terrain's metre-scale detail).
#[test]
fn registration_and_tracking_recover_the_pose() {
    let s = shipped();
    let db = MapDb::parse(&s.map).unwrap();
    let dem = db.dem().unwrap().heightfield().unwrap();
    let cfg = TrackConfig::default();
    let mut scratch = Box::new(TrackScratch::new());
    for a in 54..59 {
        let b = a + 1;
        let (pa, pb) = (s.pyramid(a), s.pyramid(b));
        let (ta, tb) = (s.truth(a), s.truth(b));
        let prev = FixedFrame {
            pyramid: pa.view(),
            pose: ta,
            covariance: Mat6::from_pose_sigmas(0.5, 0.0005),
            time_s: s.ds.frames[a].t_s,
        };
        let height = tb.position.z - dem.altitude(tb.position).unwrap().ground.z;
        let prior = Pose::new(
            tb.position + Vec3::new(5.0, -5.0, 0.25 * height),
            tb.attitude,
        );
        let (guess, score) = register(
            &prev,
            &pb.view(),
            &prior,
            30.0,
            &s.camera,
            &dem,
            &cfg,
            &mut scratch,
        )
        .unwrap_or_else(|| panic!("{a}->{b}: no registration"));
        let d = guess.position - tb.position;
        eprintln!(
            "{a}->{b} ({:.0} -> {:.0} m): registered within {:.2} m horizontally, {:.2} m \
             vertically (score {score:.2})",
            ta.position.z,
            tb.position.z,
            d.x.hypot(d.y),
            d.z
        );
        // Within the tracking's windows: 14 pixels (about 2 % of the altitude) across, and
        // half the ladder's 6 % step in altitude (3 % of the distance from the centre, at
        // most 11 pixels at the corners).
        assert!(
            d.x.hypot(d.y) < 0.02 * height,
            "{a}->{b}: registration {d:?}"
        );
        assert!(d.z.abs() < 0.03 * height, "{a}->{b}: registration {d:?}");
        let t = track_pose(
            &prev,
            &pb.view(),
            &guess,
            None,
            &s.camera,
            &dem,
            &cfg,
            &mut scratch,
        )
        .unwrap_or_else(|| panic!("{a}->{b}: not tracked"));
        let err = (t.estimate.pose.position - tb.position).norm();
        eprintln!(
            "   tracked {} features, {} inliers, {err:.3} m from truth",
            t.found, t.estimate.inliers
        );
        assert!(
            t.estimate.inliers >= 40,
            "{a}->{b}: {} inliers",
            t.estimate.inliers
        );
        assert!(err < 0.3, "{a}->{b}: {err} m");
        // The attitude within 3 sigma of the tracking's own and the DEM's (the previous
        // pose is true).
        let exact = FixedFrame {
            covariance: Mat6::ZERO,
            ..prev
        };
        let dem_cov = inherited_covariance(&exact, &t, &s.camera, &dem, 0.7, &cfg, &mut scratch)
            .unwrap()
            .dem;
        let c = &t.estimate.covariance;
        let att_sigma =
            (c[3][3] + c[4][4] + c[5][5] + dem_cov[3][3] + dem_cov[4][4] + dem_cov[5][5]).sqrt();
        let pos_sigma = (dem_cov[0][0] + dem_cov[1][1] + dem_cov[2][2]).sqrt();
        eprintln!("   DEM term: position {pos_sigma:.3} m");
        let att_err = t.estimate.pose.attitude.angle_to(tb.attitude);
        eprintln!(
            "   attitude {:.4} deg off, sigma {:.4} deg",
            att_err.to_degrees(),
            att_sigma.to_degrees()
        );
        assert!(
            att_err <= 3.0 * att_sigma,
            "{a}->{b}: attitude {att_err} rad"
        );
    }
}

/// The previous pose's covariance carried into the tracked pose by re-solving
/// (`inherited_covariance` with no DEM error) against Monte Carlo: previous poses drawn
/// from that covariance, each tracked, give per-axis spreads within the sampling error of
/// the propagated sigmas (with the tracking's own), with vision alone and with the
/// inertial attitude fused (position axes: the fused attitude is the same in every draw).
#[test]
fn inherited_covariance_matches_monte_carlo() {
    let s = shipped();
    let db = MapDb::parse(&s.map).unwrap();
    let dem = db.dem().unwrap().heightfield().unwrap();
    let cfg = TrackConfig::default();
    let mut scratch = Box::new(TrackScratch::new());
    let (a, b) = (56, 57);
    let (pa, pb) = (s.pyramid(a), s.pyramid(b));
    let (ta, tb) = (s.truth(a), s.truth(b));
    let (sp, sa) = (0.5, 0.03f64.to_radians());
    let cov = Mat6::from_pose_sigmas(sp, sa);
    let prev = |pose: Pose| FixedFrame {
        pyramid: pa.view(),
        pose,
        covariance: cov,
        time_s: 0.0,
    };
    let inertial = AttitudePrior {
        attitude: tb.attitude,
        sigma_rad: 0.1f64.to_radians(),
    };
    for (name, attitude, axes) in [("vision", None, 6), ("fused", Some(inertial), 3)] {
        let track_from = |previous: Pose, scratch: &mut TrackScratch| {
            track_pose(
                &prev(previous),
                &pb.view(),
                &tb,
                attitude,
                &s.camera,
                &dem,
                &cfg,
                scratch,
            )
        };
        let track = |scratch: &mut TrackScratch| track_from(ta, scratch).unwrap();
        // With the DEM's error the covariance only grows. A result's correspondences serve
        // one propagation: a second one, or one after another tracking, is refused.
        let base = track(&mut scratch);
        let with_dem =
            inherited_covariance(&prev(ta), &base, &s.camera, &dem, 0.7, &cfg, &mut scratch)
                .unwrap();
        assert!(
            inherited_covariance(&prev(ta), &base, &s.camera, &dem, 0.7, &cfg, &mut scratch)
                .is_none()
        );
        let base = track(&mut scratch);
        let inherited =
            inherited_covariance(&prev(ta), &base, &s.camera, &dem, 0.0, &cfg, &mut scratch)
                .unwrap();
        for i in 0..6 {
            let total = with_dem.previous[i][i] + with_dem.dem[i][i];
            assert!(total > inherited.previous[i][i], "{name} axis {i}");
            assert_eq!(inherited.dem[i][i], 0.0, "{name} axis {i}");
        }
        // Each draw tracks again, and moving the previous pose moves the grid its features
        // are chosen on: the draws also carry the tracking's own scatter (the estimate's
        // covariance, small next to the inherited one on position, of its size on two
        // attitude axes with vision alone).
        let own = base.estimate.covariance;
        let predicted: Vec<f64> = (0..6)
            .map(|i| (inherited.previous[i][i] + own[i][i]).sqrt())
            .collect();
        let mut rng = Pcg32::new(17, 3);
        let n = 40;
        let mut sum2 = [0.0f64; 6];
        for _ in 0..n {
            let g = |rng: &mut Pcg32| rng.normal();
            let dp = Vec3::new(g(&mut rng), g(&mut rng), g(&mut rng)) * sp;
            let da = Vec3::new(g(&mut rng), g(&mut rng), g(&mut rng)) * sa;
            let moved = Pose::new(
                ta.position + dp,
                ta.attitude.mul_quat(Quat::from_rotation_vector(da)),
            );
            let t =
                track_from(moved, &mut scratch).expect("tracked from a perturbed previous pose");
            let d = t.estimate.pose.position - base.estimate.pose.position;
            let r = base
                .estimate
                .pose
                .attitude
                .conjugate()
                .mul_quat(t.estimate.pose.attitude)
                .to_rotation_vector();
            for (acc, x) in sum2.iter_mut().zip([d.x, d.y, d.z, r.x, r.y, r.z]) {
                *acc += x * x;
            }
        }
        for i in 0..axes {
            let mc = (sum2[i] / n as f64).sqrt();
            let ratio = mc / predicted[i];
            eprintln!(
                "{name} axis {i}: Monte Carlo {mc:.3e}, propagated {:.3e} (ratio {ratio:.2})",
                predicted[i]
            );
            // 40 samples: the spread's estimate is within about +-30 % at 99 %.
            assert!(
                (0.65..=1.4).contains(&ratio),
                "{name} axis {i}: ratio {ratio}"
            );
        }
    }
}

/// Ground the two frames do not share gives no pose: the previous frame's pixels from high
/// up (frame 20, another part of the site) under the low frame's pose.
#[test]
fn ground_not_shared_is_refused() {
    let s = shipped();
    let db = MapDb::parse(&s.map).unwrap();
    let dem = db.dem().unwrap().heightfield().unwrap();
    let cfg = TrackConfig::default();
    let mut scratch = Box::new(TrackScratch::new());
    let (wrong, b) = (s.pyramid(20), s.pyramid(58));
    let prev = FixedFrame {
        pyramid: wrong.view(),
        pose: s.truth(57),
        covariance: Mat6::from_pose_sigmas(0.5, 0.0005),
        time_s: 0.0,
    };
    let tb = s.truth(58);
    let prior = Pose::new(tb.position + Vec3::new(5.0, -5.0, 8.0), tb.attitude);
    let guess = register(
        &prev,
        &b.view(),
        &prior,
        30.0,
        &s.camera,
        &dem,
        &cfg,
        &mut scratch,
    )
    .map_or(prior, |r| r.0);
    let t = track_pose(
        &prev,
        &b.view(),
        &guess,
        None,
        &s.camera,
        &dem,
        &cfg,
        &mut scratch,
    );
    assert!(
        t.is_none(),
        "tracked {:?} inliers on unrelated ground",
        t.map(|t| t.estimate.inliers)
    );
}
