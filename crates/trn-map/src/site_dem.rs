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
    let cols = (width_m / gsd_m).round() as usize + 1;
    let rows = (height_m / gsd_m).round() as usize + 1;
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
    let mut missing = 0;
    for (i, out) in data.iter_mut().enumerate() {
        let (x, y) = (
            x0 + (i % cols) as f64 * gsd_m,
            y0 - (i / cols) as f64 * gsd_m,
        );
        match height_at_site_xy(dem, site, x, y, method) {
            Some(h) => *out = h as f32,
            None => missing += 1,
        }
    }
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
