//! Step 5, integrity made visible: a fix's covariance made an overbound of its error, the
//! gates a fix must pass (inliers, their spread over the image, NEES against the prior and
//! the inertial attitude), and the altitude and rangefinder judged against the result.

use super::common_mode::{intrinsics_covariance, registration_covariance};
use super::{FixStatus, FrameNavigator, Prior, Reason, Workspace};
use crate::camera::Camera;
use crate::linalg::{Mat6, Vec3};
use crate::matching::MatchOutcome;
use crate::pose::Pose;
use crate::rangefinder::LrfReport;
use crate::robust::{AttitudePrior, PoseEstimate};
use crate::stats::{Confidence, chi2_quantile, normal_upper_quantile, student_t_upper_quantile};

/// Least fraction of the image the inliers' bounding box must cover.
const MIN_SPREAD: f64 = 0.05;

/// A frame's rangefinder reading and what the monitor's motion check needs with it.
#[derive(Clone, Copy)]
pub(super) struct LrfInput {
    pub(super) reading: Option<f64>,
    /// The raw inertial prior's position sigma (NaN: no motion check).
    pub(super) inertial_sigma_m: f64,
    /// The part of the prior's error drawn anew each frame, as the inertial-error filter
    /// measures it, 1-sigma.
    pub(super) independent_sigma_m: f64,
}

/// A map fix's integrity: its verdict, its NEES against the prior and the map's
/// common-mode position sigma added to its covariance.
#[derive(Clone, Copy)]
pub(super) struct MapCheck {
    pub(super) status: FixStatus,
    /// The first check the pose failed ([`Reason::None`] for a fix).
    pub(super) reason: Reason,
    pub(super) nees: f64,
    pub(super) map_sigma_m: f64,
    /// Rejected only by the NEES against a corrected prior: it passes against the raw one.
    pub(super) prior_conflict: bool,
}

impl FrameNavigator<'_> {
    /// The altitude above the DEM below `pose` and the rangefinder's verdict against the
    /// pose and its covariance (NaN and unchecked without a DEM).
    pub(super) fn checks(&mut self, pose: &Pose, cov: &Mat6, lrf: LrfInput) -> (f64, LrfReport) {
        match &self.dem {
            Some(dem) => {
                let alt = dem.altitude(pose.position).map_or(f64::NAN, |a| a.altitude);
                let report = self.monitor.update_with_motion(
                    lrf.reading,
                    pose,
                    cov,
                    dem,
                    lrf.inertial_sigma_m,
                    lrf.independent_sigma_m,
                );
                (alt, report)
            }
            None => (f64::NAN, LrfReport::unchecked()),
        }
    }

    /// The integrity of a pose from the map, solved from the workspace's last pass: its
    /// covariance overbounded for the estimated residual sigma (Student-t), then inflated
    /// by the map's common-mode error; the verdict from its inliers, their spread and its
    /// NEES against `prior` (the raw prior or the corrected one) and against the inertial
    /// `attitude` fused into it. A pose refused only by its NEES against a corrected prior
    /// that passes against `raw_prior` is a conflict with the inertial-error filter.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_map_fix(
        &self,
        est: &mut PoseEstimate,
        raw_prior: &Prior,
        prior: &Prior,
        attitude: Option<AttitudePrior>,
        gsd_ratio: f64,
        matched: usize,
        ws: &mut Workspace,
    ) -> MapCheck {
        overbound(&mut est.covariance, est.inliers, self.cfg.axis_exceedance);
        let tpl = super::solve::median(
            ws.outcomes
                .iter()
                .take(ws.n_outcomes)
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
        // axes (a height error of the map tilts the landmarks; it does not turn them about
        // the boresight). Without it the attitude sigmas on those axes understate the errors.
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
        let (position, tilt) = (map_sigma * map_sigma, tilt * tilt);
        est.covariance
            .add_diagonal([position, position, position, tilt, tilt, 0.0]);
        // The map's registration error, in its modes, overbounded as the map's other
        // common-mode error; a pose whose re-solves fail cannot carry it and is refused.
        let rc = self.ransac_config(gsd_ratio, attitude);
        let g = gaussian_overbound(self.cfg.axis_exceedance);
        let registration = registration_covariance(
            &est.pose,
            ws.image.get(..matched).unwrap_or(&[]),
            ws.world.get(..matched).unwrap_or(&[]),
            ws.mask.get(..matched).unwrap_or(&[]),
            &mut ws.perturbed,
            &rc,
            self.registration_sigma_m,
        );
        // The camera's intrinsic errors, the same way.
        let (fx, fy) = self.camera.focal();
        let intrinsics = intrinsics_covariance(
            &est.pose,
            ws.image.get(..matched).unwrap_or(&[]),
            ws.world.get(..matched).unwrap_or(&[]),
            ws.mask.get(..matched).unwrap_or(&[]),
            &mut ws.perturbed_image,
            &rc,
            &self.cfg.intrinsic_sigma,
            (fx, fy),
        );
        let common_mode_ok = registration.is_some() && intrinsics.is_some();
        for c in [registration, intrinsics].into_iter().flatten() {
            est.covariance += c * (g * g);
        }
        // Integrity: inliers, their spread, NEES against the prior.
        let nees = position_nees(est.pose.position, prior, &est.covariance);
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
        let reason = first_failed(&[
            (est.inliers >= self.cfg.min_inliers, Reason::FewInliers),
            (spread_ok, Reason::Spread),
            (covariance_ok(&est.covariance), Reason::Covariance),
            (common_mode_ok, Reason::CommonMode),
            (attitude_nees <= gate, Reason::AttitudeGate),
            (nees <= gate, Reason::PriorGate),
        ]);
        let status = match reason {
            Reason::None => FixStatus::Fix,
            Reason::FewInliers => FixStatus::NoFix,
            _ => FixStatus::Rejected,
        };
        let prior_conflict = reason == Reason::PriorGate
            && prior != raw_prior
            && position_nees(est.pose.position, raw_prior, &est.covariance) <= gate;
        MapCheck {
            status,
            reason,
            nees,
            map_sigma_m: map_sigma,
            prior_conflict,
        }
    }
}

/// The reason of the first check in `checks` that failed (`(passed, reason)` pairs in the
/// order they are judged), [`Reason::None`] when all passed.
pub(super) fn first_failed(checks: &[(bool, Reason)]) -> Reason {
    checks
        .iter()
        .find(|(passed, _)| !passed)
        .map_or(Reason::None, |(_, r)| *r)
}

/// Whether a pose's covariance can be reported: finite and positive-definite (its Cholesky
/// factor exists). An overflowing or degenerate covariance would report no sigma, or a
/// NaN NEES that no gate refuses.
pub(super) fn covariance_ok(cov: &Mat6) -> bool {
    crate::linalg::cholesky6(cov).is_some()
}

/// The squared distance of a fixed position from the prior's over the variance of their
/// difference: the prior's per axis and the fix's largest position variance (a prior
/// corrected by earlier fixes can be as tight as the fix itself).
pub(super) fn position_nees(position: Vec3, prior: &Prior, cov: &Mat6) -> f64 {
    let d = position - prior.pose.position;
    let [x, y, z, ..] = cov.diagonal();
    let fix = [x, y, z].into_iter().fold(0.0, f64::max);
    d.norm_squared() / (prior.sigma_pos_m * prior.sigma_pos_m + fix)
}

/// The gate of the NEES checks against the prior (3 degrees of freedom, 99.99 %).
pub(super) fn nees_gate() -> f64 {
    chi2_quantile(3, Confidence::P9999).unwrap_or(21.1)
}

/// The squared angle between a pose's attitude and the inertial one over the variance of
/// their difference: the inertial sigma's and the pose's own mean attitude variance (a
/// tracked attitude carries the previous fix's and the DEM's, which low down can exceed the
/// inertial one).
pub(super) fn attitude_nees(inertial: &AttitudePrior, pose: &Pose, cov: &Mat6) -> f64 {
    let e = inertial
        .attitude
        .conjugate()
        .mul_quat(pose.attitude)
        .to_rotation_vector();
    let [.., x, y, z] = cov.diagonal();
    let own = [x, y, z].into_iter().sum::<f64>() / 3.0;
    e.norm_squared() / (inertial.sigma_rad * inertial.sigma_rad + own)
}

/// The factor that makes three reported sigmas of a Gaussian error its two-sided quantile at
/// `exceedance` (1 when `exceedance` is zero, NaN or not below the Gaussian's own 0.27 %).
pub(super) fn gaussian_overbound(exceedance: f64) -> f64 {
    let z = normal_upper_quantile(0.5 * exceedance);
    if z.is_finite() && z > 3.0 {
        z / 3.0
    } else {
        1.0
    }
}

/// Scales a fit's covariance for its estimated residual sigma: the two-sided Student-t
/// quantile at `exceedance` with the fit's degrees of freedom, over 3 (see
/// [`NavConfig::axis_exceedance`](super::NavConfig::axis_exceedance)).
pub(super) fn overbound(cov: &mut Mat6, inliers: usize, exceedance: f64) {
    let dof = 2.0 * inliers as f64 - 6.0;
    let scale = student_t_upper_quantile(dof, 0.5 * exceedance) / 3.0;
    if scale.is_finite() && scale > 0.0 {
        *cov = *cov * (scale * scale);
    }
}

/// Whether the bounding box of a pose's inliers (level-0 pixels) covers more than
/// [`MIN_SPREAD`] of the camera's image: a pose from one corner of it is not trusted.
pub(super) fn spread_ok(inliers: impl Iterator<Item = [f64; 2]>, camera: &Camera) -> bool {
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
