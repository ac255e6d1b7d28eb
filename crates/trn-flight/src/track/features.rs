//! Features of the previous frame placed on the ground and matched into the current one
//! through the local terrain plane.

use super::{
    FixedFrame, HALF, MAX_GRID, MAX_SEARCH_PX, PATCH, TrackConfig, TrackScratch, ground_below,
    octave, on_plane, pixel_of,
};
use crate::camera::Camera;
use crate::dem::Heightfield;
use crate::linalg::Vec3;
use crate::math;
use crate::ncc::{self, NccConfig};
use crate::pose::Pose;
use crate::pyramid::Pyramid;
use crate::view::ImageView;

/// Places features of the previous frame on the ground: the most textured pixel of each
/// cell of a `grid x grid` partition of the box `[c0, c1] x [r0, r1]` (level-0 pixels).
pub(super) fn place_features(
    prev: &FixedFrame<'_>,
    box_px: [f64; 4],
    camera: &Camera,
    dem: &Heightfield<'_>,
    cfg: &TrackConfig,
    s: &mut TrackScratch,
) -> Option<()> {
    let l0 = prev.pyramid.level(0)?;
    let margin = (HALF + 2) as f64;
    let c0 = box_px[0].max(margin);
    let r0 = box_px[1].max(margin);
    let c1 = box_px[2].min(l0.width() as f64 - 1.0 - margin);
    let r1 = box_px[3].min(l0.height() as f64 - 1.0 - margin);
    let grid = cfg.grid.clamp(1, MAX_GRID);
    let (cw, ch) = ((c1 - c0) / grid as f64, (r1 - r0) / grid as f64);
    if !(cw >= 4.0 && ch >= 4.0) {
        return None;
    }
    let rot = prev.pose.attitude.to_mat3();
    let at = |c: usize, r: usize| l0.get(c, r).unwrap_or(0.0);
    s.n_features = 0;
    for gy in 0..grid {
        for gx in 0..grid {
            let (xa, ya) = (
                (c0 + gx as f64 * cw) as usize,
                (r0 + gy as f64 * ch) as usize,
            );
            let (xb, yb) = (
                (c0 + (gx + 1) as f64 * cw) as usize,
                (r0 + (gy + 1) as f64 * ch) as usize,
            );
            let mut best = (0.0f32, xa, ya);
            for y in (ya..yb).step_by(2) {
                for x in (xa..xb).step_by(2) {
                    let gxv = at(x + 1, y) - at(x - 1, y);
                    let gyv = at(x, y + 1) - at(x, y - 1);
                    let e = gxv * gxv + gyv * gyv;
                    if e > best.0 {
                        best = (e, x, y);
                    }
                }
            }
            let (_, px, py) = best;
            let Ok(ray) = camera.unproject(px as f64, py as f64) else {
                continue;
            };
            let Ok(hit) = dem.ray_cast(prev.pose.position, rot.mul_vec(ray), 1e6) else {
                continue;
            };
            let k = s.n_features;
            if let (Some(p), Some(w), Some(n)) = (
                s.prev_px.get_mut(k),
                s.world.get_mut(k),
                s.normal.get_mut(k),
            ) {
                *p = [px as f64, py as f64];
                *w = hit.point;
                *n = hit.normal;
                s.n_features += 1;
            }
        }
    }
    Some(())
}

/// The box of the previous frame (level-0 pixels) that a camera at `guess` sees, through
/// the plane under the previous boresight.
pub(super) fn shared_box(
    prev: &FixedFrame<'_>,
    guess: &Pose,
    camera: &Camera,
    dem: &Heightfield<'_>,
) -> Option<[f64; 4]> {
    let (_, ground) = ground_below(&prev.pose, dem)?;
    let up = Vec3::new(0.0, 0.0, 1.0);
    let (w, h) = (f64::from(camera.width()), f64::from(camera.height()));
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for (u, v) in [
        (0.0, 0.0),
        (w - 1.0, 0.0),
        (0.0, h - 1.0),
        (w - 1.0, h - 1.0),
    ] {
        let x = on_plane(camera, guess, u, v, ground, up)?;
        let [pu, pv] = pixel_of(camera, &prev.pose, x)?;
        b = [b[0].min(pu), b[1].min(pv), b[2].max(pu), b[3].max(pv)];
    }
    Some(b)
}

/// Matches the placed features into `frame` with windows of half-width `search_px` (level-0
/// pixels) around where `guess` puts them; the correspondences go to the scratch. Returns
/// the coarsest matching level's scale.
pub(super) fn match_features(
    prev: &FixedFrame<'_>,
    frame: &Pyramid<'_>,
    guess: &Pose,
    search_px: usize,
    camera: &Camera,
    cfg: &TrackConfig,
    s: &mut TrackScratch,
) -> f64 {
    let mut tpl = [0.0f32; PATCH * PATCH];
    let mut scores = [0.0f32; (2 * MAX_SEARCH_PX + 1) * (2 * MAX_SEARCH_PX + 1)];
    let mut coarsest = 1.0f64;
    s.n_matches = 0;
    for f in 0..s.n_features {
        let (Some(&p), Some(&x), Some(&n)) = (s.prev_px.get(f), s.world.get(f), s.normal.get(f))
        else {
            continue;
        };
        let Some([u, v]) = pixel_of(camera, guess, x) else {
            continue;
        };
        // Previous-frame pixels per current pixel, from the local plane's mapping.
        let step = HALF as f64;
        let map = |du: f64, dv: f64| {
            on_plane(camera, guess, u + du, v + dv, x, n)
                .and_then(|g| pixel_of(camera, &prev.pose, g))
        };
        let (Some(q0), Some(qx), Some(qy)) = (map(0.0, 0.0), map(step, 0.0), map(0.0, step)) else {
            continue;
        };
        let a = [
            [(qx[0] - q0[0]) / step, (qy[0] - q0[0]) / step],
            [(qx[1] - q0[1]) / step, (qy[1] - q0[1]) / step],
        ];
        let det = math::abs(a[0][0] * a[1][1] - a[0][1] * a[1][0]);
        if !(det > 1e-6) {
            continue;
        }
        // The level where a current pixel covers about one previous pixel.
        let per = math::sqrt(det);
        let k = octave(1.0 / per).min(frame.len().saturating_sub(1));
        let sc = f64::from(1u32 << k.min(31));
        let Some(lvl) = frame.level(k) else {
            continue;
        };
        let r = math::ceil(search_px as f64 / sc).max(2.0) as usize;
        if r > MAX_SEARCH_PX {
            continue;
        }
        let wside = PATCH + 2 * r;
        let (uc, vc) = (
            math::floor(u / sc + 0.5) as i64,
            math::floor(v / sc + 0.5) as i64,
        );
        let (l, t) = (uc - (HALF + r) as i64, vc - (HALF + r) as i64);
        if l < 0 || t < 0 || l as usize + wside > lvl.width() || t as usize + wside > lvl.height() {
            continue;
        }
        // The previous frame at the level where its pixels match the template's.
        let m = octave(per * sc).min(prev.pyramid.len().saturating_sub(1));
        if !fill_template(prev, m, p, a, sc, &mut tpl) {
            continue;
        }
        // The window is a view of the level.
        let (Ok(tv), Ok(wv)) = (
            ImageView::packed(&tpl, PATCH, PATCH),
            lvl.sub(l as usize, t as usize, wside, wside),
        ) else {
            continue;
        };
        let n_out = (2 * r + 1) * (2 * r + 1);
        let Some(sb) = scores.get_mut(..n_out) else {
            continue;
        };
        let Ok(peak) = ncc::search(&tv, &wv, sb, &NccConfig::default()) else {
            continue;
        };
        if peak.on_border || peak.score < cfg.min_score || peak.ratio < cfg.min_ratio {
            continue;
        }
        let (mu, mv) = (
            sc * (l as f64 + f64::from(peak.x)),
            sc * (t as f64 + f64::from(peak.y)),
        );
        let Ok(nrm) = camera.pixel_to_normalized(mu, mv) else {
            continue;
        };
        let m = s.n_matches;
        if let (Some(im), Some(px), Some(ix), Some(pt)) = (
            s.image.get_mut(m),
            s.pixel.get_mut(m),
            s.index.get_mut(m),
            s.points.get_mut(m),
        ) {
            *im = nrm;
            *px = [mu, mv];
            *ix = f;
            *pt = x;
            s.n_matches += 1;
            coarsest = coarsest.max(sc);
        }
    }
    coarsest
}

/// The previous frame's patch around `p` seen through the affine map `a` (previous
/// level-0 pixels per current level-0 pixel) at a current pixel size of `sc`, sampled from
/// its level `m`; false when it leaves the previous frame.
fn fill_template(
    prev: &FixedFrame<'_>,
    m: usize,
    p: [f64; 2],
    a: [[f64; 2]; 2],
    sc: f64,
    out: &mut [f32; PATCH * PATCH],
) -> bool {
    for (idx, o) in out.iter_mut().enumerate() {
        let (i, j) = (
            (idx / PATCH) as f64 - HALF as f64,
            (idx % PATCH) as f64 - HALF as f64,
        );
        let (du, dv) = (sc * j, sc * i);
        let pu = p[0] + a[0][0] * du + a[0][1] * dv;
        let pv = p[1] + a[1][0] * du + a[1][1] * dv;
        match prev.pyramid.sample(m, pu, pv) {
            Some(v) => *o = v,
            None => return false,
        }
    }
    true
}
