//! The descent renderer against closed forms: rays meet a flat (spherical) site where
//! ray-sphere geometry says and project back to their pixels through the lens model; a
//! spherical-bowl crater's shadow edge lies where the sun ray over its rim says.

use trn_flight::camera::{Camera, Distortion};
use trn_flight::dem::Grid;
use trn_flight::frames::MOON_RADIUS_M as R;
use trn_flight::{Mat3, Pose, Quat, Vec3};
use trn_map::SiteDem;
use trn_map::render::Sun;
use trn_sim::camera_render::{Scene, Sensor, radiance_image, render_frame};

fn site(n: usize, cell: f64, h: impl Fn(f64, f64) -> f64) -> SiteDem {
    let half = (n as f64 - 1.0) * cell / 2.0;
    let grid = Grid {
        width: n,
        height: n,
        stride: n,
        x0: -half,
        y0: half,
        dx: cell,
        dy: -cell,
        radius: R,
    };
    let data = (0..n * n)
        .map(|i| h(-half + (i % n) as f64 * cell, half - (i / n) as f64 * cell) as f32)
        .collect();
    SiteDem {
        grid,
        data,
        missing: 0,
    }
}

/// A camera-to-site rotation with boresight `b` and image columns along `right`.
fn look(b: Vec3, right: Vec3) -> Quat {
    let z = b.try_normalize().unwrap();
    let x = (right - z * right.dot(z)).try_normalize().unwrap();
    let y = z.cross(x);
    Quat::from_mat3(&Mat3::from_cols(x, y, z)).unwrap()
}

#[test]
fn rays_meet_the_sphere_where_geometry_says_and_project_back() {
    let dem = site(2001, 2.0, |_, _| 0.0);
    let scene = Scene::new(
        &dem,
        None,
        Sun {
            azimuth_deg: 0.0,
            elevation_deg: 30.0,
        },
    )
    .unwrap();
    let cam = Camera::new(
        512,
        512,
        600.0,
        600.0,
        255.5,
        255.5,
        Distortion {
            k1: -0.08,
            k2: 0.01,
            p1: 1e-4,
            p2: -2e-4,
            k3: 0.0,
        },
    )
    .unwrap();
    let pos = Vec3::new(300.0, -200.0, 1500.0);
    let b = Vec3::new(0.2, 0.3, -1.0);
    let pose = Pose::new(pos, look(b, Vec3::new(1.0, 0.0, 0.0)));
    let rot = pose.attitude.to_mat3();
    let centre = Vec3::new(0.0, 0.0, -R);
    let mut worst: f64 = 0.0;
    let mut worst_px: f64 = 0.0;
    for v in (0..512).step_by(37) {
        for u in (0..512).step_by(41) {
            let d = rot.mul_vec(cam.unproject(u as f64, v as f64).unwrap());
            let (t, x, y) = scene.intersect(pos, d).expect("hit");
            // Ray-sphere: |pos + t d - centre| = R, nearest root.
            let oc = pos - centre;
            let bb = oc.dot(d);
            let t_true = -bb - (bb * bb - (oc.norm_squared() - R * R)).sqrt();
            let p = pos + d * t_true;
            worst = worst.max((x - p.x).hypot(y - p.y)).max((t - t_true).abs());
            // Back through the lens model to the same pixel.
            let hit = pos + d * t;
            let [pu, pv] = cam.project(pose.to_camera(hit)).unwrap();
            worst_px = worst_px.max((pu - u as f64).hypot(pv - v as f64));
        }
    }
    assert!(worst < 2e-3, "worst ground error {worst} m");
    assert!(worst_px < 1e-6, "worst reprojection {worst_px} px");
}

#[test]
fn spherical_crater_shadow_edge_lies_where_the_rim_ray_says() {
    // A bowl cut from a sphere of radius rho, rim radius a, in level ground.
    let (a, rho) = (100.0f64, 150.0f64);
    let c = (rho * rho - a * a).sqrt();
    let dem = site(801, 1.0, |x, y| {
        let r2 = x * x + y * y;
        if r2 < a * a {
            c - (rho * rho - r2).sqrt()
        } else {
            0.0
        }
    });
    for el in [10.0f64, 25.0] {
        // Sun from the east: the east rim shades the floor west of it.
        let sun = Sun {
            azimuth_deg: 90.0,
            elevation_deg: el,
        };
        let scene = Scene::new(&dem, None, sun).unwrap();
        let tan_e = el.to_radians().tan();
        // Shadow edge x_s on the line y = 0: the ray from the rim (a, 0, 0) descending west
        // meets the bowl: -(a - x) tan e = c - sqrt(rho^2 - x^2). Bisection on [-a, a).
        let f = |x: f64| -(a - x) * tan_e - (c - (rho * rho - x * x).sqrt());
        let (mut lo, mut hi) = (-a, a - 1e-6);
        // The ray is above the bowl just inside the rim and below it at the far rim.
        assert!(f(lo) < 0.0 && f(hi) > 0.0);
        for _ in 0..100 {
            let m = 0.5 * (lo + hi);
            if f(m) > 0.0 {
                hi = m;
            } else {
                lo = m;
            }
        }
        let x_s = 0.5 * (lo + hi);
        // A nadir camera 1 km up: 1 m per pixel, columns east, rows south.
        let cam = Camera::new(
            512,
            512,
            1000.0,
            1000.0,
            255.5,
            255.5,
            Distortion::default(),
        )
        .unwrap();
        let pose = Pose::new(
            Vec3::new(0.0, 0.0, 1000.0),
            look(Vec3::new(0.0, 0.0, -1.0), Vec3::new(1.0, 0.0, 0.0)),
        );
        let (img, cov) = radiance_image(&[&scene], &cam, &pose).unwrap();
        assert!(cov > 0.99);
        // Walk the centre row from the east rim westwards: the last shadowed pixel.
        let row = 255usize * 512;
        // Pinhole: column = cx + fx x / depth, the depth being 1000 m minus the ground height.
        let ground = |x: f64| {
            if x.abs() < a {
                c - (rho * rho - x * x).sqrt()
            } else {
                0.0
            }
        };
        let col_of = |x: f64| 255.5 + x * 1000.0 / (1000.0 - ground(x));
        let mut edge = None;
        let start = col_of(a - 3.0) as usize;
        for col in (0..start).rev() {
            if img[row + col] > 0.02 && img[row + col + 1] <= 0.02 {
                edge = Some(col as f64 + 0.5);
                break;
            }
        }
        let edge = edge.expect("a shadow edge on the centre row");
        let want = col_of(x_s);
        assert!(
            (edge - want).abs() < 1.5,
            "sun {el} deg: edge at column {edge}, geometry says {want} (x_s = {x_s:.1} m)"
        );
    }
}

#[test]
fn frames_are_deterministic_quantised_and_noisy() {
    let dem = site(601, 2.0, |x, y| 20.0 * (x / 90.0).sin() * (y / 70.0).cos());
    let scene = Scene::new(
        &dem,
        None,
        Sun {
            azimuth_deg: 45.0,
            elevation_deg: 15.0,
        },
    )
    .unwrap();
    let cam = Camera::new(256, 256, 300.0, 300.0, 127.5, 127.5, Distortion::default()).unwrap();
    let pose = Pose::new(
        Vec3::new(0.0, 0.0, 800.0),
        look(Vec3::new(0.1, 0.0, -1.0), Vec3::new(1.0, 0.0, 0.0)),
    );
    for bits in [8, 12] {
        let s = Sensor {
            bits,
            ..Sensor::default()
        };
        let a = render_frame(&[&scene], &cam, &pose, &s, 7).unwrap();
        let b = render_frame(&[&scene], &cam, &pose, &s, 7).unwrap();
        let c = render_frame(&[&scene], &cam, &pose, &s, 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.pixels, c.pixels);
        let full = (1u16 << bits) - 1;
        assert!(a.pixels.iter().all(|p| *p <= full));
        // Exposure puts the bright end near 85% of full scale.
        let mut v = a.pixels.clone();
        v.sort_unstable();
        let p99 = f64::from(v[v.len() * 995 / 1000]) / f64::from(full);
        assert!((0.7..0.98).contains(&p99), "{bits} bits: p99.5 at {p99}");
    }
    assert!(
        render_frame(
            &[&scene],
            &cam,
            &pose,
            &Sensor {
                bits: 10,
                ..Sensor::default()
            },
            1
        )
        .is_err()
    );
}
