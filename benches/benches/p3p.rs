//! P3P: time per solve on PoseLib's benchmark geometry.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use trn_benches::p3p_problems;
use trn_flight::p3p::p3p;

fn bench(c: &mut Criterion) {
    let problems = p3p_problems(1000, 1);
    let mut g = c.benchmark_group("p3p");
    g.throughput(Throughput::Elements(problems.len() as u64));
    g.bench_function("lambda_twist_1000_problems", |b| {
        b.iter(|| {
            let mut n = 0;
            for p in &problems {
                if let Ok(s) = p3p(black_box(&p.bearings), black_box(&p.points)) {
                    n += s.len();
                }
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
