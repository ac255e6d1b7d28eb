//! Availability, error and integrity by band: of true altitude (where a descent's fixes
//! stop), of the sun's elevation (the availability target's condition) and of the share of
//! the frame in shadow.

use crate::summary::outside_3sigma;
use trn::navigator::FixStatus;
use trn_dataset::results::ResultRow;
use trn_dataset::summary::{Band, Stats, bands_csv};

/// Edges of the bands of [`by_altitude`], metres of true altitude above the DEM.
pub const ALTITUDE_BANDS_M: [f64; 10] = [
    0.0,
    100.0,
    300.0,
    600.0,
    1000.0,
    1500.0,
    2500.0,
    5000.0,
    10_000.0,
    f64::INFINITY,
];

/// Edges of the bands of [`by_sun_elevation`], degrees (1.5 and 5 are the availability
/// target's thresholds).
pub const SUN_BANDS_DEG: [f64; 7] = [-90.0, 1.5, 5.0, 10.0, 20.0, 45.0, 90.01];

/// Frames grouped by `key` into the bands between consecutive `edges`; empty bands and
/// frames without a key are left out.
fn by_band(
    rows: &[ResultRow],
    edges: &[f64],
    key: impl Fn(&ResultRow) -> Option<f64>,
) -> Vec<Band> {
    edges
        .windows(2)
        .filter_map(|edge| {
            let (from, to) = (edge[0], edge[1]);
            let band: Vec<&ResultRow> = rows
                .iter()
                .filter(|r| key(r).is_some_and(|a| a >= from && a < to))
                .collect();
            if band.is_empty() {
                return None;
            }
            let fixes: Vec<&&ResultRow> =
                band.iter().filter(|r| r.status == FixStatus::Fix).collect();
            Some(Band {
                from,
                to,
                frames: band.len(),
                fixes: fixes.len(),
                rejected: band
                    .iter()
                    .filter(|r| r.status == FixStatus::Rejected)
                    .count(),
                tracked: fixes.iter().filter(|r| r.tracked > 0).count(),
                pos_err_m: Stats::of(fixes.iter().filter_map(|r| r.pos_err_m).collect()),
                outside_3sigma: fixes.iter().filter(|r| outside_3sigma(r)).count(),
            })
        })
        .collect()
}

/// Availability, error and integrity by band of true altitude ([`ALTITUDE_BANDS_M`]):
/// where a descent's fixes stop is what an analyst asks first. Frames without truth are
/// left out.
///
/// ```
/// use trn_eval::{ResultRow, by_altitude};
/// use trn::FixStatus;
/// let row = |alt: f64, status| ResultRow {
///     status,
///     true_altitude_m: Some(alt),
///     pos_err_m: (status == FixStatus::Fix).then_some(1.0),
///     err_xyz: (status == FixStatus::Fix).then_some([1.0, 0.0, 0.0]),
///     sigma_pos: [0.5, 0.5, 0.5],
///     ..ResultRow::default()
/// };
/// let bands = by_altitude(&[row(3000.0, FixStatus::Fix), row(700.0, FixStatus::NoFix)]);
/// assert_eq!(bands.len(), 2);
/// assert_eq!((bands[0].from, bands[0].frames, bands[0].fixes), (600.0, 1, 0));
/// assert_eq!((bands[1].from, bands[1].fixes, bands[1].outside_3sigma), (2500.0, 1, 0));
/// ```
#[must_use]
pub fn by_altitude(rows: &[ResultRow]) -> Vec<Band> {
    by_band(rows, &ALTITUDE_BANDS_M, |r| r.true_altitude_m)
}

/// The same by band of the sun's elevation at the site ([`SUN_BANDS_DEG`]): the
/// availability target is stated for frames with the sun at 5 degrees or more, and
/// reported for 1.5-5 degrees.
#[must_use]
pub fn by_sun_elevation(rows: &[ResultRow]) -> Vec<Band> {
    by_band(rows, &SUN_BANDS_DEG, |r| r.sun_el_deg)
}

/// Edges of the bands of [`by_shadow`]: the share of a frame in shadow.
pub const SHADOW_BANDS: [f64; 5] = [0.0, 0.5, 0.8, 0.95, 1.01];

/// Frames with this share of their pixels in shadow or more show too little lit ground to
/// navigate by (a view wholly inside a crater's shadow shows none); [`availability_target`]
/// reports availability without them beside the plain figure.
pub const DARK_FRAME: f64 = 0.8;

/// The same by band of the share of the frame in shadow ([`SHADOW_BANDS`]): a descent that
/// ends in a crater's shadow loses its last frames whatever the navigator does, and this
/// table says how many of the frames lost were such.
#[must_use]
pub fn by_shadow(rows: &[ResultRow]) -> Vec<Band> {
    by_band(rows, &SHADOW_BANDS, |r| r.shadow_fraction)
}

/// The availability target's frames: those with the sun at 5 degrees or more, then of
/// those the ones less than [`DARK_FRAME`] in shadow (frames without a shadow fraction
/// count as lit). `None` for either when it holds no frame.
///
/// ```
/// use trn_eval::{ResultRow, availability_target};
/// use trn::FixStatus;
/// let row = |sun: f64, shadow: f64, status| ResultRow {
///     status,
///     sun_el_deg: Some(sun),
///     shadow_fraction: Some(shadow),
///     ..ResultRow::default()
/// };
/// let rows = [
///     row(12.0, 0.1, FixStatus::Fix),
///     row(12.0, 0.97, FixStatus::NoFix),
///     row(3.0, 0.2, FixStatus::NoFix),
/// ];
/// let (all, lit) = availability_target(&rows);
/// assert_eq!(all.map(|b| (b.frames, b.fixes)), Some((2, 1)));
/// assert_eq!(lit.map(|b| (b.frames, b.fixes)), Some((1, 1)));
/// ```
#[must_use]
pub fn availability_target(rows: &[ResultRow]) -> (Option<Band>, Option<Band>) {
    let edges = [5.0, SUN_BANDS_DEG[SUN_BANDS_DEG.len() - 1]];
    let all = by_band(rows, &edges, |r| r.sun_el_deg).pop();
    let lit = by_band(rows, &edges, |r| {
        r.sun_el_deg
            .filter(|_| r.shadow_fraction.is_none_or(|f| f < DARK_FRAME))
    })
    .pop();
    (all, lit)
}

/// The band tables written beside a summary: (file name, CSV).
pub(crate) fn band_files(rows: &[ResultRow]) -> [(&'static str, String); 3] {
    [
        ("altitude_bands.csv", bands_csv(&by_altitude(rows), "m")),
        ("sun_bands.csv", bands_csv(&by_sun_elevation(rows), "deg")),
        ("shadow_bands.csv", bands_csv(&by_shadow(rows), "frac")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use trn_dataset::summary::bands_csv;

    fn row(alt: Option<f64>, status: FixStatus, err: f64, sigma: f64) -> ResultRow {
        let fix = status == FixStatus::Fix;
        ResultRow {
            status,
            true_altitude_m: alt,
            pos_err_m: fix.then_some(err),
            err_xyz: fix.then_some([0.0, err, 0.0]),
            sigma_pos: [sigma; 3],
            ..ResultRow::default()
        }
    }

    /// Frames fall in the band their true altitude opens (edges belong to the band above),
    /// frames without truth in none; fixes, rejections, errors and 3-sigma exceedances are
    /// counted per band, and the CSV says the same.
    #[test]
    fn altitude_bands_count_what_each_band_holds() {
        let rows = [
            row(Some(1000.0), FixStatus::Fix, 2.0, 1.0),
            row(Some(1499.9), FixStatus::Fix, 4.0, 1.0),
            row(Some(1200.0), FixStatus::Rejected, 0.0, 1.0),
            row(Some(999.9), FixStatus::NoFix, 0.0, 1.0),
            row(Some(20_000.0), FixStatus::Fix, 1.0, 1.0),
            row(None, FixStatus::Fix, 9.0, 1.0),
        ];
        let b = by_altitude(&rows);
        assert_eq!(b.len(), 3);
        assert_eq!(
            (b[0].from, b[0].to, b[0].frames, b[0].fixes),
            (600.0, 1000.0, 1, 0)
        );
        assert_eq!(b[0].pos_err_m, None);
        assert_eq!(
            (b[1].from, b[1].frames, b[1].fixes, b[1].rejected),
            (1000.0, 3, 2, 1)
        );
        assert_eq!(b[1].outside_3sigma, 1);
        assert_eq!(b[1].pos_err_m.map(|s| s.max), Some(4.0));
        assert_eq!((b[2].from, b[2].to), (10_000.0, f64::INFINITY));
        let csv = bands_csv(&b, "m");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("from_m,to_m,frames,"));
        assert_eq!(lines[1], "600,1000,1,0,0.0000,0,0,,,,0");
        assert!(
            lines[2].starts_with("1000,1500,3,2,0.6667,1,"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].starts_with("10000,inf,1,1,1.0000,0,"),
            "{}",
            lines[3]
        );

        // By sun elevation: the target's thresholds are band edges; no sun, no band.
        let mut rows = rows.to_vec();
        for (r, sun) in rows.iter_mut().zip([3.0, 4.99, 5.0, 12.0, 1.0]) {
            r.sun_el_deg = Some(sun);
        }
        let b = by_sun_elevation(&rows);
        let got: Vec<(f64, usize, usize)> = b.iter().map(|b| (b.from, b.frames, b.fixes)).collect();
        assert_eq!(got, [(-90.0, 1, 1), (1.5, 2, 2), (5.0, 1, 0), (10.0, 1, 0)]);
        assert!(bands_csv(&b, "deg").starts_with("from_deg,to_deg,"));
    }
}
