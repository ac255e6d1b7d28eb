//! The per-frame pipeline: a descent frame, a prior and the map database in; a pose with an
//! honest covariance, an altitude and a rangefinder verdict out.
//!
//! The steps below are trn-flight's [`FrameNavigator`] (one implementation for the flight
//! build and this one); the [`Navigator`] runs its matching with rayon, adds FFT
//! acquisition ([`crate::acquisition`]) when the prior is too uncertain for windowed
//! search, times each stage, and carries a descent's frames with trn-flight's [`FrameSequence`]: the
//! last fixed frame kept for tracking, velocity ([`trn_flight::velocity`]).
//!
//! 1. **Predict** the landmarks in view with the prior; search radii from its covariance.
//! 2. **Coarse stage**, when the radii are large (an uncertain prior): a spread subset of the
//!    landmarks is matched one template level coarser (half the radius in pixels of twice
//!    the size), and a robust pose from those becomes the prior of the fine stage, with
//!    its covariance inflated.
//! 3. **Fine stage**: every predicted landmark matched with radii from that prior.
//! 4. **Pose**: P3P + LO-RANSAC and refinement (trn-flight); the covariance from the
//!    residuals is inflated by the map's own error (DEM sigma and template localisation),
//!    which the residuals cannot show because it is common to all landmarks.
//! 5. **Integrity**: enough inliers, spread over the image, and a NEES against the prior
//!    below its 99.99 % chi-square bound; otherwise `rejected` (a solution failed its checks)
//!    or `no_fix` (not enough matches). Altitude above the DEM from the estimate, and the
//!    rangefinder judged by trn-flight's monitor against the estimate (or the prior).
//! 6. **Below the map's reach**, when the map gives no fix: the pose from the ground this
//!    frame shares with the last fixed one, kept by the navigator ([`trn_flight::track`]);
//!    its covariance carries that fix's.

use crate::acquisition::Acquirer;
use crate::frame_pyramid::build_on_rayon;
use crate::matching::ParallelMatcher;
use std::time::Instant;
use trn_flight::camera::Camera;
use trn_flight::dem::Heightfield;
use trn_flight::mapdb::MapDb;
use trn_flight::matching::{MatchContext, MatchOutcome};
use trn_flight::pipeline::{
    Executor, FrameNavigator, FrameSequence, FrameSlot, MAX_HYPOTHESES, PositionHypothesis,
    Workspace,
};
use trn_flight::predict::Prediction;
use trn_flight::pyramid::{
    MAX_LEVELS, Pyramid, PyramidError, band_scratch_len, buffer_len, scratch_len,
};

pub use trn_flight::pipeline::{
    Acquisition, FixStatus, FrameResult, NavConfig, Prior, Reason, StageTimes,
};
pub use trn_flight::velocity::Velocity;

/// One fine-stage match, for diagnostics and plots.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    /// Landmark id.
    pub id: u32,
    /// Where it was found, level-0 pixels.
    pub pixel: [f64; 2],
    /// Whether the pose kept it.
    pub inlier: bool,
}

/// The navigator: a map database, a camera and settings; one [`Navigator::process`] per
/// frame.
#[derive(Debug)]
pub struct Navigator<'a> {
    core: FrameNavigator<'a>,
    /// Predictions, outcomes and solver buffers, reused from frame to frame.
    workspace: Box<Workspace>,
    /// One matching scratch per rayon worker.
    matcher: ParallelMatcher,
    /// The frames in sequence: two frame slots (the last fixed frame kept for tracking),
    /// velocity's tracking buffers.
    sequence: Box<FrameSequence<Vec<f32>>>,
    /// Scratch of the pyramid's bands on rayon.
    pyramid_ring: Vec<f32>,
    /// Acquisition: the overview levels, and FFT plans and buffers made by its first run.
    acquirer: Acquirer,
}

/// trn's executor: rayon matching, FFT acquisition, a wall clock.
struct StdExecutor<'e> {
    matcher: &'e ParallelMatcher,
    pyramid_ring: &'e mut Vec<f32>,
    acquirer: &'e mut Acquirer,
    camera: &'e Camera,
    dem: Option<&'e Heightfield<'e>>,
    start: Instant,
}

impl Executor for StdExecutor<'_> {
    fn build_pyramid(
        &mut self,
        frame: &[f32],
        width: usize,
        height: usize,
        levels: usize,
        buf: &mut [f32],
        _tmp: &mut [f32],
    ) -> Result<(), PyramidError> {
        build_on_rayon(frame, width, height, levels, buf, self.pyramid_ring)
    }

    fn match_all(
        &mut self,
        ctx: &MatchContext<'_>,
        preds: &[Prediction],
        out: &mut [MatchOutcome],
    ) {
        self.matcher.match_all(ctx, preds, out);
    }

    fn acquire(
        &mut self,
        frame: &Pyramid<'_>,
        prior: &Prior,
        out: &mut [PositionHypothesis],
    ) -> Option<usize> {
        if !self.acquirer.has_overview() {
            return None;
        }
        let mut found = [crate::acquisition::Hypothesis::default(); MAX_HYPOTHESES];
        let cap = out.len().min(MAX_HYPOTHESES);
        let Some(acq) = self.acquirer.acquire(
            frame,
            self.camera,
            &prior.pose,
            self.dem,
            3.0 * prior.sigma_pos_m,
            &mut found[..cap],
        ) else {
            return Some(0);
        };
        let mut n = 0;
        for (o, h) in out.iter_mut().zip(&found[..acq.found]) {
            *o = PositionHypothesis {
                shift_m: h.shift_m,
                sigma_pos_m: (2.0 * acq.pixel_m).max(0.05 * prior.sigma_pos_m),
            };
            n += 1;
        }
        Some(n)
    }

    fn now_ms(&mut self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1e3
    }
}

impl<'a> Navigator<'a> {
    /// A navigator over a parsed map database; its frame buffers are made here, so that no
    /// frame allocates them. `cfg.frame_levels` is held within 1..=`MAX_LEVELS`.
    #[must_use]
    pub fn new(db: MapDb<'a>, camera: Camera, cfg: NavConfig) -> Self {
        let cfg = NavConfig {
            frame_levels: cfg.frame_levels.clamp(1, MAX_LEVELS),
            ..cfg
        };
        let (w, h) = (camera.width() as usize, camera.height() as usize);
        let core = FrameNavigator::new(&db, camera, cfg);
        let slot = || FrameSlot {
            pixels: vec![0.0; w * h],
            levels: vec![0.0; buffer_len(w, h, cfg.frame_levels)],
        };
        let sequence = FrameSequence::new(&core, [slot(), slot()], vec![0.0; scratch_len(w, h)])
            .map(Box::new)
            .unwrap_or_else(|e| unreachable!("levels clamped, buffers sized for the camera: {e}"));
        // The pyramid's bands on rayon: as many rings as the first level has bands.
        let pyramid_ring = vec![0.0; h.div_ceil(2).div_ceil(32) * band_scratch_len(w)];
        Self {
            core,
            workspace: Box::default(),
            matcher: ParallelMatcher::new(),
            sequence,
            pyramid_ring,
            acquirer: Acquirer::new(&db),
        }
    }

    /// The inertial prior corrected by the last fix (see
    /// [`FrameNavigator::corrected_prior`]).
    #[must_use]
    pub fn corrected_prior(&self, prior: &Prior) -> Prior {
        self.core.corrected_prior(prior)
    }

    /// Forgets the previous frames (fix, inertial reference, tracked features, rangefinder
    /// admission) as at the start of a descent; keeps the map and the frame buffers.
    pub fn reset(&mut self) {
        self.core.reset();
        self.sequence.reset();
    }

    /// The camera.
    #[must_use]
    pub fn camera(&self) -> &Camera {
        self.core.camera()
    }

    /// Processes one frame (row-major f32 pixels of the camera's size) with its prior and
    /// rangefinder reading. A frame of another size gives no fix (and breaks the run of
    /// fixes velocity needs).
    #[must_use]
    pub fn process(&mut self, pixels: Vec<f32>, prior: &Prior, lrf: Option<f64>) -> FrameResult {
        let start = Instant::now();
        let camera = *self.core.camera();
        if pixels.len() != camera.width() as usize * camera.height() as usize
            || self.sequence.swap_next_pixels(pixels).is_err()
        {
            self.sequence.skip();
            return FrameResult::unsolved(prior);
        }
        let dem = self.core.dem().copied();
        let mut exec = StdExecutor {
            matcher: &self.matcher,
            pyramid_ring: &mut self.pyramid_ring,
            acquirer: &mut self.acquirer,
            camera: &camera,
            dem: dem.as_ref(),
            start,
        };
        self.sequence
            .process(&mut self.core, prior, lrf, &mut self.workspace, &mut exec)
    }

    /// The last frame's fine-stage matches (none when its pose could not be solved), read
    /// from the navigator's workspace until the next [`Navigator::process`]: nothing is
    /// copied or allocated for them.
    pub fn observations(&self) -> impl Iterator<Item = Observation> + '_ {
        self.workspace
            .observations()
            .map(|(m, inlier)| Observation {
                id: m.id,
                pixel: m.pixel,
                inlier,
            })
    }
}
