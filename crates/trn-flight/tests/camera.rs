//! Camera model: OpenCV known answers, analytic Jacobians against finite differences,
//! round trips, and the undistortion residual over a full 1024x1024 image.

use proptest::prelude::*;
use trn_flight::Vec3;
use trn_flight::camera::{Camera, CameraError, Distortion, UNDISTORT_MAX_ITERATIONS};

/// Strong but realistic wide-angle distortion (monotonic out past the image corners).
const STRONG: Distortion = Distortion {
    k1: -0.30,
    k2: 0.12,
    p1: 1e-3,
    p2: -5e-4,
    k3: -0.02,
};

fn cam() -> Camera {
    Camera::new(1024, 1024, 886.8, 880.2, 511.5, 509.25, STRONG).unwrap()
}

#[test]
fn matches_opencv_project_points() {
    // cv2.projectPoints (OpenCV 5.0.0) with the same K and distortion, rvec = tvec = 0.
    let cases = [
        (Vec3::new(0.3, -0.2, 1.0), [767.4484093224, 339.9639400776]),
        (
            Vec3::new(-0.41, 0.38, 1.0),
            [177.395534168906, 816.750767095781],
        ),
        (
            Vec3::new(120.0, -80.0, 900.0),
            [628.790258439343, 431.653517190265],
        ),
    ];
    for (p, want) in cases {
        let uv = cam().project(p).unwrap();
        assert!(
            (uv[0] - want[0]).abs() < 1e-8 && (uv[1] - want[1]).abs() < 1e-8,
            "{uv:?} vs {want:?}"
        );
    }
}

#[test]
fn undistortion_residual_over_the_full_image() {
    let c = cam();
    let (mut worst, mut worst_it) = (0.0f64, 0u32);
    for v in 0..1024 {
        for u in 0..1024 {
            let (u, v) = (u as f64, v as f64);
            let (fx, fy) = c.focal();
            let (cx, cy) = c.principal_point();
            let ([x, y], it) = c
                .distortion()
                .undistort((u - cx) / fx, (v - cy) / fy)
                .unwrap();
            let back = c.project(Vec3::new(x, y, 1.0)).unwrap();
            worst = worst.max(((back[0] - u).powi(2) + (back[1] - v).powi(2)).sqrt());
            worst_it = worst_it.max(it);
        }
    }
    println!(
        "undistortion of every pixel of 1024x1024: max residual {worst:.2e} px, max {worst_it} Newton steps"
    );
    assert!(worst < 1e-6, "residual {worst} px");
    assert!(worst_it <= 8);
}

#[test]
fn errors() {
    let c = cam();
    assert_eq!(
        c.project(Vec3::new(0.0, 0.0, -1.0)).unwrap_err(),
        CameraError::BehindCamera
    );
    assert_eq!(
        c.project(Vec3::new(0.0, 0.0, 0.0)).unwrap_err(),
        CameraError::BehindCamera
    );
    assert_eq!(
        c.project(Vec3::new(f64::NAN, 0.0, 1.0)).unwrap_err(),
        CameraError::NonFinite
    );
    assert_eq!(
        c.unproject(f64::NAN, 0.0).unwrap_err(),
        CameraError::NonFinite
    );
    assert_eq!(
        Camera::new(0, 10, 1.0, 1.0, 0.0, 0.0, STRONG).unwrap_err(),
        CameraError::InvalidIntrinsics
    );
    assert_eq!(
        Camera::new(10, 10, -1.0, 1.0, 0.0, 0.0, STRONG).unwrap_err(),
        CameraError::InvalidIntrinsics
    );
    // A model that folds over (radius stops growing) has no inverse out there.
    let folding = Distortion {
        k1: -1.5,
        ..Distortion::default()
    };
    assert_eq!(
        folding.undistort(0.5, 0.0).unwrap_err(),
        CameraError::NoConvergence
    );
    const { assert!(UNDISTORT_MAX_ITERATIONS >= 8) };
    assert!(c.in_image(0.0, 1023.0) && !c.in_image(-0.6, 10.0) && !c.in_image(10.0, 1023.6));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn project_unproject_round_trip(u in 0.0f64..1023.0, v in 0.0f64..1023.0, depth in 1.0f64..20_000.0) {
        let c = cam();
        let b = c.unproject(u, v).unwrap();
        let p = b * (depth / b.z);
        let uv = c.project(p).unwrap();
        prop_assert!((uv[0] - u).abs() < 1e-6 && (uv[1] - v).abs() < 1e-6);
        prop_assert!((b.norm() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn analytic_jacobian_matches_finite_differences(x in -0.5f64..0.5, y in -0.5f64..0.5, z in 0.5f64..100.0) {
        let c = cam();
        let p = Vec3::new(x * z, y * z, z);
        let (_, j) = c.project_with_jacobian(p).unwrap();
        let h = 1e-6 * z;
        for k in 0..3 {
            let mut a = p.to_array();
            let mut b = p.to_array();
            a[k] += h;
            b[k] -= h;
            let ua = c.project(Vec3::from_array(a)).unwrap();
            let ub = c.project(Vec3::from_array(b)).unwrap();
            for r in 0..2 {
                let fd = (ua[r] - ub[r]) / (2.0 * h);
                prop_assert!((fd - j[r][k]).abs() < 1e-5 * (1.0 + fd.abs()), "d{}/d{}: {} vs {}", r, k, j[r][k], fd);
            }
        }
    }
}
