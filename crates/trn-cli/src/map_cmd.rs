//! `trn map build` and `trn map info`.

use crate::error::CliError;
use crate::progress::Bars;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;
use trn_flight::mapdb::{GridSection, MapDb};
use trn_map::build::{BuildParams, LandmarkSource};
use trn_map::render::Sun;
use trn_map::{Interpolation, mapdb};

#[derive(Debug, Subcommand)]
pub enum MapCommand {
    /// Build a map database from a DEM (and optionally an orthoimage) around a landing site.
    ///
    /// The DEM is resampled onto a grid of the site frame (east, north, up at the site), rendered
    /// under the given sun with lunar-Lambert shading and cast shadows, and landmarks are chosen
    /// on the render (Förstner interest, spread over the map, refused when their template looks
    /// like its own neighbourhood). The database holds the landmarks with templates at each
    /// pyramid level, a flight DEM, an overview render and the site parameters.
    ///
    /// Example:
    ///   trn map build --dem ldem.tif --site -85.3,31.2 --size-m 16000,16000 --gsd-m 2
    ///       --sun-az-deg 135 --sun-el-deg 3 -o site.trnmap
    Build(BuildArgs),
    /// Describe a map database after checking it with the flight parser.
    Info(InfoArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Source {
    /// The render of the DEM under --sun-* (times the orthoimage's albedo when given).
    Render,
    /// The orthoimage itself (when its illumination is the one the descent will see).
    Ortho,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Interp {
    /// Keys cubic convolution (smooth slopes; the default).
    Bicubic,
    /// Bilinear.
    Bilinear,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Orbital DEM: heights in metres above the body's reference sphere, in a lunar CRS
    /// (GeoTIFF; PDS3, PDS4 and ISIS3 too when built with `--features gdal`).
    #[arg(long, value_name = "DEM")]
    dem: PathBuf,
    /// Orthoimage co-registered with the DEM (any grid or CRS on the same sphere), used as
    /// albedo (divided by its median over the site) when it covers the site. With
    /// `--landmarks ortho` and a spacing finer than the DEM's (a landing-site mosaic), it
    /// also gives a second layer of landmarks at its own spacing over the square it covers.
    #[arg(long, value_name = "ORTHO")]
    ortho: Option<PathBuf>,
    /// Sun the orthoimage was taken under, azimuth and elevation in degrees: its shading of
    /// the DEM is divided out of the albedo, so the render relights the orthoimage under
    /// --sun-* (detail finer than the DEM keeps the orthoimage's own light). Without it the
    /// albedo is the orthoimage as it is, shading included.
    #[arg(long = "ortho-sun-deg", value_name = "AZ,EL", value_parser = pair, allow_hyphen_values = true, requires = "ortho")]
    ortho_sun_deg: Option<(f64, f64)>,
    /// Landing site, latitude and longitude in degrees: the site frame's origin and the map's
    /// centre.
    #[arg(long, value_name = "LAT,LON", value_parser = pair, allow_hyphen_values = true)]
    site: (f64, f64),
    /// Map extent east-west and north-south, metres.
    #[arg(long = "size-m", value_name = "W,H", value_parser = pair)]
    size_m: (f64, f64),
    /// Ground sample distance of the finest map level, metres per pixel.
    #[arg(long = "gsd-m", value_name = "G")]
    gsd_m: f64,
    /// Sun azimuth of the render, degrees clockwise from north.
    #[arg(long = "sun-az-deg", value_name = "A", allow_hyphen_values = true)]
    sun_az_deg: f64,
    /// Sun elevation of the render, degrees above the horizon at the site (0 < E <= 90).
    #[arg(long = "sun-el-deg", value_name = "E", allow_hyphen_values = true)]
    sun_el_deg: f64,
    /// Output map database (written to a temporary name, renamed when complete).
    #[arg(short, long, value_name = "MAP.trnmap")]
    output: PathBuf,
    /// 1-sigma vertical error of the DEM, metres (stored for the pose covariance).
    #[arg(long = "dem-sigma-m", value_name = "S", default_value_t = 2.0)]
    dem_sigma_m: f64,
    /// 1-sigma of the map's registration error against the body, metres per horizontal
    /// axis: an offset of the whole map, and a rotation and scale moving the landmarks by
    /// that much at a view's edge (stored for the pose covariance; 0: registered
    /// perfectly).
    #[arg(long = "registration-sigma-m", value_name = "S", default_value_t = 0.0)]
    registration_sigma_m: f64,
    /// Template side, pixels (odd, 11..=31).
    #[arg(long, value_name = "PX", default_value_t = 21)]
    template_side: usize,
    /// Most pyramid levels of each template (level k pixels are 2^k * G on the ground):
    /// coarse levels are dropped while fewer than --min-landmarks landmarks are unique and
    /// sharp at all of them.
    #[arg(long, value_name = "N", default_value_t = 3)]
    levels: usize,
    /// Fewest landmarks the map must have; a build that cannot choose that many with any
    /// number of levels fails, naming the setting that would help.
    #[arg(long, value_name = "N", default_value_t = 100)]
    min_landmarks: usize,
    /// Most landmarks to choose.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    max_landmarks: usize,
    /// Rings of landmark coverage around the site: the coverage cells halve in side each
    /// time the distance to the site halves (down to the minimum separation), so a descent
    /// closing on the site keeps landmarks in its shrinking view. 1: one even grid over the
    /// map.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=16))]
    nested_rings: u8,
    /// Image the landmarks are chosen on.
    #[arg(long, value_enum, default_value_t = Source::Render)]
    landmarks_on: Source,
    /// Largest ZNCC a template may reach against its own neighbourhood (uniqueness).
    #[arg(long, value_name = "R", default_value_t = 0.8)]
    max_self_similarity: f32,
    /// Interpolation of heights and image values.
    #[arg(long, value_enum, default_value_t = Interp::Bicubic)]
    interp: Interp,
    /// Largest side of the flight DEM stored in the database, nodes (a pyramid level of the
    /// map DEM is chosen to fit).
    #[arg(long, value_name = "N", default_value_t = 2049)]
    dem_max_side: usize,
    /// Largest side of the overview render stored in the database, pixels.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    overview_max_side: usize,
    /// Print a JSON summary on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// No per-stage timing lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The map database.
    #[arg(value_name = "MAP.trnmap")]
    map: PathBuf,
    /// Print JSON on stdout instead of text.
    #[arg(long)]
    json: bool,
}

fn pair(s: &str) -> Result<(f64, f64), String> {
    let mut it = s.split(',').map(|p| p.trim().parse::<f64>());
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(a)), Some(Ok(b)), None) if a.is_finite() && b.is_finite() => Ok((a, b)),
        _ => Err(format!(
            "expected two numbers separated by a comma (like 12.5,-3), got '{s}'"
        )),
    }
}

pub fn run(cmd: MapCommand) -> Result<(), CliError> {
    match cmd {
        MapCommand::Build(a) => build(a),
        MapCommand::Info(a) => info(a),
    }
}

#[derive(Debug, Serialize)]
struct BuildSummary {
    output: PathBuf,
    bytes: usize,
    site_lat_deg: f64,
    site_lon_deg: f64,
    grid: [usize; 2],
    gsd_m: f64,
    landmarks: usize,
    candidates: usize,
    not_unique: usize,
    too_close: usize,
    template_side: usize,
    /// Template levels of the landmarks, and the most asked for (`--levels`).
    levels: usize,
    levels_asked: usize,
    dem_grid: [usize; 2],
    dem_spacing_m: f64,
    overview_grid: [usize; 2],
    overview_spacing_m: f64,
    /// Landmarks of the fine orthoimage's layer (included in `landmarks`), its spacing and
    /// half side, metres.
    fine_landmarks: usize,
    fine_spacing_m: Option<f64>,
    fine_half_side_m: Option<f64>,
    seconds: f64,
}

fn build(a: BuildArgs) -> Result<(), CliError> {
    let t0 = Instant::now();
    let bars = Bars::new(a.quiet || a.json);
    let positive = |name: &str, v: f64| {
        if v > 0.0 && v.is_finite() {
            Ok(())
        } else {
            Err(CliError::BadInput(format!(
                "{name} must be positive, got {v}"
            )))
        }
    };
    positive("--gsd-m", a.gsd_m)?;
    positive("--size-m width", a.size_m.0)?;
    positive("--size-m height", a.size_m.1)?;
    if a.size_m.0 < 8.0 * a.gsd_m || a.size_m.1 < 8.0 * a.gsd_m {
        return Err(CliError::BadInput(format!(
            "--size-m {},{} is less than 8 pixels of --gsd-m {}",
            a.size_m.0, a.size_m.1, a.gsd_m
        )));
    }
    let dem = trn_map::io::read_raster(&a.dem)?;
    let ortho = a.ortho.as_ref().map(trn_map::io::read_raster).transpose()?;
    let mut p = BuildParams::new(
        a.site.0,
        a.site.1,
        a.size_m.0,
        a.size_m.1,
        a.gsd_m,
        Sun {
            azimuth_deg: a.sun_az_deg,
            elevation_deg: a.sun_el_deg,
        },
    );
    p.dem_sigma_m = a.dem_sigma_m;
    p.registration_sigma_m = a.registration_sigma_m;
    if let Some((az, el)) = a.ortho_sun_deg {
        if !(el > 0.0 && el <= 90.0) {
            return Err(CliError::BadInput(format!(
                "--ortho-sun-deg {az},{el}: the elevation must be in (0, 90] degrees"
            )));
        }
        p.ortho_sun = Some(Sun {
            azimuth_deg: az,
            elevation_deg: el,
        });
    }
    p.landmarks.template_side = a.template_side;
    p.landmarks.levels = a.levels;
    p.landmarks.max_landmarks = a.max_landmarks;
    p.landmarks.min_landmarks = a.min_landmarks;
    p.landmarks.nested_rings = usize::from(a.nested_rings);
    p.landmarks.max_self_similarity = a.max_self_similarity;
    p.landmark_source = match a.landmarks_on {
        Source::Render => LandmarkSource::Render,
        Source::Ortho => LandmarkSource::Ortho,
    };
    p.interpolation = match a.interp {
        Interp::Bicubic => Interpolation::Bicubic,
        Interp::Bilinear => Interpolation::Bilinear,
    };
    p.coarse_max_side = a.dem_max_side;
    p.overview_max_side = a.overview_max_side;
    let built = trn_map::build(&dem, ortho.as_ref(), &p, &bars).map_err(|e| match e {
        // Build errors name no file: say which input they are about.
        trn_map::MapError::Invalid { field, detail, .. } => {
            CliError::BadInput(format!("{}: invalid {field}: {detail}", a.dem.display()))
        }
        other => other.for_file(&a.dem).into(),
    })?;
    let bytes = mapdb::to_bytes(&built.contents())?;
    mapdb::write(&a.output, &built.contents())?;
    let s = BuildSummary {
        output: a.output.clone(),
        bytes: bytes.len(),
        site_lat_deg: a.site.0,
        site_lon_deg: a.site.1,
        grid: [built.dem.grid.width, built.dem.grid.height],
        gsd_m: a.gsd_m,
        landmarks: built.landmarks.len(),
        candidates: built.selection.candidates,
        not_unique: built.selection.not_unique,
        too_close: built.selection.too_close,
        template_side: built.template_side,
        levels: built.levels,
        levels_asked: a.levels,
        dem_grid: [built.coarse_dem.grid.width, built.coarse_dem.grid.height],
        dem_spacing_m: built.coarse_dem.grid.dx.abs(),
        overview_grid: [built.overview.grid.width, built.overview.grid.height],
        overview_spacing_m: built.overview.grid.dx.abs(),
        fine_landmarks: built.fine.map_or(0, |f| f.landmarks),
        fine_spacing_m: built.fine.map(|f| f.gsd_m),
        fine_half_side_m: built.fine.map(|f| f.half_side_m),
        seconds: t0.elapsed().as_secs_f64(),
    };
    if a.json {
        crate::progress::print_json(&s)?;
    } else {
        println!(
            "wrote {} ({:.1} MB) in {:.1} s\n  map grid      {} x {} at {} m\n  landmarks     {} \
             of {} candidates ({} not unique, {} too close), {} px templates x {} levels \
             (of {} asked)\n  \
             flight DEM    {} x {} at {} m\n  overview      {} x {} at {} m",
            s.output.display(),
            s.bytes as f64 / 1e6,
            s.seconds,
            s.grid[0],
            s.grid[1],
            s.gsd_m,
            s.landmarks,
            s.candidates,
            s.not_unique,
            s.too_close,
            s.template_side,
            s.levels,
            s.levels_asked,
            s.dem_grid[0],
            s.dem_grid[1],
            s.dem_spacing_m,
            s.overview_grid[0],
            s.overview_grid[1],
            s.overview_spacing_m
        );
        if let (Some(g), Some(h)) = (s.fine_spacing_m, s.fine_half_side_m) {
            println!(
                "  fine layer    {} landmarks at {g:.2} m from the orthoimage, over +-{h:.0} m",
                s.fine_landmarks
            );
        }
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct GridInfo {
    width: usize,
    height: usize,
    spacing_m: [f64; 2],
    origin_m: [f64; 2],
    min: Option<f32>,
    max: Option<f32>,
    missing: usize,
}

fn grid_info(g: &GridSection<'_>) -> GridInfo {
    let (mut min, mut max, mut missing) = (f32::INFINITY, f32::NEG_INFINITY, 0);
    for r in 0..g.grid.height {
        for c in 0..g.grid.width {
            match g.value(c, r) {
                Some(v) if v.is_finite() => {
                    min = min.min(v);
                    max = max.max(v);
                }
                _ => missing += 1,
            }
        }
    }
    GridInfo {
        width: g.grid.width,
        height: g.grid.height,
        spacing_m: [g.grid.dx, g.grid.dy],
        origin_m: [g.grid.x0, g.grid.y0],
        min: min.is_finite().then_some(min),
        max: max.is_finite().then_some(max),
        missing,
    }
}

#[derive(Debug, Serialize)]
struct LandmarkInfo {
    count: usize,
    template_side: usize,
    levels: usize,
    level0_pixel_m: Option<f32>,
    x_range_m: Option<[f64; 2]>,
    y_range_m: Option<[f64; 2]>,
}

#[derive(Debug, Serialize)]
struct Info {
    file: PathBuf,
    bytes: usize,
    radius_m: Option<f64>,
    site_lat_deg: Option<f64>,
    site_lon_deg: Option<f64>,
    dem_sigma_m: Option<f64>,
    registration_sigma_m: Option<f64>,
    sun_az_deg: Option<f64>,
    sun_el_deg: Option<f64>,
    dem: Option<GridInfo>,
    overview: Option<GridInfo>,
    landmarks: Option<LandmarkInfo>,
}

fn info(a: InfoArgs) -> Result<(), CliError> {
    let bytes = std::fs::read(&a.map).map_err(|source| trn_map::MapError::Io {
        file: a.map.clone(),
        source,
    })?;
    let db = MapDb::parse(&bytes).map_err(|detail| CliError::MapDb {
        file: a.map.clone(),
        detail,
    })?;
    let site = db.site();
    let landmarks = db.landmarks().map(|l| {
        let mut xr: Option<[f64; 2]> = None;
        let mut yr: Option<[f64; 2]> = None;
        let grow = |r: &mut Option<[f64; 2]>, v: f64| {
            *r = Some(match *r {
                Some([lo, hi]) => [lo.min(v), hi.max(v)],
                None => [v, v],
            });
        };
        let mut px = None;
        for lm in l.iter() {
            grow(&mut xr, lm.position.x);
            grow(&mut yr, lm.position.y);
            px = Some(lm.scale_m);
        }
        LandmarkInfo {
            count: l.len(),
            template_side: l.template_side(),
            levels: l.levels(),
            level0_pixel_m: px,
            x_range_m: xr,
            y_range_m: yr,
        }
    });
    let i = Info {
        file: a.map.clone(),
        bytes: bytes.len(),
        radius_m: site.map(|s| s.radius_m),
        site_lat_deg: site.map(|s| s.lat_deg),
        site_lon_deg: site.map(|s| s.lon_deg),
        dem_sigma_m: site.map(|s| s.dem_sigma_m),
        registration_sigma_m: site.map(|s| s.registration_sigma_m),
        sun_az_deg: site.map(|s| s.sun_az_deg),
        sun_el_deg: site.map(|s| s.sun_el_deg),
        dem: db.dem().as_ref().map(grid_info),
        overview: db.overview().as_ref().map(grid_info),
        landmarks,
    };
    if a.json {
        crate::progress::print_json(&i)?;
        return Ok(());
    }
    println!(
        "{}: trnmap v{}, {} bytes, checksums ok",
        i.file.display(),
        trn_flight::mapdb::VERSION,
        i.bytes
    );
    if let Some(s) = site {
        println!(
            "  site        {:.6} N, {:.6} E on a {} m sphere; DEM 1-sigma {} m; registration 1-sigma {} m",
            s.lat_deg, s.lon_deg, s.radius_m, s.dem_sigma_m, s.registration_sigma_m
        );
        println!(
            "  sun         azimuth {} deg, elevation {} deg",
            s.sun_az_deg, s.sun_el_deg
        );
    }
    for (name, g) in [("DEM", &i.dem), ("overview", &i.overview)] {
        match g {
            Some(g) => println!(
                "  {name:<11} {} x {} at {} m, values {:?}..{:?}, {} missing",
                g.width,
                g.height,
                g.spacing_m[0].abs(),
                g.min,
                g.max,
                g.missing
            ),
            None => println!("  {name:<11} absent"),
        }
    }
    match &i.landmarks {
        Some(l) => println!(
            "  landmarks   {} with {} px templates x {} levels (level 0 pixel {:?} m), \
             x {:?} m, y {:?} m",
            l.count, l.template_side, l.levels, l.level0_pixel_m, l.x_range_m, l.y_range_m
        ),
        None => println!("  landmarks   absent"),
    }
    Ok(())
}
