//! A map with two layers (site landmarks from the DEM, finer ones from an orthoimage): a
//! frame is predicted against one of them.

use trn_flight::camera::{Camera, Distortion};
use trn_flight::mapdb::{MapDb, Site};
use trn_flight::predict::{PredictConfig, Prediction, predict};
use trn_flight::{Pose, Quat, Vec3};
use trn_map::mapdb::{MapContents, MapLandmark, to_bytes};

fn site() -> Site {
    Site {
        radius_m: 1_737_400.0,
        lat_deg: 10.0,
        lon_deg: 20.0,
        dem_sigma_m: 1.0,
        sun_az_deg: 90.0,
        sun_el_deg: 20.0,
        registration_sigma_m: 0.0,
    }
}

/// A lattice of flat landmarks `step_m` apart over `half_m` either side of the site, of
/// template scale `scale_m`, ids from `first_id`.
fn layer(first_id: u32, scale_m: f32, step_m: f64, half_m: f64) -> Vec<MapLandmark> {
    let n = (2.0 * half_m / step_m) as usize + 1;
    (0..n * n)
        .map(|k| MapLandmark {
            id: first_id + k as u32,
            position: [
                -half_m + (k % n) as f64 * step_m,
                -half_m + (k / n) as f64 * step_m,
                0.0,
            ],
            normal: [0.0, 0.0, 1.0],
            scale_m,
            templates: vec![vec![0.5; 21 * 21]; 3],
        })
        .collect()
}

fn nadir_at(alt: f64) -> Pose {
    // Camera +z down: a half turn about x.
    Pose {
        position: Vec3::new(0.0, 0.0, alt),
        attitude: Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::PI),
    }
}

fn predicted_scales(bytes: &[u8], alt: f64, cfg: &PredictConfig) -> Vec<f32> {
    let db = MapDb::parse(bytes).unwrap();
    let lms = db.landmarks().unwrap();
    let cam = Camera::new(512, 512, 618.0, 618.0, 255.5, 255.5, Distortion::default()).unwrap();
    let mut out = vec![Prediction::default(); 400];
    let n = predict(&lms, &cam, &nadir_at(alt), 1.0, 1e-4, cfg, &mut out);
    out[..n]
        .iter()
        .map(|p| lms.get(p.index).unwrap().scale_m)
        .collect()
}

#[test]
fn a_frame_is_predicted_against_one_layer() {
    // Site layer: 10 m templates every 60 m over +-3 km; fine layer: 2 m templates every
    // 40 m over +-400 m.
    let mut lms = layer(0, 10.0, 60.0, 3000.0);
    let site_layer = lms.len();
    lms.extend(layer(1_000_000, 2.0, 40.0, 400.0));
    let bytes = to_bytes(&MapContents {
        site: site(),
        dem: None,
        overview: None,
        landmarks: &lms,
        template_side: 21,
    })
    .unwrap();
    let cfg = PredictConfig {
        max_scale_ratio: 4.0,
        ..PredictConfig::default()
    };
    // At 2.5 km (4 m pixels) both layers are in scale; the fine one has enough landmarks
    // in view and is the only one used.
    let s = predicted_scales(&bytes, 2500.0, &cfg);
    assert!(!s.is_empty());
    assert!(s.iter().all(|v| *v == 2.0), "{:?}", &s[..s.len().min(8)]);
    // At 7.2 km (11.7 m pixels) the fine layer's coarsest level (8 m) is still within the
    // scale tolerance but coarser than its fit (sqrt 2): the site layer (10 m) fits, and
    // is used though the fine one has more landmarks in view.
    let s = predicted_scales(&bytes, 7200.0, &cfg);
    assert!(!s.is_empty());
    assert!(s.iter().all(|v| *v == 10.0), "{:?}", &s[..s.len().min(8)]);
    // With more landmarks asked of a layer than the fine one has in view, the layer with
    // the most is used instead: the site's.
    let strict = PredictConfig {
        min_layer_landmarks: 10_000,
        ..cfg
    };
    let s = predicted_scales(&bytes, 2500.0, &strict);
    assert!(!s.is_empty());
    assert!(s.iter().all(|v| *v == 10.0), "{:?}", &s[..s.len().min(8)]);
    // A map of one layer is unaffected by the rule.
    let one = to_bytes(&MapContents {
        site: site(),
        dem: None,
        overview: None,
        landmarks: &lms[..site_layer],
        template_side: 21,
    })
    .unwrap();
    let s = predicted_scales(&one, 2500.0, &strict);
    assert!(!s.is_empty() && s.iter().all(|v| *v == 10.0));
}
