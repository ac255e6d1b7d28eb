//! Robust pose (LO-RANSAC + refinement + covariance) on 500 correspondences.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use trn_benches::{FOCAL_PX, pose_scene};
use trn_flight::robust::{RansacConfig, estimate_pose};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("robust_pose_500");
    for outliers in [0.05, 0.3, 0.5] {
        let s = pose_scene(500, outliers, 3000.0, 42);
        let mut mask = vec![false; s.image.len()];
        let cfg = RansacConfig::new(FOCAL_PX);
        g.bench_function(
            format!("outliers_{:02}pct", (outliers * 100.0) as u32),
            |b| {
                b.iter(|| {
                    estimate_pose(black_box(&s.image), black_box(&s.world), &mut mask, &cfg)
                        .map(|e| e.inliers)
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
