//! Photometric laws the simulator can shade with, so that the map and the frames can be
//! made under different laws as real orbital maps and descent images are.
//!
//! Every law is evaluated with the viewer at nadir (as trn-map's renders are): incidence
//! `i` from the surface normal and the sun, emission `e` from the normal and the vertical,
//! phase `g = 90 deg - sun elevation`. Cast shadows come from
//! [`trn_map::render::shadow_fraction`] (the lit fraction multiplies the reflectance).
//!
//! - [`Law::LunarLambert`]: trn-map's render itself (McEwen's lunar-Lambert times albedo).
//! - [`Law::LommelSeeliger`]: `A 2 cos i / (cos i + cos e)`, the single-scattering limit.
//! - [`Law::Hapke`]: Hapke's bidirectional reflectance with isotropic multiple scattering
//!   (H-function approximation `(1 + 2x) / (1 + 2 gamma x)`), a single-lobe
//!   Henyey-Greenstein phase function (backscattering, asymmetry -0.25) and the shadow-hiding
//!   opposition surge (`B0 = 1`, `h = 0.06`); the albedo scales the single-scattering albedo
//!   (`w = 0.25 A`, so brightness is not proportional to albedo as under the other laws).
//! - [`Law::Hillshade`]: `max(cos i, 0)` of the DEM alone: no albedo, no cast shadows (the
//!   plain hillshade a map is sometimes made of).

use crate::error::SimError;
use rayon::prelude::*;
use trn_flight::Vec3;
use trn_map::SiteDem;
use trn_map::render::{self, Sun};

/// A photometric law.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Law {
    /// McEwen's lunar-Lambert (trn-map's renderer).
    #[default]
    LunarLambert,
    /// Lommel-Seeliger.
    LommelSeeliger,
    /// Hapke with isotropic multiple scattering and an opposition surge.
    Hapke,
    /// Cosine of the incidence angle, without albedo or cast shadows.
    Hillshade,
}

impl Law {
    /// The law named `s` (`lunar-lambert`, `lommel-seeliger`, `hapke`, `hillshade`).
    ///
    /// # Errors
    ///
    /// an invalid-field [`SimError::Dataset`] naming `option` and the value.
    pub fn parse(option: &str, s: &str) -> Result<Self, SimError> {
        match s {
            "lunar-lambert" => Ok(Self::LunarLambert),
            "lommel-seeliger" => Ok(Self::LommelSeeliger),
            "hapke" => Ok(Self::Hapke),
            "hillshade" => Ok(Self::Hillshade),
            _ => Err(SimError::invalid(
                option,
                format!("'{s}' (lunar-lambert, lommel-seeliger, hapke or hillshade)"),
            )),
        }
    }

    /// Reflectance for `cos_i` (> 0), `cos_e` and phase `g_deg`, albedo `a`.
    fn reflectance(self, cos_i: f64, cos_e: f64, g_deg: f64, a: f64) -> f64 {
        match self {
            Self::LunarLambert => {
                let l = render::lunar_lambert_l(g_deg);
                a * (2.0 * l * cos_i / (cos_i + cos_e) + (1.0 - l) * cos_i)
            }
            Self::LommelSeeliger => a * 2.0 * cos_i / (cos_i + cos_e),
            Self::Hapke => {
                let w = (0.25 * a).clamp(0.0, 0.99);
                let gamma = (1.0 - w).sqrt();
                let hf = |x: f64| (1.0 + 2.0 * x) / (1.0 + 2.0 * gamma * x);
                let g = g_deg.to_radians();
                let xi: f64 = -0.25;
                let p = (1.0 - xi * xi) / (1.0 + 2.0 * xi * g.cos() + xi * xi).powf(1.5);
                let b = 1.0 / (1.0 + (0.5 * g).tan() / 0.06);
                w / (4.0 * std::f64::consts::PI) * cos_i / (cos_i + cos_e)
                    * ((1.0 + b) * p + hf(cos_i) * hf(cos_e) - 1.0)
            }
            Self::Hillshade => cos_i,
        }
    }
}

/// Renders `dem` seen from nadir under `sun` with `law`: the reflectance times the lit
/// fraction (cast shadows), times `albedo` where the law uses it; NaN at nodata. For
/// [`Law::LunarLambert`] this is [`trn_map::render::render`] exactly.
#[must_use]
pub fn render(dem: &SiteDem, sun: Sun, albedo: Option<&[f32]>, law: Law) -> Vec<f32> {
    if law == Law::LunarLambert {
        return render::render(dem, sun, albedo, true);
    }
    let g = dem.grid;
    let (w, h) = (g.width, g.height);
    let z = render::site_z(dem);
    let shadow = if law == Law::Hillshade {
        vec![0.0; w * h]
    } else {
        render::shadow_fraction(dem, sun)
    };
    let s = sun.direction();
    let phase = 90.0 - sun.elevation_deg;
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(w).enumerate().for_each(|(r, row)| {
        for (c, px) in row.iter_mut().enumerate() {
            let k = r * w + c;
            if z[k].is_nan() {
                *px = f32::NAN;
                continue;
            }
            let lit = 1.0 - f64::from(shadow[k]);
            if lit <= 0.0 {
                *px = 0.0;
                continue;
            }
            let zx = |cc: usize| z[r * w + cc];
            let zy = |rr: usize| z[rr * w + c];
            let (cl, cr) = (c.saturating_sub(1), (c + 1).min(w - 1));
            let (ru, rd) = (r.saturating_sub(1), (r + 1).min(h - 1));
            let gx = f64::from(zx(cr) - zx(cl)) / ((cr - cl).max(1) as f64 * g.dx);
            let gy = f64::from(zy(rd) - zy(ru)) / ((rd - ru).max(1) as f64 * g.dy);
            if !(gx.is_finite() && gy.is_finite()) {
                *px = f32::NAN;
                continue;
            }
            let n = Vec3::new(-gx, -gy, 1.0)
                .try_normalize()
                .unwrap_or(Vec3::new(0.0, 0.0, 1.0));
            let cos_i = n.dot(s);
            if cos_i <= 0.0 {
                *px = 0.0;
                continue;
            }
            let a = if law == Law::Hillshade {
                1.0
            } else {
                albedo
                    .and_then(|a| a.get(k))
                    .copied()
                    .map_or(1.0, f64::from)
            };
            *px = (lit * law.reflectance(cos_i, n.z.max(1e-6), phase, a)) as f32;
        }
    });
    out
}
