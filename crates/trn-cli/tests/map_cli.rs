//! `trn map build` and `trn map info` end to end: a DEM GeoTIFF in, a database out that the
//! flight parser accepts, and bad input refused with exit code 2, a message naming what is
//! wrong, and no output left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use trn_flight::frames::MOON_RADIUS_M as R;
use trn_flight::rng::Pcg32;
use trn_map::raster::SampleType;
use trn_map::{Crs, GeoTransform, Raster, geotiff};

fn trn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trn"))
        .args(args)
        .output()
        .expect("run trn")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("trn-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A south polar stereographic DEM near the pole: Gaussian pits and mounds on a tilt, 8 m
/// pixels over 12 km.
fn write_dem(path: &Path) {
    let crs = Crs::PolarStereographic {
        radius_m: R,
        south: true,
        scale: 1.0,
        lon0_deg: 0.0,
        false_easting: 0.0,
        false_northing: 0.0,
    };
    let (cx, cy) = crs.forward(-87.0, 40.0);
    let n = 1500;
    let px = 8.0;
    let gt = GeoTransform([cx - 6000.0, px, 0.0, cy + 6000.0, 0.0, -px]);
    let mut rng = Pcg32::new(21, 3);
    let bumps: Vec<(f64, f64, f64, f64)> = (0..900)
        .map(|_| {
            let s = 15.0 + 150.0 * rng.next_f64().powi(3);
            let amp = if rng.below(4) == 0 { 0.3 } else { -0.4 } * s;
            (
                (rng.next_f64() - 0.5) * 12_000.0,
                (rng.next_f64() - 0.5) * 12_000.0,
                s,
                amp,
            )
        })
        .collect();
    let data = (0..n * n)
        .map(|i| {
            let (x, y) = gt.pixel_centre((i % n) as f64, (i / n) as f64);
            let (dx, dy) = (x - cx, y - cy);
            let mut h = 0.01 * dx;
            for &(bx, by, s, a) in &bumps {
                let d2 = ((dx - bx).powi(2) + (dy - by).powi(2)) / (s * s);
                if d2 < 16.0 {
                    h += a * (-d2).exp();
                }
            }
            h as f32
        })
        .collect();
    let r = Raster {
        width: n,
        height: n,
        data,
        nodata: None,
        scale: 1.0,
        offset: 0.0,
        transform: gt,
        crs,
        sample: SampleType::F32,
    };
    geotiff::write(path, &r).unwrap();
}

fn json(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

#[test]
fn build_then_info_agree_and_the_flight_parser_accepts_the_map() {
    let d = tmpdir("build");
    let dem = d.join("dem.tif");
    write_dem(&dem);
    let map = d.join("site.trnmap");
    let o = trn(&[
        "map",
        "build",
        "--dem",
        dem.to_str().unwrap(),
        "--site",
        "-87,40",
        "--size-m",
        "8000,6000",
        "--gsd-m",
        "10",
        "--sun-az-deg",
        "200",
        "--sun-el-deg",
        "3",
        "-o",
        map.to_str().unwrap(),
        "--json",
    ]);
    let b = json(&o);
    let n = b["landmarks"].as_u64().unwrap();
    assert!(n >= 50, "{b}");
    assert_eq!(b["grid"], serde_json::json!([801, 601]));

    let i = json(&trn(&["map", "info", map.to_str().unwrap(), "--json"]));
    assert_eq!(i["landmarks"]["count"].as_u64(), Some(n));
    assert_eq!(i["landmarks"]["template_side"].as_u64(), Some(21));
    assert_eq!(i["site_lat_deg"].as_f64(), Some(-87.0));
    assert_eq!(i["sun_el_deg"].as_f64(), Some(3.0));
    assert_eq!(i["dem"]["missing"].as_u64(), Some(0));
    assert_eq!(i["bytes"], b["bytes"]);

    let bytes = std::fs::read(&map).unwrap();
    let db = trn_flight::mapdb::MapDb::parse(&bytes).unwrap();
    assert_eq!(db.landmarks().unwrap().len() as u64, n);

    // Text output names the file and says the checksums passed.
    let o = trn(&["map", "info", map.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("checksums ok") && text.contains("landmarks"),
        "{text}"
    );
}

fn refused(args: &[&str], needles: &[&str]) {
    let o = trn(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: '{n}' not in: {err}");
    }
}

#[test]
fn bad_input_is_refused_with_exit_code_2_and_no_output() {
    let d = tmpdir("bad");
    let dem = d.join("dem.tif");
    write_dem(&dem);
    let dem = dem.to_str().unwrap();
    let out = d.join("out.trnmap");
    let o = out.to_str().unwrap();
    let base = |site: &'static str, size: &'static str| {
        vec![
            "map",
            "build",
            "--dem",
            dem,
            "--site",
            site,
            "--size-m",
            size,
            "--gsd-m",
            "10",
            "--sun-az-deg",
            "0",
            "--sun-el-deg",
            "5",
            "-o",
            o,
        ]
    };
    refused(&base("-87", "4000,4000"), &["--site", "two numbers"]);
    refused(&base("-87,40", "4000"), &["--size-m"]);
    // A site far outside the DEM.
    refused(&base("-80,40", "4000,4000"), &["dem.tif", "DEM coverage"]);
    // A map wider than the DEM.
    refused(&base("-87,40", "30000,4000"), &["DEM coverage"]);
    let mut a = base("-87,40", "4000,4000");
    a[13] = "-2";
    refused(&a, &["sun elevation"]);
    let mut a = base("-87,40", "4000,4000");
    a[3] = "/nonexistent/dem.tif";
    refused(&a, &["/nonexistent/dem.tif"]);
    let mut a = base("-87,40", "4000,4000");
    a.extend(["--template-side", "20"]);
    refused(&a, &["template_side", "20"]);
    assert!(!out.exists(), "output written despite the error");
    let leftovers: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    // A corrupted database is named with the parser's verdict.
    let map = d.join("bad.trnmap");
    std::fs::write(&map, b"TRNMAP\n\0garbage").unwrap();
    refused(
        &["map", "info", map.to_str().unwrap()],
        &["bad.trnmap", "truncated"],
    );
    // Not a GeoTIFF (without the gdal feature) is named too.
    let txt = d.join("dem.txt");
    std::fs::write(&txt, "not a raster").unwrap();
    let mut a = base("-87,40", "4000,4000");
    a[3] = txt.to_str().unwrap();
    refused(&a, &["dem.txt"]);
}

#[test]
fn help_documents_options_and_units() {
    let o = trn(&["map", "build", "--help"]);
    let h = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "--dem",
        "--ortho",
        "--site",
        "degrees",
        "--size-m",
        "metres",
        "--gsd-m",
        "--sun-az-deg",
        "clockwise from north",
        "--sun-el-deg",
        "--output",
    ] {
        assert!(h.contains(needle), "'{needle}' missing from --help");
    }
}
