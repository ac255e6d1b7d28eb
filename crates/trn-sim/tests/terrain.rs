//! The terrain generator against its specification: Hurst exponent of the base, the crater
//! size-frequency distribution, crater shapes, determinism, and the site products.

use trn_sim::noise::Fbm;
use trn_sim::terrain::{self, Kind, TerrainParams};

#[test]
fn fractal_base_has_the_requested_hurst_exponent_and_slope() {
    for hurst in [0.6, 0.9] {
        let f = Fbm::new(16384.0, 2.0, hurst, 20.0, 20.0 * 4f64.to_radians().tan(), 3);
        // RMS slope at the calibration baseline is what was asked.
        let s20 = f.rms_difference(20.0, 20_000);
        assert!((s20 / 20.0 - 4f64.to_radians().tan()).abs() < 0.1 * 4f64.to_radians().tan());
        // Structure function grows as baseline^H well inside the octave range (the outer
        // scale, the site's size, flattens it within a few octaves of itself).
        let (a, b) = (
            f.rms_difference(16.0, 20_000),
            f.rms_difference(128.0, 20_000),
        );
        let h = (b / a).ln() / 8f64.ln();
        eprintln!("H = {h:.3} for {hurst}");
        assert!((h - hurst).abs() < 0.08, "H = {h} for {hurst}");
    }
}

#[test]
fn crater_population_follows_the_size_frequency_distribution() {
    let p = TerrainParams {
        size_m: 20_000.0,
        gsd_m: 5.0,
        crater_density: 0.08,
        sfd_slope: 2.0,
        ..TerrainParams::default()
    };
    let c = terrain::craters(&p);
    let span_km = 20.0 + 3.0 * 5.0; // site plus the margin for craters reaching in
    for d_km in [0.05, 0.1, 0.4] {
        let n = c.iter().filter(|k| k.diameter > d_km * 1000.0).count() as f64;
        let want = 0.08 * span_km * span_km * (d_km.powf(-2.0) - 5f64.powf(-2.0));
        let sigma = want.sqrt();
        assert!(
            (n - want).abs() < 4.0 * sigma + 2.0,
            "D > {d_km} km: {n} vs {want}"
        );
    }
    assert!(c.windows(2).all(|w| w[0].diameter >= w[1].diameter));
    // Depth/diameter between degraded (0.04) and fresh (0.2); rims positive.
    for k in &c {
        let dd = k.depth / k.diameter;
        assert!((0.04..=0.2 + 1e-12).contains(&dd), "{dd}");
        assert!(k.rim > 0.0 && k.kind == Kind::Crater);
    }
    let fresh = c.iter().filter(|k| k.freshness >= 0.7).count() as f64 / c.len() as f64;
    assert!((fresh - 0.1).abs() < 0.03, "fresh fraction {fresh}");
}

#[test]
fn crater_profile_is_bowl_rim_and_ejecta() {
    let p = TerrainParams::default();
    let k = terrain::craters(&p)[0];
    let r = 0.5 * k.diameter;
    assert!((k.profile(0.0) + k.depth).abs() < 1e-9);
    assert!((k.profile(r) - k.rim).abs() < 1e-9);
    assert!((k.profile(2.0 * r) - k.rim / 8.0).abs() < 1e-9);
    assert_eq!(k.profile(3.0 * r), 0.0);
    // Monotonic fall outside the rim.
    let mut prev = k.profile(r);
    for i in 1..100 {
        let v = k.profile(r * (1.0 + 2.0 * i as f64 / 100.0));
        assert!(v <= prev + 1e-12);
        prev = v;
    }
}

#[test]
fn generation_is_deterministic_and_seeds_differ() {
    let p = TerrainParams {
        size_m: 1000.0,
        gsd_m: 4.0,
        ..TerrainParams::default()
    };
    let a = terrain::generate(&p);
    let b = terrain::generate(&p);
    assert_eq!(a.heights, b.heights);
    assert_eq!(a.albedo, b.albedo);
    let c = terrain::generate(&TerrainParams { seed: 2, ..p });
    assert_ne!(a.heights, c.heights);
    assert_eq!((a.width, a.height), (251, 251));
    // Albedo near 1 with bright halos, heights within a plausible lunar range.
    let max_a = a.albedo.iter().copied().fold(f32::MIN, f32::max);
    let min_a = a.albedo.iter().copied().fold(f32::MAX, f32::min);
    assert!(min_a > 0.8 && max_a < 1.6, "{min_a}..{max_a}");
    let relief = a.heights.iter().copied().fold(f32::MIN, f32::max)
        - a.heights.iter().copied().fold(f32::MAX, f32::min);
    assert!(relief > 5.0 && relief < 500.0, "relief {relief}");
}
