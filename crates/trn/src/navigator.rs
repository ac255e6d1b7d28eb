//! The per-frame pipeline: a descent frame, a prior and the map database in; a pose with an
//! honest covariance, an altitude and a rangefinder verdict out.
//!
//! The steps below are trn-flight's [`FrameNavigator`] (one implementation for the flight
//! build and this one); the [`Navigator`] runs its matching with rayon, adds FFT
//! acquisition ([`crate::acquisition`]) when the prior is too uncertain for windowed
//! search, times each stage, and estimates velocity ([`trn_flight::velocity`]).
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
use crate::frame_pyramid::FramePyramid;
use crate::matching::ParallelMatcher;
use std::time::Instant;
use trn_flight::camera::Camera;
use trn_flight::dem::Heightfield;
use trn_flight::mapdb::MapDb;
use trn_flight::matching::{MatchContext, MatchOutcome};
use trn_flight::navigate::{
    Executor, FrameNavigator, MAX_HYPOTHESES, PositionHypothesis, Workspace,
};
use trn_flight::predict::Prediction;
use trn_flight::pyramid::Pyramid;
use trn_flight::track::{PreviousFrame, TrackScratch};
use trn_flight::{Mat6, Pose, Vec3};

pub use trn_flight::navigate::{FixStatus, FrameFix, NavConfig, Prior, StageTimes};

/// Velocity over the interval since the previous frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Velocity {
    /// Site-frame velocity, m/s, the mean over the interval.
    pub mps: Vec3,
    /// 1-sigma per axis, m/s.
    pub sigma_mps: [f64; 3],
    /// The interval, seconds.
    pub dt_s: f64,
    /// Features tracked from the previous frame when the velocity comes from tracking (see
    /// [`trn_flight::velocity`]); 0 when it is the difference of the two fixes (tracking failed
    /// or reported a larger spread), whose sigma adds both fixes' errors.
    pub tracked_features: usize,
}

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

/// What the navigator returns for a frame: the flight pipeline's [`FrameFix`] (its fields
/// read through `Deref`: `fix.status`, `fix.pose`, `fix.sigma_pos()`, ...) with what the
/// std side adds.
#[derive(Clone, Debug)]
pub struct Fix {
    /// Verdict, pose, covariance, altitude, rangefinder report and diagnostics.
    pub frame: FrameFix,
    /// Velocity from this fix and the previous frame's, when both are fixes.
    pub velocity: Option<Velocity>,
}

impl std::ops::Deref for Fix {
    type Target = FrameFix;

    fn deref(&self) -> &FrameFix {
        &self.frame
    }
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
    /// The previous frame's fix (position, its per-axis sigma, time), for velocity.
    previous_fix: Option<(Vec3, [f64; 3], f64)>,
    /// The frame pyramid's buffers, reused from frame to frame.
    frame_buf: FramePyramid,
    /// The last frame with a fix, kept for tracking (velocity, and poses below the map's
    /// reach).
    prev: Option<FixedFrame>,
    /// Tracking buffers for velocity.
    track_scratch: Box<TrackScratch>,
    /// A second pyramid's buffers, made with the navigator: the first fixed frame is kept
    /// for tracking and the next frame is built here, so that no frame after the first
    /// allocates its pyramid.
    spare: FramePyramid,
    /// Acquisition: the overview levels, and FFT plans and buffers made by its first run.
    acquirer: Acquirer,
}

/// A fixed frame kept for tracking: its pyramid, pose, covariance and time.
#[derive(Debug)]
struct FixedFrame {
    pyramid: FramePyramid,
    pose: Pose,
    covariance: Mat6,
    time_s: f64,
}

impl FixedFrame {
    fn view(&self) -> PreviousFrame<'_> {
        PreviousFrame {
            pyramid: self.pyramid.view(),
            pose: self.pose,
            covariance: self.covariance,
            time_s: self.time_s,
        }
    }
}

/// trn's executor: rayon matching, FFT acquisition, a wall clock.
struct StdExecutor<'e> {
    matcher: &'e ParallelMatcher,
    acquirer: &'e mut Acquirer,
    camera: &'e Camera,
    dem: Option<&'e Heightfield<'e>>,
    start: Instant,
}

impl Executor for StdExecutor<'_> {
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
    /// A navigator over a parsed map database.
    #[must_use]
    pub fn new(db: MapDb<'a>, camera: Camera, cfg: NavConfig) -> Self {
        let (w, h) = (camera.width() as usize, camera.height() as usize);
        let mut spare = FramePyramid::default();
        spare.rebuild(w, h, vec![0.0; w * h], cfg.frame_levels);
        Self {
            core: FrameNavigator::new(&db, camera, cfg),
            workspace: Box::default(),
            matcher: ParallelMatcher::new(),
            previous_fix: None,
            frame_buf: FramePyramid::default(),
            prev: None,
            track_scratch: Box::default(),
            spare,
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
        self.previous_fix = None;
        if let Some(p) = self.prev.take() {
            self.spare = p.pyramid;
        }
    }

    /// The camera.
    #[must_use]
    pub fn camera(&self) -> &Camera {
        self.core.camera()
    }

    /// Processes one frame (row-major f32 pixels of the camera's size) with its prior and
    /// rangefinder reading.
    #[must_use]
    pub fn process(&mut self, pixels: Vec<f32>, prior: &Prior, lrf: Option<f64>) -> Fix {
        let start = Instant::now();
        let camera = *self.core.camera();
        let (w, h) = (camera.width() as usize, camera.height() as usize);
        let mut frame = std::mem::take(&mut self.frame_buf);
        frame.rebuild(w, h, pixels, self.core.config().frame_levels);
        let pyramid_ms = start.elapsed().as_secs_f64() * 1e3;
        let dem = self.core.dem().copied();
        let mut exec = StdExecutor {
            matcher: &self.matcher,
            acquirer: &mut self.acquirer,
            camera: &camera,
            dem: dem.as_ref(),
            start,
        };
        let previous = self.prev.as_ref().map(FixedFrame::view);
        let mut ff = self.core.process_with_previous(
            &frame.view(),
            prior,
            lrf,
            previous.as_ref(),
            &mut self.workspace,
            &mut exec,
        );
        ff.times.pyramid_ms = pyramid_ms;
        let mut velocity = None;
        if ff.status == FixStatus::Fix {
            let tv = Instant::now();
            velocity = self.velocity(&frame, &ff, prior.time_s, dem.as_ref());
            ff.times.velocity_ms = tv.elapsed().as_secs_f64() * 1e3;
            // This frame becomes the one to track from; the previous one's buffers are
            // reused for the next frame's pyramid.
            let kept = FixedFrame {
                pyramid: frame,
                pose: ff.pose,
                covariance: ff.covariance,
                time_s: prior.time_s,
            };
            frame = match self.prev.replace(kept) {
                Some(old) => old.pyramid,
                None => std::mem::take(&mut self.spare),
            };
        } else {
            // The last fixed frame stays for tracking; velocity needs two fixes in a row.
            self.previous_fix = None;
        }
        self.frame_buf = frame;
        Fix {
            frame: ff,
            velocity,
        }
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

    /// Velocity from features tracked since the previous fix's frame, or from the two fixes;
    /// records this fix for the next frame.
    fn velocity(
        &mut self,
        frame: &FramePyramid,
        ff: &FrameFix,
        time_s: f64,
        dem: Option<&Heightfield<'_>>,
    ) -> Option<Velocity> {
        let sig = ff.sigma_pos();
        // Only from the frame just before: an older one holds a gap the fixes do not. A
        // pose tracked from it already is that tracking, with its relative covariance.
        let tracked = match (&self.prev, dem, self.previous_fix) {
            (Some(pf), _, Some(_)) if ff.tracked > 0 => {
                let dt = time_s - pf.time_s;
                let rel = ff.relative_covariance;
                (dt > 0.0)
                    .then_some(())
                    .and(rel)
                    .map(|c| trn_flight::velocity::TrackedVelocity {
                        mps: (ff.pose.position - pf.pose.position) * (1.0 / dt),
                        sigma_mps: [0, 1, 2].map(|i| c[i][i].max(0.0).sqrt() / dt),
                        inliers: ff.inliers,
                        dt_s: dt,
                    })
            }
            (Some(pf), Some(dem), Some(_)) => trn_flight::velocity::track(
                &pf.view(),
                &frame.view(),
                &ff.pose,
                time_s,
                self.core.camera(),
                dem,
                4,
                self.core.dem_sigma_m(),
                &mut self.track_scratch,
            ),
            _ => None,
        };
        // Two estimates when both exist: features tracked from the previous frame, and the
        // difference of the two fixes. Both are unbiased; the one with the smaller reported
        // spread is kept (fusing them would need their correlation: both use this fix).
        let from_tracking = tracked.map(|t| Velocity {
            mps: t.mps,
            sigma_mps: t.sigma_mps,
            dt_s: t.dt_s,
            tracked_features: t.inliers,
        });
        let from_fixes = match self.previous_fix {
            Some((p0, s0, t0)) if time_s > t0 => {
                let dt = time_s - t0;
                Some(Velocity {
                    mps: (ff.pose.position - p0) * (1.0 / dt),
                    sigma_mps: [0, 1, 2].map(|i| (s0[i] * s0[i] + sig[i] * sig[i]).sqrt() / dt),
                    dt_s: dt,
                    tracked_features: 0,
                })
            }
            _ => None,
        };
        let spread = |v: &Velocity| v.sigma_mps.iter().map(|s| s * s).sum::<f64>();
        self.previous_fix = Some((ff.pose.position, sig, time_s));
        match (from_tracking, from_fixes) {
            (Some(a), Some(b)) => Some(if spread(&a) <= spread(&b) { a } else { b }),
            (a, b) => a.or(b),
        }
    }
}
