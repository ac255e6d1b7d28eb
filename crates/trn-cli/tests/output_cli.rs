//! An output directory is whole or absent: `trn eval` killed at each step of writing its
//! results (SIGKILL, SIGINT, SIGTERM) leaves the previous output as it was; a second run on
//! one output fails at once naming the first; a directory that is not an output is never
//! replaced.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn eval(out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trn"));
    c.arg("eval")
        .arg(repo().join("data/default-descent"))
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// results.csv without its latency column (the only one that differs between runs).
fn results_without_latency(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|c| *c == "latency_ms").unwrap();
    text.lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(col);
            cells.join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits until `path` exists (the child writing its output has reached that step), or the
/// child has ended; true if it exists.
fn wait_for(child: &mut Child, path: &Path) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(300) {
        if path.exists() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("{} never appeared", path.display());
}

/// Sends `sig` to the child; false when it had already ended.
fn signal(child: &mut Child, sig: &str) -> bool {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok || child.try_wait().unwrap().is_some(), "kill -{sig}");
    ok
}

#[test]
fn an_interrupted_run_leaves_the_previous_output_whole() {
    let root = std::env::temp_dir().join(format!("trn-output-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let out = root.join("out");
    let o = eval(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let files = names(&out);
    let results = results_without_latency(&out);
    assert!(files.contains(&"report.html".to_string()), "{files:?}");

    // Interrupted at each step of writing (and once while navigating), by each signal.
    let steps = [
        ("INT", None),
        ("KILL", Some("results.csv")),
        ("TERM", Some("summary.json")),
        ("KILL", Some("error.png")),
        ("INT", Some("frame.png")),
    ];
    for (sig, step) in steps {
        let mut child = eval(&out).spawn().unwrap();
        let staging = root.join(format!(".out.partial-{}", child.id()));
        let reached = wait_for(&mut child, &staging.join(step.unwrap_or("")));
        if step.is_none() {
            // Navigating: the staging directory exists and holds nothing yet.
            std::thread::sleep(Duration::from_millis(300));
        }
        let delivered = signal(&mut child, sig);
        let status = child.wait().unwrap();
        // The output is the previous one or, if the run finished first, a whole new one.
        assert_eq!(names(&out), files, "{sig} at {step:?}");
        assert_eq!(results_without_latency(&out), results, "{sig} at {step:?}");
        if reached && delivered && sig != "KILL" {
            // Interrupted, or (a signal during the final swap waits for it) done.
            assert!(
                status.code() == Some(130) || status.success(),
                "{sig} at {step:?}: {status}"
            );
            // The handler removed its staging directory and its lock.
            assert_eq!(names(&root), ["out"], "{sig} at {step:?}");
        }
    }
    // A run after a killed one cleans what the dead one left and replaces the output.
    let o = eval(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(names(&root), ["out"]);
    assert_eq!(names(&out), files);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_second_run_on_one_output_fails_at_once_naming_the_first() {
    let root = std::env::temp_dir().join(format!("trn-output-busy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let out = root.join("out");
    let mut first = eval(&out).spawn().unwrap();
    let lock = root.join(".out.lock");
    let staging = root.join(format!(".out.partial-{}", first.id()));
    assert!(wait_for(&mut first, &staging));
    let t0 = Instant::now();
    let o = eval(&out).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("in use by process {}", first.id())),
        "{err}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "waited for the first"
    );
    assert!(lock.exists());
    assert!(first.wait().unwrap().success());
    assert_eq!(names(&root), ["out"]);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_directory_that_is_not_an_output_is_refused() {
    let root = std::env::temp_dir().join(format!("trn-output-foreign-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("notes.txt"), "mine").unwrap();
    let o = eval(&root).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("summary.json") && err.contains(&*root.to_string_lossy()),
        "{err}"
    );
    assert_eq!(names(&root), ["notes.txt"]);
    std::fs::remove_dir_all(&root).unwrap();
}
