//! NCC search: known answers against an independent brute-force ZNCC, sub-pixel accuracy
//! on band-limited imagery, invariances, ambiguity, errors, and SIMD = scalar.

mod common;

use common::Rand;
use proptest::prelude::*;
use trn_flight::ncc::{Kernel, NccConfig, NccError, placements, search};
use trn_flight::view::{ImageView, ViewError};

fn noise(r: &mut Rand, w: usize, h: usize) -> Vec<f32> {
    (0..w * h).map(|_| r.uniform(0.0, 255.0) as f32).collect()
}

/// A band-limited surface: a sum of sinusoids with periods of 6..20 px, so it can be sampled
/// at any fractional offset exactly.
struct Smooth(Vec<(f64, f64, f64, f64)>);

impl Smooth {
    fn new(r: &mut Rand) -> Self {
        Self(
            (0..12)
                .map(|_| {
                    let period = r.uniform(6.0, 20.0);
                    let ang = r.uniform(0.0, std::f64::consts::TAU);
                    let k = std::f64::consts::TAU / period;
                    (
                        k * ang.cos(),
                        k * ang.sin(),
                        r.uniform(0.0, 6.3),
                        r.uniform(5.0, 30.0),
                    )
                })
                .collect(),
        )
    }

    fn at(&self, x: f64, y: f64) -> f32 {
        (100.0
            + self
                .0
                .iter()
                .map(|(kx, ky, ph, a)| a * (kx * x + ky * y + ph).sin())
                .sum::<f64>()) as f32
    }
}

fn crop(img: &[f32], w: usize, x: usize, y: usize, cw: usize, ch: usize) -> Vec<f32> {
    (0..ch)
        .flat_map(|r| img[(y + r) * w + x..(y + r) * w + x + cw].to_vec())
        .collect()
}

/// Independent reference: the textbook ZNCC formula in f64 at one placement.
fn zncc_ref(t: &[f32], tw: usize, th: usize, win: &[f32], ww: usize, x: usize, y: usize) -> f64 {
    let n = (tw * th) as f64;
    let tm = t.iter().map(|&v| v as f64).sum::<f64>() / n;
    let mut im = 0.0;
    for r in 0..th {
        for c in 0..tw {
            im += win[(y + r) * ww + x + c] as f64;
        }
    }
    im /= n;
    let (mut num, mut dt, mut di) = (0.0, 0.0, 0.0);
    for r in 0..th {
        for c in 0..tw {
            let a = t[r * tw + c] as f64 - tm;
            let b = win[(y + r) * ww + x + c] as f64 - im;
            num += a * b;
            dt += a * a;
            di += b * b;
        }
    }
    if di <= 1e-12 {
        0.0
    } else {
        num / (dt * di).sqrt()
    }
}

fn run(
    t: &[f32],
    tw: usize,
    th: usize,
    w: &[f32],
    ww: usize,
    wh: usize,
    kernel: Kernel,
) -> (trn_flight::ncc::NccPeak, Vec<f32>) {
    let tv = ImageView::packed(t, tw, th).unwrap();
    let wv = ImageView::packed(w, ww, wh).unwrap();
    let mut scores = vec![0.0; placements(&tv, &wv).unwrap()];
    let cfg = NccConfig {
        kernel,
        ..NccConfig::default()
    };
    let p = search(&tv, &wv, &mut scores, &cfg).unwrap();
    (p, scores)
}

#[test]
fn finds_a_cut_out_template_exactly_and_matches_the_reference_surface() {
    let mut r = Rand::new(1);
    let (ww, wh) = (70, 61);
    let win = noise(&mut r, ww, wh);
    for (tw, th, x, y) in [
        (21, 21, 17, 30),
        (11, 15, 0, 0),
        (31, 25, 39, 36),
        (13, 11, 5, 44),
    ] {
        let t = crop(&win, ww, x, y, tw, th);
        for kernel in [Kernel::Scalar, Kernel::Auto] {
            let (p, scores) = run(&t, tw, th, &win, ww, wh, kernel);
            assert_eq!((p.col, p.row), (x, y));
            assert!((p.score - 1.0).abs() < 1e-5, "{}", p.score);
            let ow = ww - tw + 1;
            for (i, s) in scores.iter().enumerate().step_by(7) {
                let want = zncc_ref(&t, tw, th, &win, ww, i % ow, i / ow);
                assert!(
                    (*s as f64 - want).abs() < 1e-4,
                    "{kernel:?} at {i}: {s} vs {want}"
                );
            }
        }
    }
}

#[test]
fn sub_pixel_localisation_on_band_limited_imagery() {
    let mut r = Rand::new(2);
    let mut worst: f32 = 0.0;
    for _ in 0..40 {
        let f = Smooth::new(&mut r);
        let (dx, dy) = (r.uniform(-0.5, 0.5), r.uniform(-0.5, 0.5));
        let (ww, wh, tw) = (64usize, 64usize, 21usize);
        let win: Vec<f32> = (0..ww * wh)
            .map(|i| f.at((i % ww) as f64, (i / ww) as f64))
            .collect();
        // Template: the same surface sampled around (30 + dx, 28 + dy).
        let (cx, cy) = (30.0 + dx, 28.0 + dy);
        let t: Vec<f32> = (0..tw * tw)
            .map(|i| f.at(cx + (i % tw) as f64 - 10.0, cy + (i / tw) as f64 - 10.0))
            .collect();
        let (p, _) = run(&t, tw, tw, &win, ww, wh, Kernel::Auto);
        let err = ((p.x as f64 - cx).powi(2) + (p.y as f64 - cy).powi(2)).sqrt() as f32;
        worst = worst.max(err);
    }
    println!("worst sub-pixel error over 40 band-limited cases: {worst:.3} px");
    assert!(worst < 0.1, "worst sub-pixel error {worst}");
}

#[test]
fn invariant_to_affine_intensity_changes() {
    let mut r = Rand::new(3);
    let win = noise(&mut r, 50, 50);
    let t = crop(&win, 50, 12, 20, 15, 15);
    let (p1, s1) = run(&t, 15, 15, &win, 50, 50, Kernel::Auto);
    let win2: Vec<f32> = win.iter().map(|v| 0.37 * v + 80.0).collect();
    let (p2, s2) = run(&t, 15, 15, &win2, 50, 50, Kernel::Auto);
    assert_eq!((p1.col, p1.row), (p2.col, p2.row));
    for (a, b) in s1.iter().zip(&s2) {
        assert!((a - b).abs() < 2e-4);
    }
}

#[test]
fn periodic_pattern_is_ambiguous_unique_blob_is_not() {
    // Stripes with a 6 px period: every 6th placement matches equally.
    let stripes: Vec<f32> = (0..60 * 60)
        .map(|i| if (i % 60) % 6 < 3 { 200.0 } else { 50.0 })
        .collect();
    let t = crop(&stripes, 60, 20, 20, 11, 11);
    let (p, _) = run(&t, 11, 11, &stripes, 60, 60, Kernel::Auto);
    assert!(p.ratio < 1.01, "stripes ratio {}", p.ratio);
    let mut r = Rand::new(4);
    let win = noise(&mut r, 60, 60);
    let t = crop(&win, 60, 20, 25, 11, 11);
    let (p, _) = run(&t, 11, 11, &win, 60, 60, Kernel::Auto);
    assert!(p.ratio > 1.5, "noise ratio {}", p.ratio);
}

#[test]
fn flat_regions_score_zero_and_bad_input_is_an_error() {
    let mut r = Rand::new(5);
    let mut win = noise(&mut r, 40, 40);
    for y in 0..20 {
        for x in 0..20 {
            win[y * 40 + x] = 7.0; // a flat quadrant
        }
    }
    let t = crop(&win, 40, 25, 25, 11, 11);
    let (p, scores) = run(&t, 11, 11, &win, 40, 40, Kernel::Auto);
    assert_eq!((p.col, p.row), (25, 25));
    assert_eq!(scores[0], 0.0);
    assert!(scores.iter().all(|s| s.is_finite()));

    let w = ImageView::packed(&win, 40, 40).unwrap();
    let mut buf = vec![0.0; 30 * 30];
    let cfg = NccConfig::default();
    let flat = vec![3.0f32; 121];
    assert_eq!(
        search(
            &ImageView::packed(&flat, 11, 11).unwrap(),
            &w,
            &mut buf,
            &cfg
        )
        .unwrap_err(),
        NccError::FlatTemplate
    );
    let even = vec![1.0f32; 144];
    assert_eq!(
        search(
            &ImageView::packed(&even, 12, 12).unwrap(),
            &w,
            &mut buf,
            &cfg
        )
        .unwrap_err(),
        NccError::TemplateSize
    );
    let small = vec![1.0f32; 81];
    assert_eq!(
        search(
            &ImageView::packed(&small, 9, 9).unwrap(),
            &w,
            &mut buf,
            &cfg
        )
        .unwrap_err(),
        NccError::TemplateSize
    );
    let tv = ImageView::packed(&t, 11, 11).unwrap();
    assert_eq!(
        search(&tv, &w, &mut buf[..100], &cfg).unwrap_err(),
        NccError::ScoresTooSmall
    );
    let tiny = ImageView::packed(&win[..100], 10, 10).unwrap();
    assert_eq!(
        search(&tv, &tiny, &mut buf, &cfg).unwrap_err(),
        NccError::WindowSize
    );
    let mut nan = win.clone();
    nan[300] = f32::NAN;
    let nv = ImageView::packed(&nan, 40, 40).unwrap();
    assert_eq!(
        search(&tv, &nv, &mut buf, &cfg).unwrap_err(),
        NccError::NonFinite
    );
    assert_eq!(ImageView::packed(&win, 40, 41).unwrap_err(), ViewError);
    assert_eq!(ImageView::new(&win, 40, 10, 39).unwrap_err(), ViewError);
}

#[test]
fn strided_sub_views_search_like_packed_copies() {
    let mut r = Rand::new(6);
    let img = noise(&mut r, 100, 90);
    let full = ImageView::packed(&img, 100, 90).unwrap();
    let sub = full.sub(13, 7, 64, 64).unwrap();
    let packed = crop(&img, 100, 13, 7, 64, 64);
    let t = crop(&packed, 64, 30, 22, 21, 21);
    let tv = ImageView::packed(&t, 21, 21).unwrap();
    let mut a = vec![0.0; 44 * 44];
    let mut b = vec![0.0; 44 * 44];
    let pa = search(&tv, &sub, &mut a, &NccConfig::default()).unwrap();
    let pb = search(
        &tv,
        &ImageView::packed(&packed, 64, 64).unwrap(),
        &mut b,
        &NccConfig::default(),
    )
    .unwrap();
    assert_eq!(pa, pb);
    assert_eq!(a, b);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn simd_kernel_equals_scalar_kernel(
        th in (5usize..=15).prop_map(|k| 2 * k + 1),
        tw in (5usize..=15).prop_map(|k| 2 * k + 1),
        extra_w in 0usize..50,
        extra_h in 0usize..30,
        seed in 0u64..1000,
    ) {
        let (ww, wh) = (tw + extra_w, th + extra_h);
        let mut r = Rand::new(seed);
        let win = noise(&mut r, ww, wh);
        let t = noise(&mut r, tw, th);
        let (ps, ss) = run(&t, tw, th, &win, ww, wh, Kernel::Scalar);
        let (pv, sv) = run(&t, tw, th, &win, ww, wh, Kernel::Auto);
        for (a, b) in ss.iter().zip(&sv) {
            prop_assert!((a - b).abs() < 1e-4, "{} vs {}", a, b);
        }
        if (ps.score - ps.second).abs() > 1e-3 {
            prop_assert_eq!((ps.col, ps.row), (pv.col, pv.row));
        }
    }
}
