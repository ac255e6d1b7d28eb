//! The camera pose type shared by every solver.

use crate::linalg::{Mat3, Quat, Vec3};

/// A camera pose: camera centre in the site frame and the rotation taking camera-frame
/// vectors into the site frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pose {
    /// Camera centre, site frame, metres.
    pub position: Vec3,
    /// Camera-to-site rotation (Hamilton, scalar first).
    pub attitude: Quat,
}

impl Pose {
    /// Builds a pose from a camera centre and a camera-to-site rotation.
    #[must_use]
    pub const fn new(position: Vec3, attitude: Quat) -> Self {
        Self { position, attitude }
    }

    /// Builds a pose from the world-to-camera form `x_cam = R X + t` that minimal solvers
    /// produce. `None` when `R` is not a finite rotation.
    #[must_use]
    pub fn from_world_to_camera(r: &Mat3, t: Vec3) -> Option<Self> {
        let q = Quat::from_mat3(&r.transpose())?;
        // Camera centre c satisfies R c + t = 0.
        let c = -r.tr_mul_vec(t);
        c.is_finite().then_some(Self::new(c, q))
    }

    /// The world-to-camera rotation `R` (site to camera) and translation `t`, such that
    /// `x_cam = R X + t`.
    #[must_use]
    pub fn world_to_camera(&self) -> (Mat3, Vec3) {
        let r = self.attitude.to_mat3().transpose();
        let t = -r.mul_vec(self.position);
        (r, t)
    }

    /// A site-frame point expressed in the camera frame.
    #[must_use]
    pub fn to_camera(&self, world: Vec3) -> Vec3 {
        self.attitude.to_mat3().tr_mul_vec(world - self.position)
    }

    /// The boresight (camera +z axis) in the site frame.
    #[must_use]
    pub fn boresight(&self) -> Vec3 {
        self.attitude.to_mat3().col(2)
    }

    /// This pose's difference from `base` in the covariances' order: the position change,
    /// then the camera-frame rotation vector `delta` with `self.attitude = base.attitude *
    /// exp(delta)`.
    #[must_use]
    pub fn delta_from(&self, base: &Self) -> [f64; 6] {
        let dp = self.position - base.position;
        let da = base
            .attitude
            .conjugate()
            .mul_quat(self.attitude)
            .to_rotation_vector();
        [dp.x, dp.y, dp.z, da.x, da.y, da.z]
    }

    /// True when every component is finite.
    #[must_use]
    pub fn is_finite(&self) -> bool {
        self.position.is_finite() && self.attitude.is_finite()
    }
}
