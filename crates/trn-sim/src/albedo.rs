//! A real orbital image draped over a site as its albedo, so that descent frames carry the
//! texture statistics of the lunar surface rather than the synthetic albedo's.
//!
//! The image is read from a GeoTIFF (or any raster trn-map reads), a plain ISIS3 cube (one
//! band, `Tile` or `BandSequential`, `Real`, `SignedWord` or `UnsignedByte`; special pixels
//! become no data) or a PNG/PGM/TIFF frame image with its pixel size stated. It is placed
//! with its centre on the site's centre, north up, and repeated by mirror tiling (each copy
//! the mirror image of its neighbour, so no seams) over a site larger than it. On a site grid
//! coarser than the image it is block-averaged first. It is normalised to a mean of 1, as
//! the synthetic albedo is, clipped to 0..2 (the range `albedo.tif` stores), and pixels
//! without data take the mean.

use crate::error::SimError;
use std::path::Path;

/// An image to drape as albedo.
#[derive(Clone, Debug, PartialEq)]
pub struct AlbedoImage {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Row-major values, row 0 north; NaN where there is no data.
    pub data: Vec<f32>,
    /// Pixel size on the ground, metres.
    pub pixel_m: f64,
    /// Where it came from (the file), for `site.json`.
    pub source: String,
}

fn bad(path: &Path, field: &str, detail: impl Into<String>) -> SimError {
    SimError::invalid_file(path, field, detail)
}

/// Reads `path` as an albedo image; `pixel_m` states its pixel size (required for cubes and
/// frame images; for a GeoTIFF in a projected CRS it overrides the file's).
///
/// # Errors
///
/// an I/O [`SimError::Dataset`] when the file cannot be read; an invalid-field one naming the
/// file when its format is not one of those above, when no pixel size is known or it is not
/// positive, or when it has fewer than 2 x 2 pixels with data.
pub fn read_albedo(path: &Path, pixel_m: Option<f64>) -> Result<AlbedoImage, SimError> {
    let mut head = [0u8; 32];
    {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| SimError::io(path, e))?;
        let _ = f.read(&mut head).map_err(|e| SimError::io(path, e))?;
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let need_pixel = |p: Option<f64>| {
        p.ok_or_else(|| {
            bad(
                path,
                "--albedo-pixel-m",
                "this image carries no pixel size: state it with --albedo-pixel-m",
            )
        })
    };
    let (width, height, data, file_pixel) =
        if head.starts_with(b"Object = IsisCube") || head.starts_with(b"Object=IsisCube") {
            let (w, h, d) = read_isis_cube(path)?;
            (w, h, d, None)
        } else if matches!(&head[..4], b"II*\0" | b"MM\0*" | b"II+\0" | b"MM\0+")
            && !matches!(ext.as_str(), "png" | "pgm")
        {
            match trn_map::io::read_raster(path) {
                Ok(r) => {
                    let px = match r.crs {
                        trn_map::Crs::Geographic { .. } => None,
                        _ => Some(r.transform.0[1].abs()),
                    };
                    (r.width, r.height, r.data, px)
                }
                // A TIFF without georeferencing: a frame image.
                Err(_) => {
                    let f = trn_dataset::image::read_frame(path)?;
                    (f.width, f.height, f.pixels, None)
                }
            }
        } else {
            let f = trn_dataset::image::read_frame(path)?;
            (f.width, f.height, f.pixels, None)
        };
    let pixel_m = need_pixel(pixel_m.or(file_pixel))?;
    if !(pixel_m > 0.0 && pixel_m.is_finite()) {
        return Err(bad(
            path,
            "--albedo-pixel-m",
            format!("{pixel_m} (positive metres)"),
        ));
    }
    if width < 2 || height < 2 || data.iter().filter(|v| v.is_finite()).count() < 4 {
        return Err(bad(path, "image", "fewer than 2 x 2 pixels with data"));
    }
    Ok(AlbedoImage {
        width,
        height,
        data,
        pixel_m,
        source: path.display().to_string(),
    })
}

/// The value of `key` in an ISIS label (`Key = value`), first occurrence.
fn label_value<'a>(label: &'a str, key: &str) -> Option<&'a str> {
    label.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"'))
    })
}

/// Reads band 1 of a plain ISIS3 cube: (columns, rows, values with special pixels NaN).
fn read_isis_cube(path: &Path) -> Result<(usize, usize, Vec<f32>), SimError> {
    let bytes = std::fs::read(path).map_err(|e| SimError::io(path, e))?;
    let end = bytes
        .windows(10)
        .position(|w| w == b"End_Object")
        .map_or(bytes.len().min(65536), |p| p + 10);
    let label = String::from_utf8_lossy(&bytes[..end.min(bytes.len())]);
    let num = |key: &str| -> Result<usize, SimError> {
        label_value(&label, key)
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or_else(|| bad(path, key, "missing or not a whole number in the cube label"))
    };
    let (w, h) = (num("Samples")?, num("Lines")?);
    let start = num("StartByte")?.saturating_sub(1);
    let format = label_value(&label, "Format").unwrap_or("Tile");
    let kind = label_value(&label, "Type").unwrap_or("Real");
    let msb = label_value(&label, "ByteOrder") == Some("Msb");
    let base: f64 = label_value(&label, "Base")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let mult: f64 = label_value(&label, "Multiplier")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let size = match kind {
        "Real" => 4,
        "SignedWord" => 2,
        "UnsignedByte" => 1,
        k => {
            return Err(bad(
                path,
                "Type",
                format!("'{k}' (Real, SignedWord or UnsignedByte)"),
            ));
        }
    };
    let value = |at: usize| -> Option<f32> {
        let b = bytes.get(at..at + size)?;
        let v = match size {
            4 => {
                let a = [b[0], b[1], b[2], b[3]];
                let v = if msb {
                    f32::from_be_bytes(a)
                } else {
                    f32::from_le_bytes(a)
                };
                // ISIS special pixels are the most negative floats (and +-infinities).
                if !v.is_finite() || v.abs() > 1e37 {
                    return Some(f32::NAN);
                }
                f64::from(v)
            }
            2 => {
                let a = [b[0], b[1]];
                let v = if msb {
                    i16::from_be_bytes(a)
                } else {
                    i16::from_le_bytes(a)
                };
                if v <= -32764 {
                    return Some(f32::NAN);
                }
                f64::from(v)
            }
            _ => {
                if b[0] == 0 || b[0] == 255 {
                    return Some(f32::NAN);
                }
                f64::from(b[0])
            }
        };
        Some((base + mult * v) as f32)
    };
    let (tw, th) = match format {
        "Tile" => (num("TileSamples")?, num("TileLines")?),
        "BandSequential" => (w, h),
        f => {
            return Err(bad(
                path,
                "Format",
                format!("'{f}' (Tile or BandSequential)"),
            ));
        }
    };
    if tw == 0 || th == 0 {
        return Err(bad(path, "TileSamples", "zero"));
    }
    let tiles_across = w.div_ceil(tw);
    let mut data = vec![f32::NAN; w * h];
    for r in 0..h {
        for c in 0..w {
            let tile = (r / th) * tiles_across + c / tw;
            let within = (r % th) * tw + c % tw;
            let at = start + (tile * tw * th + within) * size;
            data[r * w + c] = value(at).ok_or_else(|| {
                bad(
                    path,
                    "Core",
                    format!("the file ends before pixel ({c}, {r})"),
                )
            })?;
        }
    }
    Ok((w, h, data))
}

/// Mirror tiling: `x` folded into `0..=n-1`.
fn mirror(x: f64, n: usize) -> f64 {
    let last = (n - 1) as f64;
    if last <= 0.0 {
        return 0.0;
    }
    let m = x.rem_euclid(2.0 * last);
    if m > last { 2.0 * last - m } else { m }
}

impl AlbedoImage {
    /// The image block-averaged by `k` (whole blocks; no data left out), its pixel `k` times
    /// larger.
    fn reduced(&self, k: usize) -> Self {
        if k <= 1 {
            return self.clone();
        }
        let (w, h) = ((self.width / k).max(2), (self.height / k).max(2));
        let mut data = vec![f32::NAN; w * h];
        for (i, v) in data.iter_mut().enumerate() {
            let (bc, br) = (i % w, i / w);
            let (mut s, mut n) = (0.0f64, 0usize);
            for r in br * k..((br + 1) * k).min(self.height) {
                for c in bc * k..((bc + 1) * k).min(self.width) {
                    let x = self.data[r * self.width + c];
                    if x.is_finite() {
                        s += f64::from(x);
                        n += 1;
                    }
                }
            }
            if n > 0 {
                *v = (s / n as f64) as f32;
            }
        }
        Self {
            width: w,
            height: h,
            data,
            pixel_m: self.pixel_m * k as f64,
            source: self.source.clone(),
        }
    }

    /// The albedo of a `n x n` grid of spacing `gsd_m` centred on the image's centre, row 0
    /// north: bilinear in the (block-averaged) image, mirror-tiled, normalised to mean 1 and
    /// clipped to 0..2.
    #[must_use]
    pub fn drape(&self, n: usize, gsd_m: f64) -> Vec<f32> {
        let img = self.reduced((gsd_m / self.pixel_m).floor() as usize);
        let finite: Vec<f64> = img
            .data
            .iter()
            .filter(|v| v.is_finite())
            .map(|v| f64::from(*v))
            .collect();
        let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
        let mean = if mean > 0.0 { mean } else { 1.0 };
        let (cw, ch) = (
            (img.width as f64 - 1.0) / 2.0,
            (img.height as f64 - 1.0) / 2.0,
        );
        let at = |c: usize, r: usize| {
            let v = img.data[r * img.width + c];
            if v.is_finite() { f64::from(v) } else { mean }
        };
        let half = (n as f64 - 1.0) / 2.0;
        (0..n * n)
            .map(|i| {
                let (x, y) = (
                    ((i % n) as f64 - half) * gsd_m,
                    (half - (i / n) as f64) * gsd_m,
                );
                let u = mirror(cw + x / img.pixel_m, img.width);
                let v = mirror(ch - y / img.pixel_m, img.height);
                let (c0, r0) = (u.floor() as usize, v.floor() as usize);
                let (c1, r1) = ((c0 + 1).min(img.width - 1), (r0 + 1).min(img.height - 1));
                let (fu, fv) = (u - c0 as f64, v - r0 as f64);
                let val = at(c0, r0) * (1.0 - fu) * (1.0 - fv)
                    + at(c1, r0) * fu * (1.0 - fv)
                    + at(c0, r1) * (1.0 - fu) * fv
                    + at(c1, r1) * fu * fv;
                (val / mean).clamp(0.0, 2.0) as f32
            })
            .collect()
    }
}
