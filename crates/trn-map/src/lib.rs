//! # trn-map
//!
//! Turns orbital products into what the lander carries, on the ground:
//!
//! * [`geotiff`], [`io`] (and `gdal_io` with feature `gdal`): single-band rasters (DEMs in
//!   metres above the reference sphere, orthoimages) read and written with a pure-Rust
//!   GeoTIFF codec; PDS3, PDS4 and ISIS3 through libgdal;
//! * [`crs`]: the projections lunar products use on a sphere (geographic, equirectangular,
//!   polar stereographic north and south) as GDAL writes them;
//! * [`site_dem`], [`sample`]: rasters resampled onto the landing site's East-North-Up
//!   grid (bilinear or bicubic);
//! * [`render`]: lunar-Lambert renders with cast shadows under a given sun;
//! * [`landmarks`]: landmark selection (Förstner interest, spread, uniqueness) on a
//!   render's or an orthoimage's pyramid;
//! * [`mod@build`], [`mapdb`]: the whole map database, written as the `.trnmap` file that
//!   trn-flight's parser reads in place.
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
