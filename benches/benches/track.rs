//! Frame-to-frame tracking below the map's reach, on the shipped descent's frames 57 -> 58
//! (76 m -> 60 m, 512 x 512): registration over altitudes, tracking with its refinement
//! pass, tracking and the inherited covariance together, and the whole frame on the flight path (the map's
//! attempt, which finds too few landmarks, then tracking; one thread, caller buffers).
//! Run with `cargo bench -p trn-benches --bench track`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::path::PathBuf;
use trn::FramePyramid;
use trn_dataset::dataset::Dataset;
use trn_eval::EvalOptions;
use trn_eval::map::build_map;
use trn_flight::mapdb::MapDb;
use trn_flight::matching::MatchScratch;
use trn_flight::pipeline::{FrameNavigator, NavConfig, Prior, Sequential, Workspace};
use trn_flight::track::{
    FixedFrame, TrackConfig, TrackScratch, inherited_covariance, register, track_pose,
};
use trn_flight::{Mat6, Pose, Vec3};

fn bench(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/default-descent");
    let ds = Dataset::read(&dir).expect("dataset");
    let bytes = build_map(&ds, &EvalOptions::default(), None).expect("shipped map");
    let db = MapDb::parse(&bytes).expect("map database");
    let dem = db.dem().and_then(|g| g.heightfield().ok()).expect("DEM");
    let camera = ds.meta.camera.camera().expect("camera");
    let (w, h) = (camera.width() as usize, camera.height() as usize);
    let pyramid = |k: usize| {
        let px = trn_dataset::image::read_frame(&ds.dir.join(&ds.frames[k].image))
            .expect("frame")
            .pixels;
        let mut p = FramePyramid::default();
        p.rebuild(w, h, px, NavConfig::default().frame_levels)
            .expect("pyramid");
        p
    };
    let (a, b) = (57, 58);
    let (pa, pb) = (pyramid(a), pyramid(b));
    let (ta, tb) = (
        ds.frames[a].truth.expect("truth"),
        ds.frames[b].truth.expect("truth"),
    );
    let cov = Mat6::from_diagonal([0.25, 0.25, 0.25, 1e-6, 1e-6, 1e-6]);
    let prev = FixedFrame {
        pyramid: pa.view(),
        pose: ta,
        covariance: cov,
        time_s: ds.frames[a].t_s,
    };
    // A prior as the navigator has it there: metres off, tens of metres uncertain.
    let prior = Pose::new(tb.position + Vec3::new(4.0, -3.0, 5.0), tb.attitude);
    let cfg = TrackConfig::default();
    let mut scratch = Box::new(TrackScratch::new());
    let mut g = c.benchmark_group("track");
    let reg = |scratch: &mut TrackScratch| {
        register(
            &prev,
            &pb.view(),
            &prior,
            30.0,
            &camera,
            &dem,
            &cfg,
            scratch,
        )
    };
    g.bench_function("register_76_to_60m", |bch| bch.iter(|| reg(&mut scratch)));
    let (guess, _) = reg(&mut scratch).expect("registered");
    let track = |scratch: &mut TrackScratch| {
        track_pose(
            &prev,
            &pb.view(),
            &guess,
            None,
            &camera,
            &dem,
            &cfg,
            scratch,
        )
    };
    g.bench_function("track_pose_76_to_60m", |bch| {
        bch.iter(|| track(&mut scratch))
    });
    g.bench_function("track_pose_and_inherited_covariance_76_to_60m", |bch| {
        bch.iter(|| {
            let t = track(&mut scratch).expect("tracked");
            inherited_covariance(&prev, &t, &camera, &dem, 0.7, &cfg, &mut scratch)
        })
    });
    // The whole frame on the flight path.
    let mut nav = FrameNavigator::new(&db, camera, NavConfig::default());
    let mut ws = Box::new(Workspace::new());
    let mut ms = Box::new(MatchScratch::new());
    let raw = Prior {
        pose: ds.frames[b].prior,
        sigma_pos_m: ds.frames[b].prior_sigma_pos_m,
        sigma_att_rad: ds.frames[b].prior_sigma_att_deg.to_radians(),
        time_s: ds.frames[b].t_s,
    };
    let fed = Prior {
        pose: prior,
        sigma_pos_m: 10.0,
        ..raw
    };
    g.bench_function("flight_frame_tracked_60m", |bch| {
        bch.iter(|| {
            nav.reset();
            let f = nav.process_with_fixed(
                &pb.view(),
                &fed,
                None,
                Some(&prev),
                &mut ws,
                &mut Sequential { scratch: &mut ms },
            );
            assert!(f.tracked > 0, "not tracked");
            f.status
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
