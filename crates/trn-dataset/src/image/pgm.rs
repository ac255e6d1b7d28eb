//! Binary PGM (P5) frames: maxval below 256 gives one byte per sample, up to 65535 two
//! (big-endian); maxval is the sensor's full scale.

use super::FrameImage;
use crate::error::DatasetError;
use std::path::Path;

struct Header {
    width: usize,
    height: usize,
    /// `width * height`.
    pixels: usize,
    maxval: u32,
    /// Byte offset of the first sample.
    data_at: usize,
}

/// Why a header could not be parsed from the bytes at hand.
enum HeaderError {
    /// The bytes end inside the header: read more.
    Truncated,
    /// The header is malformed.
    Bad(DatasetError),
}

impl From<DatasetError> for HeaderError {
    fn from(e: DatasetError) -> Self {
        Self::Bad(e)
    }
}

/// Parses the header: `P5`, width, height and maxval as decimal tokens separated by white
/// space, `#` comments to the end of a line, then exactly one white-space byte.
fn header(path: &Path, bytes: &[u8]) -> Result<Header, HeaderError> {
    let bad = |d: String| HeaderError::Bad(DatasetError::invalid_file(path, "PGM header", d));
    if !bytes.starts_with(b"P5") {
        return Err(bad("does not start with P5".into()));
    }
    let mut at = 2;
    let mut values = [0u64; 3];
    for (k, v) in values.iter_mut().enumerate() {
        loop {
            match bytes.get(at) {
                Some(b'#') => {
                    while bytes.get(at).is_some_and(|c| *c != b'\n') {
                        at += 1;
                    }
                }
                Some(c) if c.is_ascii_whitespace() => at += 1,
                _ => break,
            }
        }
        let start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let token = std::str::from_utf8(bytes.get(start..at).unwrap_or_default()).unwrap_or("");
        let name = ["width", "height", "maxval"][k];
        if token.is_empty() && at >= bytes.len() {
            return Err(HeaderError::Truncated);
        }
        *v = token
            .parse()
            .ok()
            .filter(|v| *v <= 1 << 31)
            .ok_or_else(|| bad(format!("{name} '{token}' is not a number up to 2^31")))?;
    }
    match bytes.get(at) {
        None => return Err(HeaderError::Truncated),
        Some(c) if !c.is_ascii_whitespace() => {
            return Err(bad("no white space after maxval".into()));
        }
        Some(_) => {}
    }
    let [width, height, maxval] = values;
    if width == 0 || height == 0 || maxval == 0 || maxval > 65535 {
        return Err(bad(format!(
            "{width} x {height}, maxval {maxval}: need a positive size and 1 <= maxval <= 65535"
        )));
    }
    let pixels = width
        .checked_mul(height)
        .filter(|n| *n <= 1 << 31)
        .ok_or_else(|| bad(format!("{width} x {height}: too many pixels")))?;
    Ok(Header {
        width: width as usize,
        height: height as usize,
        pixels: pixels as usize,
        maxval: maxval as u32,
        data_at: at + 1,
    })
}

/// The header of `bytes`, the whole file: a header that does not end is malformed.
fn whole_header(path: &Path, bytes: &[u8]) -> Result<Header, DatasetError> {
    header(path, bytes).map_err(|e| match e {
        HeaderError::Bad(d) => d,
        HeaderError::Truncated => {
            DatasetError::invalid_file(path, "PGM header", "the file ends inside the header")
        }
    })
}

pub(super) fn size(path: &Path) -> Result<(usize, usize), DatasetError> {
    use std::io::Read;
    // Headers are short; comments may make one longer than the first read.
    let mut f = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let n = f.read(&mut chunk).map_err(|e| DatasetError::io(path, e))?;
        head.extend_from_slice(chunk.get(..n).unwrap_or_default());
        match header(path, &head) {
            Ok(h) => return Ok((h.width, h.height)),
            Err(HeaderError::Truncated) if n > 0 => {}
            Err(_) => return whole_header(path, &head).map(|h| (h.width, h.height)),
        }
    }
}

pub(super) fn read(path: &Path) -> Result<FrameImage, DatasetError> {
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    let h = whole_header(path, &bytes)?;
    let n = h.pixels;
    let data = bytes.get(h.data_at..).unwrap_or_default();
    let pixels: Vec<f32> = if h.maxval < 256 {
        data.iter().take(n).map(|v| f32::from(*v)).collect()
    } else {
        data.chunks_exact(2)
            .take(n)
            .map(|c| f32::from(u16::from_be_bytes([c[0], c[1]])))
            .collect()
    };
    if pixels.len() != n {
        return Err(DatasetError::invalid_file(
            path,
            "PGM",
            format!(
                "truncated: {} of {n} samples for {} x {}",
                pixels.len(),
                h.width,
                h.height
            ),
        ));
    }
    Ok(FrameImage {
        width: h.width,
        height: h.height,
        pixels,
        full_scale: h.maxval as f32,
    })
}
