//! Writing the `.trnmap` map database that `trn_flight::mapdb` parses in flight (format:
//! docs/trnmap.md). Sections are 8-byte aligned, every section and the table carry a CRC-32.

use crate::error::MapError;
use crate::site_dem::SiteDem;
use std::path::{Path, PathBuf};
use trn_flight::crc32::{crc32, crc32_continue};
use trn_flight::mapdb::{
    ENTRY_LEN, HEADER_LEN, LANDMARK_FIXED_LEN, MAGIC, SectionKind, Site, VERSION,
};

/// A landmark to store.
#[derive(Clone, Debug, PartialEq)]
pub struct MapLandmark {
    /// Identifier, unique in the database.
    pub id: u32,
    /// Site-frame position, metres.
    pub position: [f64; 3],
    /// Unit surface normal, site frame.
    pub normal: [f32; 3],
    /// Ground size of one level-0 template pixel, metres.
    pub scale_m: f32,
    /// Template pixels per pyramid level, each `side * side`, row-major.
    pub templates: Vec<Vec<f32>>,
}

/// Everything a database holds.
#[derive(Clone, Copy, Debug)]
pub struct MapContents<'a> {
    /// Body and site parameters.
    pub site: Site,
    /// Coarse DEM on the site grid.
    pub dem: Option<&'a SiteDem>,
    /// Overview render on its site grid.
    pub overview: Option<&'a SiteDem>,
    /// Landmarks (all with `template_side` templates and the same number of levels).
    pub landmarks: &'a [MapLandmark],
    /// Template side, pixels (odd).
    pub template_side: usize,
}

fn invalid(field: &'static str, detail: String) -> MapError {
    MapError::Invalid {
        file: PathBuf::from("<map database>"),
        field,
        detail,
    }
}

fn grid_payload(g: &SiteDem) -> Vec<u8> {
    let mut p = Vec::with_capacity(40 + g.data.len() * 4);
    p.extend_from_slice(&(g.grid.width as u32).to_le_bytes());
    p.extend_from_slice(&(g.grid.height as u32).to_le_bytes());
    for v in [g.grid.x0, g.grid.y0, g.grid.dx, g.grid.dy] {
        p.extend_from_slice(&v.to_le_bytes());
    }
    for v in &g.data {
        p.extend_from_slice(&v.to_le_bytes());
    }
    p
}

/// Serialises a database.
///
/// # Errors
///
/// [`MapError::Invalid`] for inconsistent contents: a grid whose data does not match its
/// size or that is not row-contiguous, templates of the wrong size or level count, an even
/// template side, duplicate landmark ids.
pub fn to_bytes(c: &MapContents<'_>) -> Result<Vec<u8>, MapError> {
    let mut sections: Vec<(SectionKind, Vec<u8>)> = Vec::new();
    let s = c.site;
    let mut site = Vec::with_capacity(56);
    for v in [
        s.radius_m,
        s.lat_deg,
        s.lon_deg,
        s.dem_sigma_m,
        s.sun_az_deg,
        s.sun_el_deg,
    ] {
        site.extend_from_slice(&v.to_le_bytes());
    }
    // The registration sigma is written only when stated, so a map without it keeps the
    // 48-byte section every reader knows.
    if s.registration_sigma_m != 0.0 {
        site.extend_from_slice(&s.registration_sigma_m.to_le_bytes());
    }
    sections.push((SectionKind::Site, site));
    for (kind, g) in [
        (SectionKind::Dem, c.dem),
        (SectionKind::Overview, c.overview),
    ] {
        if let Some(g) = g {
            if g.data.len() != g.grid.width * g.grid.height || g.grid.stride != g.grid.width {
                return Err(invalid(
                    "grid",
                    format!(
                        "{kind:?}: {} values for {} x {}",
                        g.data.len(),
                        g.grid.width,
                        g.grid.height
                    ),
                ));
            }
            sections.push((kind, grid_payload(g)));
        }
    }
    if !c.landmarks.is_empty() {
        let side = c.template_side;
        if side.is_multiple_of(2) {
            return Err(invalid("template_side", format!("{side} is even")));
        }
        let levels = c.landmarks[0].templates.len();
        let mut ids = std::collections::HashSet::new();
        let mut p = Vec::new();
        p.extend_from_slice(&(c.landmarks.len() as u32).to_le_bytes());
        p.extend_from_slice(&(side as u32).to_le_bytes());
        p.extend_from_slice(&(levels as u32).to_le_bytes());
        p.extend_from_slice(&0u32.to_le_bytes());
        for l in c.landmarks {
            if !ids.insert(l.id) {
                return Err(invalid("landmark id", format!("{} appears twice", l.id)));
            }
            if l.templates.len() != levels || l.templates.iter().any(|t| t.len() != side * side) {
                return Err(invalid(
                    "templates",
                    format!(
                        "landmark {}: expected {levels} levels of {side} x {side}",
                        l.id
                    ),
                ));
            }
            let start = p.len();
            p.extend_from_slice(&l.id.to_le_bytes());
            p.extend_from_slice(&0u32.to_le_bytes());
            for v in l.position {
                p.extend_from_slice(&v.to_le_bytes());
            }
            for v in l.normal {
                p.extend_from_slice(&v.to_le_bytes());
            }
            p.extend_from_slice(&l.scale_m.to_le_bytes());
            debug_assert_eq!(p.len() - start, LANDMARK_FIXED_LEN);
            for t in &l.templates {
                for v in t {
                    p.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        sections.push((SectionKind::Landmarks, p));
    }

    let table_end = HEADER_LEN + sections.len() * ENTRY_LEN;
    let align = |n: usize| n.div_ceil(8) * 8;
    let mut offset = align(table_end);
    let mut table = Vec::with_capacity(sections.len() * ENTRY_LEN);
    for (kind, payload) in &sections {
        table.extend_from_slice(&(*kind as u32).to_le_bytes());
        table.extend_from_slice(&crc32(payload).to_le_bytes());
        table.extend_from_slice(&(offset as u64).to_le_bytes());
        table.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        table.extend_from_slice(&0u64.to_le_bytes());
        offset = align(offset + payload.len());
    }
    let total = offset;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    out.extend_from_slice(&(total as u64).to_le_bytes());
    let crc = crc32_continue(crc32(&out), &table);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&table);
    for (_, payload) in &sections {
        out.resize(align(out.len()), 0);
        out.extend_from_slice(payload);
    }
    out.resize(total, 0);
    Ok(out)
}

/// Writes a database atomically (a `.partial` file renamed over `path` when complete).
///
/// # Errors
///
/// As [`to_bytes`], and [`MapError::Io`].
pub fn write(path: impl AsRef<Path>, c: &MapContents<'_>) -> Result<(), MapError> {
    let path = path.as_ref();
    let bytes = to_bytes(c)?;
    Ok(trn_dataset::atomic::write_atomic(path, &bytes)?)
}
