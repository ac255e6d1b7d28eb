//! Step 2, when the prior is too uncertain for small windows: the coarse stage, a spread
//! subset of the landmarks matched one template level coarser (half the radius in pixels
//! of twice the size), whose robust pose becomes the fine stage's prior; and when even the
//! coarse windows would be too large, or the coarse stage fails, the executor's acquisition
//! hypotheses, each verified by the coarse stage.

use super::Acquisition;
use super::executor::{Executor, MAX_HYPOTHESES, PositionHypothesis};
use super::fine::MapRun;
use super::{FrameNavigator, MAX_PREDICTIONS, Prior, Radii, Workspace};
use crate::linalg::Vec3;
use crate::mapdb::Landmarks;
use crate::pose::Pose;
use crate::predict::Prediction;
use crate::pyramid::Pyramid;

/// Which predictions the coarse stage starts from.
#[derive(Clone, Copy)]
enum CoarseSource {
    /// The frame's first predictions (`Workspace::initial`, this many).
    Initial(usize),
    /// Predict again with the stage's prior.
    Predict,
}

impl<'m> FrameNavigator<'m> {
    /// The prior of the fine stage and the count of the frame's first predictions (made
    /// with `prior`, radii unclamped, into `Workspace::initial`). `prior` itself while its
    /// windows are small; the coarse stage's pose when they are large; when even the
    /// coarse windows would be too large or the coarse stage fails, the first acquisition
    /// hypothesis the coarse stage verifies. The coarse stage's inliers, acquisition's
    /// outcome and their times go to `run`.
    pub(super) fn fine_prior<E: Executor>(
        &self,
        lms: &Landmarks<'m>,
        frame: &Pyramid<'_>,
        prior: &Prior,
        ws: &mut Workspace,
        exec: &mut E,
        run: &mut MapRun,
    ) -> (Prior, usize) {
        let prior = *prior;
        let t1 = exec.now_ms();
        let mut fine_prior = prior;
        // Predicted once with the prior, radii unclamped; the coarse stage and, when the
        // prior stands, the fine stage use these rather than predicting again.
        let n_initial = self.predict_into(lms, &prior, Radii::Unclamped, &mut ws.initial);
        let widest = ws
            .initial
            .iter()
            .take(n_initial)
            .map(|p| p.radius)
            .max()
            .unwrap_or(0);
        // Coarse windows hold errors up to `max_radius` coarse template pixels; beyond, or
        // when the coarse stage fails, acquisition (when the executor has it) looks wider.
        let mut need_acquisition = widest.div_ceil(2) > self.cfg.predict.max_radius;
        if !need_acquisition && widest > self.cfg.coarse_above_radius {
            match self.coarse(
                lms,
                frame,
                &prior,
                CoarseSource::Initial(n_initial),
                ws,
                exec,
            ) {
                Some((p, n)) => {
                    fine_prior = p;
                    run.coarse_inliers = Some(n);
                }
                None => {
                    run.coarse_inliers = Some(0);
                    need_acquisition = true;
                }
            }
        }
        if need_acquisition {
            let ta = exec.now_ms();
            let mut hyps = [PositionHypothesis::default(); MAX_HYPOTHESES];
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
                        self.coarse(lms, frame, &shifted, CoarseSource::Predict, ws, exec)
                    {
                        fine_prior = p;
                        run.coarse_inliers = Some(n);
                        verified = Some(k);
                        break;
                    }
                }
                run.acquisition = verified.map_or(Acquisition::NoneVerified, Acquisition::Verified);
                run.times.acquisition_ms = exec.now_ms() - ta;
            }
        }
        if run.coarse_inliers.is_some() {
            run.times.coarse_ms = exec.now_ms() - t1;
        }
        (fine_prior, n_initial)
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
        let ratio = super::solve::gsd_ratio(coarse, &mut ws.values);
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
