//! PROJ.4 strings as GDAL exports them for planetary products, to trn's CRSs.

use trn_map::Crs;

#[test]
fn planetary_proj4_strings_map_to_crs() {
    let r = 1_737_400.0;
    assert_eq!(
        Crs::from_proj4("+proj=longlat +R=1737400 +no_defs").unwrap(),
        Crs::Geographic { radius_m: r }
    );
    assert_eq!(
        Crs::from_proj4(
            "+proj=eqc +lat_ts=-25 +lat_0=0 +lon_0=226.94 +x_0=10 +y_0=-5 +R=3392593.61 +units=m"
        )
        .unwrap(),
        Crs::Equirectangular {
            radius_m: 3392593.61,
            lat_ts_deg: -25.0,
            lon0_deg: 226.94,
            false_easting: 10.0,
            false_northing: -5.0,
        }
    );
    // Polar stereographic: true scale at the pole, or at a latitude of true scale, or k_0.
    for (s, south, scale) in [
        (
            "+proj=stere +lat_0=-90 +lon_0=0 +k=1 +x_0=0 +y_0=0 +R=1737400",
            true,
            1.0,
        ),
        (
            "+proj=stere +lat_0=90 +lat_ts=80 +lon_0=45 +x_0=0 +y_0=0 +a=1737400 +b=1737400",
            false,
            (1.0 + 80f64.to_radians().sin()) / 2.0,
        ),
        (
            "+proj=stere +lat_0=-90 +k_0=0.994 +lon_0=0 +R=1737400",
            true,
            0.994,
        ),
    ] {
        match Crs::from_proj4(s).unwrap() {
            Crs::PolarStereographic {
                radius_m,
                south: so,
                scale: k,
                ..
            } => {
                assert_eq!((radius_m, so), (r, south), "{s}");
                assert!((k - scale).abs() < 1e-12, "{s}: {k}");
            }
            other => panic!("{s}: {other:?}"),
        }
    }
    for (s, why) in [
        ("+proj=utm +zone=33 +datum=WGS84", "no sphere radius"),
        ("+proj=eqc +a=6378137 +b=6356752.3", "only spheres"),
        ("+proj=stere +lat_0=40 +R=1737400", "only polar"),
        ("+proj=ortho +lat_0=0 +R=1737400", "'ortho'"),
        ("+proj=eqc +lat_0=10 +R=1737400", "origin latitude"),
    ] {
        let e = Crs::from_proj4(s).unwrap_err();
        assert!(e.contains(why), "{s}: {e}");
    }
}
