//! The prior's error models: independent priors are uncorrelated from frame to frame and
//! drift ones strongly correlated; under every model the declared 1-sigma is the actual
//! 1-sigma of the error (normalised errors of unit variance over many descents).

use trn_flight::{Pose, Quat, Vec3};
use trn_sim::sensors::{InertialPrior, PriorModel, PriorParams};

/// Normalised errors (error / declared sigma) of x position and x attitude at `frames`
/// frames `dt` apart.
fn normalised(model: PriorModel, seed: u64, frames: usize, dt: f64) -> Vec<(f64, f64)> {
    let truth = Pose::new(Vec3::new(100.0, -50.0, 3000.0), Quat::IDENTITY);
    let mut prior = InertialPrior::new(
        PriorParams {
            model,
            ..PriorParams::default()
        },
        seed,
    );
    (0..frames)
        .map(|k| {
            let p = prior.at(k as f64 * dt, &truth);
            let e = p.pose.position - truth.position;
            let r = truth
                .attitude
                .conjugate()
                .mul_quat(p.pose.attitude)
                .to_rotation_vector();
            (e.x / p.sigma_pos_m, r.x.to_degrees() / p.sigma_att_deg)
        })
        .collect()
}

/// Sample correlation of consecutive values.
fn lag1(v: &[f64]) -> f64 {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for w in v.windows(2) {
        num += (w[0] - m) * (w[1] - m);
    }
    for x in v {
        den += (x - m) * (x - m);
    }
    num / den
}

#[test]
fn independent_priors_are_uncorrelated_and_drift_ones_correlated() {
    // 4000 frames 0.5 s apart: the standard error of a lag-1 correlation of independent
    // draws is 1/sqrt(4000) = 0.016, so 0.06 is nearly four of them.
    let n = 4000;
    for (model, lo, hi) in [
        (PriorModel::Independent, -0.06, 0.06),
        (PriorModel::Drift, 0.9, 1.0),
        // Half the variance independent: correlated, less than the drift alone, more than
        // independent draws.
        (
            PriorModel::Mix {
                independent_fraction: 0.5,
            },
            0.1,
            0.9,
        ),
    ] {
        let v = normalised(model, 7, n, 0.5);
        let pos: Vec<f64> = v.iter().map(|e| e.0).collect();
        let att: Vec<f64> = v.iter().map(|e| e.1).collect();
        for (what, x) in [("position", &pos), ("attitude", &att)] {
            let r = lag1(x);
            assert!(
                (lo..=hi).contains(&r),
                "{model:?} {what}: lag-1 correlation {r:.3} outside {lo}..{hi}"
            );
        }
    }
}

#[test]
fn declared_sigmas_are_the_actual_one_sigma_under_every_model() {
    // Over 1500 descents, at frames early and late: the mean square of the normalised error
    // is 1 within 0.12 (its standard error over 1500 draws is sqrt(2/1500) = 0.037).
    for model in [
        PriorModel::Drift,
        PriorModel::Independent,
        PriorModel::Mix {
            independent_fraction: 0.3,
        },
    ] {
        for frame in [0usize, 40, 119] {
            let (mut sp, mut sa) = (0.0, 0.0);
            let runs = 1500;
            for seed in 0..runs {
                let v = normalised(model, 1000 + seed, 120, 4.0);
                sp += v[frame].0 * v[frame].0;
                sa += v[frame].1 * v[frame].1;
            }
            let (vp, va) = (sp / runs as f64, sa / runs as f64);
            assert!(
                (vp - 1.0).abs() < 0.12 && (va - 1.0).abs() < 0.12,
                "{model:?} frame {frame}: normalised variances {vp:.3} (position), {va:.3} (attitude)"
            );
        }
    }
}

#[test]
fn mix_fraction_outside_zero_to_one_is_refused() {
    let e = PriorModel::Mix {
        independent_fraction: 1.5,
    }
    .validate()
    .unwrap_err();
    assert!(e.to_string().contains("--prior-mix-fraction"), "{e}");
}
