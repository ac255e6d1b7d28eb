//! Resampling an orbital DEM onto the flight DEM grid around a landing site.
//!
//! The flight DEM (see `trn_flight::dem`) is a regular grid over the site frame's
//! horizontal coordinates whose values are the heights above the sphere of the terrain points
//! whose site-frame `x, y` equal the grid's. For each grid node this module finds that terrain
//! point by a fixed point on its height (site `z` depends on the height through the sphere's
//! curvature), going through trn-flight's frame math (site -> MCMF -> latitude/longitude)
//! and the product's map projection to a pixel of the source DEM.

use crate::error::MapError;
use crate::raster::Raster;
use crate::sample::Interpolation;
use rayon::prelude::*;
use std::path::PathBuf;
use trn_flight::Vec3;
use trn_flight::dem::Grid;
use trn_flight::frames::SiteFrame;

/// A DEM on the site grid, ready for `trn_flight::dem::Heightfield::new(&data, grid, None)`
/// (missing values are NaN).
#[derive(Clone, Debug, PartialEq)]
pub struct SiteDem {
    /// Grid geometry (row 0 is the north edge).
    pub grid: Grid,
    /// Heights above the sphere, metres, row-major.
    pub data: Vec<f32>,
    /// Nodes without data (outside the source or at its nodata).
    pub missing: usize,
}

/// Latitude and longitude (degrees) of a site-frame point.
#[must_use]
pub fn site_to_lat_lon(site: &SiteFrame, p: Vec3) -> (f64, f64) {
    let g = site.site_to_geodetic(p);
    (g.lat.to_degrees(), g.lon.to_degrees())
}

/// Resamples `dem` onto a `width_m x height_m` grid of spacing `gsd_m` centred on the site
/// origin.
///
/// # Errors
///
/// [`MapError::Invalid`] when the source DEM's sphere differs from the site's, or the size
/// or spacing is not positive, or the grid would exceed 2^28 nodes.
pub fn resample_to_site(
    dem: &Raster,
    site: &SiteFrame,
    width_m: f64,
    height_m: f64,
    gsd_m: f64,
    method: Interpolation,
) -> Result<SiteDem, MapError> {
    resample_to_site_with_progress(dem, site, width_m, height_m, gsd_m, method, &|_| {})
}

/// The number of grid rows and columns [`resample_to_site`] makes for a size and spacing.
#[must_use]
pub fn site_grid_size(width_m: f64, height_m: f64, gsd_m: f64) -> (usize, usize) {
    (
        ((width_m / gsd_m).round() as usize).saturating_add(1),
        ((height_m / gsd_m).round() as usize).saturating_add(1),
    )
}

/// [`resample_to_site`], rows in parallel, calling `rows_done(1)` after each grid row.
///
/// # Errors
///
/// As [`resample_to_site`].
pub fn resample_to_site_with_progress(
    dem: &Raster,
    site: &SiteFrame,
    width_m: f64,
    height_m: f64,
    gsd_m: f64,
    method: Interpolation,
    rows_done: &(dyn Fn(u64) + Sync),
) -> Result<SiteDem, MapError> {
    let bad = |field, detail: String| MapError::Invalid {
        file: PathBuf::from("<site grid>"),
        field,
        detail,
    };
    let positive = |v: f64| v > 0.0 && v.is_finite();
    if !(positive(gsd_m) && positive(width_m) && positive(height_m)) {
        return Err(bad(
            "size",
            format!("{width_m} x {height_m} m at {gsd_m} m"),
        ));
    }
    let r = site.radius();
    if (dem.crs.radius_m() - r).abs() > 1e-6 * r {
        return Err(bad(
            "radius",
            format!("DEM sphere {} m, site sphere {r} m", dem.crs.radius_m()),
        ));
    }
    let (cols, rows) = site_grid_size(width_m, height_m, gsd_m);
    if cols.saturating_mul(rows) > 1 << 28 {
        return Err(bad("size", format!("{cols} x {rows} nodes")));
    }
    let (x0, y0) = (
        -(cols as f64 - 1.0) * gsd_m / 2.0,
        (rows as f64 - 1.0) * gsd_m / 2.0,
    );
    let grid = Grid {
        width: cols,
        height: rows,
        stride: cols,
        x0,
        y0,
        dx: gsd_m,
        dy: -gsd_m,
        radius: r,
    };
    let mut data = vec![f32::NAN; cols * rows];
    data.par_chunks_mut(cols).enumerate().for_each(|(r, row)| {
        let y = y0 - r as f64 * gsd_m;
        for (c, out) in row.iter_mut().enumerate() {
            let x = x0 + c as f64 * gsd_m;
            if let Some(h) = height_at_site_xy(dem, site, x, y, method) {
                *out = h as f32;
            }
        }
        rows_done(1);
    });
    let missing = data.iter().filter(|v| v.is_nan()).count();
    Ok(SiteDem {
        grid,
        data,
        missing,
    })
}

/// The height of the terrain point whose site-frame horizontal coordinates are `(x, y)`.
fn height_at_site_xy(
    dem: &Raster,
    site: &SiteFrame,
    x: f64,
    y: f64,
    method: Interpolation,
) -> Option<f64> {
    let r = site.radius();
    let mut h = 0.0;
    // Each iteration moves the point along the radial by the height change; the horizontal
    // position is fixed, so the latitude/longitude change by ~dh * |xy| / R^2: three
    // iterations reach micrometres for any lunar relief within 100 km of the site.
    for _ in 0..4 {
        let z = ((r + h) * (r + h) - x * x - y * y).max(0.0).sqrt() - r;
        let (lat, lon) = site_to_lat_lon(site, Vec3::new(x, y, z));
        let (col, row) = dem.pixel_of_lat_lon(lat, lon)?;
        h = dem.sample(col, row, method)?;
    }
    Some(h)
}

/// Samples `image` (an orthoimage, or any raster in a lunar CRS) at the terrain point of every
/// node of `dem`: the node's site `x, y` at the DEM's height, through latitude/longitude to
/// the image's pixel. NaN where the DEM or the image has no data. Rows in parallel.
///
/// # Errors
///
/// [`MapError::Invalid`] when the image's sphere differs from the site's.
pub fn resample_image_on_site(
    image: &Raster,
    site: &SiteFrame,
    dem: &SiteDem,
    method: Interpolation,
) -> Result<Vec<f32>, MapError> {
    let r = site.radius();
    if (image.crs.radius_m() - r).abs() > 1e-6 * r {
        return Err(MapError::Invalid {
            file: PathBuf::from("<site grid>"),
            field: "radius",
            detail: format!("image sphere {} m, site sphere {r} m", image.crs.radius_m()),
        });
    }
    let g = dem.grid;
    let mut out = vec![f32::NAN; g.width * g.height];
    out.par_chunks_mut(g.width)
        .zip(dem.data.par_chunks(g.width))
        .enumerate()
        .for_each(|(row, (o, hrow))| {
            let y = g.y0 + row as f64 * g.dy;
            for (c, (px, h)) in o.iter_mut().zip(hrow).enumerate() {
                let h = f64::from(*h);
                if !h.is_finite() {
                    continue;
                }
                let x = g.x0 + c as f64 * g.dx;
                let z = ((r + h) * (r + h) - x * x - y * y).max(0.0).sqrt() - r;
                let (lat, lon) = site_to_lat_lon(site, Vec3::new(x, y, z));
                if let Some(v) = image
                    .pixel_of_lat_lon(lat, lon)
                    .and_then(|(pc, pr)| image.sample(pc, pr, method))
                {
                    *px = v as f32;
                }
            }
        });
    Ok(out)
}

/// Half the side (metres) of the largest square of the site frame, centred on the site,
/// that lies inside `raster`'s footprint: whatever the projection and the grid's rotation
/// against east/north (polar grids turn with longitude). Found by walking the raster's
/// border pixel centres (512 steps per edge) into the site frame.
#[must_use]
pub fn inscribed_half_side(raster: &Raster, site: &SiteFrame) -> f64 {
    let mut half = f64::INFINITY;
    let (w, h) = (raster.width as f64, raster.height as f64);
    let n = 512;
    for k in 0..=n {
        let t = f64::from(k) / f64::from(n);
        for (c, r) in [
            (t * (w - 1.0), 0.0),
            (t * (w - 1.0), h - 1.0),
            (0.0, t * (h - 1.0)),
            (w - 1.0, t * (h - 1.0)),
        ] {
            let (x, y) = raster.transform.pixel_centre(c, r);
            let (lat, lon) = raster.crs.inverse(x, y);
            let p = site.geodetic_to_site(trn_flight::frames::Geodetic {
                lat: lat.to_radians(),
                lon: lon.to_radians(),
                height: 0.0,
            });
            half = half.min(p.x.abs().max(p.y.abs()));
        }
    }
    half
}

impl SiteDem {
    /// The DEM one pyramid level up: spacing doubled, nodes at the even nodes of this grid
    /// (so the grid keeps its origin `x0, y0`), heights low-passed.
    #[must_use]
    pub fn reduce(&self) -> Self {
        let img = trn_flight::image::Image {
            width: self.grid.width,
            height: self.grid.height,
            data: self.data.clone(),
        }
        .reduce();
        let mut grid = self.grid;
        grid.width = img.width;
        grid.height = img.height;
        grid.stride = img.width;
        grid.dx *= 2.0;
        grid.dy *= 2.0;
        let missing = img.data.iter().filter(|v| v.is_nan()).count();
        Self {
            grid,
            data: img.data,
            missing,
        }
    }
}
