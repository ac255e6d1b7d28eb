//! Descent images: a perspective camera over the site's DEM.
//!
//! Every pixel's ray (through the lens model, so distortion is exact) is cast against the
//! site-frame terrain `z(x, y)` (heights turned into site `z`, the sphere's curvature
//! included) by a maximum-height pyramid: a cell whose highest corner lies below the ray
//! over the cell is skipped whole, at the coarsest level that allows it (Tevs et al. 2008),
//! and the ray meets the bilinear surface of the level-0 cell exactly (a quadratic).
//!
//! Radiance at the hit comes from a pre-rendered map of the scene under the descent's sun
//! (trn-map's lunar-Lambert with cast shadows, times albedo, viewer at nadir), sampled from
//! the level of its pyramid whose cell matches the pixel's ground footprint, so distant
//! terrain is filtered rather than aliased. The sun does not move during a descent, so this
//! costs one render per descent. At the high phase angles of low sun the lunar-Lambert
//! weight `L` is small and the reflectance nearly Lambertian, so the nadir-viewer shading
//! differs little from the true viewing geometry.
//!
//! Then the sensor: a Gaussian point spread function, automatic exposure (the 99.5th
//! percentile of the scene to 85% of full scale), shot noise (Poisson, as Gaussian of
//! variance equal to the electron count) and read noise, and quantisation to 8 or 12 bits.

use crate::error::SimError;
use rayon::prelude::*;
use trn_flight::camera::Camera;
use trn_flight::image::{Image, reduce_levels};
use trn_flight::rng::Pcg32;
use trn_flight::{Pose, Vec3};
use trn_map::SiteDem;
use trn_map::render::{self, Sun};

/// The sensor behind the lens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sensor {
    /// Gaussian PSF sigma, pixels (0: none).
    pub psf_sigma_px: f64,
    /// Electrons at full scale.
    pub full_well_e: f64,
    /// Read noise, electrons RMS.
    pub read_noise_e: f64,
    /// Bits per pixel: 8, or 12 (stored in 16-bit PNGs).
    pub bits: u32,
}

impl Default for Sensor {
    fn default() -> Self {
        Self {
            psf_sigma_px: 0.6,
            full_well_e: 20_000.0,
            read_noise_e: 15.0,
            bits: 8,
        }
    }
}

/// Defects of a real camera, all off by default. Fixed-pattern defects (hot pixels, column
/// offsets) are drawn from `pattern_seed`, the same on every frame of a descent as on a real
/// sensor.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Defects {
    /// Fraction of pixels that are hot: each holds a dark signal of 50 % to 100 % of the
    /// full well on top of its scene (0..1).
    pub hot_pixel_fraction: f64,
    /// RMS of a fixed offset per column, digital numbers.
    pub column_offset_rms_dn: f64,
    /// JPEG-like compression: 8x8 block DCT quantised with the JPEG luminance table at this
    /// quality (1..=100; None: none).
    pub jpeg_quality: Option<u8>,
    /// Motion smear during the exposure: length in pixels along the frame's image motion.
    pub smear_px: f64,
    /// Fraction of lit pixels exposed beyond the full well, which clip there (0: the
    /// automatic exposure of [`render_frame`], which saturates nearly nothing).
    pub saturation_fraction: f64,
    /// Seed of the fixed-pattern defects.
    pub pattern_seed: u64,
}

impl Defects {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// an invalid-field [`SimError::Dataset`] naming the option and its value when it is out
    /// of range.
    pub fn validate(&self) -> Result<(), SimError> {
        let frac = |name: &str, v: f64, hi: f64| {
            if (0.0..hi).contains(&v) || v == 0.0 {
                Ok(())
            } else {
                Err(SimError::invalid(name, format!("{v} (0 to below {hi})")))
            }
        };
        frac("--hot-pixel-fraction", self.hot_pixel_fraction, 1.0)?;
        frac("--saturation-fraction", self.saturation_fraction, 0.5)?;
        if !(self.column_offset_rms_dn >= 0.0 && self.column_offset_rms_dn.is_finite()) {
            return Err(SimError::invalid(
                "--column-offset-rms-dn",
                format!("{} (0 or more)", self.column_offset_rms_dn),
            ));
        }
        if !(self.smear_px >= 0.0 && self.smear_px <= 200.0) {
            return Err(SimError::invalid(
                "--smear-px",
                format!("{} (0 to 200)", self.smear_px),
            ));
        }
        if let Some(q) = self.jpeg_quality
            && !(1..=100).contains(&q)
        {
            return Err(SimError::invalid(
                "--jpeg-quality",
                format!("{q} (1 to 100)"),
            ));
        }
        Ok(())
    }
}

/// Smears `img` along the unit direction `dir` (columns, rows) over `length` pixels: each
/// pixel becomes the mean of bilinear samples at the midpoints of equal steps of at most a
/// quarter pixel along the segment of that length centred on it (edges clamped), as a scene
/// moving uniformly during the exposure records.
pub fn smear(img: &mut [f32], w: usize, h: usize, dir: (f64, f64), length: f64) {
    if length <= 0.0 || w == 0 || h == 0 {
        return;
    }
    let n = (4.0 * length).ceil().max(1.0) as usize;
    let src = img.to_vec();
    img.par_chunks_mut(w).enumerate().for_each(|(r, row)| {
        for (c, o) in row.iter_mut().enumerate() {
            let mut acc = 0.0;
            for k in 0..n {
                let t = length * ((k as f64 + 0.5) / n as f64 - 0.5);
                acc += trn_map::sample::sample_clamped(
                    &src,
                    w,
                    h,
                    c as f64 + t * dir.0,
                    r as f64 + t * dir.1,
                    trn_map::Interpolation::Bilinear,
                );
            }
            *o = (acc / n as f64) as f32;
        }
    });
}

/// The JPEG standard's luminance quantisation table (ITU T.81, Annex K), row-major.
const JPEG_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// JPEG-like lossy compression of a `w x h` image of digital numbers `0..=full`: each 8x8
/// block (edge blocks padded by repeating the edge) level-shifted, transformed by the 2-D
/// DCT-II, its coefficients quantised with the JPEG luminance table scaled for `quality` as
/// the IJG library does (scaled by `full / 255` for deeper pixels) and transformed back,
/// rounded and clamped. Entropy coding is lossless and left out.
pub fn jpeg_like(pixels: &mut [u16], w: usize, h: usize, full: u16, quality: u8) {
    let q = f64::from(quality.clamp(1, 100));
    let scale = if q < 50.0 {
        5000.0 / q
    } else {
        200.0 - 2.0 * q
    };
    let depth = f64::from(full) / 255.0;
    let table: Vec<f64> = JPEG_LUMA
        .iter()
        .map(|&t| {
            ((f64::from(t) * scale + 50.0) / 100.0)
                .floor()
                .clamp(1.0, 255.0)
                * depth
        })
        .collect();
    let cos: Vec<f64> = (0..64)
        .map(|k| {
            let (x, u) = ((k / 8) as f64, (k % 8) as f64);
            let c = if u == 0.0 { (0.125f64).sqrt() } else { 0.5 };
            c * ((2.0 * x + 1.0) * u * std::f64::consts::PI / 16.0).cos()
        })
        .collect();
    // cos[x * 8 + u]: the orthonormal DCT-II basis.
    let shift = (f64::from(full) + 1.0) / 2.0;
    for by in (0..h).step_by(8) {
        for bx in (0..w).step_by(8) {
            let mut block = [0.0f64; 64];
            for y in 0..8 {
                for x in 0..8 {
                    let (xx, yy) = ((bx + x).min(w - 1), (by + y).min(h - 1));
                    block[y * 8 + x] = f64::from(pixels[yy * w + xx]) - shift;
                }
            }
            let mut coef = [0.0f64; 64];
            for v in 0..8 {
                for u in 0..8 {
                    let mut acc = 0.0;
                    for y in 0..8 {
                        for x in 0..8 {
                            acc += block[y * 8 + x] * cos[x * 8 + u] * cos[y * 8 + v];
                        }
                    }
                    let t = table[v * 8 + u];
                    coef[v * 8 + u] = (acc / t).round() * t;
                }
            }
            for y in 0..8 {
                for x in 0..8 {
                    let (xx, yy) = (bx + x, by + y);
                    if xx >= w || yy >= h {
                        continue;
                    }
                    let mut acc = 0.0;
                    for v in 0..8 {
                        for u in 0..8 {
                            acc += coef[v * 8 + u] * cos[x * 8 + u] * cos[y * 8 + v];
                        }
                    }
                    pixels[yy * w + xx] = (acc + shift).round().clamp(0.0, f64::from(full)) as u16;
                }
            }
        }
    }
}

/// The scene a descent is rendered from: terrain geometry and shading under one sun.
#[derive(Debug)]
pub struct Scene {
    grid: trn_flight::dem::Grid,
    /// Site z of every node.
    z: Vec<f32>,
    /// Max-height pyramid over cells: level 0 cell (i, j) spans nodes i..=i+1, j..=j+1.
    maxz: Vec<Image>,
    /// Radiance pyramid (level 0 on the node grid).
    radiance: Vec<Image>,
}

/// One rendered frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// Width, pixels.
    pub width: usize,
    /// Height, pixels.
    pub height: usize,
    /// Digital numbers, row-major (0..=255 or 0..=4095).
    pub pixels: Vec<u16>,
    /// Bits per pixel.
    pub bits: u32,
    /// Fraction of pixels whose ray met the terrain inside the map.
    pub coverage: f64,
}

impl Scene {
    /// Prepares `dem` (a site-grid DEM) and `albedo` (same grid, or `None` for uniform) for
    /// rendering under `sun`.
    ///
    /// # Errors
    ///
    /// an invalid-field [`SimError::Dataset`] when the grid has missing heights, the albedo's size differs,
    /// or the sun is below the horizon.
    pub fn new(dem: &SiteDem, albedo: Option<&[f32]>, sun: Sun) -> Result<Self, SimError> {
        Self::with_law(dem, albedo, sun, crate::photometry::Law::LunarLambert)
    }

    /// [`Scene::new`] shaded with the photometric `law`.
    ///
    /// # Errors
    ///
    /// As [`Scene::new`].
    pub fn with_law(
        dem: &SiteDem,
        albedo: Option<&[f32]>,
        sun: Sun,
        law: crate::photometry::Law,
    ) -> Result<Self, SimError> {
        let g = dem.grid;
        if albedo.is_some_and(|a| a.len() != g.width * g.height) {
            return Err(SimError::invalid(
                "albedo",
                "size differs from the DEM grid",
            ));
        }
        if !(sun.elevation_deg > 0.0 && sun.elevation_deg <= 90.0) {
            return Err(SimError::invalid(
                "sun elevation",
                format!("{} deg", sun.elevation_deg),
            ));
        }
        Self::with_radiance(dem, crate::photometry::render(dem, sun, albedo, law))
    }

    /// Prepares `dem` for rendering with the given radiance on its nodes (a render made
    /// elsewhere, as for a patch of detail whose cast shadows come partly from outside it).
    ///
    /// # Errors
    ///
    /// an invalid-field [`SimError::Dataset`] when the grid has missing heights or the radiance's size
    /// differs.
    pub fn with_radiance(dem: &SiteDem, radiance: Vec<f32>) -> Result<Self, SimError> {
        let g = dem.grid;
        if dem.missing > 0 || dem.data.iter().any(|v| !v.is_finite()) {
            return Err(SimError::invalid(
                "scene DEM",
                format!("{} nodes without height", dem.missing.max(1)),
            ));
        }
        if radiance.len() != g.width * g.height {
            return Err(SimError::invalid(
                "radiance",
                "size differs from the DEM grid",
            ));
        }
        let z = render::site_z(dem);
        let (w, h) = (g.width, g.height);
        let levels = (usize::BITS - w.max(h).leading_zeros()) as usize;
        let radiance = reduce_levels(
            Image {
                width: w,
                height: h,
                data: radiance,
            },
            levels.clamp(1, 12),
        );
        // Max pyramid over cells.
        let (cw, ch) = (w - 1, h - 1);
        let mut lvl0 = vec![0.0f32; cw * ch];
        lvl0.par_chunks_mut(cw).enumerate().for_each(|(j, row)| {
            for (i, m) in row.iter_mut().enumerate() {
                *m = z[j * w + i]
                    .max(z[j * w + i + 1])
                    .max(z[(j + 1) * w + i])
                    .max(z[(j + 1) * w + i + 1]);
            }
        });
        let mut maxz = vec![Image {
            width: cw,
            height: ch,
            data: lvl0,
        }];
        while let Some(prev) = maxz.last() {
            if prev.width <= 1 && prev.height <= 1 {
                break;
            }
            let (pw, ph) = (prev.width, prev.height);
            let (nw, nh) = (pw.div_ceil(2), ph.div_ceil(2));
            let mut d = vec![f32::NEG_INFINITY; nw * nh];
            for (k, m) in d.iter_mut().enumerate() {
                let (i, j) = (k % nw, k / nw);
                for (di, dj) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (a, b) = (2 * i + di, 2 * j + dj);
                    if a < pw && b < ph {
                        *m = m.max(prev.data[b * pw + a]);
                    }
                }
            }
            maxz.push(Image {
                width: nw,
                height: nh,
                data: d,
            });
        }
        Ok(Self {
            grid: g,
            z,
            maxz,
            radiance,
        })
    }

    /// The first point where the ray `origin + t dir` (site frame, `dir` unit) meets the
    /// terrain, as `(t, x, y)`; `None` when it leaves the map first.
    #[must_use]
    pub fn intersect(&self, origin: Vec3, dir: Vec3) -> Option<(f64, f64, f64)> {
        let g = &self.grid;
        // Grid coordinates: column u, row v (node units), z metres.
        let (u0, v0) = ((origin.x - g.x0) / g.dx, (origin.y - g.y0) / g.dy);
        let (du, dv) = (dir.x / g.dx, dir.y / g.dy);
        let (umax, vmax) = ((g.width - 1) as f64, (g.height - 1) as f64);
        // Clip the ray to the map's box and to below the highest terrain.
        let (mut t0, mut t1) = (0.0f64, f64::INFINITY);
        for (p, d, hi) in [(u0, du, umax), (v0, dv, vmax)] {
            if d.abs() < 1e-15 {
                if p < 0.0 || p > hi {
                    return None;
                }
            } else {
                let (a, b) = ((0.0 - p) / d, (hi - p) / d);
                t0 = t0.max(a.min(b));
                t1 = t1.min(a.max(b));
            }
        }
        let top = self.maxz.last().map_or(f32::INFINITY, |m| m.data[0]) as f64;
        if origin.z > top {
            if dir.z >= 0.0 {
                return None;
            }
            t0 = t0.max((top - origin.z) / dir.z);
        }
        if t0 > t1 {
            return None;
        }
        let mut t = t0;
        let mut level = self.maxz.len() - 1;
        let mut guard = 0u32;
        while t <= t1 && guard < 100_000 {
            guard += 1;
            let (u, v) = (u0 + t * du, v0 + t * dv);
            let zr = origin.z + t * dir.z;
            let size = (1usize << level) as f64;
            let (ci, cj) = (
                ((u / size).floor().max(0.0)) as usize,
                ((v / size).floor().max(0.0)) as usize,
            );
            let m = &self.maxz[level];
            let (ci, cj) = (ci.min(m.width - 1), cj.min(m.height - 1));
            // Where the ray leaves this cell horizontally.
            let exit = |p: f64, d: f64, c: usize| {
                if d > 0.0 {
                    (((c + 1) as f64) * size - p) / d
                } else if d < 0.0 {
                    ((c as f64) * size - p) / d
                } else {
                    f64::INFINITY
                }
            };
            let dt = exit(u, du, ci).min(exit(v, dv, cj)).max(0.0);
            let t_exit = (t + dt).min(t1);
            let z_exit = origin.z + t_exit * dir.z;
            let zmax = f64::from(m.data[cj * m.width + ci]);
            if zr.min(z_exit) > zmax {
                // Entirely above this cell: skip it, and try a coarser level next.
                t = t_exit + 1e-9 * (1.0 + t_exit);
                if level + 1 < self.maxz.len() {
                    level += 1;
                }
                continue;
            }
            if level > 0 {
                // Descend; jump to where the ray reaches the cell's top if that is later.
                if dir.z < 0.0 && zr > zmax {
                    t = t.max((zmax - origin.z) / dir.z).min(t_exit);
                }
                level -= 1;
                continue;
            }
            if let Some(th) = self.hit_in_cell(ci, cj, u0, v0, du, dv, origin.z, dir.z, t, t_exit) {
                return Some((th, origin.x + th * dir.x, origin.y + th * dir.y));
            }
            t = t_exit + 1e-9 * (1.0 + t_exit);
        }
        None
    }

    /// Smallest `t` in `[ta, tb]` where the ray is at or below the bilinear surface of
    /// level-0 cell `(i, j)`.
    #[allow(clippy::too_many_arguments)]
    fn hit_in_cell(
        &self,
        i: usize,
        j: usize,
        u0: f64,
        v0: f64,
        du: f64,
        dv: f64,
        oz: f64,
        dz: f64,
        ta: f64,
        tb: f64,
    ) -> Option<f64> {
        let w = self.grid.width;
        let zz = |c: usize, r: usize| f64::from(self.z[r * w + c]);
        let (z00, z10, z01, z11) = (zz(i, j), zz(i + 1, j), zz(i, j + 1), zz(i + 1, j + 1));
        // Local coordinates along the segment: a(s) = a0 + s da, s in [0, tb - ta].
        let (a0, b0) = (u0 + ta * du - i as f64, v0 + ta * dv - j as f64);
        let c0 = oz + ta * dz;
        // surface(a, b) = z00 + (z10 - z00) a + (z01 - z00) b + k a b
        let k = z00 - z10 - z01 + z11;
        let (ea, eb) = (z10 - z00, z01 - z00);
        // f(s) = ray z - surface = A s^2 + B s + C
        let qa = -k * du * dv;
        let qb = dz - ea * du - eb * dv - k * (a0 * dv + b0 * du);
        let qc = c0 - (z00 + ea * a0 + eb * b0 + k * a0 * b0);
        let len = tb - ta;
        if qc <= 0.0 {
            return Some(ta);
        }
        let f = |s: f64| (qa * s + qb) * s + qc;
        // Roots of the quadratic in [0, len]; the smallest where f crosses to <= 0.
        let mut roots = [f64::INFINITY; 2];
        if qa.abs() < 1e-12 * (qb.abs() + 1e-12) {
            if qb != 0.0 {
                roots[0] = -qc / qb;
            }
        } else {
            let disc = qb * qb - 4.0 * qa * qc;
            if disc >= 0.0 {
                // Numerically stable pair.
                let q = -0.5 * (qb + qb.signum() * disc.sqrt());
                roots = [q / qa, if q != 0.0 { qc / q } else { f64::INFINITY }];
            }
        }
        let s = roots
            .into_iter()
            .filter(|s| (0.0..=len).contains(s))
            .fold(f64::INFINITY, f64::min);
        if s.is_finite() {
            return Some(ta + s);
        }
        // Rounding can hide a root at the end of the segment.
        (f(len) <= 0.0).then_some(tb)
    }

    /// Radiance at site `(x, y)` filtered over a footprint of `footprint_m` metres:
    /// trilinear in the radiance pyramid.
    #[must_use]
    pub fn radiance_at(&self, x: f64, y: f64, footprint_m: f64) -> f32 {
        let g = &self.grid;
        let lv = (footprint_m / g.dx.abs()).max(1.0).log2();
        let l0 = (lv.floor() as usize).min(self.radiance.len() - 1);
        let l1 = (l0 + 1).min(self.radiance.len() - 1);
        let frac = (lv - l0 as f64).clamp(0.0, 1.0) as f32;
        let sample = |l: usize| {
            let s = (1usize << l) as f64;
            let (c, r) = ((x - g.x0) / g.dx / s, (y - g.y0) / g.dy / s);
            let img = &self.radiance[l];
            let c = c.clamp(0.0, (img.width - 1) as f64);
            let r = r.clamp(0.0, (img.height - 1) as f64);
            img.bilinear(c, r).unwrap_or(0.0)
        };
        let a = sample(l0);
        if l1 == l0 || frac == 0.0 {
            a
        } else {
            a * (1.0 - frac) + sample(l1) * frac
        }
    }

    /// Grid spacing, metres.
    #[must_use]
    pub fn spacing_m(&self) -> f64 {
        self.grid.dx.abs()
    }
}

/// The first point where the ray meets the terrain of the first of `layers` it meets inside
/// (finest first: a patch of detail before the site it lies in), as `(t, x, y)`.
#[must_use]
pub fn intersect(layers: &[&Scene], origin: Vec3, dir: Vec3) -> Option<(f64, f64, f64, usize)> {
    layers
        .iter()
        .enumerate()
        .find_map(|(k, s)| s.intersect(origin, dir).map(|(t, x, y)| (t, x, y, k)))
}

/// Scene radiance of every pixel of `camera` at `pose` (0 where the ray leaves the map),
/// rows in parallel; and the fraction of pixels that met the terrain. Each ray is cast
/// against `layers` in order (finest first) and shaded by the layer it met.
///
/// # Errors
///
/// an invalid-field [`SimError::Dataset`] when a pixel cannot be undistorted (distortion too strong for
/// the image corners).
pub fn radiance_image(
    layers: &[&Scene],
    camera: &Camera,
    pose: &Pose,
) -> Result<(Vec<f32>, f64), SimError> {
    let (w, h) = (camera.width() as usize, camera.height() as usize);
    let rot = pose.attitude.to_mat3();
    let (fx, _) = camera.focal();
    let mut img = vec![0.0f32; w * h];
    let hits: Result<Vec<usize>, SimError> = img
        .par_chunks_mut(w)
        .enumerate()
        .map(|(r, row)| {
            let mut n = 0;
            for (c, px) in row.iter_mut().enumerate() {
                let ray = camera
                    .unproject(c as f64, r as f64)
                    .map_err(|e| SimError::invalid("camera", format!("pixel ({c}, {r}): {e:?}")))?;
                let d = rot.mul_vec(ray);
                if let Some((t, x, y, k)) = intersect(layers, pose.position, d) {
                    // Footprint: one pixel's angle at range t, stretched by obliquity.
                    let cos_view = (-d.z).max(0.2);
                    let footprint = t / (fx * ray.z) / cos_view;
                    *px = layers[k].radiance_at(x, y, footprint);
                    n += 1;
                }
            }
            Ok(n)
        })
        .collect();
    let hits: usize = hits?.into_iter().sum();
    Ok((img, hits as f64 / (w * h) as f64))
}

/// Separable Gaussian blur (edges clamped).
pub(crate) fn blur(img: &mut [f32], w: usize, h: usize, sigma: f64) {
    if sigma <= 0.0 {
        return;
    }
    let r = (3.0 * sigma).ceil() as i64;
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp() as f32)
        .collect();
    let s: f32 = k.iter().sum();
    let k: Vec<f32> = k.iter().map(|v| v / s).collect();
    let src = img.to_vec();
    img.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for (x, o) in row.iter_mut().enumerate() {
            let mut acc = 0.0;
            for (i, kv) in k.iter().enumerate() {
                let xx = (x as i64 + i as i64 - r).clamp(0, w as i64 - 1) as usize;
                acc += kv * src[y * w + xx];
            }
            *o = acc;
        }
    });
    let src = img.to_vec();
    img.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for (x, o) in row.iter_mut().enumerate() {
            let mut acc = 0.0;
            for (i, kv) in k.iter().enumerate() {
                let yy = (y as i64 + i as i64 - r).clamp(0, h as i64 - 1) as usize;
                acc += kv * src[yy * w + x];
            }
            *o = acc;
        }
    });
}

/// Renders one frame: radiance, PSF, exposure, noise, quantisation. `seed` drives the
/// noise (rows draw from their own streams, so the result does not depend on threads).
///
/// # Errors
///
/// As [`radiance_image`]; an invalid-field [`SimError::Dataset`] for a bit depth other than 8 or 12.
pub fn render_frame(
    layers: &[&Scene],
    camera: &Camera,
    pose: &Pose,
    sensor: &Sensor,
    seed: u64,
) -> Result<Frame, SimError> {
    render_frame_with(
        layers,
        camera,
        pose,
        sensor,
        &Defects::default(),
        (1.0, 0.0),
        seed,
    )
}

/// [`render_frame`] with a camera's `defects`, in the order a camera makes them: motion
/// smear along `motion` (unit image direction, columns and rows) on the scene, the PSF,
/// exposure (with saturation beyond the full well), shot noise, the hot pixels' dark signal,
/// read noise, column offsets, quantisation, then compression. With every defect off this is
/// [`render_frame`], sample for sample.
///
/// # Errors
///
/// As [`render_frame`]; an invalid-field [`SimError::Dataset`] for defects out of range.
pub fn render_frame_with(
    layers: &[&Scene],
    camera: &Camera,
    pose: &Pose,
    sensor: &Sensor,
    defects: &Defects,
    motion: (f64, f64),
    seed: u64,
) -> Result<Frame, SimError> {
    defects.validate()?;
    if sensor.bits != 8 && sensor.bits != 12 {
        return Err(SimError::invalid(
            "bits",
            format!("{} (8 or 12)", sensor.bits),
        ));
    }
    let (w, h) = (camera.width() as usize, camera.height() as usize);
    let (mut img, coverage) = radiance_image(layers, camera, pose)?;
    smear(&mut img, w, h, motion, defects.smear_px);
    blur(&mut img, w, h, sensor.psf_sigma_px);
    // Automatic exposure: the 99.5th percentile of lit pixels to 85% of full scale.
    let mut lit: Vec<f32> = img.iter().copied().filter(|v| *v > 0.0).collect();
    // The camera's exposure rule ranks lit pixels by `floor(0.995 n)`.
    // With saturation, the (1 - f) quantile of lit pixels goes to the full well instead.
    let sat = defects.saturation_fraction;
    let (rank, level) = if sat > 0.0 {
        (1.0 - sat, 1.0)
    } else {
        (0.995, 0.85)
    };
    let k = (((lit.len() as f64) * rank) as usize).min(lit.len().saturating_sub(1));
    let reference = trn_flight::stats::kth_smallest(&mut lit, k).unwrap_or(1.0);
    let gain_e = level * sensor.full_well_e / f64::from(reference.max(1e-6));
    let full = f64::from((1u32 << sensor.bits) - 1);
    let dn_per_e = full / sensor.full_well_e;
    let (hot, columns) = fixed_pattern(defects, w, h, sensor.full_well_e);
    let mut pixels = vec![0u16; w * h];
    pixels.par_chunks_mut(w).enumerate().for_each(|(r, row)| {
        let mut rng = Pcg32::new(seed, r as u64);
        let mut gauss = move || rng.normal();
        for (c, p) in row.iter_mut().enumerate() {
            let e = f64::from(img[r * w + c]) * gain_e;
            let noisy = if sat > 0.0 || !hot.is_empty() {
                // The well holds the scene's and the dark signal's electrons up to its
                // capacity; read noise comes after.
                let dark = hot.get(&(r * w + c)).copied().unwrap_or(0.0);
                let held =
                    (e + dark + (e + dark).max(0.0).sqrt() * gauss()).min(sensor.full_well_e);
                held + sensor.read_noise_e * gauss()
            } else {
                e + e.max(0.0).sqrt() * gauss() + sensor.read_noise_e * gauss()
            };
            let offset = columns.get(c).copied().unwrap_or(0.0);
            *p = (noisy * dn_per_e + offset).round().clamp(0.0, full) as u16;
        }
    });
    if let Some(q) = defects.jpeg_quality {
        jpeg_like(&mut pixels, w, h, full as u16, q);
    }
    Ok(Frame {
        width: w,
        height: h,
        pixels,
        bits: sensor.bits,
        coverage,
    })
}

/// The fixed pattern of a `w x h` sensor: hot pixels (index to dark signal in electrons,
/// exactly `round(fraction w h)` distinct pixels) and column offsets in digital numbers
/// (empty when off).
fn fixed_pattern(
    d: &Defects,
    w: usize,
    h: usize,
    full_well_e: f64,
) -> (std::collections::HashMap<usize, f64>, Vec<f64>) {
    let mut rng = Pcg32::new(d.pattern_seed, 0x407);
    let n = (d.hot_pixel_fraction * (w * h) as f64).round() as usize;
    let mut hot = std::collections::HashMap::with_capacity(n);
    while hot.len() < n {
        let k = ((rng.next_f64() * (w * h) as f64) as usize).min(w * h - 1);
        let dark = full_well_e * (0.5 + 0.5 * rng.next_f64());
        hot.entry(k).or_insert(dark);
    }
    let mut rng = Pcg32::new(d.pattern_seed, 0xC01);
    let columns = if d.column_offset_rms_dn > 0.0 {
        (0..w)
            .map(|_| rng.normal() * d.column_offset_rms_dn)
            .collect()
    } else {
        Vec::new()
    };
    (hot, columns)
}
