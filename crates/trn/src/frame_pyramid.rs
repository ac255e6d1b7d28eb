//! A descent frame and its pyramid: trn-flight's reduction (level `k` pixel `j` is level-0
//! pixel `j 2^k`, so coordinates scale exactly) run by bands of rows on rayon.

use rayon::prelude::*;
use trn_flight::image::Image;
use trn_flight::pyramid::{
    Level, MAX_LEVELS, Pyramid, band_scratch_len, reduce_band, reduced_size,
};

// The std pyramid (rayon over rows) must equal the flight build bit for bit, and reusing
// the buffers must not change it.
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
        for seed in 0..3 {
            let frame = px(seed);
            p.rebuild(97, 203, frame.clone(), 6);
            let mut buf = vec![0.0; buffer_len(97, 203, 6)];
            let mut tmp = vec![0.0; scratch_len(97, 203)];
            let q = Pyramid::build(&frame, 97, 203, 6, &mut buf, &mut tmp).unwrap();
            let v = p.view();
            assert_eq!(v.len(), 6);
            for k in 0..6 {
                let (a, b) = (v.level(k).unwrap(), q.level(k).unwrap());
                assert_eq!((a.width, a.height), (b.width, b.height));
                assert!(
                    a.data
                        .iter()
                        .zip(b.data)
                        .all(|(x, y)| x.to_bits() == y.to_bits())
                );
            }
        }
    }
}

/// A frame's pyramid, level 0 the frame itself (f32 digital numbers).
#[derive(Clone, Debug, Default)]
pub struct FramePyramid {
    /// Levels, finest first.
    pub levels: Vec<Image>,
    scratch: Vec<f32>,
}

impl FramePyramid {
    /// Rebuilds the pyramid for a new frame, reusing the coarser levels' buffers: after
    /// the first frame of a size, no allocation (and no page faults) for them.
    pub fn rebuild(&mut self, width: usize, height: usize, pixels: Vec<f32>, levels: usize) {
        let levels = levels.max(1);
        self.levels.truncate(levels);
        let base = Image {
            width,
            height,
            data: pixels,
        };
        match self.levels.first_mut() {
            Some(l0) => *l0 = base,
            None => self.levels.push(base),
        }
        for k in 1..levels {
            if self.levels.len() <= k {
                self.levels.push(Image {
                    width: 0,
                    height: 0,
                    data: Vec::new(),
                });
            }
            let (done, rest) = self.levels.split_at_mut(k);
            if let (Some(prev), Some(next)) = (done.last(), rest.first_mut()) {
                reduce_on_rayon(prev, next, &mut self.scratch);
            }
        }
    }

    /// The levels as trn-flight's pyramid view (at most
    /// [`trn_flight::pyramid::MAX_LEVELS`] of them).
    #[must_use]
    pub fn view(&self) -> Pyramid<'_> {
        let mut levels = [Level::default(); MAX_LEVELS];
        for (dst, l) in levels.iter_mut().zip(&self.levels) {
            *dst = l.view();
        }
        let n = self.levels.len().min(MAX_LEVELS);
        Pyramid::from_levels(&levels[..n]).unwrap_or_default()
    }
}

/// The reduction of `src` (no missing samples) into `out`, reusing its buffer and `tmp` (no
/// allocation once they have grown to size). Bands of rows run on rayon through
/// trn-flight's band kernel, so the result equals `Pyramid::build`'s bit for bit.
fn reduce_on_rayon(src: &Image, out: &mut Image, tmp: &mut Vec<f32>) {
    // Output rows per band: enough that re-filtering the three input rows a band shares
    // with the one before costs little, few enough for every thread to get several.
    const BAND_ROWS: usize = 32;
    let (w2, h2) = reduced_size(src.width, src.height);
    out.width = w2;
    out.height = h2;
    // Every sample is written below: resize only (no clearing pass over the level).
    out.data.resize(w2 * h2, 0.0);
    if w2 == 0 || h2 == 0 {
        return;
    }
    let ring = band_scratch_len(src.width);
    tmp.resize(h2.div_ceil(BAND_ROWS) * ring, 0.0);
    let view = src.view();
    out.data
        .par_chunks_mut(BAND_ROWS * w2)
        .zip(tmp.par_chunks_mut(ring))
        .enumerate()
        .for_each(|(b, (band, ring))| reduce_band(&view, b * BAND_ROWS, band, ring));
}
