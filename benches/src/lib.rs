//! Shared inputs of trn's benchmarks and of the side-by-side peer comparison.
//!
//! Every generator is seeded, so criterion, the peer comparison (`src/bin/peer_inputs.rs`,
//! driven by `peers/compare.py`) and a later run on another CPU all see identical problems.

use trn_flight::rng::Pcg32;
use trn_flight::{Pose, Quat, Vec3};

/// Focal length (pixels) of the reference descent camera: 1024x1024, 60 degree field of view.
pub const FOCAL_PX: f64 = 886.8;
/// Principal point of the reference camera (both axes).
pub const CENTRE_PX: f64 = 511.5;
/// Image size of the reference camera (both axes).
pub const IMAGE_PX: f64 = 1024.0;

/// A seeded random source.
#[derive(Debug)]
pub struct Rand(Pcg32);

impl Rand {
    /// A source with a fixed seed.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(Pcg32::new(seed, 0xbe4c))
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.0.next_f64()
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.0.next_f64().max(1e-300);
        let u2 = self.0.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Uniform rotation.
    pub fn rotation(&mut self) -> Quat {
        loop {
            if let Some(q) =
                Quat::try_new(self.normal(), self.normal(), self.normal(), self.normal())
            {
                return q;
            }
        }
    }

    /// Uniform f32 in `[0, 1)`.
    pub fn unit_f32(&mut self) -> f32 {
        (self.0.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
    }
}

/// One P3P problem: unit bearings, world points and the true pose.
#[derive(Clone, Copy, Debug)]
pub struct P3pProblem {
    /// Unit bearings in the camera frame.
    pub bearings: [Vec3; 3],
    /// World points.
    pub points: [Vec3; 3],
    /// The pose that generated them.
    pub truth: Pose,
}

/// `count` P3P problems in PoseLib's benchmark geometry: random rotation and centre,
/// points at depths 0.1..10 in a 120 degree field of view.
#[must_use]
pub fn p3p_problems(count: usize, seed: u64) -> Vec<P3pProblem> {
    let mut r = Rand::new(seed);
    (0..count)
        .map(|_| {
            let truth = Pose::new(
                Vec3::new(
                    r.uniform(-1.0, 1.0),
                    r.uniform(-1.0, 1.0),
                    r.uniform(-1.0, 1.0),
                ),
                r.rotation(),
            );
            let t = 60f64.to_radians().tan();
            let rot = truth.attitude.to_mat3();
            let mut bearings = [Vec3::ZERO; 3];
            let mut points = [Vec3::ZERO; 3];
            for (b, p) in bearings.iter_mut().zip(points.iter_mut()) {
                *b = Vec3::new(r.uniform(-t, t), r.uniform(-t, t), 1.0)
                    .try_normalize()
                    .unwrap_or(Vec3::new(0.0, 0.0, 1.0));
                *p = rot.mul_vec(*b * r.uniform(0.1, 10.0)) + truth.position;
            }
            P3pProblem {
                bearings,
                points,
                truth,
            }
        })
        .collect()
}

/// A robust-pose problem: normalised image points, world points, the true pose and which
/// correspondences are outliers.
#[derive(Clone, Debug)]
pub struct PoseScene {
    /// Undistorted normalised image coordinates.
    pub image: Vec<[f64; 2]>,
    /// Site-frame points.
    pub world: Vec<Vec3>,
    /// The true camera pose.
    pub truth: Pose,
    /// True for correspondences replaced by random image points.
    pub outlier: Vec<bool>,
}

/// `n` terrain points seen from `altitude` metres by the reference camera (tilted up to
/// ~30 degrees off nadir), 0.5 px Gaussian noise, a share `outliers` of random matches.
#[must_use]
pub fn pose_scene(n: usize, outliers: f64, altitude: f64, seed: u64) -> PoseScene {
    let mut r = Rand::new(seed);
    let nadir = Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::PI);
    let yaw = Quat::from_axis_angle(Vec3::new(0.0, 0.0, 1.0), r.uniform(-3.1, 3.1));
    let tilt = Quat::from_axis_angle(Vec3::new(r.normal(), r.normal(), 0.0), r.uniform(0.0, 0.5));
    let truth = Pose::new(
        Vec3::new(r.uniform(-500.0, 500.0), r.uniform(-500.0, 500.0), altitude),
        tilt.mul_quat(yaw).mul_quat(nadir),
    );
    let rot = truth.attitude.to_mat3();
    let mut s = PoseScene {
        image: Vec::with_capacity(n),
        world: Vec::with_capacity(n),
        truth,
        outlier: Vec::with_capacity(n),
    };
    while s.world.len() < n {
        let (u, v) = (
            r.uniform(0.0, IMAGE_PX - 1.0),
            r.uniform(0.0, IMAGE_PX - 1.0),
        );
        let b = rot.mul_vec(Vec3::new(
            (u - CENTRE_PX) / FOCAL_PX,
            (v - CENTRE_PX) / FOCAL_PX,
            1.0,
        ));
        if b.z > -0.2 {
            continue;
        }
        let h = r.uniform(-0.03, 0.03) * altitude;
        let x = truth.position + b * ((h - truth.position.z) / b.z);
        let is_out = r.0.next_f64() < outliers;
        let (mu, mv) = if is_out {
            (
                r.uniform(0.0, IMAGE_PX - 1.0),
                r.uniform(0.0, IMAGE_PX - 1.0),
            )
        } else {
            (u + 0.5 * r.normal(), v + 0.5 * r.normal())
        };
        s.image
            .push([(mu - CENTRE_PX) / FOCAL_PX, (mv - CENTRE_PX) / FOCAL_PX]);
        s.world.push(x);
        s.outlier.push(is_out);
    }
    s
}

/// A band-limited random texture (sum of a few smoothed noise octaves), values 0..~255,
/// row-major `width x height`: stands in for lunar imagery in the NCC benchmarks.
#[must_use]
pub fn texture(width: usize, height: usize, seed: u64) -> Vec<f32> {
    let mut r = Rand::new(seed);
    let mut img: Vec<f32> = (0..width * height).map(|_| r.unit_f32()).collect();
    // Two passes of a 3x3 box blur give spatial correlation like a real image.
    for _ in 0..2 {
        let src = img.clone();
        for y in 0..height {
            for x in 0..width {
                let mut s = 0.0;
                let mut c = 0.0;
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let (xx, yy) = (x as i64 + dx, y as i64 + dy);
                        if xx >= 0 && yy >= 0 && (xx as usize) < width && (yy as usize) < height {
                            s += src[yy as usize * width + xx as usize];
                            c += 1.0;
                        }
                    }
                }
                img[y * width + x] = s / c;
            }
        }
    }
    img.iter_mut().for_each(|v| *v *= 255.0);
    img
}

/// The NCC benchmark case `t x t` in `w x w`: a textured window and the template cut from it
/// at (w/3, w/2), as `(template, window)`.
#[must_use]
pub fn ncc_case(t: usize, w: usize) -> (Vec<f32>, Vec<f32>) {
    let win = texture(w, w, 7);
    let (x0, y0) = (w / 3, w / 2);
    let tpl = (0..t)
        .flat_map(|r| win[(y0 + r) * w + x0..(y0 + r) * w + x0 + t].to_vec())
        .collect();
    (tpl, win)
}

/// A cratered DEM (heights above the Moon's sphere, metres) in an equirectangular CRS
/// centred on latitude/longitude (0, 0), `size_m` square at `px_m` pixels: craters with
/// raised rims from 5 to ~300 m radius, more small than large, on a gentle tilt. Seeded.
#[must_use]
pub fn crater_dem_raster(size_m: f64, px_m: f64, seed: u64) -> trn_map::Raster {
    use trn_map::raster::SampleType;
    use trn_map::{Crs, GeoTransform};
    let crs = Crs::Equirectangular {
        radius_m: trn_flight::frames::MOON_RADIUS_M,
        lat_ts_deg: 0.0,
        lon0_deg: 0.0,
        false_easting: 0.0,
        false_northing: 0.0,
    };
    let n = (size_m / px_m).ceil() as usize;
    let half = n as f64 * px_m / 2.0;
    let gt = GeoTransform([-half, px_m, 0.0, half, 0.0, -px_m]);
    let mut r = Rand::new(seed);
    // Craters binned on a coarse grid so each pixel only visits its neighbourhood.
    let bin = 700.0;
    let nb = (2.0 * half / bin).ceil() as usize + 1;
    let mut bins: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); nb * nb];
    let count = (size_m * size_m / 40_000.0) as usize;
    for _ in 0..count {
        let (x, y) = (r.uniform(-half, half), r.uniform(-half, half));
        let rad = 5.0 * 60f64.powf(r.uniform(0.0, 1.0).powi(4));
        let (bx, by) = (((x + half) / bin) as usize, ((y + half) / bin) as usize);
        bins[by.min(nb - 1) * nb + bx.min(nb - 1)].push((x, y, rad));
    }
    let data = (0..n * n)
        .map(|i| {
            let (x, y) = gt.pixel_centre((i % n) as f64, (i / n) as f64);
            let mut h = 0.01 * x - 0.004 * y;
            let (bx, by) = (((x + half) / bin) as usize, ((y + half) / bin) as usize);
            for yy in by.saturating_sub(1)..=(by + 1).min(nb - 1) {
                for xx in bx.saturating_sub(1)..=(bx + 1).min(nb - 1) {
                    for &(cx, cy, rad) in &bins[yy * nb + xx] {
                        let d = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt() / rad;
                        h += if d < 1.0 {
                            0.2 * rad * (d * d - 1.0) + 0.04 * rad
                        } else if d < 2.0 {
                            0.04 * rad / d.powi(3)
                        } else {
                            0.0
                        };
                    }
                }
            }
            h as f32
        })
        .collect();
    trn_map::Raster {
        width: n,
        height: n,
        data,
        nodata: None,
        scale: 1.0,
        offset: 0.0,
        transform: gt,
        crs,
        sample: SampleType::F32,
    }
}
