//! Step 4: the robust pose from the workspace's matches, with the threshold scaled to the
//! frame's pixels.

use super::{FrameNavigator, Workspace};
use crate::matching::MatchOutcome;
use crate::predict::Prediction;
use crate::robust::{AttitudePrior, PoseEstimate, RansacConfig, estimate_pose};

/// The fewest matches a pose is solved from (and the fewest inliers the robust solver
/// accepts).
pub(super) const MIN_POSE_MATCHES: usize = 6;

impl FrameNavigator<'_> {
    /// The robust pose from the first `n` outcomes' matches (compacted into the solver's
    /// buffers, in order) and the number of matches.
    pub(super) fn solve(
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
        if m < MIN_POSE_MATCHES {
            return None;
        }
        let rc = self.ransac_config(gsd_ratio, attitude);
        let (image, world, mask) = (
            ws.image.get(..m)?,
            ws.world.get(..m)?,
            ws.mask.get_mut(..m)?,
        );
        estimate_pose(image, world, mask, &rc).ok().map(|e| (e, m))
    }

    /// The robust solver's settings for a frame: the inlier threshold scaled to its pixels
    /// (`gsd_ratio`) and the inertial attitude to fuse.
    pub(super) fn ransac_config(
        &self,
        gsd_ratio: f64,
        attitude: Option<AttitudePrior>,
    ) -> RansacConfig {
        let (fx, fy) = self.camera.focal();
        let mut rc = RansacConfig::new(0.5 * (fx + fy));
        rc.threshold_px = self.cfg.threshold_px * gsd_ratio.max(1.0);
        rc.min_inliers = MIN_POSE_MATCHES;
        rc.attitude_prior = attitude;
        rc
    }
}

/// The median of `values` (the upper one of an even count; [`crate::stats::sample_quantile`]),
/// copied into `buf` (as many as fit); NaN for none.
pub(super) fn median(values: impl Iterator<Item = f64>, buf: &mut [f64]) -> f64 {
    let mut n = 0;
    for (b, v) in buf.iter_mut().zip(values) {
        *b = v;
        n += 1;
    }
    buf.get_mut(..n)
        .and_then(|v| crate::stats::sample_quantile(v, 0.5))
        .unwrap_or(f64::NAN)
}

/// Template pixels per frame pixel (the inverse of the median frame ground sample distance
/// over template pixel): a match error of a fraction of a template pixel is this many frame
/// pixels.
pub(super) fn gsd_ratio(preds: &[Prediction], buf: &mut [f64]) -> f64 {
    let m = median(preds.iter().map(|p| p.scale_ratio), buf);
    if m.is_finite() && m > 0.0 {
        1.0 / m
    } else {
        1.0
    }
}
