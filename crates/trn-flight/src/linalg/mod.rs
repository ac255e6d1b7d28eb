//! Small fixed-size linear algebra in f64: 3-vectors, 3x3 matrices, unit quaternions, and
//! 6x6 matrices ([`Mat6`]: pose covariances) with a symmetric positive-definite solver for
//! the normal equations of the pose refinement.
//!
//! Hand-written rather than taken from a general crate so that every operation is
//! `Copy`, allocation-free, panic-free and visible to the optimiser as straight-line code.

mod mat6;

pub use mat6::{Mat6, cholesky6, invert_spd6, solve_spd6};

use crate::math;
use core::ops::{Add, AddAssign, Mul, Neg, Sub};

/// A 3-vector.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Vec3 {
    /// First component.
    pub x: f64,
    /// Second component.
    pub y: f64,
    /// Third component.
    pub z: f64,
}

impl Vec3 {
    /// The zero vector.
    pub const ZERO: Self = Self::new(0.0, 0.0, 0.0);

    /// Builds a vector from its components.
    #[inline]
    #[must_use]
    pub const fn new(x: f64, y: f64, z: f64) -> Self {
        Self { x, y, z }
    }

    /// Dot product.
    #[inline]
    #[must_use]
    pub fn dot(self, o: Self) -> f64 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }

    /// Cross product.
    #[inline]
    #[must_use]
    pub fn cross(self, o: Self) -> Self {
        Self::new(
            self.y * o.z - self.z * o.y,
            self.z * o.x - self.x * o.z,
            self.x * o.y - self.y * o.x,
        )
    }

    /// Squared Euclidean norm.
    #[inline]
    #[must_use]
    pub fn norm_squared(self) -> f64 {
        self.dot(self)
    }

    /// Euclidean norm.
    #[inline]
    #[must_use]
    pub fn norm(self) -> f64 {
        math::sqrt(self.norm_squared())
    }

    /// The unit vector along `self`, or `None` for a zero, tiny or non-finite vector.
    #[inline]
    #[must_use]
    pub fn try_normalize(self) -> Option<Self> {
        let n = self.norm();
        if n.is_finite() && n > 1e-300 {
            Some(self * (1.0 / n))
        } else {
            None
        }
    }

    /// True when every component is finite.
    #[inline]
    #[must_use]
    pub fn is_finite(self) -> bool {
        self.x.is_finite() && self.y.is_finite() && self.z.is_finite()
    }

    /// Components as an array.
    #[inline]
    #[must_use]
    pub const fn to_array(self) -> [f64; 3] {
        [self.x, self.y, self.z]
    }

    /// Builds a vector from an array.
    #[inline]
    #[must_use]
    pub const fn from_array(a: [f64; 3]) -> Self {
        Self::new(a[0], a[1], a[2])
    }
}

impl Add for Vec3 {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        Self::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}

impl AddAssign for Vec3 {
    #[inline]
    fn add_assign(&mut self, o: Self) {
        *self = *self + o;
    }
}

impl Sub for Vec3 {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        Self::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }
}

impl Neg for Vec3 {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        Self::new(-self.x, -self.y, -self.z)
    }
}

impl Mul<f64> for Vec3 {
    type Output = Self;
    #[inline]
    fn mul(self, s: f64) -> Self {
        Self::new(self.x * s, self.y * s, self.z * s)
    }
}

/// A 3x3 matrix stored by rows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mat3 {
    /// Rows of the matrix.
    pub rows: [Vec3; 3],
}

impl Default for Mat3 {
    fn default() -> Self {
        Self::IDENTITY
    }
}

impl Mat3 {
    /// The identity matrix.
    pub const IDENTITY: Self = Self {
        rows: [
            Vec3::new(1.0, 0.0, 0.0),
            Vec3::new(0.0, 1.0, 0.0),
            Vec3::new(0.0, 0.0, 1.0),
        ],
    };

    /// Builds a matrix from its rows.
    #[inline]
    #[must_use]
    pub const fn from_rows(r0: Vec3, r1: Vec3, r2: Vec3) -> Self {
        Self { rows: [r0, r1, r2] }
    }

    /// Builds a matrix from its columns.
    #[inline]
    #[must_use]
    pub const fn from_cols(c0: Vec3, c1: Vec3, c2: Vec3) -> Self {
        Self::from_rows(
            Vec3::new(c0.x, c1.x, c2.x),
            Vec3::new(c0.y, c1.y, c2.y),
            Vec3::new(c0.z, c1.z, c2.z),
        )
    }

    /// Column `i` (0, 1 or 2; anything else gives the last column).
    #[inline]
    #[must_use]
    pub fn col(&self, i: usize) -> Vec3 {
        let [r0, r1, r2] = self.rows;
        match i {
            0 => Vec3::new(r0.x, r1.x, r2.x),
            1 => Vec3::new(r0.y, r1.y, r2.y),
            _ => Vec3::new(r0.z, r1.z, r2.z),
        }
    }

    /// Transpose.
    #[inline]
    #[must_use]
    pub fn transpose(&self) -> Self {
        Self::from_cols(self.rows[0], self.rows[1], self.rows[2])
    }

    /// Matrix-vector product.
    #[inline]
    #[must_use]
    pub fn mul_vec(&self, v: Vec3) -> Vec3 {
        Vec3::new(
            self.rows[0].dot(v),
            self.rows[1].dot(v),
            self.rows[2].dot(v),
        )
    }

    /// Transposed matrix-vector product, `self^T v`.
    #[inline]
    #[must_use]
    pub fn tr_mul_vec(&self, v: Vec3) -> Vec3 {
        self.rows[0] * v.x + self.rows[1] * v.y + self.rows[2] * v.z
    }

    /// Matrix product.
    #[inline]
    #[must_use]
    pub fn mul_mat(&self, o: &Self) -> Self {
        let t = o.transpose();
        let row = |r: Vec3| Vec3::new(r.dot(t.rows[0]), r.dot(t.rows[1]), r.dot(t.rows[2]));
        Self::from_rows(row(self.rows[0]), row(self.rows[1]), row(self.rows[2]))
    }

    /// Determinant.
    #[inline]
    #[must_use]
    pub fn det(&self) -> f64 {
        self.rows[0].dot(self.rows[1].cross(self.rows[2]))
    }

    /// Frobenius norm of `self - o`: the way rotations are compared (an `acos` of a
    /// rounded trace is NaN near the identity).
    #[must_use]
    pub fn frobenius_distance(&self, o: &Self) -> f64 {
        let mut s = 0.0;
        for (a, b) in self.rows.iter().zip(o.rows.iter()) {
            s += (*a - *b).norm_squared();
        }
        math::sqrt(s)
    }

    /// True when every entry is finite.
    #[must_use]
    pub fn is_finite(&self) -> bool {
        self.rows.iter().all(|r| r.is_finite())
    }

    /// The skew-symmetric matrix `[v]x` with `[v]x w = v x w`.
    #[inline]
    #[must_use]
    pub fn skew(v: Vec3) -> Self {
        Self::from_rows(
            Vec3::new(0.0, -v.z, v.y),
            Vec3::new(v.z, 0.0, -v.x),
            Vec3::new(-v.y, v.x, 0.0),
        )
    }
}

impl Mul for Mat3 {
    type Output = Self;
    #[inline]
    fn mul(self, o: Self) -> Self {
        self.mul_mat(&o)
    }
}

impl Mul<Vec3> for Mat3 {
    type Output = Vec3;
    #[inline]
    fn mul(self, v: Vec3) -> Vec3 {
        self.mul_vec(v)
    }
}

/// A unit quaternion (Hamilton convention, scalar first).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quat {
    /// Scalar part.
    pub w: f64,
    /// Vector part, x.
    pub x: f64,
    /// Vector part, y.
    pub y: f64,
    /// Vector part, z.
    pub z: f64,
}

impl Default for Quat {
    fn default() -> Self {
        Self::IDENTITY
    }
}

impl Quat {
    /// The identity rotation.
    pub const IDENTITY: Self = Self {
        w: 1.0,
        x: 0.0,
        y: 0.0,
        z: 0.0,
    };

    /// Builds a quaternion from components, normalising it; `None` for a zero or
    /// non-finite input.
    #[must_use]
    pub fn try_new(w: f64, x: f64, y: f64, z: f64) -> Option<Self> {
        let n = math::sqrt(w * w + x * x + y * y + z * z);
        if n.is_finite() && n > 1e-12 {
            let s = 1.0 / n;
            Some(Self {
                w: w * s,
                x: x * s,
                y: y * s,
                z: z * s,
            })
        } else {
            None
        }
    }

    /// The rotation by `angle` radians about `axis` (need not be unit); identity for a
    /// zero axis.
    #[must_use]
    pub fn from_axis_angle(axis: Vec3, angle: f64) -> Self {
        match axis.try_normalize() {
            Some(a) => {
                let (s, c) = (math::sin(0.5 * angle), math::cos(0.5 * angle));
                Self {
                    w: c,
                    x: a.x * s,
                    y: a.y * s,
                    z: a.z * s,
                }
            }
            None => Self::IDENTITY,
        }
    }

    /// The rotation `exp([w]x)` of a rotation vector (axis times angle, radians).
    #[must_use]
    pub fn from_rotation_vector(w: Vec3) -> Self {
        let theta2 = w.norm_squared();
        if theta2 < 1e-16 {
            // Second-order expansion keeps the map smooth through zero.
            Self::try_new(1.0 - theta2 / 8.0, 0.5 * w.x, 0.5 * w.y, 0.5 * w.z)
                .unwrap_or(Self::IDENTITY)
        } else {
            let theta = math::sqrt(theta2);
            Self::from_axis_angle(w, theta)
        }
    }

    /// The rotation vector (axis times angle in [0, pi]) of this rotation.
    #[must_use]
    pub fn to_rotation_vector(self) -> Vec3 {
        let q = if self.w < 0.0 {
            Self {
                w: -self.w,
                x: -self.x,
                y: -self.y,
                z: -self.z,
            }
        } else {
            self
        };
        let v = Vec3::new(q.x, q.y, q.z);
        let s = v.norm();
        if s < 1e-12 {
            return v * 2.0;
        }
        let angle = 2.0 * math::atan2(s, q.w);
        v * (angle / s)
    }

    /// Hamilton product `self * o` (apply `o` first).
    #[inline]
    #[must_use]
    pub fn mul_quat(self, o: Self) -> Self {
        Self {
            w: self.w * o.w - self.x * o.x - self.y * o.y - self.z * o.z,
            x: self.w * o.x + self.x * o.w + self.y * o.z - self.z * o.y,
            y: self.w * o.y - self.x * o.z + self.y * o.w + self.z * o.x,
            z: self.w * o.z + self.x * o.y - self.y * o.x + self.z * o.w,
        }
    }

    /// The inverse rotation.
    #[inline]
    #[must_use]
    pub fn conjugate(self) -> Self {
        Self {
            w: self.w,
            x: -self.x,
            y: -self.y,
            z: -self.z,
        }
    }

    /// Rotates a vector.
    #[inline]
    #[must_use]
    pub fn rotate(self, v: Vec3) -> Vec3 {
        self.to_mat3().mul_vec(v)
    }

    /// The rotation angle between two rotations, radians in [0, pi].
    #[must_use]
    pub fn angle_to(self, o: Self) -> f64 {
        self.conjugate().mul_quat(o).to_rotation_vector().norm()
    }

    /// The rotation matrix.
    #[must_use]
    pub fn to_mat3(self) -> Mat3 {
        let Self { w, x, y, z } = self;
        let (xx, yy, zz) = (x * x, y * y, z * z);
        let (xy, xz, yz) = (x * y, x * z, y * z);
        let (wx, wy, wz) = (w * x, w * y, w * z);
        Mat3::from_rows(
            Vec3::new(1.0 - 2.0 * (yy + zz), 2.0 * (xy - wz), 2.0 * (xz + wy)),
            Vec3::new(2.0 * (xy + wz), 1.0 - 2.0 * (xx + zz), 2.0 * (yz - wx)),
            Vec3::new(2.0 * (xz - wy), 2.0 * (yz + wx), 1.0 - 2.0 * (xx + yy)),
        )
    }

    /// The quaternion of a rotation matrix (Shepperd's method: branch on the largest
    /// diagonal term so no division is by a small number). `None` when the result is
    /// not finite.
    #[must_use]
    pub fn from_mat3(m: &Mat3) -> Option<Self> {
        let [r0, r1, r2] = m.rows;
        let (m00, m11, m22) = (r0.x, r1.y, r2.z);
        let tr = m00 + m11 + m22;
        let q = if tr >= m00 && tr >= m11 && tr >= m22 {
            let s = 2.0 * math::sqrt_clamped(1.0 + tr);
            (
                0.25 * s,
                (r2.y - r1.z) / s,
                (r0.z - r2.x) / s,
                (r1.x - r0.y) / s,
            )
        } else if m00 >= m11 && m00 >= m22 {
            let s = 2.0 * math::sqrt_clamped(1.0 + m00 - m11 - m22);
            (
                (r2.y - r1.z) / s,
                0.25 * s,
                (r0.y + r1.x) / s,
                (r0.z + r2.x) / s,
            )
        } else if m11 >= m22 {
            let s = 2.0 * math::sqrt_clamped(1.0 + m11 - m00 - m22);
            (
                (r0.z - r2.x) / s,
                (r0.y + r1.x) / s,
                0.25 * s,
                (r1.z + r2.y) / s,
            )
        } else {
            let s = 2.0 * math::sqrt_clamped(1.0 + m22 - m00 - m11);
            (
                (r1.x - r0.y) / s,
                (r0.z + r2.x) / s,
                (r1.z + r2.y) / s,
                0.25 * s,
            )
        };
        let q = Self::try_new(q.0, q.1, q.2, q.3)?;
        // Canonical sign: non-negative scalar part.
        Some(if q.w < 0.0 {
            Self {
                w: -q.w,
                x: -q.x,
                y: -q.y,
                z: -q.z,
            }
        } else {
            q
        })
    }

    /// True when every component is finite.
    #[must_use]
    pub fn is_finite(self) -> bool {
        self.w.is_finite() && self.x.is_finite() && self.y.is_finite() && self.z.is_finite()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quaternion_matrix_round_trip() {
        let q = Quat::try_new(0.3, -0.5, 0.7, 0.1).unwrap();
        let m = q.to_mat3();
        assert!((m.det() - 1.0).abs() < 1e-12);
        let q2 = Quat::from_mat3(&m).unwrap();
        let s = if q2.w * q.w < 0.0 { -1.0 } else { 1.0 };
        assert!((q.w - s * q2.w).abs() < 1e-12 && (q.x - s * q2.x).abs() < 1e-12);
        assert!((q.y - s * q2.y).abs() < 1e-12 && (q.z - s * q2.z).abs() < 1e-12);
    }

    #[test]
    fn quaternion_product_matches_matrix_product() {
        let a = Quat::from_axis_angle(Vec3::new(1.0, 2.0, 3.0), 0.7);
        let b = Quat::from_axis_angle(Vec3::new(-1.0, 0.5, 0.2), 2.1);
        let lhs = a.mul_quat(b).to_mat3();
        let rhs = a.to_mat3() * b.to_mat3();
        assert!(lhs.frobenius_distance(&rhs) < 1e-12);
    }

    #[test]
    fn rotation_vector_round_trip_including_near_pi() {
        for w in [
            Vec3::new(0.1, -0.2, 0.3),
            Vec3::new(0.0, 0.0, 3.1),
            Vec3::new(1e-9, 0.0, 0.0),
        ] {
            let back = Quat::from_rotation_vector(w).to_rotation_vector();
            assert!((back - w).norm() < 1e-9, "{w:?} -> {back:?}");
        }
    }
}
