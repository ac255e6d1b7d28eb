//! The per-frame pipeline of DESIGN.md, steps 1, 3, 4 and 5, in caller memory.
//!
//! 1. **Predict** the landmarks in view with the prior; search radii from its covariance.
//! 2. **Coarse stage**, when the radii are large (an uncertain prior): a spread subset of the
//!    landmarks is matched one template level coarser (half the radius in pixels of twice
//!    the size), and a robust pose from those becomes the prior of the fine stage. When even
//!    the coarse windows would be too large, or the coarse stage fails, the
//!    [`Executor`] may offer acquisition hypotheses (trn's FFT correlation); each is
//!    verified by the coarse stage. The flight build has none ([`Sequential`]).
//! 3. **Fine stage**: every predicted landmark matched with radii from that prior; when the
//!    matches lie off their windows' centres, a refinement pass matches again with windows
//!    warped by the first pose (the sub-pixel peak's bias is shared by landmarks that share
//!    a fractional offset, and vanishes at zero offset).
//! 4. **Pose**: P3P + LO-RANSAC and refinement, with the inertial attitude fused as a
//!    measurement (it separates camera translation from rotation when few landmarks cover
//!    a narrow view). The covariance from the residuals is scaled to a Student-t overbound
//!    (its sigma is estimated from the residuals) and inflated by the map's own error (DEM
//!    sigma and template localisation), which the residuals cannot show because it is
//!    common to all landmarks.
//! 5. **Integrity**: enough inliers, spread over the image, and a NEES against the prior
//!    below its 99.99 % chi-square bound; otherwise `Rejected` (a solution failed its checks)
//!    or `NoFix` (not enough matches). Altitude above the DEM from the estimate, and the
//!    rangefinder judged by the monitor against the estimate (or the prior).
//! 6. **Below the map's reach**: when the map gives no fix and the caller keeps the last
//!    fixed frame, [`FrameNavigator::process_with_previous`] tracks the ground the two
//!    frames share ([`crate::track`]); the pose carries the previous fix's covariance and
//!    passes the same NEES gates.
//!
//! [`FrameNavigator::process`] is the whole frame. The matching loop is the executor's: the
//! flight build runs [`Sequential`] (one thread, one [`MatchScratch`]); trn runs the same
//! [`crate::matching::match_landmark`] with rayon, and every other step here, so both give the same pose.

use crate::camera::Camera;
use crate::dem::Heightfield;
use crate::inertial::{InertialError, InertialModel};
use crate::linalg::{Mat6, Vec3};
use crate::mapdb::{Landmarks, MapDb};
use crate::matching::{
    LandmarkMatch, MatchConfig, MatchContext, MatchOutcome, MatchScratch, MatchStats, match_all,
};
use crate::math;
use crate::pose::Pose;
use crate::predict::{PredictConfig, Prediction, predict};
use crate::pyramid::Pyramid;
use crate::rangefinder::{LrfReport, RangefinderConfig, RangefinderMonitor};
use crate::robust::{AttitudePrior, PoseEstimate, RansacConfig, estimate_pose};
use crate::stats::{Confidence, chi2_quantile, normal_upper_quantile, student_t_upper_quantile};
use crate::track::{
    PreviousFrame, TrackConfig, TrackScratch, inherited_covariance, register, track_pose,
};

/// Most predictions a frame keeps ([`PredictConfig::max_landmarks`] is capped by it).
pub const MAX_PREDICTIONS: usize = 256;
/// Most acquisition hypotheses verified.
pub const MAX_HYPOTHESES: usize = 8;

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
    /// inertial error between two frames taken from the growth of the prior's sigma. On a
    /// 120-descent campaign it raised the faulty readings caught from 160 to 181 of 240
    /// with no false alarm; it matters below the last vision fix, where the pose is the
    /// drifting inertial prior.
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
    /// previous fixed frame ([`FrameNavigator::process_with_previous`]).
    pub track: TrackConfig,
    /// How the inertial error moves between fixes: the model of the filter that corrects
    /// each frame's inertial prior by the fixes before it ([`crate::inertial`]).
    pub inertial: InertialModel,
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
    pub time_s: f64,
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
    /// Registration and tracking for a pose from the previous frame (0 when not tried).
    pub track_ms: f64,
    /// Altitude and rangefinder.
    pub checks_ms: f64,
}

/// A candidate correction of the prior from acquisition.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Hypothesis {
    /// Horizontal shift of the prior position, metres (east, north).
    pub shift_m: [f64; 2],
    /// 1-sigma per position axis of the shifted prior, metres.
    pub sigma_pos_m: f64,
}

/// What runs the matching loop, and what the flight build does not have: acquisition and
/// a clock.
pub trait Executor {
    /// Matches `preds[k]` into `out[k]` for every `k` (`out` is as long as `preds`), each
    /// exactly as [`crate::matching::match_landmark`] does.
    fn match_all(&mut self, ctx: &MatchContext<'_>, preds: &[Prediction], out: &mut [MatchOutcome]);

    /// Acquisition hypotheses for `prior`, best first, into `out`; `None` when there is no
    /// acquisition, `Some(n)` when it ran and found `n`.
    fn acquire(
        &mut self,
        _frame: &Pyramid<'_>,
        _prior: &Prior,
        _out: &mut [Hypothesis],
    ) -> Option<usize> {
        None
    }

    /// A monotonic clock, milliseconds (for [`StageTimes`]); 0 without one.
    fn now_ms(&mut self) -> f64 {
        0.0
    }
}

/// The flight executor: one thread, one scratch, no acquisition, no clock.
#[derive(Debug)]
pub struct Sequential<'s> {
    /// The matching scratch.
    pub scratch: &'s mut MatchScratch,
}

impl Executor for Sequential<'_> {
    fn match_all(
        &mut self,
        ctx: &MatchContext<'_>,
        preds: &[Prediction],
        out: &mut [MatchOutcome],
    ) {
        match_all(preds, ctx, self.scratch, out);
    }
}

/// Per-frame working memory (about 160 KB): predictions, match outcomes, the pose
/// solver's correspondences and tracking's buffers ([`crate::track::TrackScratch`]). Reused from frame to frame; its contents after
/// [`FrameNavigator::process`] describe the fine stage (see [`Workspace::observations`]).
#[derive(Clone, Debug)]
pub struct Workspace {
    initial: [Prediction; MAX_PREDICTIONS],
    preds: [Prediction; MAX_PREDICTIONS],
    coarse: [Prediction; MAX_PREDICTIONS],
    outcomes: [MatchOutcome; MAX_PREDICTIONS],
    image: [[f64; 2]; MAX_PREDICTIONS],
    world: [Vec3; MAX_PREDICTIONS],
    mask: [bool; MAX_PREDICTIONS],
    values: [f64; MAX_PREDICTIONS],
    n_outcomes: usize,
    solved: bool,
    track: TrackScratch,
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

/// A frame's rangefinder reading and what the monitor's motion check needs with it.
#[derive(Clone, Copy)]
struct LrfInput {
    reading: Option<f64>,
    /// The raw inertial prior's position sigma (NaN: no motion check).
    inertial_sigma_m: f64,
}

/// Search radius of the refinement passes, template pixels: the landmarks are within a
/// pixel of where the solved pose puts them, and a 5 x 5 search keeps the peak inside the
/// score surface at about half the cost of the first pass.
const REFINE_RADIUS: usize = 2;

/// Search radii asked of prediction.
#[derive(Clone, Copy)]
enum Radii {
    /// From the prior's covariance, unclamped (the coarse stage decides what to do).
    Unclamped,
    /// From the covariance, clamped to the fine stage's largest.
    Fine,
    /// [`REFINE_RADIUS`], for the refinement passes.
    Refine,
}

/// What the pipeline returns for a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameFix {
    /// Verdict.
    pub status: FixStatus,
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
    /// Whether acquisition ran, and which hypothesis (0 = best) verified.
    pub acquisition: Option<Option<usize>>,
    /// Fine-stage matching statistics.
    pub match_stats: MatchStats,
    /// Median peak ratio of the matches.
    pub median_peak_ratio: f32,
    /// NEES of the estimate against the prior (3 position axes).
    pub nees: f64,
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
    /// ([`FrameNavigator::process_with_previous`]); 0 for a pose from the map.
    pub tracked: usize,
    /// For a pose from tracking, the covariance of its difference from the previous fixed
    /// frame's pose (the tracking's and the DEM's; the previous fix's error, common to
    /// both, left out): what a velocity over that interval carries. `None` otherwise.
    pub relative_covariance: Option<Mat6>,
}

impl FrameFix {
    /// 1-sigma of each position axis, metres.
    #[must_use]
    pub fn sigma_pos(&self) -> [f64; 3] {
        let c = &self.covariance;
        [c[0][0], c[1][1], c[2][2]].map(math::sqrt_clamped)
    }

    /// RMS of the attitude 1-sigma over the three axes, degrees.
    #[must_use]
    pub fn sigma_att_deg(&self) -> f64 {
        let c = &self.covariance;
        math::sqrt_clamped((c[3][3] + c[4][4] + c[5][5]) / 3.0).to_degrees()
    }
}

/// The navigator of the flight build: the map, the camera, settings and the state carried
/// between frames (last fix, rangefinder admission).
#[derive(Clone, Copy, Debug)]
pub struct FrameNavigator<'m> {
    landmarks: Option<Landmarks<'m>>,
    dem: Option<Heightfield<'m>>,
    camera: Camera,
    cfg: NavConfig,
    monitor: RangefinderMonitor,
    dem_sigma_m: f64,
    /// The last fix and the raw prior of its frame (for the attitude's correction).
    last: Option<(Pose, Prior)>,
    /// The inertial position error as the fixes show it.
    inertial: InertialError,
}

fn diag_cov(sigma_pos: f64, sigma_att: f64) -> Mat6 {
    let mut c = [[0.0; 6]; 6];
    for (i, row) in c.iter_mut().enumerate() {
        if let Some(v) = row.get_mut(i) {
            *v = if i < 3 {
                sigma_pos * sigma_pos
            } else {
                sigma_att * sigma_att
            };
        }
    }
    c
}

/// Which predictions the coarse stage starts from.
#[derive(Clone, Copy)]
enum CoarseSource {
    /// The frame's first predictions (`Workspace::initial`, this many).
    Initial(usize),
    /// Predict again with the stage's prior.
    Predict,
}

impl<'m> FrameNavigator<'m> {
    /// A navigator over a parsed map database.
    #[must_use]
    pub fn new(db: &MapDb<'m>, camera: Camera, cfg: NavConfig) -> Self {
        let dem = db.dem().and_then(|g| g.heightfield().ok());
        let dem_sigma_m = db.site().map_or(1.0, |s| s.dem_sigma_m);
        let mut rf = cfg.rangefinder;
        rf.dem_sigma_m = dem_sigma_m.max(rf.dem_sigma_m);
        Self {
            landmarks: db.landmarks(),
            dem,
            camera,
            cfg,
            monitor: RangefinderMonitor::new(rf),
            dem_sigma_m,
            last: None,
            inertial: InertialError::new(),
        }
    }

    /// The camera.
    #[must_use]
    pub fn camera(&self) -> &Camera {
        &self.camera
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &NavConfig {
        &self.cfg
    }

    /// The on-board DEM, when the database has one.
    #[must_use]
    pub fn dem(&self) -> Option<&Heightfield<'m>> {
        self.dem.as_ref()
    }

    /// The DEM's height error the navigator assumes, metres (the map's, or 1 m).
    #[must_use]
    pub fn dem_sigma_m(&self) -> f64 {
        self.dem_sigma_m
    }

    /// Forgets the previous frames (last fix, rangefinder admission) as at the start of a
    /// descent.
    pub fn reset(&mut self) {
        self.last = None;
        self.inertial.reset();
        self.monitor = RangefinderMonitor::new(*self.monitor.config());
    }

    /// The inertial prior corrected by the fixes before it: its position less the inertial
    /// error the fixes predict for this frame's time ([`InertialError`]), with that
    /// prediction's sigma; its attitude the last fix's turned by the inertial rotation
    /// since. The raw prior when there is no fix yet, the time runs backwards, or the
    /// corrected one would not be tighter.
    #[must_use]
    pub fn corrected_prior(&self, prior: &Prior) -> Prior {
        let Some((fix, last_prior)) = self.last else {
            return *prior;
        };
        let Some((error, sigma_pos)) = self.inertial.predict(prior.time_s, &self.cfg.inertial)
        else {
            return *prior;
        };
        if !(sigma_pos < prior.sigma_pos_m) {
            return *prior;
        }
        let dq = last_prior
            .pose
            .attitude
            .conjugate()
            .mul_quat(prior.pose.attitude);
        Prior {
            pose: Pose::new(prior.pose.position - error, fix.attitude.mul_quat(dq)),
            sigma_pos_m: sigma_pos,
            sigma_att_rad: prior.sigma_att_rad,
            time_s: prior.time_s,
        }
    }

    fn predict_into(
        &self,
        lms: &Landmarks<'_>,
        prior: &Prior,
        radii: Radii,
        out: &mut [Prediction],
    ) -> usize {
        let (min_radius, max_radius) = match radii {
            Radii::Unclamped => (self.cfg.predict.min_radius, usize::MAX),
            Radii::Fine => (self.cfg.predict.min_radius, self.cfg.predict.max_radius),
            Radii::Refine => (REFINE_RADIUS, REFINE_RADIUS),
        };
        let cfg = PredictConfig {
            min_radius,
            max_radius,
            max_landmarks: self.cfg.predict.max_landmarks.min(MAX_PREDICTIONS),
            ..self.cfg.predict
        };
        predict(
            lms,
            &self.camera,
            &prior.pose,
            prior.sigma_pos_m,
            prior.sigma_att_rad,
            &cfg,
            out,
        )
    }

    /// Processes one frame: its pyramid, its raw inertial prior and the rangefinder reading.
    /// The fine stage's matches stay in `ws` ([`Workspace::observations`]).
    pub fn process<E: Executor>(
        &mut self,
        frame: &Pyramid<'_>,
        raw_prior: &Prior,
        lrf: Option<f64>,
        ws: &mut Workspace,
        exec: &mut E,
    ) -> FrameFix {
        self.process_with_previous(frame, raw_prior, lrf, None, ws, exec)
    }

    /// [`FrameNavigator::process`], and when the map gives no fix, the pose from the ground
    /// this frame shares with `previous`, the last frame that had one ([`crate::track`]):
    /// below the map's reach (the last hundred metres, where a view spans fewer map pixels
    /// than a template) this keeps a pose with a covariance that carries the previous
    /// fix's. A tracked fix has [`FrameFix::tracked`] features; it passes the same NEES
    /// gates against the prior and the inertial attitude as a map fix.
    pub fn process_with_previous<E: Executor>(
        &mut self,
        frame: &Pyramid<'_>,
        raw_prior: &Prior,
        lrf: Option<f64>,
        previous: Option<&PreviousFrame<'_>>,
        ws: &mut Workspace,
        exec: &mut E,
    ) -> FrameFix {
        let prior = self.corrected_prior(raw_prior);
        let lrf = LrfInput {
            reading: lrf,
            inertial_sigma_m: if self.cfg.lrf_motion_check {
                raw_prior.sigma_pos_m
            } else {
                f64::NAN
            },
        };
        let mut f = self.map_fix(frame, raw_prior, &prior, ws, exec);
        if f.status != FixStatus::Fix
            && let Some(prev) = previous
        {
            let t = exec.now_ms();
            if let Some(tracked) = self.tracked_fix(prev, frame, raw_prior, &prior, ws) {
                f = FrameFix {
                    predicted: f.predicted,
                    coarse_inliers: f.coarse_inliers,
                    acquisition: f.acquisition,
                    match_stats: f.match_stats,
                    times: f.times,
                    ..tracked
                };
            }
            f.times.track_ms = exec.now_ms() - t;
        }
        // A tracked fix carries the previous fix's error, so it is not independent of the
        // fixes before it; the filter never predicts tighter than the last fix's covariance
        // (which includes that error), and coasting over the tracked frames instead let the
        // prior grow to ~20 m by the last of them (a 30 m frame lost on the campaign).
        if f.status == FixStatus::Fix {
            self.last = Some((f.pose, *raw_prior));
            self.inertial.update(
                raw_prior.time_s,
                raw_prior.pose.position,
                f.pose.position,
                f.sigma_pos(),
                &self.cfg.inertial,
            );
        }
        let t = exec.now_ms();
        let (altitude_m, report) = self.checks(&f.pose, &f.covariance, lrf);
        f.altitude_m = altitude_m;
        f.lrf = report;
        f.times.checks_ms = exec.now_ms() - t;
        f
    }

    /// The inertial attitude to fuse into a pose (when [`NavConfig::fuse_attitude`] and the
    /// prior has a usable sigma).
    fn inertial_attitude(&self, raw_prior: &Prior) -> Option<AttitudePrior> {
        let fuse = self.cfg.fuse_attitude
            && raw_prior.sigma_att_rad > 0.0
            && raw_prior.sigma_att_rad.is_finite();
        fuse.then_some(AttitudePrior {
            attitude: raw_prior.pose.attitude,
            sigma_rad: raw_prior.sigma_att_rad,
        })
    }

    /// The pose from the map's landmarks (altitude and rangefinder not yet judged).
    fn map_fix<E: Executor>(
        &self,
        frame: &Pyramid<'_>,
        raw_prior: &Prior,
        prior: &Prior,
        ws: &mut Workspace,
        exec: &mut E,
    ) -> FrameFix {
        let mut times = StageTimes::default();
        ws.solved = false;
        ws.n_outcomes = 0;
        let prior = *prior;
        let Some(lms) = self.landmarks else {
            return self.without_pose(&prior, times, 0, MatchStats::default());
        };

        // Coarse stage when the prior is too uncertain for small windows.
        let t1 = exec.now_ms();
        let mut fine_prior = prior;
        let mut coarse_inliers = None;
        // Predicted once with the prior, radii unclamped; the coarse stage and, when the
        // prior stands, the fine stage use these rather than predicting again.
        let n_initial = self.predict_into(&lms, &prior, Radii::Unclamped, &mut ws.initial);
        let widest = ws
            .initial
            .iter()
            .take(n_initial)
            .map(|p| p.radius)
            .max()
            .unwrap_or(0);
        let mut acquisition = None;
        // Coarse windows hold errors up to `max_radius` coarse template pixels; beyond, or
        // when the coarse stage fails, acquisition (when the executor has it) looks wider.
        let mut need_acquisition = widest.div_ceil(2) > self.cfg.predict.max_radius;
        if !need_acquisition && widest > self.cfg.coarse_above_radius {
            match self.coarse(
                &lms,
                frame,
                &prior,
                CoarseSource::Initial(n_initial),
                ws,
                exec,
            ) {
                Some((p, n)) => {
                    fine_prior = p;
                    coarse_inliers = Some(n);
                }
                None => {
                    coarse_inliers = Some(0);
                    need_acquisition = true;
                }
            }
        }
        if need_acquisition {
            let ta = exec.now_ms();
            let mut hyps = [Hypothesis::default(); MAX_HYPOTHESES];
            let cap = self.cfg.acquisition_hypotheses.min(MAX_HYPOTHESES);
            let found = exec.acquire(frame, &prior, hyps.get_mut(..cap).unwrap_or(&mut []));
            if let Some(n) = found {
                let mut verified = None;
                for (k, h) in hyps.iter().take(n.min(cap)).enumerate() {
                    let shifted = Prior {
                        pose: Pose::new(
                            prior.pose.position + Vec3::new(h.shift_m[0], h.shift_m[1], 0.0),
                            prior.pose.attitude,
                        ),
                        sigma_pos_m: h.sigma_pos_m,
                        sigma_att_rad: prior.sigma_att_rad,
                        time_s: prior.time_s,
                    };
                    if let Some((p, n)) =
                        self.coarse(&lms, frame, &shifted, CoarseSource::Predict, ws, exec)
                    {
                        fine_prior = p;
                        coarse_inliers = Some(n);
                        verified = Some(k);
                        break;
                    }
                }
                acquisition = Some(verified);
                times.acquisition_ms = exec.now_ms() - ta;
            }
        }
        if coarse_inliers.is_some() {
            times.coarse_ms = exec.now_ms() - t1;
        }

        // Fine stage.
        let t2 = exec.now_ms();
        let n_preds = if fine_prior == prior {
            // Same prior: the first predictions with their radii clamped, as predicting
            // again with the clamp would give.
            let max = self.cfg.predict.max_radius;
            for (d, s) in ws.preds.iter_mut().zip(ws.initial.iter().take(n_initial)) {
                *d = Prediction {
                    radius: s.radius.min(max),
                    ..*s
                };
            }
            n_initial
        } else {
            self.predict_into(&lms, &fine_prior, Radii::Fine, &mut ws.preds)
        };
        let preds = ws.preds.get(..n_preds).unwrap_or(&[]);
        let outcomes = ws.outcomes.get_mut(..n_preds).unwrap_or(&mut []);
        let ctx = self.context(lms, frame, &fine_prior.pose);
        exec.match_all(&ctx, preds, outcomes);
        ws.n_outcomes = n_preds;
        let stats = MatchStats::tally(outcomes);
        times.match_ms = exec.now_ms() - t2;
        let t3 = exec.now_ms();
        let ratio = gsd_ratio(preds, &mut ws.values);
        let attitude = self.inertial_attitude(raw_prior);
        let solved = self.solve(ws, n_preds, ratio, attitude);
        times.pose_ms = exec.now_ms() - t3;
        let Some((mut est, mut n_matches)) = solved else {
            let mut f = self.without_pose(&prior, times, n_preds, stats);
            f.coarse_inliers = coarse_inliers;
            f.acquisition = acquisition;
            return f;
        };
        let (mut n_preds, mut stats, mut ratio) = (n_preds, stats, ratio);
        // Refinement passes: windows warped by the solved pose, so that every landmark's
        // residual shift is near zero, where the sub-pixel peak has no bias. With the
        // prior's warp all landmarks share one fractional offset, so the peak fit's
        // pull towards whole pixels is common to all of them and no inlier count
        // averages it away.
        for _ in 1..self.cfg.fine_passes {
            // Windows already centred within a tenth of a pixel gain nothing worth a pass.
            let off_centre = median(
                ws.outcomes
                    .iter()
                    .take(n_preds)
                    .filter_map(MatchOutcome::matched)
                    .map(|m| math::sqrt(m.shift[0] * m.shift[0] + m.shift[1] * m.shift[1])),
                &mut ws.values,
            );
            if !(off_centre > self.cfg.refine_above_px) {
                break;
            }
            let t = exec.now_ms();
            let (sp, sa) = (est.position_sigma(), est.attitude_sigma());
            let again = Prior {
                pose: est.pose,
                sigma_pos_m: sp.x.max(sp.y).max(sp.z),
                sigma_att_rad: sa.x.max(sa.y).max(sa.z),
                time_s: prior.time_s,
            };
            let n = self.predict_into(&lms, &again, Radii::Refine, &mut ws.preds);
            let preds = ws.preds.get(..n).unwrap_or(&[]);
            let outcomes = ws.outcomes.get_mut(..n).unwrap_or(&mut []);
            let ctx = self.context(lms, frame, &again.pose);
            exec.match_all(&ctx, preds, outcomes);
            ws.n_outcomes = n;
            stats = MatchStats::tally(outcomes);
            times.match_ms += exec.now_ms() - t;
            let t = exec.now_ms();
            ratio = gsd_ratio(preds, &mut ws.values);
            let again = self.solve(ws, n, ratio, attitude);
            times.pose_ms += exec.now_ms() - t;
            n_preds = n;
            let Some((e, m)) = again else {
                // The workspace now holds this pass's matches; a pose that its own
                // refinement cannot reproduce is not a fix.
                let mut f = self.without_pose(&prior, times, n_preds, stats);
                f.coarse_inliers = coarse_inliers;
                f.acquisition = acquisition;
                return f;
            };
            est = e;
            n_matches = m;
        }
        ws.solved = true;

        // Overbound for the estimated residual sigma (Student-t), then the map's
        // common-mode error.
        overbound(&mut est.covariance, est.inliers, self.cfg.axis_exceedance);
        let tpl = median(
            ws.outcomes
                .iter()
                .take(n_preds)
                .filter_map(MatchOutcome::matched)
                .map(|m| m.template_px_m),
            &mut ws.values,
        );
        // A Gaussian error reported as itself exceeds three sigmas on an axis 1 time in 370:
        // overbounded at the same exceedance as the fit's (1/3000 by default: x1.2).
        let map_sigma =
            self.dem_sigma_m.max(0.1 * tpl) * gaussian_overbound(self.cfg.axis_exceedance);
        // The same error seen from the camera: common to the landmarks, it may shift them
        // as a whole (the position block) or tilt them, which a narrow view reads as a tilt
        // of the camera: map_sigma over the landmarks' mean range on the camera's x and y
        // axes. Without it the attitude sigmas were half the errors on those axes (110 of
        // 1090 campaign fixes beyond the 99.9 % bound).
        let (mut range_sum, mut count) = (0.0, 0.0);
        for (m, inlier) in ws.observations() {
            if inlier {
                range_sum += (m.world - est.pose.position).norm();
                count += 1.0;
            }
        }
        let tilt = if count > 0.0 && range_sum > 0.0 {
            map_sigma * count / range_sum
        } else {
            0.0
        };
        for (i, row) in est.covariance.iter_mut().enumerate().take(5) {
            let add = if i < 3 { map_sigma } else { tilt };
            if let Some(v) = row.get_mut(i) {
                *v += add * add;
            }
        }
        // Integrity: inliers, their spread, NEES against the prior.
        let nees = position_nees(est.pose.position, &prior, &est.covariance);
        // The fused attitude against the inertial one: an inertial attitude far outside its
        // own sigma would bias the position it was fused to pin, so that pose is refused.
        let attitude_nees = attitude.map_or(0.0, |a| attitude_nees(&a, &est.pose, &est.covariance));
        let gate = nees_gate();
        let spread_ok = spread_ok(
            ws.observations()
                .filter(|(_, inlier)| *inlier)
                .map(|(m, _)| m.pixel),
            &self.camera,
        );
        let status = if est.inliers < self.cfg.min_inliers {
            FixStatus::NoFix
        } else if nees > gate || attitude_nees > gate || !spread_ok {
            FixStatus::Rejected
        } else {
            FixStatus::Fix
        };
        let median_ratio = median(
            ws.outcomes
                .iter()
                .take(n_preds)
                .filter_map(MatchOutcome::matched)
                .map(|m| f64::from(m.ratio)),
            &mut ws.values,
        ) as f32;
        if status != FixStatus::Fix {
            let mut f = self.without_pose(&prior, times, n_preds, stats);
            f.status = status;
            f.inliers = est.inliers;
            f.nees = nees;
            f.coarse_inliers = coarse_inliers;
            f.acquisition = acquisition;
            f.median_peak_ratio = median_ratio;
            f.residual_px = est.sigma_px;
            f.gsd_ratio = ratio;
            f.map_sigma_m = map_sigma;
            return f;
        }
        FrameFix {
            status,
            pose: est.pose,
            covariance: est.covariance,
            altitude_m: f64::NAN,
            lrf: LrfReport::unchecked(),
            predicted: n_preds,
            matched: n_matches,
            inliers: est.inliers,
            coarse_inliers,
            acquisition,
            match_stats: stats,
            median_peak_ratio: median_ratio,
            nees,
            residual_px: est.sigma_px,
            gsd_ratio: ratio,
            map_sigma_m: map_sigma,
            times,
            tracked: 0,
            relative_covariance: None,
        }
    }

    fn context<'c>(
        &'c self,
        landmarks: Landmarks<'c>,
        frame: &Pyramid<'c>,
        pose: &Pose,
    ) -> MatchContext<'c> {
        MatchContext {
            landmarks,
            camera: &self.camera,
            prior: *pose,
            frame: *frame,
            dem: self.dem.as_ref(),
            config: self.cfg.matching,
        }
    }

    /// The robust pose from the first `n` outcomes' matches (compacted into the solver's
    /// buffers, in order) and the number of matches.
    fn solve(
        &self,
        ws: &mut Workspace,
        n: usize,
        gsd_ratio: f64,
        attitude: Option<AttitudePrior>,
    ) -> Option<(PoseEstimate, usize)> {
        let mut m = 0;
        let matches = ws.outcomes.iter().take(n).filter_map(MatchOutcome::matched);
        for ((lm, img), wld) in matches.zip(ws.image.iter_mut()).zip(ws.world.iter_mut()) {
            *img = lm.normalized;
            *wld = lm.world;
            m += 1;
        }
        if m < 6 {
            return None;
        }
        let (fx, fy) = self.camera.focal();
        let mut rc = RansacConfig::new(0.5 * (fx + fy));
        rc.threshold_px = self.cfg.threshold_px * gsd_ratio.max(1.0);
        rc.min_inliers = 6;
        rc.attitude_prior = attitude;
        let (image, world, mask) = (
            ws.image.get(..m)?,
            ws.world.get(..m)?,
            ws.mask.get_mut(..m)?,
        );
        estimate_pose(image, world, mask, &rc).ok().map(|e| (e, m))
    }

    /// The coarse stage: a spread subset of landmarks one template level coarser, with
    /// windows from `prior`; the fine stage's prior and the inlier count when it solves.
    fn coarse<E: Executor>(
        &self,
        lms: &Landmarks<'m>,
        frame: &Pyramid<'_>,
        prior: &Prior,
        source: CoarseSource,
        ws: &mut Workspace,
        exec: &mut E,
    ) -> Option<(Prior, usize)> {
        let n_src = match source {
            CoarseSource::Initial(n) => n,
            CoarseSource::Predict => self.predict_into(lms, prior, Radii::Unclamped, &mut ws.preds),
        };
        let src = match source {
            CoarseSource::Initial(_) => &ws.initial,
            CoarseSource::Predict => &ws.preds,
        };
        let want = self.cfg.coarse_landmarks.min(MAX_PREDICTIONS);
        let mut n = 0;
        for (k, d) in ws.coarse.iter_mut().enumerate().take(n_src.min(want)) {
            // An even subset of at most `want` predictions.
            let at = if n_src <= want {
                k
            } else {
                (k as f64 * (n_src as f64 / want as f64)) as usize
            };
            if let Some(p) = src.get(at) {
                *d = coarser(*p, lms.levels(), self.cfg.predict.max_radius);
                n += 1;
            }
        }
        let coarse = ws.coarse.get(..n)?;
        let ctx = self.context(*lms, frame, &prior.pose);
        exec.match_all(&ctx, coarse, ws.outcomes.get_mut(..n)?);
        let ratio = gsd_ratio(coarse, &mut ws.values);
        let (est, _) = self.solve(ws, n, ratio, None)?;
        if est.inliers < self.cfg.min_inliers {
            return None;
        }
        // What the fine windows need is the coarse solution's uncertainty in the image: its
        // residual scatter with margin, expressed as an attitude sigma (f * sigma_att
        // pixels), with the position sigma left small; it sets every fine radius.
        let (fx, fy) = self.camera.focal();
        let f = 0.5 * (fx + fy);
        let px = 2.0 * est.sigma_px.max(0.3) + 1.0;
        let s = est.position_sigma();
        Some((
            Prior {
                pose: est.pose,
                sigma_pos_m: s.x.max(s.y).max(s.z),
                sigma_att_rad: px / f,
                time_s: prior.time_s,
            },
            est.inliers,
        ))
    }

    fn checks(&mut self, pose: &Pose, cov: &Mat6, lrf: LrfInput) -> (f64, LrfReport) {
        match &self.dem {
            Some(dem) => {
                let alt = dem.altitude(pose.position).map_or(f64::NAN, |a| a.altitude);
                let report = self.monitor.update_with_motion(
                    lrf.reading,
                    pose,
                    cov,
                    dem,
                    lrf.inertial_sigma_m,
                );
                (alt, report)
            }
            None => (f64::NAN, LrfReport::unchecked()),
        }
    }

    /// A frame without a pose: the prior, its covariance, the diagnostics so far (altitude
    /// and rangefinder are judged by the caller).
    fn without_pose(
        &self,
        prior: &Prior,
        times: StageTimes,
        predicted: usize,
        stats: MatchStats,
    ) -> FrameFix {
        FrameFix {
            status: FixStatus::NoFix,
            pose: prior.pose,
            covariance: diag_cov(prior.sigma_pos_m, prior.sigma_att_rad),
            altitude_m: f64::NAN,
            lrf: LrfReport::unchecked(),
            predicted,
            matched: stats.matched,
            inliers: 0,
            coarse_inliers: None,
            acquisition: None,
            match_stats: stats,
            median_peak_ratio: f32::NAN,
            nees: f64::NAN,
            residual_px: f64::NAN,
            gsd_ratio: f64::NAN,
            map_sigma_m: f64::NAN,
            times,
            tracked: 0,
            relative_covariance: None,
        }
    }

    /// The pose from the ground shared with `prev`: registration, tracking, the inherited
    /// covariance and the integrity gates; `None` when any fails.
    fn tracked_fix(
        &self,
        prev: &PreviousFrame<'_>,
        frame: &Pyramid<'_>,
        raw_prior: &Prior,
        prior: &Prior,
        ws: &mut Workspace,
    ) -> Option<FrameFix> {
        let dem = self.dem.as_ref()?;
        let cfg = &self.cfg.track;
        let scratch = &mut ws.track;
        let (guess, _) = register(
            prev,
            frame,
            &prior.pose,
            prior.sigma_pos_m,
            &self.camera,
            dem,
            cfg,
            scratch,
        )?;
        let attitude = self.inertial_attitude(raw_prior);
        let tracked = track_pose(
            prev,
            frame,
            &guess,
            attitude,
            &self.camera,
            dem,
            cfg,
            scratch,
        )?;
        let mut est = tracked.estimate;
        if est.inliers < cfg.min_inliers {
            return None;
        }
        let inliers = scratch.matches().filter(|(_, inlier)| *inlier);
        if !spread_ok(inliers.map(|(p, _)| p), &self.camera) {
            return None;
        }
        overbound(&mut est.covariance, est.inliers, self.cfg.axis_exceedance);
        let inherited = inherited_covariance(
            prev,
            &tracked,
            &self.camera,
            dem,
            self.dem_sigma_m,
            cfg,
            scratch,
        )?;
        // Relative to the previous fix: the tracking's own and the DEM's; the previous
        // fix's error comes on top for the pose itself.
        let g = gaussian_overbound(self.cfg.axis_exceedance);
        let dem = inherited.dem.map(|row| row.map(|c| c * g * g));
        let relative = add6(&est.covariance, &dem);
        est.covariance = add6(&relative, &inherited.previous);
        let nees = position_nees(est.pose.position, prior, &est.covariance);
        let gate = nees_gate();
        let attitude_ok = !(raw_prior.sigma_att_rad > 0.0)
            || attitude_nees(
                &AttitudePrior {
                    attitude: raw_prior.pose.attitude,
                    sigma_rad: raw_prior.sigma_att_rad,
                },
                &est.pose,
                &est.covariance,
            ) <= gate;
        if !(nees <= gate) || !attitude_ok {
            return None;
        }
        Some(FrameFix {
            status: FixStatus::Fix,
            pose: est.pose,
            covariance: est.covariance,
            altitude_m: f64::NAN,
            lrf: LrfReport::unchecked(),
            predicted: 0,
            matched: tracked.found,
            inliers: est.inliers,
            coarse_inliers: None,
            acquisition: None,
            match_stats: MatchStats::default(),
            median_peak_ratio: f32::NAN,
            nees,
            residual_px: est.sigma_px,
            gsd_ratio: f64::NAN,
            map_sigma_m: self.dem_sigma_m * g,
            times: StageTimes::default(),
            tracked: tracked.found,
            relative_covariance: Some(relative),
        })
    }
}

/// The squared distance of a fixed position from the prior's over the variance of their
/// difference: the prior's per axis and the fix's largest position variance (a prior
/// corrected by earlier fixes can be as tight as the fix itself).
fn position_nees(position: Vec3, prior: &Prior, cov: &Mat6) -> f64 {
    let d = position - prior.pose.position;
    let fix = cov
        .iter()
        .take(3)
        .enumerate()
        .filter_map(|(i, row)| row.get(i).copied())
        .fold(0.0, f64::max);
    d.norm_squared() / (prior.sigma_pos_m * prior.sigma_pos_m + fix)
}

/// The gate of the NEES checks against the prior (3 degrees of freedom, 99.99 %).
fn nees_gate() -> f64 {
    chi2_quantile(3, Confidence::P9999).unwrap_or(21.1)
}

/// The squared angle between a pose's attitude and the inertial one over the variance of
/// their difference: the inertial sigma's and the pose's own mean attitude variance (a
/// tracked attitude carries the previous fix's and the DEM's, which low down can exceed the
/// inertial one).
fn attitude_nees(inertial: &AttitudePrior, pose: &Pose, cov: &Mat6) -> f64 {
    let e = inertial
        .attitude
        .conjugate()
        .mul_quat(pose.attitude)
        .to_rotation_vector();
    let own = (3..6)
        .filter_map(|i| cov.get(i).and_then(|row| row.get(i)))
        .sum::<f64>()
        / 3.0;
    e.norm_squared() / (inertial.sigma_rad * inertial.sigma_rad + own)
}

/// `a + b`.
fn add6(a: &Mat6, b: &Mat6) -> Mat6 {
    let mut out = *a;
    for (row, add) in out.iter_mut().zip(b) {
        for (c, x) in row.iter_mut().zip(add) {
            *c += x;
        }
    }
    out
}

/// The factor that makes three reported sigmas of a Gaussian error its two-sided quantile at
/// `exceedance` (1 when `exceedance` is zero, NaN or not below the Gaussian's own 0.27 %).
fn gaussian_overbound(exceedance: f64) -> f64 {
    let z = normal_upper_quantile(0.5 * exceedance);
    if z.is_finite() && z > 3.0 {
        z / 3.0
    } else {
        1.0
    }
}

/// Scales a fit's covariance for its estimated residual sigma: the two-sided Student-t
/// quantile at `exceedance` with the fit's degrees of freedom, over 3 (see
/// [`NavConfig::axis_exceedance`]).
fn overbound(cov: &mut Mat6, inliers: usize, exceedance: f64) {
    let dof = 2.0 * inliers as f64 - 6.0;
    let scale = student_t_upper_quantile(dof, 0.5 * exceedance) / 3.0;
    if scale.is_finite() && scale > 0.0 {
        for row in cov.iter_mut() {
            for c in row {
                *c *= scale * scale;
            }
        }
    }
}

/// The median of `values` (the upper one of an even count), sorted in `buf`; NaN for none.
fn median(values: impl Iterator<Item = f64>, buf: &mut [f64]) -> f64 {
    let mut n = 0;
    for (b, v) in buf.iter_mut().zip(values) {
        *b = v;
        n += 1;
    }
    let Some(v) = buf.get_mut(..n) else {
        return f64::NAN;
    };
    v.sort_unstable_by(f64::total_cmp);
    v.get(n / 2).copied().unwrap_or(f64::NAN)
}

/// Template pixels per frame pixel (the inverse of the median frame ground sample distance
/// over template pixel): a match error of a fraction of a template pixel is this many frame
/// pixels.
fn gsd_ratio(preds: &[Prediction], buf: &mut [f64]) -> f64 {
    let m = median(preds.iter().map(|p| p.scale_ratio), buf);
    if m.is_finite() && m > 0.0 {
        1.0 / m
    } else {
        1.0
    }
}

/// The same prediction one template level coarser (when there is one): half the search
/// radius in template pixels twice as large.
fn coarser(p: Prediction, levels: usize, max_radius: usize) -> Prediction {
    if p.level + 1 >= levels {
        return Prediction {
            radius: p.radius.min(max_radius),
            ..p
        };
    }
    Prediction {
        level: p.level + 1,
        radius: p.radius.div_ceil(2).min(max_radius),
        scale_ratio: p.scale_ratio / 2.0,
        ..p
    }
}

/// Whether the bounding box of a pose's inliers (level-0 pixels) covers more than
/// [`MIN_SPREAD`] of the camera's image: a pose from one corner of it is not trusted.
fn spread_ok(inliers: impl Iterator<Item = [f64; 2]>, camera: &Camera) -> bool {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let mut any = false;
    for p in inliers {
        any = true;
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    let area = f64::from(camera.width()) * f64::from(camera.height());
    any && (x1 - x0) * (y1 - y0) > MIN_SPREAD * area
}

/// Least fraction of the image the inliers' bounding box must cover.
const MIN_SPREAD: f64 = 0.05;
