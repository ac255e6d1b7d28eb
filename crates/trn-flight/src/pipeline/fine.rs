//! Steps 3 and 4 for a pose from the map: the fine stage matches every predicted landmark
//! with windows from the (coarse-corrected) prior and solves the pose; refinement passes
//! match again with windows warped by that pose; [`super::check`] judges the result. A
//! frame's diagnostics are gathered as the stages run and reported with or without a pose.

use super::Acquisition;
use super::check::MapCheck;
use super::executor::Executor;
use super::solve::MIN_POSE_MATCHES;
use super::solve::{gsd_ratio, median};
use super::{FixStatus, FrameNavigator, FrameResult, Prior, Radii, Reason, StageTimes, Workspace};
use crate::mapdb::Landmarks;
use crate::matching::{MatchOutcome, MatchStats};
use crate::math;
use crate::pose::Pose;
use crate::predict::Prediction;
use crate::pyramid::Pyramid;
use crate::robust::PoseEstimate;

/// What the map's stages tell of a frame, pose or not: the diagnostics of its
/// [`FrameResult`].
#[derive(Clone, Copy, Default)]
pub(super) struct MapRun {
    pub(super) times: StageTimes,
    /// Landmarks predicted for the last matching pass.
    pub(super) predicted: usize,
    /// The last matching pass's statistics.
    pub(super) stats: MatchStats,
    pub(super) coarse_inliers: Option<usize>,
    pub(super) acquisition: Acquisition,
}

/// A pose the fine stage solved and its integrity.
struct Solved {
    est: PoseEstimate,
    /// Matches it was solved from.
    matched: usize,
    check: MapCheck,
    median_peak_ratio: f32,
    gsd_ratio: f64,
}

impl MapRun {
    /// The frame's result, the one exit of the map's stages: the solved pose when it
    /// passed its checks; otherwise the prior with its covariance, and the verdict and
    /// diagnostics of a pose that failed them. Altitude and rangefinder are judged after.
    fn frame_result(self, prior: &Prior, solved: Option<Solved>) -> FrameResult {
        let mut f = FrameResult {
            predicted: self.predicted,
            matched: self.stats.matched,
            coarse_inliers: self.coarse_inliers,
            acquisition: self.acquisition,
            match_stats: self.stats,
            times: self.times,
            ..FrameResult::unsolved(prior)
        };
        f.reason = if self.predicted < MIN_POSE_MATCHES {
            Reason::NoLandmarks
        } else if self.stats.matched < MIN_POSE_MATCHES {
            Reason::FewMatches
        } else {
            Reason::NoConsensus
        };
        if let Some(s) = solved {
            f.status = s.check.status;
            f.reason = s.check.reason;
            f.inliers = s.est.inliers;
            f.nees = s.check.nees;
            f.prior_conflict = s.check.prior_conflict;
            f.median_peak_ratio = s.median_peak_ratio;
            f.residual_px = s.est.sigma_px;
            f.gsd_ratio = s.gsd_ratio;
            f.map_sigma_m = s.check.map_sigma_m;
            if s.check.status == FixStatus::Fix {
                f.pose = s.est.pose;
                f.covariance = s.est.covariance;
                f.matched = s.matched;
            }
        }
        f
    }
}

impl FrameNavigator<'_> {
    /// The frame from the map's landmarks (altitude and rangefinder not yet judged): the
    /// pose when it passes its checks, otherwise the prior with the diagnostics so far.
    pub(super) fn map_fix<E: Executor>(
        &self,
        frame: &Pyramid<'_>,
        raw_prior: &Prior,
        prior: &Prior,
        ws: &mut Workspace,
        exec: &mut E,
    ) -> FrameResult {
        ws.solved = false;
        ws.n_outcomes = 0;
        let mut run = MapRun::default();
        let solved = self.map_pose(frame, raw_prior, prior, ws, exec, &mut run);
        run.frame_result(prior, solved)
    }

    /// The pose from the map and its checks; `None` when there are no landmarks or the
    /// fine stage, or a refinement pass, solves no pose.
    fn map_pose<E: Executor>(
        &self,
        frame: &Pyramid<'_>,
        raw_prior: &Prior,
        prior: &Prior,
        ws: &mut Workspace,
        exec: &mut E,
        run: &mut MapRun,
    ) -> Option<Solved> {
        let lms = self.landmarks?;
        let (fine_prior, n_initial) = self.fine_prior(&lms, frame, prior, ws, exec, run);

        // Fine stage.
        let t2 = exec.now_ms();
        let n_preds = if fine_prior == *prior {
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
        self.match_pass(lms, frame, &fine_prior.pose, n_preds, ws, exec, run);
        run.times.match_ms = exec.now_ms() - t2;
        let t3 = exec.now_ms();
        let mut ratio = gsd_ratio(ws.preds.get(..n_preds).unwrap_or(&[]), &mut ws.values);
        let attitude = self.inertial_attitude(raw_prior);
        let solved = self.solve(ws, n_preds, ratio, attitude);
        run.times.pose_ms = exec.now_ms() - t3;
        let (mut est, mut matched) = solved?;
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
                    .take(ws.n_outcomes)
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
            self.match_pass(lms, frame, &again.pose, n, ws, exec, run);
            run.times.match_ms += exec.now_ms() - t;
            let t = exec.now_ms();
            ratio = gsd_ratio(ws.preds.get(..n).unwrap_or(&[]), &mut ws.values);
            let again = self.solve(ws, n, ratio, attitude);
            run.times.pose_ms += exec.now_ms() - t;
            // The workspace now holds this pass's matches; a pose that its own refinement
            // cannot reproduce is not a fix.
            (est, matched) = again?;
        }
        ws.solved = true;
        let check = self.check_map_fix(&mut est, raw_prior, prior, attitude, ratio, matched, ws);
        let median_peak_ratio = median(
            ws.outcomes
                .iter()
                .take(ws.n_outcomes)
                .filter_map(MatchOutcome::matched)
                .map(|m| f64::from(m.ratio)),
            &mut ws.values,
        ) as f32;
        Some(Solved {
            est,
            matched,
            check,
            median_peak_ratio,
            gsd_ratio: ratio,
        })
    }

    /// One matching pass: the first `n` of the workspace's predictions matched from `pose`
    /// by `exec`, their outcomes and statistics recorded.
    #[allow(clippy::too_many_arguments)]
    fn match_pass<E: Executor>(
        &self,
        lms: Landmarks<'_>,
        frame: &Pyramid<'_>,
        pose: &Pose,
        n: usize,
        ws: &mut Workspace,
        exec: &mut E,
        run: &mut MapRun,
    ) {
        let preds = ws.preds.get(..n).unwrap_or(&[]);
        let outcomes = ws.outcomes.get_mut(..n).unwrap_or(&mut []);
        let ctx = self.context(lms, frame, pose);
        exec.match_all(&ctx, preds, outcomes);
        ws.n_outcomes = n;
        run.predicted = n;
        run.stats = MatchStats::tally(outcomes);
    }
}
