//! Seeded lunar-like terrain on a regular map grid: a fractal base, a crater population with
//! a power-law size-frequency distribution, optional boulders, and an albedo layer.
//!
//! The grid is a map grid (row 0 north, columns east, `gsd_m` spacing); crater positions
//! are metres from the grid centre, `x` along the columns and `y` up the rows.
//!
//! - **Base**: [`crate::noise::Fbm`], Hurst exponent [`TerrainParams::hurst`], scaled to a
//!   given RMS slope at a 10-pixel baseline.
//! - **Craters**: cumulative density `N(>D) = K D^-b` per km² (D in km), from a quarter of the
//!   site down to [`TerrainParams::min_crater_px`] pixels, sampled by inverse CDF. Each has a
//!   state of degradation `f` in [0, 1] (1 fresh, skewed towards degraded, as on old
//!   surfaces): depth/diameter from 0.04 (degraded) to 0.2 (fresh, Pike 1977), rim height up
//!   to 0.036 D, a parabolic bowl inside the rim and ejecta falling as `r^-3` outside, tapered
//!   to zero at 3 radii. Craters add to the terrain in the order generated (largest first, so
//!   small ones overprint large ones as young craters do).
//! - **Boulders** (optional): blocks around fresh craters larger than 20 pixels.
//! - **Albedo**: 1 +- a few percent of slow fractal variation, and bright halos over the
//!   ejecta of fresh craters.

use crate::noise::Fbm;
use rayon::prelude::*;
use trn_flight::rng::Pcg32;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TerrainParams {
    /// Seed of everything random.
    pub seed: u64,
    /// Side of the square site, metres.
    pub size_m: f64,
    /// Grid spacing, metres.
    pub gsd_m: f64,
    /// Hurst exponent of the fractal base (0.5..1; the Moon: ~0.9).
    pub hurst: f64,
    /// RMS slope of the fractal base at a 10-pixel baseline, degrees.
    pub rms_slope_deg: f64,
    /// `K` in `N(>D) = K D^-b` craters per km², D in km (lunar equilibrium: ~0.08).
    pub crater_density: f64,
    /// `b`, the cumulative size-frequency slope (equilibrium 2, production ~3).
    pub sfd_slope: f64,
    /// Smallest crater diameter, pixels.
    pub min_crater_px: f64,
    /// Fraction of craters that are fresh (sharp rims, deep bowls, bright halos).
    pub fresh_fraction: f64,
    /// Scatter boulders around fresh craters.
    pub boulders: bool,
}

impl Default for TerrainParams {
    fn default() -> Self {
        Self {
            seed: 1,
            size_m: 8000.0,
            gsd_m: 2.0,
            hurst: 0.9,
            rms_slope_deg: 4.0,
            crater_density: 0.08,
            sfd_slope: 2.0,
            min_crater_px: 5.0,
            fresh_fraction: 0.1,
            boulders: true,
        }
    }
}

/// What a [`Crater`] record stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An impact crater: bowl, rim, ejecta.
    Crater,
    /// A boulder: a dome of height `rim` and diameter `diameter`.
    Boulder,
}

/// One crater (or boulder).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Crater {
    /// Crater or boulder.
    pub kind: Kind,
    /// Centre, metres east (along the columns) of the grid centre.
    pub x: f64,
    /// Centre, metres north (up the rows) of the grid centre.
    pub y: f64,
    /// Rim-to-rim diameter, metres.
    pub diameter: f64,
    /// Floor depth below the surrounding surface, metres.
    pub depth: f64,
    /// Rim height above the surrounding surface, metres.
    pub rim: f64,
    /// 1 fresh, 0 fully degraded.
    pub freshness: f64,
}

impl Crater {
    /// A crater of diameter `d` at `(x, y)` in a random state of degradation: a
    /// `fresh_fraction` of craters in 0.7..1, the rest degraded (`f^2` skews them towards
    /// the shallowest); depth and rim follow the state.
    pub fn degraded_at_random(
        x: f64,
        y: f64,
        d: f64,
        fresh_fraction: f64,
        rng: &mut Pcg32,
    ) -> Self {
        let f = if rng.next_f64() < fresh_fraction {
            0.7 + 0.3 * rng.next_f64()
        } else {
            0.6 * rng.next_f64().powi(2)
        };
        Self {
            kind: Kind::Crater,
            x,
            y,
            diameter: d,
            depth: d * (0.04 + 0.16 * f),
            rim: d * 0.036 * (0.25 + 0.75 * f),
            freshness: f,
        }
    }

    /// Radius out to which the feature changes the terrain (3 radii for craters).
    #[must_use]
    pub fn extent(&self) -> f64 {
        match self.kind {
            Kind::Crater => 1.5 * self.diameter,
            Kind::Boulder => 0.5 * self.diameter,
        }
    }

    /// Height change at distance `r` (metres) from the centre.
    #[must_use]
    pub fn profile(&self, r: f64) -> f64 {
        let rr = r / (0.5 * self.diameter);
        if self.kind == Kind::Boulder {
            let t = (1.0 - rr * rr).max(0.0);
            return self.rim * t.sqrt();
        }
        if rr < 1.0 {
            (self.depth + self.rim) * rr * rr - self.depth
        } else if rr < 3.0 {
            // r^-3 ejecta, smoothly tapered to zero between 2 and 3 radii.
            let t = (rr - 2.0).clamp(0.0, 1.0);
            let taper = 1.0 - t * t * (3.0 - 2.0 * t);
            self.rim / (rr * rr * rr) * taper
        } else {
            0.0
        }
    }

    /// Albedo change at distance `r`: a bright halo over the ejecta of fresh craters.
    #[must_use]
    pub fn halo(&self, r: f64) -> f64 {
        let rr = r / (0.5 * self.diameter);
        if rr >= 3.0 || self.kind == Kind::Boulder {
            return 0.0;
        }
        let f = self.freshness;
        0.45 * f * f * (-((rr - 1.2) / 0.6).powi(2)).exp()
    }
}

/// A generated terrain.
#[derive(Clone, Debug)]
pub struct Terrain {
    /// Columns (and rows: the site is square).
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Grid spacing, metres.
    pub gsd_m: f64,
    /// Heights above the reference sphere, metres, row-major, row 0 north.
    pub heights: Vec<f32>,
    /// Albedo (dimensionless, ~1), same grid.
    pub albedo: Vec<f32>,
    /// The craters, largest first, then the boulders.
    pub craters: Vec<Crater>,
}

impl Terrain {
    /// Metres east/north of the grid centre of column `c`, row `r`.
    #[must_use]
    pub fn node_xy(&self, c: usize, r: usize) -> (f64, f64) {
        (
            (c as f64 - (self.width as f64 - 1.0) / 2.0) * self.gsd_m,
            ((self.height as f64 - 1.0) / 2.0 - r as f64) * self.gsd_m,
        )
    }
}

/// Samples the crater population (largest first).
#[must_use]
pub fn craters(p: &TerrainParams) -> Vec<Crater> {
    let mut rng = Pcg32::new(p.seed, 0xC7A7);
    let d_min = p.min_crater_px * p.gsd_m / 1000.0; // km
    let d_max = (p.size_m / 4000.0).max(d_min * 1.01);
    // Craters centred up to 1.5 D_max outside the site still reach into it.
    let span_km = p.size_m / 1000.0 + 3.0 * d_max;
    let b = p.sfd_slope;
    let expected = p.crater_density * span_km * span_km * (d_min.powf(-b) - d_max.powf(-b));
    let n = expected.round().clamp(0.0, 5e6) as usize;
    let half = span_km * 500.0;
    let mut out: Vec<Crater> = (0..n)
        .map(|_| {
            let u = rng.next_f64();
            let d_km = (d_min.powf(-b) - u * (d_min.powf(-b) - d_max.powf(-b))).powf(-1.0 / b);
            let d = d_km * 1000.0;
            let x = (rng.next_f64() * 2.0 - 1.0) * half;
            let y = (rng.next_f64() * 2.0 - 1.0) * half;
            Crater::degraded_at_random(x, y, d, p.fresh_fraction, &mut rng)
        })
        .collect();
    out.sort_by(|a, b| b.diameter.total_cmp(&a.diameter));
    out
}

/// The fractal base: octaves from the site's side down to two grid spacings, scaled to the
/// RMS slope at a 10-pixel baseline.
#[must_use]
pub fn base_fbm(p: &TerrainParams) -> Fbm {
    let baseline = 10.0 * p.gsd_m;
    Fbm::new(
        p.size_m,
        2.0 * p.gsd_m,
        p.hurst,
        baseline,
        baseline * p.rms_slope_deg.to_radians().tan(),
        p.seed ^ 0xBA5E,
    )
}

/// Generates the terrain. Rows in parallel; the result depends only on the parameters.
#[must_use]
pub fn generate(p: &TerrainParams) -> Terrain {
    let n = (p.size_m / p.gsd_m).round() as usize + 1;
    let base = base_fbm(p);
    let tone = Fbm::new(
        p.size_m / 2.0,
        p.size_m / 64.0,
        0.5,
        100.0,
        0.02,
        p.seed ^ 0xA1BE,
    );
    let mut all = craters(p);
    if p.boulders {
        all.extend(boulders(p, &all));
    }
    let mut t = Terrain {
        width: n,
        height: n,
        gsd_m: p.gsd_m,
        heights: vec![0.0; n * n],
        albedo: vec![1.0; n * n],
        craters: Vec::new(),
    };
    // Bands of rows, each with the craters that reach it, in generation order.
    const BAND: usize = 32;
    let bands = n.div_ceil(BAND);
    let mut per_band: Vec<Vec<u32>> = vec![Vec::new(); bands];
    let half = (n as f64 - 1.0) / 2.0;
    for (i, c) in all.iter().enumerate() {
        let (r0, r1) = (
            half - (c.y + c.extent()) / p.gsd_m,
            half - (c.y - c.extent()) / p.gsd_m,
        );
        if r1 < 0.0 || r0 > (n - 1) as f64 {
            continue;
        }
        let (b0, b1) = (
            (r0.max(0.0) as usize) / BAND,
            (r1.min((n - 1) as f64) as usize) / BAND,
        );
        for list in &mut per_band[b0..=b1] {
            list.push(i as u32);
        }
    }
    let gsd = p.gsd_m;
    t.heights
        .par_chunks_mut(BAND * n)
        .zip(t.albedo.par_chunks_mut(BAND * n))
        .enumerate()
        .for_each(|(b, (hs, al))| {
            let rows = hs.len() / n;
            for k in 0..rows {
                let r = b * BAND + k;
                let y = (half - r as f64) * gsd;
                for c in 0..n {
                    let x = (c as f64 - half) * gsd;
                    hs[k * n + c] = base.at(x, y) as f32;
                    al[k * n + c] = (1.0 + tone.at(x, y)) as f32;
                }
            }
            for &i in &per_band[b] {
                let cr = &all[i as usize];
                let e = cr.extent();
                let c0 = (((cr.x - e) / gsd + half).floor().max(0.0)) as usize;
                let c1 = (((cr.x + e) / gsd + half).ceil().min((n - 1) as f64)) as usize;
                for k in 0..rows {
                    let y = (half - (b * BAND + k) as f64) * gsd;
                    let dy = y - cr.y;
                    if dy.abs() > e {
                        continue;
                    }
                    for c in c0..=c1 {
                        let dx = (c as f64 - half) * gsd - cr.x;
                        let d = (dx * dx + dy * dy).sqrt();
                        if d < e {
                            hs[k * n + c] += cr.profile(d) as f32;
                            al[k * n + c] += cr.halo(d) as f32;
                        }
                    }
                }
            }
        });
    t.craters = all;
    t
}

/// Boulders: blocks of 1 to 3 pixels scattered over the near ejecta of fresh craters larger
/// than 20 pixels, as high as 0.6 of their width.
fn boulders(p: &TerrainParams, craters: &[Crater]) -> Vec<Crater> {
    let mut rng = Pcg32::new(p.seed, 0xB01D);
    let mut out = Vec::new();
    for c in craters {
        if c.freshness < 0.7 || c.diameter < 20.0 * p.gsd_m {
            continue;
        }
        let count = ((c.diameter / p.gsd_m) * 0.5) as usize;
        for _ in 0..count.min(400) {
            let a = rng.next_f64() * std::f64::consts::TAU;
            let r = c.diameter * (0.55 + 0.6 * rng.next_f64());
            let size = p.gsd_m * (1.0 + 2.0 * rng.next_f64());
            out.push(Crater {
                kind: Kind::Boulder,
                x: c.x + r * a.cos(),
                y: c.y + r * a.sin(),
                diameter: size,
                depth: 0.0,
                rim: 0.6 * size,
                freshness: 1.0,
            });
        }
    }
    out
}
