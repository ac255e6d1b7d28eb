//! Frame images: one reader, [`read_frame`], for every format DATASET.md allows (PNG 8/16-bit
//! with sBIT, TIFF 8/16-bit unsigned or 32-bit float, binary PGM 8/16-bit), told apart by
//! their first bytes rather than their names, and the PNG writer the simulator uses.
//!
//! A frame comes back as f32 digital numbers with the sensor's full scale: what "dark"
//! means for a frame depends on it (a 12-bit sensor's frame stored in a 16-bit PNG reads
//! 0-4095, not 0-65535).

mod pgm;
mod png;
mod tiff;

pub use self::png::{write_png, write_rgb_png};

use crate::error::DatasetError;
use std::path::Path;

/// A single-band frame as f32 digital numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameImage {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width * height` samples, row-major.
    pub pixels: Vec<f32>,
    /// The sensor's full-scale digital number: `2^b - 1` for the `b` significant bits of a
    /// PNG's sBIT chunk, else of the file's bit depth (255, 65535), a PGM's maxval, and
    /// for 32-bit float TIFFs (which carry no sensor scale) the largest finite sample.
    pub full_scale: f32,
}

/// The image formats [`read_frame`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameFormat {
    /// PNG, 8- or 16-bit grey.
    Png,
    /// TIFF, one band of 8/16-bit unsigned or 32-bit float samples.
    Tiff,
    /// Binary PGM (P5), 8- or 16-bit.
    Pgm,
}

/// The format of the file at `path`, from its first bytes.
///
/// # Errors
///
/// [`DatasetError::Io`] when it cannot be read; [`DatasetError::Invalid`] naming the file
/// when it is none of the formats above.
pub fn frame_format(path: &Path) -> Result<FrameFormat, DatasetError> {
    use std::io::Read;
    let mut head = [0u8; 8];
    crate::input::regular_file(path)?;
    let mut f = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let n = f.read(&mut head).map_err(|e| DatasetError::io(path, e))?;
    let head = head.get(..n).unwrap_or_default();
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(FrameFormat::Png)
    } else if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        Ok(FrameFormat::Tiff)
    } else if head.starts_with(b"P5") {
        Ok(FrameFormat::Pgm)
    } else {
        Err(DatasetError::invalid_file(
            path,
            "image format",
            "not a PNG, TIFF or binary PGM (P5) file",
        ))
    }
}

/// Reads a grey frame in any of the [`FrameFormat`]s.
///
/// # Errors
///
/// [`DatasetError::Io`] when it cannot be read; [`DatasetError::Invalid`] naming the file
/// and what is wrong (colour images, unsupported bit depths, truncated data).
///
/// ```
/// use trn_dataset::image::{read_frame, write_png};
/// let path = std::env::temp_dir().join(format!("trn-frame-doc-{}.png", std::process::id()));
/// write_png(&path, 3, 2, 12, &[0, 1, 2, 3, 4, 4095]).unwrap();
/// let f = read_frame(&path).unwrap();
/// assert_eq!((f.width, f.height, f.full_scale), (3, 2, 4095.0));
/// assert_eq!(f.pixels, [0.0, 1.0, 2.0, 3.0, 4.0, 4095.0]);
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn read_frame(path: &Path) -> Result<FrameImage, DatasetError> {
    match frame_format(path)? {
        FrameFormat::Png => png::read(path),
        FrameFormat::Tiff => tiff::read(path),
        FrameFormat::Pgm => pgm::read(path),
    }
}

/// A frame's size (columns, rows) from its header alone.
///
/// # Errors
///
/// As [`read_frame`].
pub fn frame_size(path: &Path) -> Result<(usize, usize), DatasetError> {
    match frame_format(path)? {
        FrameFormat::Png => png::size(path),
        FrameFormat::Tiff => tiff::size(path),
        FrameFormat::Pgm => pgm::size(path),
    }
}
