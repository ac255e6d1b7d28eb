//! What a frame is given and what it returns: the navigator's settings, the frame's prior,
//! the verdict with its pose and diagnostics, and the time per stage.

use crate::camera::IntrinsicSigma;
use crate::inertial::InertialModel;
use crate::linalg::Mat6;
use crate::matching::{MatchConfig, MatchStats};
use crate::math;
use crate::pose::Pose;
use crate::predict::PredictConfig;
use crate::rangefinder::{LrfReport, RangefinderConfig};
use crate::track::TrackConfig;
use crate::velocity::Velocity;

/// Navigator settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NavConfig {
    /// Landmark prediction.
    pub predict: PredictConfig,
    /// Template matching.
    pub matching: MatchConfig,
    /// Run the coarse stage when the largest fine search radius would exceed this many
    /// template pixels.
    pub coarse_above_radius: usize,
    /// Landmarks matched in the coarse stage.
    pub coarse_landmarks: usize,
    /// Fewest inliers for a fix.
    pub min_inliers: usize,
    /// RANSAC inlier threshold, pixels (scaled up by the template-to-frame pixel ratio).
    pub threshold_px: f64,
    /// Rangefinder monitor settings.
    pub rangefinder: RangefinderConfig,
    /// Pyramid levels built for each frame.
    pub frame_levels: usize,
    /// Acquisition hypotheses verified, at most (when the executor offers acquisition).
    pub acquisition_hypotheses: usize,
    /// Fine-stage passes: the first with windows warped by the (coarse-corrected) prior,
    /// each further one with windows warped by the previous pass's pose.
    pub fine_passes: usize,
    /// A refinement pass runs only when the previous pass's median match lay further than
    /// this from its window's centre, template pixels.
    pub refine_above_px: f64,
    /// Fuse the inertial prior's attitude (with its sigma) into the fine stage's pose: few
    /// landmarks in a narrow view leave position and attitude nearly interchangeable, and
    /// an inertial attitude good to a tenth of a degree separates them.
    pub fuse_attitude: bool,
    /// Also judge each rangefinder reading's change since the latest consistent ones
    /// against the inertial motion ([`RangefinderMonitor::update_with_motion`]), the
    /// inertial error between two frames taken from the growth of the prior's sigma. It
    /// matters below the last vision fix, where the pose is the drifting inertial prior:
    /// too uncertain for the absolute check to judge a reading, but its error is common to
    /// consecutive frames and cancels in the change, where a frozen, jumping or newly
    /// biased reading stands out. Without a fix it runs only while the inertial-error
    /// filter holds (its drift model verified): independent prior errors do not cancel.
    ///
    /// [`RangefinderMonitor::update_with_motion`]:
    ///     crate::rangefinder::RangefinderMonitor::update_with_motion
    pub lrf_motion_check: bool,
    /// Probability, per axis, that an error exceeds three reported sigmas: the pose's
    /// covariance is scaled by `t / 3`, `t` the two-sided Student-t quantile at this
    /// probability with the fit's residual degrees of freedom (its sigma is estimated from
    /// them); the map's common-mode error, a Gaussian, is scaled likewise by `z / 3`, `z`
    /// its two-sided quantile at this probability, before it is added. The reported sigmas
    /// are an overbound, as integrity needs: 1/3000 keeps fixes outside 3 sigma on any of
    /// three axes below 1 in 1000. Zero or NaN leaves both as they are.
    pub axis_exceedance: f64,
    /// Frame-to-frame tracking, used when the map gives no fix and the caller passes the
    /// previous fixed frame ([`FrameNavigator::process_with_fixed`]).
    ///
    /// [`FrameNavigator::process_with_fixed`]: super::FrameNavigator::process_with_fixed
    pub track: TrackConfig,
    /// How the inertial error moves between fixes: the model of the filter that corrects
    /// each frame's inertial prior by the fixes before it ([`crate::inertial`]).
    pub inertial: InertialModel,
    /// 1-sigma of the map's registration error against the body, metres per horizontal
    /// axis (dataset.json's `map.registration_sigma_m`): an offset of the whole map, and a
    /// rotation and a scale that move the landmarks by that much at their distance from the
    /// view's centre. A map fix's covariance carries it in position and attitude. The
    /// navigator uses the larger of this and the map database's.
    pub registration_sigma_m: f64,
    /// 1-sigma of the camera's intrinsics (dataset.json's `camera.sigma`): a map fix's
    /// covariance carries what each moves the pose, found by re-solving with the image
    /// points moved as that intrinsic would move them. Zero (the default) costs nothing.
    pub intrinsic_sigma: IntrinsicSigma,
}

impl Default for NavConfig {
    fn default() -> Self {
        Self {
            predict: PredictConfig::default(),
            matching: MatchConfig::default(),
            coarse_above_radius: 8,
            coarse_landmarks: 80,
            min_inliers: 10,
            threshold_px: 2.0,
            rangefinder: RangefinderConfig::default(),
            frame_levels: 6,
            acquisition_hypotheses: 4,
            fine_passes: 2,
            refine_above_px: 0.1,
            fuse_attitude: true,
            lrf_motion_check: true,
            axis_exceedance: 1.0 / 3000.0,
            track: TrackConfig::default(),
            inertial: InertialModel::default(),
            registration_sigma_m: 0.0,
            intrinsic_sigma: IntrinsicSigma::default(),
        }
    }
}

/// The prior of one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prior {
    /// Prior pose.
    pub pose: Pose,
    /// 1-sigma per position axis, metres.
    pub sigma_pos_m: f64,
    /// 1-sigma per attitude axis, radians.
    pub sigma_att_rad: f64,
    /// Time of the frame, seconds (any origin): the velocity's intervals, and how far the
    /// inertial error is predicted from the last fix ([`FrameNavigator::corrected_prior`]),
    /// so it must be the frame's real time: a constant would claim the inertial error
    /// frozen since the last fix.
    ///
    /// [`FrameNavigator::corrected_prior`]: super::FrameNavigator::corrected_prior
    pub time_s: f64,
}

impl Prior {
    /// Its 6x6 covariance: the position sigma on each site axis, the attitude sigma on each
    /// camera axis, uncorrelated.
    #[must_use]
    pub fn covariance(&self) -> Mat6 {
        Mat6::from_pose_sigmas(self.sigma_pos_m, self.sigma_att_rad)
    }
}

/// Outcome of a frame (by default `NoFix`: nothing is claimed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FixStatus {
    /// A pose passed every check.
    Fix,
    /// Not enough matches for a pose.
    #[default]
    NoFix,
    /// A pose was found but failed an integrity check.
    Rejected,
}

impl FixStatus {
    /// The results-file spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fix => "fix",
            Self::NoFix => "no_fix",
            Self::Rejected => "rejected",
        }
    }
}

/// Why a frame has no fix: the check that ended its attempt at a pose from the map, or,
/// when the map solved no pose and tracking from the last fixed frame got further, the
/// check that ended tracking's. The variants are ordered by how far an attempt got; each
/// attempt judges its checks in that order and reports the first that fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The frame has a fix.
    #[default]
    None,
    /// The frame was not navigated: its size is not the camera's, or its buffers do not fit.
    NotNavigated,
    /// Fewer landmarks predicted in view than a pose needs (6), or the map has none.
    NoLandmarks,
    /// Fewer than 6 landmarks (or tracked features) matched.
    FewMatches,
    /// The robust solver found no pose among the matches, a refinement pass could not
    /// reproduce it, or tracking from the last fixed frame found no pose.
    NoConsensus,
    /// A pose with fewer inliers than [`NavConfig::min_inliers`].
    FewInliers,
    /// The inliers' bounding box covers too little of the image.
    Spread,
    /// The pose's covariance is not finite and positive-definite.
    Covariance,
    /// The map's registration error or the camera's intrinsic error could not be carried
    /// into the covariance (a re-solve failed).
    CommonMode,
    /// The pose's attitude is outside its gate against the inertial attitude.
    AttitudeGate,
    /// The pose's position is outside its NEES gate against the prior.
    PriorGate,
}

impl Reason {
    /// Every reason, in the order the checks are judged.
    pub const ALL: [Self; 11] = [
        Self::None,
        Self::NotNavigated,
        Self::NoLandmarks,
        Self::FewMatches,
        Self::NoConsensus,
        Self::FewInliers,
        Self::Spread,
        Self::Covariance,
        Self::CommonMode,
        Self::AttitudeGate,
        Self::PriorGate,
    ];

    /// The results-file spelling (empty for a fix).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::NotNavigated => "not_navigated",
            Self::NoLandmarks => "no_landmarks",
            Self::FewMatches => "few_matches",
            Self::NoConsensus => "no_consensus",
            Self::FewInliers => "few_inliers",
            Self::Covariance => "covariance",
            Self::Spread => "spread",
            Self::CommonMode => "common_mode",
            Self::AttitudeGate => "attitude_gate",
            Self::PriorGate => "prior_gate",
        }
    }
}

/// Time per stage, milliseconds (zero where the executor has no clock).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageTimes {
    /// Frame pyramid.
    pub pyramid_ms: f64,
    /// Coarse stage (0 when skipped).
    pub coarse_ms: f64,
    /// Prediction and fine matching.
    pub match_ms: f64,
    /// Pose solve.
    pub pose_ms: f64,
    /// Acquisition and its verification (0 when skipped).
    pub acquisition_ms: f64,
    /// Feature tracking for velocity.
    pub velocity_ms: f64,
    /// Registration and tracking for a pose from the last fixed frame (0 when not attempted:
    /// the map gave a fix, or no fixed frame is kept).
    pub track_ms: f64,
    /// Altitude and rangefinder.
    pub checks_ms: f64,
}

/// What the pipeline returns for a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameResult {
    /// Verdict.
    pub status: FixStatus,
    /// Why there is no fix ([`Reason::None`] for a fix).
    pub reason: Reason,
    /// Estimated pose (the prior when there is none).
    pub pose: Pose,
    /// 6x6 covariance: position (m), then camera-frame attitude (rad). For a fix, an
    /// overbound: the fit's covariance scaled for the estimated residual sigma (see
    /// [`NavConfig::axis_exceedance`]) plus the map's common-mode error.
    pub covariance: Mat6,
    /// Altitude above the DEM below the estimate, metres (NaN when off the DEM).
    pub altitude_m: f64,
    /// Rangefinder verdict.
    pub lrf: LrfReport,
    /// Landmarks predicted in view.
    pub predicted: usize,
    /// Landmarks matched (fine stage).
    pub matched: usize,
    /// Inliers of the pose.
    pub inliers: usize,
    /// Whether the coarse stage ran, and its inliers.
    pub coarse_inliers: Option<usize>,
    /// Whether acquisition ran, and which of its hypotheses verified.
    pub acquisition: Acquisition,
    /// Fine-stage matching statistics.
    pub match_stats: MatchStats,
    /// Median peak ratio of the matches.
    pub median_peak_ratio: f32,
    /// NEES of the estimate against the prior (3 position axes).
    pub nees: f64,
    /// The solution failed its NEES gate against the prior corrected by the inertial-error
    /// filter yet passed every check against the raw prior: evidence that the filter's
    /// model does not hold, so its corrections wait until it has predicted fixes again
    /// ([`crate::inertial::InertialError::withdraw`]). The frame stays `Rejected`.
    pub prior_conflict: bool,
    /// Residual standard deviation of the pose's inliers, frame pixels (NaN without a
    /// pose).
    pub residual_px: f64,
    /// Frame pixels per template pixel of the fine stage (median over the predictions;
    /// above 1 when the frame is finer than the map).
    pub gsd_ratio: f64,
    /// The map's common-mode position sigma added to the covariance, metres (NaN without
    /// a pose).
    pub map_sigma_m: f64,
    /// Time per stage.
    pub times: StageTimes,
    /// Features tracked from the previous frame when the pose comes from tracking
    /// ([`FrameNavigator::process_with_fixed`]); 0 for a pose from the map.
    ///
    /// [`FrameNavigator::process_with_fixed`]: super::FrameNavigator::process_with_fixed
    pub tracked: usize,
    /// For a pose from tracking, the covariance of its difference from the previous fixed
    /// frame's pose (the tracking's and the DEM's; the previous fix's error, common to
    /// both, left out): what a velocity over that interval carries. `None` otherwise.
    pub relative_covariance: Option<Mat6>,
    /// Velocity over the interval since the frame before, when both have a fix (set by
    /// [`FrameSequence`](super::FrameSequence); `None` from [`FrameNavigator`] alone).
    ///
    /// [`FrameNavigator`]: super::FrameNavigator
    pub velocity: Option<Velocity>,
}

/// What acquisition did for a frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Acquisition {
    /// It did not run (the prior was good enough, or the executor has none).
    #[default]
    NotRun,
    /// It ran and the coarse stage verified none of its hypotheses.
    NoneVerified,
    /// It ran and the coarse stage verified this hypothesis (0 = the best).
    Verified(usize),
}

impl Acquisition {
    /// Whether acquisition ran.
    #[must_use]
    pub fn ran(self) -> bool {
        self != Self::NotRun
    }
}

impl FrameResult {
    /// No fix: the prior's pose with its covariance, nothing matched, nothing judged; the
    /// frame not navigated until a stage says otherwise.
    #[must_use]
    pub fn unsolved(prior: &Prior) -> Self {
        Self {
            status: FixStatus::NoFix,
            reason: Reason::NotNavigated,
            pose: prior.pose,
            covariance: prior.covariance(),
            altitude_m: f64::NAN,
            lrf: LrfReport::unchecked(),
            predicted: 0,
            matched: 0,
            inliers: 0,
            coarse_inliers: None,
            acquisition: Acquisition::NotRun,
            match_stats: MatchStats::default(),
            median_peak_ratio: f32::NAN,
            nees: f64::NAN,
            prior_conflict: false,
            residual_px: f64::NAN,
            gsd_ratio: f64::NAN,
            map_sigma_m: f64::NAN,
            times: StageTimes::default(),
            tracked: 0,
            relative_covariance: None,
            velocity: None,
        }
    }

    /// 1-sigma of each position axis, metres.
    #[must_use]
    pub fn sigma_pos(&self) -> [f64; 3] {
        Self::position_sigma(&self.covariance)
    }

    /// 1-sigma of each position axis of a pose covariance, metres.
    #[must_use]
    pub fn position_sigma(covariance: &Mat6) -> [f64; 3] {
        let [c0, c1, c2, ..] = covariance.diagonal();
        [c0, c1, c2].map(math::sqrt_clamped)
    }

    /// RMS of the attitude 1-sigma over the three axes, degrees.
    #[must_use]
    pub fn sigma_att_deg(&self) -> f64 {
        let c = &self.covariance;
        math::sqrt_clamped((c[3][3] + c[4][4] + c[5][5]) / 3.0).to_degrees()
    }
}
