//! Monte Carlo campaigns: N dispersed descents (site, sun, trajectory, prior, rangefinder
//! faults), each a dataset, listed in `campaign.json`.

use crate::camera_render::Sensor;
use crate::descent::{DescentSpec, simulate};
use crate::error::SimError;
use crate::sensors::{Fault, FaultKind, LrfParams, PriorParams};
use crate::site::{FineOrtho, Projection, SiteSpec, make_site, write_site};
use crate::terrain::TerrainParams;
use crate::trajectory::DescentParams;
use serde::{Deserialize, Serialize};
use std::path::Path;
use trn_dataset::dataset::{CameraJson, DistortionJson};
use trn_flight::rng::Pcg32;
use trn_map::render::Sun;

/// The format tag of `campaign.json`.
pub const FORMAT: &str = "trn-campaign/1";

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CampaignSpec {
    /// Number of descents.
    pub n: usize,
    /// Seed of every dispersion.
    pub seed: u64,
    /// Side of each site, metres.
    pub size_m: f64,
    /// Site grid spacing, metres.
    pub gsd_m: f64,
    /// Frames per descent.
    pub frames: usize,
    /// Image side, pixels (45 degree field of view).
    pub image_px: u32,
    /// A fine orthoimage of each landing region (None: on the DEM's grid).
    pub fine_ortho: Option<FineOrtho>,
}

/// `campaign.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignJson {
    /// Always [`FORMAT`].
    pub format: String,
    /// Seed.
    pub seed: u64,
    /// Dataset directories, relative to the campaign directory, in order.
    pub datasets: Vec<String>,
}

/// Reads `campaign.json` of a campaign directory (`None` when there is none: a plain
/// dataset).
///
/// # Errors
///
/// an invalid-field [`SimError::Dataset`] naming the file when it is not a campaign description.
pub fn read_campaign(dir: &Path) -> Result<Option<CampaignJson>, SimError> {
    let path = dir.join("campaign.json");
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| SimError::io(&path, e))?;
    let c: CampaignJson = serde_json::from_str(&text)
        .map_err(|e| SimError::invalid_file(&path, "json", e.to_string()))?;
    if c.format != FORMAT {
        return Err(SimError::invalid_file(
            &path,
            "format",
            format!("'{}', expected '{FORMAT}'", c.format),
        ));
    }
    Ok(Some(c))
}

/// Generates the campaign into `dir` (which must not exist or be empty); `progress(done,
/// total)` after each descent.
///
/// # Errors
///
/// As [`make_site`], [`write_site`] and [`simulate`].
pub fn generate(
    dir: &Path,
    spec: &CampaignSpec,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<CampaignJson, SimError> {
    if spec.n == 0 || spec.frames < 2 {
        return Err(SimError::invalid(
            "campaign",
            format!("{} descents of {} frames", spec.n, spec.frames),
        ));
    }
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(SimError::invalid(
            "output",
            format!("{} exists and is not empty", dir.display()),
        ));
    }
    std::fs::create_dir_all(dir.join("sites")).map_err(|e| SimError::write(dir, e))?;
    let mut names = Vec::with_capacity(spec.n);
    for i in 0..spec.n {
        let mut rng = Pcg32::new(spec.seed, i as u64);
        let mut u = |lo: f64, hi: f64| lo + (hi - lo) * rng.next_f64();
        let polar = u(0.0, 1.0) < 0.5;
        let lat = if polar {
            -u(80.0, 89.0)
        } else {
            u(-60.0, 60.0)
        };
        let lon = u(-180.0, 180.0);
        let sun = Sun {
            azimuth_deg: u(0.0, 360.0),
            elevation_deg: u(3.0, 40.0),
        };
        let seed_i = spec.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
        let site = make_site(&SiteSpec {
            terrain: TerrainParams {
                seed: seed_i,
                size_m: spec.size_m,
                gsd_m: spec.gsd_m,
                ..TerrainParams::default()
            },
            lat_deg: lat,
            lon_deg: lon,
            projection: if polar {
                Projection::Polar
            } else {
                Projection::Equirectangular
            },
            ortho_sun: sun,
            fine_ortho: spec.fine_ortho,
        })?;
        let site_dir = dir.join("sites").join(format!("site-{i:03}"));
        write_site(&site_dir, &site)?;
        let start = u(0.35, 0.6) * spec.size_m;
        let f = 0.5 * f64::from(spec.image_px) / (22.5f64).to_radians().tan();
        let c = 0.5 * (f64::from(spec.image_px) - 1.0);
        let kind = match (u(0.0, 4.0)) as u32 {
            0 => FaultKind::Stuck,
            1 => FaultKind::Bias(u(15.0, 60.0)),
            2 => FaultKind::Dropout,
            _ => FaultKind::Spurious(u(0.3, 0.8)),
        };
        let first = (spec.frames as f64 * u(0.5, 0.75)) as usize;
        let name = format!("descent-{i:03}");
        let descent = DescentSpec {
            name: name.clone(),
            seed: seed_i,
            frames: spec.frames,
            trajectory: DescentParams {
                start_alt_m: start,
                end_alt_m: 50.0,
                uprange_m: u(0.05, 0.2) * spec.size_m,
                track_az_deg: u(0.0, 360.0),
                duration_s: u(300.0, 500.0),
                ..DescentParams::default()
            },
            camera: CameraJson {
                model: "pinhole".into(),
                width: spec.image_px,
                height: spec.image_px,
                fx: f,
                fy: f,
                cx: c,
                cy: c,
                distortion: DistortionJson::default(),
            },
            sensor: Sensor::default(),
            sun: Some(sun),
            prior: PriorParams {
                pos_sigma0_m: u(50.0, 250.0),
                ..PriorParams::default()
            },
            lrf: LrfParams {
                max_alt_m: u(0.3, 0.8) * start,
                faults: vec![Fault {
                    kind,
                    first,
                    last: (first + 1).min(spec.frames - 1),
                }],
                ..LrfParams::default()
            },
            dem_sigma_m: None,
            end_above_ground: true,
            map: Default::default(),
            frame_law: Default::default(),
            defects: Default::default(),
        };
        simulate(&site_dir, &descent, &dir.join(&name), &|_, _| {})?;
        names.push(name);
        progress(i + 1, spec.n);
    }
    let c = CampaignJson {
        format: FORMAT.into(),
        seed: spec.seed,
        datasets: names,
    };
    let json = serde_json::to_string_pretty(&c)
        .map_err(|e| SimError::invalid("campaign.json", e.to_string()))?;
    trn_dataset::atomic::write_atomic(&dir.join("campaign.json"), (json + "\n").as_bytes())?;
    Ok(c)
}
