//! Campaigns: `trn sim campaign`, `trn eval --shard K/N`, `trn eval merge`; merged shards
//! equal the unsharded run (everything but wall-clock latency).

use std::path::Path;
use std::process::Command;

fn trn(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_trn"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A CSV without its latency column.
fn without_latency(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let k = header.iter().position(|c| *c == "latency_ms").unwrap();
    text.lines()
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|(i, _)| *i != k)
                .map(|(_, c)| c)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn summary_without_latency(path: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("latency_ms");
    v
}

#[test]
fn merged_shards_equal_the_unsharded_run() {
    let root = std::env::temp_dir().join(format!("trn-campaign-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let s = |p: &str| root.join(p).to_str().unwrap().to_string();
    trn(&[
        "sim",
        "campaign",
        "--n",
        "3",
        "--seed",
        "5",
        "--size-m",
        "6000",
        "--gsd-m",
        "12",
        "--frames",
        "4",
        "--image-px",
        "192",
        "-o",
        &s("c"),
    ]);
    trn(&["eval", &s("c"), "--out", &s("all")]);
    trn(&["eval", &s("c"), "--out", &s("s0"), "--shard", "0/2"]);
    trn(&["eval", &s("c"), "--out", &s("s1"), "--shard", "1/2"]);
    trn(&["eval", "merge", &s("s0"), &s("s1"), "--out", &s("merged")]);
    let all = root.join("all");
    let merged = root.join("merged");
    assert_eq!(
        summary_without_latency(&all.join("summary.json")),
        summary_without_latency(&merged.join("summary.json"))
    );
    // The band tables over the campaign: merged as unsharded, every frame counted once.
    for t in ["altitude_bands.csv", "sun_bands.csv", "shadow_bands.csv"] {
        assert_eq!(
            std::fs::read_to_string(all.join(t)).unwrap(),
            std::fs::read_to_string(merged.join(t)).unwrap(),
            "{t}"
        );
    }
    let frames = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(all.join("summary.json")).unwrap(),
    )
    .unwrap()["frames"]
        .as_u64()
        .unwrap();
    // Every frame has a true altitude and a shadow fraction: each table counts them all.
    for t in ["altitude_bands.csv", "shadow_bands.csv"] {
        let bands = std::fs::read_to_string(all.join(t)).unwrap();
        let counted: usize = bands
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(2).unwrap().parse::<usize>().unwrap())
            .sum();
        assert_eq!(counted as u64, frames, "{t}");
    }
    for d in ["descent-000", "descent-001", "descent-002"] {
        assert_eq!(
            without_latency(&all.join(d).join("results.csv")),
            without_latency(&merged.join(d).join("results.csv")),
            "{d}"
        );
    }
    let shard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("shard.json")).unwrap()).unwrap();
    assert_eq!(shard["datasets"].as_array().unwrap().len(), 3);
    // A dataset in two shards is refused.
    let o = Command::new(env!("CARGO_BIN_EXE_trn"))
        .args(["eval", "merge", &s("s0"), &s("s0"), "--out", &s("bad")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("appears in two shards"));
    let _ = std::fs::remove_dir_all(&root);
}
