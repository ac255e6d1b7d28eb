//! Orthographic renders of a site DEM under a given sun: lunar-Lambert reflectance and cast
//! shadows.
//!
//! Geometry is the site frame's: the DEM is a [`SiteDem`]-style grid (heights above the
//! sphere at site-frame `x, y`), converted to site `z` so the sphere's curvature is part of
//! the terrain. The sun is a direction fixed in the site frame (azimuth clockwise from north,
//! elevation above the horizon at the site origin), so its rays are straight lines of
//! constant slope over the whole map: at 1.5 degrees, the drop of the horizon 15 km away
//! (0.5 degrees) is exactly what decides polar shadows, and it is included.
//!
//! Shadows by one sweep: with `S(p) = max(z(p), S(p') - d tan(el))`, where `p'` is the point
//! one column (or row) towards the sun and `d` the horizontal distance to it, `S` is the
//! height of the highest sun ray grazing the terrain upwind of `p`; `p` is in shadow when
//! `S(p) > z(p)`. One pass in the order away from the sun: O(pixels) whatever the sun
//! elevation, with `S(p')` interpolated linearly between the two nearest nodes.
//!
//! Reflectance is McEwen's lunar-Lambert: `A (2 L cos i / (cos i + cos e) + (1 - L) cos i)`
//! with `L(phase)` from McEwen (1996), the viewer at nadir.

use crate::site_dem::SiteDem;
use rayon::prelude::*;
use trn_flight::Vec3;

/// Sun direction at the site.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sun {
    /// Azimuth, degrees clockwise from north towards east.
    pub azimuth_deg: f64,
    /// Elevation above the local horizon at the site origin, degrees.
    pub elevation_deg: f64,
}

impl Sun {
    /// Unit vector towards the sun in the site frame (east, north, up).
    #[must_use]
    pub fn direction(&self) -> Vec3 {
        let (az, el) = (
            self.azimuth_deg.to_radians(),
            self.elevation_deg.to_radians(),
        );
        Vec3::new(az.sin() * el.cos(), az.cos() * el.cos(), el.sin())
    }
}

/// McEwen's (1996) lunar-Lambert limb-darkening weight for a phase angle in degrees.
#[must_use]
pub fn lunar_lambert_l(phase_deg: f64) -> f64 {
    let a = phase_deg;
    1.0 - 0.019 * a + 2.42e-4 * a * a - 1.46e-6 * a * a * a
}

/// Site z of every node (heights above the sphere turned into site-frame z); NaN stays NaN.
#[must_use]
pub fn site_z(dem: &SiteDem) -> Vec<f32> {
    let g = &dem.grid;
    let r = g.radius;
    dem.data
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (x, y) = (
                g.x0 + (i % g.width) as f64 * g.dx,
                g.y0 + (i / g.width) as f64 * g.dy,
            );
            let h = f64::from(*h);
            if h.is_nan() {
                // `max` would turn NaN into 0: keep nodata as NaN.
                return f32::NAN;
            }
            (((r + h) * (r + h) - x * x - y * y).max(0.0).sqrt() - r) as f32
        })
        .collect()
}

/// True where the node is in cast shadow (nodata nodes are reported lit; they render NaN).
#[must_use]
pub fn cast_shadows(dem: &SiteDem, sun: Sun) -> Vec<bool> {
    let (z, inc, _) = sweep(dem, sun);
    // A small tolerance keeps round-off on sunlit slopes from reading as shadow.
    z.iter()
        .zip(&inc)
        .map(|(zv, t)| !zv.is_nan() && *t > *zv + tolerance(*zv))
        .collect()
}

fn tolerance(z: f32) -> f32 {
    1e-3 * (1.0 + z.abs())
}

/// The shadowed fraction of each node's neighbourhood, 0 (lit) to 1 (in shadow): where the
/// grazing ray passes within one step's drop of the terrain, the terminator lies between
/// this node and the next, at the fraction the ray's height says. Thresholded at one half
/// it is [`cast_shadows`]; interpolated, it puts shadow edges between nodes where they
/// belong instead of on the grid's staircase.
#[must_use]
pub fn shadow_fraction(dem: &SiteDem, sun: Sun) -> Vec<f32> {
    let (z, inc, drop) = sweep(dem, sun);
    let d = drop.max(1e-6);
    z.iter()
        .zip(&inc)
        .map(|(zv, t)| {
            if zv.is_nan() || !t.is_finite() {
                0.0
            } else {
                (0.5 + (t - zv - tolerance(*zv)) / d).clamp(0.0, 1.0)
            }
        })
        .collect()
}

/// The one-pass sweep: site z of every node, the height of the highest sun ray arriving at
/// it from upwind (`-inf` where none does), and the ray's drop over one sweep step.
fn sweep(dem: &SiteDem, sun: Sun) -> (Vec<f32>, Vec<f32>, f32) {
    let g = &dem.grid;
    let (w, h) = (g.width, g.height);
    let z = site_z(dem);
    let s = sun.direction();
    let tan_el = s.z / (s.x * s.x + s.y * s.y).sqrt().max(1e-12);
    // Sun direction in grid steps: columns grow with x (dx > 0 east), rows with -y when dy < 0.
    let (sc, sr) = (s.x / g.dx, s.y / g.dy);
    let mut top = z
        .iter()
        .map(|v| if v.is_nan() { f32::NEG_INFINITY } else { *v })
        .collect::<Vec<f32>>();
    let mut inc = vec![f32::NEG_INFINITY; w * h];
    // March along the axis the sun is closer to (the major one), away from the sun: each
    // node's upwind point lies one major step towards the sun and `off` minor steps aside,
    // interpolated between its two neighbours on the minor axis.
    let cols_major = sc.abs() >= sr.abs();
    let (s_major, s_minor, d_major, d_minor) = if cols_major {
        (sc, sr, g.dx, g.dy)
    } else {
        (sr, sc, g.dy, g.dx)
    };
    let (n_major, n_minor) = if cols_major { (w, h) } else { (h, w) };
    let at = |major: usize, minor: usize| {
        if cols_major {
            minor * w + major
        } else {
            major * w + minor
        }
    };
    let off = s_minor / s_major.abs(); // minor steps per major step towards the sun
    let dist = ((d_major).powi(2) + (off * d_minor).powi(2)).sqrt();
    let step_drop = (dist * tan_el) as f32;
    let order: Vec<usize> = if s_major > 0.0 {
        (0..n_major).rev().collect()
    } else {
        (0..n_major).collect()
    };
    for pair in order.windows(2) {
        let (up, m) = (pair[0], pair[1]);
        for n in 0..n_minor {
            let nf = n as f64 + off;
            if nf < 0.0 || nf > (n_minor - 1) as f64 {
                continue;
            }
            let n0 = nf.floor() as usize;
            let t = (nf - n0 as f64) as f32;
            let n1 = (n0 + 1).min(n_minor - 1);
            let upwind = top[at(up, n0)] * (1.0 - t) + top[at(up, n1)] * t;
            let k = at(m, n);
            inc[k] = upwind - step_drop;
            top[k] = top[k].max(inc[k]);
        }
    }
    (z, inc, step_drop)
}

/// Renders the DEM as seen from nadir under `sun`: lunar-Lambert reflectance times the
/// optional `albedo` (same grid), times the lit fraction ([`shadow_fraction`]: 0 in cast
/// shadow, a ramp across the terminator), NaN at nodata. Rows in parallel.
#[must_use]
pub fn render(dem: &SiteDem, sun: Sun, albedo: Option<&[f32]>, shadows: bool) -> Vec<f32> {
    let g = dem.grid;
    let (w, h) = (g.width, g.height);
    let z = site_z(dem);
    let shadow = if shadows {
        shadow_fraction(dem, sun)
    } else {
        vec![0.0; w * h]
    };
    let s = sun.direction();
    let phase = 90.0 - sun.elevation_deg; // nadir viewer
    let l = lunar_lambert_l(phase);
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(w).enumerate().for_each(|(r, row)| {
        for (c, px) in row.iter_mut().enumerate() {
            let k = r * w + c;
            let zc = z[k];
            if zc.is_nan() {
                *px = f32::NAN;
                continue;
            }
            let lit = 1.0 - f64::from(shadow[k]);
            if lit <= 0.0 {
                *px = 0.0;
                continue;
            }
            // Central differences (one-sided at edges) of site z.
            let zx = |cc: usize| z[r * w + cc];
            let zy = |rr: usize| z[rr * w + c];
            let (cl, cr) = (c.saturating_sub(1), (c + 1).min(w - 1));
            let (ru, rd) = (r.saturating_sub(1), (r + 1).min(h - 1));
            let gx = (zx(cr) - zx(cl)) as f64 / ((cr - cl).max(1) as f64 * g.dx);
            let gy = (zy(rd) - zy(ru)) as f64 / ((rd - ru).max(1) as f64 * g.dy);
            if !(gx.is_finite() && gy.is_finite()) {
                *px = f32::NAN;
                continue;
            }
            let n = Vec3::new(-gx, -gy, 1.0)
                .try_normalize()
                .unwrap_or(Vec3::new(0.0, 0.0, 1.0));
            let cos_i = n.dot(s).max(0.0);
            let cos_e = n.z.max(1e-6);
            let refl = if cos_i > 0.0 {
                2.0 * l * cos_i / (cos_i + cos_e) + (1.0 - l) * cos_i
            } else {
                0.0
            };
            let a = albedo.and_then(|a| a.get(k)).copied().unwrap_or(1.0);
            *px = (lit * refl * f64::from(a)) as f32;
        }
    });
    out
}
