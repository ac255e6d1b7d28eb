//! Runnable examples of trn's public entry points, one file each beside this one:
//!
//! * `flight_loop.rs`: the flight loop through trn-flight's `FrameNavigator`, buffers
//!   allocated once, nothing allocated per frame (`cargo run --release -p trn-examples
//!   --example flight_loop`).
//! * `evaluate_dataset.rs`: a dataset evaluated through trn-eval's API, with the results
//!   directory `trn eval` writes.
//! * `build_map.rs`: a `.trnmap` map database built from a GeoTIFF DEM with trn-map and read
//!   back with the flight parser.
//! * `read_results.rs`: a results directory read back, and the summary's figures recomputed
//!   from `frames.csv` and `results.csv` alone, as an independent scorer would.
//!
//! The quick ones run in `cargo test -p trn-examples`; every one builds in `cargo test
//! --workspace`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

/// The repository's shipped descent (`data/default-descent`), for the examples' defaults.
#[must_use]
pub fn shipped_descent() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/default-descent")
}

/// The README's code, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
