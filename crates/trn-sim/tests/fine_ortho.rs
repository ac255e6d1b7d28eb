//! A site's fine orthoimage of its landing region: registered with the DEM's products, and
//! turned by the map build into a layer of fine landmarks.

use trn_map::build::{BuildParams, LandmarkSource};
use trn_map::render::Sun;
use trn_sim::site::{FineOrtho, Projection, Site, SiteSpec, make_site};
use trn_sim::terrain::TerrainParams;

const SUN: Sun = Sun {
    azimuth_deg: 135.0,
    elevation_deg: 15.0,
};

fn site(fine: Option<FineOrtho>) -> Site {
    make_site(&SiteSpec {
        terrain: TerrainParams {
            seed: 9,
            size_m: 3000.0,
            gsd_m: 6.0,
            ..TerrainParams::default()
        },
        lat_deg: -84.0,
        lon_deg: 40.0,
        projection: Projection::Polar,
        ortho_sun: SUN,
        fine_ortho: fine,
        ortho_law: Default::default(),
    })
    .unwrap()
}

/// The fine orthoimage averaged over each DEM cell matches the DEM-grid orthoimage best at
/// zero shift (to a tenth of a DEM pixel): the two grids and renders are registered.
#[test]
fn fine_orthoimage_is_registered_with_the_dem_grid() {
    let coarse = site(None);
    let fine = site(Some(FineOrtho {
        gsd_m: 1.5,
        size_m: 900.0,
    }));
    let (f, c) = (&fine.ortho, &coarse.ortho);
    assert_eq!(f.transform.0[1], 1.5);
    assert_eq!(c.data.len(), fine.dem.data.len());
    // Map coordinates of pixel centres.
    let centre =
        |t: &[f64; 6], col: f64, row: f64| (t[0] + (col + 0.5) * t[1], t[3] + (row + 0.5) * t[5]);
    let fine_at = |x: f64, y: f64| {
        let t = &f.transform.0;
        let (col, row) = ((x - t[0]) / t[1] - 0.5, (y - t[3]) / t[5] - 0.5);
        let (c0, r0) = (col.round() as i64, row.round() as i64);
        // Mean over the 6 m cell centred on the point: 5 x 5 fine pixels at 1.5 m (the
        // edge ones at half weight).
        let mut acc = 0.0;
        let mut wsum = 0.0;
        for dr in -2i64..=2 {
            for dc in -2i64..=2 {
                let w =
                    if dr.abs() == 2 { 0.5 } else { 1.0 } * if dc.abs() == 2 { 0.5 } else { 1.0 };
                let k = (r0 + dr) as usize * f.width + (c0 + dc) as usize;
                acc += w * f64::from(f.data[k]);
                wsum += w;
            }
        }
        acc / wsum
    };
    // Coarse pixels well inside the fine square.
    let t = &c.transform.0;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (w, _) = (c.width, c.height);
    let mid = (w as f64 - 1.0) / 2.0;
    let reach = 60i64;
    for r in -reach..=reach {
        for col in -reach..=reach {
            let (x, y) = centre(t, mid + col as f64, mid + r as f64);
            a.push(fine_at(x, y));
        }
    }
    // Normalised correlation of the fine means against the coarse ortho shifted by
    // (dc, dr) coarse pixels.
    let mut corr = |dc: i64, dr: i64| {
        b.clear();
        for r in -reach..=reach {
            for col in -reach..=reach {
                let k = (mid as i64 + r + dr) as usize * w + (mid as i64 + col + dc) as usize;
                b.push(f64::from(c.data[k]));
            }
        }
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        for (x, y) in a.iter().zip(b.iter()) {
            sab += (x - ma) * (y - mb);
            saa += (x - ma) * (x - ma);
            sbb += (y - mb) * (y - mb);
        }
        sab / (saa * sbb).sqrt()
    };
    let grid: Vec<Vec<f64>> = (-1..=1)
        .map(|dr| (-1..=1).map(|dc| corr(dc, dr)).collect())
        .collect();
    println!("correlation around zero shift: {grid:?}");
    let peak = grid[1][1];
    assert!(peak > 0.8, "{grid:?}");
    // Sub-pixel peak by parabola along each axis.
    let sub = |m: f64, z: f64, p: f64| 0.5 * (m - p) / (m - 2.0 * z + p);
    let (sx, sy) = (
        sub(grid[1][0], peak, grid[1][2]),
        sub(grid[0][1], peak, grid[2][1]),
    );
    println!("peak offset ({sx:.3}, {sy:.3}) DEM pixels");
    assert!(sx.abs() < 0.1 && sy.abs() < 0.1, "({sx}, {sy})");
}

/// The map build turns the fine orthoimage into a second layer: landmarks at its spacing,
/// inside the square it covers, ids apart from the site layer's; the site layer comes from
/// the render (the orthoimage does not cover the site).
#[test]
fn map_build_adds_a_layer_of_fine_landmarks() {
    let s = site(Some(FineOrtho {
        gsd_m: 1.5,
        size_m: 900.0,
    }));
    let mut p = BuildParams::new(-84.0, 40.0, 2000.0, 2000.0, 6.0, SUN);
    p.landmark_source = LandmarkSource::Ortho;
    p.landmarks.max_landmarks = 400;
    let built = trn_map::build(&s.dem, Some(&s.ortho), &p, &()).unwrap();
    let fine = built.fine.expect("a fine layer");
    println!(
        "{fine:?}, site layer {}",
        built.landmarks.len() - fine.landmarks
    );
    assert!((fine.gsd_m - 1.5).abs() < 0.01, "{}", fine.gsd_m);
    // The polar grid turns 40 degrees against east/north here: the layer is the site-frame
    // square inside the orthoimage's, 450 / (cos 40 + sin 40) = 318 m.
    assert!(fine.landmarks > 50 && fine.half_side_m > 300.0 && fine.half_side_m < 320.0);
    let (site_layer, fine_layer) = built
        .landmarks
        .split_at(built.landmarks.len() - fine.landmarks);
    assert!(site_layer.len() > 50);
    assert!(site_layer.iter().all(|l| l.scale_m == 6.0));
    assert!(
        fine_layer
            .iter()
            .all(|l| (f64::from(l.scale_m) - fine.gsd_m).abs() < 1e-6)
    );
    assert!(fine_layer.iter().all(
        |l| l.position[0].abs() <= fine.half_side_m && l.position[1].abs() <= fine.half_side_m
    ));
    let mut ids: Vec<u32> = built.landmarks.iter().map(|l| l.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), built.landmarks.len());
    // Without the fine orthoimage's sun, no layer: renders cannot show what the DEM lacks.
    p.landmark_source = LandmarkSource::Render;
    assert!(
        trn_map::build(&s.dem, None, &p, &())
            .unwrap()
            .fine
            .is_none()
    );
}
