//! The minimal absolute-pose solver: three bearings and three world points give up to four
//! camera poses.
//!
//! The method is lambda twist (Persson and Nordberg, ECCV 2018): the three distance
//! constraints `|l_i x_i - l_j x_j|^2 = |X_i - X_j|^2` are two homogeneous conics in the depths;
//! one root of a cubic makes a degenerate member of their pencil, whose factorisation into
//! two lines gives the depths through small quadratics, polished by a few Newton steps.
//!
//! The rotation is then built in closed form from two orthonormal triads: one spanned by
//! the world edges `X1 - X2`, `X1 - X3` and one by the matching camera-frame edges. This is
//! orthonormal by construction (no iterative re-orthonormalisation, no matrix inverse) and
//! maps the first edge and the plane of the three points exactly.
//!
//! Output is in the world-to-camera form `x_cam = R X + t` used by the robust estimator;
//! [`crate::Pose::from_world_to_camera`] converts.

use crate::linalg::{Mat3, Vec3};
use crate::math;
use core::fmt;

/// At most this many solutions exist.
pub const MAX_SOLUTIONS: usize = 4;

/// A world-to-camera transform `x_cam = rotation * X + translation`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorldToCamera {
    /// Site-to-camera rotation.
    pub rotation: Mat3,
    /// Translation, metres.
    pub translation: Vec3,
}

impl WorldToCamera {
    /// The identity transform.
    pub const IDENTITY: Self = Self {
        rotation: Mat3::IDENTITY,
        translation: Vec3::ZERO,
    };

    /// A world point in the camera frame.
    #[inline]
    #[must_use]
    pub fn apply(&self, x: Vec3) -> Vec3 {
        self.rotation.mul_vec(x) + self.translation
    }
}

/// The solutions of one P3P problem (0 to [`MAX_SOLUTIONS`]).
#[derive(Clone, Copy, Debug)]
pub struct P3pSolutions {
    items: [WorldToCamera; MAX_SOLUTIONS],
    len: usize,
}

impl Default for P3pSolutions {
    fn default() -> Self {
        Self {
            items: [WorldToCamera::IDENTITY; MAX_SOLUTIONS],
            len: 0,
        }
    }
}

impl P3pSolutions {
    /// The solutions found.
    #[must_use]
    pub fn as_slice(&self) -> &[WorldToCamera] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// Number of solutions found.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no solution was found.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, s: WorldToCamera) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = s;
            self.len += 1;
        }
    }
}

/// Why a P3P problem has no solution set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum P3pError {
    /// An input was NaN or infinite.
    NonFinite,
    /// The world points are (nearly) collinear or coincident: the pose is not determined.
    DegeneratePoints,
    /// Two bearings are (nearly) parallel or a bearing is zero.
    DegenerateBearings,
}

impl fmt::Display for P3pError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NonFinite => "P3P input is not finite",
            Self::DegeneratePoints => "P3P world points are collinear or coincident",
            Self::DegenerateBearings => "P3P bearings are parallel or zero",
        })
    }
}

impl core::error::Error for P3pError {}

/// Solves the perspective-three-point problem.
///
/// `bearings` are the directions of the three image points in the camera frame (need not
/// be unit length; they are normalised here); `points` the matching world points. Every
/// returned solution has all three points in front of the camera.
///
/// # Errors
///
/// [`P3pError::NonFinite`] for NaN or infinite input, [`P3pError::DegeneratePoints`] for
/// collinear or coincident world points, [`P3pError::DegenerateBearings`] for a zero bearing
/// or two parallel bearings. A well-posed problem with no real solution returns `Ok` with an
/// empty set.
///
/// # Example
///
/// ```
/// use trn_flight::{p3p::p3p, Vec3};
/// // Camera at the origin looking down +z; three points 10 m ahead.
/// let pts = [Vec3::new(-1.0, 0.5, 10.0), Vec3::new(2.0, -1.0, 11.0), Vec3::new(0.3, 2.0, 9.0)];
/// let sols = p3p(&pts, &pts).unwrap();
/// assert!(sols.as_slice().iter().any(|s| (s.translation).norm() < 1e-9));
/// ```
#[inline]
pub fn p3p(bearings: &[Vec3; 3], points: &[Vec3; 3]) -> Result<P3pSolutions, P3pError> {
    let [b1, b2, b3] = *bearings;
    let [x1, x2, x3] = *points;
    if !(b1.is_finite()
        && b2.is_finite()
        && b3.is_finite()
        && x1.is_finite()
        && x2.is_finite()
        && x3.is_finite())
    {
        return Err(P3pError::NonFinite);
    }
    let (Some(y1), Some(y2), Some(y3)) = (unit(b1), unit(b2), unit(b3)) else {
        return Err(P3pError::DegenerateBearings);
    };

    let d12 = x1 - x2;
    let d13 = x1 - x3;
    let d23 = x2 - x3;
    let (a12, a13, a23) = (d12.norm_squared(), d13.norm_squared(), d23.norm_squared());
    let amax = a12.max(a13).max(a23);
    let n = d12.cross(d13);
    // Collinear: the triangle's area is tiny relative to its longest edge.
    if !(amax > 0.0) || n.norm_squared() < 1e-20 * amax * amax {
        return Err(P3pError::DegeneratePoints);
    }
    let (c12, c13, c23) = (y1.dot(y2), y1.dot(y3), y2.dot(y3));
    if c12.abs() > 1.0 - 1e-15 || c13.abs() > 1.0 - 1e-15 || c23.abs() > 1.0 - 1e-15 {
        return Err(P3pError::DegenerateBearings);
    }

    // Work in units of the longest edge so every tolerance below is relative.
    let scale = math::sqrt(amax);
    let s2 = 1.0 / amax;
    let (a12, a13, a23) = (a12 * s2, a13 * s2, a23 * s2);

    let mut out = P3pSolutions::default();
    let Some(world_triad) = Triad::from_edges(d12, d13) else {
        return Err(P3pError::DegeneratePoints);
    };

    let depths = solve_depths(a12, a13, a23, c12, c13, c23);
    for &(l1, l2, l3) in depths.as_slice() {
        let (l1, l2, l3) = (l1 * scale, l2 * scale, l3 * scale);
        let v1 = y1 * l1 - y2 * l2;
        let v2 = y1 * l1 - y3 * l3;
        let Some(cam_triad) = Triad::from_edges(v1, v2) else {
            continue;
        };
        // R maps the world triad onto the camera triad: R = C W^T.
        let rotation = cam_triad.0.mul_mat(&world_triad.0.transpose());
        let translation = y1 * l1 - rotation.mul_vec(x1);
        if rotation.is_finite() && translation.is_finite() {
            out.push(WorldToCamera {
                rotation,
                translation,
            });
        }
    }
    Ok(out)
}

/// `b` normalised; bearings that are already unit length (the usual input) skip the
/// square root and division.
#[inline]
fn unit(b: Vec3) -> Option<Vec3> {
    let n2 = b.norm_squared();
    if (n2 - 1.0).abs() < 1e-14 {
        Some(b)
    } else {
        b.try_normalize()
    }
}

/// An orthonormal right-handed triad stored as the columns of a matrix.
struct Triad(Mat3);

impl Triad {
    /// The triad of `e1 = u/|u|`, `e3 = u x v / |u x v|`, `e2 = e3 x e1`.
    fn from_edges(u: Vec3, v: Vec3) -> Option<Self> {
        let e1 = u.try_normalize()?;
        let e3 = u.cross(v).try_normalize()?;
        let e2 = e3.cross(e1);
        Some(Self(Mat3::from_cols(e1, e2, e3)))
    }
}

/// Up to four depth triples.
struct Depths {
    items: [(f64, f64, f64); MAX_SOLUTIONS],
    len: usize,
}

impl Depths {
    fn as_slice(&self) -> &[(f64, f64, f64)] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    fn push(&mut self, d: (f64, f64, f64)) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = d;
            self.len += 1;
        }
    }
}

/// The depth triples `(l1, l2, l3) > 0` satisfying the three distance constraints
/// `l_i^2 - 2 c_ij l_i l_j + l_j^2 = a_ij`.
fn solve_depths(a12: f64, a13: f64, a23: f64, c12: f64, c13: f64, c23: f64) -> Depths {
    let mut out = Depths {
        items: [(0.0, 0.0, 0.0); MAX_SOLUTIONS],
        len: 0,
    };

    // The two conics of the paper, symmetric 3x3, stored as their six distinct entries.
    let d1 = Sym3 {
        m00: a23,
        m01: -a23 * c12,
        m02: 0.0,
        m11: a23 - a12,
        m12: a12 * c23,
        m22: -a12,
    };
    let d2 = Sym3 {
        m00: a23,
        m01: 0.0,
        m02: -a23 * c13,
        m11: -a13,
        m12: a13 * c23,
        m22: a23 - a13,
    };

    // det(D1 + g D2) = k3 g^3 + k2 g^2 + k1 g + k0.
    let k3 = d2.det();
    let k2 = d1.mixed_det(&d2);
    let k1 = d2.mixed_det(&d1);
    let k0 = d1.det();
    if !(k3.abs() > 1e-300) {
        return out;
    }
    let ik3 = 1.0 / k3;
    let Some(g) = cubic_real_root(k2 * ik3, k1 * ik3, k0 * ik3) else {
        return out;
    };
    let d0 = d1.add_scaled(&d2, g);

    let Some((e, s)) = d0.line_pair() else {
        return out;
    };
    let mut s = s;
    const DISC_TOL: f64 = 1e-12;
    for _ in 0..2 {
        // The pencil's degenerate conic factors into two lines u . l = 0 through the origin.
        let u = e.0 - e.1 * s;
        s = -s;
        let solve_for_l2 = u.x.abs() < u.y.abs();
        let (w0, w1, qa, qb, qc) = if solve_for_l2 {
            // l2 = w0 l1 + w1 l3; substitute in constraints 13 and 23.
            let inv = -1.0 / u.y;
            let (w0, w1) = (u.x * inv, u.z * inv);
            let qa = -a13 * w1 * w1 + 2.0 * a13 * c23 * w1 - a13 + a23;
            let qb = 2.0 * a13 * c23 * w0 - 2.0 * a23 * c13 - 2.0 * a13 * w0 * w1;
            let qc = -a13 * w0 * w0 + a23;
            (w0, w1, qa, qb, qc)
        } else {
            // l1 = w0 l2 + w1 l3; substitute in constraints 12 and 13.
            let inv = -1.0 / u.x;
            let (w0, w1) = (u.y * inv, u.z * inv);
            let qa = (a13 - a12) * w1 * w1 + 2.0 * a12 * c13 * w1 - a12;
            let qb = -2.0 * a13 * c12 * w1 + 2.0 * a12 * c13 * w0 - 2.0 * w0 * w1 * (a12 - a13);
            let qc = (a13 - a12) * w0 * w0 - 2.0 * a13 * c12 * w0 + a13;
            (w0, w1, qa, qb, qc)
        };
        if !(w0.is_finite() && w1.is_finite()) {
            continue;
        }
        let disc = qb * qb - 4.0 * qa * qc;
        if disc < -DISC_TOL {
            continue;
        }
        let sq = math::sqrt_clamped(disc);
        // tau = l3 / l1 (or l3 / l2); the numerically stable form of the two roots.
        let tau0 = if qb > 0.0 {
            2.0 * qc / (-qb - sq)
        } else {
            2.0 * qc / (-qb + sq)
        };
        let taus = [tau0, qc / (qa * tau0)];
        let count = if disc < DISC_TOL { 1 } else { 2 };
        for &tau in taus.iter().take(count) {
            if !(tau > 0.0) || !tau.is_finite() {
                continue;
            }
            let (mut l1, mut l2, mut l3);
            if solve_for_l2 {
                let den = tau * (tau - 2.0 * c13) + 1.0;
                if !(den > 0.0) {
                    continue;
                }
                l1 = math::sqrt(a13 / den);
                l3 = tau * l1;
                l2 = w0 * l1 + w1 * l3;
            } else {
                let den = tau * (tau - 2.0 * c23) + 1.0;
                if !(den > 0.0) {
                    continue;
                }
                l2 = math::sqrt(a23 / den);
                l3 = tau * l2;
                l1 = w0 * l2 + w1 * l3;
            }
            if !(l1 > 0.0 && l2 > 0.0 && l3 > 0.0) {
                continue;
            }
            refine_depths(&mut l1, &mut l2, &mut l3, a12, a13, a23, c12, c13, c23);
            if l1 > 0.0
                && l2 > 0.0
                && l3 > 0.0
                && l1.is_finite()
                && l2.is_finite()
                && l3.is_finite()
            {
                out.push((l1, l2, l3));
            }
        }
    }
    out
}

/// A few Newton steps on the three distance constraints (3x3 system in closed form).
#[allow(clippy::too_many_arguments)]
fn refine_depths(
    l1: &mut f64,
    l2: &mut f64,
    l3: &mut f64,
    a12: f64,
    a13: f64,
    a23: f64,
    c12: f64,
    c13: f64,
    c23: f64,
) {
    for _ in 0..5 {
        let r1 = *l1 * *l1 - 2.0 * *l1 * *l2 * c12 + *l2 * *l2 - a12;
        let r2 = *l1 * *l1 - 2.0 * *l1 * *l3 * c13 + *l3 * *l3 - a13;
        let r3 = *l2 * *l2 - 2.0 * *l2 * *l3 * c23 + *l3 * *l3 - a23;
        // Inputs are scaled so the longest edge is 1: this tolerance is relative.
        if r1.abs() + r2.abs() + r3.abs() < 1e-12 {
            return;
        }
        let x11 = *l1 - *l2 * c12;
        let x12 = *l2 - *l1 * c12;
        let x21 = *l1 - *l3 * c13;
        let x23 = *l3 - *l1 * c13;
        let x32 = *l2 - *l3 * c23;
        let x33 = *l3 - *l2 * c23;
        let det = x11 * x23 * x32 + x12 * x21 * x33;
        if !(det.abs() > 1e-300) {
            return;
        }
        let h = 0.5 / det;
        let n1 = *l1 + (-x23 * x32 * r1 - x12 * x33 * r2 + x12 * x23 * r3) * h;
        let n2 = *l2 + (-x21 * x33 * r1 + x11 * x33 * r2 - x11 * x23 * r3) * h;
        let n3 = *l3 + (x21 * x32 * r1 - x11 * x32 * r2 - x12 * x21 * r3) * h;
        if !(n1.is_finite() && n2.is_finite() && n3.is_finite()) {
            return;
        }
        (*l1, *l2, *l3) = (n1, n2, n3);
    }
}

/// One real root of `g^3 + p2 g^2 + p1 g + p0`, polished by a Newton step. Any real root
/// works for lambda twist; `None` only for non-finite coefficients.
fn cubic_real_root(p2: f64, p1: f64, p0: f64) -> Option<f64> {
    if !(p2.is_finite() && p1.is_finite() && p0.is_finite()) {
        return None;
    }
    // Depressed cubic t^3 + a t + b with g = t - p2/3.
    // Divisions by 3 and 27 are multiplications here: a divide costs ~15 multiplies.
    const THIRD: f64 = 1.0 / 3.0;
    const INV27: f64 = 1.0 / 27.0;
    let p2_3 = p2 * THIRD;
    let a = p1 - p2 * p2_3;
    let b = (2.0 * p2 * p2 * p2 - 9.0 * p2 * p1) * INV27 + p0;
    let disc = 0.25 * b * b + a * a * a * INV27;
    let mut g = if disc > 0.0 {
        let sq = math::sqrt(disc);
        math::cbrt(-0.5 * b + sq) + math::cbrt(-0.5 * b - sq) - p2_3
    } else if a < 0.0 {
        let c = (1.5 * b / a * math::sqrt(-3.0 / a)).clamp(-1.0, 1.0);
        2.0 * math::sqrt(-a * THIRD) * math::cos(math::acos(c) * THIRD) - p2_3
    } else {
        // a == 0 and b == 0: triple root.
        -p2_3
    };
    let f = ((g + p2) * g + p1) * g + p0;
    let df = (3.0 * g + 2.0 * p2) * g + p1;
    if df.abs() > 1e-300 {
        let step = f / df;
        if step.is_finite() {
            g -= step;
        }
    }
    g.is_finite().then_some(g)
}

/// A symmetric 3x3 matrix by its six distinct entries.
#[derive(Clone, Copy)]
struct Sym3 {
    m00: f64,
    m01: f64,
    m02: f64,
    m11: f64,
    m12: f64,
    m22: f64,
}

impl Sym3 {
    fn det(&self) -> f64 {
        self.m00 * (self.m11 * self.m22 - self.m12 * self.m12)
            - self.m01 * (self.m01 * self.m22 - self.m12 * self.m02)
            + self.m02 * (self.m01 * self.m12 - self.m11 * self.m02)
    }

    /// `sum(self .* adj(o))`: the coefficient that mixes the two matrices in
    /// `det(A + g B)`, with `adj` the (symmetric) adjugate.
    fn mixed_det(&self, o: &Self) -> f64 {
        let c00 = o.m11 * o.m22 - o.m12 * o.m12;
        let c11 = o.m00 * o.m22 - o.m02 * o.m02;
        let c22 = o.m00 * o.m11 - o.m01 * o.m01;
        let c01 = o.m02 * o.m12 - o.m01 * o.m22;
        let c02 = o.m01 * o.m12 - o.m02 * o.m11;
        let c12 = o.m01 * o.m02 - o.m00 * o.m12;
        self.m00 * c00
            + self.m11 * c11
            + self.m22 * c22
            + 2.0 * (self.m01 * c01 + self.m02 * c02 + self.m12 * c12)
    }

    fn add_scaled(&self, o: &Self, g: f64) -> Self {
        Self {
            m00: self.m00 + g * o.m00,
            m01: self.m01 + g * o.m01,
            m02: self.m02 + g * o.m02,
            m11: self.m11 + g * o.m11,
            m12: self.m12 + g * o.m12,
            m22: self.m22 + g * o.m22,
        }
    }

    /// For a singular indefinite matrix `sig1 e1 e1^T + sig2 e2 e2^T` (unit `e`), the pair of
    /// lines `(e1 -+ sqrt(-sig2/sig1) e2) . l = 0` it factors into. The eigenvectors are
    /// returned unnormalised together with the factor `s` that accounts for their
    /// lengths, so that `v1 - s v2` and `v1 + s v2` are (multiples of) the two lines: this
    /// saves the normalisations and divisions of the textbook form. `None` when the
    /// matrix is not indefinite or the eigenvectors are undefined.
    fn line_pair(&self) -> Option<((Vec3, Vec3), f64)> {
        // Characteristic polynomial of a singular matrix: s (s^2 + p1 s + p0).
        let p1 = -self.m00 - self.m11 - self.m22;
        let p0 = -self.m01 * self.m01 - self.m02 * self.m02 - self.m12 * self.m12
            + self.m00 * (self.m11 + self.m22)
            + self.m11 * self.m22;
        let disc = math::sqrt_clamped(p1 * p1 / 4.0 - p0);
        let mut sig1 = -p1 / 2.0 + disc;
        let mut sig2 = -p1 / 2.0 - disc;
        if sig1.abs() < sig2.abs() {
            core::mem::swap(&mut sig1, &mut sig2);
        }
        // Eigenvector of eigenvalue sig as (a1, a2, 1) scaled by c (no division).
        let vec_for = |sig: f64| -> Vec3 {
            let c =
                sig * sig + self.m00 * self.m11 - sig * (self.m00 + self.m11) - self.m01 * self.m01;
            let a1 = sig * self.m02 + self.m01 * self.m12 - self.m02 * self.m11;
            let a2 = sig * self.m12 + self.m01 * self.m02 - self.m00 * self.m12;
            Vec3::new(a1, a2, c)
        };
        let v1 = vec_for(sig1);
        let v2 = vec_for(sig2);
        let ratio = -sig2 * v1.norm_squared() / (sig1 * v2.norm_squared());
        (ratio >= 0.0 && ratio.is_finite()).then(|| ((v1, v2), math::sqrt(ratio)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Quat;

    #[test]
    fn cubic_root_solves_known_cubics() {
        // (g - 1)(g - 2)(g + 3) = g^3 - 7 g + 6
        let g = cubic_real_root(0.0, -7.0, 6.0).unwrap();
        assert!(((g * g - 7.0) * g + 6.0).abs() < 1e-12);
        // g^3 - 3 g^2 + 3 g - 1 = (g - 1)^3
        let g = cubic_real_root(-3.0, 3.0, -1.0).unwrap();
        assert!((g - 1.0).abs() < 1e-4);
        // One real root: g^3 + g + 1
        let g = cubic_real_root(0.0, 1.0, 1.0).unwrap();
        assert!((g * g * g + g + 1.0).abs() < 1e-12);
    }

    #[test]
    fn recovers_a_known_pose() {
        let r = Quat::from_axis_angle(Vec3::new(0.2, -1.0, 0.4), 0.8).to_mat3();
        let t = Vec3::new(0.5, -0.2, 4.0);
        let pts = [
            Vec3::new(-1.0, 0.3, 1.0),
            Vec3::new(0.7, -0.8, 0.2),
            Vec3::new(0.1, 1.1, -0.6),
        ];
        let bearings = pts.map(|x| r.mul_vec(x) + t);
        let sols = p3p(&bearings, &pts).unwrap();
        assert!(!sols.is_empty());
        let best = sols
            .as_slice()
            .iter()
            .map(|s| s.rotation.frobenius_distance(&r) + (s.translation - t).norm())
            .fold(f64::INFINITY, f64::min);
        assert!(best < 1e-9, "best error {best}");
        for s in sols.as_slice() {
            assert!((s.rotation.det() - 1.0).abs() < 1e-12);
            let rtr = s.rotation.transpose().mul_mat(&s.rotation);
            assert!(rtr.frobenius_distance(&Mat3::IDENTITY) < 1e-12);
        }
    }

    #[test]
    fn degenerate_inputs_are_errors() {
        let b = [
            Vec3::new(0.0, 0.0, 1.0),
            Vec3::new(0.1, 0.0, 1.0),
            Vec3::new(0.0, 0.1, 1.0),
        ];
        let collinear = [
            Vec3::new(0.0, 0.0, 5.0),
            Vec3::new(1.0, 1.0, 5.0),
            Vec3::new(2.0, 2.0, 5.0),
        ];
        assert_eq!(p3p(&b, &collinear).unwrap_err(), P3pError::DegeneratePoints);
        let same = [Vec3::new(1.0, 0.0, 5.0); 3];
        assert_eq!(p3p(&b, &same).unwrap_err(), P3pError::DegeneratePoints);
        let pts = [
            Vec3::new(0.0, 0.0, 5.0),
            Vec3::new(1.0, 0.0, 5.0),
            Vec3::new(0.0, 1.0, 5.0),
        ];
        let parallel = [b[0], b[0] * 2.0, b[2]];
        assert_eq!(
            p3p(&parallel, &pts).unwrap_err(),
            P3pError::DegenerateBearings
        );
        let zero = [Vec3::ZERO, b[1], b[2]];
        assert_eq!(p3p(&zero, &pts).unwrap_err(), P3pError::DegenerateBearings);
        let nan = [Vec3::new(f64::NAN, 0.0, 1.0), b[1], b[2]];
        assert_eq!(p3p(&nan, &pts).unwrap_err(), P3pError::NonFinite);
    }
}
