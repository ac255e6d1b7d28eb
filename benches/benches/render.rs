//! Map rendering: lunar-Lambert shading with cast shadows of a 2048x2048 DEM.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use trn_flight::dem::Grid;
use trn_map::SiteDem;
use trn_map::render::{Sun, cast_shadows, render};

fn bench(c: &mut Criterion) {
    let n = 2048usize;
    let cell = 5.0;
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
    let data = (0..n * n)
        .map(|i| {
            let (x, y) = ((i % n) as f64 * cell, (i / n) as f64 * cell);
            (200.0 * (x / 900.0).sin() * (y / 1300.0).cos() + 30.0 * (x / 170.0 + y / 230.0).sin())
                as f32
        })
        .collect();
    let dem = SiteDem {
        grid,
        data,
        missing: 0,
    };
    let mut g = c.benchmark_group("render_2048");
    g.sample_size(10);
    for (name, sun) in [
        (
            "sun_el_1.5_az_135",
            Sun {
                azimuth_deg: 135.0,
                elevation_deg: 1.5,
            },
        ),
        (
            "sun_el_20_az_90",
            Sun {
                azimuth_deg: 90.0,
                elevation_deg: 20.0,
            },
        ),
    ] {
        g.bench_function(format!("shadows_{name}"), |b| {
            b.iter(|| cast_shadows(black_box(&dem), sun))
        });
        g.bench_function(format!("render_with_shadows_{name}"), |b| {
            b.iter(|| render(black_box(&dem), sun, None, true))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
