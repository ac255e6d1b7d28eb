//! Fault datasets: the faulted frames are the originals shifted, scaled or swapped exactly
//! as stated, the others untouched, the stated focal length changed, and faults.json lists
//! what was done; each copy reads as a dataset.

use std::path::{Path, PathBuf};
use trn_dataset::dataset::Dataset;
use trn_dataset::image::read_frame;
use trn_sim::faults::{Fault, FaultsJson, write_fault_dataset};

fn shipped() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/default-descent")
}

fn pixels(dir: &Path, ds: &Dataset, k: usize) -> (usize, Vec<f32>) {
    let f = read_frame(&dir.join(&ds.frames[k].image)).unwrap();
    (f.width, f.pixels)
}

#[test]
fn fault_datasets_hold_exactly_their_faults() {
    let src = shipped();
    let clean = Dataset::read(&src).unwrap();
    let root = std::env::temp_dir().join(format!("trn-faults-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);

    // A 5 px shift of frames 3, 9, ...: the image moved right, dark where it came from.
    let out = root.join("shift");
    let rec = write_fault_dataset(&src, Fault::Shift { dx_px: 5.0 }, 3, 6, &out).unwrap();
    let want: Vec<u64> = (3..60).step_by(6).map(|k| clean.frames[k].frame).collect();
    assert_eq!(rec.frames, want);
    let ds = Dataset::read(&out).unwrap();
    let (w, orig) = pixels(&src, &clean, 9);
    let (_, moved) = pixels(&out, &ds, 9);
    for (i, v) in moved.iter().enumerate() {
        let (x, y) = (i % w, i / w);
        let expect = if x >= 5 { orig[y * w + x - 5] } else { 0.0 };
        assert_eq!(*v, expect, "pixel ({x}, {y})");
    }
    assert_eq!(pixels(&out, &ds, 10).1, pixels(&src, &clean, 10).1);
    let text = std::fs::read_to_string(out.join("faults.json")).unwrap();
    let back: FaultsJson = serde_json::from_str(&text).unwrap();
    assert_eq!(back, rec);

    // A time-tag error: frame 3 carries frame 4's image.
    let out = root.join("time");
    write_fault_dataset(&src, Fault::TimeTag { offset: 1 }, 3, 6, &out).unwrap();
    let ds = Dataset::read(&out).unwrap();
    assert_eq!(pixels(&out, &ds, 3).1, pixels(&src, &clean, 4).1);
    assert_ne!(pixels(&out, &ds, 3).1, pixels(&src, &clean, 3).1);

    // A scale of 1.03 about the centre keeps the centre pixel and moves the edges.
    let out = root.join("scale");
    write_fault_dataset(&src, Fault::Scale { factor: 1.03 }, 3, 6, &out).unwrap();
    let ds = Dataset::read(&out).unwrap();
    let (w, orig) = pixels(&src, &clean, 3);
    let (_, scaled) = pixels(&out, &ds, 3);
    let c = 0.5 * (w as f64 - 1.0);
    for (x, y) in [(0usize, 0usize), (100, 400), (256, 256), (511, 300)] {
        let (u, v) = (c + (x as f64 - c) / 1.03, c + (y as f64 - c) / 1.03);
        let (u0, v0) = (u.floor() as usize, v.floor() as usize);
        let (a, b) = (u - u0 as f64, v - v0 as f64);
        let p = |i: usize, j: usize| f64::from(orig[j * w + i]);
        let want = (p(u0, v0) * (1.0 - a) + p(u0 + 1, v0) * a) * (1.0 - b)
            + (p(u0, v0 + 1) * (1.0 - a) + p(u0 + 1, v0 + 1) * a) * b;
        let got = f64::from(scaled[y * w + x]);
        assert!((got - want).abs() <= 0.51, "({x}, {y}): {got} vs {want}");
    }
    assert_ne!(scaled, orig);

    // A focal length stated 1 % wrong: every image untouched, the camera changed.
    let out = root.join("focal");
    let rec = write_fault_dataset(&src, Fault::Focal { error: 0.01 }, 3, 6, &out).unwrap();
    assert_eq!(rec.frames.len(), clean.frames.len());
    let ds = Dataset::read(&out).unwrap();
    assert!((ds.meta.camera.fx / clean.meta.camera.fx - 1.01).abs() < 1e-12);
    assert_eq!(pixels(&out, &ds, 3).1, pixels(&src, &clean, 3).1);

    // Out of range.
    assert!(
        write_fault_dataset(&src, Fault::Blur { sigma_px: 0.0 }, 3, 6, &root.join("b")).is_err()
    );
    assert!(write_fault_dataset(&src, Fault::Shift { dx_px: 5.0 }, 3, 0, &root.join("c")).is_err());
    std::fs::remove_dir_all(&root).unwrap();
}
