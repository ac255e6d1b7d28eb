//! Link check: a bare-metal binary exercising trn-flight's public API.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;
use trn_flight::camera::{Camera, Distortion};
use trn_flight::dem::{Grid, Heightfield};
use trn_flight::frames::{MOON_RADIUS_M, SiteFrame};
use trn_flight::mapdb::MapDb;
use trn_flight::matching::MatchScratch;
use trn_flight::pipeline::{FrameNavigator, FrameSequence, FrameSlot, NavConfig, Prior, Sequential, Workspace};
use trn_flight::track::{FixedFrame, TrackScratch};
use trn_flight::velocity;
use trn_flight::ncc::{NccConfig, search};
use trn_flight::view::ImageView;
use trn_flight::pyramid::Pyramid;
use trn_flight::p3p::p3p;
use trn_flight::rangefinder::{RangefinderConfig, RangefinderMonitor};
use trn_flight::robust::{RansacConfig, estimate_pose};
use trn_flight::{Mat6, Pose, Quat, Vec3};

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    let db = black_box([0u8; 64]);
    black_box(MapDb::parse(&db).map(|d| d.site().is_some()).ok());
    loop {}
}

/// Entry point: one pass over the API with inputs the optimiser cannot see through.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let pts = black_box([Vec3::new(-1.0, 0.5, 10.0), Vec3::new(2.0, -1.0, 11.0), Vec3::new(0.3, 2.0, 9.0)]);
    black_box(p3p(&pts, &pts).map(|s| s.len()).unwrap_or(0));

    let mut world = [Vec3::ZERO; 12];
    let mut image = [[0.0; 2]; 12];
    for (i, (w, m)) in world.iter_mut().zip(image.iter_mut()).enumerate() {
        *w = Vec3::new((i % 4) as f64 * 50.0, (i / 4) as f64 * 50.0, (i % 3) as f64 * 5.0 + 1000.0);
        *m = [w.x / w.z, w.y / w.z];
    }
    let mut mask = [false; 12];
    let est = estimate_pose(black_box(&image), black_box(&world), &mut mask, &RansacConfig::new(886.8));
    let pose = est.map(|e| e.pose).unwrap_or(Pose::new(Vec3::new(0.0, 0.0, 500.0), Quat::IDENTITY));

    let cam = Camera::new(64, 64, 50.0, 50.0, 31.5, 31.5, Distortion { k1: -0.1, ..Distortion::default() });
    black_box(cam.map(|c| c.unproject(black_box(3.0), 7.0)).ok());
    let site = SiteFrame::from_degrees(black_box(-85.3), 31.2, MOON_RADIUS_M);
    black_box(site.map(|s| s.site_to_mcmf(Vec3::new(1.0, 2.0, 3.0))).ok());

    let mut win = [0.0f32; 32 * 32];
    for (i, v) in win.iter_mut().enumerate() {
        *v = ((i * 7919) % 251) as f32;
    }
    let win = black_box(win);
    let mut scores = [0.0f32; 22 * 22];
    if let (Ok(w), Ok(t)) = (ImageView::packed(&win, 32, 32), ImageView::new(&win[5 * 32 + 3..], 11, 11, 32)) {
        black_box(search(&t, &w, &mut scores, &NccConfig::default()).map(|p| p.x).ok());
    }

    let dem_data = black_box([0.0f32; 16 * 16]);
    let grid = Grid { width: 16, height: 16, stride: 16, x0: -75.0, y0: 75.0, dx: 10.0, dy: -10.0, radius: MOON_RADIUS_M };
    if let Ok(dem) = Heightfield::new(&dem_data, grid, None) {
        black_box(dem.altitude(pose.position).map(|a| a.altitude).ok());
        let mut mon = RangefinderMonitor::new(RangefinderConfig::default());
        black_box(mon.update(Some(500.0), &pose, &Mat6::ZERO, &dem).nis);
    }
    let db = black_box([0u8; 64]);
    black_box(MapDb::parse(&db).map(|d| d.site().is_some()).ok());

    // One whole frame through the flight pipeline.
    let frame = black_box([0.5f32; 32 * 32]);
    let (mut levels, mut tmp) = ([0.0f32; 400], [0.0f32; 16 * 32]);
    if let (Ok(pyr), Ok(db), Ok(cam)) = (
        Pyramid::build(&frame, 32, 32, 3, &mut levels, &mut tmp),
        MapDb::parse(&db),
        Camera::new(32, 32, 30.0, 30.0, 15.5, 15.5, Distortion::default()),
    ) {
        let mut nav = FrameNavigator::new(&db, cam, NavConfig::default());
        let mut ws = Workspace::new();
        let mut scratch = MatchScratch::new();
        let prior = Prior { pose, sigma_pos_m: 50.0, sigma_att_rad: 1e-3, time_s: 0.0 };
        let f = nav.process(&pyr, &prior, Some(500.0), &mut ws, &mut Sequential { scratch: &mut scratch });
        black_box(f.status);
        // The same frame tracked from itself as the previous fixed frame.
        let prev = FixedFrame { pyramid: pyr, pose, covariance: Mat6::ZERO, time_s: -1.0 };
        let f = nav.process_with_fixed(
            &pyr,
            &prior,
            None,
            Some(&prev),
            &mut ws,
            &mut Sequential { scratch: &mut scratch },
        );
        black_box(f.tracked);
        // And the velocity from features tracked since it.
        if let Ok(dem) = Heightfield::new(&dem_data, grid, None) {
            let mut track = TrackScratch::new();
            let v = velocity::track(&prev, &pyr, &pose, 0.0, &cam, &dem, 4, 1.0, &mut track);
            black_box(v.map(|v| v.tracked_features));
        }
        // Two frames through the frame sequence: the double buffer and velocity.
        let (mut pa, mut pb, mut la, mut lb, mut st) =
            ([0.5f32; 32 * 32], [0.5f32; 32 * 32], [0.0f32; 400], [0.0f32; 400], [0.0f32; 16 * 32]);
        let slots = [
            FrameSlot { pixels: &mut pa[..], levels: &mut la[..] },
            FrameSlot { pixels: &mut pb[..], levels: &mut lb[..] },
        ];
        if let Ok(mut seq) = FrameSequence::new(&nav, slots, &mut st[..]) {
            for t in 0..2 {
                seq.next_pixels().copy_from_slice(&frame);
                let prior = Prior { time_s: f64::from(t), ..prior };
                let f = seq.process(&mut nav, &prior, None, &mut ws, &mut Sequential { scratch: &mut scratch });
                black_box(f.velocity.map(|v| v.dt_s));
            }
        }
    }
    loop {}
}
