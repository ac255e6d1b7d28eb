//! DEM heightfield: closed forms on flat and planar terrain with the sphere's curvature,
//! errors, and a property test of the ray march.

mod common;

use proptest::prelude::*;
use trn_flight::Vec3;
use trn_flight::dem::{DemError, Grid, Heightfield};

const R: f64 = 1_737_400.0;

fn grid(n: usize, cell: f64) -> Grid {
    let half = (n as f64 - 1.0) * cell / 2.0;
    Grid {
        width: n,
        height: n,
        stride: n,
        x0: -half,
        y0: half,
        dx: cell,
        dy: -cell,
        radius: R,
    }
}

/// Exact first intersection of a ray with the sphere of radius R + h (centre at -R ez).
fn sphere_hit(o: Vec3, d: Vec3, h: f64) -> f64 {
    let c = Vec3::new(o.x, o.y, o.z + R);
    let b = c.dot(d);
    let disc = b * b - (c.norm_squared() - (R + h) * (R + h));
    -b - disc.sqrt()
}

#[test]
fn flat_terrain_altitude_and_slant_range_are_exact_with_curvature() {
    let data = vec![-1234.5f32; 512 * 512];
    let dem = Heightfield::new(&data, grid(512, 60.0), None).unwrap();
    // Far from the origin the local vertical is tilted by x / R: the altitude is still the
    // height difference, and the slant range follows the curved surface.
    for p in [
        Vec3::new(0.0, 0.0, 3000.0),
        Vec3::new(12_000.0, -9_000.0, 500.0),
        Vec3::new(-14_000.0, 14_000.0, 8000.0),
    ] {
        let a = dem.altitude(p).unwrap();
        let h_p = dem.height_of(p);
        assert!((a.altitude - (h_p + 1234.5)).abs() < 1e-6, "{a:?}");
        assert!((a.ground_height + 1234.5).abs() < 1e-9);
        // Beams leaning towards the map centre so they meet the ground on the map.
        let (sx, sy) = (-p.x.signum(), -p.y.signum());
        for d in [
            Vec3::new(0.0, 0.0, -1.0),
            Vec3::new(0.3 * sx, 0.2 * sy, -1.0),
            Vec3::new(0.6 * sx, 0.1 * sy, -0.5),
        ] {
            let d = d.try_normalize().unwrap();
            let hit = dem.ray_cast(p, d, 50_000.0).unwrap();
            let want = sphere_hit(p, d, -1234.5);
            assert!(
                (hit.range - want).abs() < 0.01,
                "range {} vs {}",
                hit.range,
                want
            );
        }
    }
    // Curvature is not negligible: 15 km out, the surface is 65 m below the tangent plane.
    let z = dem.surface_z(15_000.0, 0.0, 0.0);
    assert!((z + 64.75).abs() < 0.1, "{z}");
}

#[test]
fn planar_slope_is_reproduced_by_the_bilinear_surface() {
    let n = 200;
    let g = grid(n, 10.0);
    let data: Vec<f32> = (0..n * n)
        .map(|i| {
            let (c, r) = ((i % n) as f64, (i / n) as f64);
            let (x, y) = (g.x0 + c * g.dx, g.y0 + r * g.dy);
            (100.0 + 0.2 * x - 0.1 * y) as f32
        })
        .collect();
    let dem = Heightfield::new(&data, g, None).unwrap();
    let (h, grad) = dem.height_and_gradient(123.4, -321.0).unwrap();
    assert!((h - (100.0 + 0.2 * 123.4 + 0.1 * 321.0)).abs() < 1e-3);
    assert!((grad[0] - 0.2).abs() < 1e-6 && (grad[1] + 0.1).abs() < 1e-6);
    let hit = dem
        .ray_cast(
            Vec3::new(0.0, 0.0, 2000.0),
            Vec3::new(0.1, 0.2, -1.0),
            10_000.0,
        )
        .unwrap();
    let hp = dem.height_of(hit.point);
    let hs = dem.height_at(hit.point.x, hit.point.y).unwrap();
    assert!((hp - hs).abs() < 0.01);
    let n_expected = Vec3::new(-0.2, 0.1, 1.0).try_normalize().unwrap();
    assert!((hit.normal - n_expected).norm() < 1e-6);
}

#[test]
fn errors_are_typed() {
    let mut data = vec![0.0f32; 100 * 100];
    data[50 * 100 + 50] = -9999.0;
    let dem = Heightfield::new(&data, grid(100, 10.0), Some(-9999.0)).unwrap();
    assert_eq!(
        dem.altitude(Vec3::new(5000.0, 0.0, 100.0)).unwrap_err(),
        DemError::OffMap
    );
    assert_eq!(
        dem.altitude(Vec3::new(2.0, -2.0, 100.0)).unwrap_err(),
        DemError::NoData
    );
    assert_eq!(
        dem.ray_cast(
            Vec3::new(100.0, 100.0, 100.0),
            Vec3::new(0.0, 0.0, 1.0),
            1e4
        )
        .unwrap_err(),
        DemError::NoIntersection
    );
    assert_eq!(
        dem.ray_cast(
            Vec3::new(100.0, 100.0, -5.0),
            Vec3::new(0.0, 0.0, -1.0),
            1e4
        )
        .unwrap_err(),
        DemError::StartsBelowSurface
    );
    // A shallow ray leaves the map before meeting flat ground.
    assert_eq!(
        dem.ray_cast(Vec3::new(0.0, 0.0, 50.0), Vec3::new(1.0, 0.0, -0.01), 1e6)
            .unwrap_err(),
        DemError::OffMap
    );
    // A shallower one never meets the sphere at all: the ground curves away faster than
    // it descends (closest approach 49 m above the ground, 1.7 km out).
    assert_eq!(
        dem.ray_cast(Vec3::new(0.0, 0.0, 50.0), Vec3::new(1.0, 0.0, -0.001), 1e6)
            .unwrap_err(),
        DemError::NoIntersection
    );
    assert_eq!(
        dem.ray_cast(
            Vec3::new(100.0, 100.0, 100.0),
            Vec3::new(0.0, 0.0, -1.0),
            50.0
        )
        .unwrap_err(),
        DemError::NoIntersection
    );
    assert_eq!(
        dem.altitude(Vec3::new(f64::NAN, 0.0, 1.0)).unwrap_err(),
        DemError::NonFinite
    );
    let bad = Grid {
        dx: 0.0,
        ..grid(100, 10.0)
    };
    assert_eq!(
        Heightfield::new(&data, bad, None).unwrap_err(),
        DemError::BadGrid
    );
    assert_eq!(
        Heightfield::new(&data[..50], grid(100, 10.0), None).unwrap_err(),
        DemError::BadGrid
    );
}

fn rough_dem(seed: u64) -> Vec<f32> {
    let mut r = common::Rand::new(seed);
    let waves: Vec<(f64, f64, f64, f64)> = (0..8)
        .map(|_| {
            (
                r.uniform(-0.02, 0.02),
                r.uniform(-0.02, 0.02),
                r.uniform(0.0, 6.3),
                r.uniform(10.0, 80.0),
            )
        })
        .collect();
    let g = grid(256, 10.0);
    (0..256 * 256)
        .map(|i| {
            let (x, y) = (
                g.x0 + (i % 256) as f64 * g.dx,
                g.y0 + (i / 256) as f64 * g.dy,
            );
            waves
                .iter()
                .map(|(kx, ky, p, a)| a * (kx * x + ky * y + p).sin())
                .sum::<f64>() as f32
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ray_hit_lies_on_the_surface_and_nothing_earlier_is_below_it(
        seed in 0u64..20, ox in -800.0f64..800.0, oy in -800.0f64..800.0, oz in 400.0f64..3000.0,
        dx in -0.8f64..0.8, dy in -0.8f64..0.8,
    ) {
        let data = rough_dem(seed);
        let dem = Heightfield::new(&data, grid(256, 10.0), None).unwrap();
        let o = Vec3::new(ox, oy, oz);
        let d = Vec3::new(dx, dy, -1.0).try_normalize().unwrap();
        match dem.ray_cast(o, d, 20_000.0) {
            Ok(hit) => {
                let clear = dem.height_of(hit.point) - dem.height_at(hit.point.x, hit.point.y).unwrap();
                prop_assert!(clear.abs() < 0.01, "clearance at hit {}", clear);
                let mut s = 0.0;
                while s < hit.range - 0.05 {
                    let p = o + d * s;
                    let c = dem.height_of(p) - dem.height_at(p.x, p.y).unwrap();
                    prop_assert!(c > -0.01, "below the surface at {} before the hit at {}", s, hit.range);
                    s += 0.5;
                }
            }
            Err(e) => prop_assert_eq!(e, DemError::OffMap),
        }
    }
}
