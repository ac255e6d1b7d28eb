//! The on-board DEM as a heightfield over the site frame: heights, the camera's altitude
//! above the ground below it, and the slant range along a ray by marching through it.
//!
//! Grid definition (the map database writes DEMs this way): column centres at
//! `x = x0 + col * dx`, row centres at `y = y0 + row * dy` in site-frame metres (`dy` is
//! usually negative: row 0 is the north edge), and each value is the height above the
//! reference sphere of the terrain point whose site-frame `x, y` are the grid's. That
//! point's site `z` is therefore exactly `sqrt((R + h)^2 - x^2 - y^2) - R`: the sphere's
//! curvature (65 m at 15 km from the origin) is never approximated away.

use crate::linalg::Vec3;
use crate::math;
use core::fmt;

/// Hard cap on marching steps of one ray: bounds the time of [`Heightfield::ray_cast`].
pub const MAX_RAY_STEPS: u32 = 20_000;

/// Why a DEM query failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemError {
    /// Construction: empty grid, stride below width, data too short, bad spacing or radius.
    BadGrid,
    /// The query point lies outside the grid.
    OffMap,
    /// The query touches a nodata (or NaN) cell.
    NoData,
    /// The ray does not reach the terrain within the range asked.
    NoIntersection,
    /// The ray starts below the terrain surface.
    StartsBelowSurface,
    /// The marching step cap was reached (see [`MAX_RAY_STEPS`]).
    StepLimit,
    /// A non-finite input.
    NonFinite,
}

impl fmt::Display for DemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadGrid => "invalid DEM grid",
            Self::OffMap => "point outside the DEM",
            Self::NoData => "DEM has no data there",
            Self::NoIntersection => "ray does not meet the terrain within range",
            Self::StartsBelowSurface => "ray starts below the terrain",
            Self::StepLimit => "ray march step limit reached",
            Self::NonFinite => "non-finite input",
        })
    }
}

impl core::error::Error for DemError {}

/// Grid geometry of a [`Heightfield`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Elements between the starts of consecutive rows (>= width).
    pub stride: usize,
    /// Site x of column 0's centre, metres.
    pub x0: f64,
    /// Site y of row 0's centre, metres.
    pub y0: f64,
    /// Column spacing, metres (non-zero).
    pub dx: f64,
    /// Row spacing, metres (non-zero; negative when row 0 is north).
    pub dy: f64,
    /// Reference sphere radius, metres.
    pub radius: f64,
}

/// Where the samples live: native f32s, or little-endian bytes inside a map database
/// (decoded on access, so the database is never copied).
#[derive(Clone, Copy, Debug)]
enum Samples<'a> {
    F32(&'a [f32]),
    LeBytes(&'a [u8]),
}

impl Samples<'_> {
    #[inline]
    fn get(&self, i: usize) -> Option<f32> {
        match self {
            Self::F32(d) => d.get(i).copied(),
            Self::LeBytes(b) => {
                let s = b.get(i.checked_mul(4)?..i.checked_mul(4)?.checked_add(4)?)?;
                Some(f32::from_le_bytes([
                    *s.first()?,
                    *s.get(1)?,
                    *s.get(2)?,
                    *s.get(3)?,
                ]))
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::F32(d) => d.len(),
            Self::LeBytes(b) => b.len() / 4,
        }
    }
}

/// A read-only DEM over caller memory.
#[derive(Clone, Copy, Debug)]
pub struct Heightfield<'a> {
    data: Samples<'a>,
    grid: Grid,
    nodata: Option<f32>,
    max_height: f64,
}

/// Where a ray meets the terrain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RayHit {
    /// Distance along the (unit) ray, metres.
    pub range: f64,
    /// The intersection, site frame.
    pub point: Vec3,
    /// Terrain unit normal at the intersection (site frame, from the bilinear surface).
    pub normal: Vec3,
}

/// Altitude of a point above the DEM along the local vertical.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Altitude {
    /// Height of the point above the terrain directly below it, metres.
    pub altitude: f64,
    /// Height of that terrain point above the reference sphere, metres.
    pub ground_height: f64,
    /// The terrain point, site frame.
    pub ground: Vec3,
}

impl<'a> Heightfield<'a> {
    /// A heightfield over `data` with the given grid; `nodata` marks missing cells (NaN
    /// always does). Scans the data once for its maximum height, which lets rays skip the
    /// empty space above the terrain.
    ///
    /// # Errors
    ///
    /// [`DemError::BadGrid`] for an empty grid, `stride < width`, short data, zero or
    /// non-finite spacing or origin, or a non-positive radius.
    pub fn new(data: &'a [f32], grid: Grid, nodata: Option<f32>) -> Result<Self, DemError> {
        Self::with_samples(Samples::F32(data), grid, nodata)
    }

    /// A heightfield over little-endian f32 samples in a byte slice (as stored in a
    /// `.trnmap` database), without copying them.
    ///
    /// # Errors
    ///
    /// As [`Heightfield::new`].
    pub fn from_le_bytes(
        data: &'a [u8],
        grid: Grid,
        nodata: Option<f32>,
    ) -> Result<Self, DemError> {
        Self::with_samples(Samples::LeBytes(data), grid, nodata)
    }

    fn with_samples(data: Samples<'a>, grid: Grid, nodata: Option<f32>) -> Result<Self, DemError> {
        let needed = grid
            .height
            .checked_sub(1)
            .and_then(|h| h.checked_mul(grid.stride))
            .and_then(|n| n.checked_add(grid.width));
        let finite = grid.x0.is_finite()
            && grid.y0.is_finite()
            && grid.dx.is_finite()
            && grid.dy.is_finite();
        let ok = matches!(needed, Some(n) if data.len() >= n)
            && grid.width >= 2
            && grid.height >= 2
            && grid.stride >= grid.width
            && finite
            && grid.dx != 0.0
            && grid.dy != 0.0
            && grid.radius > 0.0
            && grid.radius.is_finite();
        if !ok {
            return Err(DemError::BadGrid);
        }
        let mut hf = Self {
            data,
            grid,
            nodata,
            max_height: f64::NEG_INFINITY,
        };
        let mut max_h = f64::NEG_INFINITY;
        for r in 0..grid.height {
            for c in 0..grid.width {
                if let Some(v) = hf.data.get(r * grid.stride + c).filter(|v| hf.valid(*v)) {
                    max_h = max_h.max(f64::from(v));
                }
            }
        }
        hf.max_height = max_h;
        Ok(hf)
    }

    /// The grid geometry.
    #[must_use]
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Highest valid height in the DEM (negative infinity when all cells are nodata).
    #[must_use]
    pub fn max_height(&self) -> f64 {
        self.max_height
    }

    fn valid(&self, v: f32) -> bool {
        v.is_finite() && self.nodata != Some(v)
    }

    /// Two neighbouring samples of one row, `(col, row)` and `(col + 1, row)`, as heights
    /// (`None` off the data or where either is missing): one bounds check and, for a
    /// database's bytes, one slice for both.
    #[inline]
    fn cell_pair(&self, col: usize, row: usize) -> Option<(f64, f64)> {
        let i = row.checked_mul(self.grid.stride)?.checked_add(col)?;
        let (a, b) = match self.data {
            Samples::F32(d) => match d.get(i..i.checked_add(2)?)? {
                &[a, b] => (a, b),
                _ => return None,
            },
            Samples::LeBytes(bytes) => {
                let start = i.checked_mul(4)?;
                match bytes.get(start..start.checked_add(8)?)? {
                    &[a0, a1, a2, a3, b0, b1, b2, b3] => (
                        f32::from_le_bytes([a0, a1, a2, a3]),
                        f32::from_le_bytes([b0, b1, b2, b3]),
                    ),
                    _ => return None,
                }
            }
        };
        (self.valid(a) && self.valid(b)).then_some((f64::from(a), f64::from(b)))
    }

    /// The cell holding site `(x, y)`: its four corner heights `[h00, h10, h01, h11]` and
    /// the fractional position `(u, v)` inside it.
    #[inline]
    fn locate(&self, x: f64, y: f64) -> Result<([f64; 4], f64, f64), DemError> {
        if !(x.is_finite() && y.is_finite()) {
            return Err(DemError::NonFinite);
        }
        let g = &self.grid;
        let fc = (x - g.x0) / g.dx;
        let fr = (y - g.y0) / g.dy;
        let (wmax, hmax) = ((g.width - 1) as f64, (g.height - 1) as f64);
        if !(fc >= 0.0 && fr >= 0.0 && fc <= wmax && fr <= hmax) {
            return Err(DemError::OffMap);
        }
        // Clamp so the far edge uses the last cell with weight 1.
        let c = (fc as usize).min(g.width - 2);
        let r = (fr as usize).min(g.height - 2);
        let (u, v) = (fc - c as f64, fr - r as f64);
        let (h00, h10) = self.cell_pair(c, r).ok_or(DemError::NoData)?;
        let (h01, h11) = self.cell_pair(c, r + 1).ok_or(DemError::NoData)?;
        Ok(([h00, h10, h01, h11], u, v))
    }

    /// Bilinear height above the sphere at site `(x, y)`, with its gradient `(dh/dx, dh/dy)`.
    ///
    /// # Errors
    ///
    /// [`DemError::OffMap`] outside the grid's cell centres, [`DemError::NoData`] when a
    /// corner of the cell is missing, [`DemError::NonFinite`] for a non-finite position.
    pub fn height_and_gradient(&self, x: f64, y: f64) -> Result<(f64, [f64; 2]), DemError> {
        let ([h00, h10, h01, h11], u, v) = self.locate(x, y)?;
        let h = crate::interp::bilinear_mix([h00, h10, h01, h11], u, v);
        let dhdu = (h10 - h00) * (1.0 - v) + (h11 - h01) * v;
        let dhdv = (h01 - h00) * (1.0 - u) + (h11 - h10) * u;
        Ok((h, [dhdu / self.grid.dx, dhdv / self.grid.dy]))
    }

    /// Bilinear height above the sphere at site `(x, y)` (the height of
    /// [`Heightfield::height_and_gradient`], without the gradient: window
    /// orthorectification asks for hundreds per landmark).
    ///
    /// # Errors
    ///
    /// As [`Heightfield::height_and_gradient`].
    #[inline]
    pub fn height_at(&self, x: f64, y: f64) -> Result<f64, DemError> {
        let (h, u, v) = self.locate(x, y)?;
        Ok(crate::interp::bilinear_mix(h, u, v))
    }

    /// Height above the reference sphere of a site-frame point.
    #[must_use]
    pub fn height_of(&self, p: Vec3) -> f64 {
        let r = self.grid.radius;
        Vec3::new(p.x, p.y, p.z + r).norm() - r
    }

    /// Site z of the terrain point at grid position `(x, y)` with height `h`.
    #[must_use]
    pub fn surface_z(&self, x: f64, y: f64, h: f64) -> f64 {
        let r = self.grid.radius;
        math::sqrt_clamped((r + h) * (r + h) - x * x - y * y) - r
    }

    /// Altitude of `p` above the terrain along the local vertical (the radial line).
    ///
    /// # Errors
    ///
    /// As [`Heightfield::height_at`] for the ground point below `p`.
    pub fn altitude(&self, p: Vec3) -> Result<Altitude, DemError> {
        if !p.is_finite() {
            return Err(DemError::NonFinite);
        }
        let r = self.grid.radius;
        let h_p = self.height_of(p);
        // The radial line through p: points (R + h) u - R ez with u the unit radial.
        let u = Vec3::new(p.x, p.y, p.z + r) * (1.0 / (r + h_p));
        let mut h_g = self.height_at(p.x, p.y)?;
        // Fixed point on the ground height: the radial line moves by h * |u_xy| per metre of
        // height, so two or three iterations reach millimetres on any real slope.
        for _ in 0..4 {
            let s = r + h_g;
            h_g = self.height_at(u.x * s, u.y * s)?;
        }
        let s = r + h_g;
        let ground = Vec3::new(u.x * s, u.y * s, u.z * s - r);
        Ok(Altitude {
            altitude: h_p - h_g,
            ground_height: h_g,
            ground,
        })
    }

    /// Signed height of `p` above the terrain at its grid position (negative below).
    fn clearance(&self, p: Vec3) -> Result<(f64, [f64; 2]), DemError> {
        let (h, g) = self.height_and_gradient(p.x, p.y)?;
        Ok((self.height_of(p) - h, g))
    }

    /// First intersection of the ray `origin + s * dir` (`dir` is normalised here) with the
    /// terrain for `0 < s <= max_range`, refined to a millimetre.
    ///
    /// Marching steps move at most half a cell horizontally (at most ten cells for a
    /// near-vertical ray, whose terrain profile cannot fold back between samples), after a
    /// jump over the empty space above the DEM's highest point.
    ///
    /// # Errors
    ///
    /// [`DemError::StartsBelowSurface`], [`DemError::NoIntersection`] (also for a ray
    /// that never descends to the terrain), [`DemError::OffMap`] / [`DemError::NoData`]
    /// when the ray leaves the DEM or meets a hole first, [`DemError::StepLimit`],
    /// [`DemError::NonFinite`].
    pub fn ray_cast(&self, origin: Vec3, dir: Vec3, max_range: f64) -> Result<RayHit, DemError> {
        let d = dir.try_normalize().ok_or(DemError::NonFinite)?;
        if !origin.is_finite() || !(max_range > 0.0) {
            return Err(DemError::NonFinite);
        }
        let at = |s: f64| origin + d * s;
        let g = &self.grid;
        let cell = g.dx.abs().min(g.dy.abs());
        let horiz = math::sqrt(d.x * d.x + d.y * d.y).max(0.05);
        let step = 0.5 * cell / horiz;

        // Skip the space above the highest terrain: heights along a ray are convex in s
        // (distance to the sphere centre), so once below max_height going down, march.
        let mut s = 0.0;
        let h0 = self.height_of(origin);
        if h0 > self.max_height {
            // Solve |o + s d + R ez| = R + max_height for the first root.
            let c = Vec3::new(origin.x, origin.y, origin.z + g.radius);
            let rr = g.radius + self.max_height;
            let b = c.dot(d);
            let disc = b * b - (c.norm_squared() - rr * rr);
            if disc < 0.0 || -b - math::sqrt_clamped(disc) < 0.0 {
                return Err(DemError::NoIntersection);
            }
            s = (-b - math::sqrt_clamped(disc)).max(0.0);
            if s > max_range {
                return Err(DemError::NoIntersection);
            }
        } else {
            let (c0, _) = self.clearance(origin)?;
            if c0 < 0.0 {
                return Err(DemError::StartsBelowSurface);
            }
        }

        // At the jump point the ray is at the DEM's maximum height, so its clearance is
        // >= 0 up to rounding.
        let (mut prev_s, mut prev_c) = (s, self.clearance(at(s))?.0.max(0.0));
        let mut steps = 0u32;
        loop {
            steps += 1;
            if steps > MAX_RAY_STEPS {
                return Err(DemError::StepLimit);
            }
            let s_next = (prev_s + step).min(max_range);
            let (c, _) = self.clearance(at(s_next))?;
            if c <= 0.0 {
                return self.bisect(origin, d, prev_s, s_next);
            }
            if s_next >= max_range {
                return Err(DemError::NoIntersection);
            }
            // Going up and above everything: nothing ahead.
            if self.height_of(at(s_next)) > self.max_height && c > prev_c {
                return Err(DemError::NoIntersection);
            }
            prev_s = s_next;
            prev_c = c;
        }
    }

    fn bisect(&self, origin: Vec3, d: Vec3, mut lo: f64, mut hi: f64) -> Result<RayHit, DemError> {
        for _ in 0..60 {
            if hi - lo < 1e-3 {
                break;
            }
            let mid = 0.5 * (lo + hi);
            if self.clearance(origin + d * mid)?.0 > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let range = 0.5 * (lo + hi);
        let point = origin + d * range;
        let (_, grad) = self.height_and_gradient(point.x, point.y)?;
        let normal = Vec3::new(-grad[0], -grad[1], 1.0)
            .try_normalize()
            .unwrap_or(Vec3::new(0.0, 0.0, 1.0));
        Ok(RayHit {
            range,
            point,
            normal,
        })
    }
}
