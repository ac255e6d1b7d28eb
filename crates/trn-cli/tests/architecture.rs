//! The workspace's dependency graph points one way (DESIGN.md): the CLI on top; the
//! evaluation on the runtime, the dataset formats, the map builder (and the simulator if it
//! needs it); the runtime on trn-flight alone; trn-flight on no crate of the workspace. Read
//! from `cargo metadata`, so a new dependency that breaks the shape fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each workspace package's normal (not dev or build) dependencies within the workspace.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = m["packages"].as_array().expect("packages");
    let names: BTreeSet<String> = packages
        .iter()
        .filter_map(|p| p["name"].as_str().map(String::from))
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .filter(|n| names.contains(*n))
                .map(String::from)
                .collect();
            (p["name"].as_str().expect("name").to_string(), deps)
        })
        .collect()
}

#[test]
fn dependencies_point_one_way() {
    let g = graph();
    let deps = |p: &str| g.get(p).unwrap_or_else(|| panic!("no package {p}"));
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert!(
        deps("trn-flight").is_empty(),
        "trn-flight: {:?}",
        deps("trn-flight")
    );
    assert_eq!(deps("trn"), &set(&["trn-flight"]), "the runtime");
    assert_eq!(deps("trn-dataset"), &set(&["trn-flight"]), "the formats");
    assert!(
        deps("trn-map").is_subset(&set(&["trn-flight", "trn-dataset"])),
        "trn-map: {:?}",
        deps("trn-map")
    );
    assert!(
        deps("trn-sim").is_subset(&set(&["trn-flight", "trn-dataset", "trn-map"])),
        "trn-sim: {:?}",
        deps("trn-sim")
    );
    assert!(
        deps("trn-eval").is_subset(&set(&[
            "trn-flight",
            "trn",
            "trn-dataset",
            "trn-map",
            "trn-sim"
        ])),
        "trn-eval: {:?}",
        deps("trn-eval")
    );
    // Only the evaluation and the CLI (a binary) may use the simulator.
    for (p, d) in &g {
        if d.contains("trn-sim") {
            assert!(p == "trn-eval" || p == "trn-cli", "{p} depends on trn-sim");
        }
    }
    // Nothing depends on the CLI, and the graph has no cycle (a topological order exists).
    assert!(g.values().all(|d| !d.contains("trn-cli")));
    let mut done: BTreeSet<&str> = BTreeSet::new();
    while done.len() < g.len() {
        let next: Vec<&str> = g
            .iter()
            .filter(|(p, d)| {
                !done.contains(p.as_str()) && d.iter().all(|x| done.contains(x.as_str()))
            })
            .map(|(p, _)| p.as_str())
            .collect();
        assert!(
            !next.is_empty(),
            "a dependency cycle among {:?}",
            g.keys()
                .filter(|p| !done.contains(p.as_str()))
                .collect::<Vec<_>>()
        );
        done.extend(next);
    }
}
