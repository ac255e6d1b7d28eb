//! Conversions to and from nalgebra's types (feature `nalgebra`), so that code holding
//! nalgebra vectors, rotations, isometries and matrices passes them straight in:
//! [`Vec3`] and `Vector3<f64>` / `Point3<f64>`, [`Quat`] and `UnitQuaternion<f64>`,
//! [`Mat3`] and `Matrix3<f64>`, [`Pose`] and `Isometry3<f64>` (the camera-to-site
//! transform: rotation the attitude, translation the camera centre), [`Mat6`] and
//! `Matrix6<f64>`. Every conversion is exact (a copy of the numbers), both ways.
//!
//! ```
//! use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};
//! use trn_flight::{Pose, Quat, Vec3};
//! let iso = Isometry3::from_parts(
//!     Translation3::new(10.0, -5.0, 1200.0),
//!     UnitQuaternion::from_euler_angles(0.1, -0.2, 0.3),
//! );
//! let pose: Pose = iso.into();
//! assert_eq!(pose.position, Vec3::new(10.0, -5.0, 1200.0));
//! let back: Isometry3<f64> = pose.into();
//! assert_eq!(back, iso);
//! let v: Vector3<f64> = pose.attitude.rotate(Vec3::new(0.0, 0.0, 1.0)).into();
//! assert!((v - iso.rotation * Vector3::z()).norm() < 1e-12);
//! ```

use crate::{Mat3, Mat6, Pose, Quat, Vec3};
use nalgebra::{
    Isometry3, Matrix3, Matrix6, Point3, Quaternion, Translation3, UnitQuaternion, Vector3,
};

impl From<Vec3> for Vector3<f64> {
    fn from(v: Vec3) -> Self {
        Self::new(v.x, v.y, v.z)
    }
}

impl From<Vector3<f64>> for Vec3 {
    fn from(v: Vector3<f64>) -> Self {
        Self::new(v.x, v.y, v.z)
    }
}

impl From<Vec3> for Point3<f64> {
    fn from(v: Vec3) -> Self {
        Self::new(v.x, v.y, v.z)
    }
}

impl From<Point3<f64>> for Vec3 {
    fn from(p: Point3<f64>) -> Self {
        Self::new(p.x, p.y, p.z)
    }
}

impl From<Quat> for UnitQuaternion<f64> {
    /// The same unit quaternion (Hamilton, both scalar-first in meaning).
    fn from(q: Quat) -> Self {
        Self::new_unchecked(Quaternion::new(q.w, q.x, q.y, q.z))
    }
}

impl From<UnitQuaternion<f64>> for Quat {
    fn from(q: UnitQuaternion<f64>) -> Self {
        Self {
            w: q.w,
            x: q.i,
            y: q.j,
            z: q.k,
        }
    }
}

impl From<Mat3> for Matrix3<f64> {
    fn from(m: Mat3) -> Self {
        let r = m.rows;
        Self::new(
            r[0].x, r[0].y, r[0].z, r[1].x, r[1].y, r[1].z, r[2].x, r[2].y, r[2].z,
        )
    }
}

impl From<Matrix3<f64>> for Mat3 {
    fn from(m: Matrix3<f64>) -> Self {
        // nalgebra stores columns: [c0, c1, c2] with c_j[i] = m(i, j).
        let [c0, c1, c2] = m.data.0;
        let row = |i: usize| {
            let at = |c: [f64; 3]| c.get(i).copied().unwrap_or(0.0);
            Vec3::new(at(c0), at(c1), at(c2))
        };
        Self {
            rows: [row(0), row(1), row(2)],
        }
    }
}

impl From<Pose> for Isometry3<f64> {
    /// The camera-to-site transform: `site = rotation * camera + translation`.
    fn from(p: Pose) -> Self {
        Self::from_parts(
            Translation3::new(p.position.x, p.position.y, p.position.z),
            p.attitude.into(),
        )
    }
}

impl From<Isometry3<f64>> for Pose {
    fn from(i: Isometry3<f64>) -> Self {
        Self::new(i.translation.vector.into(), i.rotation.into())
    }
}

/// Element `(i, j)` of a 6x6 array of arrays, 0 outside.
fn at6(a: &[[f64; 6]; 6], i: usize, j: usize) -> f64 {
    a.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0.0)
}

impl From<Mat6> for Matrix6<f64> {
    fn from(m: Mat6) -> Self {
        Self::from_fn(|i, j| at6(&m.0, i, j))
    }
}

impl From<Matrix6<f64>> for Mat6 {
    fn from(m: Matrix6<f64>) -> Self {
        // nalgebra stores columns: element (i, j) is column j's i-th.
        let cols = m.data.0;
        Self(core::array::from_fn(|i| {
            core::array::from_fn(|j| at6(&cols, j, i))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Round trips are exact, and a rotation means the same thing on both sides.
    #[test]
    fn conversions_round_trip_and_agree() {
        let q = Quat::from_axis_angle(Vec3::new(0.3, -1.0, 0.2), 0.7);
        let nq: UnitQuaternion<f64> = q.into();
        let v = Vec3::new(1.5, -2.0, 0.25);
        let a = q.rotate(v);
        let b = nq * Vector3::from(v);
        assert!((Vector3::from(a) - b).norm() < 1e-12);
        assert_eq!(Quat::from(nq), q);
        let m = q.to_mat3();
        let nm: Matrix3<f64> = m.into();
        assert!((nm - nq.to_rotation_matrix().into_inner()).norm() < 1e-12);
        assert_eq!(Mat3::from(nm), m);
        let mut c = Mat6::default();
        for i in 0..6 {
            for j in 0..6 {
                c.0[i][j] = (i * 6 + j) as f64;
            }
        }
        let nc: Matrix6<f64> = c.into();
        assert_eq!(nc[(2, 5)], 17.0);
        assert_eq!(Mat6::from(nc), c);
        let p = Pose::new(v, q);
        let iso: Isometry3<f64> = p.into();
        let cam = Point3::new(0.1, 0.2, 3.0);
        let site = iso * cam;
        assert!((Vec3::from(site) - (q.rotate(Vec3::from(cam)) + v)).norm() < 1e-12);
        assert_eq!(Pose::from(iso), p);
    }
}
