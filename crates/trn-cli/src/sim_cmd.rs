//! `trn sim site` and `trn sim descent`.

use crate::error::CliError;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;
use trn_dataset::DatasetError;
use trn_dataset::dataset::{CameraJson, DistortionJson};
use trn_map::render::Sun;
use trn_sim::SimError;
use trn_sim::albedo::read_albedo;
use trn_sim::camera_render::{Defects, Sensor};
use trn_sim::campaign::Knobs;
use trn_sim::descent::{DescentSpec, simulate};
use trn_sim::map_realism::{DemErrors, MapRealism, OrthoConditions, Registration};
use trn_sim::photometry::Law;
use trn_sim::sensors::{Fault, LrfParams, PriorModel, PriorParams};
use trn_sim::site::{FineOrtho, Projection, SiteSpec, make_site_with, write_site};
use trn_sim::terrain::TerrainParams;
use trn_sim::trajectory::DescentParams;

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Generate a synthetic lunar site: DEM, albedo and a rendered orthoimage as GeoTIFFs.
    ///
    /// The terrain is a fractal base (Hurst exponent, RMS slope) with craters following a
    /// power-law size-frequency distribution from a quarter of the site down to a few
    /// pixels (fresh and degraded, raised rims, ejecta), optional boulders, and an albedo
    /// with bright halos around fresh craters. Writes SITE_DIR/{dem,ortho,albedo}.tif and
    /// SITE_DIR/site.json. The same options and seed give the same files, bit for bit.
    Site(SiteArgs),
    /// Simulate a powered descent over a site and write a dataset (DATASET.md format).
    ///
    /// Braking, approach and terminal-vertical phases from --start-alt-m to --end-alt-m,
    /// images rendered by ray casting through the site DEM (lens distortion, PSF, shot and
    /// read noise, automatic exposure), a drifting inertial prior with the 1-sigma it
    /// reports, and a laser rangefinder with the faults you inject. The --prior-model,
    /// --frame-law, --map-* and camera defect options make the data differ from the truth
    /// as real data does (docs/REALISM.md); all are off by default.
    Descent(Box<DescentArgs>),
    /// Generate a Monte Carlo campaign: N dispersed descents (site latitude and terrain,
    /// sun, trajectory, prior errors, one rangefinder fault each), as datasets listed in
    /// DIR/campaign.json. Run it with `trn eval DIR --out OUT [--shard K/N]`. With
    /// --realism (or --realism-knob NAME) each descent also draws the realism knobs of
    /// docs/REALISM.md.
    Campaign(CampaignArgs),
    /// Generate the fault campaign of a dataset: one copy per camera or data fault (frames
    /// shifted by 2-50 px, scaled by 0.97 and 1.03, blurred, carrying the next or the
    /// previous frame's image; focal length stated 0.3-3 % wrong), each recording its fault
    /// and the frames it touched in faults.json, listed in DIR/campaign.json. Run it with
    /// `trn eval DIR --out OUT` and tabulate with `python3 scripts/fault_table.py DIR OUT`
    /// (docs/FAULTS.md).
    Faults(FaultsArgs),
}

#[derive(Debug, Args)]
pub struct FaultsArgs {
    /// The dataset to fault (its images and map are linked or copied, not changed).
    #[arg(long, value_name = "DATASET")]
    dataset: PathBuf,
    /// The first frame faulted (row of frames.csv, 0-based).
    #[arg(long, default_value_t = 3)]
    first: usize,
    /// Fault every this many frames from --first (the frames between are clean, to show
    /// whether a fault latches anything).
    #[arg(long, default_value_t = 6)]
    every: usize,
    /// Output campaign directory (must not exist or be empty).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
}

/// A site's fine orthoimage, for `trn sim site` and `trn sim campaign`.
#[derive(Debug, Args)]
pub struct FineOrthoArgs {
    /// Spacing of a fine orthoimage of the landing region, metres (finer than the DEM's;
    /// the terrain below the DEM's spacing is rendered into it, as a mission's landing-site
    /// mosaic shows what its DEM cannot). Without it the orthoimage is on the DEM's grid.
    #[arg(long, value_name = "M")]
    ortho_gsd_m: Option<f64>,
    /// Side of the square the fine orthoimage covers, centred on the site, metres.
    #[arg(
        long,
        value_name = "M",
        default_value_t = 2000.0,
        requires = "ortho_gsd_m"
    )]
    ortho_size_m: f64,
}

impl FineOrthoArgs {
    fn spec(&self) -> Option<FineOrtho> {
        self.ortho_gsd_m.map(|gsd_m| FineOrtho {
            gsd_m,
            size_m: self.ortho_size_m,
        })
    }
}

#[derive(Debug, Args)]
pub struct CampaignArgs {
    /// Number of descents.
    #[arg(long, default_value_t = 10)]
    n: usize,
    /// Seed of every dispersion.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Side of each site, metres.
    #[arg(long, default_value_t = 12_000.0)]
    size_m: f64,
    /// Site grid spacing, metres per pixel.
    #[arg(long, default_value_t = 12.0)]
    gsd_m: f64,
    /// Frames per descent.
    #[arg(long, default_value_t = 30)]
    frames: usize,
    /// Image width and height, pixels (45 degree field of view).
    #[arg(long, default_value_t = 512)]
    image_px: u32,
    #[command(flatten)]
    fine_ortho: FineOrthoArgs,
    /// Disperse every realism knob over the descents (each draws its own values from the
    /// ranges in docs/REALISM.md, recorded in campaign.json and each DATASET/realism.json):
    /// prior model, map misregistration, map sun, photometric laws, coarse map DEM, camera
    /// defects, and the real albedo when --albedo is given.
    #[arg(long, conflicts_with = "realism_knob")]
    realism: bool,
    /// Disperse one realism knob alone: prior, registration, ortho-sun, photometry, dem,
    /// defects or albedo (needs --albedo).
    #[arg(long, value_name = "NAME")]
    realism_knob: Option<String>,
    /// A real orbital image draped as every site's albedo under --realism or
    /// --realism-knob albedo (GeoTIFF, ISIS3 cube, PNG/PGM/TIFF).
    #[arg(long, value_name = "FILE")]
    albedo: Option<PathBuf>,
    /// Pixel size of the --albedo image on the ground, metres.
    #[arg(long, value_name = "M", requires = "albedo")]
    albedo_pixel_m: Option<f64>,
    /// Output directory (must not exist or be empty).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// Print campaign.json on stdout.
    #[arg(long)]
    json: bool,
}

/// A photometric law (see trn_sim::photometry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LawArg {
    /// McEwen's lunar-Lambert, times albedo, with cast shadows.
    LunarLambert,
    /// Lommel-Seeliger, times albedo, with cast shadows.
    LommelSeeliger,
    /// Hapke (isotropic multiple scattering, backscattering phase function, opposition
    /// surge), the albedo scaling the single-scattering albedo, with cast shadows.
    Hapke,
    /// Cosine of the incidence angle: no albedo, no cast shadows.
    Hillshade,
}

impl From<LawArg> for Law {
    fn from(l: LawArg) -> Self {
        match l {
            LawArg::LunarLambert => Law::LunarLambert,
            LawArg::LommelSeeliger => Law::LommelSeeliger,
            LawArg::Hapke => Law::Hapke,
            LawArg::Hillshade => Law::Hillshade,
        }
    }
}

/// Which map rasters a misregistration displaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Misregister {
    /// The orthoimage and the DEM together (one registration error of the whole map).
    Both,
    /// The orthoimage alone (the DEM stays registered to the body).
    Ortho,
}

/// How the dataset's map differs from the truth the frames are rendered from (every option
/// off by default: the map is the site's products as they are). The drawn values and the
/// resulting sigmas are recorded in DATASET/realism.json.
#[derive(Debug, Args)]
pub struct MapRealismArgs {
    /// Map misregistration: 1-sigma of the offset of the whole map per horizontal axis,
    /// metres (drawn per dataset from the seed).
    #[arg(long, value_name = "M", default_value_t = 0.0)]
    map_offset_sigma_m: f64,
    /// Map misregistration: 1-sigma of the map's rotation about its centre (the site),
    /// degrees.
    #[arg(long, value_name = "DEG", default_value_t = 0.0)]
    map_rotation_sigma_deg: f64,
    /// Map misregistration: 1-sigma of the map's scale error about its centre, a fraction
    /// (0.01 = 1 %).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    map_scale_sigma: f64,
    /// Map misregistration: RMS of a smooth local warp per horizontal axis, metres.
    #[arg(long, value_name = "M", default_value_t = 0.0)]
    map_warp_rms_m: f64,
    /// Size of the warp's features, metres (wavelengths from this to twice this).
    #[arg(long, value_name = "M", default_value_t = 1000.0)]
    map_warp_scale_m: f64,
    /// Which rasters the misregistration displaces: both (orthoimage and DEM) or ortho.
    #[arg(long, value_enum, default_value_t = Misregister::Both)]
    map_misregister: Misregister,
    /// Orthoimage sun azimuth minus the frames' sun azimuth, degrees (re-renders the
    /// orthoimage; dataset.json's map.ortho_sun states its sun).
    #[arg(
        long,
        value_name = "DEG",
        default_value_t = 0.0,
        allow_hyphen_values = true
    )]
    map_sun_az_offset_deg: f64,
    /// Orthoimage sun elevation minus the frames' sun elevation, degrees.
    #[arg(
        long,
        value_name = "DEG",
        default_value_t = 0.0,
        allow_hyphen_values = true
    )]
    map_sun_el_offset_deg: f64,
    /// Photometric law of the orthoimage (re-renders it; hillshade: the DEM's shading
    /// without albedo or shadows) [default: the site's orthoimage, lunar-lambert].
    #[arg(long, value_enum)]
    map_law: Option<LawArg>,
    /// Map DEM: posts of the truth per post of the written DEM (the truth low-passed, then
    /// decimated; 1 = the truth's grid), a count.
    #[arg(long, value_name = "N", default_value_t = 1)]
    map_dem_decimation: usize,
    /// Map DEM: RMS of an error correlated over about 4 to 8 posts added to it, metres.
    /// dataset.json's dem_sigma_m then states the measured RMS difference from the truth
    /// (with the terrain below the site's spacing in quadrature) unless --dem-sigma-m is given.
    #[arg(long, value_name = "M", default_value_t = 0.0)]
    map_dem_noise_rms_m: f64,
}

impl MapRealismArgs {
    fn spec(&self) -> MapRealism {
        MapRealism {
            registration: Registration {
                offset_sigma_m: self.map_offset_sigma_m,
                rotation_sigma_deg: self.map_rotation_sigma_deg,
                scale_sigma: self.map_scale_sigma,
                warp_rms_m: self.map_warp_rms_m,
                warp_scale_m: self.map_warp_scale_m,
                ortho_only: self.map_misregister == Misregister::Ortho,
            },
            ortho: OrthoConditions {
                sun_az_offset_deg: self.map_sun_az_offset_deg,
                sun_el_offset_deg: self.map_sun_el_offset_deg,
                law: self.map_law.map(Law::from),
            },
            dem: DemErrors {
                decimation: self.map_dem_decimation,
                noise_rms_m: self.map_dem_noise_rms_m,
                ..DemErrors::default()
            },
        }
    }
}

/// Defects of the descent camera (every option off by default).
#[derive(Debug, Args)]
pub struct DefectArgs {
    /// Fraction of hot pixels (0..1): each holds a dark signal of 50 to 100 % of the full
    /// well, the same pixels on every frame.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    hot_pixel_fraction: f64,
    /// RMS of a fixed offset per column, digital numbers (DN).
    #[arg(long, value_name = "DN", default_value_t = 0.0)]
    column_offset_rms_dn: f64,
    /// JPEG-like compression at this quality, 1..100 (8x8 block DCT quantised with the JPEG
    /// luminance table) [default: none].
    #[arg(long, value_name = "Q")]
    jpeg_quality: Option<u8>,
    /// Motion smear during the exposure, pixels along the frame's image motion.
    #[arg(long, value_name = "PX", default_value_t = 0.0)]
    smear_px: f64,
    /// Fraction of lit pixels exposed beyond the full well, which clip there (0..0.5;
    /// 0: the automatic exposure that saturates nearly nothing).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    saturation_fraction: f64,
}

impl DefectArgs {
    fn spec(&self) -> Defects {
        Defects {
            hot_pixel_fraction: self.hot_pixel_fraction,
            column_offset_rms_dn: self.column_offset_rms_dn,
            jpeg_quality: self.jpeg_quality,
            smear_px: self.smear_px,
            saturation_fraction: self.saturation_fraction,
            pattern_seed: 0,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PriorModelArg {
    /// Inertial drift: errors correlated from frame to frame.
    Drift,
    /// Each frame's error drawn independently.
    Independent,
    /// Drift plus an independent part.
    Mix,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Proj {
    /// Polar stereographic on the site's pole.
    Polar,
    /// Equirectangular, true scale at the site's latitude.
    Equirectangular,
}

#[derive(Debug, Args)]
pub struct SiteArgs {
    /// Seed of the terrain.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Site latitude, degrees.
    #[arg(long, default_value_t = -85.3, allow_hyphen_values = true)]
    lat_deg: f64,
    /// Site longitude, degrees.
    #[arg(long, default_value_t = 31.2, allow_hyphen_values = true)]
    lon_deg: f64,
    /// Side of the square site, metres.
    #[arg(long, default_value_t = 8000.0)]
    size_m: f64,
    /// Grid spacing, metres per pixel.
    #[arg(long, default_value_t = 2.0)]
    gsd_m: f64,
    /// Map projection of the GeoTIFFs.
    #[arg(long, value_enum, default_value_t = Proj::Polar)]
    projection: Proj,
    /// Hurst exponent of the fractal base (0.5..1).
    #[arg(long, default_value_t = 0.9)]
    hurst: f64,
    /// RMS slope of the fractal base at a 10-pixel baseline, degrees.
    #[arg(long, default_value_t = 4.0)]
    rms_slope_deg: f64,
    /// K in N(>D) = K D^-b craters per km^2 (D in km); lunar equilibrium ~0.08.
    #[arg(long, default_value_t = 0.08)]
    crater_density: f64,
    /// b, the cumulative size-frequency slope.
    #[arg(long, default_value_t = 2.0)]
    sfd_slope: f64,
    /// Smallest crater diameter, pixels.
    #[arg(long, default_value_t = 5.0)]
    min_crater_px: f64,
    /// Fraction of fresh craters (0..1).
    #[arg(long, default_value_t = 0.1)]
    fresh_fraction: f64,
    /// No boulders around fresh craters.
    #[arg(long)]
    no_boulders: bool,
    /// Sun azimuth of the orthoimage, degrees clockwise from north.
    #[arg(long, default_value_t = 135.0, allow_hyphen_values = true)]
    sun_az_deg: f64,
    /// Sun elevation of the orthoimage, degrees.
    #[arg(long, default_value_t = 12.0)]
    sun_el_deg: f64,
    #[command(flatten)]
    fine_ortho: FineOrthoArgs,
    /// Photometric law of the orthoimage (see `trn sim descent --frame-law`).
    #[arg(long, value_enum, default_value_t = LawArg::LunarLambert)]
    ortho_law: LawArg,
    /// A real orbital image to drape over the terrain as its albedo (GeoTIFF or any raster
    /// trn-map reads, an ISIS3 cube, or a PNG/PGM/TIFF image), centred on the site, north up,
    /// mirror-tiled over a larger site, normalised to mean 1: frames then carry real lunar
    /// texture. Best with --gsd-m near its pixel size (a coarser grid block-averages it).
    #[arg(long, value_name = "FILE")]
    albedo: Option<PathBuf>,
    /// Pixel size of the --albedo image on the ground, metres (required for cubes and plain
    /// images; overrides a GeoTIFF's).
    #[arg(long, value_name = "M", requires = "albedo")]
    albedo_pixel_m: Option<f64>,
    /// Output directory.
    #[arg(short, long, value_name = "SITE_DIR")]
    output: PathBuf,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
    /// The most memory the generation may need, GiB: a site whose size and spacing need
    /// more (an estimate, about 40 bytes per grid node) is refused before anything is
    /// allocated. Default: three quarters of this machine's memory.
    #[arg(long, value_name = "GIB")]
    max_memory_gb: Option<f64>,
}

#[derive(Debug, Args)]
pub struct DescentArgs {
    /// Site directory written by `trn sim site`.
    #[arg(long, value_name = "SITE_DIR")]
    site: PathBuf,
    /// Seed of the trajectory dispersions, image noise, prior and rangefinder errors.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Dataset name written to dataset.json.
    #[arg(long, default_value = "sim-descent")]
    name: String,
    /// Number of frames, evenly spaced in time.
    #[arg(long, default_value_t = 60)]
    frames: usize,
    /// Altitude of the first frame above the reference sphere, metres.
    #[arg(long, default_value_t = 15_000.0)]
    start_alt_m: f64,
    /// Altitude of the last frame, metres: above the reference sphere, or with
    /// --end-above-ground above the ground at the landing point.
    #[arg(long, default_value_t = 50.0)]
    end_alt_m: f64,
    /// Measure --end-alt-m above the ground at the landing point (the site's origin), as a
    /// lander's terminal gates are, rather than above the reference sphere.
    #[arg(long)]
    end_above_ground: bool,
    /// Horizontal distance from the site at the first frame, metres.
    #[arg(long, default_value_t = 3000.0)]
    uprange_m: f64,
    /// Ground track azimuth, degrees clockwise from north.
    #[arg(long, default_value_t = 30.0, allow_hyphen_values = true)]
    track_az_deg: f64,
    /// Descent duration, seconds.
    #[arg(long, default_value_t = 480.0)]
    duration_s: f64,
    /// Camera off-nadir angle during braking, degrees.
    #[arg(long, default_value_t = 20.0)]
    off_nadir_deg: f64,
    /// Scale of the trajectory dispersions (0: nominal).
    #[arg(long, default_value_t = 1.0)]
    dispersion: f64,
    /// Image width and height, pixels.
    #[arg(long, default_value_t = 1024)]
    image_px: u32,
    /// Full field of view across the image, degrees.
    #[arg(long, default_value_t = 45.0)]
    fov_deg: f64,
    /// Radial distortion k1 (Brown-Conrady).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    k1: f64,
    /// Radial distortion k2.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    k2: f64,
    /// Bits per pixel: 8, or 12 (stored in 16-bit PNGs).
    #[arg(long, default_value_t = 8)]
    bits: u32,
    /// Gaussian PSF sigma, pixels.
    #[arg(long, default_value_t = 0.6)]
    psf_sigma_px: f64,
    /// Read noise, electrons (full well 20000 e-).
    #[arg(long, default_value_t = 15.0)]
    read_noise_e: f64,
    /// Sun azimuth during the descent, degrees (default: the site's orthoimage sun).
    #[arg(long, allow_hyphen_values = true)]
    sun_az_deg: Option<f64>,
    /// Sun elevation during the descent, degrees (default: the orthoimage's).
    #[arg(long)]
    sun_el_deg: Option<f64>,
    /// Initial prior position error, 1-sigma per axis, metres.
    #[arg(long, default_value_t = 150.0)]
    prior_sigma_m: f64,
    /// Initial prior attitude error, 1-sigma per axis, degrees.
    #[arg(long, default_value_t = 0.1)]
    prior_sigma_deg: f64,
    /// How the prior's error relates from frame to frame: `drift` (inertial drift,
    /// correlated), `independent` (each frame drawn independently with the same declared
    /// 1-sigma, position and attitude), `mix` (drift plus an independent part,
    /// --prior-mix-fraction of the variance). The declared sigmas are the same under all.
    #[arg(long, value_enum, default_value_t = PriorModelArg::Drift)]
    prior_model: PriorModelArg,
    /// With --prior-model mix: the fraction of the prior error's variance drawn
    /// independently per frame, 0..1 (dimensionless).
    #[arg(long, value_name = "F", default_value_t = 0.5)]
    prior_mix_fraction: f64,
    /// Rangefinder: no reading above this altitude, metres.
    #[arg(long, default_value_t = f64::INFINITY)]
    lrf_max_alt_m: f64,
    /// Rangefinder maximum range, metres.
    #[arg(long, default_value_t = 20_000.0)]
    lrf_max_range_m: f64,
    /// Inject a rangefinder fault (repeatable): stuck@F1-F2, bias:METRES@F1-F2,
    /// dropout@F1-F2, spurious:FRACTION@F (frames are 0-based, ranges inclusive).
    #[arg(long = "lrf-fault", value_name = "SPEC")]
    lrf_faults: Vec<String>,
    /// 1-sigma DEM error written to dataset.json, metres [default: the RMS height of the
    /// site's terrain below its DEM's spacing, which the DEM leaves out; 0.5 for a site
    /// made before trn-sim rendered that terrain].
    #[arg(long, value_name = "M")]
    dem_sigma_m: Option<f64>,
    /// Photometric law of the frames (lunar-lambert is the site's orthoimage's).
    #[arg(long, value_enum, default_value_t = LawArg::LunarLambert)]
    frame_law: LawArg,
    #[command(flatten)]
    map: MapRealismArgs,
    #[command(flatten)]
    defects: DefectArgs,
    /// Output dataset directory (must not exist, be empty, or be a dataset, which is replaced
    /// whole once the new one is complete).
    #[arg(short, long, value_name = "DATASET_DIR")]
    output: PathBuf,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
    /// The most memory the simulation may need, GiB: a site and camera that need more (an
    /// estimate from the site's rasters and the image size) are refused before anything is
    /// allocated. Default: three quarters of this machine's memory.
    #[arg(long, value_name = "GIB")]
    max_memory_gb: Option<f64>,
}

fn sim_err(e: SimError) -> CliError {
    match e {
        SimError::Map(m) => m.into(),
        // An input that cannot be read is the caller's to fix; an output that cannot be
        // written is a failure.
        SimError::Dataset(d @ DatasetError::Io { .. }) => CliError::BadInput(d.to_string()),
        SimError::Dataset(d @ DatasetError::Write { .. }) => CliError::Failed(d.to_string()),
        SimError::Dataset(d @ (DatasetError::Invalid { .. } | DatasetError::Busy { .. })) => {
            CliError::BadInput(d.to_string())
        }
    }
}

fn spinner(msg: &'static str) -> ProgressBar {
    let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    b.set_style(
        ProgressStyle::with_template("{msg} {spinner} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    b.set_message(msg);
    b.enable_steady_tick(std::time::Duration::from_millis(120));
    b
}

pub fn run(cmd: SimCommand) -> Result<(), CliError> {
    match cmd {
        SimCommand::Site(a) => site(a),
        SimCommand::Descent(a) => descent(*a),
        SimCommand::Campaign(a) => campaign(a),
        SimCommand::Faults(a) => faults(a),
    }
}

fn faults(a: FaultsArgs) -> Result<(), CliError> {
    let t0 = Instant::now();
    let n = trn_sim::faults::standard().len();
    let bar = crate::progress::bar(n as u64, "{msg:>10} [{bar:40}] {pos}/{len} faults ({eta})");
    bar.set_message("writing");
    let records = trn_sim::faults::write_fault_campaign(
        &a.dataset,
        a.first,
        a.every,
        &a.output,
        &|done, _| bar.set_position(done as u64),
    )
    .map_err(sim_err)?;
    bar.finish_and_clear();
    println!(
        "wrote {} fault datasets ({} frames faulted in each frame fault) to {} in {:.1} s",
        records.len(),
        records
            .iter()
            .find(|r| !r.fault.whole_dataset())
            .map_or(0, |r| r.frames.len()),
        a.output.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn campaign(a: CampaignArgs) -> Result<(), CliError> {
    let t0 = Instant::now();
    let bar = crate::progress::bar(
        a.n as u64,
        "{msg:>10} [{bar:40}] {pos}/{len} descents ({eta})",
    );
    let albedo = match &a.albedo {
        Some(f) => Some(read_albedo(f, a.albedo_pixel_m).map_err(sim_err)?),
        None => None,
    };
    let realism = match (&a.realism_knob, a.realism) {
        (Some(k), _) => Knobs::only(k).map_err(sim_err)?,
        (None, true) => Knobs::all(albedo.is_some()),
        (None, false) => Knobs::default(),
    };
    bar.set_message("simulating");
    let c = trn_sim::campaign::generate_with(
        &a.output,
        &trn_sim::campaign::CampaignSpec {
            n: a.n,
            seed: a.seed,
            size_m: a.size_m,
            gsd_m: a.gsd_m,
            frames: a.frames,
            image_px: a.image_px,
            fine_ortho: a.fine_ortho.spec(),
            realism,
        },
        albedo.as_ref(),
        &|done, _| bar.set_position(done as u64),
    )
    .map_err(sim_err)?;
    bar.finish_and_clear();
    if a.json {
        crate::progress::print_json(&c)?;
    } else {
        println!(
            "wrote {} descents to {} in {:.1} s",
            c.datasets.len(),
            a.output.display(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct SiteSummary {
    output: PathBuf,
    size_px: usize,
    craters: usize,
    seconds: f64,
}

fn site(a: SiteArgs) -> Result<(), CliError> {
    let t0 = Instant::now();
    let spec = SiteSpec {
        terrain: TerrainParams {
            seed: a.seed,
            size_m: a.size_m,
            gsd_m: a.gsd_m,
            hurst: a.hurst,
            rms_slope_deg: a.rms_slope_deg,
            crater_density: a.crater_density,
            sfd_slope: a.sfd_slope,
            min_crater_px: a.min_crater_px,
            fresh_fraction: a.fresh_fraction,
            boulders: !a.no_boulders,
        },
        lat_deg: a.lat_deg,
        lon_deg: a.lon_deg,
        projection: match a.projection {
            Proj::Polar => Projection::Polar,
            Proj::Equirectangular => Projection::Equirectangular,
        },
        ortho_sun: Sun {
            azimuth_deg: a.sun_az_deg,
            elevation_deg: a.sun_el_deg,
        },
        fine_ortho: a.fine_ortho.spec(),
        ortho_law: a.ortho_law.into(),
    };
    if !(0.5..=1.0).contains(&a.hurst) {
        return Err(CliError::BadInput(format!(
            "--hurst {} outside 0.5..1",
            a.hurst
        )));
    }
    let albedo = match &a.albedo {
        Some(f) => Some(read_albedo(f, a.albedo_pixel_m).map_err(sim_err)?),
        None => None,
    };
    let bar = spinner("generating terrain and rendering the orthoimage");
    let limit = trn_dataset::budget::limit_bytes(a.max_memory_gb)
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    trn_dataset::budget::check(
        &format!("a site of {} m at {} m", a.size_m, a.gsd_m),
        trn_sim::site::memory_estimate(&spec),
        limit,
    )
    .map_err(|e| CliError::BadInput(e.to_string()))?;
    let site = make_site_with(&spec, albedo.as_ref()).map_err(sim_err)?;
    bar.set_message("writing GeoTIFFs");
    let info = write_site(&a.output, &site).map_err(sim_err)?;
    bar.finish_and_clear();
    let s = SiteSummary {
        output: a.output.clone(),
        size_px: site.terrain.width,
        craters: info.craters,
        seconds: t0.elapsed().as_secs_f64(),
    };
    if a.json {
        crate::progress::print_json(&s)?;
    } else {
        println!(
            "wrote {} ({} x {} px, {} craters and boulders) in {:.1} s",
            s.output.display(),
            s.size_px,
            s.size_px,
            s.craters,
            s.seconds
        );
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct DescentOut {
    output: PathBuf,
    frames: usize,
    first_alt_m: f64,
    last_alt_m: f64,
    min_coverage: f64,
    lrf_readings: usize,
    lrf_faults: usize,
    seconds: f64,
}

fn descent(a: DescentArgs) -> Result<(), CliError> {
    let t0 = Instant::now();
    let max_side = trn_dataset::dataset::MAX_IMAGE_SIDE;
    if a.image_px == 0 || a.image_px > max_side {
        return Err(CliError::BadInput(format!(
            "--image-px {}: 1 to {max_side} pixels",
            a.image_px
        )));
    }
    let max_frames = trn_sim::descent::MAX_FRAMES;
    if !(2..=max_frames).contains(&a.frames) {
        return Err(CliError::BadInput(format!(
            "--frames {}: 2 to {max_frames}",
            a.frames
        )));
    }
    if !(a.fov_deg > 1.0 && a.fov_deg < 150.0) {
        return Err(CliError::BadInput(format!(
            "--fov-deg {} outside 1..150",
            a.fov_deg
        )));
    }
    let faults = a
        .lrf_faults
        .iter()
        .map(|s| Fault::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(sim_err)?;
    let px = f64::from(a.image_px);
    let f = 0.5 * px / (0.5 * a.fov_deg.to_radians()).tan();
    let c = 0.5 * (px - 1.0);
    let sun = match (a.sun_az_deg, a.sun_el_deg) {
        (Some(az), Some(el)) => Some(Sun {
            azimuth_deg: az,
            elevation_deg: el,
        }),
        (None, None) => None,
        _ => {
            return Err(CliError::BadInput(
                "give both --sun-az-deg and --sun-el-deg, or neither".into(),
            ));
        }
    };
    let spec = DescentSpec {
        name: a.name.clone(),
        seed: a.seed,
        frames: a.frames,
        trajectory: DescentParams {
            start_alt_m: a.start_alt_m,
            end_alt_m: a.end_alt_m,
            uprange_m: a.uprange_m,
            track_az_deg: a.track_az_deg,
            braking_off_nadir_deg: a.off_nadir_deg,
            duration_s: a.duration_s,
            dispersion: a.dispersion,
            ..DescentParams::default()
        },
        camera: CameraJson {
            model: "pinhole".into(),
            width: a.image_px,
            height: a.image_px,
            fx: f,
            fy: f,
            cx: c,
            cy: c,
            distortion: DistortionJson {
                k1: a.k1,
                k2: a.k2,
                ..DistortionJson::default()
            },
            sigma: None,
        },
        sensor: Sensor {
            psf_sigma_px: a.psf_sigma_px,
            read_noise_e: a.read_noise_e,
            bits: a.bits,
            ..Sensor::default()
        },
        sun,
        prior: PriorParams {
            pos_sigma0_m: a.prior_sigma_m,
            att_sigma0_deg: a.prior_sigma_deg,
            model: match a.prior_model {
                PriorModelArg::Drift => PriorModel::Drift,
                PriorModelArg::Independent => PriorModel::Independent,
                PriorModelArg::Mix => PriorModel::Mix {
                    independent_fraction: a.prior_mix_fraction,
                },
            }
            .validate()
            .map_err(sim_err)?,
            ..PriorParams::default()
        },
        lrf: LrfParams {
            max_alt_m: a.lrf_max_alt_m,
            max_range_m: a.lrf_max_range_m,
            faults,
            ..LrfParams::default()
        },
        dem_sigma_m: a.dem_sigma_m,
        end_above_ground: a.end_above_ground,
        map: a.map.spec(),
        frame_law: a.frame_law.into(),
        defects: a.defects.spec(),
    };
    let bar = crate::progress::bar(
        a.frames as u64,
        "{msg:>10} [{bar:40}] {pos}/{len} frames ({eta})",
    );
    bar.set_message("rendering");
    let limit = trn_dataset::budget::limit_bytes(a.max_memory_gb)
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    trn_dataset::budget::check(
        &format!(
            "a descent of {} x {} pixel frames over {}",
            a.image_px,
            a.image_px,
            a.site.display()
        ),
        trn_sim::descent::memory_estimate(&a.site, &spec),
        limit,
    )
    .map_err(|e| CliError::BadInput(e.to_string()))?;
    let summary = simulate(&a.site, &spec, &a.output, &|done, _| {
        bar.set_position(done as u64)
    })
    .map_err(sim_err)?;
    bar.finish_and_clear();
    let s = DescentOut {
        output: a.output.clone(),
        frames: summary.frames,
        first_alt_m: summary.altitudes_m.0,
        last_alt_m: summary.altitudes_m.1,
        min_coverage: summary.min_coverage,
        lrf_readings: summary.lrf_readings,
        lrf_faults: summary.lrf_faults,
        seconds: t0.elapsed().as_secs_f64(),
    };
    if a.json {
        crate::progress::print_json(&s)?;
    } else {
        println!(
            "wrote {}: {} frames from {:.0} m to {:.0} m, rangefinder {} readings ({} faulty), \
             least map coverage in a frame {:.1}%, {:.1} s",
            s.output.display(),
            s.frames,
            s.first_alt_m,
            s.last_alt_m,
            s.lrf_readings,
            s.lrf_faults,
            100.0 * s.min_coverage,
            s.seconds
        );
        if s.min_coverage < 0.9 {
            eprintln!(
                "trn: warning: some frames see beyond the map ({:.1}% coverage): use a larger \
                 site, a smaller field of view or a lower start altitude",
                100.0 * s.min_coverage
            );
        }
    }
    Ok(())
}
