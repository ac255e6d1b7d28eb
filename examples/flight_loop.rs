//! The flight loop: trn-flight alone (`#![no_std]`, no allocation, one thread) navigating a
//! descent. Everything is claimed once at boot: the map database's bytes (parsed in place),
//! the frame navigator, its workspace and matching scratch, and two frame slots that the
//! frame sequence swaps so the last fixed frame stays for tracking. Per frame: the camera's
//! pixels land in the free slot, one `process`, and a verdict that is never a guess.
//!
//! On the ground the map comes from the shipped descent's DEM and orthoimage (trn-eval's
//! map build) and the frames from its PNGs; in flight they would come from the map
//! partition and the camera driver.
//!
//! `cargo run --release -p trn-examples --example flight_loop`

use trn_flight::camera::Camera;
use trn_flight::mapdb::MapDb;
use trn_flight::matching::MatchScratch;
use trn_flight::pipeline::{
    FixStatus, FrameNavigator, FrameSequence, FrameSlot, NavConfig, Prior, Sequential, Workspace,
};
use trn_flight::pyramid::{buffer_len, scratch_len};

/// `n` samples claimed for the rest of the program, as a flight build's statics are.
fn claim(n: usize) -> &'static mut [f32] {
    Box::leak(vec![0.0f32; n].into_boxed_slice())
}

/// One descent's frames through the flight pipeline: `frames` yields each frame's pixels
/// (written into the slot the sequence offers), prior and rangefinder reading; `report`
/// sees each result. Returns the number of fixes, or `None` when the map is refused.
fn descend(
    map: &[u8],
    camera: Camera,
    cfg: NavConfig,
    frames: impl Iterator<Item = (Vec<f32>, Prior, Option<f64>)>,
    mut report: impl FnMut(&Prior, &trn_flight::pipeline::FrameResult),
) -> Option<usize> {
    // A corrupt or truncated map is an error, never a panic.
    let db = MapDb::parse(map).ok()?;
    let mut nav = FrameNavigator::new(&db, camera, cfg);
    // Boot: every buffer the descent needs, sized for the camera.
    let (w, h) = (camera.width() as usize, camera.height() as usize);
    let levels = buffer_len(w, h, cfg.frame_levels);
    let ws: &'static mut Workspace = Box::leak(Box::new(Workspace::new()));
    let scratch: &'static mut MatchScratch = Box::leak(Box::new(MatchScratch::new()));
    let slots = [
        FrameSlot {
            pixels: claim(w * h),
            levels: claim(levels),
        },
        FrameSlot {
            pixels: claim(w * h),
            levels: claim(levels),
        },
    ];
    let mut seq = FrameSequence::new(&nav, slots, claim(scratch_len(w, h))).ok()?;
    let mut fixes = 0;
    for (pixels, prior, lrf) in frames {
        // The camera driver writes the frame into the free slot.
        seq.next_pixels().copy_from_slice(&pixels);
        let r = seq.process(&mut nav, &prior, lrf, ws, &mut Sequential { scratch });
        fixes += usize::from(r.status == FixStatus::Fix);
        report(&prior, &r);
    }
    Some(fixes)
}

fn run() -> Result<usize, Box<dyn std::error::Error>> {
    // Ground side: the map database and the frames of the shipped descent.
    let ds = trn_dataset::dataset::Dataset::read(&trn_examples::shipped_descent())?;
    let opts = trn_eval::EvalOptions::default();
    let map = trn_eval::map::build_map(&ds, &opts, None)?;
    let camera = ds.meta.camera.camera()?;
    let mut frames = Vec::with_capacity(ds.frames.len());
    for f in &ds.frames {
        let pixels = trn_dataset::image::read_frame(&ds.dir.join(&f.image))?.pixels;
        let prior = Prior {
            pose: f.prior,
            sigma_pos_m: f.prior_sigma_pos_m,
            sigma_att_rad: f.prior_sigma_att_deg.to_radians(),
            time_s: f.t_s,
        };
        frames.push((pixels, prior, f.lrf_range_m));
    }
    let fixes = descend(&map, camera, opts.nav, frames.into_iter(), |prior, r| {
        let sigma = r.sigma_pos().iter().fold(0.0f64, |a, s| a.max(*s));
        let v = r
            .velocity
            .map_or(String::new(), |v| format!(", {:.1} m/s down", -v.mps.z));
        println!(
            "t {:5.1} s: {:8} altitude {:7.1} m, 1-sigma {sigma:5.2} m, rangefinder {}{v}",
            prior.time_s,
            r.status.as_str(),
            r.altitude_m,
            r.lrf.status
        );
    })
    .ok_or("the map database was refused")?;
    println!("{fixes} of {} frames fixed", ds.frames.len());
    Ok(fixes)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    run().map(|_| ())
}

#[cfg(test)]
mod tests {
    /// The shipped descent through the flight loop: every frame fixed.
    #[test]
    fn the_example_runs() {
        assert_eq!(super::run().unwrap(), 60);
    }
}
