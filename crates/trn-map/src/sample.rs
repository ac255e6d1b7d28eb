//! Height sampling of a raster at fractional pixel positions (pixel centres at integers).

use crate::raster::Raster;

/// Interpolation kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// Bilinear over the 2x2 neighbourhood.
    Bilinear,
    /// Keys' cubic convolution (a = -0.5, Catmull-Rom) over the 4x4 neighbourhood:
    /// continuous slopes, so renders of the resampled DEM show no grid facets.
    Bicubic,
}

impl Raster {
    /// The interpolated value at fractional pixel `(col, row)`; `None` when the kernel's
    /// support leaves the raster or touches nodata.
    #[must_use]
    pub fn sample(&self, col: f64, row: f64, method: Interpolation) -> Option<f64> {
        let wrap = self.wraps_in_longitude();
        interpolate(col, row, method, |c, r| {
            let c = if wrap {
                c.rem_euclid(self.width as i64)
            } else {
                c
            };
            if c < 0 || r < 0 {
                return None;
            }
            self.value(c as usize, r as usize).map(f64::from)
        })
    }
}

/// The value of a row-major `width x height` grid at fractional `(col, row)` (node centres
/// at integers), the kernel's taps clamped to the grid's edges; NaN when a tap that carries
/// weight is NaN, or the grid is empty.
#[must_use]
pub fn sample_clamped(
    data: &[f32],
    width: usize,
    height: usize,
    col: f64,
    row: f64,
    method: Interpolation,
) -> f64 {
    if width == 0 || height == 0 || data.len() < width * height {
        return f64::NAN;
    }
    interpolate(col, row, method, |c, r| {
        let c = c.clamp(0, width as i64 - 1) as usize;
        let r = r.clamp(0, height as i64 - 1) as usize;
        Some(f64::from(data[r * width + c]))
    })
    .unwrap_or(f64::NAN)
}

/// The kernel of `method` at fractional `(col, row)` over the taps `at(column, row)`
/// gives; `None` when a tap that carries weight is `None` (bilinear's far neighbours on
/// the last row and column carry none) or the position is not finite.
fn interpolate(
    col: f64,
    row: f64,
    method: Interpolation,
    at: impl Fn(i64, i64) -> Option<f64>,
) -> Option<f64> {
    if !(col.is_finite() && row.is_finite()) {
        return None;
    }
    let (c0, r0) = (col.floor(), row.floor());
    let (u, v) = (col - c0, row - r0);
    let tap = |dc: i64, dr: i64| at(c0 as i64 + dc, r0 as i64 + dr);
    match method {
        Interpolation::Bilinear => {
            let get = |dc, dr, w: f64| if w == 0.0 { Some(0.0) } else { tap(dc, dr) };
            let h00 = tap(0, 0)?;
            let h10 = get(1, 0, u)?;
            let h01 = get(0, 1, v)?;
            let h11 = get(1, 1, u * v)?;
            Some(trn_flight::interp::bilinear_mix([h00, h10, h01, h11], u, v))
        }
        Interpolation::Bicubic => {
            let wu = keys(u);
            let wv = keys(v);
            let mut acc = 0.0;
            for (j, wy) in wv.iter().enumerate() {
                let mut row_acc = 0.0;
                for (i, wx) in wu.iter().enumerate() {
                    row_acc += wx * tap(i as i64 - 1, j as i64 - 1)?;
                }
                acc += wy * row_acc;
            }
            Some(acc)
        }
    }
}

/// Keys' cubic convolution weights (a = -0.5) for taps at offsets -1, 0, 1, 2.
fn keys(t: f64) -> [f64; 4] {
    let t2 = t * t;
    let t3 = t2 * t;
    [
        -0.5 * t3 + t2 - 0.5 * t,
        1.5 * t3 - 2.5 * t2 + 1.0,
        -1.5 * t3 + 2.0 * t2 + 0.5 * t,
        0.5 * t3 - 0.5 * t2,
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crs::Crs;
    use crate::raster::{GeoTransform, SampleType};

    /// A `w x h` f32 raster under `transform` whose pixel `(col, row)` holds `f(col, row)`.
    pub(crate) fn raster_of(
        w: usize,
        h: usize,
        transform: GeoTransform,
        f: impl Fn(f64, f64) -> f64,
    ) -> Raster {
        let data = (0..w * h)
            .map(|i| f((i % w) as f64, (i / w) as f64) as f32)
            .collect();
        Raster {
            width: w,
            height: h,
            data,
            nodata: None,
            scale: 1.0,
            offset: 0.0,
            transform,
            crs: Crs::Geographic { radius_m: 1.0 },
            sample: SampleType::F32,
        }
    }

    fn raster(f: impl Fn(f64, f64) -> f64) -> Raster {
        raster_of(12, 10, GeoTransform([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]), f)
    }

    #[test]
    fn bilinear_is_exact_on_planes_and_bicubic_on_quadratics() {
        let plane = raster(|x, y| 3.0 + 0.5 * x - 2.0 * y);
        let quad = raster(|x, y| 1.0 + 0.25 * x * x - 0.5 * x * y + 0.125 * y * y);
        for (c, r) in [(2.3, 4.7), (0.0, 0.0), (5.5, 1.25), (10.9, 8.1)] {
            let b = plane.sample(c, r, Interpolation::Bilinear).unwrap();
            assert!((b - (3.0 + 0.5 * c - 2.0 * r)).abs() < 1e-5);
            if c >= 1.0 && r >= 1.0 && c < 10.0 && r < 8.0 {
                let q = quad.sample(c, r, Interpolation::Bicubic).unwrap();
                let want = 1.0 + 0.25 * c * c - 0.5 * c * r + 0.125 * r * r;
                assert!((q - want).abs() < 1e-4, "{c} {r}: {q} vs {want}");
            }
        }
        // Exactly on the last pixel centre bilinear needs no neighbour beyond it.
        assert!(plane.sample(11.0, 9.0, Interpolation::Bilinear).is_some());
        assert!(plane.sample(11.5, 9.0, Interpolation::Bilinear).is_none());
        assert!(plane.sample(0.5, 0.5, Interpolation::Bicubic).is_none());
    }

    /// Inside, the clamped sampler of a bare grid equals the raster's; at the edges it holds
    /// the edge value where the raster's kernel has no support.
    #[test]
    fn clamped_grid_sampling_equals_raster_sampling_inside() {
        let quad = raster(|x, y| 1.0 + 0.25 * x * x - 0.5 * x * y + 0.125 * y * y);
        for method in [Interpolation::Bilinear, Interpolation::Bicubic] {
            for (c, r) in [(2.3, 4.7), (1.0, 1.0), (5.5, 1.25), (9.9, 7.9)] {
                let want = quad.sample(c, r, method).unwrap();
                let got = sample_clamped(&quad.data, 12, 10, c, r, method);
                assert!((got - want).abs() < 1e-9, "{method:?} ({c}, {r})");
            }
        }
        let edge = sample_clamped(&quad.data, 12, 10, -3.0, 0.0, Interpolation::Bicubic);
        assert!((edge - f64::from(quad.data[0])).abs() < 1e-6);
        assert!(sample_clamped(&quad.data, 0, 10, 1.0, 1.0, Interpolation::Bilinear).is_nan());
    }

    #[test]
    fn nodata_is_never_interpolated_over() {
        let mut r = raster(|x, _| x);
        r.data[3 * 12 + 4] = f32::NAN;
        assert!(r.sample(4.0, 3.0, Interpolation::Bilinear).is_none());
        assert!(r.sample(3.5, 2.5, Interpolation::Bilinear).is_none());
        assert!(r.sample(5.5, 4.5, Interpolation::Bicubic).is_none());
        assert!(r.sample(6.0, 6.0, Interpolation::Bicubic).is_some());
    }
}
