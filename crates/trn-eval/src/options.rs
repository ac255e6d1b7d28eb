//! Evaluation settings.

use trn::NavConfig;
use trn_dataset::dataset::ReadOptions;

/// Where templates come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Templates {
    /// Renders of the DEM under the frames' sun.
    Render,
    /// The orthoimage.
    Ortho,
    /// The orthoimage relit under the frames' sun: renders of the DEM times the orthoimage
    /// with its own sun's shading divided out (needs `map.ortho_sun`).
    Relit,
    /// The orthoimage when its sun is within 5 degrees of the frames'; relit when its sun
    /// is known and further; without its sun, the orthoimage when the DEM's posts are more
    /// than 1.5 times its pixel (a coarse DEM renders without the frames' detail); else
    /// renders of the DEM.
    Auto,
}

/// Evaluation settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalOptions {
    /// Template source.
    pub templates: Templates,
    /// Navigator settings.
    pub nav: NavConfig,
    /// Most landmarks in the map.
    pub max_landmarks: usize,
    /// How the dataset is read (paths outside it refused unless allowed).
    pub read: ReadOptions,
    /// The most memory the evaluation may need, bytes: a dataset whose declared sizes
    /// need more ([`crate::memory_estimate`]) is refused before anything large is read.
    pub max_memory_bytes: f64,
}

impl Default for EvalOptions {
    /// Auto templates, 3000 landmarks, and a rangefinder of 0.3 m + 0.2 % (1-sigma): the
    /// dataset format does not carry the sensor's noise, so it is an option. Paths inside
    /// the dataset only; memory up to [`trn_dataset::budget::default_limit_bytes`].
    fn default() -> Self {
        let mut nav = NavConfig::default();
        nav.rangefinder.sigma_m = 0.3;
        nav.rangefinder.sigma_fraction = 0.002;
        Self {
            templates: Templates::Auto,
            nav,
            max_landmarks: 3000,
            read: ReadOptions::default(),
            max_memory_bytes: trn_dataset::budget::default_limit_bytes(),
        }
    }
}
