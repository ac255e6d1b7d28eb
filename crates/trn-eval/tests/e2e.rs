//! End to end on the shipped simulated descent (data/default-descent): a map built from the
//! dataset's DEM, every frame navigated, and the targets that 60 frames can check.

use std::path::PathBuf;
use trn::FixStatus;
use trn_eval::{EvalOptions, evaluate};
use trn_flight::rangefinder::LrfStatus;

fn dataset() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/default-descent")
}

#[test]
fn default_descent_meets_the_checkable_targets() {
    let ev = evaluate(&dataset(), &EvalOptions::default(), &|_, _, _| {}).unwrap();
    let (rows, summary, truth) = (&ev.rows, &ev.summary, &ev.dataset);
    assert_eq!(summary.frames, 60);
    let map_px = 10.0;
    let alt = |k: usize| truth.frames[k].truth.unwrap().position.z;

    // Every frame has a fix: the 10 m DEM's landmarks high up, the 1 m orthoimage's over
    // the central 2 km below a few kilometres, and below ~100 m, where a frame spans too
    // few of its pixels for a pose, the ground shared with the previous fixed frame. Map
    // fixes reach below 100 m; only frames below it are tracked.
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r.status, FixStatus::Fix, "frame {k} at {:.0} m", alt(k));
        if alt(k) > 100.0 {
            assert_eq!(r.tracked, 0, "frame {k} at {:.0} m tracked", alt(k));
        }
    }
    let tracked: Vec<usize> = (0..rows.len()).filter(|&k| rows[k].tracked > 0).collect();
    assert!(tracked.len() >= 2, "tracked frames {tracked:?}");
    // A tracked pose inherits the previous fix's error, so its error is of the fixes' size:
    // within 3 sigma on every axis, and under a metre here.
    for &k in &tracked {
        let r = &rows[k];
        let e = r.err_xyz.unwrap();
        for (i, (e, s)) in e.iter().zip(r.sigma_pos).enumerate() {
            assert!(
                e.abs() <= 3.0 * s,
                "frame {k}: axis {i} error {e} vs sigma {s}"
            );
        }
        assert!(r.pos_err_m.unwrap() < 1.0, "frame {k}: {:?}", r.pos_err_m);
        assert!(r.inliers >= 12, "frame {k}: {} inliers", r.inliers);
    }
    // Median and 99th percentile of the fixes' position errors below `ceiling_m`, and how
    // many there are.
    let errors_below = |ceiling_m: f64| {
        let mut e: Vec<f64> = rows
            .iter()
            .enumerate()
            .filter(|(k, r)| r.status == FixStatus::Fix && alt(*k) < ceiling_m)
            .filter_map(|(_, r)| r.pos_err_m)
            .collect();
        e.sort_by(f64::total_cmp);
        let at = |q: f64| e[((e.len() - 1) as f64 * q).round() as usize];
        (e.len(), e[e.len() / 2], at(0.99))
    };
    // Accuracy below 10 km: median <= 0.5 map pixel, 99th percentile <= 2.
    let (n, median, p99) = errors_below(10_000.0);
    assert!(n >= 20);
    assert!(median <= 0.5 * map_px, "median {median} m");
    assert!(p99 <= 2.0 * map_px, "p99 {p99} m");
    // Below 2 km the frames are matched against the 1 m layer: the same targets in its
    // pixels.
    let fine_px = 1.0;
    let (n, median, p99) = errors_below(2000.0);
    assert!(n >= 15, "{n} fixes below 2 km");
    assert!(median <= 0.5 * fine_px, "below 2 km: median {median} m");
    assert!(p99 <= 2.0 * fine_px, "below 2 km: p99 {p99} m");
    // Altitude from vision within 1 % of altitude on every fix.
    for (k, r) in rows.iter().enumerate() {
        if r.status == FixStatus::Fix {
            let t = r.true_altitude_m.unwrap();
            assert!(
                (r.altitude_m - t).abs() <= 0.01 * t,
                "frame {k}: {} vs {t}",
                r.altitude_m
            );
        }
    }
    // Integrity: the reported covariance bounds the error (at most one 3-sigma excursion
    // in 60 frames; the 1-in-1000 target needs campaigns).
    assert!(summary.outside_3sigma <= 1, "{}", summary.outside_3sigma);
    // The attitude's too: the angle of the error within the 99.9 % bound of a 3-axis
    // Gaussian with the reported RMS sigma per axis (sqrt of chi-square(3) at 99.9 %,
    // 4.03). Before the map's common-mode tilt was added, map fixes exceeded it.
    let mut worst_att: f64 = 0.0;
    for (k, r) in rows.iter().enumerate() {
        if let Some(e) = r.att_err_deg {
            let ratio = e / r.sigma_att_deg;
            worst_att = worst_att.max(ratio);
            assert!(
                ratio <= 4.03,
                "frame {k}: attitude {e} deg, sigma {} deg",
                r.sigma_att_deg
            );
        }
    }
    eprintln!("largest attitude error over its sigma: {worst_att:.2}");
    // Every injected rangefinder fault episode flagged within 3 frames; no false alarm.
    let mut k = 0;
    while k < rows.len() {
        if rows[k].lrf_fault == Some(true) {
            let start = k;
            while k < rows.len() && rows[k].lrf_fault == Some(true) {
                k += 1;
            }
            let flagged = rows[start..k.min(start + 3)]
                .iter()
                .any(|r| matches!(r.lrf_status, LrfStatus::Fault | LrfStatus::Held));
            assert!(
                flagged,
                "fault starting at frame {start} not flagged within 3 frames"
            );
        } else {
            k += 1;
        }
    }
    assert_eq!(summary.lrf.false_alarms, 0);

    // Velocity (features tracked from the previous frame, or differenced fixes) against the
    // mean true velocity over the interval: within 3 reported sigma on (nearly) every axis,
    // and tracking, whose error does not add two fixes' errors, an order of magnitude
    // tighter than the fixes themselves.
    let (mut checked, mut outside, mut tracked) = (0, 0, 0);
    let mut worst_tracked: f64 = 0.0;
    let (mut tracked_errs, mut differenced_errs) = (Vec::new(), Vec::new());
    for (k, (row, detail)) in rows.iter().zip(&ev.details).enumerate().skip(1) {
        let Some(v) = detail.velocity else { continue };
        let (a, b) = (
            truth.frames[k - 1].truth.unwrap(),
            truth.frames[k].truth.unwrap(),
        );
        let vt = (b.position - a.position) * (1.0 / v.dt_s);
        if v.tracked_features > 0 {
            tracked += 1;
            worst_tracked = worst_tracked.max((v.mps - vt).norm());
            tracked_errs.push((v.mps - vt).norm());
            if let (Some(pa), Some(pb)) = (rows[k - 1].pose, row.pose) {
                let vd = (pb.position - pa.position) * (1.0 / v.dt_s);
                differenced_errs.push((vd - vt).norm());
            }
        }
        for (i, (e, t)) in [v.mps.x, v.mps.y, v.mps.z]
            .iter()
            .zip([vt.x, vt.y, vt.z])
            .enumerate()
        {
            checked += 1;
            if (e - t).abs() > 3.0 * v.sigma_mps[i] {
                outside += 1;
            }
        }
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    eprintln!(
        "velocity: {} intervals, {tracked} by tracking (median error {:.3} m/s, worst \
         {worst_tracked:.3}; differenced fixes: median {:.3}), {outside} of {checked} \
         components outside 3 sigma",
        checked / 3,
        med(tracked_errs),
        med(differenced_errs)
    );
    assert!(checked >= 60, "{checked} velocity components");
    assert!(tracked >= 10, "only {tracked} intervals from tracking");
    assert!(
        worst_tracked < 2.0,
        "tracked velocity error {worst_tracked} m/s"
    );
    assert!(
        outside <= 2,
        "{outside} of {checked} velocity components outside 3 sigma"
    );
}

#[test]
fn thread_count_does_not_change_the_result() {
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| evaluate(&dataset(), &EvalOptions::default(), &|_, _, _| {}).unwrap())
    };
    let a = run(1).rows;
    let b = run(2).rows;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.status, y.status, "frame {}", x.frame);
        if let (Some(p), Some(q)) = (x.pose, y.pose) {
            assert!((p.position - q.position).norm() < 1e-4, "frame {}", x.frame);
        }
    }
}

/// The shipped dataset, the map the evaluation builds from it (serialised) and its camera.
fn shipped() -> (
    trn_dataset::dataset::Dataset,
    Vec<u8>,
    trn_flight::camera::Camera,
) {
    let ds = trn_dataset::dataset::Dataset::read(&dataset()).unwrap();
    let bytes = shipped_map(&ds);
    let cam = ds.meta.camera.camera().unwrap();
    (ds, bytes, cam)
}

/// The map the evaluation builds from the shipped dataset, serialised.
fn shipped_map(ds: &trn_dataset::dataset::Dataset) -> Vec<u8> {
    shipped_map_with_dem_sigma(ds, 2.0)
}

/// [`shipped_map`] stating a DEM 1-sigma of `dem_sigma_m`.
fn shipped_map_with_dem_sigma(ds: &trn_dataset::dataset::Dataset, dem_sigma_m: f64) -> Vec<u8> {
    let dem = trn_map::io::read_raster(ds.dir.join(&ds.meta.map.dem)).unwrap();
    let sun = trn_map::render::Sun {
        azimuth_deg: ds.frames[0].sun_az_deg,
        elevation_deg: ds.frames[0].sun_el_deg,
    };
    let mut p = trn_map::build::BuildParams::new(
        ds.meta.site.lat_deg,
        ds.meta.site.lon_deg,
        13_000.0,
        13_000.0,
        10.0,
        sun,
    );
    p.landmarks.max_landmarks = 3000;
    p.dem_sigma_m = dem_sigma_m;
    let built = trn_map::build(&dem, None, &p, &()).unwrap();
    trn_map::mapdb::to_bytes(&built.contents()).unwrap()
}

/// An inertial attitude far outside its own sigma is refused rather than fused into the
/// position it would bias; the honest one, or no fusion, gives a fix.
#[test]
fn a_wrong_inertial_attitude_is_refused_not_fused() {
    use trn::{Navigator, Prior, Quat, Vec3};
    let (ds, bytes, cam) = shipped();
    let db = trn::MapDb::parse(&bytes).unwrap();
    let sigma = 0.1f64.to_radians();
    for k in [6usize, 10] {
        let f = &ds.frames[k];
        let truth = f.truth.unwrap();
        let px = trn_dataset::image::read_frame(&ds.dir.join(&f.image))
            .unwrap()
            .pixels;
        let run = |attitude: Quat, sigma_att_rad: f64, fuse: bool| {
            let prior = Prior {
                pose: trn::Pose::new(truth.position + Vec3::new(30.0, -20.0, 10.0), attitude),
                sigma_pos_m: 50.0,
                sigma_att_rad,
                time_s: f.t_s,
            };
            let cfg = trn::NavConfig {
                fuse_attitude: fuse,
                ..trn::NavConfig::default()
            };
            let mut nav = Navigator::new(db, cam, cfg);
            let fix = nav.process(px.clone(), &prior, None);
            let want = if fix.status == FixStatus::Fix {
                trn::Reason::None
            } else {
                trn::Reason::AttitudeGate
            };
            assert_eq!(fix.reason, want, "frame {k}");
            (fix.status, (fix.pose.position - truth.position).norm())
        };
        // One degree off, claimed good to a tenth.
        let wrong = truth
            .attitude
            .mul_quat(Quat::from_rotation_vector(Vec3::new(0.0122, -0.0122, 0.0)));
        let (honest, err) = run(truth.attitude, sigma, true);
        assert_eq!(honest, FixStatus::Fix, "frame {k}: honest attitude");
        assert!(err < 10.0, "frame {k}: {err} m");
        assert_eq!(
            run(wrong, sigma, true).0,
            FixStatus::Rejected,
            "frame {k}: wrong attitude fused"
        );
        let (alone, err) = run(wrong, sigma, false);
        assert_eq!(alone, FixStatus::Fix, "frame {k}: vision alone");
        assert!(err < 10.0, "frame {k}: {err} m");
    }
}

/// A pose is a fix only with a covariance it can report: a map stating an absurd DEM sigma
/// (1e155 m, which overflows the covariance) gives rejected frames, never a fix with no
/// sigma; the same frames against the shipped map's 2 m are fixes.
#[test]
fn a_fix_needs_a_finite_positive_definite_covariance() {
    use trn::Navigator;
    let ds = trn_dataset::dataset::Dataset::read(&dataset()).unwrap();
    let cam = ds.meta.camera.camera().unwrap();
    for (dem_sigma_m, want) in [(2.0, FixStatus::Fix), (1e155, FixStatus::Rejected)] {
        let bytes = shipped_map_with_dem_sigma(&ds, dem_sigma_m);
        let db = trn::MapDb::parse(&bytes).unwrap();
        for k in [6usize, 10] {
            let f = &ds.frames[k];
            let px = trn_dataset::image::read_frame(&ds.dir.join(&f.image))
                .unwrap()
                .pixels;
            let prior = trn_eval::frame_prior(f);
            let mut nav = Navigator::new(db, cam, trn::NavConfig::default());
            let fix = nav.process(px, &prior, None);
            assert_eq!(fix.status, want, "frame {k}, DEM sigma {dem_sigma_m:e} m");
            if fix.status == FixStatus::Rejected {
                assert_eq!(fix.reason, trn::Reason::Covariance, "frame {k}");
            }
            if fix.status == FixStatus::Fix {
                assert!(fix.sigma_pos().iter().all(|s| s.is_finite() && *s > 0.0));
            }
        }
    }
}

/// A frame without a fix says why: a frame of the wrong size is not navigated, a black one
/// matches nothing, a prior claiming metres while tens of metres off fails its gate, and a
/// prior far outside the map predicts no landmarks.
#[test]
fn every_frame_without_a_fix_says_why() {
    use trn::{Navigator, Prior, Reason, Vec3};
    let (ds, bytes, cam) = shipped();
    let db = trn::MapDb::parse(&bytes).unwrap();
    let f = &ds.frames[10];
    let truth = f.truth.unwrap();
    let px = trn_dataset::image::read_frame(&ds.dir.join(&f.image))
        .unwrap()
        .pixels;
    let run = |pixels: Vec<f32>, offset: Vec3, sigma_pos_m: f64| {
        let prior = Prior {
            pose: trn::Pose::new(truth.position + offset, truth.attitude),
            sigma_pos_m,
            sigma_att_rad: 0.1f64.to_radians(),
            time_s: f.t_s,
        };
        let mut nav = Navigator::new(db, cam, trn::NavConfig::default());
        let fix = nav.process(pixels, &prior, None);
        (fix.status, fix.reason)
    };
    let zero = Vec3::new(0.0, 0.0, 0.0);
    assert_eq!(run(px.clone(), zero, 20.0), (FixStatus::Fix, Reason::None));
    assert_eq!(
        run(px[1..].to_vec(), zero, 20.0),
        (FixStatus::NoFix, Reason::NotNavigated)
    );
    assert_eq!(
        run(vec![0.0; px.len()], zero, 20.0),
        (FixStatus::NoFix, Reason::FewMatches)
    );
    assert_eq!(
        run(px.clone(), Vec3::new(40.0, -30.0, 0.0), 3.0),
        (FixStatus::Rejected, Reason::PriorGate)
    );
    assert_eq!(
        run(px, Vec3::new(1e6, 0.0, 0.0), 20.0),
        (FixStatus::NoFix, Reason::NoLandmarks)
    );
}

/// Every predicted search window, projected corner by corner with the prior, lies inside
/// the frame (a yawed view turns the template's square); low over the site, templates are
/// cropped rather than dropped, and the cropped ones still match where the truth is.
#[test]
fn prediction_windows_fit_the_frame_and_low_frames_crop_templates() {
    use trn_flight::predict::{PredictConfig, Prediction, plane_point, predict};
    let (ds, bytes, cam) = shipped();
    let db = trn::MapDb::parse(&bytes).unwrap();
    let lms = db.landmarks().unwrap();
    let (w, h) = (f64::from(cam.width()), f64::from(cam.height()));
    let full_half = lms.template_side() / 2;
    let cfg = PredictConfig::default();
    let (mut checked, mut cropped_low, mut turned) = (0, 0, 0);
    for f in &ds.frames {
        let truth = f.truth.unwrap();
        // The prior's attitude with the truth's position: windows as the navigator sees them
        // just after a fix, at every altitude of the descent.
        let prior = trn::Pose::new(truth.position, f.prior.attitude);
        let mut out = [Prediction::default(); 256];
        let n = predict(&lms, &cam, &prior, 5.0, 0.1f64.to_radians(), &cfg, &mut out);
        for p in &out[..n] {
            let lm = lms.get(p.index).unwrap();
            let s = f64::from(lm.scale_m) * f64::from(1u32 << p.level);
            assert!(p.template_half <= full_half);
            assert!(2 * p.template_half + 1 >= cfg.min_template_side);
            assert!(p.radius >= cfg.min_radius);
            let e = (p.template_half + p.radius) as f64;
            let mut reach: f64 = 0.0;
            for (dj, di) in [(-e, -e), (e, -e), (-e, e), (e, e)] {
                let q = plane_point(lm.position, lm.normal, s, dj, di);
                let [u, v] = cam.project(prior.to_camera(q)).unwrap();
                assert!(
                    (0.0..=w - 1.0).contains(&u) && (0.0..=h - 1.0).contains(&v),
                    "frame {}: landmark {} window corner ({u:.1}, {v:.1}) outside",
                    f.frame,
                    p.index
                );
                reach = reach
                    .max((u - p.pixel[0]).abs())
                    .max((v - p.pixel[1]).abs());
            }
            // How far the corners reach from the centre against the half-side in pixels:
            // beyond it when the view turns or stretches the window (what a half-side test
            // would let past the frame's edge).
            if reach > 1.1 * e / p.scale_ratio {
                turned += 1;
            }
            if p.template_half < full_half && truth.position.z < 1500.0 {
                cropped_low += 1;
            }
            checked += 1;
        }
    }
    eprintln!(
        "{checked} windows checked, {turned} turned or stretched, {cropped_low} cropped below 1.5 km"
    );
    assert!(checked > 1000, "{checked}");
    assert!(
        turned > 0,
        "no window was turned: the check above tests nothing new"
    );
    assert!(cropped_low > 0, "no template cropped low over the site");

    // The lowest frames with a fix: cropped templates match where the truth is, and
    // without cropping fewer landmarks are matched.
    let mut low_fixes = 0;
    for f in ds.frames.iter().filter(|f| {
        let z = f.truth.unwrap().position.z;
        (900.0..1300.0).contains(&z)
    }) {
        let truth = f.truth.unwrap();
        let px = trn_dataset::image::read_frame(&ds.dir.join(&f.image))
            .unwrap()
            .pixels;
        let prior = trn::Prior {
            pose: trn::Pose::new(
                truth.position + trn::Vec3::new(4.0, -3.0, 2.0),
                f.prior.attitude,
            ),
            sigma_pos_m: 5.0,
            sigma_att_rad: f.prior_sigma_att_deg.to_radians(),
            time_s: f.t_s,
        };
        let run = |min_template_side: usize| {
            let mut cfg = trn::NavConfig::default();
            cfg.predict.min_template_side = min_template_side;
            let mut nav = trn::Navigator::new(db, cam, cfg);
            nav.process(px.clone(), &prior, None)
        };
        let (cropping, whole) = (run(cfg.min_template_side), run(lms.template_side()));
        eprintln!(
            "frame {} at {:.0} m: {} matched with cropping, {} without",
            f.frame, truth.position.z, cropping.matched, whole.matched
        );
        assert!(cropping.matched >= whole.matched, "frame {}", f.frame);
        if cropping.status == FixStatus::Fix {
            low_fixes += 1;
            let err = (cropping.pose.position - truth.position).norm();
            assert!(err < 10.0, "frame {}: {err} m", f.frame);
        }
    }
    assert!(low_fixes >= 2, "{low_fixes} fixes between 0.9 and 1.3 km");
}

#[test]
fn acquisition_recovers_priors_off_by_kilometres() {
    use trn::{Navigator, Prior, Vec3};
    let (ds, bytes, cam) = shipped();
    let db = trn::MapDb::parse(&bytes).unwrap();
    let mut tried = 0;
    for (k, off) in [
        (12usize, Vec3::new(1500.0, -1100.0, 80.0)),
        (18, Vec3::new(-1300.0, 1400.0, -60.0)),
        (23, Vec3::new(900.0, 1600.0, 40.0)),
    ] {
        let f = &ds.frames[k];
        let truth = f.truth.unwrap();
        let px = trn_dataset::image::read_frame(&ds.dir.join(&f.image))
            .unwrap()
            .pixels;
        let prior = Prior {
            pose: trn::Pose::new(truth.position + off, f.prior.attitude),
            sigma_pos_m: 700.0, // 2.1 km at 3 sigma
            sigma_att_rad: f.prior_sigma_att_deg.to_radians(),
            time_s: f.t_s,
        };
        let mut nav = Navigator::new(db, cam, trn::NavConfig::default());
        let fix = nav.process(px, &prior, None);
        let err = (fix.pose.position - truth.position).norm();
        eprintln!(
            "frame {k} at {:.0} m, prior off {:.0} m: {:?}, acquisition {:?}, error {err:.1} m, {:.0} ms acquisition",
            truth.position.z,
            off.norm(),
            fix.status,
            fix.acquisition,
            fix.times.acquisition_ms
        );
        assert!(fix.acquisition.ran(), "frame {k}: acquisition did not run");
        assert_eq!(fix.status, trn::FixStatus::Fix, "frame {k}");
        assert!(err < 10.0, "frame {k}: error {err} m");
        tried += 1;
    }
    assert_eq!(tried, 3);
}

/// Along the shipped descent, once the filter's predictions have passed their tests
/// against three fixes, the prior corrected by the fixes so far is metres from the truth
/// where the inertial one is ~150-210 m, and within its own 3 sigma: the filter of the
/// inertial error predicts each frame honestly (the frames are 8 s apart, the prior's sigma
/// grows by ~1.5-10 m a frame, the error itself by centimetres to metres).
#[test]
fn the_corrected_prior_is_tight_and_honest() {
    use trn::Navigator;
    let ds = trn_dataset::dataset::Dataset::read(&dataset()).unwrap();
    let bytes = shipped_map(&ds);
    let db = trn::MapDb::parse(&bytes).unwrap();
    let cam = ds.meta.camera.camera().unwrap();
    let mut nav = Navigator::new(db, cam, trn::NavConfig::default());
    let mut widest: f64 = 0.0;
    for (k, f) in ds.frames.iter().enumerate() {
        let prior = trn_eval::frame_prior(f);
        let corrected = nav.corrected_prior(&prior);
        let truth = f.truth.unwrap().position;
        if k >= 4 {
            assert_ne!(corrected, prior, "frame {k}: the filter does not hold");
            let d = corrected.pose.position - truth;
            let worst = d.x.abs().max(d.y.abs()).max(d.z.abs());
            assert!(
                worst <= 3.0 * corrected.sigma_pos_m,
                "frame {k}: {d:?} vs sigma {}",
                corrected.sigma_pos_m
            );
            widest = widest.max(corrected.sigma_pos_m);
        }
        let px = trn_dataset::image::read_frame(&ds.dir.join(&f.image))
            .unwrap()
            .pixels;
        let fix = nav.process(px, &prior, f.lrf_range_m);
        assert_eq!(fix.status, FixStatus::Fix, "frame {k}");
    }
    eprintln!("corrected prior sigma from frame 4 on: at most {widest:.2} m");
    assert!(widest < 10.0, "corrected prior sigma up to {widest} m");
}
