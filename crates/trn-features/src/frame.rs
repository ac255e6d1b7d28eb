//! A descent frame and its pyramid (trn-map's reduce: level `k` pixel `j` is level-0 pixel
//! `j 2^k`, so coordinates scale exactly).

use trn_map::pyramid::{self, Image};

/// A frame's pyramid, level 0 the frame itself (f32 digital numbers).
#[derive(Clone, Debug)]
pub struct FramePyramid {
    /// Levels, finest first.
    pub levels: Vec<Image>,
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
