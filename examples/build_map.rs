//! A map database from a GeoTIFF DEM: read the DEM, resample it onto the landing site's
//! frame, render it under the descent's sun, choose landmarks, write the `.trnmap`, and
//! check it as flight software would, with trn-flight's zero-copy parser.
//!
//! `cargo run --release -p trn-examples --example build_map -- [DEM.tif] [OUT.trnmap]`
//! (defaults: the shipped descent's DEM, a 4 km square around its site).

use std::path::PathBuf;
use trn_flight::mapdb::MapDb;
use trn_map::build::BuildParams;
use trn_map::render::Sun;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dem = args.next().map(PathBuf::from);
    let out = args.next().map(PathBuf::from);
    run(dem, out)
}

fn run(dem_path: Option<PathBuf>, out: Option<PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
    let dem_path = dem_path.unwrap_or_else(|| trn_examples::shipped_descent().join("map/dem.tif"));
    let out = out.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("trn-example-{}.trnmap", std::process::id()))
    });

    // Heights in metres above the reference sphere, in a lunar CRS.
    let dem = trn_map::io::read_raster(&dem_path)?;
    // A 4 km square at the DEM's own spacing, centred on the site (-85.3, 31.2), rendered
    // with the sun 12 degrees up in the south-east.
    let gsd = dem.transform.0[1].abs();
    let sun = Sun {
        azimuth_deg: 135.0,
        elevation_deg: 12.0,
    };
    let params = BuildParams::new(-85.3, 31.2, 4000.0, 4000.0, gsd, sun);
    let built = trn_map::build(&dem, None, &params, &())?;
    trn_map::mapdb::write(&out, &built.contents())?;

    // In flight: the bytes parsed in place, every section checked (CRC, sizes, version).
    let bytes = std::fs::read(&out)?;
    let db = MapDb::parse(&bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    let landmarks = db.landmarks().map_or(0, |l| l.len());
    println!(
        "{}: {} landmarks over {:.0} m at {gsd} m per pixel, {} bytes",
        out.display(),
        landmarks,
        params.width_m,
        bytes.len()
    );
    if landmarks < 50 {
        return Err(format!("only {landmarks} landmarks").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_runs() {
        let out = std::env::temp_dir().join(format!("trn-build-map-{}.trnmap", std::process::id()));
        super::run(None, Some(out.clone())).unwrap();
        std::fs::remove_file(out).unwrap();
    }
}
