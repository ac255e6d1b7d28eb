//! # trn
//!
//! The std runtime of terrain-relative navigation for lunar landers: the [`Navigator`]
//! matches each descent frame against an on-board map database and returns a pose with its
//! covariance, the altitude above the DEM and a verdict on the laser rangefinder. It runs
//! trn-flight's per-frame steps, landmark matching on rayon ([`matching`]), frame pyramids
//! on rayon ([`frame_pyramid`]), and adds FFT acquisition ([`acquisition`]) for priors too
//! uncertain for windowed search. Dataset evaluation lives in trn-eval.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod acquisition;
pub mod frame_pyramid;
pub mod matching;
pub mod navigator;

pub use frame_pyramid::FramePyramid;
pub use matching::ParallelMatcher;
pub use navigator::{
    FixStatus, FrameResult, NavConfig, Navigator, Observation, Prior, Reason, Velocity,
};
pub use trn_flight::camera::Camera;
pub use trn_flight::mapdb::MapDb;
pub use trn_flight::{Pose, Quat, Vec3};
