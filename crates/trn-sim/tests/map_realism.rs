//! The dataset's map made worse than the truth: a misregistration moves the written
//! orthoimage by what it says (offset, and rotation and scale at a point, to 0.1 px), the
//! declared registration sigma is the actual 1-sigma of the displacement, an orthoimage under
//! an offset sun is a render under that sun, and a degraded DEM's declared sigma is its
//! measured RMS difference from the truth.

use std::path::{Path, PathBuf};
use trn_dataset::dataset::{CameraJson, Dataset, DistortionJson};
use trn_map::render::Sun;
use trn_map::{Raster, geotiff};
use trn_sim::descent::{DescentSpec, simulate};
use trn_sim::detail::Detail;
use trn_sim::map_realism::{
    DemErrors, DrawnRegistration, MapRealism, OrthoConditions, Registration, render_ortho,
};
use trn_sim::photometry::Law;
use trn_sim::sensors::{LrfParams, PriorParams};
use trn_sim::site::{Projection, SiteSpec, make_site, read_site_info, write_site};
use trn_sim::terrain::TerrainParams;
use trn_sim::trajectory::DescentParams;

const SUN: Sun = Sun {
    azimuth_deg: 135.0,
    elevation_deg: 20.0,
};

fn spec(sun: Sun) -> SiteSpec {
    SiteSpec {
        terrain: TerrainParams {
            seed: 4,
            size_m: 3000.0,
            gsd_m: 10.0,
            ..TerrainParams::default()
        },
        lat_deg: -84.0,
        lon_deg: 40.0,
        projection: Projection::Polar,
        ortho_sun: sun,
        fine_ortho: None,
        ortho_law: Default::default(),
    }
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("trn-realism-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Bilinear value of `r` at fractional pixel `(c, y)`.
fn bilinear(r: &Raster, c: f64, y: f64) -> f64 {
    let (c0, r0) = (c.floor(), y.floor());
    let (fc, fr) = (c - c0, y - r0);
    let at = |i: f64, j: f64| f64::from(r.data[j as usize * r.width + i as usize]);
    at(c0, r0) * (1.0 - fc) * (1.0 - fr)
        + at(c0 + 1.0, r0) * fc * (1.0 - fr)
        + at(c0, r0 + 1.0) * (1.0 - fc) * fr
        + at(c0 + 1.0, r0 + 1.0) * fc * fr
}

/// The shift `(dc, dr)` in pixels that best maps the unperturbed `a` onto `b` over the
/// `half`-pixel box around `(c, r)` of `b`: `b(p) = a(p - shift)`, by the least sum of
/// squared differences over a 0.02 px lattice of shifts within 4 px of the guess (bilinear
/// taps of `a`).
fn shift_at(
    a: &Raster,
    b: &Raster,
    (c, r): (usize, usize),
    half: usize,
    guess: (f64, f64),
) -> (f64, f64) {
    let ssd = |dc: f64, dr: f64| {
        let mut s = 0.0;
        for y in r - half..=r + half {
            for x in c - half..=c + half {
                let d =
                    f64::from(b.data[y * b.width + x]) - bilinear(a, x as f64 - dc, y as f64 - dr);
                s += d * d;
            }
        }
        s
    };
    let mut best = (f64::INFINITY, guess);
    // Coarse (0.25 px) then fine (0.02 px) around the coarse best.
    for (step, reach, centre) in [(0.25, 4.0, guess), (0.02, 0.3, (0.0, 0.0))] {
        let centre = if step < 0.25 { best.1 } else { centre };
        let n = (reach / step) as i32;
        for i in -n..=n {
            for j in -n..=n {
                let (dc, dr) = (
                    centre.0 + f64::from(i) * step,
                    centre.1 + f64::from(j) * step,
                );
                let v = ssd(dc, dr);
                if v < best.0 {
                    best = (v, (dc, dr));
                }
            }
        }
    }
    best.1
}

#[test]
fn a_registered_offset_moves_the_ortho_by_that_many_pixels() {
    let site = make_site(&spec(SUN)).unwrap();
    let o = &site.ortho;
    let gsd = o.transform.0[1];
    let centre = o.crs.forward(-84.0, 40.0);
    // 2.3 px east, 1.6 px north: columns +2.3, rows -1.6.
    let d = DrawnRegistration {
        offset_m: (2.3 * gsd, 1.6 * gsd),
        rotation_deg: 0.0,
        scale_error: 0.0,
        warp: None,
        centre,
    };
    let moved = d.apply(o);
    let (c, r) = (o.width / 2, o.height / 2);
    let (dc, dr) = shift_at(o, &moved, (c, r), 60, (2.0, -2.0));
    assert!(
        (dc - 2.3).abs() < 0.1 && (dr + 1.6).abs() < 0.1,
        "measured shift ({dc:.3}, {dr:.3}) px, expected (2.30, -1.60)"
    );
}

#[test]
fn rotation_and_scale_move_a_point_where_they_say() {
    let site = make_site(&spec(SUN)).unwrap();
    let o = &site.ortho;
    let gsd = o.transform.0[1];
    let centre = o.crs.forward(-84.0, 40.0);
    let d = DrawnRegistration {
        offset_m: (0.0, 0.0),
        rotation_deg: 0.3,
        scale_error: 0.01,
        warp: None,
        centre,
    };
    let moved = d.apply(o);
    // A point 90 px east and 70 px south of the centre node (row down = map y down).
    let (cc, cr) = ((o.width - 1) / 2, (o.height - 1) / 2);
    let (pc, pr) = (cc + 90, cr + 70);
    let (u, v) = (90.0 * gsd, -70.0 * gsd);
    let (s, co) = 0.3f64.to_radians().sin_cos();
    let (mu, mv) = (1.01 * (co * u - s * v), 1.01 * (s * u + co * v));
    // Expected shift in pixels: columns along u, rows against v.
    let expect = ((mu - u) / gsd, -(mv - v) / gsd);
    let (ec, er) = (
        (pc as f64 + expect.0).round() as usize,
        (pr as f64 + expect.1).round() as usize,
    );
    let (dc, dr) = shift_at(o, &moved, (ec, er), 12, expect);
    assert!(
        (dc - expect.0).abs() < 0.1 && (dr - expect.1).abs() < 0.1,
        "measured ({dc:.3}, {dr:.3}) px at the point, expected ({:.3}, {:.3})",
        expect.0,
        expect.1
    );
}

#[test]
fn declared_registration_sigma_is_the_displacements_one_sigma() {
    let reg = Registration {
        offset_sigma_m: 12.0,
        rotation_sigma_deg: 0.1,
        scale_sigma: 0.004,
        warp_rms_m: 5.0,
        warp_scale_m: 800.0,
        ortho_only: false,
    };
    let points: Vec<(f64, f64)> = (0..20)
        .map(|k| (150.0 * f64::from(k), -90.0 * f64::from(k)))
        .collect();
    let declared = reg.sigma_m(&points);
    let (mut s, mut n) = (0.0, 0usize);
    for seed in 0..3000 {
        let d = reg.draw(seed, (0.0, 0.0));
        for &(u, v) in &points {
            // The content shown at map point p truly lies at source_of(p): it moved by
            // p - source_of(p).
            let (x, y) = d.source_of(u, v);
            s += (u - x).powi(2) + (v - y).powi(2);
            n += 2;
        }
    }
    let actual = (s / n as f64).sqrt();
    assert!(
        (actual / declared - 1.0).abs() < 0.05,
        "declared {declared:.2} m, actual 1-sigma {actual:.2} m"
    );
}

fn ncc(a: &[f32], b: &[f32]) -> f64 {
    let ok: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (f64::from(*x), f64::from(*y)))
        .collect();
    let n = ok.len() as f64;
    let (ma, mb) = (
        ok.iter().map(|p| p.0).sum::<f64>() / n,
        ok.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ok {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

#[test]
fn an_offset_sun_ortho_is_a_render_under_that_sun() {
    let offset_sun = Sun {
        azimuth_deg: 135.0 + 60.0,
        elevation_deg: 20.0 - 8.0,
    };
    let (dir_a, dir_b) = (tmp("sun-a"), tmp("sun-b"));
    write_site(&dir_a, &make_site(&spec(SUN)).unwrap()).unwrap();
    write_site(&dir_b, &make_site(&spec(offset_sun)).unwrap()).unwrap();
    let info = read_site_info(&dir_a).unwrap();
    let read = |d: &Path, f: &str| geotiff::read(d.join(f)).unwrap();
    let (dem, albedo, ortho) = (
        read(&dir_a, "dem.tif"),
        read(&dir_a, "albedo.tif"),
        read(&dir_a, "ortho.tif"),
    );
    let again = render_ortho(&info, &dem, &albedo, &ortho, SUN, Law::LunarLambert).unwrap();
    let moved = render_ortho(&info, &dem, &albedo, &ortho, offset_sun, Law::LunarLambert).unwrap();
    let reference = read(&dir_b, "ortho.tif");
    let same = ncc(&again.data, &ortho.data);
    let matches = ncc(&moved.data, &reference.data);
    let differs = ncc(&moved.data, &ortho.data);
    assert!(
        same > 0.99,
        "re-render under the site's sun: NCC {same:.4} with the site's ortho"
    );
    assert!(
        matches > 0.99,
        "offset sun: NCC {matches:.4} with a site rendered under it"
    );
    assert!(
        differs < 0.8,
        "offset sun: NCC {differs:.4} with the default ortho (should differ)"
    );
    // Another law changes the image too.
    let hapke = render_ortho(&info, &dem, &albedo, &ortho, SUN, Law::Hapke).unwrap();
    let hill = render_ortho(&info, &dem, &albedo, &ortho, SUN, Law::Hillshade).unwrap();
    assert!(ncc(&hapke.data, &ortho.data) < 0.999 && ncc(&hill.data, &ortho.data) < 0.99);
    for d in [dir_a, dir_b] {
        let _ = std::fs::remove_dir_all(d);
    }
}

fn descent(map: MapRealism) -> DescentSpec {
    DescentSpec {
        name: "realism".into(),
        seed: 5,
        frames: 2,
        trajectory: DescentParams {
            start_alt_m: 900.0,
            end_alt_m: 400.0,
            uprange_m: 200.0,
            duration_s: 30.0,
            pointing_jitter_deg: 0.0,
            ..DescentParams::default()
        },
        camera: CameraJson {
            model: "pinhole".into(),
            width: 48,
            height: 48,
            fx: 58.0,
            fy: 58.0,
            cx: 23.5,
            cy: 23.5,
            distortion: DistortionJson::default(),
            sigma: None,
        },
        sensor: trn_sim::camera_render::Sensor::default(),
        sun: Some(SUN),
        prior: PriorParams::default(),
        lrf: LrfParams::default(),
        dem_sigma_m: None,
        end_above_ground: false,
        map,
        frame_law: Law::LommelSeeliger,
        defects: Default::default(),
    }
}

#[test]
fn a_degraded_map_dem_declares_its_measured_error_and_the_dataset_its_map() {
    let site_dir = tmp("dem-site");
    write_site(&site_dir, &make_site(&spec(SUN)).unwrap()).unwrap();
    let map = MapRealism {
        registration: Registration {
            offset_sigma_m: 10.0,
            ..Registration::default()
        },
        ortho: OrthoConditions {
            sun_az_offset_deg: 30.0,
            sun_el_offset_deg: -5.0,
            law: Some(Law::Hapke),
        },
        dem: DemErrors {
            decimation: 3,
            noise_rms_m: 2.0,
            ..DemErrors::default()
        },
    };
    // The DEM alone displaced: registration of the ortho only, so the DEM's error is its own.
    let map = MapRealism {
        registration: Registration {
            ortho_only: true,
            ..map.registration
        },
        ..map
    };
    let out = tmp("dem-out");
    simulate(&site_dir, &descent(map), &out, &|_, _| {}).unwrap();
    let ds = Dataset::read(&out).unwrap();
    let truth = geotiff::read(site_dir.join("dem.tif")).unwrap();
    let written = geotiff::read(out.join("map/dem.tif")).unwrap();
    assert_eq!(written.transform.0[1], 3.0 * truth.transform.0[1]);
    // Measured here with bicubic taps on the written DEM at the truth's nodes within the
    // written grid.
    let (mut s, mut n) = (0.0, 0usize);
    for r in 0..truth.height {
        for c in 0..truth.width {
            let (x, y) = truth.transform.pixel_centre(c as f64, r as f64);
            let (mc, mr) = written.transform.pixel_of(x, y).unwrap();
            if let Some(v) = written.sample(mc, mr, trn_map::Interpolation::Bicubic) {
                s += (v - f64::from(truth.data[r * truth.width + c])).powi(2);
                n += 1;
            }
        }
    }
    let measured = (s / n as f64).sqrt();
    let info = read_site_info(&site_dir).unwrap();
    let detail = Detail::new(&info.detail.unwrap()).rms_height_m();
    let expected = measured.hypot(detail);
    let declared = ds.meta.map.dem_sigma_m;
    assert!(
        (declared / expected - 1.0).abs() < 0.10,
        "declared dem_sigma_m {declared}, measured {measured:.3} m (with {detail:.3} m of detail: {expected:.3})"
    );
    assert!(
        measured > 1.0,
        "the written DEM should differ from the truth: {measured:.3} m"
    );
    let sun = ds.meta.map.ortho_sun.unwrap();
    assert_eq!((sun.az_deg, sun.el_deg), (165.0, 15.0));
    let reg = ds.meta.map.registration_sigma_m.unwrap();
    assert!((reg - 10.0).abs() < 1e-9, "registration_sigma_m {reg}");
    assert!(out.join("realism.json").is_file());
    for d in [site_dir, out] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn a_site_ortho_law_renders_the_site_ortho_with_it() {
    let dir = tmp("law");
    let lambert = make_site(&spec(SUN)).unwrap();
    let hapke = make_site(&SiteSpec {
        ortho_law: Law::Hapke,
        ..spec(SUN)
    })
    .unwrap();
    write_site(&dir, &hapke).unwrap();
    let info = read_site_info(&dir).unwrap();
    assert_eq!(info.ortho_law, Some(Law::Hapke));
    let read = |f: &str| geotiff::read(dir.join(f)).unwrap();
    let (dem, albedo, ortho) = (read("dem.tif"), read("albedo.tif"), read("ortho.tif"));
    let again = render_ortho(&info, &dem, &albedo, &ortho, SUN, Law::Hapke).unwrap();
    let differs = ncc(&hapke.ortho.data, &lambert.ortho.data);
    let same = ncc(&again.data, &ortho.data);
    assert!(
        differs < 0.999,
        "Hapke and lunar-Lambert orthos: NCC {differs:.5}"
    );
    assert!(
        same > 0.99,
        "Hapke re-render: NCC {same:.4} with the site's Hapke ortho"
    );
    let _ = std::fs::remove_dir_all(dir);
}
