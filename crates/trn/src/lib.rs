//! # trn
//!
//! Terrain-relative navigation for lunar landers: the [`Navigator`] matches each descent
//! frame against an on-board map database and returns a pose with its covariance, the
//! altitude above the DEM and a verdict on the laser rangefinder; [`eval`] runs whole
//! datasets in the format of `../shared/DATASET.md`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod acquisition;
pub mod eval;
pub mod navigator;

pub use navigator::{Fix, FixStatus, FrameFix, NavConfig, Navigator, Observation, Prior, Velocity};
pub use trn_flight::camera::Camera;
pub use trn_flight::mapdb::MapDb;
pub use trn_flight::{Pose, Quat, Vec3};
