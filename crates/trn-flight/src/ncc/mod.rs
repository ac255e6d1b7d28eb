//! Zero-mean normalised cross-correlation (ZNCC) template search.
//!
//! The score at each placement is OpenCV's `TM_CCOEFF_NORMED`:
//! `sum(T' I') / sqrt(sum(T'^2) sum(I'^2))` with `T'`, `I'` the template and the covered
//! window patch minus their means. Because `T'` sums to zero, the numerator is simply the
//! correlation of `T'` with the raw window, so the work splits into
//!
//! * the correlation (`template_len` multiply-adds per placement, f32): the SIMD kernels
//!   selected by [`Kernel`] (AVX2+FMA or SSE2 on x86-64, NEON on aarch64, scalar elsewhere);
//! * the patch statistics `sum(I)`, `sum(I^2)`, O(1) per placement from running column
//!   sums in f64 (16-bit imagery over 31x31 overflows f32's 24-bit mantissa).
//!
//! The peak is refined to sub-pixel by a least-squares quadratic over its 3x3
//! neighbourhood, and its distinctiveness is the ratio of the best score to the best score
//! outside an exclusion radius around it (a repetitive pattern gives a ratio near 1).
//!
//! No allocation: the caller lends the score surface.

mod kernel;

pub use kernel::{Kernel, active_kernel};

use crate::math;
use crate::view::ImageView;
use core::fmt;

/// Smallest template side accepted.
pub const MIN_TEMPLATE: usize = 11;
/// Largest template side accepted.
pub const MAX_TEMPLATE: usize = 31;
/// Largest search-window width accepted (bounds the column-sum buffer on the stack).
pub const MAX_WINDOW_WIDTH: usize = 512;

/// Settings of a search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NccConfig {
    /// Placements within this many pixels (Chebyshev) of the best one belong to its peak
    /// and are skipped when looking for the second-best score.
    pub exclusion_radius: usize,
    /// Which correlation kernel to run.
    pub kernel: Kernel,
}

impl Default for NccConfig {
    fn default() -> Self {
        Self {
            exclusion_radius: 3,
            kernel: Kernel::Auto,
        }
    }
}

/// The result of a search.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NccPeak {
    /// Column of the best placement's top-left corner in the window.
    pub col: usize,
    /// Row of the best placement's top-left corner in the window.
    pub row: usize,
    /// Sub-pixel column of the template centre in window pixel coordinates (pixel (0, 0)
    /// is the centre of the window's top-left pixel).
    pub x: f32,
    /// Sub-pixel row of the template centre in window pixel coordinates.
    pub y: f32,
    /// Best ZNCC score, in [-1, 1].
    pub score: f32,
    /// Best score outside the exclusion radius of the peak (-1 when there is no placement
    /// outside it).
    pub second: f32,
    /// `score / second` when `second > 0`, otherwise infinity: how much the peak stands
    /// out. Near 1 means ambiguous (repetitive texture, or no real match).
    pub ratio: f32,
    /// True when the peak lies on the edge of the score surface: the sub-pixel fit was
    /// not possible and the true peak may lie outside the window.
    pub on_border: bool,
}

/// Why a search failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NccError {
    /// The template side is even or outside `MIN_TEMPLATE..=MAX_TEMPLATE`.
    TemplateSize,
    /// The template is larger than the window, or the window wider than `MAX_WINDOW_WIDTH`.
    WindowSize,
    /// The score buffer is shorter than the number of placements.
    ScoresTooSmall,
    /// The template has (numerically) zero variance: it matches everything equally.
    FlatTemplate,
    /// The template or window holds NaN or infinity.
    NonFinite,
}

impl fmt::Display for NccError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TemplateSize => "template side must be odd and within 11..=31",
            Self::WindowSize => "window smaller than the template or wider than 512",
            Self::ScoresTooSmall => "score buffer smaller than the number of placements",
            Self::FlatTemplate => "template has zero variance",
            Self::NonFinite => "template or window holds NaN or infinity",
        })
    }
}

impl core::error::Error for NccError {}

/// Number of placements (`(W - w + 1) * (H - h + 1)`) of a template in a window: the
/// length the score buffer needs. `None` when the template does not fit.
#[must_use]
pub fn placements(template: &ImageView<'_>, window: &ImageView<'_>) -> Option<usize> {
    let ow = window.width().checked_sub(template.width())? + 1;
    let oh = window.height().checked_sub(template.height())? + 1;
    ow.checked_mul(oh)
}

/// Searches `window` for `template` and returns the best placement.
///
/// `scores` receives the score surface, row-major with `W - w + 1` columns.
///
/// # Errors
///
/// See [`NccError`]: invalid sizes, a short buffer, a flat template, non-finite pixels.
///
/// # Example
///
/// ```
/// use trn_flight::ncc::{search, NccConfig};
/// use trn_flight::view::ImageView;
/// // A window with a bright spot; the template is the spot's neighbourhood.
/// let mut win = [0.0f32; 40 * 40];
/// for y in 0..40 { for x in 0..40 {
///     let (dx, dy) = (x as f32 - 25.0, y as f32 - 17.0);
///     win[y * 40 + x] = (-(dx * dx + dy * dy) / 8.0).exp() + 0.01 * ((x * 7 + y * 13) % 5) as f32;
/// }}
/// let tpl: Vec<f32> = (0..11).flat_map(|r| (0..11).map(move |c| (r, c)))
///     .map(|(r, c)| win[(12 + r) * 40 + 20 + c]).collect();
/// let mut scores = [0.0f32; 30 * 30];
/// let t = ImageView::packed(&tpl, 11, 11).unwrap();
/// let w = ImageView::packed(&win, 40, 40).unwrap();
/// let peak = search(&t, &w, &mut scores, &NccConfig::default()).unwrap();
/// assert_eq!((peak.col, peak.row), (20, 12));
/// assert!((peak.x - 25.0).abs() < 0.1 && (peak.y - 17.0).abs() < 0.1);
/// ```
pub fn search(
    template: &ImageView<'_>,
    window: &ImageView<'_>,
    scores: &mut [f32],
    config: &NccConfig,
) -> Result<NccPeak, NccError> {
    let (tw, th) = (template.width(), template.height());
    let sizes_ok = |s: usize| s % 2 == 1 && (MIN_TEMPLATE..=MAX_TEMPLATE).contains(&s);
    if !sizes_ok(tw) || !sizes_ok(th) {
        return Err(NccError::TemplateSize);
    }
    if window.width() < tw || window.height() < th || window.width() > MAX_WINDOW_WIDTH {
        return Err(NccError::WindowSize);
    }
    let (ow, oh) = (window.width() - tw + 1, window.height() - th + 1);
    let n_out = ow * oh;
    let scores = scores.get_mut(..n_out).ok_or(NccError::ScoresTooSmall)?;
    for y in 0..window.height() {
        if !window.row(y).iter().all(|v| v.is_finite()) {
            return Err(NccError::NonFinite);
        }
    }

    // Zero-mean template on the stack, packed.
    let mut tbuf = [0.0f32; MAX_TEMPLATE * MAX_TEMPLATE];
    let tlen = tw * th;
    let tz = tbuf.get_mut(..tlen).ok_or(NccError::TemplateSize)?;
    let mut sum = 0.0f64;
    for (dst, y) in tz.chunks_exact_mut(tw).zip(0..th) {
        let src = template.row(y);
        if src.len() != tw || !src.iter().all(|v| v.is_finite()) {
            return Err(NccError::NonFinite);
        }
        dst.copy_from_slice(src);
        sum += src.iter().map(|&v| f64::from(v)).sum::<f64>();
    }
    let n = tlen as f64;
    let tmean = sum / n;
    let mut tvar = 0.0f64;
    let mut tmax = 0.0f64;
    for v in tz.iter_mut() {
        let d = f64::from(*v) - tmean;
        tvar += d * d;
        tmax = tmax.max(d.abs());
        *v = d as f32;
    }
    // Zero variance up to the rounding of the mean: a flat template.
    if !(tvar > 1e-10 * n * (tmean * tmean + 1e-30)) || !(tmax > 0.0) {
        return Err(NccError::FlatTemplate);
    }

    kernel::correlate(config.kernel, tz, tw, th, window, scores, ow, oh);
    normalise(window, tw, th, ow, oh, tvar, scores);
    Ok(peak(scores, ow, oh, tw, th, config.exclusion_radius))
}

/// Turns raw correlations into ZNCC scores with the window patches' statistics.
fn normalise(
    window: &ImageView<'_>,
    tw: usize,
    th: usize,
    ow: usize,
    oh: usize,
    tvar: f64,
    scores: &mut [f32],
) {
    let n = (tw * th) as f64;
    // Column sums over the current band of `th` rows, updated by one row per output row.
    let mut cs = [0.0f64; MAX_WINDOW_WIDTH];
    let mut cq = [0.0f64; MAX_WINDOW_WIDTH];
    let w = window.width();
    let (Some(cs), Some(cq)) = (cs.get_mut(..w), cq.get_mut(..w)) else {
        return;
    };
    for y in 0..th {
        for ((s, q), &v) in cs.iter_mut().zip(cq.iter_mut()).zip(window.row(y)) {
            let v = f64::from(v);
            *s += v;
            *q += v * v;
        }
    }
    for (oy, srow) in scores.chunks_exact_mut(ow).enumerate().take(oh) {
        if oy > 0 {
            let (old, new) = (window.row(oy - 1), window.row(oy + th - 1));
            for (((s, q), &a), &b) in cs.iter_mut().zip(cq.iter_mut()).zip(old).zip(new) {
                let (a, b) = (f64::from(a), f64::from(b));
                *s += b - a;
                *q += b * b - a * a;
            }
        }
        // Horizontal running box sum over `tw` columns.
        let mut bs: f64 = cs.iter().take(tw).sum();
        let mut bq: f64 = cq.iter().take(tw).sum();
        for (ox, out) in srow.iter_mut().enumerate() {
            if ox > 0 {
                let (a, b) = (ox - 1, ox + tw - 1);
                bs += cs.get(b).copied().unwrap_or(0.0) - cs.get(a).copied().unwrap_or(0.0);
                bq += cq.get(b).copied().unwrap_or(0.0) - cq.get(a).copied().unwrap_or(0.0);
            }
            let var = bq - bs * bs / n;
            // A patch flat to rounding matches nothing: score 0 rather than 0/0.
            let floor = 1e-9 * bq.abs().max(1e-30);
            *out = if var > floor {
                let s = f64::from(*out) / math::sqrt(var * tvar);
                s.clamp(-1.0, 1.0) as f32
            } else {
                0.0
            };
        }
    }
}

/// Best placement, second-best outside the exclusion zone, and the sub-pixel fit.
fn peak(scores: &[f32], ow: usize, oh: usize, tw: usize, th: usize, radius: usize) -> NccPeak {
    let mut best = f32::NEG_INFINITY;
    let mut bi = 0usize;
    for (i, &s) in scores.iter().enumerate() {
        if s > best {
            best = s;
            bi = i;
        }
    }
    let (bx, by) = (bi % ow, bi / ow);
    let mut second = -1.0f32;
    for (y, row) in scores.chunks_exact(ow).enumerate().take(oh) {
        let near_y = y.abs_diff(by) <= radius;
        for (x, &s) in row.iter().enumerate() {
            if !(near_y && x.abs_diff(bx) <= radius) && s > second {
                second = s;
            }
        }
    }
    let on_border = bx == 0 || by == 0 || bx + 1 >= ow || by + 1 >= oh;
    let (dx, dy) = if on_border {
        (0.0, 0.0)
    } else {
        subpixel(scores, ow, bx, by)
    };
    let ratio = if second > 0.0 {
        best / second
    } else {
        f32::INFINITY
    };
    NccPeak {
        col: bx,
        row: by,
        x: (bx + tw / 2) as f32 + dx,
        y: (by + th / 2) as f32 + dy,
        score: best,
        second,
        ratio,
        on_border,
    }
}

/// Offset of the maximum of the least-squares quadratic through the 3x3 neighbourhood of
/// an interior placement; separable parabolas when the 2-D fit has no maximum nearby.
fn subpixel(scores: &[f32], ow: usize, bx: usize, by: usize) -> (f32, f32) {
    let z = |dx: usize, dy: usize| -> f64 {
        scores
            .get((by + dy - 1) * ow + bx + dx - 1)
            .map_or(0.0, |&v| f64::from(v))
    };
    let mut g = [[0.0f64; 3]; 3];
    for (dy, row) in g.iter_mut().enumerate() {
        for (dx, v) in row.iter_mut().enumerate() {
            *v = z(dx, dy);
        }
    }
    let [r0, r1, r2] = g;
    let col = |i: usize| {
        r0.get(i).copied().unwrap_or(0.0)
            + r1.get(i).copied().unwrap_or(0.0)
            + r2.get(i).copied().unwrap_or(0.0)
    };
    let (c0, c1, c2) = (col(0), col(1), col(2));
    let (s0, s1, s2) = (
        r0.iter().sum::<f64>(),
        r1.iter().sum::<f64>(),
        r2.iter().sum::<f64>(),
    );
    // Least-squares coefficients of a + b x + c y + d x^2 + e x y + f y^2 on the 3x3 grid.
    let b = (c2 - c0) / 6.0;
    let c = (s2 - s0) / 6.0;
    let d = (c0 + c2) / 6.0 - c1 / 3.0;
    let f = (s0 + s2) / 6.0 - s1 / 3.0;
    let e = (r2[2] + r0[0] - r2[0] - r0[2]) / 4.0;
    let det = 4.0 * d * f - e * e;
    if d < 0.0 && f < 0.0 && det > 0.0 {
        let x = (-2.0 * f * b + e * c) / det;
        let y = (-2.0 * d * c + e * b) / det;
        if x.abs() <= 1.0 && y.abs() <= 1.0 {
            return (x.clamp(-0.5, 0.5) as f32, y.clamp(-0.5, 0.5) as f32);
        }
    }
    let para = |m: f64, z0: f64, p: f64| {
        let den = m - 2.0 * z0 + p;
        if den < 0.0 {
            (0.5 * (m - p) / den).clamp(-0.5, 0.5)
        } else {
            0.0
        }
    };
    (
        para(r1[0], r1[1], r1[2]) as f32,
        para(r0[1], r1[1], r2[1]) as f32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadratic_fit_recovers_the_vertex_of_a_paraboloid() {
        // z = -(x - 0.3)^2 - 2 (y + 0.2)^2 + 0.5 (x - 0.3)(y + 0.2) sampled on a 3x3 grid.
        let (x0, y0) = (0.3, -0.2);
        let mut s = [0.0f32; 9];
        for dy in 0..3 {
            for dx in 0..3 {
                let (x, y) = (dx as f64 - 1.0 - x0, dy as f64 - 1.0 - y0);
                s[dy * 3 + dx] = (-(x * x) - 2.0 * y * y + 0.5 * x * y) as f32;
            }
        }
        let (x, y) = subpixel(&s, 3, 1, 1);
        assert!(
            (f64::from(x) - x0).abs() < 1e-5 && (f64::from(y) - y0).abs() < 1e-5,
            "{x} {y}"
        );
    }
}
