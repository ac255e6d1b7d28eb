//! Frames: known answers and round trips across the globe.

use proptest::prelude::*;
use trn_flight::Vec3;
use trn_flight::frames::{
    FrameError, Geodetic, MOON_RADIUS_M as R, SiteFrame, geodetic_to_mcmf, mcmf_to_geodetic,
};

#[test]
fn known_answers() {
    let eq = SiteFrame::from_degrees(0.0, 0.0, R).unwrap();
    assert!((eq.origin_mcmf() - Vec3::new(R, 0.0, 0.0)).norm() < 1e-9);
    // East at (0, 0) is MCMF +y, north is +z, up is +x.
    let m = eq.mcmf_to_enu_rotation();
    assert!((m.rows[0] - Vec3::new(0.0, 1.0, 0.0)).norm() < 1e-15);
    assert!((m.rows[1] - Vec3::new(0.0, 0.0, 1.0)).norm() < 1e-15);
    assert!((m.rows[2] - Vec3::new(1.0, 0.0, 0.0)).norm() < 1e-15);
    assert!((m.det() - 1.0).abs() < 1e-15);
    // A point 1000 m above the site.
    let p = eq.geodetic_to_site(Geodetic {
        lat: 0.0,
        lon: 0.0,
        height: 1000.0,
    });
    assert!((p - Vec3::new(0.0, 0.0, 1000.0)).norm() < 1e-9);
    // One degree of latitude north, on the sphere: (0, R sin 1deg, R cos 1deg - R).
    let one = 1f64.to_radians();
    let q = eq.geodetic_to_site(Geodetic {
        lat: one,
        lon: 0.0,
        height: 0.0,
    });
    assert!(
        (q - Vec3::new(0.0, R * one.sin(), R * one.cos() - R)).norm() < 1e-6,
        "{q:?}"
    );
    // Near the south pole, the site frame is right-handed and orthonormal.
    let sp = SiteFrame::from_degrees(-85.3, 31.2, R).unwrap();
    let r = sp.mcmf_to_enu_rotation();
    assert!((r.mul_mat(&r.transpose())).frobenius_distance(&trn_flight::Mat3::IDENTITY) < 1e-14);
    assert!((r.det() - 1.0).abs() < 1e-14);
    assert!((sp.up_at(Vec3::ZERO) - Vec3::new(0.0, 0.0, 1.0)).norm() < 1e-15);
    // At the poles longitude is reported as 0.
    let g = mcmf_to_geodetic(Vec3::new(0.0, 0.0, R + 5.0), R);
    assert!(
        (g.lat - std::f64::consts::FRAC_PI_2).abs() < 1e-15
            && g.lon == 0.0
            && (g.height - 5.0).abs() < 1e-9
    );
}

#[test]
fn invalid_frames_are_errors() {
    assert_eq!(
        SiteFrame::new(0.0, 0.0, 0.0).unwrap_err(),
        FrameError::BadRadius
    );
    assert_eq!(
        SiteFrame::new(2.0, 0.0, R).unwrap_err(),
        FrameError::BadLatitude
    );
    assert_eq!(
        SiteFrame::new(f64::NAN, 0.0, R).unwrap_err(),
        FrameError::BadLatitude
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn geodetic_mcmf_site_round_trips(
        lat in -90.0f64..=90.0, lon in -180.0f64..=180.0, h in -10_000.0f64..100_000.0,
        slat in -89.9f64..89.9, slon in -180.0f64..180.0,
    ) {
        let g = Geodetic { lat: lat.to_radians(), lon: lon.to_radians(), height: h };
        let m = geodetic_to_mcmf(g, R);
        let back = geodetic_to_mcmf(mcmf_to_geodetic(m, R), R);
        prop_assert!((back - m).norm() < 1e-6, "mcmf round trip {}", (back - m).norm());
        let site = SiteFrame::from_degrees(slat, slon, R).unwrap();
        let s = site.mcmf_to_site(m);
        prop_assert!((site.site_to_mcmf(s) - m).norm() < 1e-6);
        prop_assert!((site.height_of(s) - h).abs() < 1e-6);
        let d = Vec3::new(0.3, -0.4, 0.5);
        prop_assert!((site.mcmf_dir_to_site(site.site_dir_to_mcmf(d)) - d).norm() < 1e-15);
        let g2 = site.site_to_geodetic(s);
        prop_assert!((geodetic_to_mcmf(g2, R) - m).norm() < 1e-6);
    }
}
