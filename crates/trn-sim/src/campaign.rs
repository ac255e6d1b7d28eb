//! Monte Carlo campaigns: N dispersed descents (site, sun, trajectory, prior, rangefinder
//! faults), each a dataset, listed in `campaign.json`; optionally with realism knobs (prior
//! model, map misregistration, another sun and photometric law for the map, a coarser map
//! DEM, camera defects, a real albedo) drawn per descent and recorded in `campaign.json`.

use crate::albedo::AlbedoImage;
use crate::camera_render::Defects;
use crate::camera_render::Sensor;
use crate::descent::{DescentSpec, simulate};
use crate::error::SimError;
use crate::map_realism::{DemErrors, MapRealism, Registration};
use crate::photometry::Law;
use crate::sensors::{Fault, FaultKind, LrfParams, PriorModel, PriorParams};
use crate::site::{FineOrtho, Projection, SiteSpec, make_site_with, write_site};
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
    /// The realism knobs dispersed over the descents (none: every descent as trn-sim always
    /// made them).
    pub realism: Knobs,
}

/// The realism knobs of a campaign (see `docs/REALISM.md`): each one on draws its values per
/// descent from the ranges of [`draw_realism`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Knobs {
    /// Prior error model: drift, independent or a mix.
    pub prior: bool,
    /// Map misregistration.
    pub registration: bool,
    /// The orthoimage under another sun.
    pub ortho_sun: bool,
    /// The orthoimage (or the frames) under another photometric law, or a hillshade map.
    pub photometry: bool,
    /// A smoother, coarser map DEM with correlated errors.
    pub dem: bool,
    /// Camera defects.
    pub defects: bool,
    /// A real image draped as albedo (needs the campaign's albedo image).
    pub albedo: bool,
}

impl Knobs {
    /// The knobs' names, in the order of `docs/REALISM.md`.
    pub const NAMES: [&'static str; 7] = [
        "prior",
        "registration",
        "ortho-sun",
        "photometry",
        "dem",
        "defects",
        "albedo",
    ];

    /// Every knob on (`albedo` only when an image is given).
    #[must_use]
    pub fn all(albedo: bool) -> Self {
        Self {
            prior: true,
            registration: true,
            ortho_sun: true,
            photometry: true,
            dem: true,
            defects: true,
            albedo,
        }
    }

    /// The one knob `name` on.
    ///
    /// # Errors
    ///
    /// an invalid-field [`SimError::Dataset`] naming `--realism-knob` and the value when it
    /// is not one of [`Knobs::NAMES`].
    pub fn only(name: &str) -> Result<Self, SimError> {
        let mut k = Self::default();
        match name {
            "prior" => k.prior = true,
            "registration" => k.registration = true,
            "ortho-sun" => k.ortho_sun = true,
            "photometry" => k.photometry = true,
            "dem" => k.dem = true,
            "defects" => k.defects = true,
            "albedo" => k.albedo = true,
            _ => {
                return Err(SimError::invalid(
                    "--realism-knob",
                    format!("'{name}' (one of {})", Self::NAMES.join(", ")),
                ));
            }
        }
        Ok(k)
    }

    /// The names of the knobs that are on.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        let on = [
            self.prior,
            self.registration,
            self.ortho_sun,
            self.photometry,
            self.dem,
            self.defects,
            self.albedo,
        ];
        Self::NAMES
            .iter()
            .zip(on)
            .filter(|(_, o)| *o)
            .map(|(n, _)| (*n).to_string())
            .collect()
    }

    /// True when no knob is on.
    #[must_use]
    pub fn is_off(&self) -> bool {
        *self == Self::default()
    }
}

/// One descent's realism in `campaign.json`: the knobs on and the values drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DescentRealism {
    /// The dataset directory, as in `datasets`.
    pub dataset: String,
    /// The knobs on (names of [`Knobs::NAMES`]).
    pub knobs: Vec<String>,
    /// The values drawn for each knob on, by knob name.
    pub values: serde_json::Value,
}

/// What [`draw_realism`] sets in a descent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DrawnRealism {
    /// The prior's model.
    pub prior: PriorModel,
    /// The map's errors.
    pub map: MapRealism,
    /// The frames' photometric law.
    pub frame_law: Law,
    /// The camera's defects.
    pub defects: Defects,
    /// The values, for `campaign.json`.
    pub values: serde_json::Map<String, serde_json::Value>,
}

/// Draws one descent's realism for the knobs on, from `rng`: the ranges of
/// `docs/REALISM.md`. `map_px_m` is the orthoimage's pixel, `size_m` the site's side,
/// `sun_el_deg` the frames' sun elevation.
pub fn draw_realism(
    knobs: &Knobs,
    rng: &mut Pcg32,
    map_px_m: f64,
    size_m: f64,
    sun_el_deg: f64,
) -> DrawnRealism {
    use serde_json::json;
    let mut u = |lo: f64, hi: f64| lo + (hi - lo) * rng.next_f64();
    let mut d = DrawnRealism::default();
    if knobs.prior {
        let pick = u(0.0, 3.0) as u32;
        d.prior = match pick {
            0 => PriorModel::Drift,
            1 => PriorModel::Independent,
            _ => PriorModel::Mix {
                independent_fraction: u(0.2, 0.8),
            },
        };
        let v = match d.prior {
            PriorModel::Drift => json!({"model": "drift"}),
            PriorModel::Independent => json!({"model": "independent"}),
            PriorModel::Mix {
                independent_fraction,
            } => json!({"model": "mix", "independent_fraction": independent_fraction}),
        };
        d.values.insert("prior".into(), v);
    }
    if knobs.registration {
        let r = Registration {
            offset_sigma_m: u(0.5, 1.5) * map_px_m,
            rotation_sigma_deg: u(0.05, 0.15),
            scale_sigma: u(0.0015, 0.005),
            warp_rms_m: u(0.5, 1.0) * map_px_m,
            warp_scale_m: u(0.1, 0.3) * size_m,
            ortho_only: u(0.0, 1.0) < 0.3,
        };
        d.map.registration = r;
        d.values.insert("registration".into(), json!(r));
    }
    if knobs.ortho_sun {
        d.map.ortho.sun_az_offset_deg = u(-60.0, 60.0);
        // The map's sun stays at least 2 degrees up.
        d.map.ortho.sun_el_offset_deg = u((2.0 - sun_el_deg).max(-10.0), 15.0);
        d.values.insert(
            "ortho-sun".into(),
            json!({"az_offset_deg": d.map.ortho.sun_az_offset_deg,
                   "el_offset_deg": d.map.ortho.sun_el_offset_deg}),
        );
    }
    if knobs.photometry {
        let (frames, map) = match u(0.0, 5.0) as u32 {
            0 => (Law::Hapke, Law::LunarLambert),
            1 => (Law::LommelSeeliger, Law::LunarLambert),
            2 => (Law::LunarLambert, Law::Hapke),
            3 => (Law::LunarLambert, Law::LommelSeeliger),
            _ => (Law::LunarLambert, Law::Hillshade),
        };
        d.frame_law = frames;
        d.map.ortho.law = Some(map);
        d.values.insert(
            "photometry".into(),
            json!({"frame_law": frames, "map_law": map}),
        );
    }
    if knobs.dem {
        let e = DemErrors {
            decimation: 2 + u(0.0, 3.0) as usize,
            noise_rms_m: u(0.5, 3.0),
            ..DemErrors::default()
        };
        d.map.dem = e;
        d.values.insert("dem".into(), json!(e));
    }
    if knobs.defects {
        d.defects = Defects {
            hot_pixel_fraction: u(0.0, 5e-4),
            column_offset_rms_dn: u(0.0, 2.0),
            jpeg_quality: (u(0.0, 1.0) < 0.7).then(|| u(50.0, 95.0).round() as u8),
            smear_px: u(0.0, 3.0),
            saturation_fraction: u(0.0, 0.02),
            pattern_seed: 0,
        };
        let mut v = json!(d.defects);
        // The pattern's seed is the descent's (see its realism.json), not drawn here.
        if let Some(o) = v.as_object_mut() {
            o.remove("pattern_seed");
        }
        d.values.insert("defects".into(), v);
    }
    d
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
    /// Each descent's realism knobs and drawn values (absent: none were on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realism: Option<Vec<DescentRealism>>,
}

/// Reads `campaign.json` of a campaign directory (`None` when there is none: a plain
/// dataset).
///
/// # Errors
///
/// an invalid-field [`SimError::Dataset`] naming the file when it is not a campaign description.
pub fn read_campaign(dir: &Path) -> Result<Option<CampaignJson>, SimError> {
    let path = dir.join("campaign.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = trn_dataset::input::read_text(&path, trn_dataset::input::MAX_JSON_BYTES)?;
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
/// As [`make_site_with`], [`write_site`] and [`simulate`].
pub fn generate(
    dir: &Path,
    spec: &CampaignSpec,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<CampaignJson, SimError> {
    generate_with(dir, spec, None, progress)
}

/// [`generate`] with `albedo` draped over every site when the albedo knob is on.
///
/// # Errors
///
/// As [`generate`]; an invalid-field [`SimError::Dataset`] naming `--albedo` when the albedo
/// knob is on without an image.
pub fn generate_with(
    dir: &Path,
    spec: &CampaignSpec,
    albedo: Option<&AlbedoImage>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<CampaignJson, SimError> {
    if spec.realism.albedo && albedo.is_none() {
        return Err(SimError::invalid(
            "--albedo",
            "the albedo knob needs an image: give --albedo FILE",
        ));
    }
    if spec.n == 0 || spec.frames < 2 {
        return Err(SimError::invalid(
            "campaign",
            format!("{} descents of {} frames", spec.n, spec.frames),
        ));
    }
    trn_dataset::output_dir::require_empty(dir)?;
    std::fs::create_dir_all(dir.join("sites")).map_err(|e| SimError::write(dir, e))?;
    let mut names = Vec::with_capacity(spec.n);
    let mut realism = Vec::new();
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
        let site = make_site_with(
            &SiteSpec {
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
                ortho_law: Default::default(),
            },
            albedo.filter(|_| spec.realism.albedo),
        )?;
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
        // The realism draws come from a stream of their own, so the dispersions above are
        // the same with or without them.
        let mut drawn = draw_realism(
            &spec.realism,
            &mut Pcg32::new(spec.seed, (1 << 32) + i as u64),
            spec.fine_ortho.map_or(spec.gsd_m, |f| f.gsd_m),
            spec.size_m,
            sun.elevation_deg,
        );
        if spec.realism.albedo
            && let Some(a) = albedo
        {
            drawn.values.insert(
                "albedo".into(),
                serde_json::json!({"source": a.source, "pixel_m": a.pixel_m}),
            );
        }
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
                sigma: None,
            },
            sensor: Sensor::default(),
            sun: Some(sun),
            prior: PriorParams {
                pos_sigma0_m: u(50.0, 250.0),
                model: drawn.prior,
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
            map: drawn.map,
            frame_law: drawn.frame_law,
            defects: drawn.defects,
        };
        simulate(&site_dir, &descent, &dir.join(&name), &|_, _| {})?;
        if !spec.realism.is_off() {
            realism.push(DescentRealism {
                dataset: name.clone(),
                knobs: spec.realism.names(),
                values: serde_json::Value::Object(drawn.values),
            });
        }
        names.push(name);
        progress(i + 1, spec.n);
    }
    let c = CampaignJson {
        format: FORMAT.into(),
        seed: spec.seed,
        datasets: names,
        realism: (!spec.realism.is_off()).then_some(realism),
    };
    let json = serde_json::to_string_pretty(&c)
        .map_err(|e| SimError::invalid("campaign.json", e.to_string()))?;
    trn_dataset::atomic::write_atomic(&dir.join("campaign.json"), (json + "\n").as_bytes())?;
    Ok(c)
}
