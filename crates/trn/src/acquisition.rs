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
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;
use trn_flight::camera::Camera;
use trn_flight::dem::Grid;
use trn_flight::dem::Heightfield;
use trn_flight::image::{Image, reduce_levels};
use trn_flight::mapdb::MapDb;
use trn_flight::pyramid::Pyramid;
use trn_flight::{Pose, Vec3};

/// FFT sizes acquisition uses (pixels per side): powers of two within these.
const MIN_SIZE: usize = 64;
const MAX_SIZE: usize = 512;
/// Row blocks an FFT pass is split into for rayon, each with its own scratch.
const FFT_BLOCKS: usize = 8;
/// Correlation peaks kept, best first: the hypotheses and enough others that the best
/// peak farther than 3 pixels from any hypothesis is among them (3 x 3 maxima within a
/// 7 x 7 box number at most 16 apart from ties).
const KEPT_PEAKS: usize = 64;

/// One hypothesis: the prior's horizontal position is off by `-shift`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Hypothesis {
    /// Ground shift (site x, y metres) that moves the prior's view onto the map.
    pub shift_m: [f64; 2],
    /// Correlation peak value.
    pub peak: f64,
    /// Peak over the best peak outside its neighbourhood.
    pub ratio: f64,
}

/// What acquisition saw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Acquisition {
    /// Hypotheses written, best first.
    pub found: usize,
    /// FFT size used (pixels per side).
    pub size: usize,
    /// Overview pixel, metres.
    pub pixel_m: f64,
}

/// The database's overview and two coarser levels, each with its grid: what
/// [`Acquirer::acquire`] correlates against (empty without an overview).
fn overview_levels(db: &MapDb<'_>) -> Vec<(Grid, Image)> {
    let Some(ov) = db.overview() else {
        return Vec::new();
    };
    let g = ov.grid;
    let data = (0..g.width * g.height)
        .map(|k| ov.value(k % g.width, k / g.width).unwrap_or(f32::NAN))
        .collect();
    let base = Image {
        width: g.width,
        height: g.height,
        data,
    };
    reduce_levels(base, 3)
        .into_iter()
        .enumerate()
        .map(|(k, img)| {
            let mut gk = g;
            gk.width = img.width;
            gk.height = img.height;
            gk.stride = img.width;
            gk.dx *= f64::from(1u32 << k);
            gk.dy *= f64::from(1u32 << k);
            (gk, img)
        })
        .collect()
}

fn hann(n: usize, i: usize) -> f64 {
    0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / (n.max(2) - 1) as f64).cos()
}

/// A forward and an inverse plan of one size.
struct Plans {
    size: usize,
    forward: Arc<dyn Fft<f32>>,
    inverse: Arc<dyn Fft<f32>>,
}

/// Acquisition: the map's overview levels it correlates against, and its working memory,
/// FFT plans for every size it uses and buffers for the largest, made on the first
/// acquisition and reused after it, so that no later one allocates.
pub struct Acquirer {
    overview: Vec<(Grid, Image)>,
    plans: Vec<Plans>,
    /// The Hann taper of the current size, one value per row (and column).
    taper: Vec<f64>,
    warped: Vec<f64>,
    mask: Vec<bool>,
    map: Vec<f64>,
    map_mask: Vec<bool>,
    a: Vec<Complex<f32>>,
    b: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl std::fmt::Debug for Acquirer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acquirer")
            .field("overview_levels", &self.overview.len())
            .field(
                "plans",
                &self.plans.iter().map(|p| p.size).collect::<Vec<_>>(),
            )
            .field("buffer_samples", &self.a.len())
            .finish()
    }
}

/// 2-D FFT in place: rows, transpose, rows, transpose back (blocks of rows in parallel,
/// each with its share of `scratch`).
fn fft2(data: &mut [Complex<f32>], n: usize, fft: &dyn Fft<f32>, scratch: &mut [Complex<f32>]) {
    let per = fft.get_inplace_scratch_len();
    let rows = n.div_ceil(FFT_BLOCKS).max(1);
    let transpose = |d: &mut [Complex<f32>]| {
        for r in 0..n {
            for c in r + 1..n {
                d.swap(r * n + c, c * n + r);
            }
        }
    };
    let pass = |d: &mut [Complex<f32>], scratch: &mut [Complex<f32>]| {
        d.par_chunks_mut(rows * n)
            .zip(scratch.par_chunks_mut(per.max(1)))
            .for_each(|(block, s)| fft.process_with_scratch(block, &mut s[..per]));
    };
    pass(data, scratch);
    transpose(data);
    pass(data, scratch);
    transpose(data);
}

/// Zero-mean inside the mask `m`, scaled to unit deviation, tapered by `taper` along rows
/// and columns, zero outside, into `out`.
fn prepare(img: &[f64], m: &[bool], n: usize, taper: &[f64], out: &mut [Complex<f32>]) {
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
    for (k, o) in out.iter_mut().enumerate().take(n * n) {
        let (i, j) = (k / n, k % n);
        let v = if m[k] {
            (img[k] - mean) / sd * taper[i] * taper[j]
        } else {
            0.0
        };
        *o = Complex::new(v as f32, 0.0);
    }
}

impl Acquirer {
    /// Acquisition over `db`'s overview (none without one: [`Acquirer::has_overview`]); no
    /// plans or buffers yet (the first acquisition makes them).
    #[must_use]
    pub fn new(db: &MapDb<'_>) -> Self {
        Self {
            overview: overview_levels(db),
            plans: Vec::new(),
            taper: Vec::new(),
            warped: Vec::new(),
            mask: Vec::new(),
            map: Vec::new(),
            map_mask: Vec::new(),
            a: Vec::new(),
            b: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Whether the map has an overview to acquire on.
    #[must_use]
    pub fn has_overview(&self) -> bool {
        !self.overview.is_empty()
    }

    /// Overview levels held (the overview and its coarser reductions).
    #[must_use]
    pub fn overview_levels(&self) -> usize {
        self.overview.len()
    }

    /// Plans for every size and buffers for the largest, once.
    fn warm_up(&mut self) {
        if !self.plans.is_empty() {
            return;
        }
        let mut planner = FftPlanner::<f32>::new();
        let mut size = MIN_SIZE;
        while size <= MAX_SIZE {
            self.plans.push(Plans {
                size,
                forward: planner.plan_fft_forward(size),
                inverse: planner.plan_fft_inverse(size),
            });
            size *= 2;
        }
        let per = self
            .plans
            .iter()
            .flat_map(|p| [&p.forward, &p.inverse])
            .map(|f| f.get_inplace_scratch_len())
            .max()
            .unwrap_or(0)
            .max(1);
        let len = MAX_SIZE * MAX_SIZE;
        self.taper = vec![0.0; MAX_SIZE];
        self.warped = vec![0.0; len];
        self.mask = vec![false; len];
        self.map = vec![0.0; len];
        self.map_mask = vec![false; len];
        self.a = vec![Complex::new(0.0, 0.0); len];
        self.b = vec![Complex::new(0.0, 0.0); len];
        self.scratch = vec![Complex::new(0.0, 0.0); per * FFT_BLOCKS];
    }

    /// Correlates the frame, warped with `prior`, against the overview within
    /// `max_shift_m` of the prior; writes up to `out.len()` hypotheses, best first. `None`
    /// without an overview or when the frame's footprint is not on it.
    pub fn acquire(
        &mut self,
        frame: &Pyramid<'_>,
        camera: &Camera,
        prior: &Pose,
        dem: Option<&Heightfield<'_>>,
        max_shift_m: f64,
        out: &mut [Hypothesis],
    ) -> Option<Acquisition> {
        let overview = &self.overview;
        overview.first()?;
        self.warm_up();
        let overview = &self.overview;
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
        // The finest overview level whose window fits the largest size (coarse is enough:
        // the verification refines).
        let (g, ov) = overview
            .iter()
            .find(|(g, _)| 2.0 * reach / g.dx.abs() <= MAX_SIZE as f64)
            .or(overview.last())?;
        let g = *g;
        let px = g.dx.abs();
        let want = (2.0 * reach / px).ceil() as usize;
        let n = want.next_power_of_two().clamp(MIN_SIZE, MAX_SIZE);
        let half = n as f64 / 2.0;
        // Frame level whose pixels match the overview's.
        let gsd0 = range / fx;
        let mut k = 0;
        while k + 1 < frame.len() && gsd0 * f64::from(1u32 << (k + 1)) <= px {
            k += 1;
        }
        let rot = prior.attitude.to_mat3();
        let (cc, cr) = ((centre.x - g.x0) / g.dx, (centre.y - g.y0) / g.dy);
        let nn = n * n;
        let (warped, mask) = (&mut self.warped[..nn], &mut self.mask[..nn]);
        let (map, map_mask) = (&mut self.map[..nn], &mut self.map_mask[..nn]);
        warped.fill(0.0);
        mask.fill(false);
        map.fill(0.0);
        map_mask.fill(false);
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
        if mask.iter().filter(|m| **m).count() < nn / 64 || !map_mask.iter().any(|m| *m) {
            return None;
        }
        let plans = self.plans.iter().find(|p| p.size == n)?;
        let (a, b) = (&mut self.a[..nn], &mut self.b[..nn]);
        let taper = &mut self.taper[..n];
        for (i, t) in taper.iter_mut().enumerate() {
            *t = hann(n, i);
        }
        prepare(warped, mask, n, taper, a);
        prepare(map, map_mask, n, taper, b);
        fft2(a, n, &*plans.forward, &mut self.scratch);
        fft2(b, n, &*plans.forward, &mut self.scratch);
        // Whitened cross-power spectrum, the map relative to the warped frame, in `a`.
        for (fa, fb) in a.iter_mut().zip(b.iter()) {
            let p = fb * fa.conj();
            let m = p.norm();
            *fa = if m > 1e-12 {
                p / m
            } else {
                Complex::new(0.0, 0.0)
            };
        }
        fft2(a, n, &*plans.inverse, &mut self.scratch);
        let surf = |k: usize| f64::from(a[k].re);
        // Peaks within the search reach (shift in overview pixels, wrapped), the best
        // KEPT_PEAKS in order (ties in scan order).
        let max_px = (max_shift_m / px).ceil() as i64;
        let shift_of = |k: usize| {
            let (i, j) = ((k / n) as i64, (k % n) as i64);
            let wrap = |v: i64| if v > n as i64 / 2 { v - n as i64 } else { v };
            (wrap(j), wrap(i))
        };
        let mut peaks = [(f64::NEG_INFINITY, 0i64, 0i64); KEPT_PEAKS];
        let mut kept = 0usize;
        for k in 0..nn {
            let (dj, di) = shift_of(k);
            if dj.abs() > max_px || di.abs() > max_px {
                continue;
            }
            let v = surf(k);
            let (i, j) = (k / n, k % n);
            let mut is_max = true;
            'n: for ddi in [n - 1, 0, 1] {
                for ddj in [n - 1, 0, 1] {
                    if (ddi, ddj) == (0, 0) {
                        continue;
                    }
                    if surf(((i + ddi) % n) * n + (j + ddj) % n) > v {
                        is_max = false;
                        break 'n;
                    }
                }
            }
            if !is_max {
                continue;
            }
            // After every kept peak at least as high: a stable order.
            let at = peaks[..kept].partition_point(|p| p.0.total_cmp(&v).is_ge());
            if at < KEPT_PEAKS {
                peaks.copy_within(at..KEPT_PEAKS - 1, at + 1);
                peaks[at] = (v, dj, di);
                kept = (kept + 1).min(KEPT_PEAKS);
            }
        }
        let peaks = &peaks[..kept];
        let mut found = 0;
        for (o, &(v, dj, di)) in out.iter_mut().zip(peaks) {
            // The best peak farther than 3 pixels from this one.
            let next = peaks
                .iter()
                .filter(|p| (p.1 - dj).abs() > 3 || (p.2 - di).abs() > 3)
                .map(|p| p.0)
                .fold(f64::NEG_INFINITY, f64::max);
            *o = Hypothesis {
                // Content at map pixel (j + dj) appears at warped pixel j: the prior's view
                // is shifted by -(dj, di) map pixels; moving the prior by +shift fixes it.
                shift_m: [dj as f64 * g.dx, di as f64 * g.dy],
                peak: v,
                ratio: if next > 0.0 { v / next } else { f64::INFINITY },
            };
            found += 1;
        }
        Some(Acquisition {
            found,
            size: n,
            pixel_m: px,
        })
    }
}
