//! # trn-features
//!
//! Feature extraction and matching of descent imagery against the map database: which
//! landmarks the prior pose says are in view and at what scale ([`mod@predict`]), and where
//! each one really is in the frame ([`matching`]): the frame is resampled onto the
//! landmark's local ground plane through the prior pose (the homography of that plane, so
//! perspective and rotation are undone), then searched with trn-flight's ZNCC kernel.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod frame;
pub mod matching;

pub use frame::FramePyramid;
pub use matching::ParallelMatcher;
pub use trn_flight::matching::{LandmarkMatch, MatchConfig, MatchOutcome, MatchStats};
pub use trn_flight::predict::{PredictConfig, Prediction, predict};
