//! The laser rangefinder monitor: is the reading consistent with the pose and the map?
//!
//! The predicted slant range comes from marching the rangefinder's beam through the DEM
//! ([`crate::dem::Heightfield::ray_cast`]). Near cliffs and crater rims that range is
//! *discontinuous* in the pose: a beam sliding off a rim onto a crater floor jumps by
//! kilometres for a metre of motion. A linearised test (one prediction, a Jacobian, a
//! chi-square gate) then rejects a correct reading whenever the estimate and the truth sit
//! on different sides of the rim: the failure that lost the ispace Hakuto-R lander in 2023
//! (a correct reading jumped by ~3 km at a crater rim and was rejected).
//!
//! So the monitor propagates the pose uncertainty through the ray march itself: it casts
//! the beam from the estimated pose and from 12 sigma points at +-`spread` standard
//! deviations along the columns of the covariance's Cholesky factor. The reading is
//! consistent when it lies within the chi-square gate of the *hull* of those predicted
//! ranges, with a per-reading sigma from the sensor model and the DEM's vertical error
//! (projected on the beam by the incidence angle). This is a set-membership test: any pose
//! within the spread explains the reading. On smooth terrain it reduces to the usual
//! interval test; across a rim both the rim and the floor ranges are in the hull.
//!
//! A faulty sensor is excluded but never for good: it is re-admitted after
//! `readmit_after` consecutive consistent readings.

use crate::dem::{DemError, Heightfield, RayHit};
use crate::linalg::{Mat6, Quat, Vec3, cholesky6};
use crate::pose::Pose;
use crate::stats::{Confidence, chi2_quantile};
use core::fmt;

/// Monitor settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangefinderConfig {
    /// Beam direction in the camera frame (normalised on use).
    pub direction_cam: Vec3,
    /// Beam origin relative to the camera centre, camera frame, metres.
    pub offset_cam: Vec3,
    /// Sensor noise: constant part, metres (1-sigma).
    pub sigma_m: f64,
    /// Sensor noise: part proportional to range (1-sigma, fraction).
    pub sigma_fraction: f64,
    /// 1-sigma (RMS) vertical error of the DEM, metres.
    pub dem_sigma_m: f64,
    /// Degrees of freedom of the Student-t distribution the DEM's error at one point
    /// follows, scaled to the RMS `dem_sigma_m`; above 2 (infinity: Gaussian). A DEM
    /// misses the relief below its spacing, and a beam samples one point of it: over
    /// cratered ground the tails are heavy (on trn-sim's sites the 99.9 % point error is
    /// 7.7-8.7 times the RMS, where a Gaussian gives 3.3; three degrees of freedom give
    /// 7.5). The gates allow the DEM its quantile at the gate's probability.
    pub dem_tail_dof: f64,
    /// Valid span of readings, metres: outside it a reading counts as none.
    pub min_range_m: f64,
    /// Upper end of the valid span, metres.
    pub max_range_m: f64,
    /// Sigma points are placed at this many standard deviations.
    pub spread: f64,
    /// Confidence of the chi-square gate (1 degree of freedom).
    pub gate: Confidence,
    /// Consistent readings in a row needed to re-admit an excluded sensor.
    pub readmit_after: u32,
}

impl Default for RangefinderConfig {
    /// Boresight beam, 0.5 m + 0.5 % noise, 1 m DEM sigma with Student-t tails of 3
    /// degrees of freedom, 10 m to 30 km, 3-sigma spread, 99.9 % gate, re-admission after 3
    /// consistent readings.
    fn default() -> Self {
        Self {
            direction_cam: Vec3::new(0.0, 0.0, 1.0),
            offset_cam: Vec3::ZERO,
            sigma_m: 0.5,
            sigma_fraction: 0.005,
            dem_sigma_m: 1.0,
            dem_tail_dof: 3.0,
            min_range_m: 10.0,
            max_range_m: 30_000.0,
            spread: 3.0,
            gate: Confidence::P999,
            readmit_after: 3,
        }
    }
}

/// The verdict on one reading (the `lrf_status` of the results format; by default
/// `Unchecked`: nothing is claimed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LrfStatus {
    /// Consistent with the pose and the map; the sensor is admitted.
    Ok,
    /// No reading, a non-finite one, or one outside the valid span.
    NoReading,
    /// This reading is inconsistent with the pose and the map.
    Fault,
    /// This reading is consistent, but the sensor is still excluded while it earns
    /// re-admission after a fault ([`RangefinderConfig::readmit_after`]).
    Held,
    /// No prediction was possible (beam off the map, no data, no intersection).
    #[default]
    Unchecked,
}

impl LrfStatus {
    /// The lower-case name used in results files.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::NoReading => "no_reading",
            Self::Fault => "fault",
            Self::Held => "held",
            Self::Unchecked => "unchecked",
        }
    }
}

impl fmt::Display for LrfStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the monitor concluded about one reading.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrfReport {
    /// The verdict.
    pub status: LrfStatus,
    /// Predicted range from the estimated pose, metres (NaN when unavailable).
    pub predicted_m: f64,
    /// Smallest and largest predicted range over the sigma points, metres.
    pub predicted_span_m: (f64, f64),
    /// 1-sigma of the reading used in the gate, metres.
    pub sigma_m: f64,
    /// Normalised innovation squared against the hull of predictions (0 inside it).
    pub nis: f64,
    /// True when this reading passed the gate (whatever the admission state).
    pub consistent: bool,
    /// True while the sensor is excluded.
    pub excluded: bool,
    /// Consistent readings in a row so far.
    pub consistent_run: u32,
    /// Normalised innovation squared of the change since the last consistent reading
    /// against the change the poses predict (NaN when not checked).
    pub motion_nis: f64,
}

impl LrfReport {
    /// A reading nothing was predicted for (no DEM, or not judged yet): `Unchecked`, NaN
    /// predictions, not excluded.
    #[must_use]
    pub const fn unchecked() -> Self {
        Self {
            status: LrfStatus::Unchecked,
            predicted_m: f64::NAN,
            predicted_span_m: (f64::NAN, f64::NAN),
            sigma_m: f64::NAN,
            nis: f64::NAN,
            consistent: false,
            excluded: false,
            consistent_run: 0,
            motion_nis: f64::NAN,
        }
    }
}

/// The monitor's state: admission, the run of consistent readings and the two latest
/// consistent readings with the poses they were judged from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangefinderMonitor {
    config: RangefinderConfig,
    /// The DEM's point error at the gate's probability, in RMS units (from the config,
    /// once).
    dem_tail: f64,
    excluded: bool,
    run: u32,
    last: Option<Reference>,
    anchor: Option<Reference>,
    motion_failures: u32,
}

/// A consistent reading kept to judge later readings' changes against.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Reference {
    range: f64,
    pose: Pose,
    /// The inertial prior's position sigma at that reading.
    inertial_sigma: f64,
    /// The part of that prior's error drawn anew each frame, 1-sigma.
    independent_sigma: f64,
    /// The motion NIS the reading had against its own latest reference when it was kept
    /// (NaN when it had none).
    motion_nis: f64,
}

/// A latest reference whose motion NIS against its own reference stayed below this agreed
/// with it too well to be the fault a new reading disagrees with: a new reading that fails
/// against it and passes only against the older (two-frame, looser) reference is flagged
/// rather than taken to show the reference wrong.
const REFERENCE_SUSPECT_NIS: f64 = 1.0;

/// The 1-sigma of the inertial position error accumulated between a frame whose inertial
/// prior had position sigma `before` and one with sigma `now`: the growth of the variance,
/// and at least a tenth of the prior's own, since inertial errors are not independent
/// between frames.
#[must_use]
pub fn inertial_growth(now: f64, before: f64) -> f64 {
    let sq = |x: f64| x * x;
    crate::math::sqrt_clamped((sq(now) - sq(before)).max(sq(0.1 * now)))
}

impl RangefinderMonitor {
    /// A monitor with the sensor admitted.
    #[must_use]
    pub fn new(config: RangefinderConfig) -> Self {
        Self {
            config,
            dem_tail: dem_tail_factor(config.dem_tail_dof, config.gate),
            excluded: false,
            run: 0,
            last: None,
            anchor: None,
            motion_failures: 0,
        }
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &RangefinderConfig {
        &self.config
    }

    /// True while the sensor is excluded.
    #[must_use]
    pub fn is_excluded(&self) -> bool {
        self.excluded
    }

    /// The predicted range of the beam from `pose`, with the terrain hit.
    ///
    /// # Errors
    ///
    /// As [`Heightfield::ray_cast`].
    pub fn predict(
        &self,
        pose: &Pose,
        dem: &Heightfield<'_>,
    ) -> Result<crate::dem::RayHit, DemError> {
        let rot = pose.attitude.to_mat3();
        let origin = pose.position + rot.mul_vec(self.config.offset_cam);
        let dir = rot.mul_vec(self.config.direction_cam);
        dem.ray_cast(origin, dir, self.config.max_range_m * 1.5)
    }

    /// Sigma-point offsets of `covariance` (position, then camera-frame rotation vector):
    /// the centre first, then `spread` standard deviations either way along each Cholesky
    /// column; the count used (1, the centre alone, when the covariance is not positive
    /// definite).
    fn sigma_offsets(&self, covariance: &Mat6) -> ([[f64; 6]; SIGMA_POINTS], usize) {
        let mut out = [[0.0; 6]; SIGMA_POINTS];
        let Some(l) = cholesky6(covariance) else {
            return (out, 1);
        };
        for (n, d) in out.iter_mut().enumerate().skip(1) {
            let (k, sign) = ((n - 1) / 2, if n % 2 == 1 { -1.0 } else { 1.0 });
            for (di, c) in d.iter_mut().zip(l.column(k)) {
                *di = sign * self.config.spread * c;
            }
        }
        (out, SIGMA_POINTS)
    }

    /// Smallest and largest predicted change of range since `before`, the same offsets
    /// applied to both poses (a common pose error); `now[k]` is the cast already made from
    /// the current pose with `offsets[k]`. `None` when any offset has no range at either
    /// pose, or there are no sigma points (then the change cannot be bounded).
    fn predicted_change(
        &self,
        before: &Pose,
        offsets: &[[f64; 6]],
        now: &[Result<RayHit, DemError>],
        dem: &Heightfield<'_>,
    ) -> Option<(f64, f64)> {
        if offsets.len() < 2 {
            return None;
        }
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (d, hit) in offsets.iter().zip(now) {
            let then = self.predict(&shifted(before, d), dem).ok()?;
            let c = hit.as_ref().ok()?.range - then.range;
            lo = lo.min(c);
            hi = hi.max(c);
        }
        Some((lo, hi))
    }

    /// Judges one reading against the pose estimate and its 6x6 covariance (position in
    /// metres, then attitude as a camera-frame rotation vector in radians, with
    /// `q_true = q_est * exp(delta)`), and updates the admission state.
    pub fn update(
        &mut self,
        reading: Option<f64>,
        pose: &Pose,
        covariance: &Mat6,
        dem: &Heightfield<'_>,
    ) -> LrfReport {
        self.update_with_motion(reading, pose, covariance, dem, f64::NAN, 0.0)
    }

    /// [`Self::update`], and the change since the latest consistent readings judged against
    /// the change the poses predict; `inertial_sigma_m` is the inertial prior's position
    /// sigma at this frame, and the growth of that sigma since a reference reading
    /// ([`inertial_growth`]) is the relative pose error between the two, to which the
    /// part of each frame's prior error that is drawn anew each frame
    /// (`independent_sigma_m`, 1-sigma, 0 for a purely drifting prior) adds at both
    /// frames: it does not cancel in the change. A NaN or negative value of either skips
    /// the motion check.
    ///
    /// The absolute check cannot judge a reading once the pose is uncertain by more than
    /// the sensor's faults (below the last vision fix, with only the drifting inertial
    /// prior); the pose's error is then mostly common to consecutive frames and cancels in
    /// the change, so a frozen, jumping or newly biased reading still stands out. The
    /// common error is carried by the same sigma points through both poses, so terrain
    /// relief under an uncertain position widens the predicted change instead of raising
    /// an alarm.
    ///
    /// Two references isolate which reading is wrong: a reading that disagrees with the
    /// latest reference but agrees with the one before has shown the latest to be a fault
    /// that passed (it is dropped, the reading is fine); one that agrees only with the
    /// latest, against the one before, follows a fault that passed (a frozen value) and is
    /// flagged. Two motion failures in a row clear both references. NaN skips the check.
    pub fn update_with_motion(
        &mut self,
        reading: Option<f64>,
        pose: &Pose,
        covariance: &Mat6,
        dem: &Heightfield<'_>,
        inertial_sigma_m: f64,
        independent_sigma_m: f64,
    ) -> LrfReport {
        let cfg = self.config;
        let mut report = LrfReport {
            excluded: self.excluded,
            consistent_run: self.run,
            ..LrfReport::unchecked()
        };
        let z = match reading {
            Some(z) if z.is_finite() && z >= cfg.min_range_m && z <= cfg.max_range_m => z,
            _ => {
                report.status = LrfStatus::NoReading;
                return report;
            }
        };
        // Every sigma point is cast once; the motion check below reuses the casts.
        let (offsets, n_points) = self.sigma_offsets(covariance);
        let offsets = offsets.get(..n_points).unwrap_or(&[]);
        let mut now = [Err(DemError::NonFinite); SIGMA_POINTS];
        for (hit, d) in now.iter_mut().zip(offsets) {
            *hit = self.predict(&shifted(pose, d), dem);
        }
        let now = now.get(..n_points).unwrap_or(&[]);
        let Some(Ok(centre)) = now.first() else {
            return report;
        };
        report.predicted_m = centre.range;

        let (mut lo, mut hi) = (centre.range, centre.range);
        let mut cos_inc = incidence(centre, pose, &cfg);
        for (hit, d) in now.iter().zip(offsets).skip(1) {
            // A pose the covariance allows but the terrain does not (below the surface)
            // admits any short range; a beam that misses the terrain, any long one.
            // Dropping such points would narrow the span exactly when the pose is too
            // uncertain to judge the reading.
            match hit {
                Ok(hit) => {
                    lo = lo.min(hit.range);
                    hi = hi.max(hit.range);
                    cos_inc = cos_inc.min(incidence(hit, &shifted(pose, d), &cfg));
                }
                Err(DemError::StartsBelowSurface) => lo = 0.0,
                Err(DemError::NoIntersection) => hi = f64::INFINITY,
                Err(_) => {}
            }
        }
        report.predicted_span_m = (lo, hi);
        // A vertical DEM error moves the hit along the beam by dh / cos(incidence); grazing
        // beams are capped at 85 degrees so the sigma stays finite.
        let dem_along = cfg.dem_sigma_m / cos_inc.max(0.087);
        let sensor = cfg.sigma_m + cfg.sigma_fraction * z;
        // What each error may reach at the gate's probability: the sensor's Gaussian
        // quantile, the DEM's heavy-tailed one; the reading may lie that far outside the
        // span the pose allows. The NIS is scaled so that the chi-square gate still
        // applies, and the sigma reported is the allowance over the Gaussian quantile.
        let gate = chi2_quantile(1, cfg.gate).unwrap_or(10.83);
        let k_gauss = crate::math::sqrt(gate);
        let k_dem = self.dem_tail.max(k_gauss);
        let allowance = |gaussian2: f64, dem2: f64| {
            crate::math::sqrt(k_gauss * k_gauss * gaussian2 + k_dem * k_dem * dem2)
        };
        let allow = allowance(sensor * sensor, dem_along * dem_along);
        report.sigma_m = allow / k_gauss;
        let dist = outside(z, lo, hi);
        let nis = gate * (dist / allow) * (dist / allow);
        report.nis = nis;
        report.consistent = nis <= gate;
        if inertial_sigma_m >= 0.0
            && inertial_sigma_m.is_finite()
            && independent_sigma_m >= 0.0
            && independent_sigma_m.is_finite()
        {
            let judge = |r: Option<Reference>| -> Option<f64> {
                let r = r?;
                let (dlo, dhi) = self.predicted_change(&r.pose, offsets, now, dem)?;
                let growth = inertial_growth(inertial_sigma_m, r.inertial_sigma);
                let motion2 = growth * growth
                    + independent_sigma_m * independent_sigma_m
                    + r.independent_sigma * r.independent_sigma;
                // Sensor noise at both readings, the relative pose error, DEM error at both
                // hits.
                let s0 = cfg.sigma_m + cfg.sigma_fraction * r.range;
                let allow = allowance(
                    sensor * sensor + s0 * s0 + motion2,
                    2.0 * dem_along * dem_along,
                );
                let dist = outside(z - r.range, dlo, dhi);
                Some(gate * (dist / allow) * (dist / allow))
            };
            let (m_last, m_anchor) = (judge(self.last), judge(self.anchor));
            let pass = |m: f64| m <= gate;
            // The latest reference can only be the fault when it sat off its own reference
            // (or was never checked against one).
            let last_suspect = self
                .last
                .is_some_and(|r| !(r.motion_nis < REFERENCE_SUSPECT_NIS));
            let (motion_ok, last_was_fault) = match (m_last, m_anchor) {
                (Some(a), Some(b)) if !pass(a) && pass(b) && last_suspect => (true, true),
                (Some(a), Some(b)) => (pass(a) && pass(b), false),
                (Some(m), None) | (None, Some(m)) => (pass(m), false),
                (None, None) => (true, false),
            };
            report.motion_nis = m_last.or(m_anchor).unwrap_or(f64::NAN);
            if last_was_fault {
                self.last = None;
            }
            if motion_ok {
                self.motion_failures = 0;
            } else {
                report.consistent = false;
                self.motion_failures = self.motion_failures.saturating_add(1);
                if self.motion_failures >= 2 {
                    // The references themselves may be faults that passed: start afresh
                    // from the absolute check.
                    self.last = None;
                    self.anchor = None;
                    self.motion_failures = 0;
                }
            }
            if report.consistent {
                if let Some(previous) = self.last {
                    self.anchor = Some(previous);
                }
                self.last = Some(Reference {
                    range: z,
                    pose: *pose,
                    inertial_sigma: inertial_sigma_m,
                    independent_sigma: independent_sigma_m,
                    // Against the reference it was judged by: the older one when the
                    // latest was just shown to be a fault.
                    motion_nis: if last_was_fault { m_anchor } else { m_last }.unwrap_or(f64::NAN),
                });
            }
        }

        if report.consistent {
            self.run = self.run.saturating_add(1);
            if self.excluded && self.run >= cfg.readmit_after {
                self.excluded = false;
            }
        } else {
            self.run = 0;
            self.excluded = true;
        }
        report.status = match (report.consistent, self.excluded) {
            (true, false) => LrfStatus::Ok,
            (true, true) => LrfStatus::Held,
            (false, _) => LrfStatus::Fault,
        };
        report.excluded = self.excluded;
        report.consistent_run = self.run;
        report
    }
}

/// The DEM's point error at the gate's two-sided probability, in units of its RMS: the
/// Student-t quantile with `dof` degrees of freedom over the distribution's standard
/// deviation `sqrt(dof / (dof - 2))`; the Gaussian quantile for infinite, NaN or too few
/// degrees of freedom.
fn dem_tail_factor(dof: f64, gate: Confidence) -> f64 {
    let gaussian = crate::math::sqrt(chi2_quantile(1, gate).unwrap_or(10.83));
    if !(dof > 2.0) || !dof.is_finite() {
        return gaussian;
    }
    let tail = match gate {
        Confidence::P95 => 0.05,
        Confidence::P99 => 0.01,
        Confidence::P999 => 0.001,
        Confidence::P9999 => 0.0001,
    };
    let t = crate::stats::student_t_upper_quantile(dof, 0.5 * tail);
    let k = t / crate::math::sqrt(dof / (dof - 2.0));
    if k.is_finite() { k } else { gaussian }
}

/// Sigma points of a 6-D pose covariance: the centre and two per dimension.
const SIGMA_POINTS: usize = 13;

/// `pose` moved by a sigma-point offset (position, then camera-frame rotation vector).
fn shifted(pose: &Pose, d: &[f64; 6]) -> Pose {
    Pose::new(
        pose.position + Vec3::new(d[0], d[1], d[2]),
        pose.attitude
            .mul_quat(Quat::from_rotation_vector(Vec3::new(d[3], d[4], d[5]))),
    )
}

/// How far `x` lies outside `[lo, hi]` (zero inside).
fn outside(x: f64, lo: f64, hi: f64) -> f64 {
    if x < lo {
        lo - x
    } else if x > hi {
        x - hi
    } else {
        0.0
    }
}

/// Cosine of the angle between the beam and the terrain normal at the hit.
fn incidence(hit: &RayHit, pose: &Pose, cfg: &RangefinderConfig) -> f64 {
    let dir = pose
        .attitude
        .to_mat3()
        .mul_vec(cfg.direction_cam)
        .try_normalize()
        .unwrap_or(Vec3::new(0.0, 0.0, -1.0));
    (-dir.dot(hit.normal)).abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DEM's tail factor: Student-t's two-sided quantile over its standard deviation
    /// (three degrees of freedom at 99.9 %: 12.92 / sqrt 3), and the Gaussian's where the
    /// degrees of freedom are infinite, too few for a variance, or NaN.
    #[test]
    fn dem_tail_factor_known_answers() {
        let t3 = dem_tail_factor(3.0, Confidence::P999);
        assert!((t3 - 12.924 / 3f64.sqrt()).abs() < 0.02, "{t3}");
        let gaussian = 10.828f64.sqrt();
        for dof in [f64::INFINITY, f64::NAN, 2.0, 1.0] {
            assert!((dem_tail_factor(dof, Confidence::P999) - gaussian).abs() < 1e-3);
        }
        // Many degrees of freedom approach the Gaussian from above.
        let t1000 = dem_tail_factor(1000.0, Confidence::P999);
        assert!(t1000 > gaussian && t1000 < gaussian * 1.01, "{t1000}");
        // At 99 %: 5.841 / sqrt 3.
        let t3_99 = dem_tail_factor(3.0, Confidence::P99);
        assert!((t3_99 - 5.841 / 3f64.sqrt()).abs() < 0.01, "{t3_99}");
    }
}
