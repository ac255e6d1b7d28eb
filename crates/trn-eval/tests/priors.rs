//! Priors whose error is independent from frame to frame (a state uplinked from the ground,
//! another sensor, a dataset made with independent noise) cost no availability: the
//! shipped descent's frames above 100 m, navigated from such priors with honest sigmas, all
//! get fixes within their sigmas, as they do from the shipped drifting priors.

mod common;

use common::{derived, outside};
use std::path::Path;
use trn::FixStatus;
use trn_dataset::dataset::Dataset;
use trn_eval::{EvalOptions, evaluate};
use trn_flight::linalg::{Quat, Vec3};
use trn_flight::pose::Pose;
use trn_flight::rng::Pcg32;

/// A copy of the shipped descent in `out` whose priors are the truth plus independent
/// Gaussian errors: `sigma_m` per position axis and the shipped attitude sigma per attitude
/// axis, declared as they are.
fn with_independent_priors(out: &Path, sigma_m: f64, seed: u64) -> Dataset {
    derived(out, |ds| {
        let mut rng = Pcg32::new(seed, 1);
        for f in &mut ds.frames {
            let truth = f.truth.unwrap();
            let mut g = |s: f64| Vec3::new(s * rng.normal(), s * rng.normal(), s * rng.normal());
            let dp = g(sigma_m);
            let dq = Quat::from_rotation_vector(g(f.prior_sigma_att_deg.to_radians()));
            f.prior = Pose::new(truth.position + dp, truth.attitude.mul_quat(dq));
            f.prior_sigma_pos_m = sigma_m;
        }
    })
}

#[test]
fn independent_priors_cost_no_availability() {
    let out = std::env::temp_dir().join(format!("trn-independent-priors-{}", std::process::id()));
    let ds = with_independent_priors(&out, 30.0, 20_261_207);
    // The errors drawn are independent: the lag-1 correlation of each axis is small.
    let errors: Vec<Vec3> = ds
        .frames
        .iter()
        .map(|f| f.prior.position - f.truth.unwrap().position)
        .collect();
    for axis in 0..3 {
        let c = |v: &Vec3| [v.x, v.y, v.z][axis];
        let (mut num, mut den) = (0.0, 0.0);
        for w in errors.windows(2) {
            num += c(&w[0]) * c(&w[1]);
            den += c(&w[0]) * c(&w[0]);
        }
        assert!((num / den).abs() < 0.4, "axis {axis}: lag-1 {}", num / den);
    }
    let opts = EvalOptions {
        read: outside(),
        ..EvalOptions::default()
    };
    let ev = evaluate(&out, &opts, &|_, _, _| {}).unwrap();
    std::fs::remove_dir_all(&out).ok();
    // Above 100 m every frame is fixed, from the map or by tracking. Below it the shipped
    // frames see less ground than 3 sigma of such a prior, so neither the map nor the
    // registration of tracking (which searches shifts up to 3/8 of the frame around the
    // prior) can place them; a prior independent from frame to frame at that altitude
    // needs a motion estimate from the fixes themselves (not built).
    for (k, r) in ev.rows.iter().enumerate() {
        let alt = r.true_altitude_m.unwrap();
        if alt > 100.0 {
            assert_eq!(r.status, FixStatus::Fix, "frame {k} at {alt:.0} m");
        }
    }
    assert_eq!(ev.summary.outside_3sigma, 0);
    assert_eq!(ev.summary.lrf.false_alarms, 0);
}
