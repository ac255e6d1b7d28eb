//! Random problem generators shared by the solver tests (fixed seeds everywhere).
#![allow(dead_code)]

use trn_flight::rng::Pcg32;
use trn_flight::{Pose, Quat, Vec3};

/// A seeded source of the random quantities the generators need.
pub struct Rand(pub Pcg32);

impl Rand {
    pub fn new(seed: u64) -> Self {
        Self(Pcg32::new(seed, 7))
    }

    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.0.next_f64()
    }

    /// Standard normal by Box-Muller.
    pub fn normal(&mut self) -> f64 {
        let u1 = self.0.next_f64().max(1e-300);
        let u2 = self.0.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// A rotation uniform over SO(3) (normalised 4-D Gaussian).
    pub fn rotation(&mut self) -> Quat {
        loop {
            if let Some(q) =
                Quat::try_new(self.normal(), self.normal(), self.normal(), self.normal())
            {
                return q;
            }
        }
    }

    /// A unit direction within `half_fov` radians of the camera's +z axis, uniform in the
    /// image plane of a square sensor of that half field of view.
    pub fn bearing_in_fov(&mut self, half_fov: f64) -> Vec3 {
        let t = half_fov.tan();
        Vec3::new(self.uniform(-t, t), self.uniform(-t, t), 1.0)
            .try_normalize()
            .unwrap()
    }
}

/// A lander-like pose: `altitude` metres above the site origin, looking down with up to
/// `tilt` radians off nadir, any heading.
pub fn lander_pose(r: &mut Rand, altitude: f64, tilt: f64) -> Pose {
    // Camera +z down: rotate 180 deg about site x, then tilt and yaw.
    let nadir = Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::PI);
    let yaw = Quat::from_axis_angle(
        Vec3::new(0.0, 0.0, 1.0),
        r.uniform(-std::f64::consts::PI, std::f64::consts::PI),
    );
    let tilt_axis = Vec3::new(r.normal(), r.normal(), 0.0);
    let tilt = Quat::from_axis_angle(tilt_axis, r.uniform(0.0, tilt));
    let q = tilt.mul_quat(yaw).mul_quat(nadir);
    Pose::new(
        Vec3::new(r.uniform(-500.0, 500.0), r.uniform(-500.0, 500.0), altitude),
        q,
    )
}
