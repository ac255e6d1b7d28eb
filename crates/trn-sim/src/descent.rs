//! A whole simulated descent over a site, written as a dataset.

use crate::camera_render::{Defects, Scene, Sensor, intersect, render_frame_with};
use crate::detail::{Coarse, Detail, PatchArea, render_patch_with};
use crate::error::SimError;
use crate::map_realism::{MapRealism, render_ortho, rms_difference};
use crate::photometry::Law;
use crate::sensors::{InertialPrior, LrfParams, PriorParams, Rangefinder};
use crate::site::read_site_info;
use crate::trajectory::{DescentParams, Trajectory};
use std::path::Path;
use trn_dataset::dataset::{
    Body, CameraJson, DatasetJson, DistortionJson, FORMAT, FrameRow, MapJson, SiteRef, SunJson,
    frames_csv,
};
use trn_dataset::image::write_png;
use trn_flight::camera::Camera;
use trn_flight::frames::SiteFrame;
use trn_map::render::Sun;
use trn_map::site_dem::{resample_image_on_site, resample_to_site};
use trn_map::{Interpolation, geotiff};

/// Everything that defines a descent besides the site.
#[derive(Clone, Debug)]
pub struct DescentSpec {
    /// Dataset name.
    pub name: String,
    /// Seed of the trajectory dispersions, noise and sensor errors.
    pub seed: u64,
    /// Number of frames, evenly spaced in time.
    pub frames: usize,
    /// The trajectory.
    pub trajectory: DescentParams,
    /// The camera.
    pub camera: CameraJson,
    /// The sensor behind the lens.
    pub sensor: Sensor,
    /// Sun during the descent (None: the orthoimage's sun).
    pub sun: Option<Sun>,
    /// The inertial prior.
    pub prior: PriorParams,
    /// The rangefinder.
    pub lrf: LrfParams,
    /// 1-sigma DEM error written to the dataset, metres (None: the RMS height of the
    /// site's detail, which its DEM leaves out; 0.5 m for a site without detail).
    pub dem_sigma_m: Option<f64>,
    /// The trajectory's end altitude is above the ground at the landing point (the site's
    /// origin) rather than above the reference sphere, as a lander's terminal gates are:
    /// over relief a sphere altitude can end the descent underground.
    pub end_above_ground: bool,
    /// How the dataset's map differs from the truth the frames are rendered from.
    pub map: MapRealism,
    /// Photometric law of the frames.
    pub frame_law: Law,
    /// Defects of the camera (its fixed pattern drawn from the descent's seed).
    pub defects: Defects,
}

/// The least height above the terrain the camera may fly at, metres: closer, a frame would
/// show a few pixels of ground or be rendered from inside it.
pub const MIN_CLEARANCE_M: f64 = 5.0;

/// What a descent produced.
#[derive(Clone, Debug, PartialEq)]
pub struct DescentSummary {
    /// Frames written.
    pub frames: usize,
    /// Smallest fraction of a frame's pixels that saw the map.
    pub min_coverage: f64,
    /// Frames with a rangefinder reading.
    pub lrf_readings: usize,
    /// Frames with an injected rangefinder fault.
    pub lrf_faults: usize,
    /// Altitude of the first and last frame, metres.
    pub altitudes_m: (f64, f64),
}

/// Most nodes of a frame's patch of detail (its spacing grows to stay within them).
const MAX_PATCH_NODES: usize = 4 << 20;

/// The terrain below the site DEM's spacing, for frames whose pixels are finer than it.
struct FineTerrain {
    detail: Detail,
    /// Shadowed fraction of the site DEM's nodes under the descent's sun.
    shadow: Vec<f32>,
    crs: trn_map::Crs,
    /// Map-grid coordinates of the site.
    origin: (f64, f64),
    /// Photometric law of the frames.
    law: Law,
}

impl FineTerrain {
    /// A scene of the site with its detail under the frame's footprint at half the frame's
    /// nearest ground pixel, or `None` when that is not finer than the site DEM's spacing
    /// (the site's own scene then shows all the camera can resolve).
    #[allow(clippy::too_many_arguments)]
    fn scene_for(
        &self,
        site: &Scene,
        site_dem: &trn_map::SiteDem,
        albedo: &[f32],
        frame: &SiteFrame,
        camera: &Camera,
        pose: &trn_flight::Pose,
        sun: Sun,
    ) -> Result<Option<Scene>, SimError> {
        // Where a lattice of the frame's rays meets the site, and the nearest range.
        const N: u32 = 8;
        let rot = pose.attitude.to_mat3();
        let (w, h) = (
            f64::from(camera.width() - 1),
            f64::from(camera.height() - 1),
        );
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        let mut nearest = f64::INFINITY;
        for j in 0..=N {
            for i in 0..=N {
                let (c, r) = (
                    w * f64::from(i) / f64::from(N),
                    h * f64::from(j) / f64::from(N),
                );
                let Ok(ray) = camera.unproject(c, r) else {
                    continue;
                };
                if let Some((t, x, y)) = site.intersect(pose.position, rot.mul_vec(ray)) {
                    (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
                    nearest = nearest.min(t);
                }
            }
        }
        if !nearest.is_finite() {
            return Ok(None);
        }
        // Half the nearest ground pixel: the detail then goes down to a pixel (band-limited
        // at two spacings), and each pixel integrates it through the radiance pyramid.
        let (fx, _) = camera.focal();
        let mut spacing = (0.5 * nearest / fx).max(self.detail.params().finest_m);
        if spacing > 0.7 * site.spacing_m() {
            return Ok(None);
        }
        // Relief and the rays between the lattice's reach a little beyond its hits.
        let margin = 0.1 * (x1 - x0).max(y1 - y0) + 16.0 * spacing;
        let (x0, x1, y0, y1) = (x0 - margin, x1 + margin, y0 - margin, y1 + margin);
        // As `render_patch` counts them; a wide (oblique) footprint coarsens the patch.
        let nodes = |s: f64| (((x1 - x0) / s).ceil() + 1.0) * (((y1 - y0) / s).ceil() + 1.0);
        while nodes(spacing) > MAX_PATCH_NODES as f64 {
            spacing *= 1.05;
        }
        if spacing > 0.7 * site.spacing_m() {
            return Ok(None);
        }
        let (ox, oy) = self.origin;
        let to_map = |x: f64, y: f64| {
            let (lat, lon) =
                trn_map::site_dem::site_to_lat_lon(frame, trn_flight::Vec3::new(x, y, 0.0));
            let (e, n) = self.crs.forward(lat, lon);
            (e - ox, n - oy)
        };
        let area = PatchArea {
            x: (x0, x1),
            y: (y0, y1),
            spacing_m: spacing,
            max_nodes: MAX_PATCH_NODES,
        };
        let coarse = Coarse::new(site_dem, albedo, &self.shadow)?;
        let (dem, radiance) =
            render_patch_with(&coarse, &self.detail, &to_map, &area, sun, self.law)?;
        Scene::with_radiance(&dem, radiance).map(Some)
    }
}

/// The most frames a descent may have.
pub const MAX_FRAMES: usize = 100_000;

/// Bytes a descent's simulation holds per image pixel (the render and its sensor model);
/// per pixel of the site's DEM and albedo (the site grid resampled from them, the scene and
/// its detail patches) it holds what the site's generation did
/// ([`crate::site::BYTES_PER_SITE_NODE`]). With a fixed base, a bound on the peak resident
/// memory measured (docs/FAULTS.md).
const BYTES_PER_IMAGE_PX: f64 = 16.0;

/// The memory simulating `spec` over the site in `site_dir` needs, bytes, from the sizes
/// the site's GeoTIFF headers and the camera declare, for a check before anything is
/// allocated (a raster whose header cannot be read counts for nothing: reading it fails).
#[must_use]
pub fn memory_estimate(site_dir: &Path, spec: &DescentSpec) -> f64 {
    let site_px: f64 = read_site_info(site_dir)
        .map(|i| [i.dem, i.albedo])
        .unwrap_or_default()
        .iter()
        .map(|f| trn_map::io::tiff_pixel_count(site_dir.join(f)))
        .sum();
    let image_px = f64::from(spec.camera.width) * f64::from(spec.camera.height);
    trn_dataset::budget::BASE_BYTES
        + crate::site::BYTES_PER_SITE_NODE * site_px
        + BYTES_PER_IMAGE_PX * image_px
}

/// Simulates a descent over the site in `site_dir` and writes the dataset to `out`
/// (created; an existing `out` must be empty or a dataset, which is replaced). `progress(done, total)` is called after each
/// frame. Everything is written into a staging directory beside `out` that becomes `out`
/// at the end ([`trn_dataset::output_dir`]), so a failed or interrupted run leaves no
/// dataset behind, and two runs on one `out` do not mix.
///
/// # Errors
///
/// [`SimError`] for an unreadable site, bad parameters, or a file that cannot be written.
pub fn simulate(
    site_dir: &Path,
    spec: &DescentSpec,
    out: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<DescentSummary, SimError> {
    if !(2..=MAX_FRAMES).contains(&spec.frames) {
        return Err(SimError::invalid(
            "frames",
            format!("{} (2 to {MAX_FRAMES})", spec.frames),
        ));
    }
    let camera: Camera = spec.camera.camera()?;
    // Taken before the site is read: a second run on one output fails at once.
    let staged = trn_dataset::output_dir::OutputDir::create(out, "dataset.json")?;
    let info = read_site_info(site_dir)?;
    let dem = geotiff::read(site_dir.join(&info.dem))?;
    let albedo = geotiff::read(site_dir.join(&info.albedo))?;
    let frame = SiteFrame::from_degrees(info.lat_deg, info.lon_deg, info.radius_m)
        .map_err(|e| SimError::invalid("site", format!("{e:?}")))?;
    // The largest site-frame square inside the map grid (polar grids turn against
    // east/north with longitude), less a margin for the interpolation kernel.
    let side = (2.0 * trn_map::site_dem::inscribed_half_side(&dem, &frame) - 8.0 * info.gsd_m)
        .max(16.0 * info.gsd_m);
    let site_dem = resample_to_site(&dem, &frame, side, side, info.gsd_m, Interpolation::Bicubic)?;
    let alb = resample_image_on_site(&albedo, &frame, &site_dem, Interpolation::Bilinear)?;
    let sun = spec.sun.unwrap_or(Sun {
        azimuth_deg: info.ortho_sun_az_deg,
        elevation_deg: info.ortho_sun_el_deg,
    });
    spec.map.registration.validate()?;
    let defects = Defects {
        pattern_seed: spec.seed ^ 0x5E5,
        ..spec.defects
    };
    defects.validate()?;
    spec.map.dem.validate()?;
    let scene = Scene::with_law(&site_dem, Some(&alb), sun, spec.frame_law)?;
    let fine = match &info.detail {
        Some(p) => {
            let crs =
                crate::site::crs_of(info.projection, info.lat_deg, info.lon_deg, info.radius_m);
            Some(FineTerrain {
                detail: Detail::new(p),
                shadow: trn_map::render::shadow_fraction(&site_dem, sun),
                origin: crs.forward(info.lat_deg, info.lon_deg),
                crs,
                law: spec.frame_law,
            })
        }
        None => None,
    };
    // The RMS height of the terrain below the DEM's spacing, which the DEM leaves out.
    let detail_rms_m = fine.as_ref().map(|f| f.detail.rms_height_m());
    let truth = trn_flight::dem::Heightfield::new(&site_dem.data, site_dem.grid, None)
        .map_err(|e| SimError::invalid("site DEM", format!("{e:?}")))?;
    let ground = if spec.end_above_ground {
        truth
            .height_at(0.0, 0.0)
            .map_err(|e| SimError::invalid("site DEM at the landing point", format!("{e:?}")))?
    } else {
        0.0
    };
    let traj = Trajectory::over_ground(&spec.trajectory, info.radius_m, spec.seed, ground)?;
    let dt = traj.duration() / (spec.frames - 1) as f64;
    // Refused before anything is rendered: a camera at the terrain would be rendered from
    // inside it. Off the DEM the renderer extends the ground flat; only a clearance the
    // DEM can measure is checked.
    for k in 0..spec.frames {
        let st = traj.state(k as f64 * dt, k as u64);
        if let Ok(a) = truth.altitude(st.pose.position)
            && a.altitude < MIN_CLEARANCE_M
        {
            return Err(SimError::invalid(
                "trajectory",
                format!(
                    "frame {k}: the camera is {:.1} m above the terrain (at least {MIN_CLEARANCE_M} m \
                     needed); raise the end altitude or measure it above the ground",
                    a.altitude
                ),
            ));
        }
    }
    let mut prior = InertialPrior::new(spec.prior, spec.seed ^ 0x9919);
    let mut lrf = Rangefinder::new(spec.lrf.clone(), spec.seed ^ 0x1AF);

    let tmp = staged.path().to_path_buf();
    std::fs::create_dir_all(tmp.join("images")).map_err(|e| SimError::write(&tmp, e))?;
    std::fs::create_dir_all(tmp.join("map")).map_err(|e| SimError::write(&tmp, e))?;
    let result: Result<DescentSummary, SimError> = (|| {
        let mut rows = Vec::with_capacity(spec.frames);
        // Where the boresights meet the ground (site frame): the ground track.
        let mut track = Vec::with_capacity(spec.frames);
        let mut summary = DescentSummary {
            frames: spec.frames,
            min_coverage: 1.0,
            lrf_readings: 0,
            lrf_faults: 0,
            altitudes_m: (0.0, 0.0),
        };
        for k in 0..spec.frames {
            let t = k as f64 * dt;
            let st = traj.state(t, k as u64);
            let patch = match &fine {
                Some(f) => f.scene_for(&scene, &site_dem, &alb, &frame, &camera, &st.pose, sun)?,
                None => None,
            };
            let layers: Vec<&Scene> = patch.iter().chain(std::iter::once(&scene)).collect();
            let img = render_frame_with(
                &layers,
                &camera,
                &st.pose,
                &spec.sensor,
                &defects,
                image_motion(&st),
                spec.seed.wrapping_add(k as u64),
            )?;
            summary.min_coverage = summary.min_coverage.min(img.coverage);
            let name = format!("images/frame_{k:04}.png");
            write_png(
                &tmp.join(&name),
                img.width,
                img.height,
                img.bits,
                &img.pixels,
            )?;
            let hit = intersect(&layers, st.pose.position, st.pose.boresight());
            if let Some((_, x, y, _)) = hit {
                track.push((x, y));
            }
            let range = hit.map(|h| h.0);
            let reading = lrf.read(k, st.altitude_m, range);
            summary.lrf_readings += usize::from(reading.range_m.is_some());
            summary.lrf_faults += usize::from(reading.fault == Some(true));
            let p = prior.at(t, &st.pose);
            if k == 0 {
                summary.altitudes_m.0 = st.altitude_m;
            }
            summary.altitudes_m.1 = st.altitude_m;
            rows.push(FrameRow {
                frame: k as u64,
                t_s: t,
                image: name,
                sun_az_deg: sun.azimuth_deg,
                sun_el_deg: sun.elevation_deg,
                truth: Some(st.pose),
                prior: p.pose,
                prior_sigma_pos_m: p.sigma_pos_m,
                prior_sigma_att_deg: p.sigma_att_deg,
                lrf_range_m: reading.range_m,
                // A frame without a reading has no reading to judge (DATASET.md): its
                // truth column is empty whatever silenced the sensor.
                lrf_fault: reading.range_m.and(reading.fault),
            });
            progress(k + 1, spec.frames);
        }
        let map = write_map(site_dir, &info, &dem, &albedo, spec, sun, &track, &tmp)?;
        let dem_sigma_m = spec.dem_sigma_m.unwrap_or_else(|| match map.dem_rms_m {
            // The map DEM's own error and what no DEM on the site's grid shows.
            Some(e) => (e.hypot(detail_rms_m.unwrap_or(0.0)) * 100.0).round() / 100.0,
            None => detail_rms_m.map_or(0.5, |r| (r * 100.0).round() / 100.0),
        });
        let meta = DatasetJson {
            format: FORMAT.into(),
            name: spec.name.clone(),
            body: Body {
                name: "moon".into(),
                radius_m: info.radius_m,
            },
            site: SiteRef {
                lat_deg: info.lat_deg,
                lon_deg: info.lon_deg,
            },
            camera: CameraJson {
                model: "pinhole".into(),
                distortion: DistortionJson {
                    ..spec.camera.distortion
                },
                ..spec.camera.clone()
            },
            map: MapJson {
                dem: format!("map/{}", info.dem),
                ortho: Some(format!("map/{}", info.ortho)),
                ortho_sun: Some(SunJson {
                    az_deg: map.ortho_sun.azimuth_deg,
                    el_deg: map.ortho_sun.elevation_deg,
                }),
                dem_sigma_m,
                registration_sigma_m: map.registration_sigma_m,
            },
            frames: "frames.csv".into(),
        };
        std::fs::write(tmp.join("frames.csv"), frames_csv(&rows))
            .map_err(|e| SimError::write(&tmp.join("frames.csv"), e))?;
        let json = serde_json::to_string_pretty(&meta)
            .map_err(|e| SimError::invalid("dataset.json", e.to_string()))?;
        std::fs::write(tmp.join("dataset.json"), json + "\n")
            .map_err(|e| SimError::write(&tmp.join("dataset.json"), e))?;
        if let Some(record) = realism_record(spec, &defects, map.record) {
            std::fs::write(tmp.join("realism.json"), record + "\n")
                .map_err(|e| SimError::write(&tmp.join("realism.json"), e))?;
        }
        Ok(summary)
    })();
    // On an error the staged directory is dropped: removed, the previous output kept.
    let summary = result?;
    staged.commit()?;
    Ok(summary)
}

/// What [`write_map`] wrote.
struct WrittenMap {
    /// The sun of the orthoimage written.
    ortho_sun: Sun,
    /// RMS difference of the map DEM from the truth, metres (None: it is the truth).
    dem_rms_m: Option<f64>,
    /// 1-sigma of the map's registration error, metres (None: registered perfectly).
    registration_sigma_m: Option<f64>,
    /// What was done to the map, for `realism.json` (None: nothing).
    record: Option<serde_json::Value>,
}

/// Writes the dataset's `map/` into `tmp`: the site's products as they are, or made worse
/// as `spec.map` says (a degraded DEM, the orthoimage under other conditions, both
/// misregistered), and a record of what was drawn. `sun` is the frames' sun,
/// `track` the ground track in site metres.
#[allow(clippy::too_many_arguments)]
fn write_map(
    site_dir: &Path,
    info: &crate::site::SiteInfo,
    dem: &trn_map::Raster,
    albedo: &trn_map::Raster,
    spec: &DescentSpec,
    sun: Sun,
    track: &[(f64, f64)],
    tmp: &Path,
) -> Result<WrittenMap, SimError> {
    let m = &spec.map;
    let site_sun = Sun {
        azimuth_deg: info.ortho_sun_az_deg,
        elevation_deg: info.ortho_sun_el_deg,
    };
    if m.is_off() {
        for f in [&info.dem, &info.ortho] {
            std::fs::copy(site_dir.join(f), tmp.join("map").join(f))
                .map_err(|e| SimError::io(&site_dir.join(f), e))?;
        }
        return Ok(WrittenMap {
            ortho_sun: site_sun,
            dem_rms_m: None,
            registration_sigma_m: None,
            record: None,
        });
    }
    let site_ortho = geotiff::read(site_dir.join(&info.ortho))?;
    let (mut map_dem, dem_rms_m) = if m.dem.is_off() {
        (dem.clone(), None)
    } else {
        let d = m.dem.apply(dem, spec.seed ^ 0xDE3)?;
        let e = rms_difference(&d, dem);
        (d, Some(e))
    };
    let (mut ortho, ortho_sun) = if m.ortho.is_off() {
        (site_ortho, site_sun)
    } else {
        let s = Sun {
            azimuth_deg: (sun.azimuth_deg + m.ortho.sun_az_offset_deg).rem_euclid(360.0),
            elevation_deg: sun.elevation_deg + m.ortho.sun_el_offset_deg,
        };
        let law = m.ortho.law.or(info.ortho_law).unwrap_or_default();
        (render_ortho(info, dem, albedo, &site_ortho, s, law)?, s)
    };
    let (registration_sigma_m, drawn) = if m.registration.is_off() {
        (None, None)
    } else {
        let centre = dem.crs.forward(info.lat_deg, info.lon_deg);
        let d = m.registration.draw(spec.seed ^ 0x4E6, centre);
        ortho = d.apply(&ortho);
        if !m.registration.ortho_only {
            map_dem = d.apply(&map_dem);
        }
        (Some(m.registration.sigma_m(track)), Some(d))
    };
    let map_dir = tmp.join("map");
    geotiff::write_as(map_dir.join(&info.dem), &map_dem, crate::site::DEM_STORAGE)?;
    crate::site::write_ortho(&map_dir.join(&info.ortho), &ortho)?;
    let record = serde_json::json!({
        "map": m,
        "ortho_sun": { "az_deg": ortho_sun.azimuth_deg, "el_deg": ortho_sun.elevation_deg },
        "dem_rms_difference_m": dem_rms_m,
        "registration_drawn": drawn.map(|d| serde_json::json!({
            "offset_m": [d.offset_m.0, d.offset_m.1],
            "rotation_deg": d.rotation_deg,
            "scale_error": d.scale_error,
        })),
        "registration_sigma_m": registration_sigma_m,
    });
    Ok(WrittenMap {
        ortho_sun,
        dem_rms_m,
        registration_sigma_m,
        record: Some(record),
    })
}

/// `realism.json`: every realism knob of the descent (`defects` as used, with their
/// pattern's seed) and what was drawn for the map, or
/// `None` when every knob is off (the dataset is then as trn-sim always wrote it).
fn realism_record(
    spec: &DescentSpec,
    defects: &Defects,
    map: Option<serde_json::Value>,
) -> Option<String> {
    let prior = match spec.prior.model {
        crate::sensors::PriorModel::Drift => None,
        crate::sensors::PriorModel::Independent => {
            Some(serde_json::json!({"model": "independent"}))
        }
        crate::sensors::PriorModel::Mix {
            independent_fraction,
        } => {
            Some(serde_json::json!({"model": "mix", "independent_fraction": independent_fraction}))
        }
    };
    let law = (spec.frame_law != Law::LunarLambert).then_some(spec.frame_law);
    let defects = (*defects
        != Defects {
            pattern_seed: defects.pattern_seed,
            ..Defects::default()
        })
    .then_some(*defects);
    if map.is_none() && prior.is_none() && law.is_none() && defects.is_none() {
        return None;
    }
    let v = serde_json::json!({
        "format": "trn-sim-realism/1",
        "prior": prior,
        "frame_law": law,
        "camera_defects": defects,
        "map": map,
    });
    serde_json::to_string_pretty(&v).ok()
}

/// The direction in which the scene moves across the image centre during the exposure
/// (columns, rows; unit): the camera's velocity turned into the camera frame, reversed,
/// across the boresight (attitude rates left out). Straight along the boresight (a vertical
/// descent looking down) the centre does not move and the image expands about it; the
/// columns' direction is returned then.
fn image_motion(st: &crate::trajectory::State) -> (f64, f64) {
    let v = st.pose.attitude.conjugate().rotate(st.velocity);
    let (x, y) = (-v.x, -v.y);
    let n = x.hypot(y);
    if n > 1e-3 * v.norm() && n > 0.0 {
        (x / n, y / n)
    } else {
        (1.0, 0.0)
    }
}
