//! A georeferenced single-band raster in memory.

use crate::crs::Crs;

/// GDAL's affine geotransform: map coordinates of pixel-corner position `(col, row)` are
/// `x = c[0] + col c[1] + row c[2]`, `y = c[3] + col c[4] + row c[5]`. The centre of pixel
/// `(i, j)` is at corner position `(i + 0.5, j + 0.5)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeoTransform(pub [f64; 6]);

impl GeoTransform {
    /// Map coordinates of the centre of pixel `(col, row)`.
    #[must_use]
    pub fn pixel_centre(&self, col: f64, row: f64) -> (f64, f64) {
        let c = &self.0;
        let (u, v) = (col + 0.5, row + 0.5);
        (c[0] + u * c[1] + v * c[2], c[3] + u * c[4] + v * c[5])
    }

    /// Fractional pixel index (pixel centres at integers) of map coordinates; `None` for a
    /// singular transform.
    #[must_use]
    pub fn pixel_of(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let c = &self.0;
        let det = c[1] * c[5] - c[2] * c[4];
        if det == 0.0 || !det.is_finite() {
            return None;
        }
        let (dx, dy) = (x - c[0], y - c[3]);
        let u = (c[5] * dx - c[2] * dy) / det;
        let v = (-c[4] * dx + c[1] * dy) / det;
        Some((u - 0.5, v - 0.5))
    }
}

/// The sample type a raster was stored with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleType {
    /// Unsigned 8-bit.
    U8,
    /// Unsigned 16-bit.
    U16,
    /// Signed 16-bit.
    I16,
    /// 32-bit float.
    F32,
}

/// A single-band raster with its georeferencing. Values are physical (scale and offset
/// applied); nodata cells are NaN.
///
/// Planetary DEMs in PDS3 and ISIS3 often store radii: an offset equal to the body's radius
/// (LOLA's `OFFSET = 1737400`). Readers return such products as heights above the sphere,
/// the radius taken out of the offset in double precision before the f32 conversion
/// (see [`height_offset`]), so `offset` then holds the file's offset minus the radius.
#[derive(Clone, Debug, PartialEq)]
pub struct Raster {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Row-major values, `width * height`, NaN where there is no data.
    pub data: Vec<f32>,
    /// The stored nodata value (before scale and offset), if the file declares one.
    pub nodata: Option<f64>,
    /// Scale applied to stored values.
    pub scale: f64,
    /// Offset applied to stored values.
    pub offset: f64,
    /// Pixel-to-map transform.
    pub transform: GeoTransform,
    /// Coordinate reference system.
    pub crs: Crs,
    /// The sample type in the file.
    pub sample: SampleType,
}

/// The offset to apply so values come out as heights above the sphere: `offset - radius`
/// when the file's offset is the sphere's radius (within 1 km: a radius DEM), else
/// `offset` unchanged.
#[must_use]
pub fn height_offset(offset: f64, radius_m: f64) -> f64 {
    if (offset - radius_m).abs() < 1000.0 {
        offset - radius_m
    } else {
        offset
    }
}

/// Physical values of stored samples: NaN for NaN and for `nodata` (compared in f32 too
/// for f32 products, whose nodata GDAL reports as a double), `v * scale + offset` otherwise.
/// Both readers go through here so they agree sample for sample.
pub(crate) fn physical_values(
    raw: impl Iterator<Item = f64>,
    nodata: Option<f64>,
    scale: f64,
    offset: f64,
    sample: SampleType,
) -> Vec<f32> {
    let is_nodata = |v: f64| {
        nodata.is_some_and(|n| n == v || (sample == SampleType::F32 && n as f32 == v as f32))
    };
    raw.map(|v| {
        if v.is_nan() || is_nodata(v) {
            f32::NAN
        } else {
            (v * scale + offset) as f32
        }
    })
    .collect()
}

impl Raster {
    /// Fractional pixel position (pixel centres at integers) of a latitude/longitude in
    /// degrees; for geographic rasters the longitude is wrapped by 360 degrees into the
    /// raster's span (products come as -180..180 or 0..360). `None` outside the raster.
    #[must_use]
    pub fn pixel_of_lat_lon(&self, lat_deg: f64, lon_deg: f64) -> Option<(f64, f64)> {
        let inside = |(c, r): (f64, f64)| {
            c >= -0.5 && r >= -0.5 && c <= self.width as f64 - 0.5 && r <= self.height as f64 - 0.5
        };
        let wraps: &[f64] = if matches!(self.crs, Crs::Geographic { .. }) {
            &[0.0, 360.0, -360.0]
        } else {
            &[0.0]
        };
        wraps.iter().find_map(|w| {
            let (x, y) = self.crs.forward(lat_deg, lon_deg + w);
            self.transform.pixel_of(x, y).filter(|p| inside(*p))
        })
    }

    /// True for a geographic raster whose columns span exactly 360 degrees of longitude:
    /// its first and last columns are neighbours.
    #[must_use]
    pub fn wraps_in_longitude(&self) -> bool {
        let g = &self.transform.0;
        matches!(self.crs, Crs::Geographic { .. })
            && g[2] == 0.0
            && ((self.width as f64 * g[1]).abs() - 360.0).abs() < 1e-6
    }

    /// The value of pixel `(col, row)`; `None` outside the raster or at nodata.
    #[must_use]
    pub fn value(&self, col: usize, row: usize) -> Option<f32> {
        if col >= self.width || row >= self.height {
            return None;
        }
        self.data
            .get(row * self.width + col)
            .copied()
            .filter(|v| !v.is_nan())
    }
}
