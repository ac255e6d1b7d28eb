//! The per-frame pipeline: a descent frame, a prior and the map database in; a pose with an
//! honest covariance, an altitude and a rangefinder verdict out.
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

use std::time::Instant;
use trn_features::{FramePyramid, MatchConfig, MatchStats, PredictConfig, Prediction};
use trn_flight::camera::Camera;
use trn_flight::dem::Heightfield;
use trn_flight::mapdb::MapDb;
use trn_flight::rangefinder::{LrfReport, RangefinderConfig, RangefinderMonitor};
use trn_flight::robust::{PoseEstimate, RansacConfig, estimate_pose};
use trn_flight::stats::{Confidence, chi2_quantile};
use trn_flight::{Mat6, Pose, Vec3};

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
    /// FFT hypotheses verified, at most, when acquisition runs.
    pub acquisition_hypotheses: usize,
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
    /// Time of the frame, seconds (any origin; used for velocity).
    pub time_s: f64,
}

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
    /// [`crate::velocity`]); 0 when it is the difference of the two fixes (tracking failed
    /// or reported a larger spread), whose sigma adds both fixes' errors.
    pub tracked_features: usize,
}

/// Outcome of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixStatus {
    /// A pose passed every check.
    Fix,
    /// Not enough matches for a pose.
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

/// Time per stage, milliseconds.
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
    /// FFT acquisition and its verification (0 when skipped).
    pub acquisition_ms: f64,
    /// Feature tracking for velocity.
    pub velocity_ms: f64,
    /// Altitude and rangefinder.
    pub checks_ms: f64,
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

/// What the navigator returns for a frame.
#[derive(Clone, Debug)]
pub struct Fix {
    /// Verdict.
    pub status: FixStatus,
    /// Estimated pose (the prior when there is none).
    pub pose: Pose,
    /// 6x6 covariance: position (m), then camera-frame attitude (rad).
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
    /// Whether FFT acquisition ran, and which hypothesis (0 = best) verified.
    pub acquisition: Option<Option<usize>>,
    /// Fine-stage matching statistics.
    pub match_stats: MatchStats,
    /// Median peak ratio of the matches.
    pub median_peak_ratio: f32,
    /// NEES of the estimate against the prior (3 position axes).
    pub nees: f64,
    /// Time per stage.
    pub times: StageTimes,
    /// Velocity from this fix and the previous frame's, when both are fixes.
    pub velocity: Option<Velocity>,
    /// The fine-stage matches (empty when the pose could not be solved).
    pub observations: Vec<Observation>,
}

impl Fix {
    /// 1-sigma of each position axis, metres.
    #[must_use]
    pub fn sigma_pos(&self) -> [f64; 3] {
        [0, 1, 2].map(|i| self.covariance[i][i].max(0.0).sqrt())
    }

    /// RMS of the attitude 1-sigma over the three axes, degrees.
    #[must_use]
    pub fn sigma_att_deg(&self) -> f64 {
        ((self.covariance[3][3] + self.covariance[4][4] + self.covariance[5][5]) / 3.0)
            .max(0.0)
            .sqrt()
            .to_degrees()
    }
}

/// The navigator: a map database, a camera and settings; one [`Navigator::process`] per
/// frame.
#[derive(Debug)]
pub struct Navigator<'a> {
    db: MapDb<'a>,
    dem: Option<Heightfield<'a>>,
    camera: Camera,
    cfg: NavConfig,
    monitor: RangefinderMonitor,
    dem_sigma_m: f64,
    /// The last fix and the inertial prior of its frame: the next prior is corrected by it.
    last: Option<(Pose, f64, Prior)>,
    /// The previous frame's fix (position, its per-axis sigma, time), for velocity.
    previous_fix: Option<(Vec3, [f64; 3], f64)>,
    /// The frame pyramid's buffers, reused from frame to frame.
    frame_buf: FramePyramid,
    /// The previous frame with a fix, kept for feature tracking.
    prev_track: Option<crate::velocity::TrackFrame>,
    /// The overview and two coarser levels, for acquisition.
    overview: Vec<(trn_flight::dem::Grid, trn_map::pyramid::Image)>,
}

fn diag_cov(sigma_pos: f64, sigma_att: f64) -> Mat6 {
    let mut c = [[0.0; 6]; 6];
    for (i, row) in c.iter_mut().enumerate() {
        row[i] = if i < 3 {
            sigma_pos * sigma_pos
        } else {
            sigma_att * sigma_att
        };
    }
    c
}

impl<'a> Navigator<'a> {
    /// A navigator over a parsed map database.
    #[must_use]
    pub fn new(db: MapDb<'a>, camera: Camera, cfg: NavConfig) -> Self {
        let dem = db.dem().and_then(|g| g.heightfield().ok());
        let dem_sigma_m = db.site().map_or(1.0, |s| s.dem_sigma_m);
        let mut rf = cfg.rangefinder;
        rf.dem_sigma_m = dem_sigma_m.max(rf.dem_sigma_m);
        let overview = db.overview().map_or_else(Vec::new, |ov| {
            let g = ov.grid;
            let data = (0..g.width * g.height)
                .map(|k| ov.value(k % g.width, k / g.width).unwrap_or(f32::NAN))
                .collect();
            let base = trn_map::pyramid::Image {
                width: g.width,
                height: g.height,
                data,
            };
            trn_map::pyramid::build(base, 3)
                .into_iter()
                .enumerate()
                .map(|(k, img)| {
                    let mut gk = g;
                    gk.width = img.width;
                    gk.height = img.height;
                    gk.stride = img.width;
                    gk.dx *= f64::from(1u32 << k);
                    gk.dy *= f64::from(1u32 << k);
                    (gk, img)
                })
                .collect()
        });
        Self {
            frame_buf: FramePyramid::default(),
            prev_track: None,
            overview,
            db,
            dem,
            camera,
            cfg,
            monitor: RangefinderMonitor::new(rf),
            dem_sigma_m,
            last: None,
            previous_fix: None,
        }
    }

    /// The inertial prior corrected by the last fix: the fix plus the inertial motion since
    /// (the prior's change between the two frames), with the fix's uncertainty grown by the
    /// inertial drift over the interval. The raw prior when there is no fix yet or the
    /// corrected one would not be tighter.
    #[must_use]
    pub fn corrected_prior(&self, prior: &Prior) -> Prior {
        let Some((fix, fix_sigma, last_prior)) = self.last else {
            return *prior;
        };
        let dp = prior.pose.position - last_prior.pose.position;
        let dq = last_prior
            .pose
            .attitude
            .conjugate()
            .mul_quat(prior.pose.attitude);
        // Growth of the inertial uncertainty between the frames; at least a tenth of the
        // prior's own, since the inertial errors are not independent between frames.
        let growth = (prior.sigma_pos_m.powi(2) - last_prior.sigma_pos_m.powi(2))
            .max((0.1 * prior.sigma_pos_m).powi(2));
        let sigma_pos = (fix_sigma.powi(2) + growth).sqrt();
        if sigma_pos >= prior.sigma_pos_m {
            return *prior;
        }
        Prior {
            pose: Pose::new(fix.position + dp, fix.attitude.mul_quat(dq)),
            sigma_pos_m: sigma_pos,
            sigma_att_rad: prior.sigma_att_rad,
            time_s: prior.time_s,
        }
    }

    /// Forgets the previous frames (fix, inertial reference, tracked features, rangefinder
    /// admission) as at the start of a descent; keeps the map and the frame buffers.
    pub fn reset(&mut self) {
        self.last = None;
        self.previous_fix = None;
        self.prev_track = None;
        self.monitor = RangefinderMonitor::new(*self.monitor.config());
    }

    /// The camera.
    #[must_use]
    pub fn camera(&self) -> &Camera {
        &self.camera
    }

    fn solve(
        &self,
        matches: &[trn_features::LandmarkMatch],
        gsd_ratio: f64,
    ) -> Option<(PoseEstimate, Vec<bool>)> {
        if matches.len() < 6 {
            return None;
        }
        let image: Vec<[f64; 2]> = matches.iter().map(|m| m.normalized).collect();
        let world: Vec<_> = matches.iter().map(|m| m.world).collect();
        let mut mask = vec![false; matches.len()];
        let (fx, fy) = self.camera.focal();
        let mut rc = RansacConfig::new(0.5 * (fx + fy));
        rc.threshold_px = self.cfg.threshold_px * gsd_ratio.max(1.0);
        rc.min_inliers = 6;
        estimate_pose(&image, &world, &mut mask, &rc)
            .ok()
            .map(|e| (e, mask))
    }

    /// Processes one frame (row-major f32 pixels of the camera's size) with its prior and
    /// rangefinder reading.
    #[must_use]
    pub fn process(&mut self, pixels: Vec<f32>, prior: &Prior, lrf: Option<f64>) -> Fix {
        let mut times = StageTimes::default();
        let t0 = Instant::now();
        let (w, h) = (self.camera.width() as usize, self.camera.height() as usize);
        let mut frame = std::mem::take(&mut self.frame_buf);
        frame.rebuild(w, h, pixels, self.cfg.frame_levels);
        times.pyramid_ms = t0.elapsed().as_secs_f64() * 1e3;
        let raw_prior = *prior;
        let prior = &self.corrected_prior(&raw_prior);
        let Some(lms) = self.db.landmarks() else {
            return self.finish_without(prior, times, 0, MatchStats::default(), lrf);
        };

        // Coarse stage when the prior is too uncertain for small windows.
        let t1 = Instant::now();
        let mut fine_prior = *prior;
        let mut coarse_inliers = None;
        // Predicted once with the prior; the coarse stage and, when the prior stands, the
        // fine stage use these rather than predicting again over every landmark.
        let initial = self.predict_unclamped(&lms, prior);
        let widest = initial.iter().map(|p| p.radius).max().unwrap_or(0);
        let mut acquisition = None;
        // Coarse windows hold errors up to `max_radius` coarse template pixels; beyond, or
        // when the coarse stage fails, the whole view is correlated with the overview.
        let mut need_acquisition = widest.div_ceil(2) > self.cfg.predict.max_radius;
        if !need_acquisition && widest > self.cfg.coarse_above_radius {
            match self.coarse(&lms, &frame, prior, Some(&initial)) {
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
        if need_acquisition && !self.overview.is_empty() {
            let ta = Instant::now();
            let reach = 3.0 * prior.sigma_pos_m;
            let mut verified = None;
            if let Some(acq) = crate::acquisition::acquire(
                &frame,
                &self.camera,
                &prior.pose,
                &self.overview,
                self.dem.as_ref(),
                reach,
                self.cfg.acquisition_hypotheses,
            ) {
                for (k, h) in acq.hypotheses.iter().enumerate() {
                    let shifted = Prior {
                        pose: Pose::new(
                            prior.pose.position + Vec3::new(h.shift_m[0], h.shift_m[1], 0.0),
                            prior.pose.attitude,
                        ),
                        sigma_pos_m: (2.0 * acq.pixel_m).max(0.05 * prior.sigma_pos_m),
                        sigma_att_rad: prior.sigma_att_rad,
                        time_s: prior.time_s,
                    };
                    if let Some((p, n)) = self.coarse(&lms, &frame, &shifted, None) {
                        fine_prior = p;
                        coarse_inliers = Some(n);
                        verified = Some(k);
                        break;
                    }
                }
            }
            acquisition = Some(verified);
            times.acquisition_ms = ta.elapsed().as_secs_f64() * 1e3;
        }
        times.coarse_ms = if coarse_inliers.is_some() {
            t1.elapsed().as_secs_f64() * 1e3
        } else {
            0.0
        };

        // Fine stage.
        let t2 = Instant::now();
        let preds = if fine_prior == *prior {
            // Same prior: the first predictions with their radii clamped, as predicting
            // again with the clamp would give.
            let max = self.cfg.predict.max_radius;
            initial
                .into_iter()
                .map(|p| Prediction {
                    radius: p.radius.min(max),
                    ..p
                })
                .collect()
        } else {
            trn_features::predict(
                &lms,
                &self.camera,
                &fine_prior.pose,
                fine_prior.sigma_pos_m,
                fine_prior.sigma_att_rad,
                &self.cfg.predict,
            )
        };
        let (matches, stats) = trn_features::match_landmarks(
            &preds,
            &lms,
            &self.camera,
            &fine_prior.pose,
            &frame,
            self.dem.as_ref(),
            &self.cfg.matching,
        );
        times.match_ms = t2.elapsed().as_secs_f64() * 1e3;
        let t3 = Instant::now();
        let ratio = gsd_ratio(&preds);
        let solved = self.solve(&matches, ratio);
        times.pose_ms = t3.elapsed().as_secs_f64() * 1e3;
        let Some((mut est, mask)) = solved else {
            let mut f = self.finish_without(prior, times, preds.len(), stats, lrf);
            f.coarse_inliers = coarse_inliers;
            f.acquisition = acquisition;
            return f;
        };

        let observations: Vec<Observation> = matches
            .iter()
            .zip(&mask)
            .map(|(m, k)| Observation {
                id: m.id,
                pixel: m.pixel,
                inlier: *k,
            })
            .collect();
        // Honest covariance: add the map's common-mode error to the position block.
        let tpl = median(matches.iter().map(|m| m.template_px_m).collect());
        let map_sigma = self.dem_sigma_m.max(0.1 * tpl);
        for i in 0..3 {
            est.covariance[i][i] += map_sigma * map_sigma;
        }
        // Integrity: inliers, their spread, NEES against the prior.
        let d = est.pose.position - prior.pose.position;
        let nees = (d.x * d.x + d.y * d.y + d.z * d.z) / (prior.sigma_pos_m * prior.sigma_pos_m);
        let inlier_px: Vec<[f64; 2]> = matches
            .iter()
            .zip(&mask)
            .filter(|(_, k)| **k)
            .map(|(m, _)| m.pixel)
            .collect();
        let spread_ok = spread_fraction(&inlier_px, w as f64, h as f64) > 0.05;
        let status = if est.inliers < self.cfg.min_inliers {
            FixStatus::NoFix
        } else if nees > chi2_quantile(3, Confidence::P9999).unwrap_or(21.1) || !spread_ok {
            FixStatus::Rejected
        } else {
            FixStatus::Fix
        };
        let mut ratios: Vec<f32> = matches.iter().map(|m| m.ratio).collect();
        ratios.sort_by(f32::total_cmp);
        let median_ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(f32::NAN);
        if status != FixStatus::Fix {
            let mut f = self.finish_without(prior, times, preds.len(), stats, lrf);
            f.status = status;
            f.inliers = est.inliers;
            f.nees = nees;
            f.coarse_inliers = coarse_inliers;
            f.acquisition = acquisition;
            f.median_peak_ratio = median_ratio;
            f.observations = observations;
            return f;
        }
        let s = est.position_sigma();
        self.last = Some((est.pose, s.x.max(s.y).max(s.z), raw_prior));
        let sig = [0, 1, 2].map(|i| est.covariance[i][i].max(0.0).sqrt());
        let tv = Instant::now();
        let tracked = match (&self.prev_track, &self.dem) {
            (Some(pt), Some(dem)) => crate::velocity::track(
                pt,
                &frame.levels[0].data,
                &est.pose,
                raw_prior.time_s,
                &self.camera,
                dem,
                4,
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
            Some((p0, s0, t0)) if raw_prior.time_s > t0 => {
                let dt = raw_prior.time_s - t0;
                Some(Velocity {
                    mps: (est.pose.position - p0) * (1.0 / dt),
                    sigma_mps: [0, 1, 2].map(|i| (s0[i] * s0[i] + sig[i] * sig[i]).sqrt() / dt),
                    dt_s: dt,
                    tracked_features: 0,
                })
            }
            _ => None,
        };
        let spread = |v: &Velocity| v.sigma_mps.iter().map(|s| s * s).sum::<f64>();
        let velocity = match (from_tracking, from_fixes) {
            (Some(a), Some(b)) => Some(if spread(&a) <= spread(&b) { a } else { b }),
            (a, b) => a.or(b),
        };
        self.previous_fix = Some((est.pose.position, sig, raw_prior.time_s));
        self.prev_track = frame
            .levels
            .first_mut()
            .map(|l| crate::velocity::TrackFrame {
                pixels: std::mem::take(&mut l.data),
                width: w,
                height: h,
                pose: est.pose,
                time_s: raw_prior.time_s,
            });
        self.frame_buf = frame;
        times.velocity_ms = tv.elapsed().as_secs_f64() * 1e3;
        let t4 = Instant::now();
        let (altitude_m, report) = self.checks(&est.pose, &est.covariance, lrf);
        times.checks_ms = t4.elapsed().as_secs_f64() * 1e3;
        Fix {
            status,
            pose: est.pose,
            covariance: est.covariance,
            altitude_m,
            lrf: report,
            predicted: preds.len(),
            matched: matches.len(),
            inliers: est.inliers,
            coarse_inliers,
            acquisition,
            match_stats: stats,
            median_peak_ratio: median_ratio,
            nees,
            times,
            velocity,
            observations,
        }
    }

    /// Predictions for `prior` with search radii not clamped (the coarse stage halves them,
    /// the fine stage clamps them to `max_radius`).
    fn predict_unclamped(
        &self,
        lms: &trn_flight::mapdb::Landmarks<'_>,
        prior: &Prior,
    ) -> Vec<Prediction> {
        trn_features::predict(
            lms,
            &self.camera,
            &prior.pose,
            prior.sigma_pos_m,
            prior.sigma_att_rad,
            &PredictConfig {
                max_radius: usize::MAX,
                ..self.cfg.predict
            },
        )
    }

    /// The coarse stage: a spread subset of landmarks one template level coarser, with
    /// windows from `prior`; the fine stage's prior and the inlier count when it solves.
    fn coarse(
        &self,
        lms: &trn_flight::mapdb::Landmarks<'_>,
        frame: &FramePyramid,
        prior: &Prior,
        predicted: Option<&[Prediction]>,
    ) -> Option<(Prior, usize)> {
        let owned;
        let preds = match predicted {
            Some(p) => p,
            None => {
                owned = self.predict_unclamped(lms, prior);
                &owned[..]
            }
        };
        let coarse: Vec<Prediction> = spread(preds, self.cfg.coarse_landmarks)
            .into_iter()
            .map(|p| coarser(p, lms.levels(), self.cfg.predict.max_radius))
            .collect();
        let (m, _) = trn_features::match_landmarks(
            &coarse,
            lms,
            &self.camera,
            &prior.pose,
            frame,
            self.dem.as_ref(),
            &self.cfg.matching,
        );
        let (est, _) = self.solve(&m, gsd_ratio(&coarse))?;
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

    fn checks(&mut self, pose: &Pose, cov: &Mat6, lrf: Option<f64>) -> (f64, LrfReport) {
        match &self.dem {
            Some(dem) => {
                let alt = dem.altitude(pose.position).map_or(f64::NAN, |a| a.altitude);
                let report = self.monitor.update(lrf, pose, cov, dem);
                (alt, report)
            }
            None => (
                f64::NAN,
                LrfReport {
                    status: trn_flight::rangefinder::LrfStatus::Unchecked,
                    predicted_m: f64::NAN,
                    predicted_span_m: (f64::NAN, f64::NAN),
                    sigma_m: f64::NAN,
                    nis: f64::NAN,
                    consistent: false,
                    excluded: false,
                    consistent_run: 0,
                },
            ),
        }
    }

    fn finish_without(
        &mut self,
        prior: &Prior,
        mut times: StageTimes,
        predicted: usize,
        stats: MatchStats,
        lrf: Option<f64>,
    ) -> Fix {
        self.previous_fix = None;
        self.prev_track = None;
        let cov = diag_cov(prior.sigma_pos_m, prior.sigma_att_rad);
        let t = Instant::now();
        let (altitude_m, report) = self.checks(&prior.pose, &cov, lrf);
        times.checks_ms = t.elapsed().as_secs_f64() * 1e3;
        Fix {
            status: FixStatus::NoFix,
            pose: prior.pose,
            covariance: cov,
            altitude_m,
            lrf: report,
            predicted,
            matched: stats.matched,
            inliers: 0,
            coarse_inliers: None,
            acquisition: None,
            match_stats: stats,
            median_peak_ratio: f32::NAN,
            nees: f64::NAN,
            times,
            velocity: None,
            observations: Vec::new(),
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median frame ground sample distance over template pixel among the predictions.
fn gsd_ratio(preds: &[Prediction]) -> f64 {
    let m = median(preds.iter().map(|p| p.scale_ratio).collect());
    // Template pixels per frame pixel: a match error of a fraction of a template pixel is
    // this many frame pixels.
    if m.is_finite() && m > 0.0 {
        1.0 / m
    } else {
        1.0
    }
}

/// An even subset of at most `n` predictions.
fn spread(preds: &[Prediction], n: usize) -> Vec<Prediction> {
    if preds.len() <= n {
        return preds.to_vec();
    }
    let step = preds.len() as f64 / n as f64;
    (0..n)
        .filter_map(|k| preds.get((k as f64 * step) as usize).copied())
        .collect()
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

/// Fraction of the image's area covered by the inliers' bounding box.
fn spread_fraction(px: &[[f64; 2]], w: f64, h: f64) -> f64 {
    if px.is_empty() {
        return 0.0;
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in px {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    ((x1 - x0) * (y1 - y0)) / (w * h)
}
