//! Altitude above the DEM, slant range by ray march from 10 km, and one rangefinder
//! monitor update (13 ray marches) on a 1024x1024 DEM.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use trn_flight::dem::{Grid, Heightfield};
use trn_flight::rangefinder::{RangefinderConfig, RangefinderMonitor};
use trn_flight::{Mat6, Pose, Quat, Vec3};

fn bench(c: &mut Criterion) {
    let n = 1024usize;
    let cell = 20.0;
    let half = (n as f64 - 1.0) * cell / 2.0;
    let grid = Grid {
        width: n,
        height: n,
        stride: n,
        x0: -half,
        y0: half,
        dx: cell,
        dy: -cell,
        radius: 1_737_400.0,
    };
    let data: Vec<f32> = (0..n * n)
        .map(|i| {
            let (x, y) = ((i % n) as f64 * cell, (i / n) as f64 * cell);
            (300.0 * (x / 1700.0).sin() * (y / 2300.0).cos() + 80.0 * (x / 310.0 + y / 270.0).sin())
                as f32
        })
        .collect();
    let dem = Heightfield::new(&data, grid, None).unwrap();
    let nadir = Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::PI);
    let tilt = Quat::from_axis_angle(Vec3::new(0.0, 1.0, 0.0), 0.3);
    let pose = Pose::new(Vec3::new(-2000.0, 1500.0, 10_000.0), tilt.mul_quat(nadir));
    let mut g = c.benchmark_group("altitude");
    g.bench_function("altitude_above_dem", |b| {
        b.iter(|| dem.altitude(black_box(pose.position)).map(|a| a.altitude))
    });
    g.bench_function("slant_range_from_10km", |b| {
        b.iter(|| {
            dem.ray_cast(
                black_box(pose.position),
                black_box(pose.boresight()),
                40_000.0,
            )
            .map(|h| h.range)
        })
    });
    let cov = Mat6::from_diagonal([100.0, 100.0, 100.0, 1e-6, 1e-6, 1e-6]);
    let mut mon = RangefinderMonitor::new(RangefinderConfig::default());
    let z = mon.predict(&pose, &dem).unwrap().range;
    g.bench_function("rangefinder_monitor_update", |b| {
        b.iter(|| mon.update(black_box(Some(z)), &pose, &cov, &dem).nis)
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
