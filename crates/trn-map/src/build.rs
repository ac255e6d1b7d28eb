//! From an orbital DEM (and optionally an orthoimage) to the contents of a `.trnmap`.
//!
//! 1. Resample the DEM onto the site grid ([`crate::site_dem`]), and the orthoimage onto the
//!    same nodes; the orthoimage, divided by its median over the site, is the albedo (with
//!    [`BuildParams::ortho_sun`], after the DEM's shading under that sun is divided out:
//!    [`deshaded_albedo`]).
//! 2. Render the site under the database's sun with cast shadows ([`crate::render`]).
//! 3. Build the pyramid of the render (or of the orthoimage, when its own illumination is the
//!    one to match) and choose landmarks on it ([`crate::landmarks`]), with the most template
//!    levels that give [`LandmarkParams::min_landmarks`]; fewer is an error that names the
//!    setting to change.
//! 4. The flight DEM and the overview are pyramid levels of the DEM and of the render, the
//!    finest whose sides fit [`BuildParams::coarse_max_side`] and
//!    [`BuildParams::overview_max_side`].
//! 5. An orthoimage finer than the site grid (a landing-site mosaic beside a coarser DEM)
//!    gives a second layer of landmarks on a site grid at its own spacing, over the square it
//!    covers.

use crate::error::MapError;
use crate::landmarks::{self, LandmarkParams, SelectionStats};
use crate::mapdb::{MapContents, MapLandmark};
use crate::raster::Raster;
use crate::render::{self, Sun};
use crate::sample::Interpolation;
use crate::site_dem::{self, SiteDem};
use std::path::PathBuf;
use trn_flight::frames::SiteFrame;
use trn_flight::image::{Image, reduce_levels};
use trn_flight::mapdb::Site;

/// Which image landmarks are chosen on and cut from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LandmarkSource {
    /// The render of the DEM under the database's sun (times the albedo when an orthoimage
    /// is given): what the camera will see at that sun.
    Render,
    /// The orthoimage itself, when it was taken under the illumination the descent expects.
    Ortho,
}

/// What to build.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BuildParams {
    /// Site latitude, degrees (the site frame's origin).
    pub lat_deg: f64,
    /// Site longitude, degrees.
    pub lon_deg: f64,
    /// East-west extent of the map, metres.
    pub width_m: f64,
    /// North-south extent of the map, metres.
    pub height_m: f64,
    /// Ground sample distance of the level-0 grid, metres.
    pub gsd_m: f64,
    /// Sun of the render.
    pub sun: Sun,
    /// Sun the orthoimage was taken under, when known: the render's albedo is then the
    /// orthoimage with that sun's shading of the DEM divided out ([`deshaded_albedo`]), so
    /// [`LandmarkSource::Render`] relights the orthoimage under [`Self::sun`]. Without it
    /// the albedo is the orthoimage as it is, its own shading included.
    pub ortho_sun: Option<Sun>,
    /// Height and image interpolation.
    pub interpolation: Interpolation,
    /// Landmark selection settings.
    pub landmarks: LandmarkParams,
    /// Image the landmarks come from.
    pub landmark_source: LandmarkSource,
    /// 1-sigma vertical error of the source DEM, metres (stored for the pose covariance).
    pub dem_sigma_m: f64,
    /// 1-sigma of the map's registration error against the body, metres per horizontal
    /// axis (stored for the pose covariance; 0: registered perfectly).
    pub registration_sigma_m: f64,
    /// Largest side, in nodes, of the flight DEM stored in the database.
    pub coarse_max_side: usize,
    /// Largest side, in pixels, of the overview render stored in the database.
    pub overview_max_side: usize,
}

impl BuildParams {
    /// Settings with the given site, extent, spacing and sun, and defaults elsewhere.
    #[must_use]
    pub fn new(
        lat_deg: f64,
        lon_deg: f64,
        width_m: f64,
        height_m: f64,
        gsd_m: f64,
        sun: Sun,
    ) -> Self {
        Self {
            lat_deg,
            lon_deg,
            width_m,
            height_m,
            gsd_m,
            sun,
            ortho_sun: None,
            interpolation: Interpolation::Bicubic,
            landmarks: LandmarkParams::default(),
            landmark_source: LandmarkSource::Render,
            dem_sigma_m: 2.0,
            registration_sigma_m: 0.0,
            coarse_max_side: 2049,
            overview_max_side: 1024,
        }
    }
}

/// Progress reports from a build; every method has a no-op default, and `()` reports
/// nothing.
pub trait Progress: Sync {
    /// A stage starts; `total` units of work (0 when unknown).
    fn begin(&self, _stage: &'static str, _total: u64) {}
    /// `n` more units are done.
    fn advance(&self, _n: u64) {}
    /// The current stage has ended.
    fn end(&self) {}
}

impl Progress for () {}

/// A built map: everything the database holds, and the full-resolution products it came
/// from.
#[derive(Clone, Debug)]
pub struct BuiltMap {
    /// Body and site parameters.
    pub site: Site,
    /// The DEM on the level-0 site grid.
    pub dem: SiteDem,
    /// The render on the level-0 grid.
    pub render: Vec<f32>,
    /// The albedo on the level-0 grid, when an orthoimage was given.
    pub albedo: Option<Vec<f32>>,
    /// The flight DEM (a pyramid level of `dem`).
    pub coarse_dem: SiteDem,
    /// The overview render, on its own pyramid-level grid.
    pub overview: SiteDem,
    /// The landmarks.
    pub landmarks: Vec<MapLandmark>,
    /// What the landmark selection saw.
    pub selection: SelectionStats,
    /// The layer of landmarks from an orthoimage finer than the site grid, when there is one
    /// (its landmarks follow the site's in `landmarks`).
    pub fine: Option<FineLayer>,
    /// Template side, pixels.
    pub template_side: usize,
    /// Template levels of every landmark: the most, up to [`LandmarkParams::levels`], that
    /// give [`LandmarkParams::min_landmarks`] ([`landmarks::select_levels`]).
    pub levels: usize,
}

/// The layer of fine landmarks a map has when its orthoimage is finer than its DEM.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FineLayer {
    /// Spacing of its level 0, metres.
    pub gsd_m: f64,
    /// Half the side of the square around the site it covers, metres.
    pub half_side_m: f64,
    /// Landmarks in it.
    pub landmarks: usize,
    /// What its selection saw.
    pub selection: SelectionStats,
}

impl BuiltMap {
    /// The database contents, ready for [`crate::mapdb::to_bytes`] or [`crate::mapdb::write`].
    #[must_use]
    pub fn contents(&self) -> MapContents<'_> {
        MapContents {
            site: self.site,
            dem: Some(&self.coarse_dem),
            overview: Some(&self.overview),
            landmarks: &self.landmarks,
            template_side: self.template_side,
        }
    }
}

fn bad(field: &'static str, detail: String) -> MapError {
    MapError::Invalid {
        file: PathBuf::from("<map build>"),
        field,
        detail,
    }
}

/// The pyramid level whose larger side first fits `max_side` (level 0 when it already fits).
fn level_for(width: usize, height: usize, max_side: usize) -> usize {
    let mut lvl = 0;
    let (mut w, mut h) = (width, height);
    while w.max(h) > max_side.max(2) && lvl < 16 {
        w = w.div_ceil(2);
        h = h.div_ceil(2);
        lvl += 1;
    }
    lvl
}

/// Builds a map from `dem` and an optional `ortho` (any lunar CRS each; they need not share
/// a grid).
///
/// An orthoimage finer than the site grid ([`FINE_ORTHO_RATIO`]) is low-passed to about the
/// grid's spacing before it is sampled there; with [`LandmarkSource::Ortho`] it also gives a
/// second layer of landmarks at its own spacing ([`BuiltMap::fine`]). An orthoimage that
/// leaves more than 1 % of the site uncovered is neither the albedo nor the site layer's
/// image (the render is).
///
/// # Errors
///
/// [`MapError::Invalid`] when the site, extent, spacing or landmark settings are out of
/// range, when the DEM does not cover the whole site (the field names how many nodes are
/// missing), when `LandmarkSource::Ortho` is asked for without an orthoimage, or when the
/// sun or the orthoimage's sun has an elevation outside (0, 90] degrees or a non-finite
/// azimuth;
/// [`MapError::TooFewLandmarks`] (its file a placeholder: see [`MapError::for_file`]) when
/// fewer than [`LandmarkParams::min_landmarks`] landmarks (and at least one) are chosen with
/// any number of template levels up to the one asked for.
pub fn build(
    dem: &Raster,
    ortho: Option<&Raster>,
    p: &BuildParams,
    progress: &dyn Progress,
) -> Result<BuiltMap, MapError> {
    let radius = dem.crs.radius_m();
    let frame = SiteFrame::from_degrees(p.lat_deg, p.lon_deg, radius)
        .map_err(|e| bad("site", format!("{}, {}: {e:?}", p.lat_deg, p.lon_deg)))?;
    check_sun("sun elevation", p.sun)?;
    if let Some(s) = p.ortho_sun {
        check_sun("orthoimage sun elevation", s)?;
    }
    if !(p.dem_sigma_m >= 0.0 && p.dem_sigma_m.is_finite()) {
        return Err(bad("dem_sigma_m", format!("{}", p.dem_sigma_m)));
    }
    if !(p.registration_sigma_m >= 0.0 && p.registration_sigma_m.is_finite()) {
        return Err(bad(
            "registration_sigma_m",
            format!("{}", p.registration_sigma_m),
        ));
    }
    if p.landmark_source == LandmarkSource::Ortho && ortho.is_none() {
        return Err(bad(
            "landmark source",
            "landmarks on the orthoimage need an orthoimage".into(),
        ));
    }

    let (cols, rows) = site_dem::site_grid_size(p.width_m, p.height_m, p.gsd_m);
    progress.begin("resampling DEM", rows as u64);
    let site_dem = site_dem::resample_to_site_with_progress(
        dem,
        &frame,
        p.width_m,
        p.height_m,
        p.gsd_m,
        p.interpolation,
        &|n| progress.advance(n),
    )?;
    progress.end();
    debug_assert_eq!((site_dem.grid.width, site_dem.grid.height), (cols, rows));
    if site_dem.missing > 0 {
        return Err(bad(
            "DEM coverage",
            format!(
                "{} of {} site nodes have no height (outside the DEM or at its nodata): \
                 choose a smaller --size-m or a DEM covering the site",
                site_dem.missing,
                cols * rows
            ),
        ));
    }

    // An orthoimage finer than the site grid is low-passed to about its spacing before it
    // is sampled there (it would alias), and gives landmarks of its own at its spacing.
    let ortho_spacing = ortho.map(|o| ground_spacing_m(o, &frame));
    let ortho_img = match (ortho, ortho_spacing) {
        (Some(o), Some(s)) => {
            progress.begin("resampling orthoimage", 0);
            let reduced = reduced_towards(o, s, p.gsd_m);
            let v = site_dem::resample_image_on_site(&reduced, &frame, &site_dem, p.interpolation)?;
            progress.end();
            Some(v)
        }
        _ => None,
    };
    // An orthoimage that leaves part of the site uncovered cannot be the site's albedo or
    // its landmarks' image: the site's landmarks then come from the render.
    let ortho_img = ortho_img
        .filter(|v| v.iter().filter(|x| !x.is_finite()).count() as f64 <= 0.01 * v.len() as f64);
    let albedo = ortho_img.as_ref().map(|v| match p.ortho_sun {
        Some(sun) => {
            progress.begin("removing the orthoimage's shading", 0);
            let shading = render::render(&site_dem, sun, None, true);
            progress.end();
            deshaded_albedo(v, &shading)
        }
        None => median_normalised(v.iter().copied()),
    });

    progress.begin("rendering with shadows", 0);
    let rendered = render::render(&site_dem, p.sun, albedo.as_deref(), true);
    progress.end();

    progress.begin("pyramids", 0);
    let ov_level = level_for(cols, rows, p.overview_max_side);
    let dem_level = level_for(cols, rows, p.coarse_max_side);
    let render_levels = reduce_levels(
        Image {
            width: cols,
            height: rows,
            data: rendered.clone(),
        },
        p.landmarks.levels.max(ov_level + 1),
    );
    let source_levels = match (p.landmark_source, &ortho_img) {
        (LandmarkSource::Ortho, Some(o)) => reduce_levels(
            Image {
                width: cols,
                height: rows,
                data: o.clone(),
            },
            p.landmarks.levels,
        ),
        _ => render_levels.clone(),
    };
    let mut coarse_dem = site_dem.clone();
    for _ in 0..dem_level {
        coarse_dem = coarse_dem.reduce();
    }
    let ov = &render_levels[ov_level];
    let mut ov_grid = site_dem.grid;
    ov_grid.width = ov.width;
    ov_grid.height = ov.height;
    ov_grid.stride = ov.width;
    ov_grid.dx *= f64::from(1u32 << ov_level);
    ov_grid.dy *= f64::from(1u32 << ov_level);
    let overview = SiteDem {
        grid: ov_grid,
        missing: ov.data.iter().filter(|v| v.is_nan()).count(),
        data: ov.data.clone(),
    };
    progress.end();

    progress.begin("choosing landmarks", 0);
    let z = render::site_z(&site_dem);
    let (mut lms, selection) =
        landmarks::select_levels(&source_levels, &site_dem, &z, &p.landmarks)?;
    progress.end();
    // Every landmark of a database carries the same levels: the fine layer takes the site's.
    let fine_params = LandmarkParams {
        levels: selection.levels,
        ..p.landmarks
    };
    let fine = match (p.landmark_source, ortho, ortho_spacing) {
        (LandmarkSource::Ortho, Some(o), Some(s)) if s < FINE_ORTHO_RATIO * p.gsd_m => {
            fine_layer(dem, o, s, &frame, p, &fine_params, progress)?
        }
        _ => None,
    };
    let fine = fine.map(|(fine_lms, layer)| {
        let next_id = lms.iter().map(|l| l.id + 1).max().unwrap_or(0);
        lms.extend(fine_lms.into_iter().map(|mut l| {
            l.id += next_id;
            l
        }));
        layer
    });
    if lms.len() < p.landmarks.min_landmarks.max(1) {
        return Err(too_few_landmarks(dem, &frame, p, lms.len(), &selection));
    }
    Ok(BuiltMap {
        site: Site {
            radius_m: radius,
            lat_deg: p.lat_deg,
            lon_deg: p.lon_deg,
            dem_sigma_m: p.dem_sigma_m,
            sun_az_deg: p.sun.azimuth_deg,
            sun_el_deg: p.sun.elevation_deg,
            registration_sigma_m: p.registration_sigma_m,
        },
        dem: site_dem,
        render: rendered,
        albedo,
        coarse_dem,
        overview,
        landmarks: lms,
        selection,
        fine,
        template_side: p.landmarks.template_side,
        levels: selection.levels,
    })
}

/// A sun above the horizon: elevation in (0, 90] degrees and a finite azimuth; else an
/// invalid `field`.
fn check_sun(field: &'static str, sun: Sun) -> Result<(), MapError> {
    if sun.elevation_deg > 0.0 && sun.elevation_deg <= 90.0 && sun.azimuth_deg.is_finite() {
        Ok(())
    } else {
        Err(bad(
            field,
            format!(
                "azimuth {} deg, elevation {} deg: the elevation must be in (0, 90]",
                sun.azimuth_deg, sun.elevation_deg
            ),
        ))
    }
}

/// `values` over the median of their finite ones (non-finite values become 1).
fn median_normalised(values: impl Iterator<Item = f32> + Clone) -> Vec<f32> {
    let mut finite: Vec<f32> = values.clone().filter(|x| x.is_finite()).collect();
    let med = trn_flight::stats::sample_quantile(&mut finite, 0.5).unwrap_or(1.0);
    let med = if med > 0.0 { med } else { 1.0 };
    values
        .map(|x| if x.is_finite() { x / med } else { 1.0 })
        .collect()
}

/// Shading of the DEM below this fraction of its median (the orthoimage's shadows and
/// slopes turned from its sun) leaves the orthoimage's brightness too dark, and too noisy,
/// to divide: the albedo there is taken as the median's.
pub const MIN_SHADING: f32 = 0.2;

/// The albedo an orthoimage shows once the DEM's shading under the orthoimage's sun
/// (`shading`, the render of the site DEM under that sun) is divided out, over its median:
/// what a render under another sun multiplies to relight the orthoimage. Where the shading
/// is dark (below [`MIN_SHADING`] of its median: shadow, or slopes turned from that sun)
/// the albedo is 1. The DEM's shading is that of its posts: detail finer than the DEM
/// stays in the albedo with the orthoimage's own light.
#[must_use]
pub fn deshaded_albedo(ortho: &[f32], shading: &[f32]) -> Vec<f32> {
    let mut lit: Vec<f32> = shading
        .iter()
        .copied()
        .filter(|x| x.is_finite() && *x > 0.0)
        .collect();
    let med = trn_flight::stats::sample_quantile(&mut lit, 0.5).unwrap_or(0.0);
    let floor = MIN_SHADING * med;
    let ratio = ortho.iter().zip(shading).map(|(&o, &s)| {
        if med > 0.0 && s.is_finite() && s >= floor {
            o / s
        } else {
            f32::NAN
        }
    });
    median_normalised(ratio)
}

/// A map grid finer than this fraction of its DEM's own spacing is interpolated between the
/// DEM's posts: smooth at template scale, its correlation peaks too broad to locate.
pub const MAX_OVERSAMPLING: f64 = 0.25;

/// Landmarks per square of the minimum separation's side that the selection places, about,
/// where candidates are plentiful: one per cell is the most, and taking the best first
/// leaves gaps.
const PACKING: f64 = 0.5;

/// The error of a build that chose `chosen` landmarks, fewer than it needs, naming the
/// setting that would help: a coarser `--gsd-m` when the grid is much finer than the DEM's
/// own spacing, a larger `--size-m` when the map has too few pixels to hold that many
/// landmarks at their separation, else a `--min-landmarks` this DEM, site and sun can give.
fn too_few_landmarks(
    dem: &Raster,
    frame: &SiteFrame,
    p: &BuildParams,
    chosen: usize,
    s: &SelectionStats,
) -> MapError {
    let need = p.landmarks.min_landmarks.max(1);
    let dem_m = ground_spacing_m(dem, frame);
    let seen = format!(
        "{chosen} landmarks chosen, {need} needed ({} candidates, {} not unique or not \
         sharp, {} too close, {} flat, {} template levels of {})",
        s.candidates, s.not_unique, s.too_close, s.bad_template, s.levels, p.landmarks.levels
    );
    let (setting, value, why) = if dem_m.is_finite() && p.gsd_m < MAX_OVERSAMPLING * dem_m {
        (
            "--gsd-m",
            format!("at least {:.0} m", MAX_OVERSAMPLING * dem_m),
            format!(
                "the DEM's own spacing at the site is {dem_m:.0} m, the map's {} m: the \
                 render is interpolated between posts, too smooth to locate templates",
                p.gsd_m
            ),
        )
    } else if let Some(px) = pixels_needed(p, need) {
        (
            "--size-m",
            format!("at least {:.0} m each way", px * p.gsd_m),
            format!(
                "{need} landmarks {} px apart need about {px:.0} map pixels each way",
                p.landmarks.min_separation_px.max(1)
            ),
        )
    } else {
        (
            "--min-landmarks",
            format!("at most {chosen}"),
            "the render has too little unique texture at this sun and spacing".to_string(),
        )
    };
    MapError::TooFewLandmarks {
        file: PathBuf::from("<map build>"),
        setting,
        value,
        detail: format!("{seen}: {why}"),
        chosen,
    }
}

/// The map side, pixels, that holds `need` landmarks at the minimum separation with one
/// template level's margin on each side, when the map's smaller side is less; `None` when
/// the map is large enough.
fn pixels_needed(p: &BuildParams, need: usize) -> Option<f64> {
    let sep = p.landmarks.min_separation_px.max(1) as f64;
    let margin = 2.0 * (p.landmarks.template_side / 2 + 5) as f64;
    let px = (need as f64 / PACKING).sqrt() * sep + margin;
    let (cols, rows) = site_dem::site_grid_size(p.width_m, p.height_m, p.gsd_m);
    (cols.min(rows) as f64 + 0.5 < px).then_some(px.ceil())
}

/// An orthoimage at most this fraction of the site spacing gives a layer of fine landmarks.
pub const FINE_ORTHO_RATIO: f64 = 0.75;

/// Ground distance (metres) between two neighbouring pixel centres of `r` at the site (or
/// at the raster's centre when the site lies outside it).
fn ground_spacing_m(r: &Raster, frame: &SiteFrame) -> f64 {
    let (lat, lon) = frame.lat_lon();
    let (c, row) = r
        .pixel_of_lat_lon(lat.to_degrees(), lon.to_degrees())
        .unwrap_or(((r.width as f64 - 1.0) / 2.0, (r.height as f64 - 1.0) / 2.0));
    let at = |c: f64, row: f64| {
        let (x, y) = r.transform.pixel_centre(c, row);
        let (la, lo) = r.crs.inverse(x, y);
        frame.geodetic_to_site(trn_flight::frames::Geodetic {
            lat: la.to_radians(),
            lon: lo.to_radians(),
            height: 0.0,
        })
    };
    let p = at(c, row);
    let (dc, dr) = ((at(c + 1.0, row) - p).norm(), (at(c, row + 1.0) - p).norm());
    dc.max(dr)
}

/// `r` low-passed and halved (binomial pyramid) until its spacing is at least two thirds of
/// `target_m`; `r` itself when it already is.
fn reduced_towards(r: &Raster, spacing_m: f64, target_m: f64) -> std::borrow::Cow<'_, Raster> {
    let mut s = spacing_m;
    if s.is_nan() || s <= 0.0 || s * 1.5 >= target_m {
        return std::borrow::Cow::Borrowed(r);
    }
    let mut out = r.clone();
    while s * 1.5 < target_m && out.width > 2 && out.height > 2 {
        let img = Image {
            width: out.width,
            height: out.height,
            data: std::mem::take(&mut out.data),
        }
        .reduce();
        let t = &mut out.transform.0;
        // Node j of the reduced grid is node 2j of this one: the corner moves half a pixel.
        t[0] -= 0.5 * t[1] + 0.5 * t[2];
        t[3] -= 0.5 * t[4] + 0.5 * t[5];
        for k in [1, 2, 4, 5] {
            t[k] *= 2.0;
        }
        out.width = img.width;
        out.height = img.height;
        out.data = img.data;
        s *= 2.0;
    }
    std::borrow::Cow::Owned(out)
}

/// Landmarks of an orthoimage finer than the site grid, on a site grid at its own
/// spacing over the square it covers: the layer a descent matches once its pixels are
/// finer than the DEM's. Heights and normals come from the DEM, interpolated.
/// Returns the landmarks and what the layer is; `None`
/// when the orthoimage covers less than 32 of its pixels either way around the site.
fn fine_layer(
    dem: &Raster,
    ortho: &Raster,
    spacing_m: f64,
    frame: &SiteFrame,
    p: &BuildParams,
    lp: &LandmarkParams,
    progress: &dyn Progress,
) -> Result<Option<(Vec<MapLandmark>, FineLayer)>, MapError> {
    let half = (site_dem::inscribed_half_side(ortho, frame) - 4.0 * spacing_m)
        .min(0.5 * p.width_m)
        .min(0.5 * p.height_m);
    if half.is_nan() || half < 16.0 * spacing_m {
        // Too small a mosaic around the site for templates at its spacing: no layer.
        return Ok(None);
    }
    let (cols, rows) = site_dem::site_grid_size(2.0 * half, 2.0 * half, spacing_m);
    progress.begin("resampling DEM under the fine orthoimage", rows as u64);
    let fine_dem = site_dem::resample_to_site_with_progress(
        dem,
        frame,
        2.0 * half,
        2.0 * half,
        spacing_m,
        p.interpolation,
        &|n| progress.advance(n),
    )?;
    progress.end();
    if fine_dem.missing > 0 {
        return Err(bad(
            "DEM coverage",
            format!(
                "{} of {} nodes under the fine orthoimage have no height",
                fine_dem.missing,
                cols * rows
            ),
        ));
    }
    progress.begin("resampling the fine orthoimage", 0);
    let img = site_dem::resample_image_on_site(ortho, frame, &fine_dem, p.interpolation)?;
    let levels = reduce_levels(
        Image {
            width: fine_dem.grid.width,
            height: fine_dem.grid.height,
            data: img,
        },
        lp.levels,
    );
    progress.end();
    progress.begin("choosing fine landmarks", 0);
    let z = render::site_z(&fine_dem);
    let (lms, stats) = landmarks::select(&levels, &fine_dem, &z, lp)?;
    progress.end();
    let layer = FineLayer {
        gsd_m: spacing_m,
        half_side_m: half,
        landmarks: lms.len(),
        selection: stats,
    };
    Ok(Some((lms, layer)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::GeoTransform;
    use crate::sample::tests::raster_of;

    /// Halving a raster keeps every pixel where it was on the ground: on a ramp whose value
    /// is the map x (and on one of y) of the pixel centre, a rotated geotransform included,
    /// the reduced raster's interior values are again their pixel centres' coordinates.
    #[test]
    fn reduction_keeps_pixels_on_the_ground() {
        let t = GeoTransform([1000.0, 0.8, 0.3, 5000.0, 0.2, -0.9]);
        for axis in 0..2 {
            let r = raster_of(64, 48, t, |c, row| {
                let (x, y) = t.pixel_centre(c, row);
                if axis == 0 { x - 1000.0 } else { y - 5000.0 }
            });
            let out = reduced_towards(&r, 1.0, 3.5);
            // 1 m towards 3.5 m: halved twice (4 m >= 2/3 of 3.5 m).
            assert_eq!((out.width, out.height), (16, 12));
            for row in 2..out.height - 2 {
                for col in 2..out.width - 2 {
                    let (x, y) = out.transform.pixel_centre(col as f64, row as f64);
                    let want = if axis == 0 { x - 1000.0 } else { y - 5000.0 };
                    let got = f64::from(out.data[row * out.width + col]);
                    assert!((got - want).abs() < 1e-3, "({col}, {row}): {got} vs {want}");
                }
            }
            // Already coarse enough: the raster itself.
            assert!(matches!(
                reduced_towards(&r, 3.0, 3.5),
                std::borrow::Cow::Borrowed(_)
            ));
        }
    }
}
