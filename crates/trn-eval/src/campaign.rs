//! Campaigns: many datasets evaluated in shards (every dataset whose index is `k` modulo
//! `n`, so shards run on separate machines), and the shards merged into one output.

use crate::error::EvalError;
use crate::options::EvalOptions;
use crate::output::{write_json, write_results, write_summary};
use crate::run::evaluate;
use crate::summary::summarise;
use std::path::{Path, PathBuf};
use trn_dataset::DatasetError;
use trn_dataset::results::read_rows;
use trn_dataset::summary::{ShardJson, Summary};

/// Runs shard `k` of `n` of the campaign in `dir` (every dataset whose index is `k` modulo
/// `n`) into `out`: `out/<dataset>/` per dataset, `out/summary.json` over all their frames,
/// `out/shard.json`. `progress(dataset, done, total)`.
///
/// # Errors
///
/// As [`evaluate`]; [`EvalError::Invalid`] for a bad shard.
pub fn evaluate_campaign(
    dir: &Path,
    datasets: &[String],
    shard: (usize, usize),
    opts: &EvalOptions,
    out: &Path,
    progress: &dyn Fn(&str, usize, usize),
) -> Result<Summary, EvalError> {
    let (k, n) = shard;
    if n == 0 || k >= n {
        return Err(EvalError::Invalid(format!(
            "--shard {k}/{n}: need 0 <= K < N"
        )));
    }
    let mine: Vec<&String> = datasets
        .iter()
        .enumerate()
        .filter(|(i, _)| i % n == k)
        .map(|(_, d)| d)
        .collect();
    let mut all = Vec::new();
    for (i, name) in mine.iter().enumerate() {
        let ds_dir = trn_dataset::input::inside(
            dir,
            name,
            &dir.join("campaign.json"),
            "datasets",
            opts.read.allow_outside_paths,
        )?;
        let ev = evaluate(&ds_dir, opts, &|_, _, _| {})?;
        write_results(&out.join(name.as_str()), &ev.rows, &ev.summary)?;
        all.extend(ev.rows);
        progress(name, i + 1, mine.len());
    }
    let summary = summarise(&all);
    write_summary(out, &all, &summary)?;
    write_json(
        &out.join("shard.json"),
        &ShardJson {
            shard: [k, n],
            datasets: mine.into_iter().cloned().collect(),
        },
    )?;
    Ok(summary)
}

/// Merges shard outputs into `out`: the per-dataset directories copied, `summary.json` over
/// all frames in dataset-name order (the campaign's order), `shard.json` listing them all.
///
/// # Errors
///
/// [`EvalError::Invalid`] when a directory is not a shard output or two shards hold the
/// same dataset; [`EvalError::Dataset`] for files that cannot be read or written,
/// [`EvalError::Io`] for directories that cannot be made.
pub fn merge(shards: &[PathBuf], out: &Path) -> Result<Summary, EvalError> {
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    for s in shards {
        let path = s.join("shard.json");
        let text = std::fs::read_to_string(&path).map_err(|e| DatasetError::io(&path, e))?;
        let sj: ShardJson = serde_json::from_str(&text)
            .map_err(|e| EvalError::Invalid(format!("{}: {e}", path.display())))?;
        for d in sj.datasets {
            if names.iter().any(|(n, _)| *n == d) {
                return Err(EvalError::Invalid(format!(
                    "dataset {d} appears in two shards ({})",
                    s.display()
                )));
            }
            names.push((d, s.clone()));
        }
    }
    names.sort();
    let mut all = Vec::new();
    for (name, src) in &names {
        let (from, to) = (src.join(name), out.join(name));
        std::fs::create_dir_all(&to).map_err(EvalError::io(&to))?;
        let read = |e| DatasetError::io(&from, e);
        for e in std::fs::read_dir(&from).map_err(read)? {
            let p = e.map_err(read)?.path();
            if p.is_file() {
                let dst = to.join(p.file_name().unwrap_or_default());
                std::fs::copy(&p, &dst).map_err(|e| DatasetError::write(&dst, e))?;
            }
        }
        all.extend(read_rows(&from)?);
    }
    let summary = summarise(&all);
    write_summary(out, &all, &summary)?;
    write_json(
        &out.join("shard.json"),
        &ShardJson {
            shard: [0, 1],
            datasets: names.into_iter().map(|(n, _)| n).collect(),
        },
    )?;
    Ok(summary)
}
