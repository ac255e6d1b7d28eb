//! Building a map database from a DEM (and an orthoimage) and reading it back through
//! trn-flight's in-place parser: landmarks lie on the source terrain, the flight DEM answers
//! altitudes, and bad requests are named errors.

use trn_flight::Vec3;
use trn_flight::frames::{MOON_RADIUS_M as R, SiteFrame};
use trn_flight::mapdb::MapDb;
use trn_flight::rng::Pcg32;
use trn_map::build::{BuildParams, LandmarkSource, build};
use trn_map::raster::SampleType;
use trn_map::render::Sun;
use trn_map::{Crs, GeoTransform, Raster, mapdb};

const LAT: f64 = 10.0;
const LON: f64 = 20.0;

/// Craters (bowl, raised rim) and gentle undulation, as a function of local metres
/// east/north of the site on the sphere.
struct Terrain {
    craters: Vec<(f64, f64, f64)>,
}

impl Terrain {
    fn new(seed: u64) -> Self {
        let mut rng = Pcg32::new(seed, 1);
        // Sizes from 30 m to 600 m radius, many more small than large, as on the Moon.
        let craters = (0..500)
            .map(|_| {
                let e = (rng.next_f64() - 0.5) * 11_000.0;
                let n = (rng.next_f64() - 0.5) * 9_000.0;
                let r = 30.0 * 20f64.powf(rng.next_f64().powi(3));
                (e, n, r)
            })
            .collect();
        Self { craters }
    }

    fn local(lat: f64, lon: f64) -> (f64, f64) {
        (
            (lon - LON).to_radians() * R * LAT.to_radians().cos(),
            (lat - LAT).to_radians() * R,
        )
    }

    /// Bright rings around the craters (fresh-crater halos).
    fn halos(&self, lat: f64, lon: f64) -> f64 {
        let (e, n) = Self::local(lat, lon);
        let mut a = 1.0;
        for &(ce, cn, rc) in &self.craters {
            let d = ((e - ce).powi(2) + (n - cn).powi(2)).sqrt() / rc;
            if d < 3.0 {
                a += 0.6 * (-(d - 1.3).powi(2) / 0.08).exp();
            }
        }
        a
    }

    fn height(&self, lat: f64, lon: f64) -> f64 {
        let (e, n) = Self::local(lat, lon);
        let mut h = 30.0 * (e / 1700.0).sin() * (n / 2300.0).cos() + 0.002 * e;
        for &(ce, cn, rc) in &self.craters {
            let d2 = ((e - ce).powi(2) + (n - cn).powi(2)) / (rc * rc);
            if d2 > 400.0 {
                continue;
            }
            let d = d2.sqrt();
            let depth = 0.2 * rc;
            let rim = 0.04 * rc;
            h += if d < 1.0 {
                depth * (d * d - 1.0) + rim
            } else {
                rim / d.powi(3)
            };
        }
        h
    }
}

/// An equirectangular raster of `f` (true scale at the site latitude) at `px` metres.
fn raster(px: f64, half_w: f64, half_h: f64, f: impl Fn(f64, f64) -> f64 + Sync) -> Raster {
    let crs = Crs::Equirectangular {
        radius_m: R,
        lat_ts_deg: LAT,
        lon0_deg: 0.0,
        false_easting: 0.0,
        false_northing: 0.0,
    };
    let (cx, cy) = crs.forward(LAT, LON);
    let (w, h) = ((2.0 * half_w / px) as usize, (2.0 * half_h / px) as usize);
    let gt = GeoTransform([cx - half_w, px, 0.0, cy + half_h, 0.0, -px]);
    let data = (0..w * h)
        .map(|i| {
            let (x, y) = gt.pixel_centre((i % w) as f64, (i / w) as f64);
            let (lat, lon) = crs.inverse(x, y);
            f(lat, lon) as f32
        })
        .collect();
    Raster {
        width: w,
        height: h,
        data,
        nodata: None,
        scale: 1.0,
        offset: 0.0,
        transform: gt,
        crs,
        sample: SampleType::F32,
    }
}

fn params() -> BuildParams {
    let mut p = BuildParams::new(
        LAT,
        LON,
        8_000.0,
        6_000.0,
        10.0,
        Sun {
            azimuth_deg: 120.0,
            elevation_deg: 15.0,
        },
    );
    p.coarse_max_side = 300;
    p.overview_max_side = 256;
    p
}

#[test]
fn database_from_a_dem_round_trips_through_the_flight_parser() {
    let t = Terrain::new(4);
    let dem = raster(10.0, 5_000.0, 4_000.0, |lat, lon| t.height(lat, lon));
    let p = params();
    let built = build(&dem, None, &p, &()).unwrap();
    let n = built.landmarks.len();
    assert!(n >= 100, "{n} landmarks, {:?}", built.selection);
    assert!(built.coarse_dem.grid.width <= 300 && built.overview.grid.width <= 256);

    let bytes = mapdb::to_bytes(&built.contents()).unwrap();
    let db = MapDb::parse(&bytes).unwrap();
    assert_eq!(db.site(), Some(built.site));
    let lm = db.landmarks().unwrap();
    assert_eq!((lm.len(), lm.template_side(), lm.levels()), (n, 21, 3));
    let side = 21;
    let mut buf = vec![0.0f32; side * side];
    for (got, want) in lm.iter().zip(&built.landmarks) {
        assert_eq!(got.id, want.id);
        assert_eq!(got.position.to_array(), want.position);
        for lvl in 0..3 {
            assert_eq!(got.template_into(lvl, &mut buf), Some(side));
            assert_eq!(buf, want.templates[lvl]);
        }
    }

    // Every landmark lies on the source terrain: its site position, taken back to latitude,
    // longitude and height, has the terrain's height there.
    let frame = SiteFrame::from_degrees(LAT, LON, R).unwrap();
    let mut errs: Vec<f64> = built
        .landmarks
        .iter()
        .map(|l| {
            let g = frame.site_to_geodetic(Vec3::from_array(l.position));
            (g.height - t.height(g.lat.to_degrees(), g.lon.to_degrees())).abs()
        })
        .collect();
    errs.sort_by(f64::total_cmp);
    assert!(
        errs[errs.len() / 2] < 0.05,
        "median {}",
        errs[errs.len() / 2]
    );
    assert!(errs[errs.len() - 1] < 1.0, "worst {}", errs[errs.len() - 1]);

    // Landmarks spread: each quarter of the map holds at least a tenth of them.
    for (sx, sy) in [(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)] {
        let k = built
            .landmarks
            .iter()
            .filter(|l| l.position[0] * sx > 0.0 && l.position[1] * sy > 0.0)
            .count();
        assert!(k * 10 >= n, "quadrant ({sx},{sy}): {k} of {n}");
    }

    // The flight DEM from the database answers altitudes over the coarse grid to within its
    // smoothing: 1 km above each landmark.
    let hf = db.dem().unwrap().heightfield().unwrap();
    let mut worst: f64 = 0.0;
    for l in &built.landmarks {
        let p = Vec3::from_array(l.position);
        let above = p + frame.up_at(p) * 1000.0;
        let a = hf.altitude(above).unwrap();
        worst = worst.max((a.altitude - 1000.0).abs());
    }
    // The coarse DEM is level 2 (40 m nodes): crater rims move by metres, not tens.
    assert!(worst < 15.0, "worst altitude error {worst} m");
}

#[test]
fn orthoimage_becomes_albedo_or_the_landmark_source() {
    let t = Terrain::new(9);
    let dem = raster(10.0, 5_000.0, 4_000.0, |lat, lon| t.height(lat, lon));
    // Halos around another crater population with a dark spot at the site, in a different
    // CRS (geographic degrees) and grid.
    let halos = Terrain::new(77);
    let geo = Crs::Geographic { radius_m: R };
    let (w, h) = (900, 700);
    let deg = 0.0004;
    let gt = GeoTransform([LON - 450.0 * deg, deg, 0.0, LAT + 350.0 * deg, 0.0, -deg]);
    let data = (0..w * h)
        .map(|i| {
            let (lon, lat) = gt.pixel_centre((i % w) as f64, (i / w) as f64);
            let spot = (-((lat - LAT).powi(2) + (lon - LON).powi(2)) / 1e-5).exp();
            (halos.halos(lat, lon) * (1.0 - 0.8 * spot)) as f32
        })
        .collect();
    let ortho = Raster {
        width: w,
        height: h,
        data,
        nodata: None,
        scale: 1.0,
        offset: 0.0,
        transform: gt,
        crs: geo,
        sample: SampleType::F32,
    };
    let p = params();
    let plain = build(&dem, None, &p, &()).unwrap();
    let with = build(&dem, Some(&ortho), &p, &()).unwrap();
    let albedo = with.albedo.as_ref().unwrap();
    let g = with.dem.grid;
    let centre = (g.height / 2) * g.width + g.width / 2;
    assert!(
        albedo[centre] < 1.0,
        "dark spot at the site: {}",
        albedo[centre]
    );
    for (k, (a, b)) in plain
        .render
        .iter()
        .zip(&with.render)
        .enumerate()
        .step_by(101)
    {
        assert!(
            (a * albedo[k] - b).abs() < 1e-5 * (1.0 + a.abs()),
            "node {k}"
        );
    }
    let mut q = p;
    q.landmark_source = LandmarkSource::Ortho;
    let on_ortho = build(&dem, Some(&ortho), &q, &()).unwrap();
    assert_ne!(
        on_ortho.landmarks.first().map(|l| l.position),
        with.landmarks.first().map(|l| l.position)
    );
}

#[test]
fn uncovered_sites_and_bad_requests_are_named_errors() {
    let t = Terrain::new(4);
    let dem = raster(20.0, 3_000.0, 3_000.0, |lat, lon| t.height(lat, lon));
    let e = build(&dem, None, &params(), &()).unwrap_err().to_string();
    assert!(
        e.contains("DEM coverage") && e.contains("site nodes"),
        "{e}"
    );
    let mut p = params();
    p.width_m = 4_000.0;
    p.height_m = 4_000.0;
    p.landmark_source = LandmarkSource::Ortho;
    let e = build(&dem, None, &p, &()).unwrap_err().to_string();
    assert!(e.contains("orthoimage"), "{e}");
    let mut p = params();
    p.sun.elevation_deg = -3.0;
    let e = build(&dem, None, &p, &()).unwrap_err().to_string();
    assert!(e.contains("sun elevation"), "{e}");
    let mut p = params();
    p.lat_deg = 95.0;
    let e = build(&dem, None, &p, &()).unwrap_err().to_string();
    assert!(e.contains("site"), "{e}");
}

/// Pearson correlation of two images over the nodes where both are finite.
fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (f64::from(*x), f64::from(*y)))
        .collect();
    let n = pairs.len() as f64;
    let (ma, mb) = pairs
        .iter()
        .fold((0.0, 0.0), |(s, t), (x, y)| (s + x / n, t + y / n));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// An orthoimage taken under one sun, its shading divided out by the DEM's render under
/// that sun, and relit under another, matches what the camera sees under the other sun
/// (the render with the true albedo) far better than the orthoimage itself does.
#[test]
fn a_deshaded_orthoimage_relights_under_another_sun() {
    let t = Terrain::new(9);
    let dem = raster(10.0, 5_000.0, 4_000.0, |lat, lon| t.height(lat, lon));
    let built = build(&dem, None, &params(), &()).unwrap();
    let site = &built.dem;
    let g = site.grid;
    let halos = Terrain::new(77);
    // Halos placed by local metres east and north of the site (Terrain::local inverted).
    let albedo: Vec<f32> = (0..g.width * g.height)
        .map(|k| {
            let (x, y) = (
                g.x0 + (k % g.width) as f64 * g.dx,
                g.y0 + (k / g.width) as f64 * g.dy,
            );
            let lat = LAT + (y / R).to_degrees();
            let lon = LON + (x / (R * LAT.to_radians().cos())).to_degrees();
            halos.halos(lat, lon) as f32
        })
        .collect();
    let ortho_sun = Sun {
        azimuth_deg: 200.0,
        elevation_deg: 35.0,
    };
    let frames_sun = Sun {
        azimuth_deg: 120.0,
        elevation_deg: 25.0,
    };
    let ortho = trn_map::render::render(site, ortho_sun, Some(&albedo), true);
    let seen = trn_map::render::render(site, frames_sun, Some(&albedo), true);
    let shading = trn_map::render::render(site, ortho_sun, None, true);
    let deshaded = trn_map::build::deshaded_albedo(&ortho, &shading);
    let relit = trn_map::render::render(site, frames_sun, Some(&deshaded), true);
    let (as_is, relit) = (correlation(&ortho, &seen), correlation(&relit, &seen));
    assert!(
        relit > 0.95,
        "relit orthoimage against the frames' view: {relit}"
    );
    assert!(relit > as_is + 0.1, "relit {relit}, as it is {as_is}");
    // Where the orthoimage's sun lit the ground, the albedo comes back (over its median).
    let mut med: Vec<f32> = albedo.clone();
    let med = trn_flight::stats::sample_quantile(&mut med, 0.5).unwrap();
    let lit: Vec<f32> = shading
        .iter()
        .zip(albedo.iter().zip(&deshaded))
        .filter(|(s, _)| **s > 0.5)
        .map(|(_, (a, d))| (a / med - d).abs())
        .collect();
    assert!(lit.len() > shading.len() / 2, "{} lit nodes", lit.len());
    let worst = lit.iter().copied().fold(0.0f32, f32::max);
    assert!(worst < 0.01, "albedo recovered where lit to {worst}");
}
