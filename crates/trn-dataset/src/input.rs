//! Input files checked before they are read: regular files only (a device such as
//! `/dev/zero` would be read until memory runs out, a FIFO would block), text of a bounded
//! size with a UTF-8 byte-order mark accepted, and paths named in a dataset kept inside it.

use crate::error::DatasetError;
use std::path::{Component, Path, PathBuf};

/// The most bytes `dataset.json` (or `campaign.json`) may have.
pub const MAX_JSON_BYTES: u64 = 16 << 20;

/// The most bytes `frames.csv` may have (a million frames of 250-byte rows).
pub const MAX_TABLE_BYTES: u64 = 256 << 20;

/// The length of the regular file at `path` (symbolic links followed).
///
/// # Errors
///
/// [`DatasetError::Io`] when it cannot be examined; [`DatasetError::Invalid`] naming it
/// when it is a directory, a device, a FIFO or a socket.
pub fn regular_file(path: &Path) -> Result<u64, DatasetError> {
    let meta = std::fs::metadata(path).map_err(|e| DatasetError::io(path, e))?;
    if !meta.is_file() {
        return Err(DatasetError::invalid_file(
            path,
            "file type",
            "not a regular file (a directory, device, FIFO or socket)",
        ));
    }
    Ok(meta.len())
}

/// The text of the regular file at `path`, at most `limit` bytes, a leading UTF-8
/// byte-order mark removed.
///
/// # Errors
///
/// As [`regular_file`]; [`DatasetError::Invalid`] naming the file when it is larger than
/// `limit`; [`DatasetError::Io`] when it cannot be read or is not UTF-8.
///
/// ```
/// let p = std::env::temp_dir().join(format!("trn-input-doc-{}.csv", std::process::id()));
/// std::fs::write(&p, "\u{feff}frame,t_s\n").unwrap();
/// assert_eq!(trn_dataset::input::read_text(&p, 1024).unwrap(), "frame,t_s\n");
/// assert!(trn_dataset::input::read_text(&p, 4).is_err());
/// assert!(trn_dataset::input::read_text(std::path::Path::new("/dev/zero"), 1024).is_err());
/// # std::fs::remove_file(&p).unwrap();
/// ```
pub fn read_text(path: &Path, limit: u64) -> Result<String, DatasetError> {
    use std::io::Read;
    regular_file(path)?;
    // The file opened is checked again and read no further than the limit: it may have
    // been replaced since.
    let io = |e| DatasetError::io(path, e);
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > limit {
        return Err(DatasetError::invalid_file(
            path,
            "size",
            format!("{len} bytes, more than the {limit} allowed"),
        ));
    }
    let mut text = String::new();
    file.take(limit.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > limit {
        return Err(DatasetError::invalid_file(
            path,
            "size",
            format!("more than the {limit} bytes allowed"),
        ));
    }
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// `rel`, a path named in `file`'s `field`, joined to `dir`: relative and without `..`
/// unless `allow_outside` (a dataset moved or copied keeps its files, and a dataset
/// received from elsewhere names nothing outside itself; symbolic links inside it are
/// followed, as its owner made them).
///
/// # Errors
///
/// [`DatasetError::Invalid`] naming `file` and `field` for an absolute path or one that
/// climbs out of `dir`.
pub fn inside(
    dir: &Path,
    rel: &str,
    file: &Path,
    field: &str,
    allow_outside: bool,
) -> Result<PathBuf, DatasetError> {
    let p = Path::new(rel);
    let escapes = p
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes && !allow_outside {
        return Err(DatasetError::invalid_file(
            file,
            field,
            format!(
                "'{rel}' is not inside the dataset (absolute, or through '..'); \
                 allow it with --allow-outside-paths"
            ),
        ));
    }
    Ok(dir.join(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_unless_allowed() {
        let (dir, file) = (Path::new("/data/ds"), Path::new("/data/ds/frames.csv"));
        assert_eq!(
            inside(dir, "images/f0.png", file, "image", false).unwrap(),
            Path::new("/data/ds/images/f0.png")
        );
        assert_eq!(
            inside(dir, "./map/dem.tif", file, "map.dem", false).unwrap(),
            Path::new("/data/ds/./map/dem.tif")
        );
        for bad in ["../other/f0.png", "/etc/passwd", "images/../../x.png"] {
            let e = inside(dir, bad, file, "image", false)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("frames.csv") && e.contains("image") && e.contains(bad),
                "{e}"
            );
            assert!(inside(dir, bad, file, "image", true).is_ok());
        }
    }

    #[test]
    fn only_regular_files_are_read() {
        for special in ["/dev/zero", "/dev/null", "/tmp"] {
            let e = regular_file(Path::new(special)).unwrap_err().to_string();
            assert!(
                e.contains(special) && e.contains("not a regular file"),
                "{e}"
            );
        }
    }
}
