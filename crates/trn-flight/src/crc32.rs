//! CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): the checksum of `.trnmap`
//! sections. One implementation shared by the writer (trn-map) and the flight parser.

// Runs at compile time only: an out-of-range index would fail the build, not the flight.
#[allow(clippy::indexing_slicing)]
const fn make_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static TABLE: [u32; 256] = make_table();

/// CRC-32 of `data`.
///
/// ```
/// assert_eq!(trn_flight::crc32::crc32(b"123456789"), 0xCBF4_3926);
/// ```
#[must_use]
pub fn crc32(data: &[u8]) -> u32 {
    crc32_continue(0, data)
}

/// Continues a CRC-32: `crc32_continue(crc32(a), b) == crc32(a ++ b)`.
#[must_use]
pub fn crc32_continue(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        // The index is masked to 0..=255, within the 256-entry table.
        let i = ((c ^ u32::from(b)) & 0xFF) as usize;
        c = TABLE.get(i).copied().unwrap_or(0) ^ (c >> 8);
    }
    !c
}
