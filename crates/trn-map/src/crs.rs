//! Map projections of lunar products on a sphere, with the conventions GDAL/PROJ use.
//!
//! Forward maps take latitude and longitude in degrees; projected coordinates are metres.
//! Formulas are Snyder's for the sphere (USGS Professional Paper 1395); the tests check
//! them against `gdaltransform` output.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};

/// A coordinate reference system on a sphere of radius `radius_m`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Crs {
    /// Geographic: x is longitude, y latitude, in degrees.
    Geographic {
        /// Sphere radius, metres.
        radius_m: f64,
    },
    /// Equirectangular (plate carrée with a true-scale latitude).
    Equirectangular {
        /// Sphere radius, metres.
        radius_m: f64,
        /// Latitude of true scale, degrees.
        lat_ts_deg: f64,
        /// Central longitude, degrees.
        lon0_deg: f64,
        /// False easting, metres.
        false_easting: f64,
        /// False northing, metres.
        false_northing: f64,
    },
    /// Polar stereographic centred on a pole.
    PolarStereographic {
        /// Sphere radius, metres.
        radius_m: f64,
        /// True for the south pole, false for the north.
        south: bool,
        /// Scale factor at the pole (1 when the pole is the latitude of true scale;
        /// `(1 + sin|lat_ts|) / 2` otherwise).
        scale: f64,
        /// Longitude pointing "down" from the pole (south: towards +y), degrees.
        lon0_deg: f64,
        /// False easting, metres.
        false_easting: f64,
        /// False northing, metres.
        false_northing: f64,
    },
}

/// Wraps a longitude difference into [-180, 180).
fn wrap_deg(d: f64) -> f64 {
    (d + 180.0).rem_euclid(360.0) - 180.0
}

impl Crs {
    /// The sphere's radius, metres.
    #[must_use]
    pub fn radius_m(&self) -> f64 {
        match *self {
            Self::Geographic { radius_m }
            | Self::Equirectangular { radius_m, .. }
            | Self::PolarStereographic { radius_m, .. } => radius_m,
        }
    }

    /// The CRS a PROJ.4 string describes (as GDAL's `OSRExportToProj4` writes them for
    /// planetary products): `+proj=longlat`, `+proj=eqc` and polar `+proj=stere` on a sphere
    /// given by `+R` (or `+a` equal to `+b`).
    ///
    /// # Errors
    ///
    /// A message naming the unsupported projection or parameter.
    pub fn from_proj4(s: &str) -> Result<Self, String> {
        let mut proj = None;
        let mut params = std::collections::HashMap::new();
        for tok in s.split_whitespace() {
            let tok = tok.trim_start_matches('+');
            let (k, v) = tok.split_once('=').unwrap_or((tok, ""));
            if k == "proj" {
                proj = Some(v.to_string());
            } else if let Ok(x) = v.parse::<f64>() {
                params.insert(k.to_string(), x);
            } else {
                params.insert(k.to_string(), f64::NAN);
            }
        }
        let get = |k: &str, default: f64| params.get(k).copied().unwrap_or(default);
        let radius_m = match (params.get("R"), params.get("a"), params.get("b")) {
            (Some(r), _, _) => *r,
            (None, Some(a), b) if b.is_none_or(|b| (b - a).abs() <= 1e-6 * a) => *a,
            (None, Some(a), Some(b)) => {
                return Err(format!("ellipsoid a={a} b={b}: only spheres are supported"));
            }
            _ => {
                return Err(
                    "no sphere radius (+R or +a): Earth datums are not lunar products".into(),
                );
            }
        };
        if !(radius_m > 0.0 && radius_m.is_finite()) {
            return Err(format!("sphere radius {radius_m}"));
        }
        match proj.as_deref() {
            Some("longlat" | "latlong" | "lonlat" | "latlon") => Ok(Self::Geographic { radius_m }),
            Some("eqc") => {
                if get("lat_0", 0.0) != 0.0 {
                    return Err(format!(
                        "eqc with lat_0={}: a non-zero origin latitude is not supported",
                        get("lat_0", 0.0)
                    ));
                }
                Ok(Self::Equirectangular {
                    radius_m,
                    lat_ts_deg: get("lat_ts", 0.0),
                    lon0_deg: get("lon_0", 0.0),
                    false_easting: get("x_0", 0.0),
                    false_northing: get("y_0", 0.0),
                })
            }
            Some("stere") => {
                let lat0 = get("lat_0", 0.0);
                if (lat0.abs() - 90.0).abs() > 1e-9 {
                    return Err(format!(
                        "stere with lat_0={lat0}: only polar (lat_0 = +-90) is supported"
                    ));
                }
                let scale = match (params.get("lat_ts"), params.get("k_0").or(params.get("k"))) {
                    (Some(ts), _) => Self::polar_scale_from_lat_ts(*ts),
                    (None, Some(k)) => *k,
                    (None, None) => 1.0,
                };
                Ok(Self::PolarStereographic {
                    radius_m,
                    south: lat0 < 0.0,
                    scale,
                    lon0_deg: get("lon_0", 0.0),
                    false_easting: get("x_0", 0.0),
                    false_northing: get("y_0", 0.0),
                })
            }
            Some(other) => Err(format!(
                "projection '{other}': supported are longlat, eqc and polar stere"
            )),
            None => Err("no +proj".into()),
        }
    }

    /// The polar-stereographic scale factor for a latitude of true scale (degrees).
    #[must_use]
    pub fn polar_scale_from_lat_ts(lat_ts_deg: f64) -> f64 {
        (1.0 + lat_ts_deg.to_radians().sin().abs()) / 2.0
    }

    /// Projects latitude and longitude (degrees) to map coordinates.
    #[must_use]
    pub fn forward(&self, lat_deg: f64, lon_deg: f64) -> (f64, f64) {
        match *self {
            Self::Geographic { .. } => (lon_deg, lat_deg),
            Self::Equirectangular {
                radius_m,
                lat_ts_deg,
                lon0_deg,
                false_easting,
                false_northing,
            } => (
                false_easting
                    + radius_m
                        * wrap_deg(lon_deg - lon0_deg).to_radians()
                        * lat_ts_deg.to_radians().cos(),
                false_northing + radius_m * lat_deg.to_radians(),
            ),
            Self::PolarStereographic {
                radius_m,
                south,
                scale,
                lon0_deg,
                false_easting,
                false_northing,
            } => {
                let phi = lat_deg.to_radians();
                let dl = wrap_deg(lon_deg - lon0_deg).to_radians();
                if south {
                    let rho = 2.0 * radius_m * scale * (FRAC_PI_4 + phi / 2.0).tan();
                    (
                        false_easting + rho * dl.sin(),
                        false_northing + rho * dl.cos(),
                    )
                } else {
                    let rho = 2.0 * radius_m * scale * (FRAC_PI_4 - phi / 2.0).tan();
                    (
                        false_easting + rho * dl.sin(),
                        false_northing - rho * dl.cos(),
                    )
                }
            }
        }
    }

    /// Latitude and longitude (degrees, longitude in [-180, 180)) of map coordinates.
    #[must_use]
    pub fn inverse(&self, x: f64, y: f64) -> (f64, f64) {
        match *self {
            Self::Geographic { .. } => (y, x),
            Self::Equirectangular {
                radius_m,
                lat_ts_deg,
                lon0_deg,
                false_easting,
                false_northing,
            } => {
                let lat = ((y - false_northing) / radius_m).to_degrees();
                let lon = lon0_deg
                    + ((x - false_easting) / (radius_m * lat_ts_deg.to_radians().cos()))
                        .to_degrees();
                (lat, wrap_deg(lon))
            }
            Self::PolarStereographic {
                radius_m,
                south,
                scale,
                lon0_deg,
                false_easting,
                false_northing,
            } => {
                let (dx, dy) = (x - false_easting, y - false_northing);
                let rho = dx.hypot(dy);
                let c = 2.0 * (rho / (2.0 * radius_m * scale)).atan();
                if south {
                    (
                        (c - FRAC_PI_2).to_degrees(),
                        wrap_deg(lon0_deg + dx.atan2(dy).to_degrees()),
                    )
                } else {
                    (
                        (FRAC_PI_2 - c).to_degrees(),
                        wrap_deg(lon0_deg + dx.atan2(-dy).to_degrees()),
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: f64 = 1_737_400.0;

    fn close(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
        (a.0 - b.0).abs() < tol && (a.1 - b.1).abs() < tol
    }

    #[test]
    fn matches_gdaltransform() {
        // gdaltransform -s_srs "+proj=longlat +R=1737400" -t_srs "<proj>" (GDAL 3.6.2, PROJ 9.1).
        let sps = Crs::PolarStereographic {
            radius_m: R,
            south: true,
            scale: 1.0,
            lon0_deg: 0.0,
            false_easting: 0.0,
            false_northing: 0.0,
        };
        assert!(close(
            sps.forward(-85.3, -170.5),
            (-23535.742174579, -140644.049377334),
            1e-6
        ));
        assert!(close(
            sps.forward(-85.3, 31.2),
            (73870.5058367587, 121974.702919841),
            1e-6
        ));
        assert!(close(
            sps.forward(-60.0, 45.0),
            (658365.807422537, 658365.807422537),
            1e-6
        ));
        let sps80 = Crs::PolarStereographic {
            radius_m: R,
            south: true,
            scale: Crs::polar_scale_from_lat_ts(-80.0),
            lon0_deg: 30.0,
            false_easting: 1000.0,
            false_northing: -500.0,
        };
        assert!(close(
            sps80.forward(-85.3, -170.5),
            (50560.1276563157, -133054.582671339),
            1e-6
        ));
        assert!(close(
            sps80.forward(-60.0, 45.0),
            (240148.107214959, 892012.886660156),
            1e-6
        ));
        let nps = Crs::PolarStereographic {
            radius_m: R,
            south: false,
            scale: 1.0,
            lon0_deg: 0.0,
            false_easting: 0.0,
            false_northing: 0.0,
        };
        assert!(close(
            nps.forward(85.3, 31.2),
            (73870.5058367587, -121974.702919841),
            1e-6
        ));
        assert!(close(
            nps.forward(70.0, -100.0),
            (-603392.68775705, 106394.410813766),
            1e-6
        ));
        let eqc = Crs::Equirectangular {
            radius_m: R,
            lat_ts_deg: 10.0,
            lon0_deg: 20.0,
            false_easting: 0.0,
            false_northing: 0.0,
        };
        assert!(close(
            eqc.forward(-85.3, 31.2),
            (334461.910664094, -2586581.79117995),
            1e-6
        ));
        assert!(close(
            eqc.forward(12.25, -170.5),
            (5061722.66585393, 371461.042695831),
            1e-6
        ));
    }

    #[test]
    fn inverse_undoes_forward() {
        let crss = [
            Crs::PolarStereographic {
                radius_m: R,
                south: true,
                scale: 0.97,
                lon0_deg: -40.0,
                false_easting: 5.0,
                false_northing: 7.0,
            },
            Crs::PolarStereographic {
                radius_m: R,
                south: false,
                scale: 1.0,
                lon0_deg: 10.0,
                false_easting: 0.0,
                false_northing: 0.0,
            },
            Crs::Equirectangular {
                radius_m: R,
                lat_ts_deg: 30.0,
                lon0_deg: 180.0,
                false_easting: 1.0,
                false_northing: 2.0,
            },
        ];
        for crs in crss {
            for (lat, lon) in [
                (-89.0, 12.0),
                (-70.5, -170.0),
                (-45.0, 179.9),
                (20.0, 0.0),
                (80.0, -60.0),
            ] {
                let south = matches!(crs, Crs::PolarStereographic { south: true, .. });
                let north = matches!(crs, Crs::PolarStereographic { south: false, .. });
                if (south && lat > 0.0) || (north && lat < 0.0) {
                    continue;
                }
                let (x, y) = crs.forward(lat, lon);
                let (la, lo) = crs.inverse(x, y);
                assert!(
                    (la - lat).abs() < 1e-9 && wrap_deg(lo - lon).abs() < 1e-9,
                    "{crs:?} {lat} {lon} -> {la} {lo}"
                );
            }
        }
    }
}
