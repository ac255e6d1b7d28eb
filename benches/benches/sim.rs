//! The simulator's heavy paths: terrain generation and descent-frame rendering.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use trn_flight::camera::{Camera, Distortion};
use trn_flight::dem::Grid;
use trn_flight::frames::MOON_RADIUS_M;
use trn_flight::{Pose, Vec3};
use trn_map::SiteDem;
use trn_map::render::Sun;
use trn_sim::camera_render::{Scene, Sensor, render_frame};
use trn_sim::terrain::{TerrainParams, generate};
use trn_sim::trajectory::look_rotation;

fn bench(c: &mut Criterion) {
    let p = TerrainParams {
        size_m: 4000.0,
        gsd_m: 2.0,
        ..TerrainParams::default()
    };
    let mut g = c.benchmark_group("sim");
    g.sample_size(10);
    g.bench_function("terrain_2001x2001", |b| b.iter(|| generate(black_box(&p))));
    let t = generate(&p);
    let half = (t.width as f64 - 1.0) * p.gsd_m / 2.0;
    let dem = SiteDem {
        grid: Grid {
            width: t.width,
            height: t.height,
            stride: t.width,
            x0: -half,
            y0: half,
            dx: p.gsd_m,
            dy: -p.gsd_m,
            radius: MOON_RADIUS_M,
        },
        data: t.heights.clone(),
        missing: 0,
    };
    let sun = Sun {
        azimuth_deg: 135.0,
        elevation_deg: 8.0,
    };
    g.bench_function("scene_prepare_2001x2001", |b| {
        b.iter(|| Scene::new(black_box(&dem), Some(&t.albedo), sun))
    });
    let scene = Scene::new(&dem, Some(&t.albedo), sun).expect("scene");
    let f = 512.0 / (22.5f64).to_radians().tan();
    let cam = Camera::new(1024, 1024, f, f, 511.5, 511.5, Distortion::default()).expect("camera");
    // 3 km up, 15 degrees off nadir: the whole frame on the map.
    let bore = Vec3::new(0.0, 0.26, -0.97);
    let pose = Pose::new(
        Vec3::new(0.0, -800.0, 3000.0),
        look_rotation(bore, Vec3::new(0.0, -1.0, 0.0)).expect("pose"),
    );
    g.bench_function("render_frame_1024", |b| {
        b.iter(|| render_frame(black_box(&[&scene]), &cam, &pose, &Sensor::default(), 1))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
