//! A real orbital image draped as albedo: a frame over it correlates with the source image
//! warped through the true pose (NCC above 0.6 over the central 96 x 96 pixels, both
//! high-passed), and a frame of the same descent without it does not (NCC within 0.2 of 0). Uses
//! the LRO NAC crop in ../shared/data (relative to the workspace root) and skips with a
//! message when it is absent.

use std::path::{Path, PathBuf};
use trn_dataset::dataset::{CameraJson, Dataset, DistortionJson};
use trn_dataset::image::read_frame;
use trn_map::render::Sun;
use trn_sim::albedo::{AlbedoImage, read_albedo};
use trn_sim::descent::{DescentSpec, simulate};
use trn_sim::sensors::{LrfParams, PriorParams};
use trn_sim::site::{Projection, SiteSpec, make_site_with, write_site};
use trn_sim::terrain::TerrainParams;
use trn_sim::trajectory::DescentParams;

fn nac() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/reader_tests/isis3/M143947267L.cal.echo.crop.cub");
    p.is_file().then_some(p)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("trn-albedo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A nearly flat equatorial site at the image's pixel size (map grid = site frame), and a
/// 2-frame descent from 120 m to 70 m under a high sun; returns the dataset directory.
fn descent(albedo: Option<&AlbedoImage>, name: &str) -> PathBuf {
    let site = make_site_with(
        &SiteSpec {
            terrain: TerrainParams {
                seed: 2,
                size_m: 400.0,
                gsd_m: 0.5,
                rms_slope_deg: 0.05,
                crater_density: 0.0,
                boulders: false,
                ..TerrainParams::default()
            },
            lat_deg: 0.0,
            lon_deg: 0.0,
            projection: Projection::Equirectangular,
            ortho_sun: Sun {
                azimuth_deg: 90.0,
                elevation_deg: 70.0,
            },
            fine_ortho: None,
            ortho_law: Default::default(),
        },
        albedo,
    )
    .unwrap();
    let site_dir = tmp(&format!("{name}-site"));
    write_site(&site_dir, &site).unwrap();
    let out = tmp(name);
    let spec = DescentSpec {
        name: name.into(),
        seed: 1,
        frames: 2,
        trajectory: DescentParams {
            start_alt_m: 120.0,
            end_alt_m: 70.0,
            uprange_m: 10.0,
            duration_s: 20.0,
            pointing_jitter_deg: 0.0,
            dispersion: 0.0,
            ..DescentParams::default()
        },
        camera: CameraJson {
            model: "pinhole".into(),
            width: 128,
            height: 128,
            fx: 154.5,
            fy: 154.5,
            cx: 63.5,
            cy: 63.5,
            distortion: DistortionJson::default(),
            sigma: None,
        },
        sensor: trn_sim::camera_render::Sensor::default(),
        sun: None,
        prior: PriorParams::default(),
        lrf: LrfParams::default(),
        dem_sigma_m: None,
        end_above_ground: false,
        map: Default::default(),
        frame_law: Default::default(),
        defects: Default::default(),
    };
    simulate(&site_dir, &spec, &out, &|_, _| {}).unwrap();
    let _ = std::fs::remove_dir_all(site_dir);
    out
}

/// NCC of each frame of `dir` with the source image sampled where its pixels' rays meet the
/// ground (the plane z = 0 of the nearly flat site) through the true pose.
fn ncc_with_source(dir: &Path, src: &AlbedoImage) -> Vec<f64> {
    let ds = Dataset::read(dir).unwrap();
    let cam = ds.meta.camera.camera().unwrap();
    let mirror = |x: f64, n: usize| {
        let last = (n - 1) as f64;
        let m = x.rem_euclid(2.0 * last);
        if m > last { 2.0 * last - m } else { m }
    };
    let (cw, ch) = (
        (src.width as f64 - 1.0) / 2.0,
        (src.height as f64 - 1.0) / 2.0,
    );
    ds.frames
        .iter()
        .map(|f| {
            let img = read_frame(&dir.join(&f.image)).unwrap();
            let pose = f.truth.unwrap();
            let rot = pose.attitude.to_mat3();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for r in 16..112 {
                for c in 16..112 {
                    let d = rot.mul_vec(cam.unproject(c as f64, r as f64).unwrap());
                    let t = -pose.position.z / d.z;
                    let (x, y) = (pose.position.x + t * d.x, pose.position.y + t * d.y);
                    let u = mirror(cw + x / src.pixel_m, src.width);
                    let v = mirror(ch - y / src.pixel_m, src.height);
                    let s = src.data[v.round() as usize * src.width + u.round() as usize];
                    if s.is_finite() {
                        a.push(f64::from(img.pixels[r * img.width + c]));
                        b.push(f64::from(s));
                    }
                }
            }
            // High-passed (less the 9 x 9 mean around each sample), so broad shading
            // gradients, which any two images can share by chance, do not count.
            let hp = |v: &[f64]| -> Vec<f64> {
                (0..96 * 96)
                    .map(|k| {
                        let (i, j) = ((k % 96) as i64, (k / 96) as i64);
                        let (mut s, mut n) = (0.0, 0.0);
                        for dj in -4..=4 {
                            for di in -4..=4 {
                                let (x, y) = ((i + di).clamp(0, 95), (j + dj).clamp(0, 95));
                                s += v[(y * 96 + x) as usize];
                                n += 1.0;
                            }
                        }
                        v[k] - s / n
                    })
                    .collect()
            };
            assert_eq!(a.len(), 96 * 96, "source samples without data");
            let (a, b) = (hp(&a), hp(&b));
            let n = a.len() as f64;
            let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
            let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
            for (x, y) in a.iter().zip(&b) {
                sab += (x - ma) * (y - mb);
                saa += (x - ma).powi(2);
                sbb += (y - mb).powi(2);
            }
            sab / (saa * sbb).sqrt()
        })
        .collect()
}

#[test]
fn frames_over_a_draped_image_correlate_with_it() {
    let Some(path) = nac() else {
        println!(
            "skipped: ../shared/data/reader_tests/isis3/M143947267L.cal.echo.crop.cub is absent"
        );
        return;
    };
    let src = read_albedo(&path, Some(0.5)).unwrap();
    assert_eq!((src.width, src.height), (400, 400));
    let with = descent(Some(&src), "with");
    let without = descent(None, "without");
    let (a, b) = (
        ncc_with_source(&with, &src),
        ncc_with_source(&without, &src),
    );
    println!("NCC with the draped image {a:?}, without {b:?}");
    for (k, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            *x > 0.6,
            "frame {k} over the draped image: NCC {x:.3} with it"
        );
        assert!(y.abs() < 0.2, "frame {k} without it: NCC {y:.3} with it");
    }
    for d in [with, without] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn unreadable_or_unsized_albedo_images_are_refused_naming_the_file() {
    let dir = tmp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("junk.png");
    std::fs::write(&p, b"not an image").unwrap();
    let e = read_albedo(&p, Some(1.0)).unwrap_err().to_string();
    assert!(e.contains("junk.png"), "{e}");
    if let Some(cube) = nac() {
        let e = read_albedo(&cube, None).unwrap_err().to_string();
        assert!(e.contains("--albedo-pixel-m"), "{e}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
