//! A camera whose calibration is off: a focal length 1 % from the truth puts most fixes of
//! the shipped descent outside their 3 sigma (the error becomes range); stated as the
//! calibration's 1-sigma in dataset.json (`camera.sigma`), the covariance carries it.

mod common;

use common::{derived, outside, shipped};
use std::path::{Path, PathBuf};
use trn_dataset::dataset::{Dataset, IntrinsicSigmaJson};
use trn_eval::{EvalOptions, evaluate};

/// A copy of the shipped dataset whose camera states focal lengths `scale` times the true
/// ones and the calibration sigma `sigma`.
fn miscalibrated(out: &Path, scale: f64, sigma: Option<IntrinsicSigmaJson>) -> PathBuf {
    derived(out, |ds| {
        ds.meta.camera.fx *= scale;
        ds.meta.camera.fy *= scale;
        ds.meta.camera.sigma = sigma;
    });
    out.to_path_buf()
}

/// (fixes, fixes outside 3 sigma, frames) of an evaluation.
fn run(dir: &Path) -> (usize, usize, usize) {
    let opts = EvalOptions {
        read: outside(),
        ..EvalOptions::default()
    };
    let s = evaluate(dir, &opts, &|_, _, _| {}).unwrap().summary;
    (s.fixes, s.outside_3sigma, s.frames)
}

#[test]
fn a_stated_focal_length_error_is_carried_in_the_covariance() {
    let root = std::env::temp_dir().join(format!("trn-intrinsics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let f = Dataset::read(&shipped()).unwrap().meta.camera.fx;
    let stated = |focal_px| IntrinsicSigmaJson {
        focal_px,
        ..IntrinsicSigmaJson::default()
    };
    // 1 % off and not stated: the fixes claim what they do not have.
    let (fixes, outside, frames) = run(&miscalibrated(&root.join("unstated"), 1.01, None));
    assert!(
        outside * 3 > fixes,
        "{outside} of {fixes} fixes outside 3 sigma without the calibration's sigma"
    );
    // Stated as the calibration's 1-sigma: carried, at little cost in fixes.
    let (fixes_s, outside_s, _) = run(&miscalibrated(
        &root.join("stated"),
        1.01,
        Some(stated(0.01 * f)),
    ));
    assert!(
        outside_s * 60 <= fixes_s,
        "{outside_s} of {fixes_s} fixes outside 3 sigma with the calibration's sigma"
    );
    assert!(fixes_s + 3 >= fixes, "{fixes_s} fixes, {fixes} unstated");
    // An exact camera stated with that sigma keeps its fixes.
    let (fixes_e, outside_e, _) = run(&miscalibrated(
        &root.join("exact"),
        1.0,
        Some(stated(0.01 * f)),
    ));
    assert!(
        fixes_e + 3 >= frames && outside_e == 0,
        "{fixes_e} fixes, {outside_e} outside"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
