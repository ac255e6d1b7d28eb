//! A descent frame's pyramid built on rayon: trn-flight's reduction (level `k` pixel `j` is
//! level-0 pixel `j 2^k`, so coordinates scale exactly) run by bands of rows
//! ([`build_on_rayon`]), into the layout of trn-flight's [`Pyramid::build`] and equal to it
//! bit for bit on any number of threads. [`FramePyramid`] owns a frame and its levels.

use rayon::prelude::*;
use trn_flight::pyramid::{
    Pyramid, PyramidError, band_scratch_len, buffer_len, build_levels, reduce_band,
};

/// Output rows per band: enough that re-filtering the three input rows a band shares with
/// the one before costs little, few enough for every thread to get several.
const BAND_ROWS: usize = 32;

/// Levels 1.. of the `width x height` `frame`'s pyramid of `levels` levels into `buf`, as
/// [`Pyramid::build`] lays them out and computes them, bands of rows on rayon; `ring` grows
/// to the bands' scratch (no allocation once it has).
///
/// # Errors
///
/// As [`Pyramid::build`], for a frame or a level count it refuses or a short `buf`.
pub fn build_on_rayon(
    frame: &[f32],
    width: usize,
    height: usize,
    levels: usize,
    buf: &mut [f32],
    ring: &mut Vec<f32>,
) -> Result<(), PyramidError> {
    build_levels(frame, width, height, levels, buf, |src, dst| {
        let (w, w2) = (src.width(), src.width().div_ceil(2));
        let need = dst.len().div_ceil(BAND_ROWS * w2.max(1)) * band_scratch_len(w);
        if ring.len() < need {
            ring.resize(need, 0.0);
        }
        if w2 > 0 {
            dst.par_chunks_mut(BAND_ROWS * w2)
                .zip(ring.par_chunks_mut(band_scratch_len(w)))
                .enumerate()
                .for_each(|(b, (band, ring))| reduce_band(src, b * BAND_ROWS, band, ring));
        }
    })
}

/// A frame (f32 digital numbers) and its pyramid levels, owned; rebuilt in place for each
/// new frame of the same size without allocating.
#[derive(Clone, Debug, Default)]
pub struct FramePyramid {
    pixels: Vec<f32>,
    levels: Vec<f32>,
    ring: Vec<f32>,
    width: usize,
    height: usize,
    count: usize,
}

impl FramePyramid {
    /// Rebuilds the pyramid of `levels` levels for a new `width x height` frame (`pixels`,
    /// row-major), reusing the level buffers.
    ///
    /// # Errors
    ///
    /// As [`build_on_rayon`].
    pub fn rebuild(
        &mut self,
        width: usize,
        height: usize,
        pixels: Vec<f32>,
        levels: usize,
    ) -> Result<(), PyramidError> {
        self.levels.resize(buffer_len(width, height, levels), 0.0);
        self.pixels = pixels;
        (self.width, self.height, self.count) = (width, height, 0);
        build_on_rayon(
            &self.pixels,
            width,
            height,
            levels,
            &mut self.levels,
            &mut self.ring,
        )?;
        self.count = levels;
        Ok(())
    }

    /// The levels as trn-flight's pyramid view (empty before the first rebuild).
    #[must_use]
    pub fn view(&self) -> Pyramid<'_> {
        Pyramid::view_built(
            &self.pixels,
            self.width,
            self.height,
            self.count,
            &self.levels,
        )
        .unwrap_or_default()
    }
}

// The pyramid on rayon must equal the flight build bit for bit, on any number of threads,
// and reusing the buffers must not change it.
#[cfg(test)]
mod tests {
    use super::FramePyramid;
    use trn_flight::pyramid::{Pyramid, buffer_len, scratch_len};

    #[test]
    fn equals_the_flight_build() {
        // Tall enough that level 1 runs in several bands.
        let px = |s: u32| -> Vec<f32> {
            (0..97 * 203u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) ^ s) % 251)
                .map(|v| v as f32)
                .collect()
        };
        let mut p = FramePyramid::default();
        for (seed, threads) in [(0, 1), (1, 2), (2, 3)] {
            let frame = px(seed);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| p.rebuild(97, 203, frame.clone(), 6))
                .unwrap();
            let mut buf = vec![0.0; buffer_len(97, 203, 6)];
            let mut tmp = vec![0.0; scratch_len(97, 203)];
            let q = Pyramid::build(&frame, 97, 203, 6, &mut buf, &mut tmp).unwrap();
            let v = p.view();
            assert_eq!(v.len(), 6);
            for k in 0..6 {
                let (a, b) = (v.level(k).unwrap(), q.level(k).unwrap());
                assert_eq!((a.width(), a.height()), (b.width(), b.height()));
                assert!(
                    a.data()
                        .iter()
                        .zip(b.data())
                        .all(|(x, y)| x.to_bits() == y.to_bits())
                );
            }
        }
        assert!(p.rebuild(10, 10, vec![0.0; 50], 3).is_err());
    }
}
