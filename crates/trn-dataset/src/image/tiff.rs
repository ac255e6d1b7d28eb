//! TIFF frames: one band of 8- or 16-bit unsigned or 32-bit float samples.

use super::FrameImage;
use crate::error::DatasetError;
use std::path::Path;
use tiff::decoder::{Decoder, DecodingResult};

fn decoder(path: &Path) -> Result<Decoder<std::io::BufReader<std::fs::File>>, DatasetError> {
    let f = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
    Decoder::new(std::io::BufReader::new(f))
        .map_err(|e| DatasetError::invalid_file(path, "TIFF", e.to_string()))
}

pub(super) fn size(path: &Path) -> Result<(usize, usize), DatasetError> {
    let (w, h) = decoder(path)?
        .dimensions()
        .map_err(|e| DatasetError::invalid_file(path, "TIFF", e.to_string()))?;
    Ok((w as usize, h as usize))
}

pub(super) fn read(path: &Path) -> Result<FrameImage, DatasetError> {
    let mut dec = decoder(path)?;
    let bad = |field: &str, e: String| DatasetError::invalid_file(path, field, e);
    let (w, h) = dec.dimensions().map_err(|e| bad("TIFF", e.to_string()))?;
    let colour = dec.colortype().map_err(|e| bad("TIFF", e.to_string()))?;
    if !matches!(
        colour,
        tiff::ColorType::Gray(8) | tiff::ColorType::Gray(16) | tiff::ColorType::Gray(32)
    ) {
        return Err(bad(
            "TIFF colour type",
            format!("{colour:?}, expected one band of 8/16-bit unsigned or 32-bit float"),
        ));
    }
    let (pixels, full_scale) = match dec.read_image().map_err(|e| bad("TIFF", e.to_string()))? {
        DecodingResult::U8(v) => (v.into_iter().map(f32::from).collect(), 255.0),
        DecodingResult::U16(v) => (v.into_iter().map(f32::from).collect(), 65535.0),
        DecodingResult::F32(v) => {
            let max = v
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .fold(0.0f32, f32::max);
            (v, if max > 0.0 { max } else { 1.0 })
        }
        _ => {
            return Err(bad(
                "TIFF sample format",
                "expected 8/16-bit unsigned or 32-bit float".into(),
            ));
        }
    };
    let (width, height) = (w as usize, h as usize);
    let pixels: Vec<f32> = pixels;
    if pixels.len() != width * height {
        return Err(bad(
            "TIFF",
            format!("{} samples for {width} x {height}", pixels.len()),
        ));
    }
    Ok(FrameImage {
        width,
        height,
        pixels,
        full_scale,
    })
}
