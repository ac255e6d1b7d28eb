//! Any bytes into the flight map-database parser: it must return a typed error or a
//! database whose every accessor answers without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trn_flight::Vec3;
use trn_flight::crc32::{crc32, crc32_continue};
use trn_flight::mapdb::{ENTRY_LEN, HEADER_LEN, MapDb};

/// Rewrites every checksum the bytes declare (table and in-bounds sections), so that
/// mutations reach the structural checks behind the CRCs instead of dying at them.
fn with_fixed_crcs(data: &[u8]) -> Vec<u8> {
    let mut b = data.to_vec();
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let u64_at = |b: &[u8], at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
    };
    let n = u32_at(&b, 12).unwrap_or(0).min(16) as usize;
    for i in 0..n {
        let e = HEADER_LEN + i * ENTRY_LEN;
        let (Some(off), Some(len)) = (u64_at(&b, e + 8), u64_at(&b, e + 16)) else {
            break;
        };
        let (off, len) = (off as usize, len as usize);
        if let Some(payload) = off.checked_add(len).and_then(|end| b.get(off..end)) {
            let c = crc32(payload);
            b[e + 4..e + 8].copy_from_slice(&c.to_le_bytes());
        }
    }
    let table_end = HEADER_LEN + n * ENTRY_LEN;
    if b.len() >= table_end {
        let c = crc32_continue(crc32(&b[..24]), &b[HEADER_LEN..table_end]);
        b[24..28].copy_from_slice(&c.to_le_bytes());
    }
    b
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    exercise(&with_fixed_crcs(data));
});

fn exercise(data: &[u8]) {
    let Ok(db) = MapDb::parse(data) else {
        return;
    };
    let _ = db.site();
    for g in [db.dem(), db.overview()].into_iter().flatten() {
        let (w, h) = (g.grid.width, g.grid.height);
        for (c, r) in [(0, 0), (w - 1, h - 1), (w / 2, h / 2), (w, h)] {
            let _ = g.value(c, r);
        }
        if let Ok(hf) = g.heightfield() {
            let gr = *hf.grid();
            let mid = Vec3::new(gr.x0 + gr.dx * (w as f64) / 2.0, gr.y0, 100.0);
            let _ = hf.altitude(mid);
            let _ = hf.ray_cast(
                mid + Vec3::new(0.0, 0.0, 1000.0),
                Vec3::new(0.1, 0.0, -1.0),
                5000.0,
            );
        }
    }
    if let Some(l) = db.landmarks() {
        let mut buf = [0.0f32; 63 * 63];
        for lm in l.iter() {
            for level in 0..=l.levels() {
                let _ = lm.template_into(level, &mut buf);
            }
        }
        let _ = l.get(l.len());
    }
}
