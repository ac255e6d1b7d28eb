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
//! 5. **Integrity**: enough inliers, spread over the image, a positive-definite covariance
//!    and a NEES against the prior below its 99.99 % chi-square bound; otherwise
//!    `Rejected` (a solution failed its checks)
//!    or `NoFix` (not enough matches). Altitude above the DEM from the estimate, and the
//!    rangefinder judged by the monitor against the estimate (or the prior).
//! 6. **Below the map's reach**: when the map gives no fix and the caller keeps the last
//!    fixed frame, [`FrameNavigator::process_with_fixed`] tracks the ground the two
//!    frames share ([`crate::track`]); the pose carries the previous fix's covariance and
//!    passes the same NEES gates.
//!
//! [`FrameNavigator::process`] is the whole frame. The matching loop is the executor's: the
//! flight build runs [`Sequential`] (one thread, one
//! [`MatchScratch`](crate::matching::MatchScratch)); trn runs the same
//! [`crate::matching::match_landmark`] with rayon, and every other step here, so both give
//! the same pose.
//!
//! The modules follow a frame: `config` (settings, the prior, the result), `executor` (who
//! matches), `workspace` (the caller's memory), `coarse` (step 2 and acquisition's
//! verification), `fine` (step 3 and the refinement passes), `solve` (step 4), `check`
//! (step 5), `tracked` (step 6); this one holds the [`FrameNavigator`] that runs them.

mod check;
mod coarse;
mod common_mode;
mod config;
mod executor;
mod fine;
mod sequence;
mod solve;
mod tracked;
mod workspace;

pub use config::{Acquisition, FixStatus, FrameResult, NavConfig, Prior, Reason, StageTimes};
pub use executor::{Executor, MAX_HYPOTHESES, PositionHypothesis, Sequential};
pub use sequence::{FrameSequence, FrameSlot, SequenceError};
pub use workspace::{MAX_PREDICTIONS, Workspace};

use crate::camera::Camera;
use crate::dem::Heightfield;
use crate::inertial::InertialError;
use crate::mapdb::{Landmarks, MapDb};
use crate::matching::MatchContext;
use crate::pose::Pose;
use crate::predict::{PredictConfig, Prediction, predict};
use crate::pyramid::Pyramid;
use crate::rangefinder::RangefinderMonitor;
use crate::robust::AttitudePrior;
use crate::track::FixedFrame;
use check::LrfInput;

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
    /// The map's registration 1-sigma the navigator assumes, metres.
    registration_sigma_m: f64,
    /// The last fix, for the next priors' attitude correction.
    last: Option<LastFix>,
    /// The inertial position error as the fixes show it.
    inertial: InertialError,
}

/// The last fixed frame's pose and the raw prior it was found from: the attitude the
/// inertial prior has turned through since is added to the fix's.
#[derive(Clone, Copy, Debug)]
struct LastFix {
    pose: Pose,
    raw_prior: Prior,
}

impl<'m> FrameNavigator<'m> {
    /// A navigator over a parsed map database.
    #[must_use]
    pub fn new(db: &MapDb<'m>, camera: Camera, cfg: NavConfig) -> Self {
        let dem = db.dem().and_then(|g| g.heightfield().ok());
        let dem_sigma_m = db.site().map_or(1.0, |s| s.dem_sigma_m);
        let registration_sigma_m = db
            .site()
            .map_or(0.0, |s| s.registration_sigma_m)
            .max(cfg.registration_sigma_m);
        let mut rf = cfg.rangefinder;
        rf.dem_sigma_m = dem_sigma_m.max(rf.dem_sigma_m);
        Self {
            landmarks: db.landmarks(),
            dem,
            camera,
            cfg,
            monitor: RangefinderMonitor::new(rf),
            dem_sigma_m,
            registration_sigma_m,
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

    /// The map's registration error the navigator assumes, metres (1-sigma per horizontal
    /// axis: the larger of [`NavConfig::registration_sigma_m`] and the map database's).
    #[must_use]
    pub fn registration_sigma_m(&self) -> f64 {
        self.registration_sigma_m
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
    /// since. The raw prior when there is no fix yet, the filter's model does not hold
    /// ([`InertialError::holds`]: its predictions have not passed their tests against the
    /// fixes), the time runs backwards, or the corrected one would not be tighter.
    #[must_use]
    pub fn corrected_prior(&self, prior: &Prior) -> Prior {
        let Some(LastFix {
            pose: fix,
            raw_prior: last_prior,
        }) = self.last
        else {
            return *prior;
        };
        if !self.inertial.holds(&self.cfg.inertial) {
            return *prior;
        }
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

    /// The landmarks `prior` puts in view into `out`, with the search radii `radii` asks
    /// for; how many.
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
    ) -> FrameResult {
        self.process_with_fixed(frame, raw_prior, lrf, None, ws, exec)
    }

    /// [`FrameNavigator::process`], and when the map gives no fix, the pose from the ground
    /// this frame shares with `previous`, the last frame that had one ([`crate::track`]):
    /// below the map's reach (the last hundred metres, where a view spans fewer map pixels
    /// than a template) this keeps a pose with a covariance that carries the previous
    /// fix's. A tracked fix has [`FrameResult::tracked`] features; it passes the same NEES
    /// gates against the prior and the inertial attitude as a map fix.
    pub fn process_with_fixed<E: Executor>(
        &mut self,
        frame: &Pyramid<'_>,
        raw_prior: &Prior,
        lrf: Option<f64>,
        previous: Option<&FixedFrame<'_>>,
        ws: &mut Workspace,
        exec: &mut E,
    ) -> FrameResult {
        let prior = self.corrected_prior(raw_prior);
        let mut f = self.map_fix(frame, raw_prior, &prior, ws, exec);
        if f.prior_conflict {
            self.inertial.withdraw();
        }
        if f.status != FixStatus::Fix
            && let Some(prev) = previous
        {
            let t = exec.now_ms();
            match self.tracked_fix(prev, frame, raw_prior, &prior, ws) {
                Ok(tracked) => {
                    f = FrameResult {
                        predicted: f.predicted,
                        coarse_inliers: f.coarse_inliers,
                        acquisition: f.acquisition,
                        match_stats: f.match_stats,
                        times: f.times,
                        ..tracked
                    };
                }
                // When the map solved no pose, the attempt that got further says why
                // there is no fix.
                Err(Some(reason)) if f.status == FixStatus::NoFix && reason > f.reason => {
                    f.reason = reason;
                }
                Err(_) => {}
            }
            f.times.track_ms = exec.now_ms() - t;
        }
        // Tracked fixes update the inertial filter too. A tracked fix carries the previous
        // fix's error, so it is not independent of the fixes before it, but the filter never
        // predicts tighter than the last fix's covariance (which includes that error); and
        // without them the prior would coast on the inertial drift across the tracked
        // frames, too loose for the lowest of them.
        if f.status == FixStatus::Fix {
            self.last = Some(LastFix {
                pose: f.pose,
                raw_prior: *raw_prior,
            });
            self.inertial.update(
                raw_prior.time_s,
                raw_prior.pose.position,
                f.pose.position,
                f.sigma_pos(),
                &self.cfg.inertial,
            );
        }
        // The rangefinder is judged against the best estimate that passed its gates: the fix,
        // or without one the frame's prior: corrected only while the filter's model holds
        // and has measured no part of the prior's error that is independent from frame to
        // frame (the corrected sigma then rests on an estimate of that part from a few
        // innovations), else the raw prior, whose sigma is honest by contract. A rejected
        // solution may have contradicted the corrected prior, so a rejected frame is judged
        // against the raw prior too.
        let drift_only = !self.inertial.independent_part_significant();
        let judged = if f.status == FixStatus::Fix || (f.status == FixStatus::NoFix && drift_only) {
            (f.pose, f.covariance)
        } else {
            (raw_prior.pose, raw_prior.covariance())
        };
        // The motion check takes the error between two inertial priors from the growth of
        // their sigma, which holds only for an error that drifts: without a fix, the frame's
        // prior is judged by the motion check only while the filter has verified that drift
        // (independent errors of two priors do not cancel in their difference).
        let motion_check = self.cfg.lrf_motion_check
            && (f.status == FixStatus::Fix || self.inertial.holds(&self.cfg.inertial));
        let lrf = LrfInput {
            reading: lrf,
            inertial_sigma_m: if motion_check {
                raw_prior.sigma_pos_m
            } else {
                f64::NAN
            },
            independent_sigma_m: crate::math::sqrt_clamped(self.inertial.independent_variance()),
        };
        let t = exec.now_ms();
        let (altitude_m, report) = self.checks(&judged.0, &judged.1, lrf);
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

    /// The matching context of a pass with windows warped by `pose`.
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
}
