//! Velocity from features tracked between consecutive frames.
//!
//! Features are taken on a grid over the previous frame (the most textured pixel of each
//! cell), placed in 3-D by casting their rays from the previous fix onto the DEM, found
//! again in the current frame by ZNCC around where the current fix projects them, and the
//! current camera position solved from those 3-D points (P3P + LO-RANSAC). Because the
//! points inherit the previous fix's error, that error cancels in the difference: the
//! velocity's uncertainty is the tracking's, not two independent fixes', which is what
//! differencing fixes would give.

use trn_flight::camera::Camera;
use trn_flight::dem::Heightfield;
use trn_flight::ncc::{self, ImageView, NccConfig};
use trn_flight::robust::{RansacConfig, estimate_pose};
use trn_flight::{Pose, Vec3};

/// The previous frame, as tracking needs it.
#[derive(Clone, Debug)]
pub struct TrackFrame {
    /// Level-0 pixels.
    pub pixels: Vec<f32>,
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
    /// The frame's fix.
    pub pose: Pose,
    /// Its time, seconds.
    pub time_s: f64,
}

/// A velocity from tracking.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tracked {
    /// Site-frame velocity, m/s (mean over the interval).
    pub mps: Vec3,
    /// 1-sigma per axis, m/s.
    pub sigma_mps: [f64; 3],
    /// Features tracked and kept as inliers.
    pub inliers: usize,
    /// The interval, seconds.
    pub dt_s: f64,
}

const PATCH: usize = 15;
const GRID: usize = 8;
/// Largest `search_px` [`track`] accepts (its buffers live on the stack).
pub const MAX_SEARCH_PX: usize = 16;
const MAX_WSIDE: usize = PATCH + 2 * MAX_SEARCH_PX;

/// Tracks features from `prev` into `pixels` (the current frame, camera's size) whose fix is
/// `pose` at `time_s`; `search_px` is the half-width of each search window (`None` above
/// [`MAX_SEARCH_PX`]). No allocation: every buffer is on the stack.
#[must_use]
pub fn track(
    prev: &TrackFrame,
    pixels: &[f32],
    pose: &Pose,
    time_s: f64,
    camera: &Camera,
    dem: &Heightfield<'_>,
    search_px: usize,
) -> Option<Tracked> {
    let dt = time_s - prev.time_s;
    if dt.is_nan() || dt <= 0.0 || search_px > MAX_SEARCH_PX {
        return None;
    }
    let (w, h) = (prev.width, prev.height);
    let half = PATCH / 2;
    let margin = half + search_px + 2;
    if w <= 2 * margin + GRID || h <= 2 * margin + GRID {
        return None;
    }
    let rot_prev = prev.pose.attitude.to_mat3();
    let (cw, ch) = ((w - 2 * margin) / GRID, (h - 2 * margin) / GRID);
    let wside = PATCH + 2 * search_px;
    let n = 2 * search_px + 1;
    let mut scores_buf = [0.0f32; (2 * MAX_SEARCH_PX + 1) * (2 * MAX_SEARCH_PX + 1)];
    let scores = &mut scores_buf[..n * n];
    let mut tpl = [0.0f32; PATCH * PATCH];
    let mut win_buf = [0.0f32; MAX_WSIDE * MAX_WSIDE];
    let win = &mut win_buf[..wside * wside];
    let mut image = [[0.0f64; 2]; GRID * GRID];
    let mut world = [Vec3::ZERO; GRID * GRID];
    let mut found = 0;
    let at = |img: &[f32], c: usize, r: usize| img.get(r * w + c).copied().unwrap_or(0.0);
    for gy in 0..GRID {
        for gx in 0..GRID {
            // The most textured pixel of the cell (squared gradient, every 2nd pixel).
            let (x0, y0) = (margin + gx * cw, margin + gy * ch);
            let mut best = (0.0f32, x0, y0);
            for y in (y0..y0 + ch).step_by(2) {
                for x in (x0..x0 + cw).step_by(2) {
                    let gxv = at(&prev.pixels, x + 1, y) - at(&prev.pixels, x - 1, y);
                    let gyv = at(&prev.pixels, x, y + 1) - at(&prev.pixels, x, y - 1);
                    let e = gxv * gxv + gyv * gyv;
                    if e > best.0 {
                        best = (e, x, y);
                    }
                }
            }
            let (_, px, py) = best;
            // Its ground point from the previous fix and the DEM.
            let Ok(ray) = camera.unproject(px as f64, py as f64) else {
                continue;
            };
            let Ok(hit) = dem.ray_cast(prev.pose.position, rot_prev.mul_vec(ray), 1e6) else {
                continue;
            };
            // Where the current fix puts it.
            let Ok([u, v]) = camera.project(pose.to_camera(hit.point)) else {
                continue;
            };
            let (uc, vc) = (u.round() as i64, v.round() as i64);
            let (l, t) = (
                uc - (half + search_px) as i64,
                vc - (half + search_px) as i64,
            );
            if l < 0 || t < 0 || l as usize + wside > w || t as usize + wside > h {
                continue;
            }
            for i in 0..PATCH {
                for j in 0..PATCH {
                    tpl[i * PATCH + j] = at(&prev.pixels, px + j - half, py + i - half);
                }
            }
            for i in 0..wside {
                for j in 0..wside {
                    win[i * wside + j] = at(pixels, l as usize + j, t as usize + i);
                }
            }
            let (Ok(tv), Ok(wv)) = (
                ImageView::packed(&tpl, PATCH, PATCH),
                ImageView::packed(win, wside, wside),
            ) else {
                continue;
            };
            let Ok(peak) = ncc::search(&tv, &wv, scores, &NccConfig::default()) else {
                continue;
            };
            if peak.on_border || peak.score < 0.7 || peak.ratio < 1.05 {
                continue;
            }
            let (mu, mv) = (l as f64 + f64::from(peak.x), t as f64 + f64::from(peak.y));
            let Ok(nrm) = camera.pixel_to_normalized(mu, mv) else {
                continue;
            };
            image[found] = nrm;
            world[found] = hit.point;
            found += 1;
        }
    }
    if found < 8 {
        return None;
    }
    let mut mask = [false; GRID * GRID];
    let (fx, fy) = camera.focal();
    let mut rc = RansacConfig::new(0.5 * (fx + fy));
    rc.threshold_px = 1.5;
    rc.min_inliers = 8;
    let est = estimate_pose(&image[..found], &world[..found], &mut mask[..found], &rc).ok()?;
    let s = est.position_sigma();
    Some(Tracked {
        mps: (est.pose.position - prev.pose.position) * (1.0 / dt),
        sigma_mps: [s.x / dt, s.y / dt, s.z / dt],
        inliers: est.inliers,
        dt_s: dt,
    })
}
