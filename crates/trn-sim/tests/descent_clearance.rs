//! Where a descent ends: with `end_above_ground` its last frame is the end altitude above
//! the ground at the landing point (the rangefinder, looking straight down there, reads
//! it), and a trajectory that brings the camera to the terrain is refused, naming the frame.

use trn_dataset::dataset::{CameraJson, Dataset, DistortionJson};
use trn_map::render::Sun;
use trn_sim::descent::{DescentSpec, MIN_CLEARANCE_M, simulate};
use trn_sim::sensors::{LrfParams, PriorParams};
use trn_sim::site::{Projection, SiteSpec, make_site, write_site};
use trn_sim::terrain::TerrainParams;
use trn_sim::trajectory::DescentParams;

fn spec(end_alt_m: f64, end_above_ground: bool) -> DescentSpec {
    DescentSpec {
        name: "clearance".into(),
        seed: 3,
        frames: 3,
        trajectory: DescentParams {
            start_alt_m: 700.0,
            end_alt_m,
            uprange_m: 100.0,
            duration_s: 60.0,
            pointing_jitter_deg: 0.0,
            ..DescentParams::default()
        },
        camera: CameraJson {
            model: "pinhole".into(),
            width: 48,
            height: 48,
            fx: 58.0,
            fy: 58.0,
            cx: 23.5,
            cy: 23.5,
            distortion: DistortionJson::default(),
            sigma: None,
        },
        sensor: trn_sim::camera_render::Sensor::default(),
        sun: None,
        prior: PriorParams::default(),
        lrf: LrfParams::default(),
        dem_sigma_m: None,
        end_above_ground,
        map: Default::default(),
        frame_law: Default::default(),
        defects: Default::default(),
    }
}

#[test]
fn descents_end_above_the_landing_ground_and_never_in_it() {
    let site = make_site(&SiteSpec {
        terrain: TerrainParams {
            // The ground at this site's origin is ~8 m below the sphere.
            seed: 9,
            size_m: 1200.0,
            gsd_m: 6.0,
            ..TerrainParams::default()
        },
        lat_deg: -85.3,
        lon_deg: 31.2,
        projection: Projection::Polar,
        ortho_sun: Sun {
            azimuth_deg: 135.0,
            elevation_deg: 20.0,
        },
        fine_ortho: None,
        ortho_law: Default::default(),
    })
    .unwrap();
    let tmp = std::env::temp_dir().join(format!("trn-clearance-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let site_dir = tmp.join("site");
    write_site(&site_dir, &site).unwrap();

    let out = tmp.join("ds");
    simulate(&site_dir, &spec(30.0, true), &out, &|_, _| {}).unwrap();
    let ds = Dataset::read(&out).unwrap();
    let last = ds.frames.last().unwrap();
    let range = last.lrf_range_m.expect("a reading at 30 m");
    // The ground under the detail's bumps (RMS under a metre) and the reading's noise.
    assert!((range - 30.0).abs() < 2.0, "last reading {range} m");
    // Above the sphere the same descent ends metres higher over this low ground.
    let sphere = tmp.join("sphere");
    simulate(&site_dir, &spec(30.0, false), &sphere, &|_, _| {}).unwrap();
    let end = Dataset::read(&sphere)
        .unwrap()
        .frames
        .last()
        .unwrap()
        .lrf_range_m;
    assert!(end.is_some_and(|r| r - range > 5.0), "{end:?} vs {range}");

    // One metre above the ground is below the clearance: refused, nothing written.
    let low = tmp.join("low");
    let err = simulate(&site_dir, &spec(1.0, true), &low, &|_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("frame 2") && err.contains("above the terrain"),
        "{err}"
    );
    const { assert!(MIN_CLEARANCE_M > 1.0) };
    assert!(!low.exists(), "a refused descent leaves no output");
    let _ = std::fs::remove_dir_all(&tmp);
}
