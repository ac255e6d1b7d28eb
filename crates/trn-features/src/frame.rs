//! A descent frame and its pyramid (trn-map's reduce: level `k` pixel `j` is level-0 pixel
//! `j 2^k`, so coordinates scale exactly).

use trn_map::pyramid::{self, Image};

// `rebuild` must give exactly what `new` gives.
#[cfg(test)]
mod tests {
    use super::FramePyramid;

    #[test]
    fn rebuild_equals_new() {
        let px = |s: u32| -> Vec<f32> {
            (0..97 * 64u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) ^ s) % 251)
                .map(|v| v as f32)
                .collect()
        };
        let mut p = FramePyramid::default();
        for seed in 0..3 {
            p.rebuild(97, 64, px(seed), 4);
            let q = FramePyramid::new(97, 64, px(seed), 4);
            assert_eq!(p.levels, q.levels);
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
    /// Builds `levels` levels (at least one) from a row-major frame.
    #[must_use]
    pub fn new(width: usize, height: usize, pixels: Vec<f32>, levels: usize) -> Self {
        Self {
            levels: pyramid::build(
                Image {
                    width,
                    height,
                    data: pixels,
                },
                levels.max(1),
            ),
            scratch: Vec::new(),
        }
    }

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
                prev.reduce_into(next, &mut self.scratch);
            }
        }
    }

    /// Bilinear sample of level `k` at level-0 pixel coordinates `(u, v)`.
    #[must_use]
    pub fn sample(&self, k: usize, u: f64, v: f64) -> Option<f32> {
        let img = self.levels.get(k)?;
        let s = f64::from(1u32 << k);
        img.bilinear(u / s, v / s)
    }

    /// Width of level 0.
    #[must_use]
    pub fn width(&self) -> usize {
        self.levels.first().map_or(0, |l| l.width)
    }

    /// Height of level 0.
    #[must_use]
    pub fn height(&self) -> usize {
        self.levels.first().map_or(0, |l| l.height)
    }
}
