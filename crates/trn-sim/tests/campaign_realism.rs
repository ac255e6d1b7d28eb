//! `trn sim campaign --realism`: every descent draws its own knob values, recorded in
//! campaign.json and in each dataset; one knob alone sets only that knob; the truth (the
//! trajectory) is the same as without realism; and without it campaign.json and the
//! datasets carry nothing new.

use std::path::PathBuf;
use trn_dataset::dataset::Dataset;
use trn_sim::campaign::{CampaignSpec, Knobs, generate};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("trn-camp-real-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn spec(realism: Knobs) -> CampaignSpec {
    CampaignSpec {
        n: 3,
        seed: 5,
        size_m: 3000.0,
        gsd_m: 12.0,
        frames: 2,
        image_px: 64,
        fine_ortho: None,
        realism,
    }
}

fn column(ds: &Dataset, f: impl Fn(&trn_dataset::dataset::FrameRow) -> f64) -> Vec<f64> {
    ds.frames.iter().map(f).collect()
}

#[test]
fn realism_draws_per_descent_and_records_it() {
    let (plain_dir, real_dir, one_dir) = (tmp("plain"), tmp("all"), tmp("one"));
    let plain = generate(&plain_dir, &spec(Knobs::default()), &|_, _| {}).unwrap();
    let real = generate(&real_dir, &spec(Knobs::all(false)), &|_, _| {}).unwrap();
    let one = generate(&one_dir, &spec(Knobs::only("dem").unwrap()), &|_, _| {}).unwrap();
    // Without realism nothing new is written.
    assert!(plain.realism.is_none());
    let text = std::fs::read_to_string(plain_dir.join("campaign.json")).unwrap();
    assert!(!text.contains("realism"));
    for d in &plain.datasets {
        assert!(!plain_dir.join(d).join("realism.json").exists());
        let ds = Dataset::read(&plain_dir.join(d)).unwrap();
        assert!(ds.meta.map.registration_sigma_m.is_none());
    }
    // With every knob: each descent has them all, with its own values.
    let r = real.realism.as_ref().unwrap();
    assert_eq!(r.len(), 3);
    let names = [
        "prior",
        "registration",
        "ortho-sun",
        "photometry",
        "dem",
        "defects",
    ];
    for d in r {
        assert_eq!(d.knobs, names);
        for n in names {
            assert!(d.values.get(n).is_some(), "{}: no value for {n}", d.dataset);
        }
        let dir = real_dir.join(&d.dataset);
        assert!(dir.join("realism.json").is_file());
        let ds = Dataset::read(&dir).unwrap();
        assert!(ds.meta.map.registration_sigma_m.unwrap() > 0.0);
    }
    assert_ne!(r[0].values, r[1].values);
    // The truth is that of the same campaign without realism; the priors' errors are
    // redrawn only where the prior knob chose another model.
    for d in &plain.datasets {
        let (a, b) = (
            Dataset::read(&plain_dir.join(d)).unwrap(),
            Dataset::read(&real_dir.join(d)).unwrap(),
        );
        let x = |r: &trn_dataset::dataset::FrameRow| r.truth.unwrap().position.x;
        assert_eq!(column(&a, x), column(&b, x));
        let s = |r: &trn_dataset::dataset::FrameRow| r.prior_sigma_pos_m;
        assert_eq!(column(&a, s), column(&b, s));
    }
    // One knob alone.
    for d in one.realism.as_ref().unwrap() {
        assert_eq!(d.knobs, ["dem"]);
        assert_eq!(d.values.as_object().unwrap().len(), 1);
        let ds = Dataset::read(&one_dir.join(&d.dataset)).unwrap();
        assert!(ds.meta.map.registration_sigma_m.is_none());
    }
    assert!(
        Knobs::only("fog")
            .unwrap_err()
            .to_string()
            .contains("--realism-knob")
    );
    for d in [plain_dir, real_dir, one_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn the_albedo_knob_needs_an_image() {
    let dir = tmp("albedo");
    let e = trn_sim::campaign::generate(&dir, &spec(Knobs::only("albedo").unwrap()), &|_, _| {})
        .unwrap_err();
    assert!(e.to_string().contains("--albedo"), "{e}");
}
