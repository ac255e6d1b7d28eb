//! The frame's working memory, in the caller's hands.

use crate::linalg::Vec3;
use crate::matching::{LandmarkMatch, MatchOutcome};
use crate::predict::Prediction;
use crate::track::TrackScratch;

/// Most predictions a frame keeps ([`PredictConfig::max_landmarks`] is capped by it).
///
/// [`PredictConfig::max_landmarks`]: crate::predict::PredictConfig::max_landmarks
pub const MAX_PREDICTIONS: usize = 256;

/// Per-frame working memory (about 175 KB): predictions, match outcomes, the pose
/// solver's correspondences and tracking's buffers ([`crate::track::TrackScratch`]).
/// Reused from frame to frame; its contents after
/// [`FrameNavigator::process`](super::FrameNavigator::process) describe the fine stage (see
/// [`Workspace::observations`]).
#[derive(Clone, Debug)]
pub struct Workspace {
    /// The frame's first predictions, with the prior and unclamped radii.
    pub(super) initial: [Prediction; MAX_PREDICTIONS],
    /// The predictions being matched (fine stage, refinement passes, acquisition's
    /// coarse stages).
    pub(super) preds: [Prediction; MAX_PREDICTIONS],
    /// The coarse stage's subset, one template level coarser.
    pub(super) coarse: [Prediction; MAX_PREDICTIONS],
    pub(super) outcomes: [MatchOutcome; MAX_PREDICTIONS],
    /// The matches compacted for the pose solver: normalised image points, world points
    /// and the solver's inlier mask.
    pub(super) image: [[f64; 2]; MAX_PREDICTIONS],
    pub(super) world: [Vec3; MAX_PREDICTIONS],
    pub(super) mask: [bool; MAX_PREDICTIONS],
    /// The world points moved by one mode of the map's registration error.
    pub(super) perturbed: [Vec3; MAX_PREDICTIONS],
    /// The normalised image points moved by one mode of the camera's intrinsic error.
    pub(super) perturbed_image: [[f64; 2]; MAX_PREDICTIONS],
    /// Scratch of the medians.
    pub(super) values: [f64; MAX_PREDICTIONS],
    /// Outcomes of the last matching pass.
    pub(super) n_outcomes: usize,
    /// Whether the last pass's outcomes were solved into a pose (`mask` holds its inliers).
    pub(super) solved: bool,
    pub(super) track: TrackScratch,
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

const NO_PREDICTION: Prediction = Prediction {
    index: 0,
    level: 0,
    pixel: [0.0; 2],
    radius: 0,
    template_half: 0,
    scale_ratio: 0.0,
};

impl Workspace {
    /// An empty workspace.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            initial: [NO_PREDICTION; MAX_PREDICTIONS],
            preds: [NO_PREDICTION; MAX_PREDICTIONS],
            coarse: [NO_PREDICTION; MAX_PREDICTIONS],
            outcomes: [MatchOutcome::Failed; MAX_PREDICTIONS],
            image: [[0.0; 2]; MAX_PREDICTIONS],
            world: [Vec3::new(0.0, 0.0, 0.0); MAX_PREDICTIONS],
            mask: [false; MAX_PREDICTIONS],
            perturbed: [Vec3::new(0.0, 0.0, 0.0); MAX_PREDICTIONS],
            perturbed_image: [[0.0; 2]; MAX_PREDICTIONS],
            values: [0.0; MAX_PREDICTIONS],
            n_outcomes: 0,
            solved: false,
            track: TrackScratch::new(),
        }
    }

    /// The last frame's fine-stage matches with whether the pose kept each (empty when no
    /// pose was solved).
    pub fn observations(&self) -> impl Iterator<Item = (&LandmarkMatch, bool)> + '_ {
        let n = if self.solved { self.n_outcomes } else { 0 };
        self.outcomes
            .iter()
            .take(n)
            .filter_map(MatchOutcome::matched)
            .zip(self.mask.iter().copied())
    }
}
