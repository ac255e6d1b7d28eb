//! A 1024 x 1024 frame's six-level pyramid: the flight build (one thread, caller buffers)
//! and trn's (rayon over rows, buffers reused from frame to frame), on the same pixels.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use trn::FramePyramid;
use trn_flight::pyramid::{Pyramid, buffer_len, scratch_len};

fn bench(c: &mut Criterion) {
    let (w, h, levels) = (1024usize, 1024usize, 6usize);
    // A deterministic texture with structure at every scale (not a constant the filter
    // could shortcut).
    let frame: Vec<f32> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            2000.0 + 500.0 * (0.013 * x).sin() * (0.021 * y).cos() + ((i * 7919) % 97) as f32
        })
        .collect();
    let mut g = c.benchmark_group("pyramid_1024");
    let mut buf = vec![0.0f32; buffer_len(w, h, levels)];
    let mut tmp = vec![0.0f32; scratch_len(w, h)];
    g.bench_function("flight_build", |b| {
        b.iter(|| {
            Pyramid::build(black_box(&frame), w, h, levels, &mut buf, &mut tmp)
                .map(|p| p.len())
                .ok()
        })
    });
    let mut pyr = FramePyramid::default();
    g.bench_function("std_rebuild", |b| {
        b.iter_batched(
            || frame.clone(),
            |px| {
                pyr.rebuild(w, h, px, levels).expect("pyramid");
                pyr.view().len()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
