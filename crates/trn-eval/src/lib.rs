//! # trn-eval
//!
//! Dataset evaluation for trn: a dataset in the format of DATASET.md in, the navigator run
//! over every frame ([`evaluate`]), results out ([`write_results`]: `results.csv`,
//! `summary.json`, `rows.json`, band tables); campaigns of many datasets in shards and
//! their merge ([`campaign`]).
//!
//! ```no_run
//! use std::path::Path;
//! use trn_eval::{EvalOptions, evaluate, write_results};
//! let ev = evaluate(Path::new("data/default-descent"), &EvalOptions::default(), &|_, _, _| {})?;
//! println!("{} of {} frames fixed", ev.summary.fixes, ev.summary.frames);
//! write_results(Path::new("results"), &ev.rows, &ev.summary)?;
//! # Ok::<(), trn_eval::EvalError>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod bands;
pub mod campaign;
pub mod error;
pub mod map;
pub mod options;
pub mod output;
pub mod run;
pub mod shadow;
pub mod summary;

pub use bands::{
    ALTITUDE_BANDS_M, DARK_FRAME, SHADOW_BANDS, SUN_BANDS_DEG, availability_target, by_altitude,
    by_shadow, by_sun_elevation,
};
pub use campaign::{evaluate_campaign, merge};
pub use error::EvalError;
pub use options::{EvalOptions, Templates};
pub use output::write_results;
pub use run::{
    Evaluation, FrameDetail, evaluate, evaluate_saving_map, frame_prior, memory_estimate,
};
pub use shadow::shadow_fraction;
pub use summary::summarise;
pub use trn_dataset::results::{ResultRow, read_rows, results_csv};
pub use trn_dataset::summary::{Band, Stats, Summary, bands_csv};
