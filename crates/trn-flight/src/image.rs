//! An owned single-band f32 image for the std crates (feature `std`): the map builder's
//! renders and DEM levels, the simulator's radiance, the runtime's frame pyramids. Flight
//! code works on its borrowed view, [`ImageView`], which [`Image::view`] gives.
//!
//! [`Image::reduce`] is the pyramid reduction of [`crate::pyramid`] (binomial
//! `[1 4 6 4 1] / 16`, even samples kept) extended to missing samples (NaN): each output is
//! the weighted mean of the finite inputs under the kernel, NaN when less than a quarter of
//! the kernel's weight is present, so holes do not spread. An image without missing samples
//! goes through [`reduce_band`], the flight build's arithmetic, bit for bit.

use crate::pyramid::{band_scratch_len, reduce_band, reduced_size};
use crate::view::ImageView;
use std::vec;
use std::vec::Vec;

/// A single-band row-major f32 image (NaN = no data).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Image {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width * height` samples, row-major.
    pub data: Vec<f32>,
}

const K: [f32; 5] = [1.0, 4.0, 6.0, 4.0, 1.0];

impl Image {
    /// The borrowed view flight code reads (an empty one for an empty image or one whose
    /// data is shorter than its size).
    #[must_use]
    pub fn view(&self) -> ImageView<'_> {
        ImageView::packed(&self.data, self.width, self.height).unwrap_or_default()
    }

    /// The sample at `(col, row)`, `None` outside.
    #[must_use]
    pub fn get(&self, col: usize, row: usize) -> Option<f32> {
        self.view().get(col, row)
    }

    /// Bilinear value at fractional `(col, row)` (pixel centres at integers); `None` outside
    /// or next to missing data.
    #[must_use]
    #[inline]
    pub fn bilinear(&self, col: f64, row: f64) -> Option<f32> {
        self.view().bilinear(col, row)
    }

    /// The next pyramid level (see the module documentation): `ceil(w / 2) x ceil(h / 2)`.
    #[must_use]
    pub fn reduce(&self) -> Self {
        if self.width >= 8 && self.height >= 8 && self.data.iter().all(|v| v.is_finite()) {
            let mut out = Self::default();
            self.reduce_finite_into(&mut out, &mut Vec::new());
            return out;
        }
        self.reduce_with_holes()
    }

    /// [`Image::reduce`] into `out` for an image without missing samples: one band of
    /// [`reduce_band`] over the whole level.
    fn reduce_finite_into(&self, out: &mut Self, tmp: &mut Vec<f32>) {
        let (w2, h2) = reduced_size(self.width, self.height);
        out.width = w2;
        out.height = h2;
        out.data.resize(w2 * h2, 0.0);
        tmp.resize(band_scratch_len(self.width), 0.0);
        reduce_band(&self.view(), 0, &mut out.data, tmp);
    }

    fn reduce_with_holes(&self) -> Self {
        let (w, h) = (self.width, self.height);
        let (w2, h2) = reduced_size(w, h);
        // Horizontal pass at the kept columns, carrying (weighted sum, weight) pairs so the
        // vertical pass can renormalise over missing samples.
        let mut sum = vec![0.0f32; w2 * h];
        let mut wt = vec![0.0f32; w2 * h];
        for ((srow, wrow), row) in sum
            .chunks_mut(w2.max(1))
            .zip(wt.chunks_mut(w2.max(1)))
            .zip(self.data.chunks(w.max(1)))
        {
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
        }
        let mut data = vec![f32::NAN; w2 * h2];
        for (i, out) in data.chunks_mut(w2.max(1)).enumerate() {
            let r = 2 * i;
            for (j, o) in out.iter_mut().enumerate() {
                let (mut s, mut ww) = (0.0f32, 0.0f32);
                for (t, k) in K.iter().enumerate() {
                    let Some(rr) = (r + t).checked_sub(2) else {
                        continue;
                    };
                    if rr < h
                        && let (Some(sv), Some(wv)) = (sum.get(rr * w2 + j), wt.get(rr * w2 + j))
                    {
                        s += k * sv;
                        ww += k * wv;
                    }
                }
                // The centre tap alone weighs 36/256 of the full kernel: below a quarter of
                // the kernel present, the sample would be extrapolated from one side.
                if ww >= 64.0 {
                    *o = s / ww;
                }
            }
        }
        Self {
            width: w2,
            height: h2,
            data,
        }
    }
}

/// `levels` images, level 0 first (`base` itself), each the [`Image::reduce`] of the
/// previous one.
#[must_use]
pub fn reduce_levels(base: Image, levels: usize) -> Vec<Image> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Holes do not spread, the finite path equals the hole-aware one where both apply,
    /// and sizes round up.
    #[test]
    fn reduce_with_and_without_holes() {
        let (w, h) = (21, 17);
        let img = Image {
            width: w,
            height: h,
            data: (0..w * h).map(|k| ((k * 37) % 101) as f32).collect(),
        };
        let a = img.reduce();
        let b = img.reduce_with_holes();
        assert_eq!((a.width, a.height), (11, 9));
        for (x, y) in a.data.iter().zip(&b.data) {
            assert!((x - y).abs() <= 1e-4 * x.abs().max(1.0), "{x} {y}");
        }
        let mut holed = img.clone();
        holed.data[5 * w + 6] = f32::NAN;
        let c = holed.reduce();
        assert!(c.data.iter().all(|v| v.is_finite()));
        let mut empty = img;
        empty
            .data
            .iter_mut()
            .take(6 * w)
            .for_each(|v| *v = f32::NAN);
        let d = empty.reduce();
        assert!(d.get(0, 0).unwrap().is_nan() && d.get(0, 5).unwrap().is_finite());
    }
}
