//! Writes small valid map databases as seeds for the `mapdb_parse` fuzz target:
//! `cargo run -p trn-map --example fuzz_seeds -- fuzz/corpus/mapdb_parse`.

use trn_flight::dem::Grid;
use trn_flight::mapdb::Site;
use trn_map::SiteDem;
use trn_map::mapdb::{MapContents, MapLandmark, to_bytes};

fn grid(w: usize, h: usize, spacing: f64) -> SiteDem {
    SiteDem {
        grid: Grid {
            width: w,
            height: h,
            stride: w,
            x0: -(w as f64 - 1.0) * spacing / 2.0,
            y0: (h as f64 - 1.0) * spacing / 2.0,
            dx: spacing,
            dy: -spacing,
            radius: 1_737_400.0,
        },
        data: (0..w * h).map(|i| ((i * 37) % 101) as f32 - 50.0).collect(),
        missing: 0,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: fuzz_seeds OUTPUT_DIR")?;
    std::fs::create_dir_all(&dir)?;
    let site = Site {
        radius_m: 1_737_400.0,
        lat_deg: -85.0,
        lon_deg: 30.0,
        dem_sigma_m: 1.5,
        sun_az_deg: 120.0,
        sun_el_deg: 2.0,
        registration_sigma_m: 0.5,
    };
    let dem = grid(9, 7, 20.0);
    let ov = grid(5, 4, 40.0);
    let side = 11;
    let landmarks: Vec<MapLandmark> = (0..3)
        .map(|i| MapLandmark {
            id: i + 1,
            position: [f64::from(i) * 10.0, -5.0, 3.0],
            normal: [0.0, 0.0, 1.0],
            scale_m: 2.0,
            templates: (0..2)
                .map(|l| {
                    (0..side * side)
                        .map(|k| ((k + l + i as usize) % 7) as f32)
                        .collect()
                })
                .collect(),
        })
        .collect();
    let variants = [
        ("full", Some(&dem), Some(&ov), &landmarks[..]),
        ("dem_only", Some(&dem), None, &[][..]),
        ("landmarks_only", None, None, &landmarks[..1]),
    ];
    for (name, d, o, l) in variants {
        let bytes = to_bytes(&MapContents {
            site,
            dem: d,
            overview: o,
            landmarks: l,
            template_side: side,
        })?;
        std::fs::write(format!("{dir}/{name}.trnmap"), bytes)?;
    }
    Ok(())
}
