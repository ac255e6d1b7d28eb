//! # trn-sim
//!
//! The generator of everything trn is tested and evaluated on: seeded lunar-like sites (DEM,
//! albedo, rendered orthoimage as GeoTIFFs), powered-descent trajectories, descent images
//! rendered by ray casting through the DEM, an inertial prior that drifts, and a laser
//! rangefinder with faults on demand, written as datasets in the format of
//! `../shared/DATASET.md`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod camera_render;
pub mod error;
pub mod io;
pub mod noise;
pub mod site;
pub mod terrain;

pub use error::SimError;
