//! Image and DEM pyramids: each level halves the resolution of the one below.
//!
//! Level `k + 1` keeps the samples of level `k` at even columns and rows, after a separable
//! binomial low-pass `[1 4 6 4 1] / 16` (Burt & Adelson's reduce). Keeping even samples, rather
//! than averaging 2x2 blocks, means the node `(j, i)` of level `k` is exactly the node
//! `(j 2^k, i 2^k)` of level 0: a DEM pyramid level is again a grid over the same site frame
//! with doubled spacing, and a landmark's position maps to every level without a half-pixel
//! shift. Missing samples (NaN) do not spread: each output is the weighted mean of the finite
//! inputs under the kernel, and is NaN only when all of them are missing; the border is
//! handled by renormalising the weights that fall inside.

use crate::site_dem::SiteDem;
use rayon::prelude::*;

/// A single-band row-major f32 image (NaN = no data).
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width * height` samples, row-major.
    pub data: Vec<f32>,
}

impl Image {
    /// The sample at `(col, row)`, `None` outside.
    #[must_use]
    pub fn get(&self, col: usize, row: usize) -> Option<f32> {
        if col < self.width && row < self.height {
            self.data.get(row * self.width + col).copied()
        } else {
            None
        }
    }

    /// Bilinear value at fractional `(col, row)` (pixel centres at integers); `None` outside
    /// or next to missing data.
    #[must_use]
    #[inline]
    pub fn bilinear(&self, col: f64, row: f64) -> Option<f32> {
        trn_flight::pyramid::bilinear(&self.data, self.width, self.height, col, row)
    }

    /// The next pyramid level: binomial low-pass, then every other sample (see the module
    /// documentation). An image of `w x h` gives `ceil(w / 2) x ceil(h / 2)`.
    #[must_use]
    pub fn reduce(&self) -> Self {
        let (w, h) = (self.width, self.height);
        let (w2, h2) = (w.div_ceil(2), h.div_ceil(2));
        const K: [f32; 5] = [1.0, 4.0, 6.0, 4.0, 1.0];
        if w >= 8 && h >= 8 && self.data.par_iter().all(|v| v.is_finite()) {
            return self.reduce_finite();
        }
        // Horizontal pass at the kept columns, carrying (weighted sum, weight) pairs so the
        // vertical pass can renormalise over missing samples.
        let mut sum = vec![0.0f32; w2 * h];
        let mut wt = vec![0.0f32; w2 * h];
        sum.par_chunks_mut(w2)
            .zip(wt.par_chunks_mut(w2))
            .enumerate()
            .for_each(|(r, (srow, wrow))| {
                let row = &self.data[r * w..(r + 1) * w];
                for (j, (s, ww)) in srow.iter_mut().zip(wrow.iter_mut()).enumerate() {
                    let c = 2 * j;
                    for (t, k) in K.iter().enumerate() {
                        let Some(cc) = (c + t).checked_sub(2) else {
                            continue;
                        };
                        if let Some(v) = row.get(cc).filter(|v| v.is_finite()) {
                            *s += k * v;
                            *ww += k;
                        }
                    }
                }
            });
        let mut data = vec![f32::NAN; w2 * h2];
        data.par_chunks_mut(w2).enumerate().for_each(|(i, out)| {
            let r = 2 * i;
            for (j, o) in out.iter_mut().enumerate() {
                let (mut s, mut ww) = (0.0f32, 0.0f32);
                for (t, k) in K.iter().enumerate() {
                    let Some(rr) = (r + t).checked_sub(2) else {
                        continue;
                    };
                    if rr < h {
                        s += k * sum[rr * w2 + j];
                        ww += k * wt[rr * w2 + j];
                    }
                }
                // The centre tap alone weighs 36/256 of the full kernel: below a quarter of
                // the kernel present, the sample would be extrapolated from one side.
                if ww >= 64.0 {
                    *o = s / ww;
                }
            }
        });
        Self {
            width: w2,
            height: h2,
            data,
        }
    }
}

impl Image {
    /// [`Image::reduce`] for an image without missing samples: the same result (the border
    /// taps renormalised the same way), without per-tap checks.
    fn reduce_finite(&self) -> Self {
        let mut out = Self {
            width: 0,
            height: 0,
            data: Vec::new(),
        };
        self.reduce_finite_into(&mut out, &mut Vec::new());
        out
    }

    /// [`Image::reduce`] into `out`, reusing its buffer and `tmp` (no allocation once they
    /// have grown to size), without the check for missing samples: for images known to be
    /// finite (descent frames). Bands of rows run on rayon through trn-flight's band
    /// kernel, so the result equals `trn_flight::pyramid::Pyramid::build`'s bit for bit.
    pub fn reduce_finite_into(&self, out: &mut Self, tmp: &mut Vec<f32>) {
        use trn_flight::pyramid::{Level, band_scratch_len, reduce_band};
        // Output rows per band: enough that re-filtering the three input rows a band
        // shares with the one before costs little, few enough for every thread to get
        // several.
        const BAND_ROWS: usize = 32;
        let (w, h) = (self.width, self.height);
        let (w2, h2) = (w.div_ceil(2), h.div_ceil(2));
        out.width = w2;
        out.height = h2;
        // Every sample is written below: resize only (no clearing pass over the level).
        out.data.resize(w2 * h2, 0.0);
        if w2 == 0 || h2 == 0 {
            return;
        }
        let ring = band_scratch_len(w);
        tmp.resize(h2.div_ceil(BAND_ROWS) * ring, 0.0);
        let src = Level {
            width: w,
            height: h,
            data: &self.data,
        };
        out.data
            .par_chunks_mut(BAND_ROWS * w2)
            .zip(tmp.par_chunks_mut(ring))
            .enumerate()
            .for_each(|(b, (band, ring))| reduce_band(&src, b * BAND_ROWS, band, ring));
    }
}

/// `levels` images, level 0 first (a copy of `base`), each the [`Image::reduce`] of the
/// previous one.
#[must_use]
pub fn build(base: Image, levels: usize) -> Vec<Image> {
    let mut out = Vec::with_capacity(levels.max(1));
    out.push(base);
    while out.len() < levels {
        let next = out.last().map(Image::reduce);
        match next {
            Some(n) => out.push(n),
            None => break,
        }
    }
    out
}

impl SiteDem {
    /// The DEM one pyramid level up: spacing doubled, nodes at the even nodes of this grid
    /// (so the grid keeps its origin `x0, y0`), heights low-passed.
    #[must_use]
    pub fn reduce(&self) -> Self {
        let img = Image {
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
