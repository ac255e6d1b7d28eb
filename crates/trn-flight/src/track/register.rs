//! Registration: the current frame's altitude and horizontal position from the previous
//! frame warped into its view through the ground plane, over a ladder of altitudes.

use super::{
    FixedFrame, MAX_ALTITUDES, MAX_REGISTER_SIDE, REG, REG_HALF, TrackConfig, TrackScratch,
    ground_below, octave, on_plane, pixel_of,
};
use crate::camera::Camera;
use crate::dem::Heightfield;
use crate::linalg::Vec3;
use crate::math;
use crate::ncc::{self, NccConfig};
use crate::pose::Pose;
use crate::pyramid::Pyramid;
use crate::view::ImageView;

/// The pose of the current frame from the previous one at the altitude and horizontal
/// position where the previous frame, warped into the current view through the ground
/// plane, best matches it (blocks centred on the frame's centre and half-way to its
/// corners: shifts up to about three eighths of the frame are found), and the match's
/// score. `prior` gives the attitude
/// and the horizontal position searched around; `sigma_z_m` bounds the altitudes tried
/// (3 sigma, within [`TrackConfig::max_altitude_ratio`] of the previous frame's).
///
/// `None` when no altitude gives a peak above [`TrackConfig::min_register_score`] clear of
/// the window's border, or the geometry fails (no ground below, no coarse level small
/// enough).
#[must_use]
#[allow(clippy::too_many_arguments)]
pub fn register(
    prev: &FixedFrame<'_>,
    frame: &Pyramid<'_>,
    prior: &Pose,
    sigma_z_m: f64,
    camera: &Camera,
    dem: &Heightfield<'_>,
    cfg: &TrackConfig,
    scratch: &mut TrackScratch,
) -> Option<(Pose, f32)> {
    // The coarse level: the first at most `register_side` on its larger side.
    let mut level = None;
    for k in 0..frame.len() {
        let l = frame.level(k)?;
        if l.width().max(l.height()) <= cfg.register_side.min(MAX_REGISTER_SIDE) {
            level = Some((k, *l));
            break;
        }
    }
    let (k, lvl) = level?;
    if lvl.width() < REG || lvl.height() < REG {
        return None;
    }
    let scale = f64::from(1u32 << k.min(31));
    let (_, ground) = ground_below(&prev.pose, dem)?;
    let window = lvl;
    if !(cfg.altitude_step > 0.0) {
        return None;
    }
    // Template positions: the frame's centre, which finds shifts up to a quarter of the
    // coarse level either way, and four positions half-way to the corners, each reaching
    // twice as far towards the opposite corner. The best score over all wins.
    let (mx, my) = (lvl.width() / 2, lvl.height() / 2);
    let (ox, oy) = ((lvl.width() - REG) / 4, (lvl.height() - REG) / 4);
    let centres = [
        (mx, my),
        (mx - ox, my - oy),
        (mx + ox, my - oy),
        (mx - ox, my + oy),
        (mx + ox, my + oy),
    ];
    let mut best: Option<Rung> = None;
    for (cx, cy) in centres {
        // The ground this template sees: low down, relief comparable to the altitude makes
        // the plane under the previous camera the wrong one (its height error becomes the
        // altitude's).
        let (u, v) = (scale * cx as f64, scale * cy as f64);
        let plane = seen_plane(camera, prior, (u, v), scale * REG_HALF as f64, dem)
            .unwrap_or((ground, Vec3::new(0.0, 0.0, 1.0)));
        // Altitudes: a geometric ladder over the prior's 3-sigma range, within the ratio of
        // the previous camera's height over the same ground.
        let h_prev = prev.pose.position.z - plane.0.z;
        let h_prior = prior.position.z - plane.0.z;
        let lo = (h_prior - 3.0 * sigma_z_m).max(h_prev / cfg.max_altitude_ratio);
        let hi = (h_prior + 3.0 * sigma_z_m).min(h_prev * cfg.max_altitude_ratio);
        if !(lo > 0.0 && hi >= lo) {
            continue;
        }
        let mut step = 1.0 + cfg.altitude_step;
        let span = math::ln(hi / lo);
        if span / math::ln(step) > (MAX_ALTITUDES - 1) as f64 {
            step = math::exp(span / (MAX_ALTITUDES - 1) as f64);
        }
        let Some(r) = ladder(
            prev,
            camera,
            &window,
            scale,
            (cx, cy),
            prior,
            plane,
            h_prev,
            (lo, hi, step),
            scratch,
        ) else {
            continue;
        };
        if best.as_ref().is_none_or(|b| r.score > b.score) {
            best = Some(r);
        }
    }
    let best = best?;
    if best.score < cfg.min_register_score {
        return None;
    }
    let (p0, n) = best.plane;
    let pose = Pose::new(
        Vec3::new(prior.position.x, prior.position.y, p0.z + best.h),
        prior.attitude,
    );
    // Where the template's centre was found says how far the camera must move over the
    // plane.
    let centre = (scale * best.centre.0 as f64, scale * best.centre.1 as f64);
    let found = (
        scale * f64::from(best.peak[0]),
        scale * f64::from(best.peak[1]),
    );
    let xc = on_plane(camera, &pose, centre.0, centre.1, p0, n)?;
    let xo = on_plane(camera, &pose, found.0, found.1, p0, n)?;
    // Moved horizontally, not along the plane: along it would keep the camera's distance to
    // the plane exactly, but the plane's tilt is the DEM's over a template's width, not the
    // ground's, and its error would go into the altitude.
    let shift = xc - xo;
    let moved = Pose::new(
        pose.position + Vec3::new(shift.x, shift.y, 0.0),
        pose.attitude,
    );
    moved.is_finite().then_some((moved, best.score))
}

/// The plane of the ground a registration template sees from the prior pose: where the
/// ray through level-0 pixel `(u, v)` meets the DEM, tilted as the DEM is over `half`
/// level-0 pixels' worth of ground either side (the template's half-width, not one DEM
/// cell's slope). `None` off the DEM.
fn seen_plane(
    camera: &Camera,
    prior: &Pose,
    (u, v): (f64, f64),
    half: f64,
    dem: &Heightfield<'_>,
) -> Option<(Vec3, Vec3)> {
    let d = prior.attitude.rotate(camera.unproject(u, v).ok()?);
    let hit = dem.ray_cast(prior.position, d, 1e6).ok()?;
    let p0 = hit.point;
    let g = dem.grid();
    let reach = ((p0 - prior.position).norm() * half / camera.focal().0.max(camera.focal().1))
        .max(math::abs(g.dx))
        .max(math::abs(g.dy));
    let h = |dx: f64, dy: f64| dem.height_at(p0.x + dx, p0.y + dy).ok();
    let gx = (h(reach, 0.0)? - h(-reach, 0.0)?) / (2.0 * reach);
    let gy = (h(0.0, reach)? - h(0.0, -reach)?) / (2.0 * reach);
    let n = Vec3::new(-gx, -gy, 1.0).try_normalize()?;
    Some((p0, n))
}

/// The best altitude of one template position.
struct Rung {
    /// Camera height above the plane's point, refined between rungs.
    h: f64,
    /// The plane warped through: a point and its unit normal.
    plane: (Vec3, Vec3),
    score: f32,
    /// Where the template's centre was found, coarse-level pixels.
    peak: [f32; 2],
    /// The template's centre, coarse-level pixels.
    centre: (usize, usize),
}

/// Registration's ladder of altitudes for the template centred at `centre` (coarse-level
/// pixels): the previous frame warped into each altitude's view through `plane` (a point
/// and its normal; altitudes are the camera's height above the point), searched for over
/// the whole coarse level.
#[allow(clippy::too_many_arguments)]
fn ladder(
    prev: &FixedFrame<'_>,
    camera: &Camera,
    window: &ImageView<'_>,
    scale: f64,
    centre: (usize, usize),
    prior: &Pose,
    plane: (Vec3, Vec3),
    h_prev: f64,
    (lo, hi, step): (f64, f64, f64),
    scratch: &mut TrackScratch,
) -> Option<Rung> {
    let (p0, n) = plane;
    let (cx, cy) = centre;
    let (x0, y0) = (cx.checked_sub(REG_HALF)?, cy.checked_sub(REG_HALF)?);
    if x0 + REG > window.width() || y0 + REG > window.height() {
        return None;
    }
    // The template's rays, once for every altitude.
    for (idx, ray) in scratch.rays.iter_mut().enumerate() {
        let (i, j) = (idx / REG, idx % REG);
        let (u, v) = (scale * (x0 + j) as f64, scale * (y0 + i) as f64);
        *ray = camera.unproject(u, v).ok()?;
    }
    let placements = (window.width() - REG + 1) * (window.height() - REG + 1);
    let rot = prior.attitude.to_mat3();
    // The peak for the camera `h` above the plane (none off the previous frame or on the
    // border of the search).
    let mut rung = |h: f64| -> Option<(f32, [f32; 2])> {
        let position = Vec3::new(prior.position.x, prior.position.y, p0.z + h);
        // Previous-frame pixels per template pixel: the level to sample it at.
        let m = octave(scale * h / h_prev).min(prev.pyramid.len().saturating_sub(1));
        for (t, ray) in scratch.template.iter_mut().zip(scratch.rays.iter()) {
            let d = rot.mul_vec(*ray);
            let den = d.dot(n);
            if !(den < -1e-9) {
                return None;
            }
            let along = (p0 - position).dot(n) / den;
            if !(along > 0.0) {
                return None;
            }
            let x = position + d * along;
            let [pu, pv] = pixel_of(camera, &prev.pose, x)?;
            *t = prev.pyramid.sample(m, pu, pv)?;
        }
        let tv = ImageView::packed(&scratch.template, REG, REG).ok()?;
        let scores = scratch.scores.get_mut(..placements)?;
        let p = ncc::search(&tv, window, scores, &NccConfig::default()).ok()?;
        (!p.on_border).then_some((p.score, [p.x, p.y]))
    };
    // Coarse rungs three steps apart over the range, then the five fine rungs around the
    // best of them: the score falls off smoothly with the scale's error, so the fine
    // optimum lies within half a coarse step of the best coarse rung.
    let coarse = step * step * step;
    let mut best: Option<(f64, f32, [f32; 2])> = None;
    let mut h = lo;
    let mut rungs = 0;
    while h <= hi * (1.0 + 1e-9) && rungs < MAX_ALTITUDES {
        if let Some((score, peak)) = rung(h)
            && best.is_none_or(|b| score > b.1)
        {
            best = Some((h, score, peak));
        }
        h *= coarse;
        rungs += 1;
    }
    let (h_coarse, _, _) = best?;
    let mut fine = [None; 5];
    for (j, f) in fine.iter_mut().enumerate() {
        let h = h_coarse * math::exp((j as f64 - 2.0) * math::ln(step));
        *f = rung(h).map(|(score, peak)| (h, score, peak));
    }
    let (ib, (mut h_best, score, peak)) = fine
        .iter()
        .enumerate()
        .filter_map(|(j, f)| f.map(|f| (j, f)))
        .max_by(|a, b| a.1.1.total_cmp(&b.1.1))?;
    // Sub-step altitude: a parabola through the scores at the neighbouring rungs (in log h).
    let neighbour = |j: Option<usize>| j.and_then(|j| fine.get(j).copied().flatten()).map(|f| f.1);
    if let (Some(a), Some(c)) = (neighbour(ib.checked_sub(1)), neighbour(Some(ib + 1))) {
        let (a, b, c) = (f64::from(a), f64::from(score), f64::from(c));
        let den = a - 2.0 * b + c;
        if den < 0.0 {
            let off = (0.5 * (a - c) / den).clamp(-0.5, 0.5);
            h_best *= math::exp(off * math::ln(step));
        }
    }
    Some(Rung {
        h: h_best,
        plane,
        score,
        peak,
        centre,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::Distortion;
    use crate::dem::Grid;
    use crate::linalg::Quat;
    extern crate std;
    use std::vec::Vec;

    /// On ground tilted 0.3 in x and raised 20 m, the plane a template sees is found on its
    /// ray, at the ground's height and with the ground's normal, wherever it looks.
    #[test]
    fn seen_plane_is_the_ground_on_the_ray() {
        let grid = Grid {
            width: 81,
            height: 81,
            stride: 81,
            x0: -200.0,
            y0: 200.0,
            dx: 5.0,
            dy: -5.0,
            radius: 1_737_400.0,
        };
        let data: Vec<f32> = (0..81 * 81)
            .map(|i| (20.0 + 0.3 * (grid.x0 + grid.dx * (i % 81) as f64)) as f32)
            .collect();
        let dem = Heightfield::new(&data, grid, None).unwrap();
        let camera =
            Camera::new(512, 512, 600.0, 600.0, 255.5, 255.5, Distortion::default()).unwrap();
        // Nadir, a little turned.
        let attitude = Quat::from_rotation_vector(Vec3::new(core::f64::consts::PI, 0.0, 0.0))
            .mul_quat(Quat::from_rotation_vector(Vec3::new(0.05, -0.08, 0.3)));
        let pose = Pose::new(Vec3::new(10.0, -5.0, 120.0), attitude);
        let want_n = Vec3::new(-0.3, 0.0, 1.0) * (1.0 / 1.09f64.sqrt());
        for (u, v) in [(255.5, 255.5), (380.0, 120.0), (60.0, 400.0)] {
            let (p0, n) = seen_plane(&camera, &pose, (u, v), 120.0, &dem).unwrap();
            let [pu, pv] = pixel_of(&camera, &pose, p0).unwrap();
            assert!((pu - u).abs() < 1e-3 && (pv - v).abs() < 1e-3, "{pu} {pv}");
            let ground = dem.height_of(p0);
            assert!((ground - (20.0 + 0.3 * p0.x)).abs() < 0.02, "{p0:?}");
            assert!((n - want_n).norm() < 1e-3, "{n:?}");
        }
        // Looking off the DEM: no plane.
        let away = Pose::new(Vec3::new(0.0, 0.0, 120.0), Quat::IDENTITY);
        assert!(seen_plane(&camera, &away, (255.5, 255.5), 120.0, &dem).is_none());
    }
}
