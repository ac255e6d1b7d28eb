//! Camera and data faults made into datasets: a copy of a dataset in which chosen frames are
//! shifted (a readout or boresight error), scaled, blurred or replaced by a neighbour's
//! image (a time-tag error), or whose stated focal length is wrong. Each copy records its
//! fault and the frames it touched in `faults.json`, and a set of them is a campaign that
//! `trn eval` runs whole. See docs/FAULTS.md for the campaign and its table.

use crate::error::SimError;
use serde::{Deserialize, Serialize};
use std::path::Path;
use trn_dataset::dataset::{Dataset, ReadOptions, frames_csv};
use trn_dataset::image::{read_frame, write_png};
use trn_dataset::output_dir::OutputDir;

/// The format tag of `faults.json`.
pub const FORMAT: &str = "trn-faults/1";

/// A fault of the camera or of its data.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// The image moved by `dx_px` columns (dark where it came from).
    Shift {
        /// Columns, pixels.
        dx_px: f64,
    },
    /// The image scaled by `factor` about its centre.
    Scale {
        /// Scale factor.
        factor: f64,
    },
    /// The image blurred by a Gaussian of `sigma_px`.
    Blur {
        /// 1-sigma, pixels.
        sigma_px: f64,
    },
    /// The frame carries the image of the frame `offset` rows later (negative: earlier).
    TimeTag {
        /// Rows of frames.csv.
        offset: i64,
    },
    /// The dataset states focal lengths `1 + error` times the true ones (every frame).
    Focal {
        /// Relative error.
        error: f64,
    },
}

impl Fault {
    /// A short name for directories and tables (`shift-5px`, `focal+1.0pct`, ...).
    #[must_use]
    pub fn name(&self) -> String {
        match *self {
            Self::Shift { dx_px } => format!("shift-{dx_px}px"),
            Self::Scale { factor } => format!("scale-{factor}"),
            Self::Blur { sigma_px } => format!("blur-{sigma_px}px"),
            Self::TimeTag { offset } => format!("time-tag{offset:+}"),
            Self::Focal { error } => format!("focal{:+.1}pct", 100.0 * error),
        }
    }

    /// Whether it touches every frame (a wrong stated focal length) rather than chosen ones.
    #[must_use]
    pub fn whole_dataset(&self) -> bool {
        matches!(self, Self::Focal { .. })
    }
}

/// The faults of the standard fault campaign (issue 19's list): shifts of 2 to 50 pixels,
/// scales of 0.97 and 1.03, a 2-pixel blur, the next and the previous frame's image, and
/// focal lengths wrong by 0.3, 1 and 3 %.
#[must_use]
pub fn standard() -> Vec<Fault> {
    let mut v: Vec<Fault> = [2.0, 5.0, 20.0, 50.0]
        .into_iter()
        .map(|dx_px| Fault::Shift { dx_px })
        .collect();
    v.extend([0.97, 1.03].map(|factor| Fault::Scale { factor }));
    v.push(Fault::Blur { sigma_px: 2.0 });
    v.extend([1, -1].map(|offset| Fault::TimeTag { offset }));
    v.extend([0.003, 0.01, 0.03].map(|error| Fault::Focal { error }));
    v
}

/// `faults.json` of a fault dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultsJson {
    /// Always [`FORMAT`].
    pub format: String,
    /// The fault.
    pub fault: Fault,
    /// The frame ids it touched.
    pub frames: Vec<u64>,
}

/// Writes to `out` a copy of the dataset in `src` with `fault` applied to the frames whose
/// row index is `first + k * every` (every frame for a whole-dataset fault), and its
/// `faults.json`. Untouched files are hard-linked where the file system allows (copied
/// otherwise). Returns what it wrote in `faults.json`.
///
/// # Errors
///
/// [`SimError`] for a dataset that cannot be read, an `every` of 0, a fault out of range
/// (a scale or blur that is not positive), or a file that cannot be written.
pub fn write_fault_dataset(
    src: &Path,
    fault: Fault,
    first: usize,
    every: usize,
    out: &Path,
) -> Result<FaultsJson, SimError> {
    if every == 0 {
        return Err(SimError::invalid("every", "0 (at least 1)"));
    }
    match fault {
        Fault::Scale { factor: v } | Fault::Blur { sigma_px: v } if !(v > 0.0 && v.is_finite()) => {
            return Err(SimError::invalid(
                fault.name(),
                "must be positive and finite",
            ));
        }
        Fault::Shift { dx_px: v } | Fault::Focal { error: v } if !v.is_finite() => {
            return Err(SimError::invalid(fault.name(), "must be finite"));
        }
        _ => {}
    }
    let ds = Dataset::read_with(src, ReadOptions::default())?;
    let staged = OutputDir::create(out, "faults.json")?;
    let dir = staged.path();
    let mut meta = ds.meta.clone();
    for p in std::iter::once(&meta.map.dem).chain(meta.map.ortho.as_ref()) {
        link_or_copy(&src.join(p), &dir.join(p))?;
    }
    let n = ds.frames.len();
    let touched: Vec<usize> = if fault.whole_dataset() {
        (0..n).collect()
    } else {
        // A time-tag error needs a neighbour: frames without one are left clean.
        (first..n)
            .step_by(every)
            .filter(|&k| !matches!(fault, Fault::TimeTag { .. }) || source_frame(fault, k, n) != k)
            .collect()
    };
    for (k, f) in ds.frames.iter().enumerate() {
        let to = dir.join(&f.image);
        let hit = !fault.whole_dataset() && touched.contains(&k);
        if hit {
            write_faulty_frame(&ds, k, fault, &to)?;
        } else {
            link_or_copy(&src.join(&f.image), &to)?;
        }
    }
    if let Fault::Focal { error } = fault {
        meta.camera.fx *= 1.0 + error;
        meta.camera.fy *= 1.0 + error;
    }
    meta.name = format!("{}-{}", meta.name, fault.name());
    let json = serde_json::to_string_pretty(&meta)
        .map_err(|e| SimError::invalid("dataset.json", e.to_string()))?;
    trn_dataset::atomic::write_atomic(&dir.join("dataset.json"), (json + "\n").as_bytes())?;
    trn_dataset::atomic::write_atomic(&dir.join(&meta.frames), frames_csv(&ds.frames).as_bytes())?;
    let record = FaultsJson {
        format: FORMAT.into(),
        fault,
        frames: touched
            .iter()
            .filter_map(|k| ds.frames.get(*k).map(|f| f.frame))
            .collect(),
    };
    let json = serde_json::to_string_pretty(&record)
        .map_err(|e| SimError::invalid("faults.json", e.to_string()))?;
    trn_dataset::atomic::write_atomic(&dir.join("faults.json"), (json + "\n").as_bytes())?;
    staged.commit()?;
    Ok(record)
}

/// Frame `k` of `ds` with `fault` applied, written as a PNG of the frame's own bit depth.
fn write_faulty_frame(ds: &Dataset, k: usize, fault: Fault, to: &Path) -> Result<(), SimError> {
    let source = source_frame(fault, k, ds.frames.len());
    let Some(row) = ds.frames.get(source) else {
        return Err(SimError::invalid(
            "frame",
            format!("{source} of {}", ds.frames.len()),
        ));
    };
    let path = ds.dir.join(&row.image);
    let img = read_frame(&path)?;
    let (w, h) = (img.width, img.height);
    let px = &img.pixels;
    let at = |x: f64, y: f64| -> f32 {
        // Bilinear, dark outside the image.
        if !(x >= 0.0 && y >= 0.0 && x <= (w - 1) as f64 && y <= (h - 1) as f64) {
            return 0.0;
        }
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32);
        let v = |xx: usize, yy: usize| px[yy * w + xx];
        (v(x0, y0) * (1.0 - fx) + v(x1, y0) * fx) * (1.0 - fy)
            + (v(x0, y1) * (1.0 - fx) + v(x1, y1) * fx) * fy
    };
    let (cx, cy) = (0.5 * (w as f64 - 1.0), 0.5 * (h as f64 - 1.0));
    let mut out: Vec<f32> = match fault {
        Fault::Shift { dx_px } => (0..w * h)
            .map(|i| at((i % w) as f64 - dx_px, (i / w) as f64))
            .collect(),
        Fault::Scale { factor } => (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64, (i / w) as f64);
                at(cx + (x - cx) / factor, cy + (y - cy) / factor)
            })
            .collect(),
        _ => px.clone(),
    };
    if let Fault::Blur { sigma_px } = fault {
        crate::camera_render::blur(&mut out, w, h, sigma_px);
    }
    let bits = (f64::from(img.full_scale) + 1.0)
        .log2()
        .round()
        .clamp(1.0, 16.0) as u32;
    let top = f32::from(u16::MAX).min(img.full_scale);
    let dn: Vec<u16> = out
        .iter()
        .map(|v| v.round().clamp(0.0, top) as u16)
        .collect();
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| SimError::write(parent, e))?;
    }
    write_png(to, w, h, bits, &dn)?;
    Ok(())
}

/// The row whose image frame `k` of `n` carries under `fault`: its own, or for a time-tag
/// error the neighbour's (its own when there is none).
fn source_frame(fault: Fault, k: usize, n: usize) -> usize {
    match fault {
        Fault::TimeTag { offset } => {
            let j = k as i64 + offset;
            if (0..n as i64).contains(&j) {
                j as usize
            } else {
                k
            }
        }
        _ => k,
    }
}

/// A hard link of `from` at `to` (its directory made), or a copy where links fail.
fn link_or_copy(from: &Path, to: &Path) -> Result<(), SimError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| SimError::write(parent, e))?;
    }
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| SimError::write(to, e))
}

/// Writes the standard fault campaign of the dataset in `src` into `out`: one fault dataset
/// per [`standard`] fault (frames `first`, `first + every`, ... touched) and a
/// `campaign.json` listing them, which `trn eval` runs as a campaign. `progress(done,
/// total)` after each.
///
/// # Errors
///
/// As [`write_fault_dataset`]; the campaign directory must not exist or be empty.
pub fn write_fault_campaign(
    src: &Path,
    first: usize,
    every: usize,
    out: &Path,
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<FaultsJson>, SimError> {
    trn_dataset::output_dir::require_empty(out)?;
    let faults = standard();
    let mut names = Vec::with_capacity(faults.len());
    let mut records = Vec::with_capacity(faults.len());
    for (i, f) in faults.iter().enumerate() {
        let name = f.name();
        records.push(write_fault_dataset(
            src,
            *f,
            first,
            every,
            &out.join(&name),
        )?);
        names.push(name);
        progress(i + 1, faults.len());
    }
    let c = crate::campaign::CampaignJson {
        format: crate::campaign::FORMAT.into(),
        seed: 0,
        datasets: names,
        realism: None,
    };
    let json = serde_json::to_string_pretty(&c)
        .map_err(|e| SimError::invalid("campaign.json", e.to_string()))?;
    trn_dataset::atomic::write_atomic(&out.join("campaign.json"), (json + "\n").as_bytes())?;
    Ok(records)
}
