//! The inertial prior and the laser rangefinder, with the faults a real one shows.
//!
//! **Prior.** Open-loop inertial navigation drifts: per axis, the position error is an
//! initial error plus a velocity bias times time plus a random walk; attitude likewise. The
//! reported 1-sigma is the square root of the sum of those variances, so the prior is
//! honest by construction (its errors are draws from the distribution it reports).
//! [`PriorModel`] chooses how a frame's error relates to the previous frame's: the drift
//! above (strongly correlated), an independent Gaussian draw per frame of that same
//! 1-sigma (a state uplinked from the ground, another sensor), or a mix of the two whose
//! variances add to that same 1-sigma. Every model reports the same sigmas; only the
//! correlation between frames differs.
//!
//! **Rangefinder.** The slant range along the boresight to the terrain (the same ray cast as
//! the images), with noise `sigma_m + sigma_frac * range`, no reading beyond its maximum range
//! or above its working altitude (nominal, not a fault), and injected faults over frame
//! ranges: stuck (repeats the last good value), bias (adds metres), dropout (silent when it
//! should read), spurious (a return from far short of the terrain).

use crate::error::SimError;
use trn_flight::rng::Pcg32;
use trn_flight::{Pose, Quat, Vec3};

/// How a frame's prior error relates to the previous frame's.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum PriorModel {
    /// Inertial drift: initial error, velocity bias, random walk (errors correlated from
    /// frame to frame).
    #[default]
    Drift,
    /// Each frame's error drawn independently: Gaussian with the drift model's 1-sigma at
    /// that time, per position axis and per attitude axis.
    Independent,
    /// `sqrt(1 - f)` times the drift error plus `sqrt(f)` times an independent draw, so the
    /// variances add up to the drift model's and `f` of them is independent per frame.
    Mix {
        /// Fraction `f` of the variance that is independent from frame to frame, 0..=1.
        independent_fraction: f64,
    },
}

impl PriorModel {
    /// The weights of the drift and the independent part (their squares add to 1).
    fn weights(self) -> (f64, f64) {
        match self {
            Self::Drift => (1.0, 0.0),
            Self::Independent => (0.0, 1.0),
            Self::Mix {
                independent_fraction: f,
            } => ((1.0 - f).sqrt(), f.sqrt()),
        }
    }

    /// Checks the mix fraction.
    ///
    /// # Errors
    ///
    /// an invalid-field [`SimError::Dataset`] naming `--prior-mix-fraction` for a fraction
    /// outside 0..=1.
    pub fn validate(self) -> Result<Self, SimError> {
        match self {
            Self::Mix {
                independent_fraction: f,
            } if !(0.0..=1.0).contains(&f) => Err(SimError::invalid(
                "--prior-mix-fraction",
                format!("{f} (0..=1)"),
            )),
            m => Ok(m),
        }
    }
}

/// Drift model of the inertial prior.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PriorParams {
    /// Initial position error, 1-sigma per axis, metres.
    pub pos_sigma0_m: f64,
    /// Velocity bias, 1-sigma per axis, m/s.
    pub vel_bias_sigma_mps: f64,
    /// Position random walk, m/sqrt(s).
    pub pos_walk_m_per_sqrt_s: f64,
    /// Initial attitude error, 1-sigma per axis, degrees.
    pub att_sigma0_deg: f64,
    /// Attitude drift rate bias, 1-sigma per axis, degrees per second.
    pub att_drift_sigma_deg_per_s: f64,
    /// How errors relate from frame to frame.
    pub model: PriorModel,
}

impl Default for PriorParams {
    fn default() -> Self {
        Self {
            pos_sigma0_m: 150.0,
            vel_bias_sigma_mps: 0.3,
            pos_walk_m_per_sqrt_s: 0.5,
            att_sigma0_deg: 0.1,
            att_drift_sigma_deg_per_s: 0.0003,
            model: PriorModel::Drift,
        }
    }
}

/// The prior of one frame as the simulator draws it (attitude sigma in degrees, as
/// `frames.csv` carries it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PriorSample {
    /// Prior pose.
    pub pose: Pose,
    /// Reported 1-sigma of each position axis, metres.
    pub sigma_pos_m: f64,
    /// Reported 1-sigma of attitude about each axis, degrees.
    pub sigma_att_deg: f64,
}

/// A drifting inertial prior along a trajectory.
#[derive(Clone, Debug)]
pub struct InertialPrior {
    p: PriorParams,
    e0: Vec3,
    bias: Vec3,
    a0: Vec3,
    drift: Vec3,
    walk: Vec3,
    last_t: f64,
    rng: Pcg32,
    /// The independent part's draws (a stream of its own, so the drift's draws are the
    /// same whatever the model).
    independent: Pcg32,
}

impl InertialPrior {
    /// Draws the initial errors and biases from `seed`.
    #[must_use]
    pub fn new(p: PriorParams, seed: u64) -> Self {
        let mut rng = Pcg32::new(seed, 0x1A5);
        let mut v = |s: f64| Vec3::new(rng.normal() * s, rng.normal() * s, rng.normal() * s);
        let e0 = v(p.pos_sigma0_m);
        let bias = v(p.vel_bias_sigma_mps);
        let a0 = v(p.att_sigma0_deg.to_radians());
        let drift = v(p.att_drift_sigma_deg_per_s.to_radians());
        Self {
            p,
            e0,
            bias,
            a0,
            drift,
            walk: Vec3::ZERO,
            last_t: 0.0,
            rng: Pcg32::new(seed, 0x3A1),
            independent: Pcg32::new(seed, 0x1D7),
        }
    }

    /// The prior at time `t` (non-decreasing between calls) for the true pose `truth`.
    pub fn at(&mut self, t: f64, truth: &Pose) -> PriorSample {
        let dt = (t - self.last_t).max(0.0);
        self.last_t = t;
        let s = self.p.pos_walk_m_per_sqrt_s * dt.sqrt();
        let step = Vec3::new(
            self.rng.normal() * s,
            self.rng.normal() * s,
            self.rng.normal() * s,
        );
        self.walk += step;
        let p = &self.p;
        let sigma_pos = (p.pos_sigma0_m.powi(2)
            + (p.vel_bias_sigma_mps * t).powi(2)
            + p.pos_walk_m_per_sqrt_s.powi(2) * t)
            .sqrt();
        let sigma_att =
            (p.att_sigma0_deg.powi(2) + (p.att_drift_sigma_deg_per_s * t).powi(2)).sqrt();
        let mut err = self.e0 + self.bias * t + self.walk;
        let mut rot_err = self.a0 + self.drift * t;
        let (wd, wi) = self.p.model.weights();
        if wi > 0.0 {
            let rng = &mut self.independent;
            let mut v = |s: f64| Vec3::new(rng.normal() * s, rng.normal() * s, rng.normal() * s);
            err = err * wd + v(sigma_pos * wi);
            rot_err = rot_err * wd + v(sigma_att.to_radians() * wi);
        }
        let pose = Pose::new(
            truth.position + err,
            truth.attitude.mul_quat(Quat::from_rotation_vector(rot_err)),
        );
        PriorSample {
            pose,
            sigma_pos_m: sigma_pos,
            sigma_att_deg: sigma_att,
        }
    }
}

/// A fault kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// Repeats the last good reading.
    Stuck,
    /// Adds this many metres.
    Bias(f64),
    /// No reading although one is due.
    Dropout,
    /// A return from short of the terrain: this fraction of the true range.
    Spurious(f64),
}

/// A fault over frames `first..=last`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// First faulty frame (index into the descent).
    pub first: usize,
    /// Last faulty frame.
    pub last: usize,
}

impl Fault {
    /// Parses `stuck@20-25`, `bias:30@40-44`, `dropout@50-52`, `spurious:0.6@55` (frames
    /// inclusive; a single frame needs no range).
    ///
    /// # Errors
    ///
    /// an invalid-field [`SimError::Dataset`] naming the text and what is wrong with it.
    pub fn parse(s: &str) -> Result<Self, SimError> {
        let bad = |why: &str| {
            SimError::invalid(
                "lrf fault",
                format!(
                    "'{s}': {why} (like stuck@20-25, bias:30@40-44, dropout@50, spurious:0.6@55)"
                ),
            )
        };
        let (what, frames) = s.split_once('@').ok_or_else(|| bad("no @frames"))?;
        let (first, last) = match frames.split_once('-') {
            Some((a, b)) => (a.trim().parse::<usize>(), b.trim().parse::<usize>()),
            None => (
                frames.trim().parse::<usize>(),
                frames.trim().parse::<usize>(),
            ),
        };
        let (first, last) = (
            first.map_err(|_| bad("bad frame"))?,
            last.map_err(|_| bad("bad frame"))?,
        );
        if last < first {
            return Err(bad("range ends before it starts"));
        }
        let (name, arg) = match what.split_once(':') {
            Some((n, a)) => (
                n.trim(),
                Some(a.trim().parse::<f64>().map_err(|_| bad("bad value"))?),
            ),
            None => (what.trim(), None),
        };
        let kind = match (name, arg) {
            ("stuck", None) => FaultKind::Stuck,
            ("dropout", None) => FaultKind::Dropout,
            ("bias", Some(m)) if m.is_finite() && m != 0.0 => FaultKind::Bias(m),
            ("spurious", Some(f)) if f > 0.0 && f < 1.0 => FaultKind::Spurious(f),
            ("spurious", None) => FaultKind::Spurious(0.5),
            _ => return Err(bad("unknown kind or value")),
        };
        Ok(Self { kind, first, last })
    }
}

/// The rangefinder model.
#[derive(Clone, Debug, PartialEq)]
pub struct LrfParams {
    /// Noise floor, metres 1-sigma.
    pub sigma_m: f64,
    /// Noise proportional to range (fraction, 1-sigma).
    pub sigma_frac: f64,
    /// Longest range it reports, metres.
    pub max_range_m: f64,
    /// No reading above this altitude, metres (a rangefinder that only works low).
    pub max_alt_m: f64,
    /// Injected faults.
    pub faults: Vec<Fault>,
}

impl Default for LrfParams {
    fn default() -> Self {
        Self {
            sigma_m: 0.1,
            sigma_frac: 0.001,
            max_range_m: 20_000.0,
            max_alt_m: f64::INFINITY,
            faults: Vec::new(),
        }
    }
}

/// One frame's reading and its truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrfReading {
    /// The reported range (None: no reading).
    pub range_m: Option<f64>,
    /// Truth: `Some(true)` when faulty, `Some(false)` when good, `None` when there is
    /// neither a reading nor a fault (nominal silence).
    pub fault: Option<bool>,
}

/// A rangefinder with its fault schedule and memory (for `stuck`).
#[derive(Clone, Debug)]
pub struct Rangefinder {
    p: LrfParams,
    last_good: Option<f64>,
    rng: Pcg32,
}

impl Rangefinder {
    /// A rangefinder with noise drawn from `seed`.
    #[must_use]
    pub fn new(p: LrfParams, seed: u64) -> Self {
        Self {
            p,
            last_good: None,
            rng: Pcg32::new(seed, 0x1F2),
        }
    }

    /// The reading of frame `frame` at `altitude_m`, where the true slant range along the
    /// boresight is `true_range` (None: the ray leaves the map or never meets terrain).
    pub fn read(&mut self, frame: usize, altitude_m: f64, true_range: Option<f64>) -> LrfReading {
        let noise = self.rng.normal();
        let nominal = match true_range {
            Some(r) if r <= self.p.max_range_m && altitude_m <= self.p.max_alt_m => {
                Some(r + noise * (self.p.sigma_m + self.p.sigma_frac * r))
            }
            _ => None,
        };
        let fault = self
            .p
            .faults
            .iter()
            .find(|f| (f.first..=f.last).contains(&frame))
            .map(|f| f.kind);
        const SILENT: LrfReading = LrfReading {
            range_m: None,
            fault: None,
        };
        let faulty = |range_m| LrfReading {
            range_m,
            fault: Some(true),
        };
        // Stuck repeats the last good value. With none yet, the sensor freezes on this
        // frame's reading, which is still correct (a good reading); the repeats after it are
        // the fault. With no value at all there is nothing to see.
        let stuck_on = match fault {
            Some(FaultKind::Stuck) => self.last_good,
            _ => None,
        };
        match (fault, nominal) {
            (Some(FaultKind::Stuck), _) if stuck_on.is_some() => faulty(stuck_on),
            (None | Some(FaultKind::Stuck), Some(r)) => {
                self.last_good = Some(r);
                LrfReading {
                    range_m: Some(r),
                    fault: Some(false),
                }
            }
            (Some(FaultKind::Bias(b)), Some(r)) => faulty(Some(r + b)),
            (Some(FaultKind::Dropout), Some(_)) => faulty(None),
            (Some(FaultKind::Spurious(f)), Some(r)) => faulty(Some(r * f)),
            // No reading due, and a fault scheduled where none is due, change nothing.
            (_, None) => SILENT,
        }
    }
}
