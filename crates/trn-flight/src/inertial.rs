//! The inertial navigation's error as the fixes reveal it.
//!
//! An inertial prior's reported sigma says how far it may be from the truth, not how its
//! error moves between frames: an error made of an initial offset and a velocity bias
//! reports a sigma of hundreds of metres that grows by tens between frames, while the error
//! itself changes by metres. Each fix measures the error (prior minus fix); a two-state
//! Kalman filter per site axis (the error and its rate, the rate a random walk, the error
//! also one) follows it, and predicts the next frame's error with a covariance. The
//! corrected prior is the raw one minus that prediction: metres instead of hundreds, so the
//! next frame's search windows and gates are tight.
//!
//! The model's two noise densities ([`InertialModel`]) are the inertial unit's; the
//! defaults overbound a navigation-grade unit in powered descent.
//!
//! A prior need not drift: a state uplinked from the ground, another sensor or a dataset
//! made with independent noise has an error that is independent from frame to frame, and a
//! filter that took it for a drift would "correct" the prior to metres while it is tens of
//! metres off. So the filter tests each prediction against the fix that follows (the
//! innovation's NIS over three axes against its 99.99 % chi-square bound): a prediction
//! that fails restarts the filter from that fix, and the filter's corrections are used only
//! once [`InertialModel::verify_after`] predictions in a row have passed
//! ([`InertialError::holds`]). Until then the navigator uses the raw prior, whose declared
//! sigma is honest whatever its error does between frames.
//!
//! A prior may also mix the two: a drift plus a part drawn anew each frame, which a filter
//! of the drift alone would take for velocity and coast on with a sigma far too small. So
//! the filter measures it: the mean excess of the squared innovations over their predicted
//! variance, pooled over the axes and every tested prediction since the descent began (a
//! restart keeps it). That excess is the variance of the part of the prior's error the
//! drift model cannot follow; it is added to each fix's variance in the updates and to
//! every prediction's. A failed prediction is itself such a measurement, so after a restart
//! the filter may hold again with predictions that carry the prior's scatter: never
//! tighter than the prior's own independent error, whatever the mix.

use crate::linalg::Vec3;
use crate::math;
use crate::stats::{Confidence, chi2_quantile};

/// How the inertial error may move, per site axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InertialModel {
    /// Random walk of the position error, m^2/s (its variance grows this much per second).
    pub position_walk_m2_per_s: f64,
    /// Random walk of the velocity error, (m/s)^2/s: an accelerometer error of `a` m/s^2
    /// held for `T` seconds is covered by about `a^2 T`.
    pub velocity_walk_m2_per_s3: f64,
    /// 1-sigma of the velocity error before two fixes have measured it, m/s.
    pub initial_velocity_sigma_mps: f64,
    /// Predictions in a row that must pass their test against the next fix before the
    /// filter's corrections are used (0: from the first fix on).
    pub verify_after: u32,
}

impl Default for InertialModel {
    fn default() -> Self {
        Self {
            position_walk_m2_per_s: 1.0,
            velocity_walk_m2_per_s3: 0.01,
            initial_velocity_sigma_mps: 1.0,
            verify_after: 3,
        }
    }
}

/// One axis: the error and its rate, and their covariance.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Axis {
    e: f64,
    v: f64,
    p: [[f64; 2]; 2],
}

impl Axis {
    /// Propagated by `dt` seconds.
    fn predict(&self, dt: f64, m: &InertialModel) -> Self {
        let [[p00, p01], [p10, p11]] = self.p;
        let qa = m.velocity_walk_m2_per_s3;
        let qp = m.position_walk_m2_per_s;
        let dt2 = dt * dt;
        Self {
            e: self.e + self.v * dt,
            v: self.v,
            p: [
                [
                    p00 + dt * (p01 + p10) + dt2 * p11 + qa * dt2 * dt / 3.0 + qp * dt,
                    p01 + dt * p11 + qa * dt2 / 2.0,
                ],
                [p10 + dt * p11 + qa * dt2 / 2.0, p11 + qa * dt],
            ],
        }
    }

    /// Updated with a measurement `z` of the error with variance `r`.
    fn update(&self, z: f64, r: f64) -> Self {
        let [[p00, p01], [p10, p11]] = self.p;
        let s = p00 + r;
        if !(s > 0.0) {
            return *self;
        }
        let (k0, k1) = (p00 / s, p10 / s);
        let innovation = z - self.e;
        Self {
            e: self.e + k0 * innovation,
            v: self.v + k1 * innovation,
            p: [
                [(1.0 - k0) * p00, (1.0 - k0) * p01],
                [p10 - k1 * p00, p11 - k1 * p01],
            ],
        }
    }
}

/// The inertial error followed from fix to fix (see the module's documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InertialError {
    axes: [Axis; 3],
    /// The last fix's variance per axis: the fixes share the map's error, so averaging
    /// them does not take the error's variance below one fix's.
    floor: [f64; 3],
    /// Time of the last fix, seconds; `None` before the first.
    time_s: Option<f64>,
    /// Predictions in a row that passed their test against the next fix.
    verified: u32,
    /// Sum over every tested prediction and axis of the squared innovation less its
    /// predicted variance, m^2, and how many terms: their mean is the variance of the
    /// prior's error that the drift model does not follow.
    excess_sum: f64,
    excess_count: u32,
}

impl InertialError {
    /// Nothing known yet.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            axes: [Axis {
                e: 0.0,
                v: 0.0,
                p: [[0.0; 2]; 2],
            }; 3],
            floor: [0.0; 3],
            time_s: None,
            verified: 0,
            excess_sum: 0.0,
            excess_count: 0,
        }
    }

    /// The variance of the prior's error that is independent from frame to frame, as the
    /// innovations have measured it so far (zero before any), m^2 per axis.
    #[must_use]
    pub fn independent_variance(&self) -> f64 {
        if self.excess_count == 0 {
            0.0
        } else {
            (self.excess_sum / f64::from(self.excess_count)).max(0.0)
        }
    }

    /// Whether the measured independent part ([`Self::independent_variance`]) exceeds the
    /// last fix's variance on its largest axis: below that, the innovations cannot tell it
    /// from the fixes' own errors.
    #[must_use]
    pub fn independent_part_significant(&self) -> bool {
        let fix = self.floor.iter().copied().fold(0.0, f64::max);
        self.independent_variance() > fix
    }

    /// Whether the model holds: its last [`InertialModel::verify_after`] predictions passed
    /// their test against the fixes that followed them.
    #[must_use]
    pub fn holds(&self, m: &InertialModel) -> bool {
        self.time_s.is_some() && self.verified >= m.verify_after
    }

    /// Withdraws the verification (the state is kept): a fix that agreed with the raw prior
    /// but not with the corrected one is evidence against the model, so its corrections
    /// wait for [`InertialModel::verify_after`] more passing predictions.
    pub fn withdraw(&mut self) {
        self.verified = 0;
    }

    /// Forgets every fix and the measured independent variance.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Starts again from the next fix, keeping the measured independent variance (a
    /// property of the prior's source, not of the state that failed).
    fn restart(&mut self) {
        *self = Self {
            excess_sum: self.excess_sum,
            excess_count: self.excess_count,
            ..Self::new()
        };
    }

    /// Takes a fix at `time_s`: `inertial` the raw prior's position of that frame, `fix` the
    /// fixed position and `sigma` its 1-sigma per site axis. The prediction for this time is
    /// tested against the fix first: when it passes, the fix updates the filter and counts
    /// towards [`Self::holds`]; when it fails, the filter starts again from this fix. A fix
    /// with a non-finite value is ignored; one earlier than the last fix (a new descent
    /// without [`Self::reset`]) starts the filter again from it.
    pub fn update(
        &mut self,
        time_s: f64,
        inertial: Vec3,
        fix: Vec3,
        sigma: [f64; 3],
        m: &InertialModel,
    ) {
        let z = inertial - fix;
        let ok = z.is_finite() && time_s.is_finite() && sigma.iter().all(|s| s.is_finite());
        if !ok {
            return;
        }
        if self.time_s.is_some_and(|t| time_s < t) {
            self.reset();
        }
        let dt = self.time_s.map_or(0.0, |t| time_s - t);
        if self.time_s.is_some() {
            // The test's variance is the state's (which carries the measured independent
            // part through the updates' fix variances) and the fix's, not the part the next
            // prior draws anew: a first failure measures that part, and after it the
            // filter may hold with predictions that carry it.
            let mut nis = 0.0;
            for ((axis, zi), s) in self.axes.iter().zip([z.x, z.y, z.z]).zip(sigma) {
                let a = axis.predict(dt, m);
                let innovation = zi - a.e;
                let predicted = a.p[0][0] + s * s;
                nis += innovation * innovation / predicted;
                let excess = innovation * innovation - predicted;
                if excess.is_finite() {
                    self.excess_sum += excess;
                    self.excess_count = self.excess_count.saturating_add(1);
                }
            }
            let gate = chi2_quantile(3, Confidence::P9999).unwrap_or(21.1);
            if nis <= gate {
                self.verified = self.verified.saturating_add(1);
            } else {
                self.restart();
            }
        }
        let extra = self.independent_variance();
        let first = self.time_s.is_none();
        for (((axis, zi), s), floor) in self
            .axes
            .iter_mut()
            .zip([z.x, z.y, z.z])
            .zip(sigma)
            .zip(self.floor.iter_mut())
        {
            let r = s * s + extra;
            *floor = s * s;
            *axis = if first {
                let sv = m.initial_velocity_sigma_mps;
                Axis {
                    e: zi,
                    v: 0.0,
                    p: [[r, 0.0], [0.0, sv * sv]],
                }
            } else {
                axis.predict(dt, m).update(zi, r)
            };
        }
        self.time_s = Some(time_s);
    }

    /// The predicted error at `time_s` (inertial minus true position) and its largest
    /// per-axis 1-sigma, which includes the measured independent part
    /// ([`Self::independent_variance`]); `None` before the first fix or for a time before
    /// the last fix's.
    #[must_use]
    pub fn predict(&self, time_s: f64, m: &InertialModel) -> Option<(Vec3, f64)> {
        let t0 = self.time_s?;
        let dt = time_s - t0;
        if !(dt >= 0.0) {
            return None;
        }
        let mut e = [0.0; 3];
        let mut var: f64 = 0.0;
        for ((ei, axis), floor) in e.iter_mut().zip(&self.axes).zip(self.floor) {
            let a = axis.predict(dt, m);
            *ei = a.e;
            var = var.max(a.p[0][0]).max(floor);
        }
        let var = var + self.independent_variance();
        Some((Vec3::new(e[0], e[1], e[2]), math::sqrt_clamped(var)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Pcg32;
    extern crate std;

    /// Descents of 40 frames 8 s apart with 1 m fixes, the inertial error an initial
    /// offset (150 m), a velocity error drawn with `sv` m/s that walks with `qa`, and a
    /// position walk `qp`: the mean per-axis NEES of the predictions from the fourth frame
    /// on, the largest normalised error, and the largest predicted sigma.
    fn run(sv: f64, qa: f64, qp: f64, m: &InertialModel) -> (f64, f64, f64) {
        let mut rng = Pcg32::new(5, 9);
        let (mut sum, mut n, mut worst, mut sigma_late) = (0.0, 0usize, 0.0f64, 0.0f64);
        let dt = 8.0;
        for _ in 0..300 {
            let mut f = InertialError::new();
            let mut g = |s: f64| Vec3::new(s * rng.normal(), s * rng.normal(), s * rng.normal());
            let mut err = g(150.0);
            let mut vel = g(sv);
            for k in 0..40 {
                let t = dt * k as f64;
                if k > 0 {
                    // Exact discretisation of the walks over the interval.
                    let w1 = g(1.0);
                    let w2 = g(1.0);
                    let (s11, s12, s22) = (qa * dt * dt * dt / 3.0, qa * dt * dt / 2.0, qa * dt);
                    let l11 = s11.sqrt();
                    let l21 = if l11 > 0.0 { s12 / l11 } else { 0.0 };
                    let l22 = (s22 - l21 * l21).max(0.0).sqrt();
                    err += vel * dt + w1 * l11 + g((qp * dt).sqrt());
                    vel += w1 * l21 + w2 * l22;
                }
                let truth = Vec3::new(10.0 * t, -3.0 * t, 15_000.0 - 30.0 * t);
                if k >= 3 {
                    let (pred, sigma) = f.predict(t, m).unwrap();
                    let d = pred - err;
                    for c in [d.x, d.y, d.z] {
                        sum += (c / sigma) * (c / sigma);
                        n += 1;
                        worst = worst.max((c / sigma).abs());
                    }
                    sigma_late = sigma_late.max(sigma);
                }
                f.update(t, truth + err, truth + g(1.0), [1.0; 3], m);
            }
        }
        (sum / n as f64, worst, sigma_late)
    }

    /// With the model's own noise the predictions' errors are as their sigma says (mean
    /// NEES 1 per axis); with the simulator's prior (a constant velocity bias of 0.3 m/s, a
    /// 0.5 m/sqrt(s) walk) the default model overbounds them and predicts within metres,
    /// where the prior's own sigma grows by tens of metres a frame.
    #[test]
    fn predictions_are_honest_and_tight() {
        let m = InertialModel::default();
        let (mean, worst, _) = run(1.0, m.velocity_walk_m2_per_s3, m.position_walk_m2_per_s, &m);
        assert!(
            (mean - 1.0).abs() < 0.1,
            "own model: mean NEES per axis {mean}"
        );
        assert!(worst < 6.0, "own model: worst {worst} sigma");
        let (mean, worst, sigma) = run(0.3, 0.0, 0.25, &m);
        assert!(mean < 1.0, "simulator's prior: mean NEES per axis {mean}");
        assert!(worst < 4.5, "simulator's prior: worst {worst} sigma");
        assert!(sigma < 6.0, "simulator's prior: sigma {sigma} m");
    }

    /// The share of frames (from the fifth on) at which the filter holds, over 300
    /// descents of 40 frames 8 s apart with 1 m fixes, the prior's error drawn by `error`
    /// for each frame from the one before.
    fn share_holding(mut error: impl FnMut(&mut Pcg32, Vec3) -> Vec3) -> f64 {
        let m = InertialModel::default();
        let mut rng = Pcg32::new(11, 3);
        let (mut holding, mut n) = (0usize, 0usize);
        for _ in 0..300 {
            let mut f = InertialError::new();
            let mut err = Vec3::ZERO;
            for k in 0..40 {
                let t = 8.0 * f64::from(k);
                err = error(&mut rng, err);
                if k >= 4 {
                    holding += usize::from(f.holds(&m));
                    n += 1;
                }
                let truth = Vec3::new(10.0 * t, -3.0 * t, 15_000.0 - 30.0 * t);
                let fix = truth + Vec3::new(rng.normal(), rng.normal(), rng.normal());
                f.update(t, truth + err, fix, [1.0; 3], &m);
            }
        }
        holding as f64 / n as f64
    }

    /// Errors independent from frame to frame (30 m per axis, 1 m fixes) fail the
    /// filter's first prediction; the failure measures their scatter, so the predictions
    /// that follow carry it and are honest (mean NEES per axis near 1, where a filter
    /// that took them for a drift would report metres): the corrected prior is never
    /// tighter than the prior's own scatter. A slow drift (150 m offset, 0.3 m/s bias,
    /// 0.5 m/sqrt(s) walk) passes the predictions, so they are used from the fourth fix on.
    #[test]
    fn corrections_only_when_the_model_holds() {
        let (nees, _, ind) = mixed(30.0, 1.0);
        assert!(
            (nees - 1.0).abs() < 0.2,
            "independent errors: mean NEES per axis {nees}"
        );
        assert!((ind - 30.0).abs() < 5.0, "independent sigma {ind}");
        let mut bias = Vec3::ZERO;
        let drift = share_holding(|rng, e| {
            let mut g = |s: f64| Vec3::new(s * rng.normal(), s * rng.normal(), s * rng.normal());
            if e == Vec3::ZERO {
                bias = g(0.3);
                return g(150.0);
            }
            e + bias * 8.0 + g(0.5 * 8.0f64.sqrt())
        });
        assert!(drift > 0.99, "drifting errors: holds {drift}");
    }

    /// A prior whose error is a slow drift plus a part drawn anew each frame (`ind` m per
    /// axis), fixed with `fix` m sigmas, over 300 descents of 40 frames 8 s apart: the mean
    /// per-axis NEES of the predictions at frames where the filter holds (NaN if it never
    /// does), the share of such frames, and the last measured independent sigma.
    fn mixed(ind: f64, fix: f64) -> (f64, f64, f64) {
        let m = InertialModel::default();
        let mut rng = Pcg32::new(17, 5);
        let (mut sum, mut n, mut frames, mut last) = (0.0, 0usize, 0usize, 0.0);
        let g = |rng: &mut Pcg32, s: f64| {
            Vec3::new(s * rng.normal(), s * rng.normal(), s * rng.normal())
        };
        for _ in 0..300 {
            let mut f = InertialError::new();
            let mut drift = g(&mut rng, 150.0);
            let bias = g(&mut rng, 0.3);
            for k in 0..40 {
                let t = 8.0 * f64::from(k);
                drift += bias * 8.0;
                let err = drift + g(&mut rng, ind);
                let truth = Vec3::new(10.0 * t, -3.0 * t, 15_000.0 - 30.0 * t);
                if k >= 4 {
                    frames += 1;
                    if f.holds(&m) {
                        let (pred, sigma) = f.predict(t, &m).unwrap();
                        let d = pred - err;
                        sum += (d.x * d.x + d.y * d.y + d.z * d.z) / (3.0 * sigma * sigma);
                        n += 1;
                    }
                }
                let measured = truth + g(&mut rng, fix);
                f.update(t, truth + err, measured, [fix; 3], &m);
            }
            last = f.independent_variance().sqrt();
        }
        (sum / n as f64, n as f64 / frames as f64, last)
    }

    /// Fixes loose enough (20 m, 50 m) for a drift with an independent part (30 m, 100 m)
    /// to pass the model's tests: the filter holds, measures the independent part, and its
    /// predictions stay honest (mean NEES per axis near 1). A pure drift measures almost
    /// no independent part.
    #[test]
    fn an_independent_part_is_measured_and_carried() {
        for (independent, fix, tolerance) in [(30.0, 20.0, 10.0), (100.0, 50.0, 25.0)] {
            let (nees, holding, ind) = mixed(independent, fix);
            assert!(holding > 0.5, "holds on {holding} of the frames");
            assert!((nees - 1.0).abs() < 0.35, "mean NEES per axis {nees}");
            assert!(
                (ind - independent).abs() < tolerance,
                "measured independent sigma {ind} of {independent}"
            );
        }
        let (nees, holding, ind) = mixed(0.0, 20.0);
        assert!(holding > 0.95, "pure drift holds on {holding}");
        assert!(nees < 1.2, "pure drift: mean NEES per axis {nees}");
        assert!(ind < 8.0, "pure drift: independent sigma {ind}");
    }

    /// A failed prediction starts the filter again from its fix; a withdrawn verification
    /// keeps the state and needs `verify_after` passing predictions again.
    #[test]
    fn a_failed_prediction_restarts_and_withdrawal_waits() {
        let m = InertialModel::default();
        let mut f = InertialError::new();
        for k in 0..4 {
            f.update(
                f64::from(k),
                Vec3::new(5.0, 0.0, 0.0),
                Vec3::ZERO,
                [1.0; 3],
                &m,
            );
        }
        assert!(f.holds(&m));
        f.withdraw();
        assert!(!f.holds(&m));
        assert!((f.predict(4.0, &m).unwrap().0.x - 5.0).abs() < 0.5);
        for k in 4..7 {
            f.update(
                f64::from(k),
                Vec3::new(5.0, 0.0, 0.0),
                Vec3::ZERO,
                [1.0; 3],
                &m,
            );
        }
        assert!(f.holds(&m));
        // A jump of 60 m: the prediction fails, the filter restarts from the jump, which
        // it also counts as scatter the drift does not follow (its fix's variance and the
        // next frame's both carry it).
        f.update(7.0, Vec3::new(65.0, 0.0, 0.0), Vec3::ZERO, [1.0; 3], &m);
        assert!(!f.holds(&m));
        let extra = f.independent_variance();
        assert!(extra > 100.0, "{extra}");
        assert!(f.independent_part_significant());
        let (e, s) = f.predict(7.0, &m).unwrap();
        assert!((e.x - 65.0).abs() < 1e-12 && (s - (1.0 + 2.0 * extra).sqrt()).abs() < 1e-9);
        // verify_after 0: the corrections are used from the first fix.
        let eager = InertialModel {
            verify_after: 0,
            ..m
        };
        let mut g = InertialError::new();
        assert!(!g.holds(&eager));
        g.update(0.0, Vec3::ZERO, Vec3::ZERO, [1.0; 3], &eager);
        assert!(g.holds(&eager));
    }

    #[test]
    fn nothing_before_a_fix_and_nothing_backwards() {
        let m = InertialModel::default();
        let mut f = InertialError::new();
        assert!(f.predict(1.0, &m).is_none());
        f.update(10.0, Vec3::new(5.0, 0.0, 0.0), Vec3::ZERO, [1.0; 3], &m);
        let (e, s) = f.predict(10.0, &m).unwrap();
        assert!((e.x - 5.0).abs() < 1e-12 && (s - 1.0).abs() < 1e-12);
        assert!(f.predict(9.0, &m).is_none());
        // A fix with a NaN changes nothing.
        let before = f;
        f.update(
            11.0,
            Vec3::new(f64::NAN, 0.0, 0.0),
            Vec3::ZERO,
            [1.0; 3],
            &m,
        );
        assert_eq!(f, before);
        // Coasting: the sigma grows with the velocity's and the walks' terms.
        let (_, s20) = f.predict(30.0, &m).unwrap();
        let want = (1.0 + 20.0 * 20.0 * 1.0 + 0.01 * 8000.0 / 3.0 + 20.0f64).sqrt();
        assert!((s20 - want).abs() < 1e-9, "{s20} vs {want}");
        // Never tighter than the last fix, however many came before.
        let mut g = InertialError::new();
        for k in 0..50 {
            g.update(f64::from(k), Vec3::ZERO, Vec3::ZERO, [2.0; 3], &m);
        }
        assert!((g.predict(49.0, &m).unwrap().1 - 2.0).abs() < 1e-12);
        assert!(!g.independent_part_significant());
        // A fix earlier than the last starts again from it.
        let mut h = f;
        h.update(0.0, Vec3::new(0.0, 7.0, 0.0), Vec3::ZERO, [1.0; 3], &m);
        let (e, s) = h.predict(0.0, &m).unwrap();
        assert!((e.y - 7.0).abs() < 1e-12 && e.x == 0.0 && (s - 1.0).abs() < 1e-12);
        f.reset();
        assert!(f.predict(30.0, &m).is_none());
    }
}
