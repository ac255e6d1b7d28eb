//! The `.trnmap` database: trn-map writes, trn-flight's no_std parser reads in place.
//! Round trips, one test per corruption kind, and random corruption never panics.

use proptest::prelude::*;
use trn_flight::crc32::crc32;
use trn_flight::dem::{Grid, Heightfield};
use trn_flight::mapdb::{ENTRY_LEN, HEADER_LEN, MapDb, MapDbError, Site};
use trn_map::SiteDem;
use trn_map::mapdb::{MapContents, MapLandmark, to_bytes};

fn site() -> Site {
    Site {
        radius_m: 1_737_400.0,
        lat_deg: -85.3,
        lon_deg: 31.2,
        dem_sigma_m: 1.5,
        sun_az_deg: 135.0,
        sun_el_deg: 3.5,
        registration_sigma_m: 0.75,
    }
}

fn grid_dem(w: usize, h: usize, seed: u32) -> SiteDem {
    let grid = Grid {
        width: w,
        height: h,
        stride: w,
        x0: -100.0,
        y0: 80.0,
        dx: 20.0,
        dy: -20.0,
        radius: 1_737_400.0,
    };
    let data = (0..w * h)
        .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 - 500.0)
        .collect();
    SiteDem {
        grid,
        data,
        missing: 0,
    }
}

fn landmarks(n: usize, side: usize, levels: usize) -> Vec<MapLandmark> {
    (0..n)
        .map(|i| MapLandmark {
            id: 100 + i as u32,
            position: [i as f64 * 10.5, -3.25 * i as f64, 7.0],
            normal: [0.1, -0.2, 0.97],
            scale_m: 2.5,
            templates: (0..levels)
                .map(|l| {
                    (0..side * side)
                        .map(|k| (k * (l + 1) + i) as f32 * 0.5)
                        .collect()
                })
                .collect(),
        })
        .collect()
}

fn sample_db() -> (Vec<u8>, SiteDem, SiteDem, Vec<MapLandmark>) {
    let dem = grid_dem(13, 9, 1);
    let ov = grid_dem(7, 6, 2);
    let lms = landmarks(4, 11, 2);
    let bytes = to_bytes(&MapContents {
        site: site(),
        dem: Some(&dem),
        overview: Some(&ov),
        landmarks: &lms,
        template_side: 11,
    })
    .unwrap();
    (bytes, dem, ov, lms)
}

/// Recomputes every section CRC and the table CRC, so a test can reach the checks behind them.
fn fix_crcs(b: &mut [u8]) {
    let count = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
    for i in 0..count {
        let e = HEADER_LEN + i * ENTRY_LEN;
        let off = u64::from_le_bytes(b[e + 8..e + 16].try_into().unwrap()) as usize;
        let len = u64::from_le_bytes(b[e + 16..e + 24].try_into().unwrap()) as usize;
        let c = crc32(&b[off..off + len]);
        b[e + 4..e + 8].copy_from_slice(&c.to_le_bytes());
    }
    let mut head = b[..24].to_vec();
    head.extend_from_slice(&b[HEADER_LEN..HEADER_LEN + count * ENTRY_LEN]);
    let c = crc32(&head);
    b[24..28].copy_from_slice(&c.to_le_bytes());
}

fn section_offset(b: &[u8], kind: u32) -> (usize, usize) {
    let count = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
    (0..count)
        .map(|i| HEADER_LEN + i * ENTRY_LEN)
        .find(|e| u32::from_le_bytes(b[*e..*e + 4].try_into().unwrap()) == kind)
        .map(|e| {
            (
                u64::from_le_bytes(b[e + 8..e + 16].try_into().unwrap()) as usize,
                u64::from_le_bytes(b[e + 16..e + 24].try_into().unwrap()) as usize,
            )
        })
        .unwrap()
}

#[test]
fn round_trip_through_the_flight_parser() {
    let (bytes, dem, ov, lms) = sample_db();
    let db = MapDb::parse(&bytes).unwrap();
    assert_eq!(db.site(), Some(site()));
    let d = db.dem().unwrap();
    assert_eq!(
        (d.grid.width, d.grid.height, d.grid.dx, d.grid.radius),
        (13, 9, 20.0, 1_737_400.0)
    );
    for r in 0..9 {
        for c in 0..13 {
            assert_eq!(d.value(c, r), Some(dem.data[r * 13 + c]));
        }
    }
    // The in-place heightfield answers like one over the original f32s.
    let a = d.heightfield().unwrap();
    let b = Heightfield::new(&dem.data, dem.grid, None).unwrap();
    for (x, y) in [(-50.0, 10.0), (33.3, -44.4), (130.0, 70.0)] {
        assert_eq!(a.height_at(x, y), b.height_at(x, y));
    }
    assert_eq!(db.overview().unwrap().value(6, 5), Some(ov.data[5 * 7 + 6]));
    let l = db.landmarks().unwrap();
    assert_eq!((l.len(), l.template_side(), l.levels()), (4, 11, 2));
    let mut buf = [0.0f32; 121];
    for (got, want) in l.iter().zip(&lms) {
        assert_eq!(got.id, want.id);
        assert_eq!(got.position.to_array(), want.position);
        assert_eq!(got.scale_m, want.scale_m);
        assert!((got.normal.z - f64::from(want.normal[2])).abs() < 1e-7);
        for lvl in 0..2 {
            assert_eq!(got.template_into(lvl, &mut buf), Some(11));
            assert_eq!(&buf[..], &want.templates[lvl][..]);
        }
        assert_eq!(got.template_into(2, &mut buf), None);
        assert_eq!(got.template_into(0, &mut buf[..100]), None);
        // A cropped template is the central block of the whole one.
        let mut crop = [0.0f32; 49];
        assert_eq!(got.template_centre_into(1, 7, &mut crop), Some(7));
        for (i, row) in crop.chunks_exact(7).enumerate() {
            assert_eq!(row, &want.templates[1][(i + 2) * 11 + 2..(i + 2) * 11 + 9]);
        }
        assert_eq!(got.template_centre_into(0, 13, &mut buf), None);
        assert_eq!(got.template_centre_into(0, 8, &mut buf), None);
        assert_eq!(got.template_centre_into(0, 7, &mut crop[..40]), None);
    }
}

#[test]
fn each_corruption_kind_is_a_typed_error() {
    let (bytes, ..) = sample_db();
    // Truncated anywhere.
    for cut in [
        0,
        5,
        HEADER_LEN,
        HEADER_LEN + 10,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        assert_eq!(
            MapDb::parse(&bytes[..cut]).unwrap_err(),
            MapDbError::Truncated,
            "cut at {cut}"
        );
    }
    // Extra bytes.
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        MapDb::parse(&longer).unwrap_err(),
        MapDbError::LengthMismatch
    );
    // Bad magic, wrong version.
    let mut b = bytes.clone();
    b[0] = b'X';
    assert_eq!(MapDb::parse(&b).unwrap_err(), MapDbError::BadMagic);
    let mut b = bytes.clone();
    b[8] = 2;
    assert_eq!(
        MapDb::parse(&b).unwrap_err(),
        MapDbError::WrongVersion { found: 2 }
    );
    // A flipped bit in the section table.
    let mut b = bytes.clone();
    b[HEADER_LEN + 9] ^= 1;
    assert_eq!(MapDb::parse(&b).unwrap_err(), MapDbError::TableChecksum);
    // A flipped bit in each section's payload.
    for kind in 1..=4u32 {
        let (off, len) = section_offset(&bytes, kind);
        let mut b = bytes.clone();
        b[off + len / 2] ^= 0x10;
        assert_eq!(
            MapDb::parse(&b).unwrap_err(),
            MapDbError::SectionChecksum { kind }
        );
    }
    // A section pointing outside the file (CRCs made consistent).
    let mut b = bytes.clone();
    b[HEADER_LEN + ENTRY_LEN + 16..HEADER_LEN + ENTRY_LEN + 24]
        .copy_from_slice(&(1u64 << 40).to_le_bytes());
    fix_crcs_table_only(&mut b);
    assert_eq!(
        MapDb::parse(&b).unwrap_err(),
        MapDbError::SectionOutOfBounds { kind: 2 }
    );
    // The same kind twice.
    let mut b = bytes.clone();
    b[HEADER_LEN + ENTRY_LEN..HEADER_LEN + ENTRY_LEN + 4].copy_from_slice(&1u32.to_le_bytes());
    fix_crcs(&mut b);
    assert_eq!(
        MapDb::parse(&b).unwrap_err(),
        MapDbError::DuplicateSection { kind: 1 }
    );
    // Inconsistent content behind valid checksums: an even template side, a zero-size grid.
    let mut b = bytes.clone();
    let (off, _) = section_offset(&bytes, 4);
    b[off + 4..off + 8].copy_from_slice(&12u32.to_le_bytes());
    fix_crcs(&mut b);
    assert_eq!(
        MapDb::parse(&b).unwrap_err(),
        MapDbError::Malformed { kind: 4 }
    );
    let mut b = bytes.clone();
    let (off, _) = section_offset(&bytes, 2);
    b[off..off + 4].copy_from_slice(&0u32.to_le_bytes());
    fix_crcs(&mut b);
    assert_eq!(
        MapDb::parse(&b).unwrap_err(),
        MapDbError::Malformed { kind: 2 }
    );
    // Too many sections declared.
    let mut b = bytes.clone();
    b[12..16].copy_from_slice(&1000u32.to_le_bytes());
    assert_eq!(MapDb::parse(&b).unwrap_err(), MapDbError::TooManySections);
}

fn fix_crcs_table_only(b: &mut [u8]) {
    let count = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
    let mut head = b[..24].to_vec();
    head.extend_from_slice(&b[HEADER_LEN..HEADER_LEN + count * ENTRY_LEN]);
    let c = crc32(&head);
    b[24..28].copy_from_slice(&c.to_le_bytes());
}

#[test]
fn writer_refuses_inconsistent_contents() {
    let dem = grid_dem(5, 4, 0);
    let mut bad = landmarks(2, 5, 1);
    bad[1].id = bad[0].id;
    assert!(
        to_bytes(&MapContents {
            site: site(),
            dem: Some(&dem),
            overview: None,
            landmarks: &bad,
            template_side: 5
        })
        .is_err()
    );
    let lms = landmarks(2, 5, 1);
    assert!(
        to_bytes(&MapContents {
            site: site(),
            dem: None,
            overview: None,
            landmarks: &lms,
            template_side: 7
        })
        .is_err()
    );
    let mut short = grid_dem(5, 4, 0);
    short.data.pop();
    assert!(
        to_bytes(&MapContents {
            site: site(),
            dem: Some(&short),
            overview: None,
            landmarks: &[],
            template_side: 5
        })
        .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_databases_round_trip(w in 2usize..20, h in 2usize..20, n in 0usize..6, half in 1usize..6, levels in 1usize..4, seed in 0u32..1000) {
        let dem = grid_dem(w, h, seed);
        let side = 2 * half + 1;
        let lms = landmarks(n, side, levels);
        let bytes = to_bytes(&MapContents { site: site(), dem: Some(&dem), overview: None, landmarks: &lms, template_side: side }).unwrap();
        let db = MapDb::parse(&bytes).unwrap();
        let d = db.dem().unwrap();
        prop_assert_eq!(d.value(w - 1, h - 1), Some(dem.data[w * h - 1]));
        prop_assert_eq!(db.landmarks().map_or(0, |l| l.len()), n);
        prop_assert!(db.overview().is_none());
    }

    #[test]
    fn random_corruption_never_panics_and_never_changes_content(pos in 0usize..100_000, bit in 0u8..8) {
        let (bytes, dem, ..) = sample_db();
        let mut b = bytes.clone();
        let i = pos % b.len();
        b[i] ^= 1 << bit;
        if let Ok(db) = MapDb::parse(&b) {
            // Only alignment padding is outside the checksums.
            let d = db.dem().unwrap();
            prop_assert_eq!(d.value(3, 3), Some(dem.data[3 * 13 + 3]));
            prop_assert_eq!(db.site(), Some(site()));
        }
    }
}
