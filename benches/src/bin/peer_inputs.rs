//! Writes the peer comparison's inputs and times trn on exactly those inputs.
//!
//! Usage: `peer_inputs OUT_DIR` (normally run by `benches/peers/compare.py`). Writes raw
//! little-endian f64/f32 arrays plus `manifest.json` describing them, and `trn.json` with
//! trn's timings and errors on the same data. Timings are medians over batches, one thread.

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trn_benches::{FOCAL_PX, ncc_case, p3p_problems, pose_scene};
use trn_flight::ncc::{NccConfig, active_kernel, search};
use trn_flight::p3p::p3p;
use trn_flight::robust::{RansacConfig, estimate_pose};
use trn_flight::view::ImageView;

fn main() {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: peer_inputs OUT_DIR");
        std::process::exit(2);
    };
    if let Err(e) = run(&out) {
        eprintln!("peer_inputs: {e}");
        std::process::exit(1);
    }
}

fn write_f64(path: &Path, data: &[f64]) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(data.len() * 8);
    for v in data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes)
}

/// Median of `reps` timings of `f`, in nanoseconds per call of `f`.
fn median_ns(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_nanos() as f64
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn run(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    let mut json = String::from("{\n");

    // P3P: PoseLib's benchmark geometry, 10 000 problems.
    let problems = p3p_problems(10_000, 1);
    let mut flat = Vec::with_capacity(problems.len() * 18);
    for p in &problems {
        for b in p.bearings {
            flat.extend_from_slice(&b.to_array());
        }
        for x in p.points {
            flat.extend_from_slice(&x.to_array());
        }
    }
    write_f64(&out.join("p3p.f64"), &flat)?;
    let batch = || {
        let mut n = 0;
        for p in &problems {
            if let Ok(s) = p3p(black_box(&p.bearings), black_box(&p.points)) {
                n += s.len();
            }
        }
        black_box(n);
    };
    let ns = median_ns(31, batch) / problems.len() as f64;
    writeln!(json, "  \"p3p_ns_per_solve\": {ns:.1},")?;

    // Robust pose: 500 correspondences at 5/30/50 % outliers, 20 scenes each.
    let mut entries = Vec::new();
    for outliers in [0.05, 0.3, 0.5] {
        let pct = (outliers * 100.0) as u32;
        let mut times = Vec::new();
        let mut rot_err = Vec::new();
        let mut pos_err = Vec::new();
        for k in 0..20u64 {
            let s = pose_scene(500, outliers, 3000.0, 1000 + k);
            let mut flat = Vec::with_capacity(500 * 5);
            for (m, w) in s.image.iter().zip(&s.world) {
                flat.extend_from_slice(&[m[0], m[1], w.x, w.y, w.z]);
            }
            write_f64(&out.join(format!("pose_{pct:02}_{k:02}.f64")), &flat)?;
            let (r, t) = s.truth.world_to_camera();
            let mut truth = Vec::new();
            for row in r.rows {
                truth.extend_from_slice(&row.to_array());
            }
            truth.extend_from_slice(&t.to_array());
            write_f64(&out.join(format!("pose_{pct:02}_{k:02}_truth.f64")), &truth)?;

            let cfg = RansacConfig::new(FOCAL_PX);
            let mut mask = vec![false; s.image.len()];
            let mut result = None;
            let ns = median_ns(15, || {
                result = Some(estimate_pose(
                    black_box(&s.image),
                    black_box(&s.world),
                    &mut mask,
                    &cfg,
                ));
            });
            times.push(ns);
            if let Some(Ok(e)) = result {
                rot_err.push(e.pose.attitude.angle_to(s.truth.attitude).to_degrees());
                pos_err.push((e.pose.position - s.truth.position).norm());
            } else {
                rot_err.push(f64::NAN);
                pos_err.push(f64::NAN);
            }
        }
        let med = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        entries.push(format!(
            "    \"{pct}\": {{ \"median_us\": {:.1}, \"median_rot_err_deg\": {:.5}, \"median_pos_err_m\": {:.3} }}",
            med(&mut times) / 1e3,
            med(&mut rot_err),
            med(&mut pos_err)
        ));
    }
    writeln!(
        json,
        "  \"robust_pose\": {{\n{}\n  }},",
        entries.join(",\n")
    )?;
    // NCC: the same textures and templates as the criterion bench.
    let mut ncc = Vec::new();
    for (t, w) in [(21usize, 64usize), (31, 128)] {
        let (tpl, win) = ncc_case(t, w);
        let name = format!("{t}x{t}_in_{w}x{w}");
        let to_bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        std::fs::write(out.join(format!("ncc_{name}_template.f32")), to_bytes(&tpl))?;
        std::fs::write(out.join(format!("ncc_{name}_window.f32")), to_bytes(&win))?;
        let tv = ImageView::packed(&tpl, t, t)?;
        let wv = ImageView::packed(&win, w, w)?;
        let mut scores = vec![0.0; (w - t + 1) * (w - t + 1)];
        let cfg = NccConfig::default();
        let mut peak = None;
        let ns = median_ns(15, || {
            for _ in 0..100 {
                peak = Some(search(black_box(&tv), black_box(&wv), &mut scores, &cfg));
            }
        }) / 100.0;
        let p = peak.ok_or("no search ran")??;
        ncc.push(format!(
            "    {{ \"name\": \"{name}\", \"t\": {t}, \"w\": {w}, \"us\": {:.2}, \"best\": [{}, {}, {:.6}] }}",
            ns / 1e3,
            p.col,
            p.row,
            p.score
        ));
    }
    writeln!(json, "  \"ncc_kernel\": \"{}\",", active_kernel())?;
    writeln!(json, "  \"ncc\": [\n{}\n  ],", ncc.join(",\n"))?;
    writeln!(json, "  \"focal_px\": {FOCAL_PX}")?;
    json.push_str("}\n");
    std::fs::File::create(out.join("trn.json"))?.write_all(json.as_bytes())?;
    println!("{json}");
    Ok(())
}
