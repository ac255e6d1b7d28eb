//! Powered-descent trajectories over the site, and the camera's attitude along them.
//!
//! Three phases as a lander flies them, joined by cubic Hermite segments in downrange
//! distance and altitude (positions and velocities continuous at the joins):
//!
//! - **braking**: from the start altitude, travelling towards the site along the ground
//!   track while descending fast;
//! - **approach**: pitched over, slowing, the site in view, down to the approach gate;
//! - **terminal vertical**: over the site, descending slowly to the end altitude.
//!
//! The camera is fixed to the lander, looking forward of nadir (towards the site) by an
//! off-nadir angle that decreases through the phases, image columns across the track.
//! Dispersions perturb the ground track, the uprange distance, the phase times and the
//! pointing, all from the seed.

use crate::error::SimError;
use trn_flight::rng::Pcg32;
use trn_flight::{Mat3, Pose, Quat, Vec3};

/// The descent to fly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DescentParams {
    /// Altitude above the reference sphere at the first frame, metres.
    pub start_alt_m: f64,
    /// Altitude at the last frame above the reference sphere, metres (below zero where the
    /// ground is; see `DescentSpec::end_above_ground` for one above the landing point).
    pub end_alt_m: f64,
    /// Horizontal distance from the site at the first frame, metres.
    pub uprange_m: f64,
    /// Ground track azimuth (direction of travel), degrees clockwise from north.
    pub track_az_deg: f64,
    /// Camera off-nadir angle during braking, degrees (towards the direction of travel).
    pub braking_off_nadir_deg: f64,
    /// Camera off-nadir angle at the end of the approach, degrees.
    pub approach_off_nadir_deg: f64,
    /// Duration of the whole descent, seconds.
    pub duration_s: f64,
    /// Random attitude jitter, 1-sigma degrees per axis.
    pub pointing_jitter_deg: f64,
    /// Scale of the dispersions (0: the nominal trajectory).
    pub dispersion: f64,
}

impl Default for DescentParams {
    fn default() -> Self {
        Self {
            start_alt_m: 15_000.0,
            end_alt_m: 50.0,
            uprange_m: 4_000.0,
            track_az_deg: 30.0,
            braking_off_nadir_deg: 25.0,
            approach_off_nadir_deg: 10.0,
            duration_s: 480.0,
            pointing_jitter_deg: 0.3,
            dispersion: 1.0,
        }
    }
}

/// One state along the trajectory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct State {
    /// Time since the first frame, seconds.
    pub t_s: f64,
    /// Camera pose (centre in the site frame, camera-to-site rotation).
    pub pose: Pose,
    /// Velocity, site frame, m/s.
    pub velocity: Vec3,
    /// Altitude above the reference sphere, metres.
    pub altitude_m: f64,
}

/// Waypoints `(time, uprange distance, altitude, d uprange/dt, d altitude/dt)`.
type Waypoint = (f64, f64, f64, f64, f64);

fn hermite(t: f64, a: Waypoint, b: Waypoint) -> (f64, f64, f64, f64) {
    let h = b.0 - a.0;
    let s = ((t - a.0) / h).clamp(0.0, 1.0);
    let (s2, s3) = (s * s, s * s * s);
    let (h00, h10, h01, h11) = (
        2.0 * s3 - 3.0 * s2 + 1.0,
        s3 - 2.0 * s2 + s,
        -2.0 * s3 + 3.0 * s2,
        s3 - s2,
    );
    let (d00, d10, d01, d11) = (
        (6.0 * s2 - 6.0 * s) / h,
        (3.0 * s2 - 4.0 * s + 1.0) / h,
        (-6.0 * s2 + 6.0 * s) / h,
        (3.0 * s2 - 2.0 * s) / h,
    );
    let p = |p0: f64, m0: f64, p1: f64, m1: f64| {
        (
            h00 * p0 + h10 * h * m0 + h01 * p1 + h11 * h * m1,
            d00 * p0 + d10 * h * m0 + d01 * p1 + d11 * h * m1,
        )
    };
    let (u, du) = p(a.1, a.3, b.1, b.3);
    let (z, dz) = p(a.2, a.4, b.2, b.4);
    (u, z, du, dz)
}

/// A camera-to-site rotation looking along `boresight` with image rows increasing
/// towards `down_hint` projected on the image plane (so image "up" is `-down_hint`).
#[must_use]
pub fn look_rotation(boresight: Vec3, down_hint: Vec3) -> Option<Quat> {
    let z = boresight.try_normalize()?;
    let y = (down_hint - z * down_hint.dot(z)).try_normalize()?;
    let x = y.cross(z);
    Quat::from_mat3(&Mat3::from_cols(x, y, z))
}

/// A trajectory: the waypoints after dispersion, and the attitude law.
#[derive(Clone, Debug)]
pub struct Trajectory {
    waypoints: [Waypoint; 4],
    track: Vec3,
    off_nadir: [f64; 3],
    jitter_deg: f64,
    seed: u64,
    radius: f64,
}

impl Trajectory {
    /// A dispersed trajectory.
    ///
    /// # Errors
    ///
    /// an invalid-field [`SimError::Dataset`] when the altitudes, distance or duration are out of order, not
    /// finite or (distance, duration) not positive.
    pub fn new(p: &DescentParams, radius: f64, seed: u64) -> Result<Self, SimError> {
        Self::over_ground(p, radius, seed, 0.0)
    }

    /// [`Trajectory::new`] with `p.end_alt_m` and the phase gates (braking's end at about
    /// 2 km, the approach's at 200 m) measured above ground `ground_m` above the sphere, as a
    /// lander's are above its landing point; the start stays above the sphere.
    ///
    /// # Errors
    ///
    /// As [`Trajectory::new`], the end altitude taken above the ground.
    pub fn over_ground(
        p: &DescentParams,
        radius: f64,
        seed: u64,
        ground_m: f64,
    ) -> Result<Self, SimError> {
        let p = &DescentParams {
            end_alt_m: p.end_alt_m + ground_m,
            ..*p
        };
        // The end may be below the sphere where the ground is; how close it comes to the
        // ground is the simulator's check, which knows the terrain.
        if !(p.start_alt_m > p.end_alt_m && p.end_alt_m.is_finite() && p.duration_s > 10.0) {
            return Err(SimError::invalid(
                "descent",
                format!(
                    "start {} m, end {} m, {} s: need start > end and more than 10 s",
                    p.start_alt_m, p.end_alt_m, p.duration_s
                ),
            ));
        }
        if !(p.uprange_m >= 0.0) {
            return Err(SimError::invalid("uprange", format!("{} m", p.uprange_m)));
        }
        let mut rng = Pcg32::new(seed, 0x7A7);
        let mut g = || rng.normal();
        let d = p.dispersion;
        let az = (p.track_az_deg + d * 10.0 * g()).to_radians();
        let uprange = p.uprange_m * (1.0 + d * 0.1 * g()).max(0.2);
        // Gates, above the ground: braking ends at 2 km (or a seventh of the start),
        // approach at 200 m.
        let (a0, a3) = (p.start_alt_m - ground_m, p.end_alt_m - ground_m);
        let a1 = (2000.0f64).min(a0 / 7.0).max(a3 * 4.0) * (1.0 + d * 0.05 * g());
        let a2 = (200.0f64).min(a1 / 4.0).max(a3 * 1.5);
        let (h0, h1, h2, h3) = (p.start_alt_m, a1 + ground_m, a2 + ground_m, p.end_alt_m);
        let t = p.duration_s;
        let (t1, t2) = (t * (0.6 + d * 0.03 * g()), t * (0.88 + d * 0.01 * g()));
        // Uprange distance (negative: before the site) and rates.
        let u0 = -uprange;
        let u1 = -uprange * 0.15;
        let vh0 = uprange * 1.4 / t1;
        let w = [
            (0.0, u0, h0, vh0, -(h0 - h1) * 1.3 / t1),
            (t1, u1, h1, vh0 * 0.3, -(h1 - h2) * 1.2 / (t2 - t1)),
            (t2, 0.0, h2, 0.0, -(h2 - h3) * 1.2 / (t - t2)),
            (t, 0.0, h3, 0.0, -(h2 - h3) * 0.3 / (t - t2)),
        ];
        let off = [
            p.braking_off_nadir_deg + d * 2.0 * g(),
            p.approach_off_nadir_deg + d * 1.0 * g(),
            0.0,
        ];
        Ok(Self {
            waypoints: w,
            track: Vec3::new(az.sin(), az.cos(), 0.0),
            off_nadir: off,
            jitter_deg: p.pointing_jitter_deg,
            seed,
            radius,
        })
    }

    /// Duration, seconds.
    #[must_use]
    pub fn duration(&self) -> f64 {
        self.waypoints[3].0
    }

    /// The state at `t` seconds; `frame` seeds the pointing jitter of this frame.
    #[must_use]
    pub fn state(&self, t: f64, frame: u64) -> State {
        let w = &self.waypoints;
        let k = if t < w[1].0 {
            0
        } else if t < w[2].0 {
            1
        } else {
            2
        };
        let (u, h, du, dh) = hermite(t, w[k], w[k + 1]);
        let horiz = self.track * u;
        // Site z of a point at altitude h above the sphere, at horizontal position `horiz`.
        let r = self.radius + h;
        let rho2 = horiz.x * horiz.x + horiz.y * horiz.y;
        let z = (r * r - rho2).max(0.0).sqrt() - self.radius;
        let position = Vec3::new(horiz.x, horiz.y, z);
        let velocity = self.track * du + Vec3::new(0.0, 0.0, dh);
        // Off-nadir angle: braking value, then linear through the approach to the end
        // value, then to nadir over the terminal phase.
        let s1 = ((t - w[0].0) / (w[1].0 - w[0].0)).clamp(0.0, 1.0);
        let s2 = ((t - w[1].0) / (w[2].0 - w[1].0)).clamp(0.0, 1.0);
        let s3 = ((t - w[2].0) / (w[3].0 - w[2].0)).clamp(0.0, 1.0);
        let limit = if s1 < 1.0 {
            self.off_nadir[0]
        } else if s2 < 1.0 {
            self.off_nadir[0] + (self.off_nadir[1] - self.off_nadir[0]) * s2
        } else {
            self.off_nadir[1] * (1.0 - s3)
        }
        .to_radians();
        // Aim at the site while the limit allows: the site stays in view.
        let off = (-u).max(0.0).atan2(h.max(1.0)).min(limit);
        let up = (position + Vec3::new(0.0, 0.0, self.radius))
            .try_normalize()
            .unwrap_or(Vec3::new(0.0, 0.0, 1.0));
        let fwd = (self.track - up * self.track.dot(up))
            .try_normalize()
            .unwrap_or(self.track);
        let boresight = -up * off.cos() + fwd * off.sin();
        // Image "up" is forward: rows increase backwards along the track.
        let q = look_rotation(boresight, -fwd).unwrap_or(Quat::IDENTITY);
        // Jitter: a small rotation in the camera frame.
        let mut rng = Pcg32::new(self.seed ^ 0x5EED, frame);
        let mut g = || rng.normal();
        let j = self.jitter_deg.to_radians();
        let dq = Quat::from_rotation_vector(Vec3::new(g() * j, g() * j, g() * j));
        State {
            t_s: t,
            pose: Pose::new(position, q.mul_quat(dq)),
            velocity,
            altitude_m: h,
        }
    }
}
