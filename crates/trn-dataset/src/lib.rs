//! # trn-dataset
//!
//! Every file format trn's pipeline touches, in one crate: the dataset of DATASET.md
//! ([`dataset`]: `dataset.json` and `frames.csv`, a strict reader and the writer the
//! simulator uses), frame images ([`image`]: one [`image::read_frame`] for PNG, TIFF and
//! PGM), the results ([`results`]: `results.csv` and `rows.json`; [`summary`]:
//! `summary.json`, the band tables, `shard.json`), atomic writes ([`atomic`]) that
//! results, maps, reports and simulator metadata go through, and output directories written
//! whole or not at all under a lock ([`output_dir`]: a simulated dataset, a results
//! directory).
//!
//! Readers refuse anything the formats do not allow with an error naming the file, the line
//! and the field ([`DatasetError`]); they never guess.
//!
//! ```no_run
//! use trn_dataset::{dataset::Dataset, image::read_frame};
//! let ds = Dataset::read(std::path::Path::new("data/default-descent"))?;
//! for f in &ds.frames {
//!     let img = read_frame(&ds.dir.join(&f.image))?;
//!     println!("frame {} at {} s: {} x {}", f.frame, f.t_s, img.width, img.height);
//! }
//! # Ok::<(), trn_dataset::DatasetError>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]
// `!(x > 0.0)` is how the readers refuse NaN along with out-of-range values.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod atomic;
pub mod budget;
pub mod csv;
pub mod dataset;
pub mod error;
pub mod image;
pub mod input;
pub mod output_dir;
pub mod results;
pub mod summary;

pub use error::DatasetError;
