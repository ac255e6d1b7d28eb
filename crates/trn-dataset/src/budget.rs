//! The memory a run may use, and the check of a run's estimate against it before anything
//! large is allocated: a size declared in a file or on the command line (a camera of
//! 60000 x 60000 pixels, a site of 40 km at 2 m) is refused with the estimate and the
//! limit, instead of aborting on a failed allocation minutes later.

use crate::error::DatasetError;

/// Bytes in a gibibyte.
pub const GIB: f64 = (1u64 << 30) as f64;

/// What a run holds whatever its inputs (the program, its tables and thread stacks), bytes:
/// the fixed part of every estimate.
pub const BASE_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// The default limit: three quarters of the machine's physical memory (`MemTotal` of
/// `/proc/meminfo`), or 8 GiB where that cannot be read.
#[must_use]
pub fn default_limit_bytes() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(8.0 * GIB, |kib| 0.75 * kib * 1024.0)
}

/// The limit in bytes for a `--max-memory-gb` value (`None`: [`default_limit_bytes`]).
///
/// # Errors
///
/// [`DatasetError::Invalid`] naming `--max-memory-gb` for a value that is not positive.
pub fn limit_bytes(max_memory_gb: Option<f64>) -> Result<f64, DatasetError> {
    match max_memory_gb {
        None => Ok(default_limit_bytes()),
        Some(g) if g > 0.0 && g.is_finite() => Ok(g * GIB),
        Some(g) => Err(DatasetError::invalid(
            "--max-memory-gb",
            format!("{g} (a positive number of GiB)"),
        )),
    }
}

/// Checks that `estimate_bytes`, what `what` would need, fits in `limit_bytes`.
///
/// # Errors
///
/// [`DatasetError::Invalid`] naming `what`, the estimate and the limit when it does not (or
/// is not finite).
///
/// ```
/// use trn_dataset::budget::{GIB, check};
/// assert!(check("a 1024 x 1024 camera", 0.1 * GIB, 8.0 * GIB).is_ok());
/// let e = check("a 60000 x 60000 camera", 115.0 * GIB, 8.0 * GIB).unwrap_err();
/// assert!(e.to_string().contains("60000 x 60000"));
/// ```
pub fn check(what: &str, estimate_bytes: f64, limit_bytes: f64) -> Result<(), DatasetError> {
    if estimate_bytes.is_finite() && estimate_bytes <= limit_bytes {
        return Ok(());
    }
    Err(DatasetError::invalid(
        "memory",
        format!(
            "{what} needs about {:.1} GiB, more than the {:.1} GiB allowed \
             (--max-memory-gb; by default three quarters of this machine's memory)",
            estimate_bytes / GIB,
            limit_bytes / GIB
        ),
    ))
}
