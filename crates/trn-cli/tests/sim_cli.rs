//! `trn sim`: the shipped data regenerates bit for bit, `--help` documents every option, and
//! bad input is refused with exit code 2 and a message naming it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn trn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trn"))
        .args(args)
        .output()
        .expect("run trn")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn shipped_data_regenerates_bit_for_bit() {
    let shipped = repo().join("data/default-descent");
    let out = std::env::temp_dir().join(format!("trn-regen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = Command::new("bash")
        .arg(repo().join("data/regenerate.sh"))
        .arg(&out)
        .env("TRN", env!("CARGO_BIN_EXE_trn"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (files(&shipped), files(&out));
    assert_eq!(a, b, "file lists differ");
    for f in &a {
        let (x, y) = (
            std::fs::read(shipped.join(f)).unwrap(),
            std::fs::read(out.join(f)).unwrap(),
        );
        assert!(
            x == y,
            "{} differs from a fresh regeneration: the generator changed; run `bash data/regenerate.sh` and review",
            f.display()
        );
    }
    // SHA256SUMS lists exactly the shipped files.
    let sums = std::fs::read_to_string(repo().join("data/SHA256SUMS")).unwrap();
    let mut listed: Vec<PathBuf> = sums
        .lines()
        .map(|l| {
            PathBuf::from(
                l.split_whitespace()
                    .nth(1)
                    .unwrap()
                    .trim_start_matches("./"),
            )
        })
        .collect();
    listed.sort();
    assert_eq!(listed, a);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn help_documents_every_option_with_units() {
    for (sub, needles) in [
        (
            "site",
            &[
                "--seed",
                "--size-m",
                "metres",
                "--gsd-m",
                "--hurst",
                "--crater-density",
                "--sun-el-deg",
                "degrees",
                "--projection",
                "--albedo",
                "--albedo-pixel-m",
                "--ortho-law",
            ][..],
        ),
        (
            "descent",
            &[
                "--site",
                "--frames",
                "--start-alt-m",
                "--fov-deg",
                "--bits",
                "--lrf-fault",
                "stuck@",
                "--prior-sigma-m",
                "--sun-az-deg",
                "metres",
                "seconds",
                "--prior-model",
                "--prior-mix-fraction",
                "--frame-law",
                "--map-offset-sigma-m",
                "--map-rotation-sigma-deg",
                "--map-scale-sigma",
                "--map-warp-rms-m",
                "--map-misregister",
                "--map-sun-az-offset-deg",
                "--map-sun-el-offset-deg",
                "--map-law",
                "--map-dem-decimation",
                "--map-dem-noise-rms-m",
                "--hot-pixel-fraction",
                "--column-offset-rms-dn",
                "--jpeg-quality",
                "--smear-px",
                "--saturation-fraction",
                "digital numbers",
            ][..],
        ),
        (
            "campaign",
            &[
                "--realism",
                "--realism-knob",
                "--albedo",
                "--albedo-pixel-m",
            ][..],
        ),
        (
            "faults",
            &[
                "--dataset",
                "--first",
                "--every",
                "faults.json",
                "fault_table.py",
            ][..],
        ),
    ] {
        let o = trn(&["sim", sub, "--help"]);
        let h = String::from_utf8_lossy(&o.stdout);
        for n in needles {
            assert!(h.contains(n), "`trn sim {sub} --help` lacks '{n}'");
        }
    }
}

fn refused(args: &[&str], needles: &[&str]) {
    let o = trn(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: '{n}' not in: {err}");
    }
}

#[test]
fn bad_input_is_refused_with_exit_code_2() {
    let tmp = std::env::temp_dir().join(format!("trn-sim-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let out = tmp.join("ds");
    let o = out.to_str().unwrap();
    refused(
        &["sim", "descent", "--site", "/nonexistent/site", "-o", o],
        &["/nonexistent/site/site.json"],
    );
    let site = tmp.join("site");
    let s = trn(&[
        "sim",
        "site",
        "--size-m",
        "1000",
        "--gsd-m",
        "10",
        "-o",
        site.to_str().unwrap(),
    ]);
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let st = site.to_str().unwrap();
    refused(
        &[
            "sim",
            "descent",
            "--site",
            st,
            "--lrf-fault",
            "stuck@9-3",
            "-o",
            o,
        ],
        &["stuck@9-3", "range ends before it starts"],
    );
    refused(
        &[
            "sim",
            "descent",
            "--site",
            st,
            "--lrf-fault",
            "melt@3",
            "-o",
            o,
        ],
        &["melt@3"],
    );
    refused(
        &["sim", "descent", "--site", st, "--frames", "1", "-o", o],
        &["frames"],
    );
    refused(
        &[
            "sim",
            "descent",
            "--site",
            st,
            "--sun-az-deg",
            "10",
            "-o",
            o,
        ],
        &["--sun-el-deg"],
    );
    refused(
        &["sim", "site", "--size-m", "50", "--gsd-m", "10", "-o", o],
        &["size"],
    );
    refused(&["sim", "site", "--hurst", "1.5", "-o", o], &["--hurst"]);
    // Realism options out of range are refused naming the option and the value.
    for (opt, value) in [
        ("--jpeg-quality", "0"),
        ("--hot-pixel-fraction", "1.5"),
        ("--saturation-fraction", "0.7"),
        ("--smear-px", "-2"),
        ("--map-dem-decimation", "0"),
        ("--map-offset-sigma-m", "-1"),
        ("--prior-mix-fraction", "2"),
    ] {
        let arg = format!("{opt}={value}");
        let mut args = vec!["sim", "descent", "--site", st, &arg, "-o", o];
        if opt == "--prior-mix-fraction" {
            args.extend(["--prior-model", "mix"]);
        }
        refused(&args, &[opt, value]);
    }
    // An existing non-empty output is not overwritten.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep"), "x").unwrap();
    refused(
        &["sim", "descent", "--site", st, "--frames", "2", "-o", o],
        &["is not empty", "dataset.json"],
    );
    assert!(out.join("keep").exists());
    // Sizes are refused before anything is allocated or written.
    let fresh = tmp.join("fresh");
    let f = fresh.to_str().unwrap();
    refused(
        &[
            "sim",
            "descent",
            "--site",
            st,
            "--image-px",
            "100000",
            "-o",
            f,
        ],
        &["--image-px 100000", "16384"],
    );
    refused(
        &[
            "sim",
            "descent",
            "--site",
            st,
            "--frames",
            "1000000000",
            "-o",
            f,
        ],
        &["--frames 1000000000", "100000"],
    );
    refused(
        &[
            "sim",
            "descent",
            "--site",
            st,
            "--image-px",
            "16384",
            "--max-memory-gb",
            "1",
            "-o",
            f,
        ],
        &["memory", "GiB", "--max-memory-gb"],
    );
    refused(
        &[
            "sim",
            "site",
            "--size-m",
            "40000",
            "--gsd-m",
            "2",
            "--max-memory-gb",
            "4",
            "-o",
            f,
        ],
        &[
            "a site of 40000 m at 2 m",
            "needs about 15.0 GiB",
            "4.0 GiB",
        ],
    );
    refused(
        &["sim", "site", "--max-memory-gb", "0", "-o", f],
        &["--max-memory-gb", "positive"],
    );
    assert!(!fresh.exists());
    let _ = std::fs::remove_dir_all(&tmp);
}
