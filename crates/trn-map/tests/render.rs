//! Renders: cast-shadow lengths against closed forms (including the sphere's curvature at
//! polar sun elevations), and lunar-Lambert reflectance on known slopes.

use trn_flight::dem::Grid;
use trn_map::SiteDem;
use trn_map::render::{Sun, cast_shadows, lunar_lambert_l, render, shadow_fraction};

const R: f64 = 1_737_400.0;

fn site_dem(n: usize, cell: f64, h: impl Fn(f64, f64) -> f64) -> SiteDem {
    let half = (n as f64 - 1.0) * cell / 2.0;
    let grid = Grid {
        width: n,
        height: n,
        stride: n,
        x0: -half,
        y0: half,
        dx: cell,
        dy: -cell,
        radius: R,
    };
    let data = (0..n * n)
        .map(|i| {
            h(
                grid.x0 + (i % n) as f64 * cell,
                grid.y0 - (i / n) as f64 * cell,
            ) as f32
        })
        .collect();
    SiteDem {
        grid,
        data,
        missing: 0,
    }
}

/// Distance from `start` along a row or column of nodes to the first lit node.
fn shadow_run(dem: &SiteDem, shadow: &[bool], start: (usize, usize), step: (i64, i64)) -> f64 {
    let (mut c, mut r) = (start.0 as i64, start.1 as i64);
    let n = dem.grid.width as i64;
    let mut k = 0;
    while c >= 0 && r >= 0 && c < n && r < n && shadow[(r * n + c) as usize] {
        c += step.0;
        r += step.1;
        k += 1;
    }
    let per =
        ((step.0 as f64 * dem.grid.dx).powi(2) + (step.1 as f64 * dem.grid.dy).powi(2)).sqrt();
    k as f64 * per
}

#[test]
fn wall_shadow_length_matches_the_curved_ground_closed_form() {
    // A 50 m high, 10 m thick north-south wall at x = 0 on ground at the sphere's level.
    let (n, cell, wall) = (801, 5.0, 50.0);
    let dem = site_dem(
        n,
        cell,
        |x, _| if (-5.0..5.0).contains(&x) { wall } else { 0.0 },
    );
    for el in [1.5f64, 4.0, 15.0] {
        let sun = Sun {
            azimuth_deg: 90.0,
            elevation_deg: el,
        };
        let shadow = cast_shadows(&dem, sun);
        // Shadow falls west of the wall; measure along the centre row from the first
        // node west of it.
        let centre = n / 2;
        let west = centre - 2;
        let got = shadow_run(&dem, &shadow, (west, centre), (-1, 0))
            + (centre - west) as f64 * cell
            - 5.0;
        let t = el.to_radians().tan();
        // Ray from the wall top falls t per metre, ground falls d^2 / 2R: d^2/2R - t d + H = 0.
        let want = R * (t - (t * t - 2.0 * wall / R).sqrt());
        let flat = wall / t;
        println!(
            "sun {el} deg: shadow {got:.0} m, curved-ground closed form {want:.0} m (flat ground {flat:.0} m)"
        );
        assert!((got - want).abs() <= 2.0 * cell, "el {el}: {got} vs {want}");

        // The shadow fraction places the terminator between nodes: where it crosses one
        // half along the row, linearly interpolated, is within a fifth of a cell.
        let frac = shadow_fraction(&dem, sun);
        let row = &frac[centre * n..(centre + 1) * n];
        let mut c = west;
        while c > 0 && row[c - 1] >= 0.5 {
            c -= 1;
        }
        // row[c] >= 0.5 > row[c - 1]: the crossing lies between nodes c and c - 1.
        let t_cross = (row[c] - 0.5) / (row[c] - row[c - 1]);
        let x_cross = dem.grid.x0 + (c as f64 - f64::from(t_cross)) * cell;
        let got_frac = -x_cross - 5.0;
        assert!(
            (got_frac - want).abs() <= 0.2 * cell,
            "el {el}: fractional terminator {got_frac} vs {want}"
        );
    }
}

#[test]
fn crater_floor_shadow_and_diagonal_sun() {
    // A flat-floored pit: 100 m deep, 1000 m radius.
    let dem = site_dem(
        601,
        5.0,
        |x, y| if x.hypot(y) < 1000.0 { -100.0 } else { 0.0 },
    );
    let n = 601;
    let c = n / 2;
    // Sun from the south at 10 deg: the floor is shadowed from the south rim northwards.
    let shadow = cast_shadows(
        &dem,
        Sun {
            azimuth_deg: 180.0,
            elevation_deg: 10.0,
        },
    );
    let rim_row = c + 199; // y = -995 m, first floor node inside the south rim
    let got = shadow_run(&dem, &shadow, (c, rim_row), (0, -1)) + 5.0;
    let want = 100.0 / 10f64.to_radians().tan();
    assert!((got - want).abs() <= 10.0, "{got} vs {want}");
    assert!(!shadow[c * n + c] || want > 995.0);
    // Sun from the north-east (diagonal sweep with interpolation): shadow runs south-west.
    let shadow = cast_shadows(
        &dem,
        Sun {
            azimuth_deg: 45.0,
            elevation_deg: 10.0,
        },
    );
    let start = (c + 141, c - 141); // just inside the north-east rim, on the diagonal
    let got = shadow_run(&dem, &shadow, start, (-1, 1)) + 5.0 * 2f64.sqrt();
    assert!(
        (got - want).abs() <= 3.0 * 5.0 * 2f64.sqrt(),
        "diagonal: {got} vs {want}"
    );
}

#[test]
fn lunar_lambert_reflectance_on_flat_and_sloped_ground() {
    let sun = Sun {
        azimuth_deg: 90.0,
        elevation_deg: 30.0,
    };
    let flat = site_dem(64, 10.0, |_, _| 0.0);
    let img = render(&flat, sun, None, true);
    let l = lunar_lambert_l(60.0);
    let cos_i = 30f64.to_radians().sin();
    let want = 2.0 * l * cos_i / (cos_i + 1.0) + (1.0 - l) * cos_i;
    let v = img[32 * 64 + 32] as f64;
    assert!((v - want).abs() < 1e-3, "{v} vs {want}");
    // A slope rising towards the sun (east) by 20 deg is brighter; one facing away darker.
    let up = site_dem(64, 10.0, |x, _| x * 20f64.to_radians().tan());
    let down = site_dem(64, 10.0, |x, _| -x * 20f64.to_radians().tan());
    // Facing the sun means the surface normal tilts east: height falls to the east.
    let toward = render(&down, sun, None, false)[32 * 64 + 32];
    let away = render(&up, sun, None, false)[32 * 64 + 32];
    assert!(
        toward as f64 > want && (away as f64) < want,
        "{toward} {away} {want}"
    );
    // Albedo multiplies; nodata renders NaN.
    let albedo = vec![0.5f32; 64 * 64];
    assert!((render(&flat, sun, Some(&albedo), true)[100] as f64 - 0.5 * want).abs() < 1e-3);
    let mut holey = site_dem(64, 10.0, |_, _| 0.0);
    holey.data[500] = f32::NAN;
    assert!(render(&holey, sun, None, true)[500].is_nan());
}
