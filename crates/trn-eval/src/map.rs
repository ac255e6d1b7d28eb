//! The map database an evaluation navigates against, built from the dataset's `map`
//! section: the DEM resampled onto the largest site-centred square inside it (less an
//! 8-post margin), at the DEM's own spacing, with templates rendered under the frames' sun
//! or taken from the orthoimage (see [`Templates::Auto`] for the choice).

use crate::error::EvalError;
use crate::options::{EvalOptions, Templates};
use std::path::Path;
use trn_dataset::dataset::Dataset;
use trn_flight::frames::SiteFrame;
use trn_map::build::{BuildParams, LandmarkSource};
use trn_map::render::Sun;

/// Whether two sun directions are within 5 degrees in both elevation and azimuth.
fn sun_close(a_el: f64, a_az: f64, sun: &Sun) -> bool {
    (a_el - sun.elevation_deg).abs() < 5.0
        && ((a_az - sun.azimuth_deg + 540.0).rem_euclid(360.0) - 180.0).abs() < 5.0
}

/// A raster's pixel size, metres (the larger of its two axes).
fn raster_gsd(r: &trn_map::raster::Raster) -> f64 {
    r.transform.0[1].abs().max(r.transform.0[5].abs())
}

/// How a map's templates are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// Renders of the DEM under the frames' sun, without the orthoimage.
    Render,
    /// The orthoimage as it is.
    Ortho,
    /// The orthoimage relit: renders of the DEM under the frames' sun times the
    /// orthoimage with its own sun's shading divided out, on the orthoimage's grid.
    Relit,
}

/// The plan `--templates` asks for; for [`Templates::Auto`], with an orthoimage of pixel
/// `ortho_gsd`: the orthoimage itself when its sun is close to the frames'; relit when its
/// sun is known and far; without its sun, the orthoimage itself when the DEM's posts
/// (`dem_gsd`) are more than 1.5 times its pixel (renders of so coarse a DEM lack the
/// detail the frames show at the ortho's scale, which the orthoimage shows even under
/// another sun); else renders.
fn template_plan(
    templates: Templates,
    ortho_gsd: Option<f64>,
    ortho_sun_known: bool,
    dem_gsd: f64,
    ortho_sun_close: bool,
) -> Plan {
    match (templates, ortho_gsd) {
        (Templates::Render, _) => Plan::Render,
        (Templates::Ortho, _) => Plan::Ortho,
        (Templates::Relit, _) => Plan::Relit,
        (Templates::Auto, Some(_)) if ortho_sun_close => Plan::Ortho,
        (Templates::Auto, Some(_)) if ortho_sun_known => Plan::Relit,
        (Templates::Auto, Some(o)) if dem_gsd > 1.5 * o => Plan::Ortho,
        (Templates::Auto, _) => Plan::Render,
    }
}

/// Builds the map database for `ds` (see the module documentation), also writing it to
/// `map_out` when given; returns its bytes.
///
/// # Errors
///
/// [`EvalError::Invalid`] when a prior lies outside the map (naming the frames.csv line),
/// `--templates ortho` or `relit` has no orthoimage, or `relit` no `map.ortho_sun`;
/// [`EvalError::Map`] when the map products cannot be read or built (an orthoimage sun
/// below the horizon among them).
pub fn build_map(
    ds: &Dataset,
    opts: &EvalOptions,
    map_out: Option<&Path>,
) -> Result<Vec<u8>, EvalError> {
    let dem = trn_map::io::read_raster(ds.dir.join(&ds.meta.map.dem))?;
    let ortho = match &ds.meta.map.ortho {
        Some(p) => Some(trn_map::io::read_raster(ds.dir.join(p))?),
        None => None,
    };
    // The dataset's poses are on its body's sphere; a DEM on another is another body.
    let (body, sphere) = (ds.meta.body.radius_m, dem.crs.radius_m());
    if (body - sphere).abs() > 1e-6 * body {
        return Err(EvalError::Invalid(format!(
            "{}: body.radius_m is {body} m, but map.dem ({}) is on a sphere of {sphere} m:              the dataset and its DEM are on different bodies",
            ds.dir.join("dataset.json").display(),
            ds.meta.map.dem,
        )));
    }
    let frame =
        SiteFrame::from_degrees(ds.meta.site.lat_deg, ds.meta.site.lon_deg, body).map_err(|e| {
            EvalError::Invalid(format!(
                "{}: site: {e:?}",
                ds.dir.join("dataset.json").display()
            ))
        })?;
    let f0 = ds
        .frames
        .first()
        .ok_or_else(|| EvalError::Invalid("the dataset has no frames".into()))?;
    let sun = Sun {
        azimuth_deg: f0.sun_az_deg,
        elevation_deg: f0.sun_el_deg,
    };
    let gsd = raster_gsd(&dem);
    let half = (trn_map::site_dem::inscribed_half_side(&dem, &frame) - 8.0 * gsd).max(10.0 * gsd);
    // The map must lie under the descent: every prior position within the map's square.
    let fpath = ds.dir.join(&ds.meta.frames);
    for (k, fr) in ds.frames.iter().enumerate() {
        let p = fr.prior.position;
        if p.x.abs() > half || p.y.abs() > half {
            return Err(EvalError::Invalid(format!(
                "{}: line {}, prior_x_m/prior_y_m: ({:.0}, {:.0}) m is outside the map \
                 ({} covers +-{:.0} m around the site): the map does not cover the trajectory",
                fpath.display(),
                k + 2,
                p.x,
                p.y,
                ds.meta.map.dem,
                half
            )));
        }
    }
    let mut p = BuildParams::new(
        ds.meta.site.lat_deg,
        ds.meta.site.lon_deg,
        2.0 * half,
        2.0 * half,
        gsd,
        sun,
    );
    p.dem_sigma_m = ds.meta.map.dem_sigma_m;
    p.registration_sigma_m = ds.meta.map.registration_sigma_m.unwrap_or(0.0);
    p.landmarks.max_landmarks = opts.max_landmarks;
    let ortho_sun = ds.meta.map.ortho_sun.map(|s| Sun {
        azimuth_deg: s.az_deg,
        elevation_deg: s.el_deg,
    });
    let ortho_sun_close =
        ortho_sun.is_some_and(|s| sun_close(s.elevation_deg, s.azimuth_deg, &sun));
    let plan = template_plan(
        opts.templates,
        ortho.as_ref().map(raster_gsd),
        ortho_sun.is_some(),
        gsd,
        ortho_sun_close,
    );
    let ortho = match (plan, ortho) {
        (Plan::Render, _) => None,
        (_, Some(o)) => Some(o),
        (_, None) => {
            return Err(EvalError::Invalid(format!(
                "--templates {}: the dataset has no orthoimage (map.ortho in dataset.json)",
                if plan == Plan::Ortho {
                    "ortho"
                } else {
                    "relit"
                }
            )));
        }
    };
    p.landmark_source = if plan == Plan::Ortho {
        LandmarkSource::Ortho
    } else {
        LandmarkSource::Render
    };
    if plan == Plan::Relit {
        let Some(o_sun) = ortho_sun else {
            return Err(EvalError::Invalid(
                "--templates relit: the dataset does not state its orthoimage's sun \
                 (map.ortho_sun in dataset.json)"
                    .into(),
            ));
        };
        p.ortho_sun = Some(o_sun);
        // On the orthoimage's grid, as fine as the DEM allows: its texture is the detail.
        let ortho_gsd = ortho.as_ref().map_or(gsd, raster_gsd);
        p.gsd_m = ortho_gsd
            .max(trn_map::build::MAX_OVERSAMPLING * gsd)
            .min(gsd);
    }
    // Template levels are dropped, as `trn map build` does, until the selection reaches the
    // default count. A dataset's map is what it is, though, often only the region its
    // frames see: when no level count reaches it, the evaluation navigates with the
    // selection that chose the most landmarks (built again asking for that many), refusing
    // only a map too poor for a single pose (fewer landmarks than a pose's least inliers).
    let built = match trn_map::build(&dem, ortho.as_ref(), &p, &()) {
        Err(trn_map::MapError::TooFewLandmarks { chosen, .. }) => {
            p.landmarks.min_landmarks = chosen.max(trn::NavConfig::default().min_inliers);
            trn_map::build(&dem, ortho.as_ref(), &p, &())
        }
        built => built,
    }
    .map_err(|e| e.for_file(ds.dir.join(&ds.meta.map.dem)))?;
    let bytes = trn_map::mapdb::to_bytes(&built.contents())?;
    if let Some(path) = map_out {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(EvalError::io(parent))?;
        }
        trn_map::mapdb::write(path, &built.contents())?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Auto takes the orthoimage when its sun is close; relights it when its sun is known
    /// and far; without its sun, takes it when the DEM is too coarse to render the frames'
    /// detail (a 40 m DEM under a 10 m ortho); renders otherwise. The explicit choices
    /// are obeyed.
    #[test]
    fn auto_templates_follow_sun_and_resolution() {
        use Plan::{Ortho, Relit, Render};
        let auto =
            |ortho, known, dem, close| template_plan(Templates::Auto, ortho, known, dem, close);
        assert_eq!(auto(Some(10.0), true, 10.0, true), Ortho);
        assert_eq!(auto(Some(10.0), true, 10.0, false), Relit);
        assert_eq!(auto(Some(10.0), true, 40.0, false), Relit);
        assert_eq!(auto(Some(10.0), false, 10.0, false), Render);
        assert_eq!(auto(Some(10.0), false, 14.0, false), Render);
        assert_eq!(auto(Some(10.0), false, 20.0, false), Ortho);
        assert_eq!(auto(Some(10.0), false, 40.0, false), Ortho);
        assert_eq!(auto(None, false, 40.0, true), Render);
        let explicit = |t| template_plan(t, Some(10.0), true, 40.0, true);
        assert_eq!(explicit(Templates::Render), Render);
        assert_eq!(explicit(Templates::Ortho), Ortho);
        assert_eq!(explicit(Templates::Relit), Relit);
    }
}
