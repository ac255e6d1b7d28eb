//! One terrain-relative navigation frame, end to end, on a generated lunar scene.
//!
//! Builds a synthetic site (cratered DEM and albedo), renders the descent camera's image from
//! a true pose by ray casting through the DEM, takes a drifted inertial prior, then runs the
//! flight core exactly as a lander would: predict landmarks with the prior, match templates
//! by NCC, undistort, solve the pose with P3P + LO-RANSAC, check altitude and rangefinder.
//!
//! Run: `cargo run --release -p trn-flight --features std --example flight_frame` (the `std`
//! feature lets the NCC kernel pick AVX2 at run time).

use std::time::Instant;
use trn_flight::camera::{Camera, Distortion};
use trn_flight::dem::{Grid, Heightfield};
use trn_flight::ncc::{ImageView, NccConfig, active_kernel, placements, search};
use trn_flight::rangefinder::{RangefinderConfig, RangefinderMonitor};
use trn_flight::rng::Pcg32;
use trn_flight::robust::{RansacConfig, estimate_pose};
use trn_flight::{Pose, Quat, Vec3};

const N: usize = 1024; // DEM and albedo grid
const CELL: f64 = 5.0; // metres
const IMG: usize = 512; // descent image side, pixels
const TPL: usize = 21; // template side
const WIN: usize = 64; // search window side

struct Site {
    dem: Vec<f32>,
    albedo: Vec<f32>,
    grid: Grid,
}

fn build_site(seed: u64) -> Site {
    let half = (N as f64 - 1.0) * CELL / 2.0;
    let grid = Grid {
        width: N,
        height: N,
        stride: N,
        x0: -half,
        y0: half,
        dx: CELL,
        dy: -CELL,
        radius: 1_737_400.0,
    };
    let mut rng = Pcg32::new(seed, 1);
    let mut u = |lo: f64, hi: f64| lo + (hi - lo) * rng.next_f64();
    // Craters: parabolic bowls with raised rims, sizes from 20 m to 600 m.
    let craters: Vec<(f64, f64, f64)> = (0..400)
        .map(|_| {
            let r = 10.0 * (60.0f64).powf(u(0.0, 1.0));
            (u(-half, half), u(-half, half), r)
        })
        .collect();
    let waves: Vec<(f64, f64, f64, f64)> = (0..10)
        .map(|_| (u(-0.01, 0.01), u(-0.01, 0.01), u(0.0, 6.3), u(5.0, 40.0)))
        .collect();
    let tex: Vec<(f64, f64, f64, f64)> = (0..24)
        .map(|_| (u(-0.25, 0.25), u(-0.25, 0.25), u(0.0, 6.3), u(0.02, 0.06)))
        .collect();
    let mut dem = vec![0.0f32; N * N];
    let mut albedo = vec![0.0f32; N * N];
    for row in 0..N {
        for col in 0..N {
            let (x, y) = (grid.x0 + col as f64 * CELL, grid.y0 + row as f64 * CELL);
            let mut h: f64 = waves
                .iter()
                .map(|(kx, ky, p, a)| a * (kx * x + ky * y + p).sin())
                .sum();
            for &(cx, cy, r) in &craters {
                let d2 = ((x - cx).powi(2) + (y - cy).powi(2)) / (r * r);
                if d2 < 1.0 {
                    h += 0.4 * r * (d2 - 1.0) + 0.04 * r;
                } else if d2 < 2.25 {
                    h += 0.04 * r * (1.0 - (d2.sqrt() - 1.0) / 0.5);
                }
            }
            dem[row * N + col] = h as f32;
            albedo[row * N + col] = (0.5
                + tex
                    .iter()
                    .map(|(kx, ky, p, a)| a * (kx * x + ky * y + p).sin())
                    .sum::<f64>()) as f32;
        }
    }
    Site { dem, albedo, grid }
}

/// Lambertian radiance of the terrain at site (x, y) under a sun direction (site frame).
fn radiance(dem: &Heightfield<'_>, albedo: &[f32], x: f64, y: f64, sun: Vec3) -> f32 {
    let Ok((_, g)) = dem.height_and_gradient(x, y) else {
        return 0.0;
    };
    let n = Vec3::new(-g[0], -g[1], 1.0)
        .try_normalize()
        .unwrap_or(Vec3::new(0.0, 0.0, 1.0));
    let grid = dem.grid();
    let col = (((x - grid.x0) / grid.dx).round() as usize).min(N - 1);
    let row = (((y - grid.y0) / grid.dy).round() as usize).min(N - 1);
    let a = albedo[row * N + col];
    (255.0 * a as f64 * n.dot(sun).max(0.0) + 8.0) as f32
}

/// Renders pixels `(u0..u0+w, v0..v0+h)` of the camera at `pose` by ray casting.
#[allow(clippy::too_many_arguments)]
fn render(
    cam: &Camera,
    pose: &Pose,
    dem: &Heightfield<'_>,
    albedo: &[f32],
    sun: Vec3,
    u0: f64,
    v0: f64,
    w: usize,
    h: usize,
) -> Vec<f32> {
    let rot = pose.attitude.to_mat3();
    let mut out = vec![0.0f32; w * h];
    for (i, px) in out.iter_mut().enumerate() {
        let (u, v) = (u0 + (i % w) as f64, v0 + (i / w) as f64);
        let Ok(b) = cam.unproject(u, v) else { continue };
        if let Ok(hit) = dem.ray_cast(pose.position, rot.mul_vec(b), 50_000.0) {
            *px = radiance(dem, albedo, hit.point.x, hit.point.y, sun);
        }
    }
    out
}

fn main() {
    let t0 = Instant::now();
    let site = build_site(42);
    let dem = Heightfield::new(&site.dem, site.grid, None).expect("valid DEM");
    let sun_az: f64 = 135f64.to_radians();
    let sun_el: f64 = 25f64.to_radians();
    let sun = Vec3::new(
        sun_az.sin() * sun_el.cos(),
        sun_az.cos() * sun_el.cos(),
        sun_el.sin(),
    );
    let f = 443.4; // 60 degree field of view on 512 px
    let cam = Camera::new(
        IMG as u32,
        IMG as u32,
        f,
        f,
        255.5,
        255.5,
        Distortion {
            k1: -0.12,
            k2: 0.03,
            ..Distortion::default()
        },
    )
    .expect("valid camera");
    println!(
        "site: {N}x{N} DEM at {CELL} m ({:.1} km square), built in {:.2} s",
        N as f64 * CELL / 1000.0,
        t0.elapsed().as_secs_f64()
    );

    // Truth and the drifted inertial prior.
    let nadir = Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::PI);
    let attitude = Quat::from_axis_angle(Vec3::new(0.3, 1.0, 0.0), 8f64.to_radians())
        .mul_quat(Quat::from_axis_angle(Vec3::new(0.0, 0.0, 1.0), 0.4))
        .mul_quat(nadir);
    let truth = Pose::new(Vec3::new(120.0, -80.0, 2500.0), attitude);
    let prior = Pose::new(
        truth.position + Vec3::new(35.0, -28.0, 20.0),
        truth
            .attitude
            .mul_quat(Quat::from_rotation_vector(Vec3::new(0.004, -0.003, 0.002))),
    );

    let t = Instant::now();
    let image = render(&cam, &truth, &dem, &site.albedo, sun, 0.0, 0.0, IMG, IMG);
    println!(
        "descent image: {IMG}x{IMG} rendered by ray casting in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    // --- The flight frame -------------------------------------------------------------
    let frame = Instant::now();
    let view = ImageView::packed(&image, IMG, IMG).expect("image view");
    let mut image_pts = Vec::new();
    let mut world_pts = Vec::new();
    let mut truth_px_err = Vec::new();
    let mut scores = vec![0.0f32; (WIN - TPL + 1) * (WIN - TPL + 1)];
    let mut predicted = 0;
    let mut rejected = 0;
    let cfg = NccConfig::default();
    let mut match_time = 0.0;
    let mut template_time = 0.0;
    // Landmarks on a 150 m grid of the map (an on-board database would hold them).
    for ly in (-12..=12).map(|k| k as f64 * 150.0) {
        for lx in (-12..=12).map(|k| k as f64 * 150.0) {
            let Ok(h) = dem.height_at(lx, ly) else {
                continue;
            };
            let w = Vec3::new(lx, ly, dem.surface_z(lx, ly, h));
            // 1. Predict with the prior.
            let Ok(uv) = cam.project(prior.to_camera(w)) else {
                continue;
            };
            let (u0, v0) = (
                uv[0].round() - (WIN / 2) as f64,
                uv[1].round() - (WIN / 2) as f64,
            );
            if u0 < 0.0 || v0 < 0.0 || u0 + WIN as f64 > IMG as f64 || v0 + WIN as f64 > IMG as f64
            {
                continue;
            }
            predicted += 1;
            // The landmark's template as the prior pose expects to see it (the map
            // database's template warped by the predicted view).
            let tt = Instant::now();
            let tpl = render(
                &cam,
                &prior,
                &dem,
                &site.albedo,
                sun,
                uv[0] - (TPL / 2) as f64,
                uv[1] - (TPL / 2) as f64,
                TPL,
                TPL,
            );
            template_time += tt.elapsed().as_secs_f64();
            // 3. Match.
            let tm = Instant::now();
            let win = view
                .sub(u0 as usize, v0 as usize, WIN, WIN)
                .expect("window inside image");
            let Ok(tv) = ImageView::packed(&tpl, TPL, TPL) else {
                continue;
            };
            assert_eq!(placements(&tv, &win), Some(scores.len()));
            let res = search(&tv, &win, &mut scores, &cfg);
            match_time += tm.elapsed().as_secs_f64();
            let Ok(peak) = res else {
                rejected += 1;
                continue;
            };
            if peak.score < 0.7 || peak.ratio < 1.1 || peak.on_border {
                rejected += 1;
                continue;
            }
            // The match is where the template centre's pixel (prior projection) landed.
            let (mu, mv) = (
                u0 + peak.x as f64 + (uv[0] - uv[0].round()),
                v0 + peak.y as f64 + (uv[1] - uv[1].round()),
            );
            let Ok(n) = cam.pixel_to_normalized(mu, mv) else {
                continue;
            };
            if let Ok(t_uv) = cam.project(truth.to_camera(w)) {
                truth_px_err.push(((t_uv[0] - mu).powi(2) + (t_uv[1] - mv).powi(2)).sqrt());
            }
            image_pts.push(n);
            world_pts.push(w);
        }
    }
    // 4. Solve.
    let ts = Instant::now();
    let mut mask = vec![false; image_pts.len()];
    let est = estimate_pose(&image_pts, &world_pts, &mut mask, &RansacConfig::new(f));
    let solve_time = ts.elapsed().as_secs_f64();

    truth_px_err.sort_by(f64::total_cmp);
    println!(
        "landmarks: {predicted} predicted in view, {} matched (NCC kernel {}), {rejected} rejected as weak or ambiguous; median match error vs truth {:.2} px",
        image_pts.len(),
        active_kernel(),
        truth_px_err
            .get(truth_px_err.len() / 2)
            .copied()
            .unwrap_or(f64::NAN)
    );
    let est = match est {
        Ok(e) => e,
        Err(e) => {
            println!("no fix this frame: {e}");
            std::process::exit(1);
        }
    };
    let pos_err = est.pose.position - truth.position;
    let att_err = est.pose.attitude.angle_to(truth.attitude).to_degrees();
    let s = est.position_sigma();
    println!(
        "pose: {} inliers, {} RANSAC samples, residual sigma {:.2} px",
        est.inliers, est.iterations, est.sigma_px
    );
    println!(
        "  prior error    {:7.2} m   {:.3} deg",
        (prior.position - truth.position).norm(),
        prior.attitude.angle_to(truth.attitude).to_degrees()
    );
    println!(
        "  estimate error {:7.2} m   {:.4} deg   (x {:+.2}, y {:+.2}, z {:+.2} m; 1-sigma {:.2} / {:.2} / {:.2} m)",
        pos_err.norm(),
        att_err,
        pos_err.x,
        pos_err.y,
        pos_err.z,
        s.x,
        s.y,
        s.z
    );
    // 5. Check: altitude and the rangefinder.
    let alt_true = dem.altitude(truth.position).expect("on map").altitude;
    let alt_est = dem.altitude(est.pose.position).expect("on map").altitude;
    println!(
        "altitude above DEM: estimate {alt_est:.2} m, truth {alt_true:.2} m (error {:+.2} m)",
        alt_est - alt_true
    );
    let mut monitor = RangefinderMonitor::new(RangefinderConfig::default());
    let true_range = monitor.predict(&truth, &dem).expect("beam on map").range;
    for (label, reading) in [
        ("correct reading", Some(true_range + 0.4)),
        ("8 % biased reading", Some(true_range * 1.08)),
        ("no reading", None),
    ] {
        let r = monitor.update(reading, &est.pose, &est.covariance, &dem);
        println!(
            "rangefinder, {label:>18}: {:<10} predicted {:.1} m (span {:.1}..{:.1}), NIS {:.2}",
            r.status.as_str(),
            r.predicted_m,
            r.predicted_span_m.0,
            r.predicted_span_m.1,
            r.nis
        );
    }
    let total = frame.elapsed().as_secs_f64();
    println!(
        "frame time {:.1} ms (of which template rendering {:.1} ms: a map database stores templates; NCC {:.2} ms; pose {:.2} ms)",
        total * 1e3,
        template_time * 1e3,
        match_time * 1e3,
        solve_time * 1e3
    );
}
