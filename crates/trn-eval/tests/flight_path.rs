//! The flight path (trn-flight alone: its frame sequence with two caller-owned frame
//! slots, pyramid, prediction, matching loop, pose, tracking from the last fixed frame,
//! velocity and checks, one thread) against trn's Navigator (rayon matching and pyramids,
//! FFT acquisition available) on the shipped descent: the same verdict, pose and velocity
//! on every frame, and no allocation in the flight path.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;
use trn_eval::map::build_map;
use trn_eval::{EvalOptions, evaluate_saving_map};
use trn_flight::mapdb::MapDb;
use trn_flight::matching::MatchScratch;
use trn_flight::pipeline::{
    FixStatus, FrameNavigator, FrameSequence, FrameSlot, NavConfig, Sequential, Workspace,
};
use trn_flight::pyramid::{Pyramid, buffer_len, scratch_len};

/// Counts allocations made by this thread while `COUNTING` is set.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the thread-locals are const-initialised
// `Cell`s, which neither allocate nor re-enter the allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn flight_path_gives_the_navigator_pose() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/default-descent");
    let map = std::env::temp_dir().join(format!("trn-flight-path-{}.trnmap", std::process::id()));
    let opts = EvalOptions::default();
    let ev = evaluate_saving_map(&dir, &opts, Some(&map), &|_, _, _| {}).unwrap();
    let bytes = std::fs::read(&map).unwrap();
    std::fs::remove_file(&map).ok();
    let (ds, rows) = (&ev.dataset, &ev.rows);
    let camera = ds.meta.camera.camera().unwrap();
    let db = MapDb::parse(&bytes).unwrap();
    let cfg: NavConfig = opts.nav;
    let (w, h) = (camera.width() as usize, camera.height() as usize);
    // Everything the flight build needs, allocated once before the descent (in flight:
    // statics or memory claimed at boot); the sequence borrows the frame buffers.
    let mut nav = FrameNavigator::new(&db, camera, cfg);
    let mut ws = Box::new(Workspace::new());
    let mut scratch = Box::new(MatchScratch::new());
    let (n, nl) = (w * h, buffer_len(w, h, cfg.frame_levels));
    let mut memory = vec![0.0f32; 2 * n + 2 * nl + scratch_len(w, h)];
    let (px_a, rest) = memory.split_at_mut(n);
    let (px_b, rest) = rest.split_at_mut(n);
    let (lv_a, rest) = rest.split_at_mut(nl);
    let (lv_b, tmp) = rest.split_at_mut(nl);
    let slots = [
        FrameSlot {
            pixels: px_a,
            levels: lv_a,
        },
        FrameSlot {
            pixels: px_b,
            levels: lv_b,
        },
    ];
    let mut seq = FrameSequence::new(&nav, slots, tmp).unwrap();

    // The counter sees an allocation on this thread.
    COUNTING.with(|c| c.set(true));
    let probe = std::hint::black_box(Box::new(7u64));
    COUNTING.with(|c| c.set(false));
    assert_eq!(ALLOCATIONS.with(Cell::get), 1);
    drop(probe);
    ALLOCATIONS.with(|a| a.set(0));

    let (mut fixes, mut compared, mut worst, mut tracked, mut velocities) = (0, 0, 0.0f64, 0, 0);
    for ((fr, row), detail) in ds.frames.iter().zip(rows).zip(&ev.details) {
        let px = trn_dataset::image::read_frame(&ds.dir.join(&fr.image))
            .unwrap()
            .pixels;
        // The camera's frame lands in the sequence's free slot.
        seq.next_pixels().copy_from_slice(&px);
        let prior = trn_eval::frame_prior(fr);
        let mut exec = Sequential {
            scratch: &mut scratch,
        };
        COUNTING.with(|c| c.set(true));
        let f = seq.process(&mut nav, &prior, fr.lrf_range_m, &mut ws, &mut exec);
        COUNTING.with(|c| c.set(false));
        assert_eq!(
            ALLOCATIONS.with(Cell::get),
            0,
            "frame {} allocated",
            fr.frame
        );
        assert_eq!(f.status, row.status, "frame {}", fr.frame);
        assert_eq!(f.lrf.status, row.lrf_status, "frame {}", fr.frame);
        assert_eq!(f.inliers, row.inliers, "frame {}", fr.frame);
        if let Some(p) = row.pose {
            let d = (f.pose.position - p.position).norm();
            worst = worst.max(d);
            assert!(d <= 1e-4, "frame {}: {d} m apart", fr.frame);
            assert!(
                f.pose.attitude.angle_to(p.attitude) <= 1e-9,
                "frame {}",
                fr.frame
            );
            fixes += usize::from(f.status == FixStatus::Fix);
            tracked += usize::from(f.tracked > 0);
        }
        assert_eq!(
            f.velocity.map(|v| v.tracked_features),
            detail.velocity.map(|v| v.tracked_features),
            "frame {}",
            fr.frame
        );
        if let (Some(a), Some(b)) = (f.velocity, detail.velocity) {
            assert!(
                (a.mps - b.mps).norm() <= 1e-3,
                "frame {} velocity",
                fr.frame
            );
            velocities += 1;
        }
        compared += 1;
    }
    eprintln!(
        "{compared} frames, {fixes} fixes compared ({tracked} tracked); largest position \
         difference {worst:e} m"
    );
    assert_eq!(compared, 60);
    assert!(fixes >= 30, "only {fixes} fixes compared");
    assert!(tracked >= 1, "no tracked fix compared");
    assert!(velocities >= 30, "only {velocities} velocities compared");
}

/// The std Navigator's allocations per frame in a descent's steady state (the flight path
/// above makes none): none of its own after the first frame, but FFT acquisition's first
/// run (see `acquisition_reuses_its_plans_and_buffers`); what is left is rayon's job
/// queue.
#[test]
fn navigator_allocations_per_frame() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/default-descent");
    let map = std::env::temp_dir().join(format!("trn-alloc-{}.trnmap", std::process::id()));
    let ev = evaluate_saving_map(&dir, &EvalOptions::default(), Some(&map), &|_, _, _| {}).unwrap();
    let bytes = std::fs::read(&map).unwrap();
    std::fs::remove_file(&map).ok();
    let (ds, rows) = (&ev.dataset, &ev.rows);
    let db = MapDb::parse(&bytes).unwrap();
    let mut nav = trn::Navigator::new(db, ds.meta.camera.camera().unwrap(), NavConfig::default());
    let mut per_frame = Vec::new();
    for (fr, row) in ds.frames.iter().zip(rows) {
        let px = trn_dataset::image::read_frame(&ds.dir.join(&fr.image))
            .unwrap()
            .pixels;
        let prior = trn_eval::frame_prior(fr);
        ALLOCATIONS.with(|a| a.set(0));
        COUNTING.with(|c| c.set(true));
        let fix = nav.process(px, &prior, fr.lrf_range_m);
        COUNTING.with(|c| c.set(false));
        assert_eq!(fix.status, row.status);
        per_frame.push((
            fr.frame,
            fix.status,
            fix.acquisition.ran(),
            fix.velocity.is_some(),
            ALLOCATIONS.with(Cell::get),
        ));
    }
    for p in &per_frame {
        eprintln!(
            "frame {:2} {:?} acquisition {} velocity {}: {} allocations",
            p.0, p.1, p.2, p.3, p.4
        );
    }
    // After the first frame (buffers grow) and the first acquisition (its plans and
    // buffers), a frame allocates nothing but, now and then, a block of rayon's job queue
    // (crossbeam's injector takes a new block every 63 jobs sent into the pool from
    // outside it).
    let first_acquisition = per_frame.iter().find(|p| p.2).map(|p| p.0);
    let steady: Vec<_> = per_frame
        .iter()
        .skip(1)
        .filter(|p| Some(p.0) != first_acquisition)
        .collect();
    for p in &steady {
        assert!(p.4 <= 1, "frame {}: {} allocations", p.0, p.4);
    }
    let none = steady.iter().filter(|p| p.4 == 0).count();
    assert!(
        2 * none > steady.len(),
        "only {none} of {} frames allocated nothing",
        steady.len()
    );
}

/// FFT acquisition makes its plans and buffers on its first run; later runs (other frames,
/// other FFT sizes) allocate nothing and give what a fresh acquirer gives. Counted inside a
/// one-thread pool: called from outside a pool, rayon's job queue (not acquisition) takes a
/// block every 63 jobs, which would make the count depend on the jobs before.
#[test]
fn acquisition_reuses_its_plans_and_buffers() {
    use trn::acquisition::{Acquirer, Hypothesis};
    use trn_flight::Vec3;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/default-descent");
    let ds = trn_dataset::dataset::Dataset::read(&dir).unwrap();
    let bytes = build_map(&ds, &EvalOptions::default(), None).unwrap();
    let db = MapDb::parse(&bytes).unwrap();
    let camera = ds.meta.camera.camera().unwrap();
    let dem = db.dem().and_then(|g| g.heightfield().ok());
    assert!(dem.is_some());
    let mut reused = Acquirer::new(&db);
    assert_eq!(reused.overview_levels(), 3);
    let (w, h) = (camera.width() as usize, camera.height() as usize);
    let mut levels = vec![0.0f32; buffer_len(w, h, 6)];
    let mut tmp = vec![0.0f32; scratch_len(w, h)];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut sizes = Vec::new();
    // High and low frames, priors 1-2 km off: several FFT sizes and overview levels.
    for (k, off, reach) in [
        (12usize, Vec3::new(1500.0, -1100.0, 80.0), 2100.0),
        (30, Vec3::new(600.0, 400.0, 40.0), 2100.0),
        (18, Vec3::new(-1300.0, 1400.0, -60.0), 2100.0),
        (40, Vec3::new(-200.0, 300.0, 10.0), 600.0),
    ] {
        let f = &ds.frames[k];
        let px = trn_dataset::image::read_frame(&ds.dir.join(&f.image))
            .unwrap()
            .pixels;
        let pyr = Pyramid::build(&px, w, h, 6, &mut levels, &mut tmp).unwrap();
        let prior = trn_flight::Pose::new(f.truth.unwrap().position + off, f.prior.attitude);
        let run = |acq: &mut Acquirer, out: &mut [Hypothesis]| {
            acq.acquire(&pyr, &camera, &prior, dem.as_ref(), reach, out)
        };
        let mut fresh = [Hypothesis::default(); 4];
        let first = run(&mut Acquirer::new(&db), &mut fresh).expect("footprint on the overview");
        let warm = !sizes.is_empty();
        let mut again = [Hypothesis::default(); 4];
        let (second, allocations) = pool.install(|| {
            ALLOCATIONS.with(|a| a.set(0));
            COUNTING.with(|c| c.set(true));
            let r = run(&mut reused, &mut again);
            COUNTING.with(|c| c.set(false));
            (r, ALLOCATIONS.with(Cell::get))
        });
        if warm {
            assert_eq!(allocations, 0, "frame {k}: acquisition allocated");
        } else {
            // The counter sees the first run's plans and buffers.
            assert!(allocations > 0, "frame {k}: first run not counted");
        }
        assert_eq!(second, Some(first), "frame {k}");
        assert_eq!(again, fresh, "frame {k}");
        assert!(first.found > 0, "frame {k}: no hypothesis");
        sizes.push(first.size);
    }
    sizes.sort_unstable();
    sizes.dedup();
    eprintln!("FFT sizes used: {sizes:?}");
    assert!(sizes.len() >= 2, "one FFT size only: {sizes:?}");
}

/// A frame sequence refuses, when it is made, buffers too short for its navigator's camera
/// and levels, and level counts a pyramid cannot have; a navigator of another camera, or a
/// frame of the wrong size handed to trn's Navigator, gives no fix instead of a guess.
#[test]
fn frame_sequence_refuses_what_does_not_fit() {
    use trn_flight::pipeline::SequenceError;
    use trn_flight::pyramid::MAX_LEVELS;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/default-descent");
    let ds = trn_dataset::dataset::Dataset::read(&dir).unwrap();
    let bytes = build_map(&ds, &EvalOptions::default(), None).unwrap();
    let db = MapDb::parse(&bytes).unwrap();
    let camera = ds.meta.camera.camera().unwrap();
    let (w, h) = (camera.width() as usize, camera.height() as usize);
    let nav = |levels| {
        let cfg = NavConfig {
            frame_levels: levels,
            ..NavConfig::default()
        };
        FrameNavigator::new(&db, camera, cfg)
    };
    let need = buffer_len(w, h, 6);
    let make = |n: &FrameNavigator<'_>, px: usize, lv: usize, st: usize| {
        let slot = |px, lv| FrameSlot {
            pixels: vec![0.0f32; px],
            levels: vec![0.0f32; lv],
        };
        FrameSequence::new(n, [slot(px, lv), slot(w * h, need)], vec![0.0f32; st]).map(|_| ())
    };
    let n6 = nav(6);
    let st = scratch_len(w, h);
    assert_eq!(make(&n6, w * h, need, st), Ok(()));
    assert_eq!(make(&n6, w * h - 1, need, st), Err(SequenceError::Pixels));
    assert_eq!(make(&n6, w * h, need - 1, st), Err(SequenceError::Levels));
    assert_eq!(make(&n6, w * h, need, st - 1), Err(SequenceError::Scratch));
    assert_eq!(
        make(&nav(0), w * h, need, st),
        Err(SequenceError::LevelCount)
    );
    assert_eq!(
        make(&nav(MAX_LEVELS + 1), w * h, need, st),
        Err(SequenceError::LevelCount)
    );

    // A navigator with another level count than the sequence's: no fix.
    let slot = || FrameSlot {
        pixels: vec![0.0f32; w * h],
        levels: vec![0.0f32; need],
    };
    let mut seq = FrameSequence::new(&n6, [slot(), slot()], vec![0.0f32; st]).unwrap();
    let f = &ds.frames[10];
    let px = trn_dataset::image::read_frame(&ds.dir.join(&f.image))
        .unwrap()
        .pixels;
    let prior = trn_eval::frame_prior(f);
    let mut ws = Box::new(Workspace::new());
    let mut scratch = Box::new(MatchScratch::new());
    let mut n5 = nav(5);
    seq.next_pixels().copy_from_slice(&px);
    let mut exec = Sequential {
        scratch: &mut scratch,
    };
    let r = seq.process(&mut n5, &prior, None, &mut ws, &mut exec);
    assert_eq!((r.status, r.pose), (FixStatus::NoFix, prior.pose));
    // The same frame with the sequence's own navigator is a fix.
    let mut n6 = nav(6);
    let r = seq.process(&mut n6, &prior, None, &mut ws, &mut exec);
    assert_eq!(r.status, FixStatus::Fix);

    // trn's Navigator: a frame of the wrong size is no fix.
    let mut std_nav = trn::Navigator::new(db, camera, NavConfig::default());
    let r = std_nav.process(px[..w * h - 1].to_vec(), &prior, None);
    assert_eq!((r.status, r.pose), (FixStatus::NoFix, prior.pose));
    let r = std_nav.process(px, &prior, None);
    assert_eq!(r.status, FixStatus::Fix);
}
