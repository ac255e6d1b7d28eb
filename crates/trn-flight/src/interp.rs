//! Interpolation, in one place: the bilinear weighting of a cell's four corners
//! ([`bilinear_mix`]) that images, DEMs and map rasters all use, and bilinear sampling of a
//! row-major image ([`bilinear`]).

use core::ops::{Add, Mul, Sub};

/// The bilinear mix of a cell's corner values `[v00, v10, v01, v11]` (`v10` one column
/// right, `v01` one row down) at the fraction `(u, v)` across it:
/// `v00 (1-u)(1-v) + v10 u (1-v) + v01 (1-u) v + v11 u v`.
///
/// ```
/// use trn_flight::interp::bilinear_mix;
/// assert_eq!(bilinear_mix([0.0, 1.0, 2.0, 3.0], 0.5, 0.5), 1.5);
/// assert_eq!(bilinear_mix([4.0f32, 8.0, 4.0, 8.0], 0.25, 0.9), 5.0);
/// ```
#[must_use]
#[inline]
pub fn bilinear_mix<T>([v00, v10, v01, v11]: [T; 4], u: T, v: T) -> T
where
    T: Copy + Add<Output = T> + Sub<Output = T> + Mul<Output = T> + From<f32>,
{
    let one = T::from(1.0);
    v00 * (one - u) * (one - v) + v10 * u * (one - v) + v01 * (one - u) * v + v11 * u * v
}

/// Bilinear value of a row-major `width x height` image (rows `stride` samples apart) at
/// fractional `(col, row)`; `None` outside or next to a non-finite sample. On the last row
/// or column the weights of the missing neighbours are zero.
#[must_use]
#[inline]
pub fn bilinear(
    data: &[f32],
    width: usize,
    height: usize,
    stride: usize,
    col: f64,
    row: f64,
) -> Option<f32> {
    if !(col >= 0.0 && row >= 0.0 && col < width as f64 && row < height as f64) {
        return None;
    }
    let (c0, r0) = (col as usize, row as usize);
    let (u, v) = ((col - c0 as f64) as f32, (row - r0 as f64) as f32);
    let s = stride;
    // Fast path: the 2x2 neighbourhood is inside; missing data shows as NaN.
    if c0 + 1 < width && r0 + 1 < height {
        let i = r0 * s + c0;
        let (p00, p10) = (*data.get(i)?, *data.get(i + 1)?);
        let (p01, p11) = (*data.get(i + s)?, *data.get(i + s + 1)?);
        let top = p00 + (p10 - p00) * u;
        let bottom = p01 + (p11 - p01) * u;
        let v = top + (bottom - top) * v;
        return v.is_finite().then_some(v);
    }
    let at = |c: usize, r: usize, wt: f32| {
        if wt == 0.0 {
            Some(0.0)
        } else if c < width && r < height {
            data.get(r * s + c).copied().filter(|x| x.is_finite())
        } else {
            None
        }
    };
    let p00 = at(c0, r0, 1.0)?;
    let p10 = at(c0 + 1, r0, u)?;
    let p01 = at(c0, r0 + 1, v)?;
    let p11 = at(c0 + 1, r0 + 1, u * v)?;
    Some(bilinear_mix([p00, p10, p01, p11], u, v))
}
