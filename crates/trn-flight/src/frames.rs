//! Body-fixed frames on a spherical body: geodetic (latitude, longitude, height above the
//! sphere), Moon-centred Moon-fixed (MCMF) Cartesian, and the site East-North-Up frame whose
//! origin is on the sphere at the site's latitude and longitude. All f64: MCMF coordinates
//! are ~1.7e6 m and centimetres matter.

use crate::linalg::{Mat3, Vec3};
use crate::math;
use core::fmt;

/// Mean radius of the Moon's reference sphere (IAU), metres.
pub const MOON_RADIUS_M: f64 = 1_737_400.0;

/// Why a frame could not be built or a conversion made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Radius not positive and finite.
    BadRadius,
    /// Latitude outside [-pi/2, pi/2] or an angle not finite.
    BadLatitude,
    /// A non-finite coordinate.
    NonFinite,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadRadius => "body radius must be positive and finite",
            Self::BadLatitude => "latitude must lie within [-90, 90] degrees",
            Self::NonFinite => "coordinate is not finite",
        })
    }
}

impl core::error::Error for FrameError {}

/// A geodetic position on a sphere: latitude and longitude in radians, height above the
/// sphere in metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geodetic {
    /// Latitude, radians, positive north.
    pub lat: f64,
    /// Longitude, radians, positive east.
    pub lon: f64,
    /// Height above the reference sphere, metres.
    pub height: f64,
}

/// MCMF position of a geodetic point on a sphere of radius `radius`.
#[must_use]
pub fn geodetic_to_mcmf(g: Geodetic, radius: f64) -> Vec3 {
    let r = radius + g.height;
    let (sl, cl) = (math::sin(g.lat), math::cos(g.lat));
    let (so, co) = (math::sin(g.lon), math::cos(g.lon));
    Vec3::new(r * cl * co, r * cl * so, r * sl)
}

/// Geodetic position of an MCMF point. At the poles (and the centre) longitude is
/// undefined and returned as 0.
#[must_use]
pub fn mcmf_to_geodetic(p: Vec3, radius: f64) -> Geodetic {
    let rho = math::sqrt(p.x * p.x + p.y * p.y);
    let r = p.norm();
    let lon = if rho > 0.0 {
        math::atan2(p.y, p.x)
    } else {
        0.0
    };
    Geodetic {
        lat: math::atan2(p.z, rho),
        lon,
        height: r - radius,
    }
}

/// The site frame: East-North-Up at a point of the sphere.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SiteFrame {
    radius: f64,
    origin: Vec3,
    /// Rows are the east, north and up unit vectors in MCMF: `enu = rot * (mcmf - origin)`.
    rot: Mat3,
    lat: f64,
    lon: f64,
}

impl SiteFrame {
    /// The site frame at latitude `lat`, longitude `lon` (radians) on a sphere of `radius`.
    ///
    /// # Errors
    ///
    /// [`FrameError::BadRadius`] or [`FrameError::BadLatitude`].
    pub fn new(lat: f64, lon: f64, radius: f64) -> Result<Self, FrameError> {
        if !(radius > 0.0 && radius.is_finite()) {
            return Err(FrameError::BadRadius);
        }
        if !(lat.is_finite() && lon.is_finite()) || lat.abs() > core::f64::consts::FRAC_PI_2 {
            return Err(FrameError::BadLatitude);
        }
        let (sl, cl) = (math::sin(lat), math::cos(lat));
        let (so, co) = (math::sin(lon), math::cos(lon));
        let east = Vec3::new(-so, co, 0.0);
        let north = Vec3::new(-sl * co, -sl * so, cl);
        let up = Vec3::new(cl * co, cl * so, sl);
        Ok(Self {
            radius,
            origin: up * radius,
            rot: Mat3::from_rows(east, north, up),
            lat,
            lon,
        })
    }

    /// The site frame at latitude and longitude in degrees.
    ///
    /// # Errors
    ///
    /// As [`SiteFrame::new`].
    pub fn from_degrees(lat_deg: f64, lon_deg: f64, radius: f64) -> Result<Self, FrameError> {
        Self::new(lat_deg.to_radians(), lon_deg.to_radians(), radius)
    }

    /// Radius of the reference sphere, metres.
    #[must_use]
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// Site latitude and longitude, radians.
    #[must_use]
    pub fn lat_lon(&self) -> (f64, f64) {
        (self.lat, self.lon)
    }

    /// MCMF position of the site origin.
    #[must_use]
    pub fn origin_mcmf(&self) -> Vec3 {
        self.origin
    }

    /// The rotation taking MCMF vectors into the site frame (rows: east, north, up).
    #[must_use]
    pub fn mcmf_to_enu_rotation(&self) -> Mat3 {
        self.rot
    }

    /// Site coordinates of an MCMF point.
    #[must_use]
    pub fn mcmf_to_site(&self, p: Vec3) -> Vec3 {
        self.rot.mul_vec(p - self.origin)
    }

    /// MCMF coordinates of a site point.
    #[must_use]
    pub fn site_to_mcmf(&self, p: Vec3) -> Vec3 {
        self.rot.tr_mul_vec(p) + self.origin
    }

    /// An MCMF direction expressed in the site frame (rotation only).
    #[must_use]
    pub fn mcmf_dir_to_site(&self, d: Vec3) -> Vec3 {
        self.rot.mul_vec(d)
    }

    /// A site direction expressed in MCMF (rotation only).
    #[must_use]
    pub fn site_dir_to_mcmf(&self, d: Vec3) -> Vec3 {
        self.rot.tr_mul_vec(d)
    }

    /// Site coordinates of a geodetic point.
    #[must_use]
    pub fn geodetic_to_site(&self, g: Geodetic) -> Vec3 {
        self.mcmf_to_site(geodetic_to_mcmf(g, self.radius))
    }

    /// Geodetic position of a site point.
    #[must_use]
    pub fn site_to_geodetic(&self, p: Vec3) -> Geodetic {
        mcmf_to_geodetic(self.site_to_mcmf(p), self.radius)
    }

    /// The local vertical (unit, away from the body centre) at a site point, in the site
    /// frame; `+z` at the origin, tilted by `distance / R` away from it.
    #[must_use]
    pub fn up_at(&self, p: Vec3) -> Vec3 {
        Vec3::new(p.x, p.y, p.z + self.radius)
            .try_normalize()
            .unwrap_or(Vec3::new(0.0, 0.0, 1.0))
    }

    /// Height above the reference sphere of a site point.
    #[must_use]
    pub fn height_of(&self, p: Vec3) -> f64 {
        Vec3::new(p.x, p.y, p.z + self.radius).norm() - self.radius
    }
}
