//! `trn demo` and `trn eval` on the shipped descent: the table, the files, and bad input.

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn demo_prints_the_table_and_writes_results() {
    let out = std::env::temp_dir().join(format!("trn-demo-{}", std::process::id()));
    let o = Command::new(env!("CARGO_BIN_EXE_trn"))
        .args(["demo", "--dataset"])
        .arg(repo().join("data/default-descent"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for needle in [
        "frames / fixes",
        "position error, below 10 km",
        "rangefinder faults caught",
        "latency per frame",
    ] {
        assert!(text.contains(needle), "'{needle}' missing:\n{text}");
    }
    let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert!(results.starts_with("frame,status,reason,x_m,y_m,z_m,qw,qx,qy,qz,sigma_x_m,sigma_y_m,sigma_z_m,sigma_att_deg,altitude_m,lrf_status,matched,inliers,latency_ms,pos_err_m,att_err_deg\n"));
    assert_eq!(results.lines().count(), 61);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["format"], "trn-results/1");
    assert_eq!(summary["frames"], 60);
    // The report re-renders from rows.json and the dataset.
    std::fs::remove_file(out.join("report.html")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_trn"))
        .args(["report"])
        .arg(&out)
        .arg("--dataset")
        .arg(repo().join("data/default-descent"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("report.html").exists());
    // The report and its plots (PNG signatures, not empty).
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for png in [
        "error.png",
        "trajectory.png",
        "altitude.png",
        "latency.png",
        "frame.png",
    ] {
        assert!(html.contains(png), "{png} not referenced");
        let b = std::fs::read(out.join(png)).unwrap();
        assert!(b.len() > 10_000 && b.starts_with(b"\x89PNG"), "{png}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// A copy of the shipped dataset with frames.csv edited.
fn edited(name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let src = repo().join("data/default-descent");
    let dst = std::env::temp_dir().join(format!("trn-cli-ds-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dst);
    for sub in ["images", "map"] {
        std::fs::create_dir_all(dst.join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dst.join(sub).join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(src.join("dataset.json"), dst.join("dataset.json")).unwrap();
    let text = std::fs::read_to_string(src.join("frames.csv")).unwrap();
    std::fs::write(dst.join("frames.csv"), edit(&text)).unwrap();
    dst
}

#[test]
fn eval_names_bad_datasets_and_writes_nothing() {
    let out = std::env::temp_dir().join(format!("trn-cli-bad-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let cases: Vec<(PathBuf, Vec<&str>)> = vec![
        (
            edited("col", |t| t.replacen(",prior_qz,", ",prior_q_z,", 1)),
            vec!["frames.csv", "missing column 'prior_qz'"],
        ),
        (
            // The prior of frame 3 (line 5) 40 km east: off the 20 km map.
            edited("far", |t| {
                t.lines()
                    .enumerate()
                    .map(|(i, l)| {
                        if i == 4 {
                            let mut c: Vec<String> = l.split(',').map(String::from).collect();
                            c[12] = "40000.0".into();
                            c.join(",")
                        } else {
                            l.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            vec![
                "frames.csv",
                "line 5",
                "prior_x_m",
                "does not cover the trajectory",
            ],
        ),
    ];
    for (ds, needles) in cases {
        let o = Command::new(env!("CARGO_BIN_EXE_trn"))
            .arg("eval")
            .arg(&ds)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        for n in needles {
            assert!(err.contains(n), "'{n}' not in: {err}");
        }
        assert!(!out.exists(), "output written despite the error");
        let _ = std::fs::remove_dir_all(&ds);
    }
}

#[test]
fn eval_refuses_a_missing_dataset_with_exit_code_2() {
    let o = Command::new(env!("CARGO_BIN_EXE_trn"))
        .args(["eval", "/nonexistent/ds", "--out", "/tmp/never"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/ds/dataset.json"));
    assert!(!std::path::Path::new("/tmp/never").exists());
}

/// A dataset whose declared sizes need more memory than allowed is refused at once, naming
/// the estimate and the limit, and nothing is written.
#[test]
fn eval_refuses_a_dataset_larger_than_its_memory_limit() {
    let out = std::env::temp_dir().join(format!("trn-eval-mem-{}", std::process::id()));
    let o = Command::new(env!("CARGO_BIN_EXE_trn"))
        .arg("eval")
        .arg(repo().join("data/default-descent"))
        .args(["--max-memory-gb", "0.1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for n in [
        "60 frames of 512 x 512 pixels",
        "needs about",
        "0.1 GiB allowed",
    ] {
        assert!(err.contains(n), "'{n}' not in: {err}");
    }
    assert!(!out.exists());
}
