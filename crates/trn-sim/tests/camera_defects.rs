//! Camera defects do what they say: hot pixels number the stated fraction of the sensor,
//! column offsets have the stated RMS, smear widens an edge by its length, saturation clips
//! the stated fraction of lit pixels at full scale, JPEG-like compression loses more at lower
//! quality and shows its 8x8 blocks; with every defect off a frame is the plain render.

use trn_flight::camera::{Camera, Distortion};
use trn_flight::dem::Grid;
use trn_flight::frames::MOON_RADIUS_M as R;
use trn_flight::{Mat3, Pose, Quat, Vec3};
use trn_map::SiteDem;
use trn_map::render::Sun;
use trn_sim::camera_render::{
    Defects, Frame, Scene, Sensor, jpeg_like, render_frame, render_frame_with, smear,
};

fn scene() -> Scene {
    let (n, cell) = (601usize, 2.0);
    let half = (n as f64 - 1.0) * cell / 2.0;
    let data = (0..n * n)
        .map(|i| {
            let (x, y) = (-half + (i % n) as f64 * cell, half - (i / n) as f64 * cell);
            (20.0 * (x / 90.0).sin() * (y / 70.0).cos()) as f32
        })
        .collect();
    let dem = SiteDem {
        grid: Grid {
            width: n,
            height: n,
            stride: n,
            x0: -half,
            y0: half,
            dx: cell,
            dy: -cell,
            radius: R,
        },
        data,
        missing: 0,
    };
    Scene::new(
        &dem,
        None,
        Sun {
            azimuth_deg: 45.0,
            elevation_deg: 25.0,
        },
    )
    .unwrap()
}

fn frame(scene: &Scene, d: &Defects) -> Frame {
    let cam = Camera::new(256, 256, 300.0, 300.0, 127.5, 127.5, Distortion::default()).unwrap();
    let z = Vec3::new(0.1, 0.0, -1.0).try_normalize().unwrap();
    let x = Vec3::new(1.0, 0.0, 0.0);
    let x = (x - z * x.dot(z)).try_normalize().unwrap();
    let q = Quat::from_mat3(&Mat3::from_cols(x, z.cross(x), z)).unwrap();
    let pose = Pose::new(Vec3::new(0.0, 0.0, 800.0), q);
    render_frame_with(&[scene], &cam, &pose, &Sensor::default(), d, (1.0, 0.0), 7).unwrap()
}

#[test]
fn with_every_defect_off_a_frame_is_the_plain_render() {
    let s = scene();
    let cam = Camera::new(256, 256, 300.0, 300.0, 127.5, 127.5, Distortion::default()).unwrap();
    let a = frame(&s, &Defects::default());
    let z = Vec3::new(0.1, 0.0, -1.0).try_normalize().unwrap();
    let x = Vec3::new(1.0, 0.0, 0.0);
    let x = (x - z * x.dot(z)).try_normalize().unwrap();
    let q = Quat::from_mat3(&Mat3::from_cols(x, z.cross(x), z)).unwrap();
    let pose = Pose::new(Vec3::new(0.0, 0.0, 800.0), q);
    let b = render_frame(&[&s], &cam, &pose, &Sensor::default(), 7).unwrap();
    assert_eq!(a, b);
}

#[test]
fn hot_pixels_number_the_stated_fraction() {
    let s = scene();
    let plain = frame(&s, &Defects::default());
    let f = 0.002;
    let hot = frame(
        &s,
        &Defects {
            hot_pixel_fraction: f,
            pattern_seed: 3,
            ..Defects::default()
        },
    );
    // Pixels that are not hot come out as in the plain frame (the same noise draws); a hot
    // one holds at least half the full well more (127 DN), clipping at full scale.
    let (mut raised, mut changed) = (0usize, 0usize);
    for (a, b) in plain.pixels.iter().zip(&hot.pixels) {
        if a != b {
            changed += 1;
            if f64::from(*b) >= (f64::from(*a) + 120.0).min(255.0) {
                raised += 1;
            }
        }
    }
    let expected = (f * 256.0 * 256.0).round() as usize;
    // Hot pixels already at full scale in the plain frame cannot show: allow 3 % of them.
    assert!(
        changed <= expected && changed as f64 >= 0.97 * expected as f64 && raised == changed,
        "{changed} pixels changed ({raised} raised by half the full well), expected {expected} hot"
    );
    // The same pixels on every frame (a fixed pattern): a frame with other noise has them too.
    let again = frame(
        &s,
        &Defects {
            hot_pixel_fraction: f,
            pattern_seed: 3,
            ..Defects::default()
        },
    );
    assert_eq!(hot, again);
}

#[test]
fn column_offsets_have_the_stated_rms() {
    let s = scene();
    let plain = frame(&s, &Defects::default());
    let rms = 3.0;
    let cols = frame(
        &s,
        &Defects {
            column_offset_rms_dn: rms,
            pattern_seed: 5,
            ..Defects::default()
        },
    );
    let (w, h) = (plain.width, plain.height);
    let mut offsets = Vec::new();
    for c in 0..w {
        let mut d = 0.0;
        for r in 0..h {
            d += f64::from(cols.pixels[r * w + c]) - f64::from(plain.pixels[r * w + c]);
        }
        offsets.push(d / h as f64);
    }
    let m = offsets.iter().sum::<f64>() / w as f64;
    let sd = (offsets.iter().map(|o| (o - m).powi(2)).sum::<f64>() / w as f64).sqrt();
    // 256 columns: the sample RMS is within 15 % of the true one with high probability.
    assert!(
        (sd / rms - 1.0).abs() < 0.15,
        "column offsets RMS {sd:.2} DN, stated {rms}"
    );
}

#[test]
fn saturation_clips_the_stated_fraction_at_full_scale() {
    let s = scene();
    let plain = frame(&s, &Defects::default());
    let f = 0.05;
    let sat = frame(
        &s,
        &Defects {
            saturation_fraction: f,
            ..Defects::default()
        },
    );
    let at_full = |fr: &Frame| fr.pixels.iter().filter(|p| **p == 255).count() as f64;
    let lit = plain.pixels.iter().filter(|p| **p > 0).count() as f64;
    let share = at_full(&sat) / lit;
    assert!(
        (share / f - 1.0).abs() < 0.15,
        "{:.3} of lit pixels at full scale, stated {f}",
        share
    );
    assert!(at_full(&plain) / lit < 0.005);
}

/// Squared width of an edge: 12 times the variance of its profile's differences (a step
/// spread uniformly over `L` pixels has `L^2`).
fn width2(row: &[f32]) -> f64 {
    let d: Vec<f64> = row.windows(2).map(|p| f64::from(p[1] - p[0])).collect();
    let s: f64 = d.iter().sum();
    let m = d.iter().enumerate().map(|(i, v)| i as f64 * v).sum::<f64>() / s;
    12.0 * d
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 - m).powi(2) * v)
        .sum::<f64>()
        / s
}

#[test]
fn smear_widens_an_edge_by_its_length() {
    let (w, h) = (64usize, 8usize);
    let edge: Vec<f32> = (0..w * h)
        .map(|i| if i % w < 32 { 10.0 } else { 100.0 })
        .collect();
    for len in [2.0, 4.0, 9.0, 3.3] {
        let mut img = edge.clone();
        smear(&mut img, w, h, (1.0, 0.0), len);
        // Squared widths add: the smear's L^2 on top of 2 (the step's one-pixel ramp between
        // samples and the sampling of the profile, 1 each).
        let measured = (width2(&img[3 * w..4 * w]) - 2.0).sqrt();
        assert!(
            (measured - len).abs() < 0.1,
            "smear {len} px widened the edge by {measured:.3} px"
        );
        // Across the motion nothing changes.
        let mut img = edge.clone();
        smear(&mut img, w, h, (0.0, 1.0), len);
        assert_eq!(img, edge);
    }
}

#[test]
fn jpeg_like_compression_loses_more_at_lower_quality_and_shows_blocks() {
    let (w, h) = (96usize, 96usize);
    let img: Vec<u16> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f64, (i / w) as f64);
            (128.0 + 60.0 * (x / 7.0).sin() * (y / 11.0).cos() + 20.0 * ((x * y) / 50.0).sin())
                as u16
        })
        .collect();
    let err = |q: u8| {
        let mut p = img.clone();
        jpeg_like(&mut p, w, h, 255, q);
        let e: Vec<f64> = p
            .iter()
            .zip(&img)
            .map(|(a, b)| f64::from(*a) - f64::from(*b))
            .collect();
        (e, p)
    };
    let rms = |e: &[f64]| (e.iter().map(|v| v * v).sum::<f64>() / e.len() as f64).sqrt();
    let (e100, _) = err(100);
    let (e75, _) = err(75);
    let (e20, p20) = err(20);
    assert!(
        e100.iter().all(|v| v.abs() <= 1.0),
        "quality 100 is near lossless"
    );
    assert!(rms(&e20) > rms(&e75) && rms(&e75) > rms(&e100) && rms(&e75) > 0.3);
    // Blocks: steps across block boundaries exceed steps inside blocks (relative to the
    // source's own steps).
    let (mut at_edge, mut inside, mut ne, mut ni) = (0.0, 0.0, 0, 0);
    for y in 0..h {
        for x in 1..w {
            let d = |im: &[u16]| f64::from(im[y * w + x]) - f64::from(im[y * w + x - 1]);
            let excess = (d(&p20) - d(&img)).abs();
            if x % 8 == 0 {
                at_edge += excess;
                ne += 1;
            } else {
                inside += excess;
                ni += 1;
            }
        }
    }
    let (at_edge, inside) = (at_edge / f64::from(ne), inside / f64::from(ni));
    assert!(
        at_edge > 1.3 * inside,
        "block edges {at_edge:.2}, inside {inside:.2}"
    );
}
