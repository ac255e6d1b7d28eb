//! Choosing landmarks that a descent camera will find again.
//!
//! A good landmark has texture in two directions at every pyramid level it is matched at, is
//! not like its own neighbourhood, and the set is spread over the whole map so every frame
//! sees some. Selection runs in four steps:
//!
//! 1. **Interest** (Förstner): on each pyramid level, the structure tensor `N` of the image
//!    gradients summed over a small window gives the precision `w = det N / tr N` (how well a
//!    match is located) and the roundness `q = 4 det N / tr² N` (1 for isotropic texture, 0 on
//!    an edge). Each level's `w` is divided by its median so levels compare; a node's score is
//!    the smallest over the levels, so a landmark must be good at all of them.
//! 2. **Candidates**: 3x3 local maxima of the score with every level's `q` above
//!    [`LandmarkParams::min_roundness`], whose templates fit inside the map at the coarsest
//!    level without missing data; the best few per coverage cell are kept.
//! 3. **Coverage and suppression**: rounds over the cells, each round taking every cell's
//!    best remaining candidate (best first across cells), skipping those closer than
//!    [`LandmarkParams::min_separation_px`] to one already chosen.
//! 4. **Uniqueness and sharpness**: before a candidate is accepted, its template is
//!    correlated (ZNCC, with trn-flight's kernel) against its own neighbourhood at each level;
//!    any placement farther than the navigator's exclusion radius that scores above
//!    [`LandmarkParams::max_self_similarity`] rejects it. That is the navigator's own
//!    ambiguity test with a margin, on the map's image: repetitive terrain (rows of similar
//!    craters, ripples) is not chosen, nor a template whose peak is too broad to locate
//!    (smooth terrain resampled finer than its source) or too flat (a brightness gradient
//!    across a template so large that the sphere's curvature shades it from one side to the
//!    other).
//!
//! Templates are cut from each level at the landmark's node: level `k`'s template pixel is
//! `2^k` level-0 pixels on the ground, row 0 is the north edge, columns run east.

use crate::error::MapError;
use crate::mapdb::MapLandmark;
use crate::site_dem::SiteDem;
use rayon::prelude::*;
use std::path::PathBuf;
use trn_flight::image::Image;
use trn_flight::ncc::{self, NccConfig};
use trn_flight::view::ImageView;

/// Settings of the selection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LandmarkParams {
    /// Template side in pixels (odd, within trn-flight's NCC limits 11..=31).
    pub template_side: usize,
    /// Pyramid levels per landmark (1..=8).
    pub levels: usize,
    /// Most landmarks to choose.
    pub max_landmarks: usize,
    /// Side of a coverage cell in level-0 pixels (0: chosen so the cells number about
    /// `max_landmarks`). With [`LandmarkParams::nested_rings`] above 1 this is the outermost
    /// ring's cell.
    pub cell_px: usize,
    /// Rings of coverage around the landing site (the site frame's origin): beyond half the
    /// map's half-side the cells have the base side, and each time the distance to the site
    /// halves so does the cell side (down to the minimum separation), the innermost ring
    /// holding everything nearer. A descent's footprint shrinks with its altitude as it
    /// closes on the site, so equal landmark counts per ring keep about as many landmarks in
    /// view low down as high up. 1: one even grid.
    pub nested_rings: usize,
    /// Half-width of the structure-tensor window, pixels (the window is `2r+1` square).
    pub tensor_radius: usize,
    /// Smallest Förstner roundness `q` at every level (0..1).
    pub min_roundness: f32,
    /// Smallest level-0 distance between two landmarks, pixels.
    pub min_separation_px: usize,
    /// How far (template pixels, at each level) the uniqueness test looks for look-alikes.
    pub uniqueness_radius: usize,
    /// Largest ZNCC in that neighbourhood outside the true placement's peak (the
    /// navigator's exclusion radius, 3 template pixels).
    pub max_self_similarity: f32,
    /// Fewest landmarks a map should have: [`select_levels`] drops coarse template levels
    /// (down to one) until the selection reaches it, and a build that stays below it fails
    /// ([`MapError::TooFewLandmarks`]).
    pub min_landmarks: usize,
}

impl Default for LandmarkParams {
    fn default() -> Self {
        Self {
            template_side: 21,
            levels: 3,
            max_landmarks: 2000,
            cell_px: 0,
            nested_rings: 4,
            tensor_radius: 2,
            min_roundness: 0.3,
            min_separation_px: 11,
            uniqueness_radius: 16,
            max_self_similarity: 0.8,
            min_landmarks: 100,
        }
    }
}

/// What the selection saw, for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SelectionStats {
    /// Local maxima that passed the roundness and fit tests.
    pub candidates: usize,
    /// Candidates dropped for being too close to a chosen landmark.
    pub too_close: usize,
    /// Candidates dropped by the uniqueness test.
    pub not_unique: usize,
    /// Candidates dropped for a flat or incomplete template.
    pub bad_template: usize,
    /// Landmarks chosen.
    pub chosen: usize,
    /// Template levels of the chosen landmarks.
    pub levels: usize,
}

fn invalid(field: &'static str, detail: String) -> MapError {
    MapError::Invalid {
        file: PathBuf::from("<landmark selection>"),
        field,
        detail,
    }
}

/// Förstner precision `w` and roundness `q` of every pixel (NaN where the window touches
/// missing data or the border).
fn forstner(img: &Image, radius: usize) -> (Vec<f32>, Vec<f32>) {
    let (w, h) = (img.width, img.height);
    let at = |c: usize, r: usize| img.data[r * w + c];
    // Gradient products; NaN marks pixels whose gradient cannot be formed.
    let mut gg = vec![[f32::NAN; 3]; w * h];
    gg.par_chunks_mut(w).enumerate().for_each(|(r, row)| {
        if r == 0 || r + 1 >= h {
            return;
        }
        for (c, o) in row.iter_mut().enumerate().take(w.saturating_sub(1)).skip(1) {
            let gx = 0.5 * (at(c + 1, r) - at(c - 1, r));
            let gy = 0.5 * (at(c, r + 1) - at(c, r - 1));
            *o = [gx * gx, gy * gy, gx * gy];
        }
    });
    // Box sums, horizontal then vertical; any NaN in the window poisons the sum, which is
    // what we want (no interest next to missing data or the border).
    let k = radius;
    let mut hs = vec![[f32::NAN; 3]; w * h];
    hs.par_chunks_mut(w).enumerate().for_each(|(r, row)| {
        let src = &gg[r * w..(r + 1) * w];
        for c in k..w.saturating_sub(k) {
            let mut s = [0.0f32; 3];
            for v in &src[c - k..=c + k] {
                s[0] += v[0];
                s[1] += v[1];
                s[2] += v[2];
            }
            row[c] = s;
        }
    });
    let mut wv = vec![f32::NAN; w * h];
    let mut qv = vec![f32::NAN; w * h];
    wv.par_chunks_mut(w)
        .zip(qv.par_chunks_mut(w))
        .enumerate()
        .for_each(|(r, (wrow, qrow))| {
            if r < k || r + k >= h {
                return;
            }
            for c in 0..w {
                let mut s = [0.0f32; 3];
                for rr in r - k..=r + k {
                    let v = hs[rr * w + c];
                    s[0] += v[0];
                    s[1] += v[1];
                    s[2] += v[2];
                }
                let det = s[0] * s[1] - s[2] * s[2];
                let tr = s[0] + s[1];
                if tr > 0.0 && det.is_finite() {
                    wrow[c] = det.max(0.0) / tr;
                    qrow[c] = (4.0 * det / (tr * tr)).clamp(0.0, 1.0);
                }
            }
        });
    (wv, qv)
}

fn median_positive(v: &[f32]) -> f32 {
    let mut p: Vec<f32> = v.iter().copied().filter(|x| *x > 0.0).collect();
    trn_flight::stats::sample_quantile(&mut p, 0.5).unwrap_or(1.0)
}

/// A `w x h` patch of `img` whose top-left sample is at fractional `(x0, y0)`, bilinear;
/// `None` when it leaves the image or touches missing data.
fn patch_at(img: &Image, x0: f64, y0: f64, w: usize, h: usize) -> Option<Vec<f32>> {
    let mut out = Vec::with_capacity(w * h);
    for i in 0..h {
        for j in 0..w {
            out.push(img.bilinear(x0 + j as f64, y0 + i as f64)?);
        }
    }
    Some(out)
}

/// A `side x side` patch of `img` centred on fractional `(cx, cy)`.
fn patch(img: &Image, cx: f64, cy: f64, side: usize) -> Option<Vec<f32>> {
    let half = (side / 2) as f64;
    patch_at(img, cx - half, cy - half, side, side)
}

/// Placements within this many pixels (Chebyshev) of the true one belong to its peak: the
/// exclusion radius of the navigator's ambiguity test (`trn_flight::matching::MatchConfig`),
/// which refuses a match whose best score outside it comes too close to the peak's.
const PEAK_RADIUS: usize = 3;

/// The best correlation of the template with its own neighbourhood at one level away from
/// its true placement: the highest score of any placement farther than [`PEAK_RADIUS`], as
/// the navigator's ambiguity test measures it. A look-alike elsewhere and a peak too broad
/// to locate (its own shoulder still high past the exclusion radius, or a plateau where a
/// brightness gradient dominates the template) both score high. The neighbourhood reaches
/// `radius` pixels each way, less where the image ends (at least `PEAK_RADIUS + 1`).
/// `None` when the patch cannot be cut or is flat.
fn self_similarity(img: &Image, cx: f64, cy: f64, side: usize, radius: usize) -> Option<f32> {
    let tpl = patch(img, cx, cy, side)?;
    let half = (side / 2) as f64;
    // Whole-pixel reach each way that keeps bilinear samples inside the image.
    let reach = |lo: f64, hi_edge: f64| -> Option<(usize, usize)> {
        let before = (lo - half).floor();
        let after = (hi_edge - (lo + half)).floor();
        if before < (PEAK_RADIUS + 1) as f64 || after < (PEAK_RADIUS + 1) as f64 {
            return None;
        }
        Some(((before as usize).min(radius), (after as usize).min(radius)))
    };
    let (left, right) = reach(cx, (img.width - 1) as f64)?;
    let (up, down) = reach(cy, (img.height - 1) as f64)?;
    let (ww, wh) = (side + left + right, side + up + down);
    let win = patch_at(img, cx - half - left as f64, cy - half - up as f64, ww, wh)?;
    let t = ImageView::packed(&tpl, side, side).ok()?;
    let wv = ImageView::packed(&win, ww, wh).ok()?;
    let (nc, nr) = (left + right + 1, up + down + 1);
    let mut scores = vec![0.0f32; nc * nr];
    ncc::search(&t, &wv, &mut scores, &NccConfig::default()).ok()?;
    let mut worst = -1.0f32;
    for r in 0..nr {
        for c in 0..nc {
            if r.abs_diff(up) <= PEAK_RADIUS && c.abs_diff(left) <= PEAK_RADIUS {
                continue;
            }
            worst = worst.max(scores[r * nc + c]);
        }
    }
    Some(worst)
}

#[derive(Clone, Copy, Debug)]
struct Candidate {
    col: usize,
    row: usize,
    score: f32,
}

/// The coverage cells of the selection: one even grid, or nested rings of finer grids
/// around the site ([`LandmarkParams::nested_rings`]).
#[derive(Clone, Debug, PartialEq)]
struct Coverage {
    /// The site's pixel (column, row).
    site: [f64; 2],
    /// Chebyshev distance from the site to the farthest map edge, pixels.
    reach: f64,
    /// Per ring, outermost first: cell side, columns of its grid, index of its first cell.
    rings: Vec<(usize, usize, usize)>,
    /// Cells over all rings.
    len: usize,
}

impl Coverage {
    /// Rings for a `w` x `h` map with the site at pixel `site`, with the outermost cell
    /// `p.cell_px` or, when that is 0, the one that makes the cells number about
    /// `p.max_landmarks`.
    fn sized(w: usize, h: usize, site: [f64; 2], p: &LandmarkParams) -> Result<Self, MapError> {
        let rings = p.nested_rings.max(1);
        if rings > 16 {
            return Err(invalid("nested_rings", format!("{rings} (1..=16)")));
        }
        let reach = [site[0], w as f64 - site[0], site[1], h as f64 - site[1]]
            .into_iter()
            .fold(1.0f64, f64::max);
        let make = |base: usize| Self::with_base(w, h, site, reach, rings, base, p);
        if p.cell_px > 0 {
            return Ok(make(p.cell_px));
        }
        // Fewer cells as the base grows: bisect for the smallest base with at most
        // max_landmarks cells in use.
        let target = p.max_landmarks.max(1) as f64;
        let (mut lo, mut hi) = (1usize, w.max(h).max(2));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if make(mid).cells_in_use(w, h) <= target {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(make(lo))
    }

    fn with_base(
        w: usize,
        h: usize,
        site: [f64; 2],
        reach: f64,
        rings: usize,
        base: usize,
        p: &LandmarkParams,
    ) -> Self {
        let floor = p.min_separation_px.max(8);
        let mut out = Vec::with_capacity(rings);
        let mut len = 0;
        for k in 0..rings {
            let side = (base >> k.min(63)).max(floor);
            let cols = w.div_ceil(side);
            out.push((side, cols, len));
            len += cols * h.div_ceil(side);
        }
        Self {
            site,
            reach,
            rings: out,
            len,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    /// The ring of a pixel: 0 beyond half the reach, one more each time the distance halves.
    fn ring(&self, col: usize, row: usize) -> usize {
        let d = (col as f64 - self.site[0])
            .abs()
            .max((row as f64 - self.site[1]).abs());
        let (mut k, mut limit) = (0, 0.5 * self.reach);
        while k + 1 < self.rings.len() && d < limit {
            k += 1;
            limit *= 0.5;
        }
        k
    }

    /// The cell holding a pixel.
    fn cell(&self, col: usize, row: usize) -> usize {
        let (side, cols, first) = self.rings[self.ring(col, row)];
        first + (row / side) * cols + col / side
    }

    /// About how many cells hold map pixels: each pixel counts as its share of its cell,
    /// sampled every few pixels.
    fn cells_in_use(&self, w: usize, h: usize) -> f64 {
        let step = 4;
        let mut n = 0.0;
        for row in (0..h).step_by(step) {
            for col in (0..w).step_by(step) {
                let side = self.rings[self.ring(col, row)].0 as f64;
                n += (step * step) as f64 / (side * side);
            }
        }
        n
    }
}

/// Chooses landmarks on `pyramid` (level 0 on `dem`'s grid; see [`trn_flight::image::reduce_levels`])
/// and cuts their templates. `site_z` is the site-frame `z` of every DEM node
/// ([`crate::render::site_z`]); positions and normals come from it.
///
/// Ids are assigned 1, 2, ... in the order chosen (best first within each coverage round).
///
/// # Errors
///
/// [`MapError::Invalid`] when the parameters are out of range (template side, level count
/// versus the pyramid) or the images do not match the DEM grid.
pub fn select(
    pyramid: &[Image],
    dem: &SiteDem,
    site_z: &[f32],
    p: &LandmarkParams,
) -> Result<(Vec<MapLandmark>, SelectionStats), MapError> {
    let side = p.template_side;
    if side.is_multiple_of(2) || !(ncc::MIN_TEMPLATE..=ncc::MAX_TEMPLATE).contains(&side) {
        return Err(invalid(
            "template_side",
            format!(
                "{side}: must be odd within {}..={}",
                ncc::MIN_TEMPLATE,
                ncc::MAX_TEMPLATE
            ),
        ));
    }
    if p.levels == 0 || p.levels > 8 || pyramid.len() < p.levels {
        return Err(invalid(
            "levels",
            format!("{} (pyramid has {}; 1..=8)", p.levels, pyramid.len()),
        ));
    }
    if side + 2 * p.uniqueness_radius > ncc::MAX_WINDOW_WIDTH {
        return Err(invalid(
            "uniqueness_radius",
            format!(
                "{}: window wider than the NCC kernel's limit",
                p.uniqueness_radius
            ),
        ));
    }
    let g = dem.grid;
    let base = &pyramid[0];
    if base.width != g.width || base.height != g.height || site_z.len() != g.width * g.height {
        return Err(invalid(
            "pyramid",
            format!(
                "level 0 is {} x {}, DEM grid {} x {}",
                base.width, base.height, g.width, g.height
            ),
        ));
    }
    let (w, h) = (g.width, g.height);

    // 1. Interest at every level, normalised, then the per-node minimum over levels.
    let maps: Vec<(Vec<f32>, Vec<f32>, f32)> = pyramid[..p.levels]
        .iter()
        .map(|img| {
            let (wv, qv) = forstner(img, p.tensor_radius);
            let m = median_positive(&wv);
            (wv, qv, m)
        })
        .collect();
    // Level-0 margin so the coarsest template and a minimal neighbourhood (one placement
    // past the peak's exclusion radius each way) fit; the uniqueness window is clipped at
    // the map's edge beyond that.
    let top = 1usize << (p.levels - 1);
    let margin = (side / 2 + PEAK_RADIUS + 1) * top + 1;
    let mut score = vec![f32::NAN; w * h];
    score.par_chunks_mut(w).enumerate().for_each(|(r, row)| {
        if r < margin || r + margin >= h {
            return;
        }
        for (c, s) in row.iter_mut().enumerate() {
            if c < margin || c + margin >= w {
                continue;
            }
            let mut best = f32::INFINITY;
            for (lvl, (wv, qv, med)) in maps.iter().enumerate() {
                let lw = pyramid[lvl].width;
                let (cl, rl) = (c >> lvl, r >> lvl);
                let k = rl * lw + cl;
                // Between coarse nodes, take the weaker of the nearest ones: cheap and
                // conservative.
                let mut v = wv[k];
                let mut q = qv[k];
                if (c | r) & ((1 << lvl) - 1) != 0 {
                    let k2 = ((r + (1 << lvl) - 1) >> lvl) * lw + ((c + (1 << lvl) - 1) >> lvl);
                    if let (Some(v2), Some(q2)) = (wv.get(k2), qv.get(k2)) {
                        v = v.min(*v2);
                        q = q.min(*q2);
                    }
                }
                if q.is_nan() || q < p.min_roundness {
                    best = f32::NAN;
                    break;
                }
                best = best.min(v / med);
            }
            *s = best;
        }
    });

    // 2. Local maxima, best few per cell.
    let site = [-g.x0 / g.dx, -g.y0 / g.dy];
    let coverage = Coverage::sized(w, h, site, p)?;
    const PER_CELL: usize = 6;
    let rows: Vec<Vec<Candidate>> = (0..h)
        .into_par_iter()
        .map(|r| {
            let mut out = Vec::new();
            if r == 0 || r + 1 >= h {
                return out;
            }
            for c in 1..w - 1 {
                let s = score[r * w + c];
                if s.is_nan() || s <= 0.0 || s.is_infinite() {
                    continue;
                }
                let mut is_max = true;
                'n: for rr in r - 1..=r + 1 {
                    for cc in c - 1..=c + 1 {
                        let o = score[rr * w + cc];
                        // Ties broken by position so a plateau yields one maximum.
                        if o > s || (o == s && (rr, cc) < (r, c)) {
                            is_max = false;
                            break 'n;
                        }
                    }
                }
                if is_max {
                    out.push(Candidate {
                        col: c,
                        row: r,
                        score: s,
                    });
                }
            }
            out
        })
        .collect();
    let mut cells: Vec<Vec<Candidate>> = vec![Vec::new(); coverage.len()];
    let mut stats = SelectionStats::default();
    for cand in rows.into_iter().flatten() {
        stats.candidates += 1;
        if let Some(c) = cells.get_mut(coverage.cell(cand.col, cand.row)) {
            c.push(cand);
        }
    }
    for c in &mut cells {
        c.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then((a.row, a.col).cmp(&(b.row, b.col)))
        });
        c.truncate(PER_CELL);
    }

    // 3 + 4. Rounds over the cells; suppression and uniqueness as candidates are taken.
    let sep = p.min_separation_px.max(1);
    let (nbx, nby) = (w.div_ceil(sep), h.div_ceil(sep));
    let mut taken: Vec<Vec<(usize, usize)>> = vec![Vec::new(); nbx * nby];
    let mut chosen: Vec<Candidate> = Vec::new();
    let sep2 = (sep * sep) as i64;
    for round in 0..PER_CELL {
        if chosen.len() >= p.max_landmarks {
            break;
        }
        let mut batch: Vec<Candidate> =
            cells.iter().filter_map(|c| c.get(round).copied()).collect();
        if batch.is_empty() {
            break;
        }
        batch.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then((a.row, a.col).cmp(&(b.row, b.col)))
        });
        // Uniqueness is the expensive test: run it in parallel for the whole batch.
        let unique: Vec<Option<bool>> = batch
            .par_iter()
            .map(|cand| {
                let mut worst = -1.0f32;
                for (lvl, img) in pyramid[..p.levels].iter().enumerate() {
                    let s = f64::from(1u32 << lvl);
                    let v = self_similarity(
                        img,
                        cand.col as f64 / s,
                        cand.row as f64 / s,
                        side,
                        p.uniqueness_radius,
                    )?;
                    worst = worst.max(v);
                }
                Some(worst <= p.max_self_similarity)
            })
            .collect();
        for (cand, u) in batch.iter().zip(unique) {
            if chosen.len() >= p.max_landmarks {
                break;
            }
            let (bx, by) = (cand.col / sep, cand.row / sep);
            let close = (by.saturating_sub(1)..=(by + 1).min(nby - 1)).any(|yy| {
                (bx.saturating_sub(1)..=(bx + 1).min(nbx - 1)).any(|xx| {
                    taken[yy * nbx + xx].iter().any(|&(c, r)| {
                        let (dc, dr) = (c as i64 - cand.col as i64, r as i64 - cand.row as i64);
                        dc * dc + dr * dr < sep2
                    })
                })
            });
            if close {
                stats.too_close += 1;
                continue;
            }
            match u {
                None => stats.bad_template += 1,
                Some(false) => stats.not_unique += 1,
                Some(true) => {
                    taken[by * nbx + bx].push((cand.col, cand.row));
                    chosen.push(*cand);
                }
            }
        }
    }

    // Records: position and normal from the DEM, templates from every level.
    let zat = |c: usize, r: usize| f64::from(site_z[r * w + c]);
    let mut out = Vec::with_capacity(chosen.len());
    for cand in &chosen {
        let (c, r) = (cand.col, cand.row);
        let templates: Option<Vec<Vec<f32>>> = pyramid[..p.levels]
            .iter()
            .enumerate()
            .map(|(lvl, img)| {
                let s = f64::from(1u32 << lvl);
                patch(img, c as f64 / s, r as f64 / s, side)
            })
            .collect();
        let Some(templates) = templates else {
            stats.bad_template += 1;
            continue;
        };
        let z = zat(c, r);
        let gx = (zat(c + 1, r) - zat(c - 1, r)) / (2.0 * g.dx);
        let gy = (zat(c, r + 1) - zat(c, r - 1)) / (2.0 * g.dy);
        let n = trn_flight::Vec3::new(-gx, -gy, 1.0);
        let n = n
            .try_normalize()
            .unwrap_or(trn_flight::Vec3::new(0.0, 0.0, 1.0));
        if !z.is_finite() {
            stats.bad_template += 1;
            continue;
        }
        out.push(MapLandmark {
            id: out.len() as u32 + 1,
            position: [g.x0 + c as f64 * g.dx, g.y0 + r as f64 * g.dy, z],
            normal: [n.x as f32, n.y as f32, n.z as f32],
            scale_m: g.dx.abs() as f32,
            templates,
        });
    }
    stats.chosen = out.len();
    stats.levels = p.levels;
    Ok((out, stats))
}

/// [`select`] with the most template levels, from [`LandmarkParams::levels`] down to one,
/// whose selection reaches [`LandmarkParams::min_landmarks`]; when no level count does, the
/// one that chose the most (the most levels among equals). [`SelectionStats::levels`] says
/// which.
///
/// Every landmark must be unique and sharp at every level it carries, and a level's
/// template spans `2^k` times the ground of level 0's: at a coarse enough level of a wide
/// map, a low sun shades each template from one side to the other as the sphere curves
/// under it, the gradient dominates the template and its correlation is a plateau. The
/// navigator cannot locate such a template at that level, so the level goes rather than
/// the landmarks.
///
/// # Errors
///
/// As [`select`].
pub fn select_levels(
    pyramid: &[Image],
    dem: &SiteDem,
    site_z: &[f32],
    p: &LandmarkParams,
) -> Result<(Vec<MapLandmark>, SelectionStats), MapError> {
    let mut best: Option<(Vec<MapLandmark>, SelectionStats)> = None;
    for levels in (1..=p.levels).rev() {
        let q = LandmarkParams { levels, ..*p };
        let (lms, stats) = select(pyramid, dem, site_z, &q)?;
        if lms.len() >= p.min_landmarks {
            return Ok((lms, stats));
        }
        if best.as_ref().is_none_or(|(b, _)| lms.len() > b.len()) {
            best = Some((lms, stats));
        }
    }
    match best {
        Some(b) => Ok(b),
        // No level count to try: `select` says why.
        None => select(pyramid, dem, site_z, p),
    }
}
