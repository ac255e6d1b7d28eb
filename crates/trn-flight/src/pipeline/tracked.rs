//! Below the map's reach: the pose from the ground a frame shares with the previous fixed
//! one ([`crate::track`]), with the covariance it inherits from that fix and the DEM, and
//! the same integrity gates as a map fix.

use super::check::{
    attitude_nees, covariance_ok, first_failed, gaussian_overbound, nees_gate, overbound,
    position_nees, spread_ok,
};
use super::{FixStatus, FrameNavigator, FrameResult, Prior, Reason, Workspace};
use crate::pyramid::Pyramid;
use crate::robust::AttitudePrior;
use crate::track::{FixedFrame, inherited_covariance, register, track_pose};

impl FrameNavigator<'_> {
    /// The pose from the ground shared with `prev`: registration, tracking, the inherited
    /// covariance and the integrity gates; otherwise the first that fails (`None` when
    /// tracking cannot run: no DEM).
    pub(super) fn tracked_fix(
        &self,
        prev: &FixedFrame<'_>,
        frame: &Pyramid<'_>,
        raw_prior: &Prior,
        prior: &Prior,
        ws: &mut Workspace,
    ) -> Result<FrameResult, Option<Reason>> {
        let dem = self.dem.as_ref().ok_or(None)?;
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
        )
        .ok_or(Some(Reason::FewMatches))?;
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
        )
        .ok_or(Some(Reason::NoConsensus))?;
        let mut est = tracked.estimate;
        if est.inliers < cfg.min_inliers {
            return Err(Some(Reason::FewInliers));
        }
        let inliers = scratch.matches().filter(|(_, inlier)| *inlier);
        if !spread_ok(inliers.map(|(p, _)| p), &self.camera) {
            return Err(Some(Reason::Spread));
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
        )
        .ok_or(Some(Reason::Covariance))?;
        // Relative to the previous fix: the tracking's own and the DEM's; the previous
        // fix's error comes on top for the pose itself.
        let g = gaussian_overbound(self.cfg.axis_exceedance);
        let relative = est.covariance + inherited.dem.map(|c| c * g * g);
        est.covariance = relative + inherited.previous;
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
        let reason = first_failed(&[
            (covariance_ok(&est.covariance), Reason::Covariance),
            (attitude_ok, Reason::AttitudeGate),
            (nees <= gate, Reason::PriorGate),
        ]);
        if reason != Reason::None {
            return Err(Some(reason));
        }
        Ok(FrameResult {
            status: FixStatus::Fix,
            reason,
            pose: est.pose,
            covariance: est.covariance,
            matched: tracked.found,
            inliers: est.inliers,
            nees,
            residual_px: est.sigma_px,
            map_sigma_m: self.dem_sigma_m * g,
            tracked: tracked.found,
            relative_covariance: Some(relative),
            ..FrameResult::unsolved(prior)
        })
    }
}
