//! NCC template search: 21x21 in 64x64 and 31x31 in 128x128, scalar and SIMD kernels.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use trn_benches::ncc_case;
use trn_flight::ncc::{Kernel, NccConfig, active_kernel, search};
use trn_flight::view::ImageView;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("ncc_{}", active_kernel()));
    for (t, w) in [(21usize, 64usize), (31, 128)] {
        let (tpl, win) = ncc_case(t, w);
        let mut scores = vec![0.0; (w - t + 1) * (w - t + 1)];
        let tv = ImageView::packed(&tpl, t, t).unwrap();
        let wv = ImageView::packed(&win, w, w).unwrap();
        for kernel in [Kernel::Scalar, Kernel::Auto] {
            let cfg = NccConfig {
                kernel,
                ..NccConfig::default()
            };
            g.bench_function(format!("{t}x{t}_in_{w}x{w}_{kernel:?}"), |b| {
                b.iter(|| {
                    search(black_box(&tv), black_box(&wv), &mut scores, &cfg).map(|p| p.score)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
