//! Binary PGM (P5) frames: maxval below 256 gives one byte per sample, up to 65535 two
//! (big-endian); maxval is the sensor's full scale.

use super::FrameImage;
use crate::error::DatasetError;
use std::path::Path;

struct Header {
    width: usize,
    height: usize,
    maxval: u32,
    /// Byte offset of the first sample.
    data_at: usize,
}

/// Parses the header: `P5`, width, height and maxval as decimal tokens separated by white
/// space, `#` comments to the end of a line, then exactly one white-space byte.
fn header(path: &Path, bytes: &[u8]) -> Result<Header, DatasetError> {
    let bad = |d: String| DatasetError::invalid_file(path, "PGM header", d);
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
        while bytes.get(at).is_some_and(u8::is_ascii_digit) && at - start < 12 {
            at += 1;
        }
        let token = std::str::from_utf8(bytes.get(start..at).unwrap_or_default()).unwrap_or("");
        *v = token.parse().map_err(|_| {
            bad(format!(
                "{} is not a number",
                ["width", "height", "maxval"][k]
            ))
        })?;
    }
    if !bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        return Err(bad("no white space after maxval".into()));
    }
    let [width, height, maxval] = values;
    if width == 0 || height == 0 || maxval == 0 || maxval > 65535 {
        return Err(bad(format!(
            "{width} x {height}, maxval {maxval}: need a positive size and 1 <= maxval <= 65535"
        )));
    }
    Ok(Header {
        width: width as usize,
        height: height as usize,
        maxval: maxval as u32,
        data_at: at + 1,
    })
}

pub(super) fn size(path: &Path) -> Result<(usize, usize), DatasetError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .map_err(|e| DatasetError::io(path, e))?;
    let h = header(path, &head)?;
    Ok((h.width, h.height))
}

pub(super) fn read(path: &Path) -> Result<FrameImage, DatasetError> {
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    let h = header(path, &bytes)?;
    let n = h.width * h.height;
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
