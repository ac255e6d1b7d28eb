//! Coarse acquisition for priors too uncertain for windowed search (kilometres).
//!
//! The frame is warped onto the map plane with the prior pose (each overview node's ground
//! point, on the DEM, projected into the frame and sampled at the frame pyramid level whose
//! pixels match the overview's), then cross-correlated with the overview render by FFT
//! (zero-mean, Hann-tapered, masked to the frame's footprint; the cross-power spectrum is
//! whitened, i.e. phase correlation, which keeps the peak sharp on low-sun images dominated
//! by a few shadows). The strongest peaks become hypotheses of the prior's horizontal error,
//! ranked by their height over the next peak; the navigator verifies each with a few
//! landmark matches and keeps the first that solves.

use rayon::prelude::*;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;
use trn_flight::camera::Camera;
use trn_flight::dem::Grid;
use trn_flight::dem::Heightfield;
use trn_flight::pyramid::Pyramid;
use trn_flight::{Pose, Vec3};
use trn_map::pyramid::Image;

/// One hypothesis: the prior's horizontal position is off by `-shift`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hypothesis {
    /// Ground shift (site x, y metres) that moves the prior's view onto the map.
    pub shift_m: [f64; 2],
    /// Correlation peak value.
    pub peak: f64,
    /// Peak over the best peak outside its neighbourhood.
    pub ratio: f64,
}

/// What acquisition saw.
#[derive(Clone, Debug, PartialEq)]
pub struct Acquisition {
    /// Hypotheses, best first.
    pub hypotheses: Vec<Hypothesis>,
    /// FFT size used (pixels per side).
    pub size: usize,
    /// Overview pixel, metres.
    pub pixel_m: f64,
}

fn hann(n: usize, i: usize) -> f64 {
    0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / (n.max(2) - 1) as f64).cos()
}

/// 2-D FFT in place: rows, transpose, rows, transpose back (rows in parallel).
fn fft2(data: &mut [Complex<f32>], n: usize, inverse: bool) {
    let mut planner = FftPlanner::<f32>::new();
    let fft = if inverse {
        planner.plan_fft_inverse(n)
    } else {
        planner.plan_fft_forward(n)
    };
    let transpose = |d: &mut [Complex<f32>]| {
        for r in 0..n {
            for c in r + 1..n {
                d.swap(r * n + c, c * n + r);
            }
        }
    };
    data.par_chunks_exact_mut(n)
        .for_each(|row| fft.process(row));
    transpose(data);
    data.par_chunks_exact_mut(n)
        .for_each(|row| fft.process(row));
    transpose(data);
}

/// Correlates the frame, warped with `prior`, against `overview` within `max_shift_m` of
/// the prior; returns up to `max_hypotheses` peaks. `None` when the frame's footprint is
/// not on the overview.
#[allow(clippy::too_many_arguments)]
#[must_use]
pub fn acquire(
    frame: &Pyramid<'_>,
    camera: &Camera,
    prior: &Pose,
    overview: &[(Grid, Image)],
    dem: Option<&Heightfield<'_>>,
    max_shift_m: f64,
    max_hypotheses: usize,
) -> Option<Acquisition> {
    let (g0, _) = overview.first()?;
    // Where the boresight meets the ground (or the nadir point): the window's centre.
    let bore = prior.boresight();
    let centre = match dem.and_then(|d| d.ray_cast(prior.position, bore, 1e6).ok()) {
        Some(hit) => hit.point,
        None => Vec3::new(prior.position.x, prior.position.y, 0.0),
    };
    // Footprint half-width from the field of view at that range, plus the search reach.
    let range = (centre - prior.position).norm().max(1.0);
    let (fx, _) = camera.focal();
    let half_fov = 0.5 * f64::from(camera.width().max(camera.height())) / fx;
    let reach = range * half_fov + max_shift_m;
    // The finest overview level whose window fits 512 pixels (coarse is enough: the
    // verification refines).
    let (g, ov) = overview
        .iter()
        .find(|(g, _)| 2.0 * reach / g.dx.abs() <= 512.0)
        .or(overview.last())?;
    let g = *g;
    let _ = g0;
    let px = g.dx.abs();
    let want = (2.0 * reach / px).ceil() as usize;
    let n = want.next_power_of_two().clamp(64, 512);
    let half = n as f64 / 2.0;
    // Frame level whose pixels match the overview's.
    let gsd0 = range / fx;
    let mut k = 0;
    while k + 1 < frame.len() && gsd0 * f64::from(1u32 << (k + 1)) <= px {
        k += 1;
    }
    let rot = prior.attitude.to_mat3();
    let (cc, cr) = ((centre.x - g.x0) / g.dx, (centre.y - g.y0) / g.dy);
    let mut warped = vec![0.0f64; n * n];
    let mut mask = vec![false; n * n];
    let mut map = vec![0.0f64; n * n];
    let mut map_mask = vec![false; n * n];
    for i in 0..n {
        for j in 0..n {
            let (c, r) = (cc + j as f64 - half, cr + i as f64 - half);
            let (x, y) = (g.x0 + c * g.dx, g.y0 + r * g.dy);
            if c >= 0.0
                && r >= 0.0
                && (c as usize) < g.width
                && (r as usize) < g.height
                && let Some(v) = ov.get(c as usize, r as usize).filter(|v| v.is_finite())
            {
                map[i * n + j] = f64::from(v);
                map_mask[i * n + j] = true;
            }
            // Cheap test on the flat plane through the centre first: most of the window
            // lies outside the frame's footprint and needs no DEM lookup.
            let flat = rot.tr_mul_vec(Vec3::new(x, y, centre.z) - prior.position);
            match camera.project(flat) {
                Ok([u, v]) if u > -0.25 * fx && v > -0.25 * fx => {
                    let (w, h) = (f64::from(camera.width()), f64::from(camera.height()));
                    if u > w + 0.25 * fx || v > h + 0.25 * fx {
                        continue;
                    }
                }
                _ => continue,
            }
            let z = dem
                .and_then(|d| d.height_at(x, y).ok().map(|h| d.surface_z(x, y, h)))
                .unwrap_or(centre.z);
            let pc = rot.tr_mul_vec(Vec3::new(x, y, z) - prior.position);
            if let Ok([u, v]) = camera.project(pc)
                && camera.in_image(u, v)
                && let Some(val) = frame.sample(k, u, v)
            {
                warped[i * n + j] = f64::from(val);
                mask[i * n + j] = true;
            }
        }
    }
    if mask.iter().filter(|m| **m).count() < n * n / 64 || !map_mask.iter().any(|m| *m) {
        return None;
    }
    // Zero-mean inside each mask, Hann taper, zero outside.
    let prep = |img: &[f64], m: &[bool]| -> Vec<Complex<f32>> {
        let cnt = m.iter().filter(|v| **v).count().max(1) as f64;
        let mean = img
            .iter()
            .zip(m)
            .filter(|(_, k)| **k)
            .map(|(v, _)| v)
            .sum::<f64>()
            / cnt;
        let var = img
            .iter()
            .zip(m)
            .filter(|(_, k)| **k)
            .map(|(v, _)| (v - mean) * (v - mean))
            .sum::<f64>()
            / cnt;
        let sd = var.sqrt().max(1e-12);
        (0..n * n)
            .map(|k| {
                let (i, j) = (k / n, k % n);
                let v = if m[k] {
                    (img[k] - mean) / sd * hann(n, i) * hann(n, j)
                } else {
                    0.0
                };
                Complex::new(v as f32, 0.0)
            })
            .collect()
    };
    let mut a = prep(&warped, &mask);
    let mut b = prep(&map, &map_mask);
    fft2(&mut a, n, false);
    fft2(&mut b, n, false);
    // Whitened cross-power spectrum: the map relative to the warped frame.
    let mut x: Vec<Complex<f32>> = a
        .iter()
        .zip(&b)
        .map(|(fa, fb)| {
            let p = fb * fa.conj();
            let m = p.norm();
            if m > 1e-12 {
                p / m
            } else {
                Complex::new(0.0, 0.0)
            }
        })
        .collect();
    fft2(&mut x, n, true);
    let surf: Vec<f64> = x.iter().map(|c| f64::from(c.re)).collect();
    // Peaks within the search reach (shift in overview pixels, wrapped).
    let max_px = (max_shift_m / px).ceil() as i64;
    let shift_of = |k: usize| {
        let (i, j) = ((k / n) as i64, (k % n) as i64);
        let wrap = |v: i64| if v > n as i64 / 2 { v - n as i64 } else { v };
        (wrap(j), wrap(i))
    };
    let mut peaks: Vec<(f64, i64, i64)> = Vec::new();
    for k in 0..n * n {
        let (dj, di) = shift_of(k);
        if dj.abs() > max_px || di.abs() > max_px {
            continue;
        }
        let v = surf[k];
        let (i, j) = (k / n, k % n);
        let mut is_max = true;
        'n: for ddi in [n - 1, 0, 1] {
            for ddj in [n - 1, 0, 1] {
                if (ddi, ddj) == (0, 0) {
                    continue;
                }
                if surf[((i + ddi) % n) * n + (j + ddj) % n] > v {
                    is_max = false;
                    break 'n;
                }
            }
        }
        if is_max {
            peaks.push((v, dj, di));
        }
    }
    peaks.sort_by(|p, q| q.0.total_cmp(&p.0));
    let hypotheses = peaks
        .iter()
        .take(max_hypotheses)
        .map(|&(v, dj, di)| {
            // The best peak farther than 3 pixels from this one.
            let next = peaks
                .iter()
                .filter(|p| (p.1 - dj).abs() > 3 || (p.2 - di).abs() > 3)
                .map(|p| p.0)
                .fold(f64::NEG_INFINITY, f64::max);
            Hypothesis {
                // Content at map pixel (j + dj) appears at warped pixel j: the prior's view
                // is shifted by -(dj, di) map pixels; moving the prior by +shift fixes it.
                shift_m: [dj as f64 * g.dx, di as f64 * g.dy],
                peak: v,
                ratio: if next > 0.0 { v / next } else { f64::INFINITY },
            }
        })
        .collect();
    Some(Acquisition {
        hypotheses,
        size: n,
        pixel_m: px,
    })
}
