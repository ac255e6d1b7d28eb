//! # trn-sim
//!
//! The generator of everything trn is tested and evaluated on: seeded lunar-like sites (DEM,
//! albedo, rendered orthoimage as GeoTIFFs), powered-descent trajectories, descent images
//! rendered by ray casting through the DEM, an inertial prior that drifts, and a laser
//! rangefinder with faults on demand, written as datasets in the format of
//! `../shared/DATASET.md` through trn-dataset; and copies of a dataset with camera and data
//! faults ([`faults`]) for the fault campaign.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
// `!(x > 0.0)` is how this crate refuses NaN along with the out-of-range values.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod albedo;
pub mod camera_render;
pub mod campaign;
pub mod descent;
pub mod detail;
pub mod error;
pub mod faults;
pub mod map_realism;
pub mod noise;
pub mod photometry;
pub mod sensors;
pub mod site;
pub mod terrain;
pub mod trajectory;

pub use error::SimError;
