//! Link check: a bare-metal binary exercising trn-flight's public API.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;
use trn_flight::p3p::p3p;
use trn_flight::robust::{RansacConfig, estimate_pose};
use trn_flight::{Quat, Vec3};

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {}
}

/// Entry point: runs one pass over the API with inputs the optimiser cannot see through.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let pts = black_box([
        Vec3::new(-1.0, 0.5, 10.0),
        Vec3::new(2.0, -1.0, 11.0),
        Vec3::new(0.3, 2.0, 9.0),
    ]);
    let n = p3p(&pts, &pts).map(|s| s.len()).unwrap_or(0);
    black_box(n);

    let mut world = [Vec3::ZERO; 12];
    let mut image = [[0.0; 2]; 12];
    for (i, (w, m)) in world.iter_mut().zip(image.iter_mut()).enumerate() {
        *w = Vec3::new(
            (i % 4) as f64 * 50.0,
            (i / 4) as f64 * 50.0,
            (i % 3) as f64 * 5.0 + 1000.0,
        );
        *m = [w.x / w.z, w.y / w.z];
    }
    let mut mask = [false; 12];
    let est = estimate_pose(
        black_box(&image),
        black_box(&world),
        &mut mask,
        &RansacConfig::new(886.8),
    );
    black_box(est.map(|e| e.pose.attitude).unwrap_or(Quat::IDENTITY));
    loop {}
}
