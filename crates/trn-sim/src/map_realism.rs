//! The map a dataset's navigator gets, made the ways real maps differ from the truth the
//! frames are rendered from. The frames always see the site's true terrain and albedo; only
//! the map written into the dataset (`map/dem.tif`, `map/ortho.tif`) carries these errors.
//!
//! - **Misregistration** ([`Registration`]): the map's content displaced against the body
//!   by an offset, a rotation and a scale error about the map centre (the site), plus a
//!   smooth local warp, applied to the orthoimage and the DEM together or to the orthoimage
//!   alone. The values are drawn per dataset from Gaussians of the stated 1-sigmas
//!   ([`Registration::draw`]); the dataset declares `map.registration_sigma_m` from those
//!   sigmas ([`Registration::sigma_m`]).
//! - **Other conditions** ([`OrthoConditions`]): the orthoimage rendered under another sun
//!   (offsets from the frames' sun) and another photometric law, or as a plain hillshade.
//! - **A smoother, coarser DEM** ([`DemErrors`]): the truth low-passed and decimated, plus
//!   errors correlated over several posts; `dem_sigma_m` is then the measured RMS
//!   difference from the truth.
//!
//! Rasters are resampled with Keys' cubic kernel, taps clamped at the edges.

use crate::error::SimError;
use trn_flight::rng::Pcg32;
use trn_map::{GeoTransform, Interpolation, Raster, sample::sample_clamped};

/// A smooth random field: a sum of cosines of random direction and phase with wavelengths
/// between `scale_m` and twice that, of the given RMS in expectation.
#[derive(Clone, Debug, PartialEq)]
pub struct SmoothField {
    waves: Vec<(f64, f64, f64)>,
    amplitude: f64,
}

impl SmoothField {
    /// Number of cosines summed.
    const WAVES: usize = 24;

    /// A field of RMS `rms` whose features are `scale_m` to `2 scale_m` across.
    #[must_use]
    pub fn new(rms: f64, scale_m: f64, seed: u64, stream: u64) -> Self {
        let mut rng = Pcg32::new(seed, stream);
        let waves = (0..Self::WAVES)
            .map(|_| {
                let wavelength = scale_m * (1.0 + rng.next_f64());
                let dir = std::f64::consts::TAU * rng.next_f64();
                let k = std::f64::consts::TAU / wavelength;
                (
                    k * dir.cos(),
                    k * dir.sin(),
                    std::f64::consts::TAU * rng.next_f64(),
                )
            })
            .collect();
        Self {
            waves,
            // Each cosine has variance 1/2.
            amplitude: rms * (2.0 / Self::WAVES as f64).sqrt(),
        }
    }

    /// The field at `(x, y)`, metres.
    #[must_use]
    pub fn at(&self, x: f64, y: f64) -> f64 {
        self.amplitude
            * self
                .waves
                .iter()
                .map(|(kx, ky, p)| (kx * x + ky * y + p).cos())
                .sum::<f64>()
    }
}

/// The distribution of a map's registration error (all zero: registered perfectly).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Registration {
    /// 1-sigma of the offset of the whole map per horizontal axis, metres.
    pub offset_sigma_m: f64,
    /// 1-sigma of the rotation about the map centre, degrees.
    pub rotation_sigma_deg: f64,
    /// 1-sigma of the scale error about the map centre (0.01 = 1 %).
    pub scale_sigma: f64,
    /// RMS of the smooth local warp per horizontal axis, metres.
    pub warp_rms_m: f64,
    /// Size of the warp's features, metres (wavelengths from this to twice this).
    pub warp_scale_m: f64,
    /// Displace the orthoimage only, the DEM staying registered.
    pub ortho_only: bool,
}

/// One draw of a map's registration error.
#[derive(Clone, Debug, PartialEq)]
pub struct DrawnRegistration {
    /// Offset of the map's content, map-grid metres (east-ish, north-ish).
    pub offset_m: (f64, f64),
    /// Rotation of the content about the centre, degrees (counter-clockwise on the grid).
    pub rotation_deg: f64,
    /// Scale error of the content about the centre (content at distance `d` from the centre
    /// appears at `(1 + scale_error) d`).
    pub scale_error: f64,
    /// The warp's displacement fields (x, y), metres.
    pub warp: Option<(SmoothField, SmoothField)>,
    /// Map-grid coordinates of the centre (the site).
    pub centre: (f64, f64),
}

impl Registration {
    /// True when every term is zero (the map is written as the site made it).
    #[must_use]
    pub fn is_off(&self) -> bool {
        self.offset_sigma_m == 0.0
            && self.rotation_sigma_deg == 0.0
            && self.scale_sigma == 0.0
            && self.warp_rms_m == 0.0
    }

    /// Checks every field.
    ///
    /// # Errors
    ///
    /// an invalid-field [`SimError::Dataset`] naming the option and value of a negative or
    /// non-finite sigma, or a warp scale that is not positive.
    pub fn validate(&self) -> Result<(), SimError> {
        for (name, v) in [
            ("--map-offset-sigma-m", self.offset_sigma_m),
            ("--map-rotation-sigma-deg", self.rotation_sigma_deg),
            ("--map-scale-sigma", self.scale_sigma),
            ("--map-warp-rms-m", self.warp_rms_m),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(SimError::invalid(name, format!("{v} (0 or more)")));
            }
        }
        if self.warp_rms_m > 0.0 && !(self.warp_scale_m > 0.0 && self.warp_scale_m.is_finite()) {
            return Err(SimError::invalid(
                "--map-warp-scale-m",
                format!("{} (positive)", self.warp_scale_m),
            ));
        }
        Ok(())
    }

    /// Draws the errors from `seed` (offset, rotation and scale from Gaussians of their
    /// sigmas, a warp field of the stated RMS); `centre` is the site in map-grid metres.
    #[must_use]
    pub fn draw(&self, seed: u64, centre: (f64, f64)) -> DrawnRegistration {
        let mut rng = Pcg32::new(seed, 0x4E6);
        let offset_m = (
            rng.normal() * self.offset_sigma_m,
            rng.normal() * self.offset_sigma_m,
        );
        let rotation_deg = rng.normal() * self.rotation_sigma_deg;
        let scale_error = rng.normal() * self.scale_sigma;
        let warp = (self.warp_rms_m > 0.0).then(|| {
            (
                SmoothField::new(self.warp_rms_m, self.warp_scale_m, seed, 0x4E7),
                SmoothField::new(self.warp_rms_m, self.warp_scale_m, seed, 0x4E8),
            )
        });
        DrawnRegistration {
            offset_m,
            rotation_deg,
            scale_error,
            warp,
            centre,
        }
    }

    /// The 1-sigma per horizontal axis of the displacement this distribution gives map
    /// points at `points` (map-grid metres from the centre), as one RMS over them: at a point
    /// `(u, v)` the x displacement has variance `so^2 + ss^2 u^2 + sr^2 v^2 + sw^2` and the y
    /// displacement `so^2 + ss^2 v^2 + sr^2 u^2 + sw^2` (offset, scale, rotation in radians,
    /// warp), so the mean over both axes is `so^2 + sw^2 + (ss^2 + sr^2) (u^2 + v^2) / 2`;
    /// the result is the square root of its mean over the points. With no points, the
    /// centre's.
    #[must_use]
    pub fn sigma_m(&self, points: &[(f64, f64)]) -> f64 {
        let r2 = if points.is_empty() {
            0.0
        } else {
            points.iter().map(|(u, v)| u * u + v * v).sum::<f64>() / points.len() as f64
        };
        let sr = self.rotation_sigma_deg.to_radians();
        (self.offset_sigma_m.powi(2)
            + self.warp_rms_m.powi(2)
            + (self.scale_sigma.powi(2) + sr * sr) * r2 / 2.0)
            .sqrt()
    }
}

impl DrawnRegistration {
    /// Where the map's content at map point `(x, y)` truly lies: the inverse of the
    /// displacement `p -> c + (1 + s) R (p - c) + o + w`, with the warp taken at the
    /// displaced point.
    #[must_use]
    pub fn source_of(&self, x: f64, y: f64) -> (f64, f64) {
        let (wx, wy) = self
            .warp
            .as_ref()
            .map_or((0.0, 0.0), |(fx, fy)| (fx.at(x, y), fy.at(x, y)));
        let (cx, cy) = self.centre;
        let (dx, dy) = (x - cx - self.offset_m.0 - wx, y - cy - self.offset_m.1 - wy);
        let (s, c) = (-self.rotation_deg.to_radians()).sin_cos();
        let k = 1.0 / (1.0 + self.scale_error);
        (cx + k * (c * dx - s * dy), cy + k * (s * dx + c * dy))
    }

    /// `raster` with its content displaced: each pixel takes the value at its
    /// [`Self::source_of`] (Keys' cubic, taps clamped at the edges).
    #[must_use]
    pub fn apply(&self, raster: &Raster) -> Raster {
        resample(raster, |x, y| self.source_of(x, y))
    }
}

/// `raster` resampled: pixel `p` takes the value at map point `source(p)`.
fn resample(raster: &Raster, source: impl Fn(f64, f64) -> (f64, f64) + Sync) -> Raster {
    use rayon::prelude::*;
    let (w, h) = (raster.width, raster.height);
    let gt = raster.transform;
    let mut data = vec![0.0f32; w * h];
    data.par_chunks_mut(w).enumerate().for_each(|(r, row)| {
        for (c, v) in row.iter_mut().enumerate() {
            let (x, y) = gt.pixel_centre(c as f64, r as f64);
            let (sx, sy) = source(x, y);
            *v = gt.pixel_of(sx, sy).map_or(f32::NAN, |(sc, sr)| {
                sample_clamped(&raster.data, w, h, sc, sr, Interpolation::Bicubic) as f32
            });
        }
    });
    Raster {
        data,
        ..raster.clone()
    }
}

/// How the map's DEM differs from the truth (1 and 0: it is the truth).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DemErrors {
    /// Posts of the truth per post of the map DEM (1: the same grid); the truth is
    /// low-passed (Gaussian of sigma half this many posts) before it is decimated.
    pub decimation: usize,
    /// RMS of an error correlated over several posts added to it, metres.
    pub noise_rms_m: f64,
    /// Size of the error's features in posts of the map DEM (wavelengths from this to
    /// twice this).
    pub noise_scale_posts: f64,
}

impl Default for DemErrors {
    fn default() -> Self {
        Self {
            decimation: 1,
            noise_rms_m: 0.0,
            noise_scale_posts: 4.0,
        }
    }
}

impl DemErrors {
    /// True when the map DEM is the truth.
    #[must_use]
    pub fn is_off(&self) -> bool {
        self.decimation <= 1 && self.noise_rms_m == 0.0
    }

    /// Checks every field.
    ///
    /// # Errors
    ///
    /// an invalid-field [`SimError::Dataset`] naming the option and value of a decimation
    /// of 0 or above 64, or a negative or non-finite RMS.
    pub fn validate(&self) -> Result<(), SimError> {
        if !(1..=64).contains(&self.decimation) {
            return Err(SimError::invalid(
                "--map-dem-decimation",
                format!("{} (1 to 64)", self.decimation),
            ));
        }
        if !(self.noise_rms_m >= 0.0 && self.noise_rms_m.is_finite()) {
            return Err(SimError::invalid(
                "--map-dem-noise-rms-m",
                format!("{} (0 or more)", self.noise_rms_m),
            ));
        }
        if !(self.noise_scale_posts > 0.0) {
            return Err(SimError::invalid(
                "DEM noise scale",
                format!("{} posts (positive)", self.noise_scale_posts),
            ));
        }
        Ok(())
    }

    /// The map DEM made from the truth `dem` (a north-up grid): low-passed, decimated on a
    /// grid of `decimation` times the spacing whose centre node stays on the truth's centre,
    /// plus the smooth error drawn from `seed`.
    ///
    /// # Errors
    ///
    /// an invalid-field [`SimError::Dataset`] when the grid is not north-up or too small to
    /// decimate.
    pub fn apply(&self, dem: &Raster, seed: u64) -> Result<Raster, SimError> {
        self.validate()?;
        let gt = dem.transform.0;
        if gt[2] != 0.0 || gt[4] != 0.0 {
            return Err(SimError::invalid("map DEM", "not a north-up grid"));
        }
        let f = self.decimation;
        let (w, h) = (dem.width, dem.height);
        let mut smooth = dem.data.clone();
        if f > 1 {
            crate::camera_render::blur(&mut smooth, w, h, 0.5 * f as f64);
        }
        let (cc, cr) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
        let (nw, nh) = (
            2 * ((cc / f as f64).floor() as usize) + 1,
            2 * ((cr / f as f64).floor() as usize) + 1,
        );
        if nw < 4 || nh < 4 {
            return Err(SimError::invalid(
                "--map-dem-decimation",
                format!("{f}: leaves fewer than 4 posts across the {w} x {h} DEM"),
            ));
        }
        let (c0, r0) = (
            cc - ((nw - 1) / 2 * f) as f64,
            cr - ((nh - 1) / 2 * f) as f64,
        );
        let (x0, y0) = dem.transform.pixel_centre(c0, r0);
        let transform = GeoTransform([
            x0 - 0.5 * f as f64 * gt[1],
            f as f64 * gt[1],
            0.0,
            y0 - 0.5 * f as f64 * gt[5],
            0.0,
            f as f64 * gt[5],
        ]);
        let noise = (self.noise_rms_m > 0.0).then(|| {
            SmoothField::new(
                self.noise_rms_m,
                self.noise_scale_posts * f as f64 * gt[1].abs(),
                seed,
                0xDE3,
            )
        });
        let mut data = Vec::with_capacity(nw * nh);
        for r in 0..nh {
            for c in 0..nw {
                let (sc, sr) = (c0 + (c * f) as f64, r0 + (r * f) as f64);
                let v = smooth[sr as usize * w + sc as usize];
                let (x, y) = transform.pixel_centre(c as f64, r as f64);
                data.push(v + noise.as_ref().map_or(0.0, |n| n.at(x, y) as f32));
            }
        }
        Ok(Raster {
            width: nw,
            height: nh,
            data,
            transform,
            ..dem.clone()
        })
    }
}

/// RMS difference of `map` (interpolated bilinearly) from `truth` over the truth's pixels
/// inside the map's outermost pixel centres, metres; NaN differences are left out.
#[must_use]
pub fn rms_difference(map: &Raster, truth: &Raster) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for r in 0..truth.height {
        for c in 0..truth.width {
            let (x, y) = truth.transform.pixel_centre(c as f64, r as f64);
            let Some((mc, mr)) = map.transform.pixel_of(x, y) else {
                continue;
            };
            if mc < 0.0 || mr < 0.0 || mc > (map.width - 1) as f64 || mr > (map.height - 1) as f64 {
                continue;
            }
            let m = sample_clamped(
                &map.data,
                map.width,
                map.height,
                mc,
                mr,
                Interpolation::Bilinear,
            );
            let d = m - f64::from(truth.data[r * truth.width + c]);
            if d.is_finite() {
                s += d * d;
                n += 1;
            }
        }
    }
    if n == 0 { 0.0 } else { (s / n as f64).sqrt() }
}

/// Under which conditions the orthoimage is rendered (all default: as the site made it).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrthoConditions {
    /// Sun azimuth of the orthoimage minus the frames', degrees.
    pub sun_az_offset_deg: f64,
    /// Sun elevation of the orthoimage minus the frames', degrees.
    pub sun_el_offset_deg: f64,
    /// Photometric law of the orthoimage (None: the site's).
    pub law: Option<crate::photometry::Law>,
}

impl OrthoConditions {
    /// True when the site's orthoimage is used as it is.
    #[must_use]
    pub fn is_off(&self) -> bool {
        self.sun_az_offset_deg == 0.0 && self.sun_el_offset_deg == 0.0 && self.law.is_none()
    }
}

/// Everything about the dataset's map that differs from the truth.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MapRealism {
    /// Registration error.
    pub registration: Registration,
    /// The orthoimage's conditions.
    pub ortho: OrthoConditions,
    /// The DEM's errors.
    pub dem: DemErrors,
}

impl MapRealism {
    /// True when the map is written as the site made it.
    #[must_use]
    pub fn is_off(&self) -> bool {
        self.registration.is_off() && self.ortho.is_off() && self.dem.is_off()
    }
}

/// The site's orthoimage rendered again under `sun` (true azimuth) with `law`, on the grid
/// of the site's `ortho`: from the site's `dem` and `albedo` (map-grid rasters) on the DEM's
/// grid, or, for a fine orthoimage, with the site's detail as [`crate::site::make_site`]
/// renders it.
///
/// # Errors
///
/// an invalid-field [`SimError::Dataset`] for a sun below the horizon or rasters that do not
/// match; as [`crate::detail::render_patch_with`].
pub fn render_ortho(
    info: &crate::site::SiteInfo,
    dem: &Raster,
    albedo: &Raster,
    ortho: &Raster,
    sun: trn_map::render::Sun,
    law: crate::photometry::Law,
) -> Result<Raster, SimError> {
    use crate::detail::{Coarse, Detail, PatchArea, render_patch_with};
    use trn_flight::dem::Grid;
    use trn_map::SiteDem;
    if !(sun.elevation_deg > 0.0 && sun.elevation_deg <= 90.0) {
        return Err(SimError::invalid(
            "map sun elevation",
            format!("{} deg (above 0, at most 90)", sun.elevation_deg),
        ));
    }
    if albedo.data.len() != dem.data.len() {
        return Err(SimError::invalid(
            "site albedo",
            "size differs from the DEM",
        ));
    }
    let crs = dem.crs;
    let (cx, cy) = crs.forward(info.lat_deg, info.lon_deg);
    let gt = dem.transform.0;
    let (x0, y0) = dem.transform.pixel_centre(0.0, 0.0);
    let grid_dem = SiteDem {
        grid: Grid {
            width: dem.width,
            height: dem.height,
            stride: dem.width,
            x0: x0 - cx,
            y0: y0 - cy,
            dx: gt[1],
            dy: gt[5],
            radius: info.radius_m,
        },
        data: dem.data.clone(),
        missing: 0,
    };
    let grid_sun = trn_map::render::Sun {
        azimuth_deg: crate::site::grid_azimuth_deg(
            &crs,
            info.lat_deg,
            info.lon_deg,
            sun.azimuth_deg,
        ),
        elevation_deg: sun.elevation_deg,
    };
    if ortho.transform == dem.transform && ortho.width == dem.width {
        return Ok(Raster {
            data: crate::photometry::render(&grid_dem, grid_sun, Some(&albedo.data), law),
            ..ortho.clone()
        });
    }
    let Some(params) = info.detail else {
        return Err(SimError::invalid(
            "site",
            "a fine orthoimage without the site's detail parameters",
        ));
    };
    let og = ortho.transform.0;
    let (ox0, oy0) = ortho.transform.pixel_centre(0.0, 0.0);
    let (x0, y0) = (ox0 - cx, oy0 - cy);
    let x1 = x0 + (ortho.width - 1) as f64 * og[1];
    let y1 = y0 + (ortho.height - 1) as f64 * og[5];
    let shadow = trn_map::render::shadow_fraction(&grid_dem, grid_sun);
    let (patch, radiance) = render_patch_with(
        &Coarse::new(&grid_dem, &albedo.data, &shadow)?,
        &Detail::new(&params),
        &|x, y| (x, y),
        &PatchArea {
            x: (x0.min(x1), x0.max(x1)),
            y: (y0.min(y1), y0.max(y1)),
            spacing_m: og[1].abs(),
            max_nodes: 64 << 20,
        },
        grid_sun,
        law,
    )?;
    if patch.grid.width != ortho.width || patch.grid.height != ortho.height {
        return Err(SimError::invalid(
            "fine orthoimage",
            format!(
                "rendered {} x {}, the site's is {} x {}",
                patch.grid.width, patch.grid.height, ortho.width, ortho.height
            ),
        ));
    }
    Ok(Raster {
        data: radiance,
        ..ortho.clone()
    })
}
