//! Reading any raster GDAL reads (PDS3 `.IMG`/`.LBL`, PDS4, ISIS3 `.cub`, GeoTIFF with any
//! compression, ...) into the same [`Raster`] the pure-Rust GeoTIFF reader gives.
//!
//! Only with the `gdal` feature (links Debian's libgdal). The CRS comes from GDAL's PROJ.4
//! export through [`Crs::from_proj4`]; values are physical (the band's scale and offset
//! applied, nodata as NaN), exactly as [`crate::geotiff::read`] returns them.

use crate::crs::Crs;
use crate::error::MapError;
use crate::raster::{GeoTransform, Raster, SampleType, physical_values};
use gdal::Dataset;
use gdal::raster::GdalDataType;
use std::path::Path;

fn invalid(path: &Path, field: &'static str, detail: impl Into<String>) -> MapError {
    MapError::Invalid {
        file: path.to_path_buf(),
        field,
        detail: detail.into(),
    }
}

/// Reads band 1 of a single-band raster through GDAL.
///
/// # Errors
///
/// [`MapError::Io`] when the file does not exist; [`MapError::Invalid`] when GDAL cannot
/// open it, when it is not map-projected (no geotransform or no projection), or a read
/// fails; [`MapError::Unsupported`] for more than one band, a projection other than those
/// of [`Crs`], or a non-spherical body.
pub fn read(path: &Path) -> Result<Raster, MapError> {
    if let Err(source) = std::fs::metadata(path) {
        return Err(MapError::Io {
            file: path.to_path_buf(),
            source,
        });
    }
    let ds = Dataset::open(path)
        .map_err(|e| invalid(path, "format", format!("GDAL cannot open it: {e}")))?;
    let bands = ds.raster_count();
    if bands != 1 {
        return Err(MapError::Unsupported {
            file: path.to_path_buf(),
            field: "band count",
            value: bands.to_string(),
            hint: "; expected a single-band raster (extract one with `gdal_translate -b N`)".into(),
        });
    }
    let (width, height) = ds.raster_size();
    let gt = ds.geo_transform().map_err(|_| {
        invalid(
            path,
            "geotransform",
            "missing: the product is not map-projected (project it with ISIS cam2map first)",
        )
    })?;
    let srs = ds.spatial_ref().map_err(|_| {
        invalid(
            path,
            "projection",
            "missing: the product is not map-projected (project it with ISIS cam2map first)",
        )
    })?;
    let proj4 = srs
        .to_proj4()
        .map_err(|e| invalid(path, "projection", format!("no PROJ.4 form: {e}")))?;
    let crs = Crs::from_proj4(&proj4).map_err(|detail| MapError::Unsupported {
        file: path.to_path_buf(),
        field: "projection",
        value: proj4.trim().to_string(),
        hint: format!("; {detail}"),
    })?;
    let band = ds
        .rasterband(1)
        .map_err(|e| invalid(path, "band 1", e.to_string()))?;
    let sample = match band.band_type() {
        GdalDataType::UInt8 => SampleType::U8,
        GdalDataType::UInt16 => SampleType::U16,
        GdalDataType::Int16 => SampleType::I16,
        // Wider types are read as values; f32 is what every consumer holds.
        _ => SampleType::F32,
    };
    let nodata = band.no_data_value();
    let scale = band.scale().unwrap_or(1.0);
    let offset = band.offset().unwrap_or(0.0);
    let offset = crate::raster::height_offset(offset, crs.radius_m());
    let buf = band
        .read_as::<f64>((0, 0), (width, height), (width, height), None)
        .map_err(|e| invalid(path, "band 1", format!("read failed: {e}")))?;
    let raw = buf.data();
    if raw.len() != width * height {
        return Err(invalid(
            path,
            "band 1",
            format!("read {} samples for {width} x {height}", raw.len()),
        ));
    }
    let data = physical_values(raw.iter().copied(), nodata, scale, offset, sample);
    Ok(Raster {
        width,
        height,
        data,
        nodata,
        scale,
        offset,
        transform: GeoTransform(gt),
        crs,
        sample,
    })
}
