//! # trn-features
//!
//! Feature extraction and matching of descent imagery against the map database, on the
//! std side: which landmarks the prior pose says are in view and at what scale
//! ([`predict()`], trn-flight's), the frame's pyramid ([`FramePyramid`], rayon over rows with
//! trn-flight's row kernels), and where each landmark really is in the frame
//! ([`ParallelMatcher`]: trn-flight's `match_landmark` over landmarks with rayon). The
//! frame is resampled onto the landmark's ground through the prior pose (the homography of
//! its plane, lifted onto the DEM), then searched with trn-flight's ZNCC kernel.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod frame;
pub mod matching;

pub use frame::FramePyramid;
pub use matching::ParallelMatcher;
pub use trn_flight::matching::{LandmarkMatch, MatchConfig, MatchOutcome, MatchStats};
pub use trn_flight::predict::{PredictConfig, Prediction, predict};
