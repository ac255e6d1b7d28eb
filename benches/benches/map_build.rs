//! Building a map database: resampling an orbital DEM onto the site grid, choosing
//! landmarks, the whole build, and writing and parsing the database (1025x1025 map at 2 m).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use trn_benches::crater_dem_raster;
use trn_flight::frames::{MOON_RADIUS_M, SiteFrame};
use trn_flight::image::{Image, reduce_levels};
use trn_flight::mapdb::MapDb;
use trn_map::build::{BuildParams, build};
use trn_map::render::{Sun, render, site_z};
use trn_map::{Interpolation, landmarks, mapdb, resample_to_site};

fn bench(c: &mut Criterion) {
    let dem = crater_dem_raster(2600.0, 1.0, 5);
    let site = SiteFrame::from_degrees(0.0, 0.0, MOON_RADIUS_M).expect("site");
    let sun = Sun {
        azimuth_deg: 135.0,
        elevation_deg: 10.0,
    };
    let p = BuildParams::new(0.0, 0.0, 2048.0, 2048.0, 2.0, sun);
    let mut g = c.benchmark_group("map_build_1025");
    g.sample_size(10);
    g.bench_function("resample_dem_bicubic", |b| {
        b.iter(|| {
            resample_to_site(
                black_box(&dem),
                &site,
                2048.0,
                2048.0,
                2.0,
                Interpolation::Bicubic,
            )
        })
    });
    let sd = resample_to_site(&dem, &site, 2048.0, 2048.0, 2.0, Interpolation::Bicubic)
        .expect("resample");
    let img = render(&sd, sun, None, true);
    let pyr = reduce_levels(
        Image {
            width: sd.grid.width,
            height: sd.grid.height,
            data: img,
        },
        3,
    );
    let z = site_z(&sd);
    g.bench_function("select_landmarks", |b| {
        b.iter(|| landmarks::select(black_box(&pyr), &sd, &z, &p.landmarks))
    });
    g.bench_function("full_build", |b| {
        b.iter(|| build(black_box(&dem), None, &p, &()))
    });
    let built = build(&dem, None, &p, &()).expect("build");
    let bytes = mapdb::to_bytes(&built.contents()).expect("bytes");
    g.bench_function("to_bytes", |b| {
        b.iter(|| mapdb::to_bytes(black_box(&built.contents())))
    });
    g.bench_function(format!("flight_parse_{}kB", bytes.len() / 1000), |b| {
        b.iter(|| MapDb::parse(black_box(&bytes)).map(|db| db.landmarks().map(|l| l.len())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
