//! Opening any supported raster: GeoTIFF through the pure-Rust reader, everything else (and
//! GeoTIFF compressions it lacks) through GDAL when the `gdal` feature is on.

use crate::error::MapError;
use crate::raster::Raster;
use std::io::Read;
use std::path::Path;

fn looks_like_tiff(path: &Path) -> Result<bool, MapError> {
    let mut magic = [0u8; 4];
    let mut f = std::fs::File::open(path).map_err(|source| MapError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    let n = f.read(&mut magic).map_err(|source| MapError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    Ok(n == 4 && matches!(&magic, b"II*\0" | b"MM\0*" | b"II+\0" | b"MM\0+"))
}

/// Reads a single-band raster (DEM or orthoimage) in a lunar CRS.
///
/// # Errors
///
/// [`MapError::Io`] when the file cannot be opened; without the `gdal` feature,
/// [`MapError::Unsupported`] for anything but GeoTIFF; otherwise the reader's errors.
pub fn read_raster(path: impl AsRef<Path>) -> Result<Raster, MapError> {
    let path = path.as_ref();
    let tiff = looks_like_tiff(path)?;
    if tiff {
        match crate::geotiff::read(path) {
            #[cfg(feature = "gdal")]
            Err(MapError::Unsupported { .. }) => return crate::gdal_io::read(path),
            r => return r,
        }
    }
    #[cfg(feature = "gdal")]
    {
        crate::gdal_io::read(path)
    }
    #[cfg(not(feature = "gdal"))]
    {
        Err(MapError::Unsupported {
            file: path.to_path_buf(),
            field: "format",
            value: "not a GeoTIFF".into(),
            hint: "; build with `--features gdal` to read PDS3, PDS4 and ISIS3 products".into(),
        })
    }
}

/// The pixels of a GeoTIFF raster from its header alone, for a memory estimate before it
/// is read; 0 for other formats (read through GDAL) or an unreadable header.
#[must_use]
pub fn tiff_pixel_count(path: impl AsRef<Path>) -> f64 {
    tiff_dimensions(path).map_or(0.0, |(w, h)| w as f64 * h as f64)
}

/// The size (columns, rows) of a GeoTIFF raster from its header alone; `None` for other
/// formats (read through GDAL) or an unreadable header.
#[must_use]
pub fn tiff_dimensions(path: impl AsRef<Path>) -> Option<(usize, usize)> {
    let path = path.as_ref();
    if !looks_like_tiff(path).ok()? {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    let mut dec = tiff::decoder::Decoder::new(std::io::BufReader::new(file)).ok()?;
    let (w, h) = dec.dimensions().ok()?;
    Some((w as usize, h as usize))
}
