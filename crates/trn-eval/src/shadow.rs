//! How much of a frame is in shadow, read from the image alone.

/// Share of a frame's pixels in shadow: darker than 5 % of its bright level (the 99.5th
/// percentile, where automatic exposure puts lit ground) or than 1 % of `full_scale`,
/// whichever is higher, so that a frame wholly in shadow, whose bright level is only noise,
/// counts as dark. Read from the image alone, so it means the same for real imagery;
/// sampled on every 7th pixel. 0 for an empty image.
///
/// ```
/// use trn_eval::shadow_fraction;
/// // A quarter of the frame black, the rest lit and textured.
/// let px: Vec<f32> = (0..4096).map(|i| if i < 1024 { 0.0 } else { 100.0 + (i % 50) as f32 }).collect();
/// assert!((shadow_fraction(&px, 255.0) - 0.25).abs() < 0.01);
/// // Noise alone is shadow.
/// assert!(shadow_fraction(&[0.0, 1.0, 2.0, 1.0], 255.0) > 0.99);
/// ```
#[must_use]
pub fn shadow_fraction(px: &[f32], full_scale: f32) -> f64 {
    let mut sample: Vec<f32> = px.iter().step_by(7).copied().collect();
    let Some(bright) = trn_flight::stats::sample_quantile(&mut sample, 0.995) else {
        return 0.0;
    };
    let threshold = (0.05 * bright).max(0.01 * full_scale);
    sample.iter().filter(|&&v| v < threshold).count() as f64 / sample.len() as f64
}
