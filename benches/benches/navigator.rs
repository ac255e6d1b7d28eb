//! One navigation frame: a 1024 x 1024 descent image at 3 km over a 6 km cratered site
//! (4 m map), with a tight prior (fine matching only) and with a 150 m prior (coarse stage
//! first). `TRN_BENCH_THREADS=1` runs it on one core. The `flight_*` cases run the flight
//! build's path instead (trn-flight alone: its pyramid, one thread, caller buffers);
//! `*_one_fine_pass` leaves out the fine stage's refinement pass, to show its cost;
//! `predict_200_of_map` times landmark prediction alone.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use trn::{NavConfig, Navigator, Prior};
use trn_flight::camera::{Camera, Distortion};
use trn_flight::frames::{MOON_RADIUS_M, SiteFrame};
use trn_flight::mapdb::MapDb;
use trn_flight::{Pose, Quat, Vec3};
use trn_map::build::BuildParams;
use trn_map::render::Sun;
use trn_map::site_dem::resample_image_on_site;
use trn_map::{Interpolation, resample_to_site};
use trn_sim::camera_render::{Scene, Sensor, render_frame};
use trn_sim::site::{Projection, SiteSpec, make_site};
use trn_sim::terrain::TerrainParams;
use trn_sim::trajectory::look_rotation;

fn bench(c: &mut Criterion) {
    if let Some(n) = std::env::var("TRN_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let sun = Sun {
        azimuth_deg: 135.0,
        elevation_deg: 12.0,
    };
    let site = make_site(&SiteSpec {
        terrain: TerrainParams {
            seed: 11,
            size_m: 6000.0,
            gsd_m: 4.0,
            ..TerrainParams::default()
        },
        lat_deg: -20.0,
        lon_deg: 30.0,
        projection: Projection::Equirectangular,
        ortho_sun: sun,
        fine_ortho: None,
        ortho_law: Default::default(),
    })
    .expect("site");
    let frame = SiteFrame::from_degrees(-20.0, 30.0, MOON_RADIUS_M).expect("frame");
    let sd = resample_to_site(
        &site.dem,
        &frame,
        5600.0,
        5600.0,
        4.0,
        Interpolation::Bicubic,
    )
    .expect("site dem");
    let albedo_raster = trn_map::Raster {
        data: site.terrain.albedo.clone(),
        ..site.dem.clone()
    };
    let albedo = resample_image_on_site(&albedo_raster, &frame, &sd, Interpolation::Bilinear)
        .expect("albedo");
    let scene = Scene::new(&sd, Some(&albedo), sun).expect("scene");
    let mut p = BuildParams::new(-20.0, 30.0, 5600.0, 5600.0, 4.0, sun);
    p.landmarks.max_landmarks = 1500;
    let built = trn_map::build(&site.dem, None, &p, &()).expect("map");
    let bytes = trn_map::mapdb::to_bytes(&built.contents()).expect("bytes");
    let db = MapDb::parse(&bytes).expect("db");

    let f = 512.0 / (22.5f64).to_radians().tan();
    let cam = Camera::new(1024, 1024, f, f, 511.5, 511.5, Distortion::default()).expect("camera");
    let bore = Vec3::new(0.1, 0.15, -1.0);
    let truth = Pose::new(
        Vec3::new(-200.0, -300.0, 3000.0),
        look_rotation(bore, Vec3::new(0.0, -1.0, 0.0)).expect("pose"),
    );
    let img = render_frame(&[&scene], &cam, &truth, &Sensor::default(), 3).expect("frame");
    let pixels: Vec<f32> = img.pixels.iter().map(|v| f32::from(*v)).collect();
    let priors = [
        ("prior_10m_150_landmarks", 10.0, Vec3::new(6.0, -8.0, 4.0)),
        (
            "prior_10m_150_landmarks_one_fine_pass",
            10.0,
            Vec3::new(6.0, -8.0, 4.0),
        ),
        ("prior_10m", 10.0, Vec3::new(6.0, -8.0, 4.0)),
        ("prior_150m", 150.0, Vec3::new(120.0, -90.0, 60.0)),
        (
            "prior_700m_acquisition",
            700.0,
            Vec3::new(1100.0, -900.0, 50.0),
        ),
    ];
    let mut g = c.benchmark_group("navigator_1024");
    g.sample_size(20);
    for (name, sigma, err) in priors {
        let prior = Prior {
            pose: Pose::new(
                truth.position + err,
                truth
                    .attitude
                    .mul_quat(Quat::from_rotation_vector(Vec3::new(4e-4, -3e-4, 2e-4))),
            ),
            sigma_pos_m: sigma,
            sigma_att_rad: 1e-3,
            time_s: 0.0,
        };
        let mut cfg = NavConfig::default();
        if name.contains("150_landmarks") {
            cfg.predict.max_landmarks = 150;
        }
        if name.ends_with("one_fine_pass") {
            // Without the refinement pass (windows re-warped by the first pose).
            cfg.fine_passes = 1;
        }
        let mut nav = Navigator::new(db, cam, cfg);
        let fix = nav.process(pixels.clone(), &prior, None);
        eprintln!(
            "{name}: {:?} (acquisition {:?}, coarse stage inliers {:?}), {} predicted, {} matched, {} inliers, error {:.2} m, stages {:?}",
            fix.status,
            fix.acquisition,
            fix.coarse_inliers,
            fix.predicted,
            fix.matched,
            fix.inliers,
            (fix.pose.position - truth.position).norm(),
            fix.times
        );
        // One navigator for every iteration, reset between frames: the steady state of a
        // descent, where the frame buffers are reused.
        let mut nav = Navigator::new(db, cam, cfg);
        g.bench_function(name, |b| {
            b.iter_batched(
                || pixels.clone(),
                |px| {
                    nav.reset();
                    nav.process(px, &prior, None)
                },
                BatchSize::LargeInput,
            )
        });
    }
    // The flight path on the same frame: pyramid into caller buffers, sequential matching.
    for (name, max_landmarks) in [
        ("flight_prior_10m_150_landmarks", 150),
        ("flight_prior_10m", 200),
    ] {
        use trn_flight::matching::MatchScratch;
        use trn_flight::pipeline::{FrameNavigator, Sequential, Workspace};
        use trn_flight::pyramid::{Pyramid, buffer_len, scratch_len};
        let prior = Prior {
            pose: Pose::new(
                truth.position + Vec3::new(6.0, -8.0, 4.0),
                truth
                    .attitude
                    .mul_quat(Quat::from_rotation_vector(Vec3::new(4e-4, -3e-4, 2e-4))),
            ),
            sigma_pos_m: 10.0,
            sigma_att_rad: 1e-3,
            time_s: 0.0,
        };
        let mut cfg = NavConfig::default();
        cfg.predict.max_landmarks = max_landmarks;
        let mut nav = FrameNavigator::new(&db, cam, cfg);
        let mut ws = Box::new(Workspace::new());
        let mut scratch = Box::new(MatchScratch::new());
        let mut levels = vec![0.0f32; buffer_len(1024, 1024, cfg.frame_levels)];
        let mut tmp = vec![0.0f32; scratch_len(1024, 1024)];
        g.bench_function(name, |b| {
            b.iter(|| {
                nav.reset();
                let pyr =
                    Pyramid::build(&pixels, 1024, 1024, cfg.frame_levels, &mut levels, &mut tmp)
                        .expect("pyramid");
                let mut exec = Sequential {
                    scratch: &mut scratch,
                };
                nav.process(&pyr, &prior, None, &mut ws, &mut exec).status
            })
        });
    }
    // Prediction alone (every landmark of the map projected, the windows fitted corner by
    // corner): more landmarks are in view than kept, so the second, striding pass runs too.
    {
        use trn_flight::predict::{PredictConfig, Prediction, predict};
        let lms = db.landmarks().expect("landmarks");
        let cfg = PredictConfig {
            max_landmarks: 200,
            ..PredictConfig::default()
        };
        let mut out = [Prediction::default(); 256];
        let n = predict(&lms, &cam, &truth, 10.0, 1e-3, &cfg, &mut out);
        eprintln!("predict: {} landmarks in the map, {n} kept", lms.len());
        g.bench_function("predict_200_of_map", |b| {
            b.iter(|| predict(&lms, &cam, &truth, 10.0, 1e-3, &cfg, &mut out))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
