//! A descent frame and its pyramid (trn-map's reduce: level `k` pixel `j` is level-0 pixel
//! `j 2^k`, so coordinates scale exactly).

use trn_flight::pyramid::{Level, MAX_LEVELS, Pyramid};
use trn_map::pyramid::Image;

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
                prev.reduce_finite_into(next, &mut self.scratch);
            }
        }
    }

    /// The levels as trn-flight's pyramid view (at most
    /// [`trn_flight::pyramid::MAX_LEVELS`] of them).
    #[must_use]
    pub fn view(&self) -> Pyramid<'_> {
        let mut levels = [Level::default(); MAX_LEVELS];
        for (dst, l) in levels.iter_mut().zip(&self.levels) {
            *dst = Level {
                width: l.width,
                height: l.height,
                data: &l.data,
            };
        }
        let n = self.levels.len().min(MAX_LEVELS);
        Pyramid::from_levels(&levels[..n]).unwrap_or_default()
    }
}
