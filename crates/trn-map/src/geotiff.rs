//! Single-band GeoTIFF reading and writing in pure Rust.
//!
//! Reads 8/16-bit integer and 32-bit float samples (LZW, Deflate or uncompressed, strips or
//! tiles), GDAL's nodata (`GDAL_NODATA`) and scale/offset (`GDAL_METADATA`) tags, the
//! geotransform (`ModelPixelScale` + `ModelTiepoint`, or `ModelTransformation`, with
//! `PixelIsPoint` handled as GDAL does), and the GeoKeys of a sphere-based geographic,
//! equirectangular or polar stereographic CRS. Anything else is an error that names the
//! file, the field and the value. Writing produces files GDAL reads back with the same CRS.

use crate::crs::Crs;
use crate::error::MapError;
use crate::raster::{GeoTransform, Raster, SampleType};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;

// TIFF / GeoTIFF / GDAL tags.
const MODEL_PIXEL_SCALE: u16 = 33550;
const MODEL_TIEPOINT: u16 = 33922;
const MODEL_TRANSFORMATION: u16 = 34264;
const GEO_KEY_DIRECTORY: u16 = 34735;
const GEO_DOUBLE_PARAMS: u16 = 34736;
const GEO_ASCII_PARAMS: u16 = 34737;
const GDAL_METADATA: u16 = 42112;
const GDAL_NODATA: u16 = 42113;

// GeoKeys.
const GT_MODEL_TYPE: u16 = 1024;
const GT_RASTER_TYPE: u16 = 1025;
const GEOG_SEMI_MAJOR: u16 = 2057;
const GEOG_SEMI_MINOR: u16 = 2058;
const GEOG_INV_FLATTENING: u16 = 2059;
const PROJECTED_CS_TYPE: u16 = 3072;
const PROJ_COORD_TRANS: u16 = 3075;
const PROJ_LINEAR_UNITS: u16 = 3076;
const PROJ_STD_PARALLEL1: u16 = 3078;
const PROJ_NAT_ORIGIN_LONG: u16 = 3080;
const PROJ_NAT_ORIGIN_LAT: u16 = 3081;
const PROJ_FALSE_EASTING: u16 = 3082;
const PROJ_FALSE_NORTHING: u16 = 3083;
const PROJ_CENTER_LONG: u16 = 3088;
const PROJ_SCALE_AT_NAT_ORIGIN: u16 = 3092;
const PROJ_STRAIGHT_VERT_POLE_LONG: u16 = 3095;

// GeoKey values.
const MODEL_PROJECTED: u16 = 1;
const MODEL_GEOGRAPHIC: u16 = 2;
const RASTER_PIXEL_IS_POINT: u16 = 2;
const USER_DEFINED: u16 = 32767;
const CT_POLAR_STEREOGRAPHIC: u16 = 15;
const CT_EQUIRECTANGULAR: u16 = 17;
const LINEAR_METRE: u16 = 9001;

/// One GeoKey's value.
#[derive(Clone, Debug, PartialEq)]
enum KeyValue {
    Short(u16),
    Doubles(Vec<f64>),
    Ascii(String),
}

struct GeoKeys(Vec<(u16, KeyValue)>);

impl GeoKeys {
    fn short(&self, id: u16) -> Option<u16> {
        self.0.iter().find_map(|(k, v)| match v {
            KeyValue::Short(s) if *k == id => Some(*s),
            _ => None,
        })
    }

    fn double(&self, id: u16) -> Option<f64> {
        self.0.iter().find_map(|(k, v)| match v {
            KeyValue::Doubles(d) if *k == id => d.first().copied(),
            _ => None,
        })
    }
}

fn tiff_err(file: &Path, e: impl std::fmt::Display) -> MapError {
    MapError::Tiff {
        file: file.to_path_buf(),
        detail: e.to_string(),
    }
}

fn unsupported(file: &Path, field: &'static str, value: impl ToString, hint: &str) -> MapError {
    MapError::Unsupported {
        file: file.to_path_buf(),
        field,
        value: value.to_string(),
        hint: hint.to_string(),
    }
}

fn invalid(file: &Path, field: &'static str, detail: impl ToString) -> MapError {
    MapError::Invalid {
        file: file.to_path_buf(),
        field,
        detail: detail.to_string(),
    }
}

/// Reads a single-band GeoTIFF.
///
/// # Errors
///
/// [`MapError::Io`] when the file cannot be read, [`MapError::Tiff`] for a broken or
/// truncated TIFF, [`MapError::Unsupported`] for several bands, an unsupported sample
/// type or compression (LZMA, JPEG), or a CRS other than a sphere-based geographic,
/// equirectangular or polar stereographic one, [`MapError::Invalid`] for missing or
/// inconsistent georeferencing.
pub fn read(path: impl AsRef<Path>) -> Result<Raster, MapError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|source| MapError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    let mut dec = Decoder::new(BufReader::new(file)).map_err(|e| tiff_err(path, e))?;
    let (w, h) = dec.dimensions().map_err(|e| tiff_err(path, e))?;
    let (width, height) = (w as usize, h as usize);

    let spp = dec.get_tag_u32(Tag::SamplesPerPixel).unwrap_or(1);
    if spp != 1 {
        return Err(unsupported(
            path,
            "SamplesPerPixel",
            spp,
            "; expected a single-band raster",
        ));
    }
    let compression = dec.get_tag_u32(Tag::Compression).unwrap_or(1);
    match compression {
        1 | 5 | 8 | 32946 | 32773 => {}
        34925 => {
            return Err(unsupported(
                path,
                "Compression",
                "34925 (LZMA)",
                "; the pure-Rust reader does not decode LZMA: re-save with `gdal_translate -co COMPRESS=DEFLATE`",
            ));
        }
        other => {
            return Err(unsupported(
                path,
                "Compression",
                other,
                "; supported: none, LZW, Deflate, PackBits",
            ));
        }
    }
    let nodata = match dec.get_tag_ascii_string(Tag::Unknown(GDAL_NODATA)) {
        Ok(s) => {
            let t = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
            Some(
                t.parse::<f64>()
                    .map_err(|_| invalid(path, "GDAL_NODATA", format!("not a number: {t:?}")))?,
            )
        }
        Err(_) => None,
    };
    let (scale, offset) = match dec.get_tag_ascii_string(Tag::Unknown(GDAL_METADATA)) {
        Ok(xml) => (
            metadata_item(&xml, "scale").unwrap_or(1.0),
            metadata_item(&xml, "offset").unwrap_or(0.0),
        ),
        Err(_) => (1.0, 0.0),
    };
    let keys = read_geokeys(&mut dec, path)?;
    let crs = crs_from_keys(&keys, path)?;
    let transform = read_transform(&mut dec, &keys, path)?;
    let offset = crate::raster::height_offset(offset, crs.radius_m());

    let image = dec.read_image().map_err(|e| tiff_err(path, e))?;
    let (raw, sample): (Vec<f64>, SampleType) = match image {
        DecodingResult::U8(v) => (v.into_iter().map(f64::from).collect(), SampleType::U8),
        DecodingResult::U16(v) => (v.into_iter().map(f64::from).collect(), SampleType::U16),
        DecodingResult::I16(v) => (v.into_iter().map(f64::from).collect(), SampleType::I16),
        DecodingResult::F32(v) => (v.into_iter().map(f64::from).collect(), SampleType::F32),
        other => {
            let name = format!("{:?}", std::mem::discriminant(&other));
            return Err(unsupported(
                path,
                "SampleFormat/BitsPerSample",
                name,
                "; supported: u8, u16, i16, f32",
            ));
        }
    };
    if raw.len() != width * height {
        return Err(invalid(
            path,
            "ImageLength",
            format!("decoded {} samples for {width} x {height}", raw.len()),
        ));
    }
    let data = crate::raster::physical_values(raw.into_iter(), nodata, scale, offset, sample);
    Ok(Raster {
        width,
        height,
        data,
        nodata,
        scale,
        offset,
        transform,
        crs,
        sample,
    })
}

/// The value of `<Item name="SCALE" ...>0.5</Item>` style entries (case-insensitive role).
fn metadata_item(xml: &str, role: &str) -> Option<f64> {
    let lower = xml.to_ascii_lowercase();
    let needle = format!("role=\"{role}\"");
    let at = lower.find(&needle)?;
    let rest = &xml[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    rest[start..end].trim().parse().ok()
}

fn read_geokeys<R: std::io::Read + std::io::Seek>(
    dec: &mut Decoder<R>,
    path: &Path,
) -> Result<GeoKeys, MapError> {
    let dir = dec
        .get_tag_u16_vec(Tag::Unknown(GEO_KEY_DIRECTORY))
        .map_err(|_| invalid(path, "GeoKeyDirectoryTag", "missing: not a GeoTIFF"))?;
    let doubles = dec
        .get_tag_f64_vec(Tag::Unknown(GEO_DOUBLE_PARAMS))
        .unwrap_or_default();
    let ascii = dec
        .get_tag_ascii_string(Tag::Unknown(GEO_ASCII_PARAMS))
        .unwrap_or_default();
    let n = usize::from(
        *dir.get(3)
            .ok_or_else(|| invalid(path, "GeoKeyDirectoryTag", "shorter than its header"))?,
    );
    let mut keys = Vec::with_capacity(n);
    for e in dir
        .get(4..4 + 4 * n)
        .ok_or_else(|| {
            invalid(
                path,
                "GeoKeyDirectoryTag",
                format!("declares {n} keys, holds fewer"),
            )
        })?
        .chunks_exact(4)
    {
        let (id, loc, count, off) = (e[0], e[1], usize::from(e[2]), usize::from(e[3]));
        let value = match loc {
            0 => KeyValue::Short(e[3]),
            GEO_DOUBLE_PARAMS => KeyValue::Doubles(
                doubles
                    .get(off..off + count)
                    .ok_or_else(|| {
                        invalid(
                            path,
                            "GeoDoubleParamsTag",
                            format!("key {id} points past its end"),
                        )
                    })?
                    .to_vec(),
            ),
            GEO_ASCII_PARAMS => KeyValue::Ascii(
                ascii
                    .get(off..off + count)
                    .unwrap_or_default()
                    .trim_end_matches('|')
                    .to_string(),
            ),
            // Other locations (rare) are not needed for the keys this reader interprets.
            _ => continue,
        };
        keys.push((id, value));
    }
    Ok(GeoKeys(keys))
}

fn sphere_radius(keys: &GeoKeys, path: &Path) -> Result<f64, MapError> {
    let a = keys.double(GEOG_SEMI_MAJOR).ok_or_else(|| {
        invalid(
            path,
            "GeogSemiMajorAxisGeoKey",
            "missing: only user-defined spheres (planetary bodies) are supported",
        )
    })?;
    let flat = keys.double(GEOG_INV_FLATTENING).unwrap_or(0.0);
    let b = keys.double(GEOG_SEMI_MINOR).unwrap_or(a);
    if flat != 0.0 || (b - a).abs() > 1e-6 * a {
        return Err(unsupported(
            path,
            "GeogSemiMinorAxisGeoKey",
            format!("{b} (semi-major {a}, inverse flattening {flat})"),
            "; only spheres are supported",
        ));
    }
    if !(a > 0.0 && a.is_finite()) {
        return Err(invalid(path, "GeogSemiMajorAxisGeoKey", a));
    }
    Ok(a)
}

fn crs_from_keys(keys: &GeoKeys, path: &Path) -> Result<Crs, MapError> {
    let model = keys
        .short(GT_MODEL_TYPE)
        .ok_or_else(|| invalid(path, "GTModelTypeGeoKey", "missing"))?;
    let radius_m = sphere_radius(keys, path)?;
    match model {
        MODEL_GEOGRAPHIC => Ok(Crs::Geographic { radius_m }),
        MODEL_PROJECTED => {
            let pcs = keys.short(PROJECTED_CS_TYPE).unwrap_or(USER_DEFINED);
            if pcs != USER_DEFINED {
                return Err(unsupported(
                    path,
                    "ProjectedCSTypeGeoKey",
                    pcs,
                    "; expected a user-defined projection on a sphere",
                ));
            }
            if let Some(units) = keys.short(PROJ_LINEAR_UNITS).filter(|u| *u != LINEAR_METRE) {
                return Err(unsupported(
                    path,
                    "ProjLinearUnitsGeoKey",
                    units,
                    "; only metres (9001)",
                ));
            }
            let fe = keys.double(PROJ_FALSE_EASTING).unwrap_or(0.0);
            let fn_ = keys.double(PROJ_FALSE_NORTHING).unwrap_or(0.0);
            match keys.short(PROJ_COORD_TRANS) {
                Some(CT_EQUIRECTANGULAR) => Ok(Crs::Equirectangular {
                    radius_m,
                    lat_ts_deg: keys.double(PROJ_STD_PARALLEL1).unwrap_or(0.0),
                    lon0_deg: keys
                        .double(PROJ_CENTER_LONG)
                        .or(keys.double(PROJ_NAT_ORIGIN_LONG))
                        .unwrap_or(0.0),
                    false_easting: fe,
                    false_northing: fn_,
                }),
                Some(CT_POLAR_STEREOGRAPHIC) => {
                    let lat0 = keys
                        .double(PROJ_NAT_ORIGIN_LAT)
                        .or(keys.double(PROJ_STD_PARALLEL1))
                        .unwrap_or(90.0);
                    // Variant A gives the scale at the pole; variant B a latitude of true scale.
                    let scale = match (
                        keys.double(PROJ_SCALE_AT_NAT_ORIGIN),
                        keys.double(PROJ_STD_PARALLEL1),
                    ) {
                        (Some(k), _) => k,
                        (None, Some(ts)) => Crs::polar_scale_from_lat_ts(ts),
                        (None, None) => 1.0,
                    };
                    if (lat0.abs() - 90.0).abs() > 1e-9
                        && keys.double(PROJ_SCALE_AT_NAT_ORIGIN).is_some()
                    {
                        return Err(unsupported(
                            path,
                            "ProjNatOriginLatGeoKey",
                            lat0,
                            "; polar stereographic must be centred on a pole",
                        ));
                    }
                    Ok(Crs::PolarStereographic {
                        radius_m,
                        south: lat0 < 0.0,
                        scale,
                        lon0_deg: keys
                            .double(PROJ_STRAIGHT_VERT_POLE_LONG)
                            .or(keys.double(PROJ_NAT_ORIGIN_LONG))
                            .unwrap_or(0.0),
                        false_easting: fe,
                        false_northing: fn_,
                    })
                }
                Some(other) => Err(unsupported(
                    path,
                    "ProjCoordTransGeoKey",
                    other,
                    "; supported: 17 (equirectangular), 15 (polar stereographic)",
                )),
                None => Err(invalid(path, "ProjCoordTransGeoKey", "missing")),
            }
        }
        other => Err(unsupported(
            path,
            "GTModelTypeGeoKey",
            other,
            "; expected 1 (projected) or 2 (geographic)",
        )),
    }
}

fn read_transform<R: std::io::Read + std::io::Seek>(
    dec: &mut Decoder<R>,
    keys: &GeoKeys,
    path: &Path,
) -> Result<GeoTransform, MapError> {
    let mut gt = if let Ok(m) = dec.get_tag_f64_vec(Tag::Unknown(MODEL_TRANSFORMATION)) {
        if m.len() < 16 {
            return Err(invalid(
                path,
                "ModelTransformationTag",
                format!("{} values, expected 16", m.len()),
            ));
        }
        [m[3], m[0], m[1], m[7], m[4], m[5]]
    } else {
        let scale = dec
            .get_tag_f64_vec(Tag::Unknown(MODEL_PIXEL_SCALE))
            .map_err(|_| {
                invalid(
                    path,
                    "ModelPixelScaleTag",
                    "missing (and no ModelTransformationTag)",
                )
            })?;
        let tie = dec
            .get_tag_f64_vec(Tag::Unknown(MODEL_TIEPOINT))
            .map_err(|_| invalid(path, "ModelTiepointTag", "missing"))?;
        if scale.len() < 2 || tie.len() < 6 {
            return Err(invalid(path, "ModelTiepointTag", "too few values"));
        }
        let (sx, sy) = (scale[0], scale[1]);
        [
            tie[3] - tie[0] * sx,
            sx,
            0.0,
            tie[4] + tie[1] * sy,
            0.0,
            -sy,
        ]
    };
    if keys.short(GT_RASTER_TYPE) == Some(RASTER_PIXEL_IS_POINT) {
        // GDAL's default: the tiepoint refers to a pixel centre; shift to the corner.
        gt[0] -= 0.5 * gt[1] + 0.5 * gt[2];
        gt[3] -= 0.5 * gt[4] + 0.5 * gt[5];
    }
    if gt.iter().any(|v| !v.is_finite()) || gt[1] * gt[5] - gt[2] * gt[4] == 0.0 {
        return Err(invalid(
            path,
            "geotransform",
            format!("{gt:?} is singular or not finite"),
        ));
    }
    Ok(GeoTransform(gt))
}

/// How [`write_as`] stores values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Storage {
    /// 32-bit float, NaN for no data.
    F32,
    /// Signed 16-bit `round((v - offset) / scale)` with GDAL scale/offset metadata,
    /// -32768 for no data (and for values out of range, which are refused).
    I16 {
        /// Metres (or units) per step.
        scale: f64,
        /// Value of 0.
        offset: f64,
    },
    /// Unsigned 8-bit `round((v - offset) / scale)`, clamped to 0..=254, 255 for no data.
    U8 {
        /// Units per step.
        scale: f64,
        /// Value of 0.
        offset: f64,
    },
}

/// Writes a single-band GeoTIFF (Deflate, 32-bit float) with the GeoKeys of `raster.crs`.
/// The file is written under a temporary name and renamed, so a reader never sees half.
///
/// # Errors
///
/// [`MapError::Invalid`] when the data length does not match the size;
/// [`MapError::Io`] / [`MapError::Tiff`] when writing fails.
pub fn write(path: impl AsRef<Path>, raster: &Raster) -> Result<(), MapError> {
    write_as(path, raster, Storage::F32)
}

/// Writes a single-band GeoTIFF storing values as `storage` says (integers carry GDAL
/// scale/offset metadata, so GDAL and [`read`] return the physical values).
///
/// # Errors
///
/// As [`write()`]; [`MapError::Invalid`] for a non-positive scale, or an I16 value out of range.
pub fn write_as(path: impl AsRef<Path>, raster: &Raster, storage: Storage) -> Result<(), MapError> {
    let path = path.as_ref();
    if raster.data.len() != raster.width * raster.height || raster.width == 0 || raster.height == 0
    {
        return Err(invalid(
            path,
            "data",
            format!(
                "{} values for {} x {}",
                raster.data.len(),
                raster.width,
                raster.height
            ),
        ));
    }
    trn_dataset::atomic::write_atomic_with(path, |w| write_to(w, path, raster, storage))
}

/// Encodes `r` into `out`; errors name `path`, the file being written.
fn write_to<W: std::io::Write + std::io::Seek>(
    out: &mut W,
    path: &Path,
    r: &Raster,
    storage: Storage,
) -> Result<(), MapError> {
    use tiff::encoder::colortype::{Gray8, Gray32Float, GrayI16};
    match storage {
        Storage::F32 => write_typed::<Gray32Float, W>(out, path, r, &r.data, "nan", None),
        Storage::I16 { scale, offset } => {
            if !(scale > 0.0 && scale.is_finite() && offset.is_finite()) {
                return Err(invalid(path, "scale", format!("{scale} (offset {offset})")));
            }
            let mut q = Vec::with_capacity(r.data.len());
            for (i, v) in r.data.iter().enumerate() {
                if v.is_nan() {
                    q.push(i16::MIN);
                    continue;
                }
                let k = ((f64::from(*v) - offset) / scale).round();
                if !(k > f64::from(i16::MIN) && k <= f64::from(i16::MAX)) {
                    return Err(invalid(
                        path,
                        "data",
                        format!("value {v} at sample {i} does not fit 16 bits at scale {scale}"),
                    ));
                }
                q.push(k as i16);
            }
            write_typed::<GrayI16, W>(out, path, r, &q, "-32768", Some((scale, offset)))
        }
        Storage::U8 { scale, offset } => {
            if !(scale > 0.0 && scale.is_finite() && offset.is_finite()) {
                return Err(invalid(path, "scale", format!("{scale} (offset {offset})")));
            }
            let bytes: Vec<u8> = r
                .data
                .iter()
                .map(|v| {
                    if v.is_nan() {
                        255
                    } else {
                        ((f64::from(*v) - offset) / scale).round().clamp(0.0, 254.0) as u8
                    }
                })
                .collect();
            write_typed::<Gray8, W>(out, path, r, &bytes, "255", Some((scale, offset)))
        }
    }
}

fn write_typed<C, W: std::io::Write + std::io::Seek>(
    out: &mut W,
    path: &Path,
    r: &Raster,
    data: &[C::Inner],
    nodata: &str,
    scaling: Option<(f64, f64)>,
) -> Result<(), MapError>
where
    C: tiff::encoder::colortype::ColorType,
    [C::Inner]: tiff::encoder::TiffValue,
{
    use tiff::encoder::{Compression, TiffEncoder};
    let mut enc = TiffEncoder::new(out)
        .map_err(|e| tiff_err(path, e))?
        .with_compression(Compression::Deflate(Default::default()));
    if scaling.is_some() {
        // Integers: horizontal differencing before Deflate (GDAL's PREDICTOR=2); terrain
        // and images are smooth along rows, so differences compress far better.
        enc = enc.with_predictor(tiff::tags::Predictor::Horizontal);
    }
    let (w, h) = (
        u32::try_from(r.width).map_err(|_| invalid(path, "width", r.width))?,
        u32::try_from(r.height).map_err(|_| invalid(path, "height", r.height))?,
    );
    let mut img = enc.new_image::<C>(w, h).map_err(|e| tiff_err(path, e))?;
    let g = &r.transform.0;
    let dir = img.encoder();
    let err = |e| tiff_err(path, e);
    if g[2] == 0.0 && g[4] == 0.0 {
        dir.write_tag(Tag::Unknown(MODEL_PIXEL_SCALE), &[g[1], -g[5], 0.0][..])
            .map_err(err)?;
        dir.write_tag(
            Tag::Unknown(MODEL_TIEPOINT),
            &[0.0, 0.0, 0.0, g[0], g[3], 0.0][..],
        )
        .map_err(err)?;
    } else {
        let m = [
            g[1], g[2], 0.0, g[0], g[4], g[5], 0.0, g[3], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0,
        ];
        dir.write_tag(Tag::Unknown(MODEL_TRANSFORMATION), &m[..])
            .map_err(err)?;
    }
    let (keys, doubles) = geokeys_for(&r.crs);
    dir.write_tag(Tag::Unknown(GEO_KEY_DIRECTORY), &keys[..])
        .map_err(err)?;
    dir.write_tag(Tag::Unknown(GEO_DOUBLE_PARAMS), &doubles[..])
        .map_err(err)?;
    dir.write_tag(Tag::Unknown(GDAL_NODATA), nodata)
        .map_err(err)?;
    if let Some((scale, offset)) = scaling {
        let xml = format!(
            "<GDALMetadata>\n  <Item name=\"OFFSET\" sample=\"0\" role=\"offset\">{offset:?}</Item>\n  \
             <Item name=\"SCALE\" sample=\"0\" role=\"scale\">{scale:?}</Item>\n</GDALMetadata>\n"
        );
        dir.write_tag(Tag::Unknown(GDAL_METADATA), &xml[..])
            .map_err(err)?;
    }
    img.write_data(data).map_err(err)?;
    Ok(())
}

/// The GeoKeys of a user-defined projected CRS in metres whose transformation is `ct`.
fn projected(ct: u16) -> [(u16, u16); 5] {
    [
        (GT_MODEL_TYPE, MODEL_PROJECTED),
        (PROJECTED_CS_TYPE, USER_DEFINED),
        (3074, USER_DEFINED),
        (PROJ_COORD_TRANS, ct),
        (PROJ_LINEAR_UNITS, LINEAR_METRE),
    ]
}

/// The GeoKey directory and double parameters describing `crs`.
fn geokeys_for(crs: &Crs) -> (Vec<u16>, Vec<f64>) {
    let mut shorts: Vec<(u16, u16)> = vec![(GT_RASTER_TYPE, 1)];
    let mut dbl: Vec<(u16, f64)> = vec![
        (GEOG_SEMI_MAJOR, crs.radius_m()),
        (GEOG_SEMI_MINOR, crs.radius_m()),
    ];
    // User-defined geographic CRS, datum and ellipsoid; degrees; prime meridian Greenwich.
    shorts.extend([
        (2048, USER_DEFINED),
        (2050, USER_DEFINED),
        (2054, 9102),
        (2056, USER_DEFINED),
    ]);
    match *crs {
        Crs::Geographic { .. } => shorts.push((GT_MODEL_TYPE, MODEL_GEOGRAPHIC)),
        Crs::Equirectangular {
            lat_ts_deg,
            lon0_deg,
            false_easting,
            false_northing,
            ..
        } => {
            shorts.extend(projected(CT_EQUIRECTANGULAR));
            dbl.extend([
                (PROJ_STD_PARALLEL1, lat_ts_deg),
                (PROJ_FALSE_EASTING, false_easting),
                (PROJ_FALSE_NORTHING, false_northing),
                (PROJ_CENTER_LONG, lon0_deg),
            ]);
        }
        Crs::PolarStereographic {
            south,
            scale,
            lon0_deg,
            false_easting,
            false_northing,
            ..
        } => {
            shorts.extend(projected(CT_POLAR_STEREOGRAPHIC));
            dbl.extend([
                (PROJ_NAT_ORIGIN_LAT, if south { -90.0 } else { 90.0 }),
                (PROJ_FALSE_EASTING, false_easting),
                (PROJ_FALSE_NORTHING, false_northing),
                (PROJ_SCALE_AT_NAT_ORIGIN, scale),
                (PROJ_STRAIGHT_VERT_POLE_LONG, lon0_deg),
            ]);
        }
    }
    // Keys must be sorted by id.
    let mut all: Vec<(u16, u16, u16, u16)> = shorts.iter().map(|&(k, v)| (k, 0, 1, v)).collect();
    let mut doubles = Vec::new();
    for (k, v) in dbl {
        all.push((k, GEO_DOUBLE_PARAMS, 1, doubles.len() as u16));
        doubles.push(v);
    }
    all.sort_by_key(|e| e.0);
    let mut dir = vec![1, 1, 0, all.len() as u16];
    for (a, b, c, d) in all {
        dir.extend([a, b, c, d]);
    }
    (dir, doubles)
}
