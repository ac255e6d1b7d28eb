//! The terrain below the site grid's spacing: what a descent camera sees once its pixels
//! are finer than the orbital DEM's, and what a fine orthoimage of the landing region
//! shows.
//!
//! A site's DEM stops at its grid spacing (its fractal base at two spacings, its craters at
//! [`TerrainParams::min_crater_px`]); the real surface goes on. [`Detail`] continues both
//! down to a few centimetres:
//!
//! - the fractal base's spectrum, octave by octave with the same amplitude law
//!   ([`crate::noise::Fbm::with_amplitude`]);
//! - the crater population, with the same size-frequency law and states of degradation, in
//!   octave bands of diameter. Each band tiles the plane with cells three of its largest
//!   diameters wide, and each cell draws its craters (a Poisson number, at uniform places)
//!   from a generator seeded by the cell's coordinates, so any point's height is computed
//!   from the nine cells around it without a list of craters: the detail is a function of
//!   position, evaluated consistently by every frame and by the orthoimage.
//!
//! Heights and albedo are evaluated band-limited to a sampling spacing: waves shorter
//! than two spacings and craters smaller than two are left out (they would alias).
//! Positions are those of the site's map grid (metres east and north of its centre along
//! the grid's axes, as the site's own craters are), so the detail sits on the same ground
//! whether a descent's site-frame patch or the map-grid orthoimage samples it.

use crate::error::SimError;
use crate::noise::Fbm;
use crate::terrain::{self, Crater, TerrainParams};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use trn_flight::dem::Grid;
use trn_flight::rng::Pcg32;
use trn_map::SiteDem;
use trn_map::render::Sun;
use trn_map::sample::{Interpolation, sample_clamped};

/// Largest number of craters a cell may draw (a cell's mean is below one).
const MAX_PER_CELL: u32 = 12;

/// What the detail continues, as written to `site.json`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetailParams {
    /// Seed of everything random.
    pub seed: u64,
    /// Hurst exponent of the fractal detail.
    pub hurst: f64,
    /// Wavelength of the longest fractal octave, metres.
    pub fbm_longest_m: f64,
    /// Amplitude of that octave, metres.
    pub fbm_amplitude_m: f64,
    /// Largest crater diameter, metres (the site's smallest).
    pub crater_max_m: f64,
    /// `K` in `N(>D) = K D^-b` craters per km², D in km.
    pub crater_density: f64,
    /// `b`, the cumulative size-frequency slope.
    pub sfd_slope: f64,
    /// Fraction of fresh craters.
    pub fresh_fraction: f64,
    /// Smallest scale generated at all, metres.
    pub finest_m: f64,
}

impl DetailParams {
    /// The detail that continues the terrain `p` generates below its grid spacing.
    #[must_use]
    pub fn continuing(p: &TerrainParams) -> Self {
        let base = terrain::base_fbm(p);
        let (l_last, a_last) = base.octaves().last().unwrap_or((2.0 * p.gsd_m, 0.0));
        Self {
            seed: p.seed ^ 0x00DE_7A11,
            hurst: p.hurst,
            fbm_longest_m: l_last / 2.0,
            fbm_amplitude_m: a_last * 0.5f64.powf(p.hurst),
            crater_max_m: p.min_crater_px * p.gsd_m,
            crater_density: p.crater_density,
            sfd_slope: p.sfd_slope,
            fresh_fraction: p.fresh_fraction,
            finest_m: 0.05,
        }
    }
}

/// One octave band of craters.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Band {
    /// Diameters in `[d_lo, d_hi)`, metres.
    d_lo: f64,
    d_hi: f64,
    /// Side of a cell, metres.
    cell_m: f64,
    /// Mean craters per cell.
    per_cell: f64,
}

/// The two cells along one axis whose craters can reach coordinate `v`: its own, and the
/// neighbour on the nearer side. A crater reaches at most half a cell from its centre (the
/// cell is three of its band's largest diameters, the reach one and a half diameters), and
/// its centre lies in its cell.
fn near_cells(v: f64, cell_m: f64) -> [i64; 2] {
    let t = v / cell_m;
    let c = t.floor();
    let own = c as i64;
    [own, if t - c < 0.5 { own - 1 } else { own + 1 }]
}

/// The detail surface.
#[derive(Clone, Debug, PartialEq)]
pub struct Detail {
    params: DetailParams,
    fbm: Fbm,
    bands: Vec<Band>,
}

impl Detail {
    /// Prepares the surface `p` describes.
    #[must_use]
    pub fn new(p: &DetailParams) -> Self {
        let fbm = Fbm::with_amplitude(
            p.fbm_longest_m,
            p.finest_m,
            p.fbm_amplitude_m,
            p.hurst,
            p.seed ^ 0xF0B,
        );
        // N(>D) per m² with D in metres: K (D / 1000)^-b / 1e6.
        let b = p.sfd_slope;
        let n_above = |d: f64| p.crater_density * (d / 1000.0).powf(-b) * 1e-6;
        let mut bands = Vec::new();
        let mut d_hi = p.crater_max_m;
        while d_hi / 2.0 >= p.finest_m && bands.len() < 40 {
            let d_lo = d_hi / 2.0;
            // A crater reaches 1.5 diameters from its centre: with cells three of the
            // band's largest diameters wide, only the eight neighbours can reach a point.
            let cell_m = 3.0 * d_hi;
            bands.push(Band {
                d_lo,
                d_hi,
                cell_m,
                per_cell: (n_above(d_lo) - n_above(d_hi)) * cell_m * cell_m,
            });
            d_hi = d_lo;
        }
        Self {
            params: *p,
            fbm,
            bands,
        }
    }

    /// The parameters.
    #[must_use]
    pub fn params(&self) -> &DetailParams {
        &self.params
    }

    /// Expected craters per square metre with diameters in `[d_lo, d_hi)` of the band
    /// that holds `d` (test and documentation aid).
    #[must_use]
    pub fn band_density(&self, d: f64) -> Option<(f64, f64, f64)> {
        self.bands
            .iter()
            .find(|b| d >= b.d_lo && d < b.d_hi)
            .map(|b| (b.d_lo, b.d_hi, b.per_cell / (b.cell_m * b.cell_m)))
    }

    /// The craters of band `k` drawn by cell `(i, j)`, passed to `f`.
    fn cell_craters(&self, k: usize, band: &Band, i: i64, j: i64, f: &mut impl FnMut(&Crater)) {
        let key = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (j as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ (k as u64).wrapping_mul(0x1656_67B1_9E37_79F9);
        let mut rng = Pcg32::new(self.params.seed ^ key, k as u64);
        // Poisson count by inversion (means are below one, so a few draws at most).
        let u = rng.next_f64();
        let (mut n, mut p, mut cdf) = (0u32, (-band.per_cell).exp(), 0.0);
        cdf += p;
        while u > cdf && n < MAX_PER_CELL {
            n += 1;
            p *= band.per_cell / f64::from(n);
            cdf += p;
        }
        let b = self.params.sfd_slope;
        let (lo, hi) = (band.d_lo.powf(-b), band.d_hi.powf(-b));
        for _ in 0..n {
            let x = (i as f64 + rng.next_f64()) * band.cell_m;
            let y = (j as f64 + rng.next_f64()) * band.cell_m;
            let d = (lo - rng.next_f64() * (lo - hi)).powf(-1.0 / b);
            let c = Crater::degraded_at_random(x, y, d, self.params.fresh_fraction, &mut rng);
            f(&c);
        }
    }

    /// Height (metres, to add to the site's) and albedo change at site `(x, y)`, for a
    /// surface sampled every `spacing_m` metres: the cells around the one point drawn
    /// ([`Detail::cached`] draws them once for many).
    #[must_use]
    pub fn at(&self, x: f64, y: f64, spacing_m: f64) -> (f64, f64) {
        self.cached(x, x, y, y, spacing_m).at(x, y)
    }

    /// The detail over the rectangle `[x0, x1] x [y0, y1]` (detail coordinates) for a
    /// surface sampled every `spacing_m`: each band's craters drawn once per cell and kept,
    /// so evaluating a node costs distance tests instead of draws. [`CachedDetail::at`]
    /// equals [`Detail::at`] inside the rectangle (which draws a cache for its point).
    #[must_use]
    pub fn cached(&self, x0: f64, x1: f64, y0: f64, y1: f64, spacing_m: f64) -> CachedDetail<'_> {
        let smallest = (2.0 * spacing_m).max(self.params.finest_m);
        let mut bands = Vec::new();
        for (k, band) in self.bands.iter().enumerate() {
            if band.d_hi <= smallest {
                break;
            }
            // One cell beyond the rectangle on every side: their craters reach into it.
            let i0 = (x0 / band.cell_m).floor() as i64 - 1;
            let i1 = (x1 / band.cell_m).floor() as i64 + 1;
            let j0 = (y0 / band.cell_m).floor() as i64 - 1;
            let j1 = (y1 / band.cell_m).floor() as i64 + 1;
            let cols = (i1 - i0 + 1) as usize;
            let rows = (j1 - j0 + 1) as usize;
            let mut start = Vec::with_capacity(cols * rows + 1);
            let mut craters = Vec::new();
            for j in j0..=j1 {
                for i in i0..=i1 {
                    start.push(craters.len() as u32);
                    self.cell_craters(k, band, i, j, &mut |c| {
                        if c.diameter >= smallest {
                            craters.push(*c);
                        }
                    });
                }
            }
            start.push(craters.len() as u32);
            bands.push(CachedBand {
                cell_m: band.cell_m,
                i0,
                j0,
                cols,
                rows,
                start,
                craters,
            });
        }
        CachedDetail {
            detail: self,
            smallest,
            bands,
        }
    }

    /// RMS of the detail's height over the plane (sampled on a fixed low-discrepancy set
    /// of points at the finest spacing): the vertical error of a DEM that stops where the
    /// detail starts, which a dataset built on that DEM declares as its `dem_sigma_m`.
    #[must_use]
    pub fn rms_height_m(&self) -> f64 {
        let n = 2000;
        let span = 50.0 * self.params.crater_max_m.max(self.params.fbm_longest_m);
        let sq: f64 = (0..n)
            .map(|i| {
                let u = (f64::from(i) * 0.618_033_988_75).fract();
                let v = (f64::from(i) * 0.754_877_666_25).fract();
                self.at(u * span, v * span, self.params.finest_m).0.powi(2)
            })
            .sum();
        (sq / f64::from(n)).sqrt()
    }

    /// Every crater of diameter at least `smallest_m` centred in the rectangle
    /// `[x0, x1) x [y0, y1)` (test and inspection aid).
    #[must_use]
    pub fn craters_in(&self, x0: f64, x1: f64, y0: f64, y1: f64, smallest_m: f64) -> Vec<Crater> {
        // A cache keeps craters of at least two spacings.
        self.cached(x0, x1, y0, y1, 0.5 * smallest_m)
            .bands
            .iter()
            .flat_map(|b| &b.craters)
            .filter(|c| {
                c.diameter >= smallest_m && (x0..x1).contains(&c.x) && (y0..y1).contains(&c.y)
            })
            .copied()
            .collect()
    }
}

/// One band's craters, drawn per cell over a rectangle.
#[derive(Clone, Debug)]
struct CachedBand {
    cell_m: f64,
    i0: i64,
    j0: i64,
    cols: usize,
    rows: usize,
    /// Cell `(i, j)`'s craters are `craters[start[c]..start[c + 1]]`, `c` row-major.
    start: Vec<u32>,
    craters: Vec<Crater>,
}

/// [`Detail`] with its craters drawn once over a rectangle ([`Detail::cached`]).
#[derive(Clone, Debug)]
pub struct CachedDetail<'a> {
    detail: &'a Detail,
    smallest: f64,
    bands: Vec<CachedBand>,
}

impl CachedDetail<'_> {
    /// Height and albedo change at `(x, y)`, as [`Detail::at`] at the spacing this cache
    /// was made for. Points outside the cached rectangle miss the craters beyond it.
    #[must_use]
    pub fn at(&self, x: f64, y: f64) -> (f64, f64) {
        let mut h = self.detail.fbm.at_least(x, y, self.smallest);
        let mut a = 0.0;
        for b in &self.bands {
            for j in near_cells(y, b.cell_m).map(|j| j - b.j0) {
                if j < 0 || j as usize >= b.rows {
                    continue;
                }
                for i in near_cells(x, b.cell_m).map(|i| i - b.i0) {
                    if i < 0 || i as usize >= b.cols {
                        continue;
                    }
                    let c = j as usize * b.cols + i as usize;
                    let (s, e) = (b.start[c] as usize, b.start[c + 1] as usize);
                    for cr in &b.craters[s..e] {
                        let d2 = (x - cr.x).powi(2) + (y - cr.y).powi(2);
                        let ext = cr.extent();
                        if d2 < ext * ext {
                            let r = d2.sqrt();
                            h += cr.profile(r);
                            a += cr.halo(r);
                        }
                    }
                }
            }
        }
        (h, a)
    }
}

/// Turns a patch's coordinates into the detail's (map-grid metres from the site).
pub type ToDetail<'a> = &'a (dyn Fn(f64, f64) -> (f64, f64) + Sync);

/// The site a patch lies in: its DEM, and its albedo and shadowed fraction
/// ([`trn_map::render::shadow_fraction`] under the patch's sun) on the same grid.
#[derive(Clone, Copy, Debug)]
pub struct Coarse<'a> {
    dem: &'a SiteDem,
    albedo: &'a [f32],
    shadow: &'a [f32],
}

impl<'a> Coarse<'a> {
    /// The site's DEM with its albedo and shadowed fraction.
    ///
    /// # Errors
    ///
    /// an invalid-field [`SimError::Dataset`] when the albedo's or the shadow's size differs from the grid.
    pub fn new(dem: &'a SiteDem, albedo: &'a [f32], shadow: &'a [f32]) -> Result<Self, SimError> {
        let n = dem.grid.width * dem.grid.height;
        for (field, v) in [("albedo", albedo), ("shadow", shadow)] {
            if v.len() != n {
                return Err(SimError::invalid(field, "size differs from the DEM grid"));
            }
        }
        Ok(Self {
            dem,
            albedo,
            shadow,
        })
    }

    /// `data` (on the site grid) at site `(x, y)`.
    fn sample(&self, data: &[f32], x: f64, y: f64, method: Interpolation) -> f64 {
        let g = &self.dem.grid;
        let (col, row) = ((x - g.x0) / g.dx, (y - g.y0) / g.dy);
        sample_clamped(data, g.width, g.height, col, row, method)
    }
}

/// Where a patch lies (the rectangle `x.0..x.1` by `y.0..y.1` in the site's coordinates)
/// and how finely it is sampled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PatchArea {
    /// West and east edges, metres.
    pub x: (f64, f64),
    /// South and north edges, metres.
    pub y: (f64, f64),
    /// Node spacing, metres.
    pub spacing_m: f64,
    /// Most nodes allowed.
    pub max_nodes: usize,
}

/// The site's surface with its detail over `area`: the coarse heights interpolated
/// bicubically (continuous slopes, so no facets of the coarse grid show), the coarse
/// albedo bilinearly, plus the detail band-limited to the spacing at `to_detail` of each
/// node. Row 0 is the north edge. Rows in parallel.
///
/// # Errors
///
/// an invalid-field [`SimError::Dataset`] for a spacing that is not positive, an empty or inverted
/// rectangle, or more than `area.max_nodes` nodes.
pub fn patch(
    site: &Coarse<'_>,
    detail: &Detail,
    to_detail: ToDetail<'_>,
    area: &PatchArea,
) -> Result<(SiteDem, Vec<f32>), SimError> {
    let PatchArea {
        x: (x0, x1),
        y: (y0, y1),
        spacing_m,
        max_nodes,
    } = *area;
    if !(spacing_m > 0.0 && spacing_m.is_finite()) {
        return Err(SimError::invalid(
            "detail spacing",
            format!("{spacing_m} m"),
        ));
    }
    if !(x1 > x0 && y1 > y0) {
        return Err(SimError::invalid(
            "detail patch",
            format!("x {x0}..{x1}, y {y0}..{y1} m is empty"),
        ));
    }
    let w = ((x1 - x0) / spacing_m).ceil() as usize + 1;
    let h = ((y1 - y0) / spacing_m).ceil() as usize + 1;
    if w.saturating_mul(h) > max_nodes {
        return Err(SimError::invalid(
            "detail patch",
            format!("{w} x {h} nodes at {spacing_m} m (at most {max_nodes})"),
        ));
    }
    let grid = Grid {
        width: w,
        height: h,
        stride: w,
        x0,
        y0: y1,
        dx: spacing_m,
        dy: -spacing_m,
        radius: site.dem.grid.radius,
    };
    // The detail's rectangle: the patch's border mapped into detail coordinates.
    let (mut dx0, mut dx1, mut dy0, mut dy1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for k in 0..=64 {
        let t = f64::from(k) / 64.0;
        for (x, y) in [
            (x0 + t * (x1 - x0), y0),
            (x0 + t * (x1 - x0), y1),
            (x0, y0 + t * (y1 - y0)),
            (x1, y0 + t * (y1 - y0)),
        ] {
            let (u, v) = to_detail(x, y);
            (dx0, dx1, dy0, dy1) = (dx0.min(u), dx1.max(u), dy0.min(v), dy1.max(v));
        }
    }
    let pad = spacing_m;
    let cache = detail.cached(dx0 - pad, dx1 + pad, dy0 - pad, dy1 + pad, spacing_m);
    let mut heights = vec![0.0f32; w * h];
    let mut albedo = vec![0.0f32; w * h];
    heights
        .par_chunks_mut(w)
        .zip(albedo.par_chunks_mut(w))
        .enumerate()
        .for_each(|(r, (hs, al))| {
            let y = grid.y0 + r as f64 * grid.dy;
            for (c, (hv, av)) in hs.iter_mut().zip(al.iter_mut()).enumerate() {
                let x = grid.x0 + c as f64 * grid.dx;
                let (xd, yd) = to_detail(x, y);
                let (dh, da) = cache.at(xd, yd);
                let base = site.sample(&site.dem.data, x, y, Interpolation::Bicubic);
                let a0 = site.sample(site.albedo, x, y, Interpolation::Bilinear);
                *hv = (base + dh) as f32;
                *av = (a0 + da) as f32;
            }
        });
    let missing = heights.iter().filter(|v| !v.is_finite()).count();
    Ok((
        SiteDem {
            grid,
            data: heights,
            missing,
        },
        albedo,
    ))
}

/// The surface of [`patch`] rendered under `sun` as the site's scenes are (lunar-Lambert
/// times albedo, cast shadows), its light further dimmed by the site's shadowed fraction:
/// the patch's own relief casts the small shadows, the site around it the long ones that
/// start outside. Returns the patch's DEM and its radiance.
///
/// # Errors
///
/// As [`patch`].
pub fn render_patch(
    site: &Coarse<'_>,
    detail: &Detail,
    to_detail: ToDetail<'_>,
    area: &PatchArea,
    sun: Sun,
) -> Result<(SiteDem, Vec<f32>), SimError> {
    render_patch_with(
        site,
        detail,
        to_detail,
        area,
        sun,
        crate::photometry::Law::LunarLambert,
    )
}

/// [`render_patch`] shaded with the photometric `law` (cast shadows and the site's shadowed
/// fraction as there).
///
/// # Errors
///
/// As [`patch`].
pub fn render_patch_with(
    site: &Coarse<'_>,
    detail: &Detail,
    to_detail: ToDetail<'_>,
    area: &PatchArea,
    sun: Sun,
    law: crate::photometry::Law,
) -> Result<(SiteDem, Vec<f32>), SimError> {
    let (dem, albedo) = patch(site, detail, to_detail, area)?;
    let mut radiance = crate::photometry::render(&dem, sun, Some(&albedo), law);
    if law == crate::photometry::Law::Hillshade {
        // A hillshade has no shadows, cast from inside the patch or from outside.
        return Ok((dem, radiance));
    }
    let pg = dem.grid;
    radiance
        .par_chunks_mut(pg.width)
        .enumerate()
        .for_each(|(r, row)| {
            let y = pg.y0 + r as f64 * pg.dy;
            for (c, v) in row.iter_mut().enumerate() {
                let x = pg.x0 + c as f64 * pg.dx;
                let shade = site.sample(site.shadow, x, y, Interpolation::Bilinear);
                *v *= (1.0 - shade).clamp(0.0, 1.0) as f32;
            }
        });
    Ok((dem, radiance))
}
