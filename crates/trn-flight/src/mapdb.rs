//! The `.trnmap` map database, parsed in place: every accessor reads the caller's byte
//! slice (little-endian), nothing is copied or allocated. The format is specified in the
//! repository's `docs/trnmap.md`; trn-map writes it.
//!
//! Validation happens once in [`MapDb::parse`]: magic, version, declared length, the CRC-32
//! of the header and section table, each section's bounds and CRC-32, duplicate sections,
//! and each known section's internal sizes. After that the accessors cannot fail on a
//! validated database (they still return `Option` rather than panic).

use crate::crc32::crc32;
use crate::dem::{DemError, Grid, Heightfield};
use crate::linalg::Vec3;
use core::fmt;

/// File magic.
pub const MAGIC: [u8; 8] = *b"TRNMAP\n\0";
/// The format version this parser reads.
pub const VERSION: u32 = 1;
/// Header size in bytes.
pub const HEADER_LEN: usize = 32;
/// Section table entry size in bytes.
pub const ENTRY_LEN: usize = 32;
/// Most sections a file may declare.
pub const MAX_SECTIONS: usize = 16;
/// Site section payload length without the registration sigma.
pub const SITE_LEN: usize = 48;
/// Site section payload length with the registration sigma.
pub const SITE_LEN_REGISTERED: usize = 56;
/// Grid header length of DEM and overview sections (before the samples).
pub const GRID_HEADER_LEN: usize = 40;
/// Landmarks section header length (before the records).
pub const LANDMARKS_HEADER_LEN: usize = 16;
/// Fixed part of a landmark record (before its template pixels).
pub const LANDMARK_FIXED_LEN: usize = 48;

/// Section kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum SectionKind {
    /// Body and site parameters.
    Site = 1,
    /// The coarse DEM for altitude and rangefinder prediction.
    Dem = 2,
    /// The overview render for coarse acquisition.
    Overview = 3,
    /// Landmarks with their templates.
    Landmarks = 4,
}

impl SectionKind {
    fn from_u32(v: u32) -> Option<Self> {
        match v {
            1 => Some(Self::Site),
            2 => Some(Self::Dem),
            3 => Some(Self::Overview),
            4 => Some(Self::Landmarks),
            _ => None,
        }
    }
}

/// Why a database was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapDbError {
    /// Fewer bytes than the header, the table or the declared file length need.
    Truncated,
    /// Not a `.trnmap` file.
    BadMagic,
    /// A version this parser does not read.
    WrongVersion {
        /// The version found.
        found: u32,
    },
    /// More sections than [`MAX_SECTIONS`].
    TooManySections,
    /// The header and section table fail their CRC-32.
    TableChecksum,
    /// A section lies outside the file.
    SectionOutOfBounds {
        /// Its kind number.
        kind: u32,
    },
    /// A section's payload fails its CRC-32.
    SectionChecksum {
        /// Its kind number.
        kind: u32,
    },
    /// A section kind appears twice.
    DuplicateSection {
        /// Its kind number.
        kind: u32,
    },
    /// A section's content is inconsistent (sizes, counts, values).
    Malformed {
        /// Its kind number.
        kind: u32,
    },
    /// The file has extra bytes after its declared length, or declares a different length.
    LengthMismatch,
}

impl fmt::Display for MapDbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("map database is truncated"),
            Self::BadMagic => f.write_str("not a trnmap file (bad magic)"),
            Self::WrongVersion { found } => {
                write!(f, "trnmap version {found}, this parser reads {VERSION}")
            }
            Self::TooManySections => write!(f, "more than {MAX_SECTIONS} sections"),
            Self::TableChecksum => f.write_str("header/section table checksum mismatch"),
            Self::SectionOutOfBounds { kind } => write!(f, "section {kind} lies outside the file"),
            Self::SectionChecksum { kind } => write!(f, "section {kind} checksum mismatch"),
            Self::DuplicateSection { kind } => write!(f, "section {kind} appears twice"),
            Self::Malformed { kind } => write!(f, "section {kind} is malformed"),
            Self::LengthMismatch => f.write_str("file length differs from the declared length"),
        }
    }
}

impl core::error::Error for MapDbError {}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([
        *s.first()?,
        *s.get(1)?,
        *s.get(2)?,
        *s.get(3)?,
    ]))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32_at(b, at)?) | (u64::from(u32_at(b, at.checked_add(4)?)?) << 32))
}

fn f64_at(b: &[u8], at: usize) -> Option<f64> {
    u64_at(b, at).map(f64::from_bits)
}

fn f32_at(b: &[u8], at: usize) -> Option<f32> {
    u32_at(b, at).map(f32::from_bits)
}

/// Body and site parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Site {
    /// Reference sphere radius, metres.
    pub radius_m: f64,
    /// Site latitude, degrees.
    pub lat_deg: f64,
    /// Site longitude, degrees.
    pub lon_deg: f64,
    /// 1-sigma vertical error of the DEM, metres.
    pub dem_sigma_m: f64,
    /// Sun azimuth of the renders (templates, overview), degrees.
    pub sun_az_deg: f64,
    /// Sun elevation of the renders, degrees.
    pub sun_el_deg: f64,
    /// 1-sigma of the map's registration error against the body, metres per horizontal
    /// axis (0 when the section does not state it).
    pub registration_sigma_m: f64,
}

/// A grid section (DEM or overview) in place.
#[derive(Clone, Copy, Debug)]
pub struct GridSection<'a> {
    /// Columns, rows and spacing (the radius is the site's).
    pub grid: Grid,
    samples: &'a [u8],
}

impl<'a> GridSection<'a> {
    /// Sample at `(col, row)` (NaN = no data); `None` outside the grid.
    #[must_use]
    pub fn value(&self, col: usize, row: usize) -> Option<f32> {
        if col >= self.grid.width || row >= self.grid.height {
            return None;
        }
        f32_at(self.samples, (row * self.grid.width + col) * 4)
    }

    /// The section as a heightfield over its bytes (no copy).
    ///
    /// # Errors
    ///
    /// As [`Heightfield::from_le_bytes`].
    pub fn heightfield(&self) -> Result<Heightfield<'a>, DemError> {
        Heightfield::from_le_bytes(self.samples, self.grid, None)
    }
}

/// The landmarks section in place.
#[derive(Clone, Copy, Debug)]
pub struct Landmarks<'a> {
    count: usize,
    side: usize,
    levels: usize,
    records: &'a [u8],
}

/// One landmark in place.
#[derive(Clone, Copy, Debug)]
pub struct Landmark<'a> {
    /// Identifier, unique in the database.
    pub id: u32,
    /// Site-frame position, metres.
    pub position: Vec3,
    /// Unit surface normal, site frame.
    pub normal: Vec3,
    /// Ground size of one level-0 template pixel, metres.
    pub scale_m: f32,
    side: usize,
    levels: usize,
    pixels: &'a [u8],
}

impl Landmarks<'_> {
    /// Number of landmarks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Template side, pixels.
    #[must_use]
    pub fn template_side(&self) -> usize {
        self.side
    }

    /// Pyramid levels per landmark.
    #[must_use]
    pub fn levels(&self) -> usize {
        self.levels
    }

    fn record_len(&self) -> usize {
        LANDMARK_FIXED_LEN + self.side * self.side * self.levels * 4
    }

    /// Landmark `i`.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<Landmark<'_>> {
        if i >= self.count {
            return None;
        }
        let len = self.record_len();
        let r = self.records.get(i * len..(i + 1) * len)?;
        let v3 = |at: usize| {
            Some(Vec3::new(
                f64_at(r, at)?,
                f64_at(r, at + 8)?,
                f64_at(r, at + 16)?,
            ))
        };
        let n3 = |at: usize| {
            Some(Vec3::new(
                f64::from(f32_at(r, at)?),
                f64::from(f32_at(r, at + 4)?),
                f64::from(f32_at(r, at + 8)?),
            ))
        };
        Some(Landmark {
            id: u32_at(r, 0)?,
            position: v3(8)?,
            normal: n3(32)?,
            scale_m: f32_at(r, 44)?,
            side: self.side,
            levels: self.levels,
            pixels: r.get(LANDMARK_FIXED_LEN..)?,
        })
    }

    /// All landmarks in order.
    pub fn iter(&self) -> impl Iterator<Item = Landmark<'_>> {
        (0..self.count).filter_map(move |i| self.get(i))
    }
}

impl Landmark<'_> {
    /// Copies the template of pyramid `level` into `out` (row-major, side x side) and returns
    /// the side; `None` for a missing level or a short buffer.
    pub fn template_into(&self, level: usize, out: &mut [f32]) -> Option<usize> {
        self.template_centre_into(level, self.side, out)
    }

    /// Copies the central `side` x `side` block of the template of pyramid `level` into
    /// `out` (row-major; a cropped template, centred on the landmark like the whole one) and
    /// returns `side`; `None` for a missing level, a short buffer, or a `side` that is even
    /// or larger than the template's.
    pub fn template_centre_into(
        &self,
        level: usize,
        side: usize,
        out: &mut [f32],
    ) -> Option<usize> {
        if level >= self.levels || side > self.side || side.is_multiple_of(2) {
            return None;
        }
        let n = self.side * self.side;
        let px = self.pixels.get(level * n * 4..(level + 1) * n * 4)?;
        let crop = (self.side - side) / 2;
        let out = out.get_mut(..side * side)?;
        for (i, row) in out.chunks_exact_mut(side).enumerate() {
            let start = ((i + crop) * self.side + crop) * 4;
            let src = px.get(start..start + side * 4)?;
            for (o, c) in row.iter_mut().zip(src.chunks_exact(4)) {
                *o = f32::from_le_bytes([*c.first()?, *c.get(1)?, *c.get(2)?, *c.get(3)?]);
            }
        }
        Some(side)
    }
}

/// A validated `.trnmap` database borrowing the caller's bytes.
#[derive(Clone, Copy, Debug)]
pub struct MapDb<'a> {
    site: Option<Site>,
    dem: Option<GridSection<'a>>,
    overview: Option<GridSection<'a>>,
    landmarks: Option<Landmarks<'a>>,
}

impl<'a> MapDb<'a> {
    /// Validates `bytes` and indexes its sections.
    ///
    /// # Errors
    ///
    /// Every [`MapDbError`]: the database is refused whole rather than partly trusted.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, MapDbError> {
        let header = bytes.get(..HEADER_LEN).ok_or(MapDbError::Truncated)?;
        if header.get(..8) != Some(&MAGIC[..]) {
            return Err(MapDbError::BadMagic);
        }
        let version = u32_at(header, 8).ok_or(MapDbError::Truncated)?;
        if version != VERSION {
            return Err(MapDbError::WrongVersion { found: version });
        }
        let count = u32_at(header, 12).ok_or(MapDbError::Truncated)? as usize;
        if count > MAX_SECTIONS {
            return Err(MapDbError::TooManySections);
        }
        let declared = u64_at(header, 16).ok_or(MapDbError::Truncated)?;
        if (bytes.len() as u64) < declared {
            return Err(MapDbError::Truncated);
        }
        if bytes.len() as u64 != declared {
            return Err(MapDbError::LengthMismatch);
        }
        let table_end = HEADER_LEN + count * ENTRY_LEN;
        let table = bytes
            .get(HEADER_LEN..table_end)
            .ok_or(MapDbError::Truncated)?;
        // The table CRC covers the header's first 24 bytes and the table.
        let stored = u32_at(header, 24).ok_or(MapDbError::Truncated)?;
        let mut c = Crc::new();
        c.update(header.get(..24).ok_or(MapDbError::Truncated)?);
        c.update(table);
        if c.finish() != stored {
            return Err(MapDbError::TableChecksum);
        }

        let mut db = Self {
            site: None,
            dem: None,
            overview: None,
            landmarks: None,
        };
        let mut seen = [0u32; MAX_SECTIONS];
        for (i, e) in table.chunks_exact(ENTRY_LEN).enumerate() {
            let kind = u32_at(e, 0).ok_or(MapDbError::Truncated)?;
            let crc = u32_at(e, 4).ok_or(MapDbError::Truncated)?;
            let off = u64_at(e, 8).ok_or(MapDbError::Truncated)?;
            let len = u64_at(e, 16).ok_or(MapDbError::Truncated)?;
            if seen.iter().take(i).any(|k| *k == kind) {
                return Err(MapDbError::DuplicateSection { kind });
            }
            if let Some(s) = seen.get_mut(i) {
                *s = kind;
            }
            let end = off
                .checked_add(len)
                .ok_or(MapDbError::SectionOutOfBounds { kind })?;
            if off < table_end as u64 || end > bytes.len() as u64 {
                return Err(MapDbError::SectionOutOfBounds { kind });
            }
            let payload = bytes
                .get(off as usize..end as usize)
                .ok_or(MapDbError::SectionOutOfBounds { kind })?;
            if crc32(payload) != crc {
                return Err(MapDbError::SectionChecksum { kind });
            }
            let bad = MapDbError::Malformed { kind };
            match SectionKind::from_u32(kind) {
                Some(SectionKind::Site) => db.site = Some(parse_site(payload).ok_or(bad)?),
                Some(SectionKind::Dem) => db.dem = Some(parse_grid(payload).ok_or(bad)?),
                Some(SectionKind::Overview) => db.overview = Some(parse_grid(payload).ok_or(bad)?),
                Some(SectionKind::Landmarks) => {
                    db.landmarks = Some(parse_landmarks(payload).ok_or(bad)?)
                }
                // Unknown kinds from a newer writer of the same version are skipped.
                None => {}
            }
        }
        // Grids take the site's sphere.
        let radius = db.site.map(|s| s.radius_m);
        for g in [&mut db.dem, &mut db.overview].into_iter().flatten() {
            g.grid.radius = radius.ok_or(MapDbError::Malformed {
                kind: SectionKind::Site as u32,
            })?;
        }
        Ok(db)
    }

    /// The site section.
    #[must_use]
    pub fn site(&self) -> Option<Site> {
        self.site
    }

    /// The coarse DEM.
    #[must_use]
    pub fn dem(&self) -> Option<GridSection<'a>> {
        self.dem
    }

    /// The overview render.
    #[must_use]
    pub fn overview(&self) -> Option<GridSection<'a>> {
        self.overview
    }

    /// The landmarks.
    #[must_use]
    pub fn landmarks(&self) -> Option<Landmarks<'a>> {
        self.landmarks
    }
}

/// Incremental CRC over several slices (same result as [`crc32`] of their concatenation).
struct Crc(u32);

impl Crc {
    fn new() -> Self {
        Self(0)
    }

    fn update(&mut self, data: &[u8]) {
        self.0 = crate::crc32::crc32_continue(self.0, data);
    }

    fn finish(&self) -> u32 {
        self.0
    }
}

fn parse_site(p: &[u8]) -> Option<Site> {
    let registration_sigma_m = match p.len() {
        SITE_LEN => 0.0,
        SITE_LEN_REGISTERED => f64_at(p, 48)?,
        _ => return None,
    };
    let s = Site {
        radius_m: f64_at(p, 0)?,
        lat_deg: f64_at(p, 8)?,
        lon_deg: f64_at(p, 16)?,
        dem_sigma_m: f64_at(p, 24)?,
        sun_az_deg: f64_at(p, 32)?,
        sun_el_deg: f64_at(p, 40)?,
        registration_sigma_m,
    };
    let ok = s.radius_m > 0.0
        && s.radius_m.is_finite()
        && s.lat_deg.abs() <= 90.0
        && s.lon_deg.is_finite()
        && s.dem_sigma_m >= 0.0
        && s.registration_sigma_m >= 0.0
        && s.registration_sigma_m.is_finite();
    ok.then_some(s)
}

fn parse_grid(p: &[u8]) -> Option<GridSection<'_>> {
    let width = u32_at(p, 0)? as usize;
    let height = u32_at(p, 4)? as usize;
    let grid = Grid {
        width,
        height,
        stride: width,
        x0: f64_at(p, 8)?,
        y0: f64_at(p, 16)?,
        dx: f64_at(p, 24)?,
        dy: f64_at(p, 32)?,
        radius: 1.0,
    };
    let n = width.checked_mul(height)?.checked_mul(4)?;
    let samples = p.get(GRID_HEADER_LEN..)?;
    let finite =
        grid.x0.is_finite() && grid.y0.is_finite() && grid.dx.is_finite() && grid.dy.is_finite();
    (samples.len() == n && width >= 2 && height >= 2 && finite && grid.dx != 0.0 && grid.dy != 0.0)
        .then_some(GridSection { grid, samples })
}

fn parse_landmarks(p: &[u8]) -> Option<Landmarks<'_>> {
    let count = u32_at(p, 0)? as usize;
    let side = u32_at(p, 4)? as usize;
    let levels = u32_at(p, 8)? as usize;
    let l = Landmarks {
        count,
        side,
        levels,
        records: p.get(LANDMARKS_HEADER_LEN..)?,
    };
    let expected = count.checked_mul(
        LANDMARK_FIXED_LEN.checked_add(
            side.checked_mul(side)?
                .checked_mul(levels)?
                .checked_mul(4)?,
        )?,
    )?;
    (side % 2 == 1 && side <= 63 && (1..=8).contains(&levels) && l.records.len() == expected)
        .then_some(l)
}
