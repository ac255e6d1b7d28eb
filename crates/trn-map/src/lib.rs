//! # trn-map
//!
//! Turns orbital products into what the lander carries. This first part reads and writes
//! single-band GeoTIFF rasters (DEMs in metres above the reference sphere, orthoimages) with
//! a pure-Rust reader, and knows the map projections lunar products use on a sphere:
//! geographic latitude/longitude, equirectangular, and polar stereographic (north and
//! south), as GDAL writes them.
//!
//! ```no_run
//! let dem = trn_map::geotiff::read("map/dem.tif")?;
//! println!("{} x {} in {:?}", dem.width, dem.height, dem.crs);
//! # Ok::<(), trn_map::MapError>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod build;
pub mod crs;
pub mod error;
#[cfg(feature = "gdal")]
pub mod gdal_io;
pub mod geotiff;
pub mod io;
pub mod landmarks;
pub mod mapdb;
pub mod raster;
pub mod render;
pub mod sample;
pub mod site_dem;

pub use build::{BuildParams, BuiltMap, LandmarkSource, build};
pub use crs::Crs;
pub use error::MapError;
pub use raster::{GeoTransform, Raster};
pub use sample::Interpolation;
pub use site_dem::{SiteDem, resample_to_site};
