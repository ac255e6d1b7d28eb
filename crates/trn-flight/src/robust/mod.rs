//! Robust absolute pose: deterministic LO-RANSAC over [`crate::p3p`], Gauss-Newton /
//! Levenberg-Marquardt refinement on the inliers and a 6x6 pose covariance.
//!
//! * Deterministic: samples come from a seeded [`Pcg32`]; the same input and seed give the
//!   same pose bit for bit.
//! * Bounded: at most `max_iterations` samples, each scored in `O(n)`; local optimisation
//!   runs only when the best model improves and takes a fixed number of steps. Worst-case
//!   work is `O(max_iterations * n)`.
//! * Honest: the covariance is `sigma^2 (J^T J)^-1` at the solution, with `sigma` the
//!   residual standard deviation of the inliers (never below a configured floor); an
//!   optional independent attitude ([`AttitudePrior`]) adds its information to the final
//!   refinement and to `J^T J`.
//! * Refuses rather than guesses: too few points, non-finite input, collinear inliers, an
//!   ill-conditioned geometry or too few inliers are errors.
//!
//! Observations are undistorted normalised image coordinates `(x/z, y/z)` (see
//! [`crate::camera`]); the threshold is given in pixels with the focal length that converts.
//!
//! The covariance is ordered (position x, y, z in the site frame, metres; then attitude as a
//! rotation vector in the camera frame, radians), where the attitude perturbation acts as
//! `q_true = q_est * exp(delta)`.

mod model;

use crate::linalg::{Mat6, Quat, Vec3, invert_spd6};
use crate::p3p::p3p;
use crate::pose::Pose;
use crate::rng::Pcg32;
use core::fmt;
use model::{Model, refine};

/// Fewest correspondences accepted: three fix a finite set of poses, the fourth picks one.
pub const MIN_POINTS: usize = 4;

/// Settings of the robust estimator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RansacConfig {
    /// Focal length in pixels, to turn pixel thresholds into normalised units.
    pub focal_px: f64,
    /// Reprojection error (pixels) below which a correspondence is an inlier.
    pub threshold_px: f64,
    /// Probability that adaptive stopping has drawn at least one all-inlier sample.
    pub confidence: f64,
    /// Hard cap on samples drawn: bounds worst-case time.
    pub max_iterations: u32,
    /// Samples always drawn before adaptive stopping may end the search.
    pub min_iterations: u32,
    /// Fewest inliers for a pose to be returned.
    pub min_inliers: usize,
    /// Levenberg-Marquardt iterations of the final refinement.
    pub refine_iterations: u32,
    /// Seed of the sampler.
    pub seed: u64,
    /// Lower bound of the residual sigma used in the covariance, pixels: a perfect fit
    /// must not claim a perfect pose.
    pub sigma_floor_px: f64,
    /// An independent attitude measurement (an inertial or star-tracker attitude) fused
    /// into the final refinement and the covariance; `None` for vision alone.
    pub attitude_prior: Option<AttitudePrior>,
}

/// An attitude measurement with its uncertainty, fused as three extra residuals
/// `log(q_prior^-1 q) / sigma` next to the reprojection errors.
///
/// Few landmarks over a narrow view leave a translation of the camera and a rotation that
/// keeps the image centre in place nearly indistinguishable; an attitude known to a
/// fraction of that ambiguity pins the position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttitudePrior {
    /// Camera-to-site attitude.
    pub attitude: Quat,
    /// 1-sigma per axis, radians (positive).
    pub sigma_rad: f64,
}

impl AttitudePrior {
    /// Weight of this attitude's residuals against reprojection errors of sigma
    /// `sigma_image` (normalised image units): the ratio of their variances.
    fn weight(&self, sigma_image: f64) -> f64 {
        (sigma_image / self.sigma_rad) * (sigma_image / self.sigma_rad)
    }
}

impl RansacConfig {
    /// Defaults for a camera of focal length `focal_px`: 2 px threshold, 99.99 %
    /// confidence, at most 1000 samples, at least 6 inliers.
    #[must_use]
    pub const fn new(focal_px: f64) -> Self {
        Self {
            focal_px,
            threshold_px: 2.0,
            confidence: 0.9999,
            max_iterations: 1000,
            min_iterations: 20,
            min_inliers: 6,
            refine_iterations: 20,
            seed: 0x7472_6e5f_7261_6e73,
            sigma_floor_px: 0.05,
            attitude_prior: None,
        }
    }
}

/// A robustly estimated pose.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoseEstimate {
    /// The refined pose.
    pub pose: Pose,
    /// 6x6 covariance: position (m, site frame), then attitude (rad, camera frame).
    pub covariance: Mat6,
    /// Correspondences within the threshold of the refined pose.
    pub inliers: usize,
    /// Samples drawn.
    pub iterations: u32,
    /// Residual standard deviation of the inliers, pixels (before the floor).
    pub sigma_px: f64,
}

impl PoseEstimate {
    /// 1-sigma of each position axis, metres.
    #[must_use]
    pub fn position_sigma(&self) -> Vec3 {
        let c = &self.covariance;
        Vec3::new(
            sqrt_or_nan(c[0][0]),
            sqrt_or_nan(c[1][1]),
            sqrt_or_nan(c[2][2]),
        )
    }

    /// 1-sigma of each attitude axis, radians.
    #[must_use]
    pub fn attitude_sigma(&self) -> Vec3 {
        let c = &self.covariance;
        Vec3::new(
            sqrt_or_nan(c[3][3]),
            sqrt_or_nan(c[4][4]),
            sqrt_or_nan(c[5][5]),
        )
    }
}

fn sqrt_or_nan(x: f64) -> f64 {
    if x >= 0.0 {
        crate::math::sqrt(x)
    } else {
        f64::NAN
    }
}

/// Why no pose was returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoseError {
    /// The image and world slices differ in length.
    LengthMismatch,
    /// The inlier mask is shorter than the inputs.
    MaskTooShort,
    /// Fewer than [`MIN_POINTS`] correspondences.
    NotEnoughPoints,
    /// Correspondence `index` holds NaN or infinity.
    NonFinite {
        /// Index of the offending correspondence.
        index: usize,
    },
    /// The configuration is invalid (non-positive focal length or threshold, confidence
    /// outside (0, 1), zero iteration cap).
    InvalidConfig,
    /// No sample produced a pose with at least `min_inliers` inliers in front of the camera.
    TooFewInliers,
    /// The inliers' world points are collinear: rotation about their line is free.
    Degenerate,
    /// The refined geometry is too weak to give a covariance.
    IllConditioned,
}

impl fmt::Display for PoseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthMismatch => f.write_str("image and world point counts differ"),
            Self::MaskTooShort => f.write_str("inlier mask shorter than the correspondences"),
            Self::NotEnoughPoints => write!(f, "fewer than {MIN_POINTS} correspondences"),
            Self::NonFinite { index } => write!(f, "correspondence {index} is not finite"),
            Self::InvalidConfig => f.write_str("invalid robust pose configuration"),
            Self::TooFewInliers => {
                f.write_str("no pose with enough inliers in front of the camera")
            }
            Self::Degenerate => f.write_str("inlier world points are collinear"),
            Self::IllConditioned => f.write_str("pose geometry is ill-conditioned"),
        }
    }
}

impl core::error::Error for PoseError {}

/// Estimates the camera pose from 2-D/3-D correspondences with outliers.
///
/// `image[i]` is the undistorted normalised image point of site-frame point `world[i]`.
/// On success `inlier_mask[i]` tells whether correspondence `i` is an inlier of the
/// returned pose; on error the mask content is unspecified.
///
/// # Errors
///
/// See [`PoseError`]: invalid input or configuration, and every case where no pose can be
/// trusted (too few inliers, collinear inliers, ill-conditioned geometry).
///
/// # Example
///
/// ```
/// use trn_flight::robust::{estimate_pose, RansacConfig};
/// use trn_flight::{Pose, Quat, Vec3};
/// // A nadir-looking camera 1 km above a grid of terrain points.
/// let truth = Pose::new(Vec3::new(10.0, -20.0, 1000.0), Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), core::f64::consts::PI));
/// let mut world = [Vec3::ZERO; 25];
/// let mut image = [[0.0; 2]; 25];
/// for (i, (w, m)) in world.iter_mut().zip(image.iter_mut()).enumerate() {
///     *w = Vec3::new((i % 5) as f64 * 100.0 - 200.0, (i / 5) as f64 * 100.0 - 200.0, (i % 3) as f64 * 15.0);
///     let c = truth.to_camera(*w);
///     *m = [c.x / c.z, c.y / c.z];
/// }
/// let mut mask = [false; 25];
/// let est = estimate_pose(&image, &world, &mut mask, &RansacConfig::new(1000.0)).unwrap();
/// assert!((est.pose.position - truth.position).norm() < 1e-3);
/// assert_eq!(est.inliers, 25);
/// ```
pub fn estimate_pose(
    image: &[[f64; 2]],
    world: &[Vec3],
    inlier_mask: &mut [bool],
    config: &RansacConfig,
) -> Result<PoseEstimate, PoseError> {
    let n = image.len();
    if world.len() != n {
        return Err(PoseError::LengthMismatch);
    }
    if inlier_mask.len() < n {
        return Err(PoseError::MaskTooShort);
    }
    if n < MIN_POINTS {
        return Err(PoseError::NotEnoughPoints);
    }
    let valid_config = config.focal_px > 0.0
        && config.focal_px.is_finite()
        && config.threshold_px > 0.0
        && config.threshold_px.is_finite()
        && config.confidence > 0.0
        && config.confidence < 1.0
        && config.max_iterations > 0
        && config.sigma_floor_px >= 0.0
        && config
            .attitude_prior
            .is_none_or(|a| a.sigma_rad > 0.0 && a.sigma_rad.is_finite() && a.attitude.is_finite());
    if !valid_config {
        return Err(PoseError::InvalidConfig);
    }
    for (index, (m, w)) in image.iter().zip(world).enumerate() {
        if !(m[0].is_finite() && m[1].is_finite() && w.is_finite()) {
            return Err(PoseError::NonFinite { index });
        }
    }

    let th = config.threshold_px / config.focal_px;
    let th2 = th * th;
    let n_u32 = u32::try_from(n).unwrap_or(u32::MAX);
    let mut rng = Pcg32::new(config.seed, 0x5eed);

    let mut best: Option<Model> = None;
    let mut best_score = f64::INFINITY;
    let mut best_inliers = 0usize;
    let mut needed = config.max_iterations;
    let mut iterations = 0u32;
    while iterations < config.max_iterations
        && (iterations < config.min_iterations || iterations < needed)
    {
        iterations += 1;
        let Some(idx) = sample3(&mut rng, n_u32) else {
            break;
        };
        let (Some(b), Some(x)) = (gather_bearings(image, idx), gather_points(world, idx)) else {
            continue;
        };
        let Ok(sols) = p3p(&b, &x) else {
            continue;
        };
        for s in sols.as_slice() {
            let model = Model::from_w2c(s);
            let Some(score) = msac_score(&model, image, world, th2, best_score) else {
                continue;
            };
            if score >= best_score {
                continue;
            }
            // Local optimisation: a non-minimal fit on the inliers is far closer to the
            // truth than any minimal sample, so it both raises the inlier count (earlier
            // stopping) and avoids locking onto a noisy minimal pose.
            let mut candidate = (model, score);
            let lo = refine(model, image, world, th2, 4, None);
            if let Some(lo_score) = msac_score(&lo, image, world, th2, score)
                && lo_score < score
            {
                candidate = (lo, lo_score);
            }
            best = Some(candidate.0);
            best_score = candidate.1;
            best_inliers = count_inliers(&candidate.0, image, world, th2);
            needed = iterations_needed(best_inliers, n, config.confidence, config.max_iterations);
        }
    }

    let Some(mut model) = best else {
        return Err(PoseError::TooFewInliers);
    };
    if best_inliers < config.min_inliers.max(MIN_POINTS) {
        return Err(PoseError::TooFewInliers);
    }

    // Final refinement: inliers re-selected once the pose has moved.
    for _ in 0..2 {
        model = refine(model, image, world, th2, config.refine_iterations, None);
    }
    let floor = config.sigma_floor_px / config.focal_px;
    let mut normal = model.normal_equations(image, world, th2);
    // The attitude's weight against the reprojection errors is the ratio of their
    // variances; the image one comes from the vision-only fit's residuals.
    let vision_dof = 2.0 * normal.count as f64 - 6.0;
    let fused = config.attitude_prior.filter(|_| vision_dof > 0.0);
    if let Some(a) = fused {
        let sigma = crate::math::sqrt(normal.cost / vision_dof).max(floor);
        let p = (a.attitude.to_mat3(), a.weight(sigma));
        model = refine(model, image, world, th2, config.refine_iterations, Some(p));
        normal = model.normal_equations(image, world, th2);
    }
    let mut inliers = 0usize;
    for ((m, w), flag) in image.iter().zip(world).zip(inlier_mask.iter_mut()) {
        *flag = model.residual2(m, *w).is_some_and(|r2| r2 < th2);
        inliers += usize::from(*flag);
    }
    if inliers < config.min_inliers.max(MIN_POINTS) {
        return Err(PoseError::TooFewInliers);
    }
    if collinear(world, inlier_mask) {
        return Err(PoseError::Degenerate);
    }

    let dof = 2.0 * normal.count as f64 - 6.0;
    if !(dof > 0.0) {
        return Err(PoseError::TooFewInliers);
    }
    let sigma = crate::math::sqrt(normal.cost / dof);
    let sigma_used = sigma.max(floor);
    if let Some(a) = fused {
        // The attitude's information, in the reprojection errors' units (its residual does
        // not enter the sigma, which is the image's).
        normal.add_attitude(Vec3::ZERO, a.weight(sigma_used));
    }
    let h_inv = invert_spd6(&normal.h).ok_or(PoseError::IllConditioned)?;
    let covariance = h_inv.map(|h| h * sigma_used * sigma_used);
    let pose = model.to_pose().ok_or(PoseError::IllConditioned)?;
    Ok(PoseEstimate {
        pose,
        covariance,
        inliers,
        iterations,
        sigma_px: sigma * config.focal_px,
    })
}

/// Levenberg-Marquardt from `pose` on the correspondences within `config.threshold_px`
/// (no sampling): the pose the same data give near a known one. Used to propagate errors
/// of the 3-D points into the pose by re-solving with them perturbed. With
/// `config.attitude_prior` the attitude is fused as [`estimate_pose`] fuses it: weighted by
/// the residuals of the vision-only fit, then refined with it.
///
/// # Errors
///
/// [`PoseError::LengthMismatch`], [`PoseError::NotEnoughPoints`],
/// [`PoseError::InvalidConfig`] (focal length or threshold not positive and finite),
/// [`PoseError::TooFewInliers`] when an attitude is to be fused and too few points lie
/// within the threshold to weigh it, [`PoseError::IllConditioned`] when the refined pose is
/// not finite.
pub fn refine_pose(
    pose: &Pose,
    image: &[[f64; 2]],
    world: &[Vec3],
    config: &RansacConfig,
) -> Result<Pose, PoseError> {
    if world.len() != image.len() {
        return Err(PoseError::LengthMismatch);
    }
    if image.len() < MIN_POINTS {
        return Err(PoseError::NotEnoughPoints);
    }
    let ok = |x: f64| x > 0.0 && x.is_finite();
    if !ok(config.focal_px) || !ok(config.threshold_px) {
        return Err(PoseError::InvalidConfig);
    }
    let th = config.threshold_px / config.focal_px;
    let th2 = th * th;
    let model = Model {
        r: pose.attitude.to_mat3().transpose(),
        c: pose.position,
    };
    // As `estimate_pose`: the vision-only fit first, whose residuals weigh the attitude.
    let vision = refine(model, image, world, th2, config.refine_iterations, None);
    let Some(a) = config.attitude_prior else {
        return vision.to_pose().ok_or(PoseError::IllConditioned);
    };
    let normal = vision.normal_equations(image, world, th2);
    let dof = 2.0 * normal.count as f64 - 6.0;
    if !(dof > 0.0) {
        return Err(PoseError::TooFewInliers);
    }
    let floor = config.sigma_floor_px / config.focal_px;
    let sigma = crate::math::sqrt(normal.cost / dof).max(floor);
    let prior = Some((a.attitude.to_mat3(), a.weight(sigma)));
    refine(vision, image, world, th2, config.refine_iterations, prior)
        .to_pose()
        .ok_or(PoseError::IllConditioned)
}

/// The number of samples that finds an all-inlier triple with probability `confidence`
/// when a fraction `inliers / n` of the data are inliers.
fn iterations_needed(inliers: usize, n: usize, confidence: f64, cap: u32) -> u32 {
    let w = inliers as f64 / n as f64;
    let p_good = w * w * w;
    if p_good >= 1.0 {
        return 0;
    }
    if !(p_good > 0.0) {
        return cap;
    }
    let k = crate::math::ln(1.0 - confidence) / crate::math::ln(1.0 - p_good);
    if k.is_finite() && k < f64::from(cap) {
        // `ceil` is not in core: truncate, then round up a fractional part.
        let t = k.max(0.0) as u32;
        if f64::from(t) < k { t + 1 } else { t }
    } else {
        cap
    }
}

/// Three distinct indices below `n` (`n >= 3`).
fn sample3(rng: &mut Pcg32, n: u32) -> Option<[usize; 3]> {
    if n < 3 {
        return None;
    }
    let a = rng.below(n);
    let mut b = rng.below(n - 1);
    if b >= a {
        b += 1;
    }
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let mut c = rng.below(n - 2);
    if c >= lo {
        c += 1;
    }
    if c >= hi {
        c += 1;
    }
    Some([a as usize, b as usize, c as usize])
}

fn gather_bearings(image: &[[f64; 2]], idx: [usize; 3]) -> Option<[Vec3; 3]> {
    let f = |i: usize| image.get(i).map(|m| Vec3::new(m[0], m[1], 1.0));
    Some([f(idx[0])?, f(idx[1])?, f(idx[2])?])
}

fn gather_points(world: &[Vec3], idx: [usize; 3]) -> Option<[Vec3; 3]> {
    Some([
        *world.get(idx[0])?,
        *world.get(idx[1])?,
        *world.get(idx[2])?,
    ])
}

/// MSAC cost (truncated squared reprojection error); `None` as soon as it reaches
/// `bound`, so hopeless models cost a fraction of a full pass.
fn msac_score(
    model: &Model,
    image: &[[f64; 2]],
    world: &[Vec3],
    th2: f64,
    bound: f64,
) -> Option<f64> {
    let mut score = 0.0;
    for (m, w) in image.iter().zip(world) {
        score += model.residual2(m, *w).map_or(th2, |r2| r2.min(th2));
        if score >= bound {
            return None;
        }
    }
    Some(score)
}

fn count_inliers(model: &Model, image: &[[f64; 2]], world: &[Vec3], th2: f64) -> usize {
    image
        .iter()
        .zip(world)
        .filter(|(m, w)| model.residual2(m, **w).is_some_and(|r2| r2 < th2))
        .count()
}

/// True when the masked world points are collinear (or fewer than three distinct): the
/// second-largest eigenvalue of their scatter matrix is negligible against the largest.
fn collinear(world: &[Vec3], mask: &[bool]) -> bool {
    let mut count = 0.0;
    let mut mean = Vec3::ZERO;
    for (w, _) in world.iter().zip(mask).filter(|(_, m)| **m) {
        mean += *w;
        count += 1.0;
    }
    if count < 3.0 {
        return true;
    }
    mean = mean * (1.0 / count);
    let (mut sxx, mut sxy, mut sxz, mut syy, mut syz, mut szz) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (w, _) in world.iter().zip(mask).filter(|(_, m)| **m) {
        let d = *w - mean;
        sxx += d.x * d.x;
        sxy += d.x * d.y;
        sxz += d.x * d.z;
        syy += d.y * d.y;
        syz += d.y * d.z;
        szz += d.z * d.z;
    }
    // For a symmetric PSD matrix with eigenvalues l1 >= l2 >= l3: trace = sum, and the sum
    // of principal 2x2 minors = l1 l2 + l1 l3 + l2 l3 >= l1 l2. Collinear means l2 ~ 0,
    // i.e. the minors are negligible against trace^2.
    let trace = sxx + syy + szz;
    let minors = (sxx * syy - sxy * sxy) + (sxx * szz - sxz * sxz) + (syy * szz - syz * syz);
    !(trace > 0.0) || minors <= 1e-12 * trace * trace
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iteration_count_formula() {
        // w = 0.5: p = 0.125, k = ln(0.01) / ln(0.875) = 34.5 -> 35.
        assert_eq!(iterations_needed(50, 100, 0.99, 1000), 35);
        assert_eq!(iterations_needed(0, 100, 0.99, 1000), 1000);
        assert_eq!(iterations_needed(100, 100, 0.99, 1000), 0);
        assert_eq!(iterations_needed(1, 1000, 0.9999, 500), 500);
    }

    #[test]
    fn samples_are_distinct_and_cover_the_range() {
        let mut rng = Pcg32::new(1, 2);
        let mut seen = [false; 7];
        for _ in 0..2000 {
            let [a, b, c] = sample3(&mut rng, 7).unwrap();
            assert!(a != b && b != c && a != c);
            seen[a] = true;
            seen[b] = true;
            seen[c] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert!(sample3(&mut rng, 2).is_none());
    }

    #[test]
    fn collinearity_detector() {
        let line = [
            Vec3::new(0.0, 0.0, 0.0),
            Vec3::new(1.0, 2.0, 3.0),
            Vec3::new(2.0, 4.0, 6.0),
            Vec3::new(-5.0, -10.0, -15.0),
        ];
        assert!(collinear(&line, &[true; 4]));
        let plane = [
            Vec3::new(0.0, 0.0, 0.0),
            Vec3::new(1.0, 0.0, 0.0),
            Vec3::new(0.0, 1.0, 0.0),
            Vec3::new(1.0, 1.0, 0.0),
        ];
        assert!(!collinear(&plane, &[true; 4]));
        assert!(collinear(&plane, &[true, true, false, false]));
    }
}
