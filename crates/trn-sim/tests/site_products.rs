//! Site products as GDAL sees them: `gdalinfo -json` on the DEM and orthoimage of a small
//! generated site (polar and equirectangular) reports the CRS, size, geotransform and
//! scaling trn-sim meant. Skips, saying so, when gdalinfo is absent.

use std::process::Command;
use trn_map::render::Sun;
use trn_sim::site::{Projection, SiteSpec, make_site, write_site};
use trn_sim::terrain::TerrainParams;

fn gdalinfo(path: &std::path::Path) -> Option<serde_json::Value> {
    let out = Command::new("gdalinfo")
        .arg("-json")
        .arg(path)
        .output()
        .ok()?;
    if !out.status.success() {
        panic!(
            "gdalinfo failed on {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Some(serde_json::from_slice(&out.stdout).expect("gdalinfo JSON"))
}

#[test]
fn gdal_reads_the_site_products_as_written() {
    for (projection, lat, needle) in [
        (Projection::Polar, -85.3, "Polar Stereographic"),
        (Projection::Equirectangular, 12.0, "Equidistant Cylindrical"),
    ] {
        let spec = SiteSpec {
            terrain: TerrainParams {
                seed: 4,
                size_m: 1200.0,
                gsd_m: 6.0,
                ..TerrainParams::default()
            },
            lat_deg: lat,
            lon_deg: 31.2,
            projection,
            ortho_sun: Sun {
                azimuth_deg: 135.0,
                elevation_deg: 10.0,
            },
            fine_ortho: None,
            ortho_law: Default::default(),
        };
        let site = make_site(&spec).unwrap();
        let dir = std::env::temp_dir().join(format!("trn-site-{needle}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let info = write_site(&dir, &site).unwrap();
        assert_eq!(info.dem, "dem.tif");
        let Some(dem) = gdalinfo(&dir.join("dem.tif")) else {
            eprintln!("SKIP: gdalinfo not found; GDAL cross-check not run");
            return;
        };
        let wkt = dem["coordinateSystem"]["wkt"].as_str().unwrap();
        assert!(wkt.contains(needle), "{wkt}");
        assert!(wkt.contains("1737400"), "{wkt}");
        assert_eq!(dem["size"], serde_json::json!([201, 201]));
        let gt: Vec<f64> = dem["geoTransform"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for (a, b) in gt.iter().zip(site.dem.transform.0) {
            assert!((a - b).abs() < 1e-6, "{gt:?} vs {:?}", site.dem.transform);
        }
        let band = &dem["bands"][0];
        assert_eq!(band["type"], "Int16");
        assert_eq!(band["scale"].as_f64(), Some(0.05));
        // The site centre is the centre pixel, and GDAL's value there is trn's.
        let out = Command::new("gdallocationinfo")
            .args(["-valonly"])
            .arg(dir.join("dem.tif"))
            .args(["100", "100"])
            .output()
            .unwrap();
        let raw: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let h = f64::from(site.dem.data[100 * 201 + 100]);
        assert!(
            (raw * 0.05 - h).abs() <= 0.025 + 1e-9,
            "{raw} * 0.05 vs {h}"
        );
        let ortho = gdalinfo(&dir.join("ortho.tif")).unwrap();
        assert_eq!(ortho["bands"][0]["type"], "Byte");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
