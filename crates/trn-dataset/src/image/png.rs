//! PNG frames: 8- or 16-bit grey, the sBIT chunk giving a sensor's significant bits.

use super::FrameImage;
use crate::error::DatasetError;
use std::path::Path;

/// Writes an 8-bit (`bits <= 8`) or 16-bit grayscale PNG; for 8 < `bits` < 16 an sBIT chunk
/// records the sensor's significant bits (values are not rescaled).
///
/// # Errors
///
/// [`DatasetError::Write`] naming the file.
pub fn write_png(
    path: &Path,
    width: usize,
    height: usize,
    bits: u32,
    pixels: &[u16],
) -> Result<(), DatasetError> {
    let io = |e: std::io::Error| DatasetError::write(path, e);
    let enc_err =
        |e: png::EncodingError| DatasetError::write(path, std::io::Error::other(e.to_string()));
    let file = std::fs::File::create(path).map_err(io)?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
    enc.set_color(png::ColorType::Grayscale);
    let data: Vec<u8> = if bits <= 8 {
        enc.set_depth(png::BitDepth::Eight);
        pixels.iter().map(|p| (*p).min(255) as u8).collect()
    } else {
        enc.set_depth(png::BitDepth::Sixteen);
        pixels.iter().flat_map(|p| p.to_be_bytes()).collect()
    };
    enc.set_compression(png::Compression::Best);
    let mut w = enc.write_header().map_err(enc_err)?;
    if bits > 8 && bits < 16 {
        // A 12-bit sensor's values are not scaled to 16 bits, and a reader needs the
        // sensor's full scale to tell dark from dim.
        w.write_chunk(png::chunk::sBIT, &[bits as u8])
            .map_err(enc_err)?;
    }
    w.write_image_data(&data).map_err(enc_err)?;
    w.finish().map_err(enc_err)
}

/// Writes an 8-bit RGB PNG (report plots) through a temporary name and a rename.
///
/// # Errors
///
/// [`DatasetError::Write`] naming the file; [`DatasetError::Invalid`] when `rgb` is not
/// `3 * width * height` bytes.
pub fn write_rgb_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<(), DatasetError> {
    if rgb.len() != 3 * width as usize * height as usize {
        return Err(DatasetError::invalid_file(
            path,
            "RGB data",
            format!("{} bytes for {width} x {height}", rgb.len()),
        ));
    }
    let enc_err =
        |e: png::EncodingError| DatasetError::write(path, std::io::Error::other(e.to_string()));
    crate::atomic::write_atomic_with(path, |w| {
        let mut enc = png::Encoder::new(w, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().map_err(enc_err)?;
        wr.write_image_data(rgb).map_err(enc_err)?;
        wr.finish().map_err(enc_err)
    })
}

fn bad(path: &Path, e: impl std::fmt::Display) -> DatasetError {
    DatasetError::invalid_file(path, "PNG", e.to_string())
}

pub(super) fn size(path: &Path) -> Result<(usize, usize), DatasetError> {
    let f = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let r = png::Decoder::new(std::io::BufReader::new(f))
        .read_info()
        .map_err(|e| bad(path, e))?;
    let i = r.info();
    Ok((i.width as usize, i.height as usize))
}

pub(super) fn read(path: &Path) -> Result<FrameImage, DatasetError> {
    let f = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let mut dec = png::Decoder::new(std::io::BufReader::new(f));
    dec.set_transformations(png::Transformations::IDENTITY);
    let mut r = dec.read_info().map_err(|e| bad(path, e))?;
    let (w, h, color, depth, sbit) = {
        let i = r.info();
        (
            i.width as usize,
            i.height as usize,
            i.color_type,
            i.bit_depth,
            i.sbit.as_ref().and_then(|b| b.first().copied()),
        )
    };
    if color != png::ColorType::Grayscale {
        return Err(DatasetError::invalid_file(
            path,
            "PNG colour type",
            format!("{color:?}, expected grayscale"),
        ));
    }
    let mut buf = vec![0u8; r.output_buffer_size()];
    r.next_frame(&mut buf).map_err(|e| bad(path, e))?;
    let pixels: Vec<f32> = match depth {
        png::BitDepth::Eight => buf.iter().take(w * h).map(|v| f32::from(*v)).collect(),
        png::BitDepth::Sixteen => buf
            .chunks_exact(2)
            .take(w * h)
            .map(|c| f32::from(u16::from_be_bytes([c[0], c[1]])))
            .collect(),
        other => {
            return Err(DatasetError::invalid_file(
                path,
                "PNG bit depth",
                format!("{other:?}, expected 8 or 16"),
            ));
        }
    };
    if pixels.len() != w * h {
        return Err(bad(path, "truncated image data"));
    }
    let bits = match (sbit, depth) {
        (Some(b), _) => u32::from(b),
        (None, png::BitDepth::Eight) => 8,
        (None, _) => 16,
    };
    Ok(FrameImage {
        width: w,
        height: h,
        pixels,
        full_scale: ((1u32 << bits.min(16)) - 1) as f32,
    })
}
