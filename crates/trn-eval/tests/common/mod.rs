//! Datasets derived from the shipped descent for the evaluation's tests.

use std::path::{Path, PathBuf};
use trn_dataset::dataset::{Dataset, ReadOptions, frames_csv};

/// The shipped descent.
pub fn shipped() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/default-descent")
}

/// How a derived dataset is read: its images and map are the shipped dataset's, named by
/// absolute path.
pub fn outside() -> ReadOptions {
    ReadOptions {
        allow_outside_paths: true,
    }
}

/// A copy of the shipped descent in `out`, changed by `edit`, its images and map referred
/// to by absolute paths (read it with [`outside`]).
pub fn derived(out: &Path, edit: impl FnOnce(&mut Dataset)) -> Dataset {
    let src = shipped().canonicalize().unwrap();
    let mut ds = Dataset::read(&src).unwrap();
    edit(&mut ds);
    let abs = |p: &str| src.join(p).to_string_lossy().into_owned();
    for f in &mut ds.frames {
        f.image = abs(&f.image);
    }
    ds.meta.map.dem = abs(&ds.meta.map.dem);
    ds.meta.map.ortho = ds.meta.map.ortho.as_deref().map(abs);
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(out.join("frames.csv"), frames_csv(&ds.frames)).unwrap();
    let json = serde_json::to_string_pretty(&ds.meta).unwrap();
    std::fs::write(out.join("dataset.json"), json).unwrap();
    Dataset::read_with(out, outside()).unwrap()
}
