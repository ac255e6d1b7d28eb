//! Pyramids and landmark selection on images whose answers are known: linear ramps survive
//! a reduce exactly, missing data does not spread, repetitive texture and edges are refused,
//! unique texture is chosen, spread and cut exactly.

use trn_flight::dem::Grid;
use trn_flight::frames::MOON_RADIUS_M as R;
use trn_flight::image::{Image, reduce_levels};
use trn_flight::rng::Pcg32;
use trn_map::SiteDem;
use trn_map::landmarks::{LandmarkParams, select};

fn image(w: usize, h: usize, f: impl Fn(usize, usize) -> f32) -> Image {
    Image {
        width: w,
        height: h,
        data: (0..w * h).map(|i| f(i % w, i / w)).collect(),
    }
}

/// Multi-octave value noise: random lattices at periods 2..32 px, bilinear between nodes.
fn fractal_noise(w: usize, h: usize, seed: u64) -> Vec<f32> {
    let mut rng = Pcg32::new(seed, 7);
    let mut out = vec![0.0f32; w * h];
    for (octave, period) in [2usize, 4, 8, 16, 32].iter().enumerate() {
        let (gw, gh) = (w / period + 2, h / period + 2);
        let lattice: Vec<f32> = (0..gw * gh).map(|_| rng.next_f64() as f32 - 0.5).collect();
        let amp = 1.0 + octave as f32 * 0.5;
        for (i, o) in out.iter_mut().enumerate() {
            let (x, y) = (
                (i % w) as f32 / *period as f32,
                (i / w) as f32 / *period as f32,
            );
            let (x0, y0) = (x.floor() as usize, y.floor() as usize);
            let (u, v) = (x - x0 as f32, y - y0 as f32);
            let l = |c: usize, r: usize| lattice[r * gw + c];
            *o += amp
                * (l(x0, y0) * (1.0 - u) * (1.0 - v)
                    + l(x0 + 1, y0) * u * (1.0 - v)
                    + l(x0, y0 + 1) * (1.0 - u) * v
                    + l(x0 + 1, y0 + 1) * u * v);
        }
    }
    out
}

fn flat_dem(w: usize, h: usize, gsd: f64) -> SiteDem {
    SiteDem {
        grid: Grid {
            width: w,
            height: h,
            stride: w,
            x0: -(w as f64 - 1.0) * gsd / 2.0,
            y0: (h as f64 - 1.0) * gsd / 2.0,
            dx: gsd,
            dy: -gsd,
            radius: R,
        },
        data: vec![0.0; w * h],
        missing: 0,
    }
}

fn site_z(dem: &SiteDem) -> Vec<f32> {
    trn_map::render::site_z(dem)
}

#[test]
fn reduce_keeps_linear_ramps_and_even_nodes() {
    let img = image(101, 64, |c, r| 3.0 * c as f32 - 2.0 * r as f32 + 7.0);
    let l1 = img.reduce();
    assert_eq!((l1.width, l1.height), (51, 32));
    // The binomial kernel is symmetric: a linear function passes unchanged, and the border
    // renormalisation keeps it exact at the edges' interior too (away from corners it only
    // drops symmetric pairs).
    for r in 1..31 {
        for c in 1..50 {
            let want = 3.0 * (2 * c) as f32 - 2.0 * (2 * r) as f32 + 7.0;
            let got = l1.get(c, r).unwrap();
            assert!((got - want).abs() < 1e-3, "({c},{r}) {got} vs {want}");
        }
    }
    let levels = reduce_levels(img, 4);
    assert_eq!(levels.len(), 4);
    assert_eq!((levels[3].width, levels[3].height), (13, 8));
}

#[test]
fn missing_samples_do_not_spread_and_grids_keep_their_origin() {
    let mut img = image(40, 40, |_, _| 5.0);
    img.data[20 * 40 + 20] = f32::NAN;
    let l1 = img.reduce();
    assert!(
        l1.data.iter().all(|v| (*v - 5.0).abs() < 1e-6),
        "NaN spread"
    );
    // A fully missing block stays missing.
    let mut img = image(40, 40, |_, _| 5.0);
    for r in 10..20 {
        for c in 10..20 {
            img.data[r * 40 + c] = f32::NAN;
        }
    }
    let l1 = img.reduce();
    assert!(l1.get(7, 7).unwrap().is_nan());
    assert!((l1.get(2, 2).unwrap() - 5.0).abs() < 1e-6);

    let dem = flat_dem(33, 21, 2.0);
    let up = dem.reduce();
    assert_eq!((up.grid.width, up.grid.height), (17, 11));
    assert_eq!((up.grid.x0, up.grid.y0), (dem.grid.x0, dem.grid.y0));
    assert_eq!((up.grid.dx, up.grid.dy), (4.0, -4.0));
    // The last node of the coarse grid is the last node of the fine one (odd sizes).
    let last_fine = dem.grid.x0 + 32.0 * dem.grid.dx;
    assert_eq!(up.grid.x0 + 16.0 * up.grid.dx, last_fine);
}

/// Fractal-noise texture on flat ground at 2 m: its two-level pyramid and its DEM.
fn noise_scene(w: usize, h: usize, seed: u64) -> (Vec<Image>, SiteDem) {
    let img = image(w, h, {
        let n = fractal_noise(w, h, seed);
        move |c, r| n[r * w + c]
    });
    (reduce_levels(img, 2), flat_dem(w, h, 2.0))
}

fn params() -> LandmarkParams {
    LandmarkParams {
        template_side: 21,
        levels: 2,
        max_landmarks: 400,
        cell_px: 48,
        nested_rings: 1,
        uniqueness_radius: 12,
        ..LandmarkParams::default()
    }
}

/// Nested rings: the cells shrink towards the site (the map's centre here), so landmarks
/// per unit area grow as the distance to the site halves, and the total stays within
/// `max_landmarks`; one ring is the even grid.
#[test]
fn nested_rings_concentrate_landmarks_near_the_site() {
    let (w, h) = (480, 480);
    let (pyr, dem) = noise_scene(w, h, 5);
    // Landmarks per 10^4 px^2 beyond half the reach, and within an eighth of it.
    let density = |rings: usize| {
        let p = LandmarkParams {
            cell_px: 0,
            max_landmarks: 150,
            nested_rings: rings,
            ..params()
        };
        let (lms, stats) = select(&pyr, &dem, &site_z(&dem), &p).unwrap();
        assert!(lms.len() <= p.max_landmarks, "{stats:?}");
        let reach = 240.0;
        let d = |l: &trn_map::mapdb::MapLandmark| {
            (l.position[0] / 2.0).abs().max((l.position[1] / 2.0).abs())
        };
        let outer = lms.iter().filter(|l| d(l) >= reach / 2.0).count() as f64;
        let inner = lms.iter().filter(|l| d(l) < reach / 8.0).count() as f64;
        let outer_area = (480.0f64 * 480.0 - 240.0 * 240.0) / 1e4;
        let inner_area = (60.0f64 * 60.0) / 1e4;
        (lms.len(), outer / outer_area, inner / inner_area)
    };
    let (n1, outer1, inner1) = density(1);
    let (n4, outer4, inner4) = density(4);
    eprintln!(
        "one ring: {n1} landmarks, {outer1:.2} / {inner1:.2} per 1e4 px^2 outer / inner; \
         four rings: {n4}, {outer4:.2} / {inner4:.2}"
    );
    assert!(
        inner1 < 2.5 * outer1.max(0.1),
        "even grid concentrated anyway"
    );
    assert!(inner4 > 4.0 * outer4, "four rings: {inner4} vs {outer4}");
    assert!(inner4 > 3.0 * inner1, "{inner4} vs {inner1}");
}

#[test]
fn repetitive_texture_is_refused_and_unique_texture_chosen() {
    let (w, h) = (512, 384);
    let noise = fractal_noise(w, h, 11);
    // Left half: an egg-crate of period 10 px (corners everywhere, all alike); right half:
    // fractal noise.
    let img = image(w, h, |c, r| {
        if c < w / 2 {
            let t = std::f32::consts::TAU / 10.0;
            (t * c as f32).sin() + (t * r as f32).sin()
        } else {
            noise[r * w + c]
        }
    });
    let dem = flat_dem(w, h, 2.0);
    let z = site_z(&dem);
    let pyr = reduce_levels(img, 2);
    let p = params();
    let reach = p.template_side / 2 * 2; // template half-width at the coarsest level, level-0 px
    let (lms, stats) = select(&pyr, &dem, &z, &p).unwrap();
    let col = |x: f64| ((x - dem.grid.x0) / dem.grid.dx).round() as usize;
    let in_periodic = lms
        .iter()
        .filter(|l| col(l.position[0]) + reach < w / 2)
        .count();
    let in_noise = lms
        .iter()
        .filter(|l| col(l.position[0]) > w / 2 + reach)
        .count();
    assert_eq!(in_periodic, 0, "{stats:?}");
    assert!(
        in_noise >= 20,
        "only {in_noise} on unique texture: {stats:?}"
    );
    assert!(stats.not_unique > 0);

    // Without the uniqueness test the egg-crate does give landmarks: the test is what
    // refuses them.
    let lax = LandmarkParams {
        max_self_similarity: 1.0,
        ..p
    };
    let (lms, _) = select(&pyr, &dem, &z, &lax).unwrap();
    assert!(
        lms.iter()
            .filter(|l| col(l.position[0]) + reach < w / 2)
            .count()
            > 5
    );
}

#[test]
fn edges_without_corners_are_refused() {
    let (w, h) = (256, 256);
    let noise = fractal_noise(w, 1, 5);
    // Texture along x only: every patch is an edge pattern, roundness 0.
    let img = image(w, h, |c, _| noise[c]);
    let dem = flat_dem(w, h, 2.0);
    let (lms, stats) = select(&reduce_levels(img, 2), &dem, &site_z(&dem), &params()).unwrap();
    assert!(lms.is_empty(), "{} chosen, {stats:?}", lms.len());
}

#[test]
fn landmarks_are_spread_separated_and_cut_exactly() {
    let (w, h) = (480, 480);
    let (pyr, dem) = noise_scene(w, h, 3);
    let p = params();
    let (lms, stats) = select(&pyr, &dem, &site_z(&dem), &p).unwrap();
    assert!(lms.len() >= 40, "{stats:?}");
    assert!(lms.len() <= p.max_landmarks);
    let px = |l: &trn_map::mapdb::MapLandmark| {
        (
            ((l.position[0] - dem.grid.x0) / dem.grid.dx).round() as usize,
            ((l.position[1] - dem.grid.y0) / dem.grid.dy).round() as usize,
        )
    };
    // Coverage: the selection cells inside the usable interior hold landmarks, all but the
    // odd one whose every candidate the navigator's ambiguity test (with its margin) would
    // refuse.
    let margin = (p.template_side / 2 + 4) * 2 + 1;
    let inside: Vec<usize> = (0..w / p.cell_px)
        .filter(|k| k * p.cell_px >= margin && (k + 1) * p.cell_px <= w - margin)
        .collect();
    assert!(inside.len() >= 6);
    let mut empty = Vec::new();
    for &cy in &inside {
        for &cx in &inside {
            let (x0, y0) = (cx * p.cell_px, cy * p.cell_px);
            if !lms.iter().any(|l| {
                let (c, r) = px(l);
                (x0..x0 + p.cell_px).contains(&c) && (y0..y0 + p.cell_px).contains(&r)
            }) {
                empty.push((cx, cy));
            }
        }
    }
    assert!(
        empty.len() * 20 <= inside.len() * inside.len(),
        "empty cells {empty:?} of {}",
        inside.len() * inside.len()
    );
    // Separation, ids, templates equal to the pyramid's pixels.
    for (i, a) in lms.iter().enumerate() {
        assert_eq!(a.id, i as u32 + 1);
        assert_eq!(a.templates.len(), 2);
        let (c, r) = px(a);
        let half = p.template_side / 2;
        for (k, v) in a.templates[0].iter().enumerate() {
            let (tc, tr) = (
                c - half + k % p.template_side,
                r - half + k / p.template_side,
            );
            assert_eq!(*v, pyr[0].get(tc, tr).unwrap());
        }
        let mid = a.templates[1][half * p.template_side + half];
        let want = pyr[1].bilinear(c as f64 / 2.0, r as f64 / 2.0).unwrap();
        assert!((mid - want).abs() < 1e-6);
        // Flat ground on the sphere: the normal points away from the Moon's centre.
        let up = trn_flight::Vec3::new(a.position[0], a.position[1], R + a.position[2])
            .try_normalize()
            .unwrap();
        for (n, u) in a.normal.iter().zip([up.x, up.y, up.z]) {
            assert!((f64::from(*n) - u).abs() < 1e-6, "{:?} vs {up:?}", a.normal);
        }
        for b in &lms[i + 1..] {
            let (c2, r2) = px(b);
            let d2 = (c as i64 - c2 as i64).pow(2) + (r as i64 - r2 as i64).pow(2);
            assert!(d2 >= (p.min_separation_px * p.min_separation_px) as i64);
        }
    }
}

#[test]
fn bad_settings_are_named_errors() {
    let dem = flat_dem(64, 64, 2.0);
    let pyr = reduce_levels(image(64, 64, |c, r| (c * r) as f32), 2);
    let z = site_z(&dem);
    for (p, field) in [
        (
            LandmarkParams {
                template_side: 20,
                ..params()
            },
            "template_side",
        ),
        (
            LandmarkParams {
                levels: 3,
                ..params()
            },
            "levels",
        ),
    ] {
        let e = select(&pyr, &dem, &z, &p).unwrap_err().to_string();
        assert!(e.contains(field), "{e}");
    }
    let small = flat_dem(32, 32, 2.0);
    let e = select(&pyr, &small, &site_z(&small), &params())
        .unwrap_err()
        .to_string();
    assert!(e.contains("pyramid"), "{e}");
}

#[test]
fn fast_reduce_equals_the_general_one() {
    // The same image with and without one missing sample far from a probe region: the
    // finite fast path and the NaN-aware path agree wherever the NaN does not reach.
    let n = fractal_noise(97, 70, 9);
    let img = image(97, 70, |c, r| n[r * 97 + c]);
    let fast = img.reduce();
    let mut holed = img.clone();
    holed.data[69 * 97 + 96] = f32::NAN;
    let slow = holed.reduce();
    for r in 0..33 {
        for c in 0..47 {
            let (a, b) = (fast.get(c, r).unwrap(), slow.get(c, r).unwrap());
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                "({c},{r}) {a} vs {b}"
            );
        }
    }
}

/// Heights of bowl craters (radius `rad` px, depth 8 m, raised rim) at `centres` on flat
/// ground at 2 m, and their render under a sun 30 degrees high from the south-east.
fn crater_scene(w: usize, h: usize, centres: &[(f64, f64)], rad: f64) -> (Vec<Image>, SiteDem) {
    let mut dem = flat_dem(w, h, 2.0);
    for (i, z) in dem.data.iter_mut().enumerate() {
        let (c, r) = ((i % w) as f64, (i / w) as f64);
        for &(cx, cy) in centres {
            let d = ((c - cx).powi(2) + (r - cy).powi(2)).sqrt() / rad;
            // Bowl inside, rim just outside, fading to the plain by twice the radius.
            let v = if d < 1.0 {
                -8.0 * (1.0 - d * d) + 2.0
            } else {
                2.0 * (-(d - 1.0) * (d - 1.0) * 4.0).exp()
            };
            *z += v as f32;
        }
    }
    let sun = trn_map::render::Sun {
        azimuth_deg: 135.0,
        elevation_deg: 30.0,
    };
    let img = Image {
        width: w,
        height: h,
        data: trn_map::render::render(&dem, sun, None, true),
    };
    (reduce_levels(img, 1), dem)
}

/// Two identical craters 14 px apart, within the uniqueness radius: each one's template
/// matches the other as well as itself, so neither is chosen (though they would be without
/// the test); the same crater alone is.
#[test]
fn twin_craters_within_the_search_radius_are_refused() {
    let (w, h) = (160, 160);
    let p = LandmarkParams {
        levels: 1,
        cell_px: 16,
        nested_rings: 1,
        min_landmarks: 1,
        ..LandmarkParams::default()
    };
    let near = |lms: &[trn_map::mapdb::MapLandmark], dem: &SiteDem, at: (f64, f64)| {
        lms.iter()
            .filter(|l| {
                let c = (l.position[0] - dem.grid.x0) / dem.grid.dx;
                let r = (l.position[1] - dem.grid.y0) / dem.grid.dy;
                (c - at.0).abs() <= 10.0 && (r - at.1).abs() <= 10.0
            })
            .count()
    };
    let (a, b) = ((73.0, 80.0), (87.0, 80.0));
    let (pyr, dem) = crater_scene(w, h, &[a, b], 4.0);
    let (lms, stats) = select(&pyr, &dem, &site_z(&dem), &p).unwrap();
    assert_eq!(near(&lms, &dem, a) + near(&lms, &dem, b), 0, "{stats:?}");
    assert!(stats.not_unique > 0, "{stats:?}");
    // Without the uniqueness test they would be chosen: the test is what refuses them.
    let lax = LandmarkParams {
        max_self_similarity: 1.0,
        ..p
    };
    let (lms, _) = select(&pyr, &dem, &site_z(&dem), &lax).unwrap();
    assert!(near(&lms, &dem, a) + near(&lms, &dem, b) > 0);

    let (pyr, dem) = crater_scene(w, h, &[a], 4.0);
    let (lms, stats) = select(&pyr, &dem, &site_z(&dem), &p).unwrap();
    assert!(near(&lms, &dem, a) > 0, "the lone crater: {stats:?}");
}
