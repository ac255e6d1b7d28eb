//! A synthetic site as an orbital product: the terrain's DEM and a rendered orthoimage as
//! GeoTIFFs in a lunar map projection, centred on the site, plus `site.json` describing
//! how they were made.

use crate::detail::{Coarse, Detail, DetailParams, PatchArea, render_patch_with};
use crate::error::SimError;
use crate::terrain::{self, Terrain, TerrainParams};
use serde::{Deserialize, Serialize};
use std::path::Path;
use trn_flight::dem::Grid;
use trn_flight::frames::MOON_RADIUS_M;
use trn_map::geotiff::{Storage, write_as};
use trn_map::raster::SampleType;
use trn_map::render::{self, Sun};
use trn_map::{Crs, GeoTransform, Raster, SiteDem};

/// How site DEMs are stored: 16-bit at 5 cm steps (quantisation error at most 2.5 cm).
pub const DEM_STORAGE: Storage = Storage::I16 {
    scale: 0.05,
    offset: 0.0,
};

/// The map projection of the written products.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Projection {
    /// Polar stereographic on the pole of the site's hemisphere (true scale at the pole).
    Polar,
    /// Equirectangular with true scale at the site's latitude, centred on its longitude.
    Equirectangular,
}

/// Everything that defines a site.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SiteSpec {
    /// The terrain.
    pub terrain: TerrainParams,
    /// Site latitude, degrees.
    pub lat_deg: f64,
    /// Site longitude, degrees.
    pub lon_deg: f64,
    /// Projection of the GeoTIFFs.
    pub projection: Projection,
    /// Sun of the orthoimage render.
    pub ortho_sun: Sun,
    /// The orthoimage finer than the DEM over the landing region, as missions map their
    /// landing sites (None: on the DEM's grid over the whole site).
    pub fine_ortho: Option<FineOrtho>,
    /// Photometric law of the orthoimage.
    pub ortho_law: crate::photometry::Law,
}

/// An orthoimage of the landing region finer than the site's DEM: rendered from the
/// terrain with its [`crate::detail`] on a grid of the same projection centred on the site.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FineOrtho {
    /// Grid spacing, metres (finer than the DEM's).
    pub gsd_m: f64,
    /// Side of the square it covers, metres (within the site).
    pub size_m: f64,
}

/// `site.json`: how the site was made (the generator's inputs), for `trn sim descent`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteInfo {
    /// Always `trn-sim-site/1`.
    pub format: String,
    /// Seed of the terrain.
    pub seed: u64,
    /// Site latitude, degrees.
    pub lat_deg: f64,
    /// Site longitude, degrees.
    pub lon_deg: f64,
    /// Body radius, metres.
    pub radius_m: f64,
    /// Side of the square site, metres.
    pub size_m: f64,
    /// Grid spacing, metres.
    pub gsd_m: f64,
    /// Projection of the GeoTIFFs.
    pub projection: Projection,
    /// Sun azimuth of the orthoimage, degrees clockwise from north.
    pub ortho_sun_az_deg: f64,
    /// Sun elevation of the orthoimage, degrees.
    pub ortho_sun_el_deg: f64,
    /// The DEM GeoTIFF, relative to the site directory.
    pub dem: String,
    /// The orthoimage GeoTIFF, relative to the site directory.
    pub ortho: String,
    /// The albedo GeoTIFF (rendering truth), relative to the site directory.
    pub albedo: String,
    /// Number of craters generated.
    pub craters: usize,
    /// The terrain below the DEM's spacing that descent images show (absent in sites made
    /// before it existed: their descents see only the DEM's surface).
    #[serde(default)]
    pub detail: Option<DetailParams>,
    /// Spacing of the orthoimage, metres (absent: the DEM's).
    #[serde(default)]
    pub ortho_gsd_m: Option<f64>,
    /// The image draped as albedo and its pixel size, metres (absent: the synthetic albedo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub albedo_source: Option<(String, f64)>,
    /// Photometric law of the orthoimage (absent: lunar-Lambert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ortho_law: Option<crate::photometry::Law>,
}

/// A generated site.
#[derive(Clone, Debug)]
pub struct Site {
    /// The terrain on its map grid.
    pub terrain: Terrain,
    /// The DEM product.
    pub dem: Raster,
    /// The orthoimage product (reflectance times albedo, 0 in shadow).
    pub ortho: Raster,
    /// The inputs.
    pub spec: SiteSpec,
    /// The image draped as albedo and its pixel size, metres (None: the synthetic albedo).
    pub albedo_source: Option<(String, f64)>,
}

/// The CRS of a site's products: `projection` around (`lat_deg`, `lon_deg`) on a sphere.
#[must_use]
pub fn crs_of(projection: Projection, lat_deg: f64, lon_deg: f64, radius_m: f64) -> Crs {
    match projection {
        Projection::Polar => Crs::PolarStereographic {
            radius_m,
            south: lat_deg < 0.0,
            scale: 1.0,
            lon0_deg: 0.0,
            false_easting: 0.0,
            false_northing: 0.0,
        },
        Projection::Equirectangular => Crs::Equirectangular {
            radius_m,
            lat_ts_deg: lat_deg,
            lon0_deg: lon_deg,
            false_easting: 0.0,
            false_northing: 0.0,
        },
    }
}

/// The site's CRS.
#[must_use]
pub fn crs_for(spec: &SiteSpec) -> Crs {
    crs_of(spec.projection, spec.lat_deg, spec.lon_deg, MOON_RADIUS_M)
}

/// The sun's azimuth measured from the map grid's +y axis (clockwise) at the site: true
/// azimuth minus the grid convergence there.
#[must_use]
pub fn grid_azimuth_deg(crs: &Crs, lat_deg: f64, lon_deg: f64, azimuth_deg: f64) -> f64 {
    let eps = 1e-5;
    let (x0, y0) = crs.forward(lat_deg, lon_deg);
    let (xn, yn) = crs.forward(lat_deg + eps, lon_deg);
    let (xe, ye) = crs.forward(lat_deg, lon_deg + eps);
    let norm = |x: f64, y: f64| {
        let l = x.hypot(y);
        (x / l, y / l)
    };
    let n = norm(xn - x0, yn - y0);
    let e = norm(xe - x0, ye - y0);
    let (s, c) = azimuth_deg.to_radians().sin_cos();
    let (gx, gy) = (s * e.0 + c * n.0, s * e.1 + c * n.1);
    gx.atan2(gy).to_degrees()
}

/// Generates a site: terrain, DEM and orthoimage products.
///
/// # Errors
///
/// an invalid-field [`SimError::Dataset`] for a site latitude outside ±89.9 degrees (polar stereographic
/// is centred on the pole, not at it), or a size or spacing that is not positive.
pub fn make_site(spec: &SiteSpec) -> Result<Site, SimError> {
    make_site_with(spec, None)
}

/// Bytes a site generation holds per node of its grid (terrain, craters, albedo, the
/// orthoimage and its render), and per node of the fine orthoimage: a bound on the peak
/// resident memory measured per node (docs/FAULTS.md).
pub const BYTES_PER_SITE_NODE: f64 = 40.0;

/// The memory generating `spec` needs, bytes, from its declared sizes (see
/// [`BYTES_PER_SITE_NODE`]), for a check before anything is allocated.
#[must_use]
pub fn memory_estimate(spec: &SiteSpec) -> f64 {
    let t = &spec.terrain;
    let across = t.size_m / t.gsd_m;
    let fine = spec
        .fine_ortho
        .map_or(0.0, |f| (f.size_m / f.gsd_m).powi(2));
    trn_dataset::budget::BASE_BYTES + BYTES_PER_SITE_NODE * (across * across + fine)
}

/// [`make_site`] with a real image draped over the terrain as its albedo (see
/// [`crate::albedo`]): the orthoimage, and the frames rendered from the site, then show its
/// texture.
///
/// # Errors
///
/// As [`make_site`].
pub fn make_site_with(
    spec: &SiteSpec,
    albedo: Option<&crate::albedo::AlbedoImage>,
) -> Result<Site, SimError> {
    let t = &spec.terrain;
    if spec.lat_deg.is_nan()
        || spec.lat_deg.abs() >= 89.9
        || !(-360.0..=360.0).contains(&spec.lon_deg)
    {
        return Err(SimError::invalid(
            "site",
            format!("latitude {} / longitude {}", spec.lat_deg, spec.lon_deg),
        ));
    }
    if !(t.gsd_m > 0.0 && t.size_m >= 16.0 * t.gsd_m && t.size_m / t.gsd_m <= 20_000.0) {
        return Err(SimError::invalid(
            "size",
            format!(
                "{} m at {} m/px (16 to 20000 pixels across)",
                t.size_m, t.gsd_m
            ),
        ));
    }
    if !(spec.ortho_sun.elevation_deg > 0.0 && spec.ortho_sun.elevation_deg <= 90.0) {
        return Err(SimError::invalid(
            "ortho sun elevation",
            format!("{} deg", spec.ortho_sun.elevation_deg),
        ));
    }
    let mut terrain = terrain::generate(t);
    if let Some(a) = albedo {
        terrain.albedo = a.drape(terrain.width, t.gsd_m);
    }
    let crs = crs_for(spec);
    let (cx, cy) = crs.forward(spec.lat_deg, spec.lon_deg);
    let n = terrain.width;
    let half = (n as f64 - 1.0) / 2.0 * t.gsd_m;
    let gt = centred_transform((cx, cy), half, t.gsd_m);
    let dem = Raster {
        width: n,
        height: n,
        data: terrain.heights.clone(),
        nodata: None,
        scale: 1.0,
        offset: 0.0,
        transform: gt,
        crs,
        sample: SampleType::F32,
    };
    // The orthoimage: rendered on the map grid itself, with the sun turned into grid
    // azimuth; curvature comes from the grid's distance to the site as in any site render.
    let grid_dem = SiteDem {
        grid: Grid {
            width: n,
            height: n,
            stride: n,
            x0: -half,
            y0: half,
            dx: t.gsd_m,
            dy: -t.gsd_m,
            radius: MOON_RADIUS_M,
        },
        data: terrain.heights.clone(),
        missing: 0,
    };
    let sun = Sun {
        azimuth_deg: grid_azimuth_deg(&crs, spec.lat_deg, spec.lon_deg, spec.ortho_sun.azimuth_deg),
        elevation_deg: spec.ortho_sun.elevation_deg,
    };
    let ortho = match spec.fine_ortho {
        None => Raster {
            data: crate::photometry::render(&grid_dem, sun, Some(&terrain.albedo), spec.ortho_law),
            ..dem.clone()
        },
        Some(f) => fine_ortho(spec, &f, &grid_dem, &terrain, sun, &dem, (cx, cy))?,
    };
    Ok(Site {
        terrain,
        dem,
        ortho,
        spec: *spec,
        albedo_source: albedo.map(|a| (a.source.clone(), a.pixel_m)),
    })
}

/// A north-up grid of spacing `gsd_m` whose centre node sits on map point `(cx, cy)`,
/// `half` metres from its edge nodes: the corner of the top-left pixel half a pixel beyond.
fn centred_transform((cx, cy): (f64, f64), half: f64, gsd_m: f64) -> GeoTransform {
    GeoTransform([
        cx - half - 0.5 * gsd_m,
        gsd_m,
        0.0,
        cy + half + 0.5 * gsd_m,
        0.0,
        -gsd_m,
    ])
}

/// The fine orthoimage: the terrain and its detail rendered on a grid of spacing `f.gsd_m`
/// centred on the site (a node on the site, as the DEM's centre node is), in the DEM's
/// projection.
fn fine_ortho(
    spec: &SiteSpec,
    f: &FineOrtho,
    grid_dem: &SiteDem,
    terrain: &Terrain,
    sun: Sun,
    dem: &Raster,
    (cx, cy): (f64, f64),
) -> Result<Raster, SimError> {
    let t = &spec.terrain;
    if !(f.gsd_m > 0.0 && f.gsd_m < t.gsd_m) {
        return Err(SimError::invalid(
            "fine ortho spacing",
            format!(
                "{} m: must be positive and finer than the DEM's {} m",
                f.gsd_m, t.gsd_m
            ),
        ));
    }
    let half = (0.5 * f.size_m / f.gsd_m).floor() * f.gsd_m;
    if !(half >= 8.0 * f.gsd_m && 2.0 * half <= t.size_m - 8.0 * t.gsd_m) {
        return Err(SimError::invalid(
            "fine ortho size",
            format!(
                "{} m: must span at least 16 of its pixels and lie within the {} m site",
                f.size_m, t.size_m
            ),
        ));
    }
    let detail = Detail::new(&DetailParams::continuing(t));
    let shadow = render::shadow_fraction(grid_dem, sun);
    let (patch, radiance) = render_patch_with(
        &Coarse::new(grid_dem, &terrain.albedo, &shadow)?,
        &detail,
        &|x, y| (x, y),
        &PatchArea {
            x: (-half, half),
            y: (-half, half),
            spacing_m: f.gsd_m,
            max_nodes: 64 << 20,
        },
        sun,
        spec.ortho_law,
    )?;
    Ok(Raster {
        width: patch.grid.width,
        height: patch.grid.height,
        data: radiance,
        transform: centred_transform((cx, cy), half, f.gsd_m),
        ..dem.clone()
    })
}

/// Writes `dem.tif`, `ortho.tif`, `albedo.tif` and `site.json` into `dir` (created if needed); each file
/// is written under a temporary name and renamed when complete.
///
/// # Errors
///
/// an I/O [`SimError::Dataset`] / [`SimError::Map`] when a file cannot be written.
pub fn write_site(dir: &Path, site: &Site) -> Result<SiteInfo, SimError> {
    std::fs::create_dir_all(dir).map_err(|e| SimError::write(dir, e))?;
    // Heights in 16 bits at 5 cm (+-1638 m), images in 8 bits: a tenth of the f32 size after
    // compression, and what orbital products often are.
    write_as(dir.join("dem.tif"), &site.dem, DEM_STORAGE)?;
    write_ortho(&dir.join("ortho.tif"), &site.ortho)?;
    // The albedo is the simulator's truth for rendering descent images (not a product a
    // navigator would have).
    let albedo = Raster {
        data: site.terrain.albedo.clone(),
        ..site.dem.clone()
    };
    write_as(
        dir.join("albedo.tif"),
        &albedo,
        Storage::U8 {
            scale: 2.0 / 254.0,
            offset: 0.0,
        },
    )?;
    let s = &site.spec;
    let info = SiteInfo {
        format: "trn-sim-site/1".into(),
        seed: s.terrain.seed,
        lat_deg: s.lat_deg,
        lon_deg: s.lon_deg,
        radius_m: MOON_RADIUS_M,
        size_m: s.terrain.size_m,
        gsd_m: s.terrain.gsd_m,
        projection: s.projection,
        ortho_sun_az_deg: s.ortho_sun.azimuth_deg,
        ortho_sun_el_deg: s.ortho_sun.elevation_deg,
        dem: "dem.tif".into(),
        ortho: "ortho.tif".into(),
        albedo: "albedo.tif".into(),
        craters: site.terrain.craters.len(),
        detail: Some(DetailParams::continuing(&s.terrain)),
        ortho_gsd_m: s.fine_ortho.map(|f| f.gsd_m),
        albedo_source: site.albedo_source.clone(),
        ortho_law: (s.ortho_law != crate::photometry::Law::LunarLambert).then_some(s.ortho_law),
    };
    let json = serde_json::to_string_pretty(&info)
        .map_err(|e| SimError::invalid("site.json", e.to_string()))?;
    trn_dataset::atomic::write_atomic(&dir.join("site.json"), json.as_bytes())?;
    Ok(info)
}

/// Writes an orthoimage as sites store it: 8 bits, the 99.9th percentile of its finite
/// values at 240.
///
/// # Errors
///
/// an I/O [`SimError::Map`] when the file cannot be written.
pub fn write_ortho(path: &Path, ortho: &Raster) -> Result<(), SimError> {
    let mut bright: Vec<f32> = ortho
        .data
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    // The 99.9th percentile, ranked `floor((n - 1) 0.999)`; `data/regenerate.sh` rebuilds
    // the shipped data bit for bit with this rank.
    let k = bright.len().saturating_sub(1) * 999 / 1000;
    let top =
        trn_flight::stats::kth_smallest(&mut bright, k).map_or(1.0, |v| f64::from(v).max(1e-6));
    write_as(
        path,
        ortho,
        Storage::U8 {
            scale: top / 240.0,
            offset: 0.0,
        },
    )?;
    Ok(())
}

/// Reads `site.json` of a site directory.
///
/// # Errors
///
/// an I/O [`SimError::Dataset`] when it cannot be read, an invalid-field [`SimError::Dataset`] naming the file when it is
/// not a trn-sim site description.
pub fn read_site_info(dir: &Path) -> Result<SiteInfo, SimError> {
    let path = dir.join("site.json");
    let text = std::fs::read_to_string(&path).map_err(|e| SimError::io(&path, e))?;
    let info: SiteInfo = serde_json::from_str(&text)
        .map_err(|e| SimError::invalid_file(&path, "site.json", e.to_string()))?;
    if info.format != "trn-sim-site/1" {
        return Err(SimError::invalid_file(
            &path,
            "format",
            format!("'{}', expected 'trn-sim-site/1'", info.format),
        ));
    }
    Ok(info)
}
