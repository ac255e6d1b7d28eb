//! The terrain below the site grid: its crater statistics, its band limit, its cache, and
//! that patches of it sit on the site's surface.

use trn_flight::dem::Grid;
use trn_flight::frames::MOON_RADIUS_M;
use trn_map::SiteDem;
use trn_sim::detail::{Coarse, Detail, DetailParams, PatchArea, patch};
use trn_sim::terrain::TerrainParams;

fn detail() -> Detail {
    Detail::new(&DetailParams::continuing(&TerrainParams {
        seed: 7,
        size_m: 12_000.0,
        gsd_m: 12.0,
        ..TerrainParams::default()
    }))
}

/// Craters per band over a large area match the size-frequency law the site uses
/// (N(>D) = K D^-b), within four Poisson sigmas.
#[test]
fn crater_counts_follow_the_size_frequency_law() {
    let d = detail();
    let p = *d.params();
    let n_above = |dm: f64| p.crater_density * (dm / 1000.0).powf(-p.sfd_slope) * 1e-6;
    let side = 2000.0;
    for d_lo in [30.0, 15.0, 7.5, 3.75] {
        let (lo, hi, _) = d.band_density(d_lo * 1.01).unwrap();
        let found = d
            .craters_in(-side / 2.0, side / 2.0, -side / 2.0, side / 2.0, lo)
            .iter()
            .filter(|c| c.diameter >= lo && c.diameter < hi)
            .count() as f64;
        let expected = (n_above(lo) - n_above(hi)) * side * side;
        println!("D {lo:.2}..{hi:.2} m: {found} craters, {expected:.1} expected");
        assert!(
            (found - expected).abs() < 4.0 * expected.sqrt() + 1.0,
            "band {lo}..{hi}: {found} against {expected:.1}"
        );
    }
}

/// The cache gives the same heights and albedo as drawing every cell per point, and the
/// band limit leaves out craters below two spacings (a coarser spacing is smoother).
#[test]
fn cache_equals_direct_evaluation_and_band_limit_smooths() {
    let d = detail();
    let cache = d.cached(-60.0, 60.0, -40.0, 40.0, 0.25);
    let mut rough = [0.0f64; 2];
    for k in 0..4000 {
        let x = -60.0 + 120.0 * ((k as f64 * 0.618_034) % 1.0);
        let y = -40.0 + 80.0 * ((k as f64 * 0.754_878) % 1.0);
        let a = d.at(x, y, 0.25);
        let b = cache.at(x, y);
        assert!(
            (a.0 - b.0).abs() < 1e-12 && (a.1 - b.1).abs() < 1e-12,
            "({x}, {y}): {a:?} {b:?}"
        );
        // Height differences over 0.5 m, fine and coarse band limits.
        for (i, s) in [0.25, 4.0].into_iter().enumerate() {
            let dh = d.at(x + 0.5, y, s).0 - d.at(x, y, s).0;
            rough[i] += dh * dh;
        }
    }
    println!(
        "rms slope over 0.5 m: {:?}",
        rough.map(|r| (r / 4000.0).sqrt() / 0.5)
    );
    assert!(rough[0] > 2.0 * rough[1], "{rough:?}");
}

/// Deterministic: the same point gives the same value wherever it is evaluated from.
#[test]
fn detail_is_a_function_of_position() {
    let (a, b) = (detail(), detail());
    for (x, y) in [(0.0, 0.0), (1234.5, -987.25), (-3.3e4, 2.1e4)] {
        assert_eq!(a.at(x, y, 0.5), b.at(x, y, 0.5));
        let c = a.cached(x - 10.0, x + 10.0, y - 10.0, y + 10.0, 0.5);
        assert!((c.at(x, y).0 - a.at(x, y, 0.5).0).abs() < 1e-12);
    }
}

/// A patch follows the coarse surface: its heights minus the detail equal the coarse
/// DEM's bicubic interpolation (exactly at coarse nodes), and the detail's RMS is the
/// DEM error a map of that DEM must declare.
#[test]
fn patch_sits_on_the_coarse_surface() {
    let n = 41;
    let g = Grid {
        width: n,
        height: n,
        stride: n,
        x0: -200.0,
        y0: 200.0,
        dx: 10.0,
        dy: -10.0,
        radius: MOON_RADIUS_M,
    };
    let data: Vec<f32> = (0..n * n)
        .map(|k| {
            let (c, r) = ((k % n) as f64, (k / n) as f64);
            (30.0 * (c / 7.0).sin() + 20.0 * (r / 5.0).cos()) as f32
        })
        .collect();
    let coarse = SiteDem {
        grid: g,
        data: data.clone(),
        missing: 0,
    };
    let albedo = vec![1.0f32; n * n];
    let lit = vec![0.0f32; n * n];
    let d = detail();
    let site = Coarse::new(&coarse, &albedo, &lit).unwrap();
    let area = PatchArea {
        x: (-100.0, 100.0),
        y: (-100.0, 100.0),
        spacing_m: 0.5,
        max_nodes: 1 << 22,
    };
    let (p, alb) = patch(&site, &d, &|x, y| (x, y), &area).unwrap();
    // Sizes are checked once, where the site is described.
    assert!(Coarse::new(&coarse, &albedo[1..], &lit).is_err());
    assert!(
        patch(
            &site,
            &d,
            &|x, y| (x, y),
            &PatchArea {
                max_nodes: 1000,
                ..area
            }
        )
        .is_err()
    );
    assert_eq!((p.grid.width, p.grid.height), (401, 401));
    assert_eq!(p.missing, 0);
    let mut sq = 0.0;
    let mut count = 0usize;
    for r in (0..401).step_by(20) {
        for c in (0..401).step_by(20) {
            let (x, y) = (p.grid.x0 + c as f64 * 0.5, p.grid.y0 - r as f64 * 0.5);
            let (dh, da) = d.at(x, y, 0.5);
            let k = r * 401 + c;
            // Patch node (c, r) on a coarse node: c, r multiples of 20.
            let (cc, cr) = ((x + 200.0) / 10.0, (200.0 - y) / 10.0);
            let base = f64::from(data[cr as usize * n + cc as usize]);
            assert!(
                (f64::from(p.data[k]) - dh - base).abs() < 1e-3,
                "node ({c}, {r})"
            );
            assert!((f64::from(alb[k]) - 1.0 - da).abs() < 1e-5);
            sq += dh * dh;
            count += 1;
        }
    }
    println!("detail rms height {:.3} m", (sq / count as f64).sqrt());
}
