//! The pose as the refinement updates it, its Gauss-Newton normal equations over the
//! inliers, and the Levenberg-Marquardt iteration on them.

use crate::linalg::{Mat3, Mat6, Quat, Vec3, solve_spd6};
use crate::p3p::WorldToCamera;
use crate::pose::Pose;

use super::MIN_POINTS;

/// A pose in the form the refinement updates: world-to-camera rotation and camera centre.
#[derive(Clone, Copy, Debug)]
pub(super) struct Model {
    pub(super) r: Mat3,
    pub(super) c: Vec3,
}

/// Accumulated Gauss-Newton system over the inliers of a model.
pub(super) struct Normal {
    pub(super) h: Mat6,
    pub(super) g: [f64; 6],
    pub(super) cost: f64,
    /// Cost with every point outside the threshold counted at the threshold (MSAC).
    truncated_cost: f64,
    pub(super) count: usize,
}

impl Normal {
    /// Adds an attitude residual `e` (camera-frame rotation vector) of weight `w`: its
    /// Jacobian in this parametrisation is the identity on the rotation block.
    pub(super) fn add_attitude(&mut self, e: Vec3, w: f64) {
        self.h.add_diagonal([0.0, 0.0, 0.0, w, w, w]);
        for (g, ei) in self.g.iter_mut().skip(3).zip(e.to_array()) {
            *g += w * ei;
        }
        let e2 = w * e.norm_squared();
        self.cost += e2;
        self.truncated_cost += e2;
    }
}

impl Model {
    pub(super) fn from_w2c(s: &WorldToCamera) -> Self {
        Self {
            r: s.rotation,
            c: -s.rotation.tr_mul_vec(s.translation),
        }
    }

    pub(super) fn to_pose(self) -> Option<Pose> {
        let q = Quat::from_mat3(&self.r.transpose())?;
        let p = Pose::new(self.c, q);
        p.is_finite().then_some(p)
    }

    /// Squared reprojection error in normalised units; `None` behind the camera.
    #[inline]
    pub(super) fn residual2(&self, m: &[f64; 2], w: Vec3) -> Option<f64> {
        let x = self.r.mul_vec(w - self.c);
        if !(x.z > 1e-9) {
            return None;
        }
        let iz = 1.0 / x.z;
        let du = x.x * iz - m[0];
        let dv = x.y * iz - m[1];
        Some(du * du + dv * dv)
    }

    /// Normal equations over the points within the threshold. Parameters: camera centre
    /// (site frame), then a rotation vector in the camera frame (`R_c2s' = R_c2s exp(d)`).
    pub(super) fn normal_equations(&self, image: &[[f64; 2]], world: &[Vec3], th2: f64) -> Normal {
        let mut h = Mat6::ZERO;
        let mut g = [0.0; 6];
        let mut cost = 0.0;
        let mut count = 0usize;
        let mut outside = 0usize;
        for (m, w) in image.iter().zip(world) {
            let x = self.r.mul_vec(*w - self.c);
            if !(x.z > 1e-9) {
                outside += 1;
                continue;
            }
            let iz = 1.0 / x.z;
            let (u, v) = (x.x * iz, x.y * iz);
            let (ru, rv) = (u - m[0], v - m[1]);
            let r2 = ru * ru + rv * rv;
            if !(r2 < th2) {
                outside += 1;
                continue;
            }
            cost += r2;
            count += 1;
            // d(u,v)/dx_cam = [[iz, 0, -u iz], [0, iz, -v iz]];
            // dx_cam/dc = -R, dx_cam/dtheta = [x_cam]x.
            let mut ju = [0.0; 6];
            let mut jv = [0.0; 6];
            let du = Vec3::new(iz, 0.0, -u * iz);
            let dv = Vec3::new(0.0, iz, -v * iz);
            // Row vector times -R: -(R^T du).
            let pu = -self.r.tr_mul_vec(du);
            let pv = -self.r.tr_mul_vec(dv);
            // Row vector times [x]x: du . (x cross d) = (du cross x) . d.
            let au = du.cross(x);
            let av = dv.cross(x);
            ju[..3].copy_from_slice(&pu.to_array());
            ju[3..].copy_from_slice(&au.to_array());
            jv[..3].copy_from_slice(&pv.to_array());
            jv[3..].copy_from_slice(&av.to_array());
            accumulate(&mut h, &mut g, &ju, ru);
            accumulate(&mut h, &mut g, &jv, rv);
        }
        h.mirror_upper();
        let truncated_cost = cost + outside as f64 * th2;
        Normal {
            h,
            g,
            cost,
            truncated_cost,
            count,
        }
    }

    /// [`Self::normal_equations`] plus an attitude measurement `(r_c2s, w)`: residual
    /// `log(r_c2s^T R_c2s)` (camera frame), whose Jacobian in this parametrisation is the
    /// identity to first order, weighted by `w`.
    fn normal_equations_with(
        &self,
        image: &[[f64; 2]],
        world: &[Vec3],
        th2: f64,
        prior: Option<(Mat3, f64)>,
    ) -> Normal {
        let mut ne = self.normal_equations(image, world, th2);
        let Some((r_prior, w)) = prior else {
            return ne;
        };
        // R_c2s = r^T; the attitude error is R_prior^T R_c2s = (r R_prior)^T.
        let e = Quat::from_mat3(&self.r.mul_mat(&r_prior).transpose())
            .map_or(Vec3::ZERO, Quat::to_rotation_vector);
        ne.add_attitude(e, w);
        ne
    }

    fn updated(&self, d: &[f64; 6]) -> Self {
        let dc = Vec3::new(d[0], d[1], d[2]);
        let dt = Vec3::new(d[3], d[4], d[5]);
        // R_c2s' = R_c2s exp(d), hence R_w2c' = exp(d)^T R_w2c.
        let e = Quat::from_rotation_vector(dt).to_mat3().transpose();
        Self {
            r: e.mul_mat(&self.r),
            c: self.c + dc,
        }
    }
}

#[inline]
#[allow(clippy::indexing_slicing)] // i, j < 6 by the loop bounds over 6-element arrays.
fn accumulate(h: &mut Mat6, g: &mut [f64; 6], j: &[f64; 6], r: f64) {
    for i in 0..6 {
        g[i] += j[i] * r;
        for k in i..6 {
            h[i][k] += j[i] * j[k];
        }
    }
}

/// Levenberg-Marquardt on the truncated least-squares cost: each step uses the points
/// currently within the threshold and is kept only if the truncated cost decreases. One
/// pass over the data per iteration: the candidate's normal equations carry its cost.
/// With `prior = Some((r_c2s, w))` the cost also holds `w |log(r_c2s^T R_c2s)|^2`, an
/// attitude measurement weighted in the reprojection errors' units.
pub(super) fn refine(
    model: Model,
    image: &[[f64; 2]],
    world: &[Vec3],
    th2: f64,
    iterations: u32,
    prior: Option<(Mat3, f64)>,
) -> Model {
    let mut model = model;
    let mut ne = model.normal_equations_with(image, world, th2, prior);
    let mut lambda = 1e-4;
    for _ in 0..iterations {
        if ne.count < MIN_POINTS {
            break;
        }
        let mut a = ne.h;
        a.add_diagonal(a.diagonal().map(|d| lambda * d.max(1e-12)));
        let rhs = ne.g.map(|x| -x);
        let Some(step) = solve_spd6(&a, &rhs) else {
            lambda *= 10.0;
            continue;
        };
        let cand = model.updated(&step);
        let cand_ne = cand.normal_equations_with(image, world, th2, prior);
        if cand_ne.truncated_cost < ne.truncated_cost {
            // A relative decrease this small moves the pose by a tiny fraction of its sigma.
            let converged = ne.truncated_cost - cand_ne.truncated_cost < 1e-10 * ne.truncated_cost;
            model = cand;
            ne = cand_ne;
            lambda = (lambda * 0.1).max(1e-12);
            if converged {
                break;
            }
        } else {
            lambda *= 10.0;
            if lambda > 1e8 {
                break;
            }
        }
    }
    model
}
