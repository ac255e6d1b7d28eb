//! Datasets against DATASET.md: the shipped descent is accepted by the strict reader, its
//! truth agrees with its own rangefinder (through trn-flight's ray cast, independent of the
//! simulator's renderer) and with its images (the image warped onto the map through the
//! true pose matches a render of the map at zero shift); corrupt files are refused naming
//! file, line and field.

use std::path::{Path, PathBuf};
use trn_dataset::dataset::ReadOptions;
use trn_dataset::dataset::{COLUMNS, Dataset};
use trn_dataset::image::read_frame;
use trn_flight::dem::Heightfield;
use trn_flight::frames::SiteFrame;
use trn_map::render::{Sun, render};
use trn_map::{Interpolation, geotiff, resample_to_site};

fn shipped() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/default-descent")
}

#[test]
fn shipped_dataset_is_accepted_and_complete() {
    let ds = Dataset::read(&shipped()).unwrap();
    assert_eq!(ds.meta.format, "trn-dataset/1");
    assert_eq!(ds.frames.len(), 60);
    assert_eq!((ds.meta.camera.width, ds.meta.camera.height), (512, 512));
    let mut prev_alt = f64::INFINITY;
    for f in &ds.frames {
        let t = f.truth.expect("truth");
        let q = t.attitude;
        assert!(((q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z).sqrt() - 1.0).abs() < 1e-9);
        // Descending, camera looking down.
        assert!(t.position.z < prev_alt);
        prev_alt = t.position.z;
        assert!(t.boresight().z < -0.5);
        // Prior errors are plausible draws of the reported sigma.
        let e = (f.prior.position - t.position).norm();
        assert!(
            e < 5.0 * f.prior_sigma_pos_m * 3f64.sqrt(),
            "frame {}",
            f.frame
        );
    }
    let faults = ds
        .frames
        .iter()
        .filter(|f| f.lrf_fault == Some(true))
        .count();
    // Eight faulty frames (regenerate.sh), of which the two dropouts have no reading and so
    // no truth to judge.
    assert_eq!(faults, 6);
}

#[test]
fn rangefinder_truth_agrees_with_an_independent_ray_cast() {
    let ds = Dataset::read(&shipped()).unwrap();
    let dem = geotiff::read(ds.dir.join(&ds.meta.map.dem)).unwrap();
    let frame = SiteFrame::from_degrees(
        ds.meta.site.lat_deg,
        ds.meta.site.lon_deg,
        ds.meta.body.radius_m,
    )
    .unwrap();
    let sd = resample_to_site(&dem, &frame, 6000.0, 6000.0, 10.0, Interpolation::Bicubic).unwrap();
    let hf = Heightfield::new(&sd.data, sd.grid, None).unwrap();
    let mut checked = 0;
    for f in &ds.frames {
        let (Some(r), Some(false)) = (f.lrf_range_m, f.lrf_fault) else {
            continue;
        };
        let t = f.truth.unwrap();
        let hit = hf.ray_cast(t.position, t.boresight(), 30_000.0).unwrap();
        let tol = 3.0 * (0.1 + 0.001 * r) + 0.5;
        assert!(
            (hit.range - r).abs() < tol,
            "frame {}: {} vs {r}",
            f.frame,
            hit.range
        );
        checked += 1;
    }
    assert!(checked >= 5, "{checked} good readings checked");
}

/// Bilinear sample of an image at fractional pixel (u, v).
fn sample(img: &[f32], w: usize, h: usize, u: f64, v: f64) -> Option<f64> {
    if u < 0.0 || v < 0.0 || u > (w - 1) as f64 || v > (h - 1) as f64 {
        return None;
    }
    let (c, r) = (u.floor() as usize, v.floor() as usize);
    let (c1, r1) = ((c + 1).min(w - 1), (r + 1).min(h - 1));
    let (a, b) = (u - c as f64, v - r as f64);
    let p = |cc: usize, rr: usize| f64::from(img[rr * w + cc]);
    Some(
        p(c, r) * (1.0 - a) * (1.0 - b)
            + p(c1, r) * a * (1.0 - b)
            + p(c, r1) * (1.0 - a) * b
            + p(c1, r1) * a * b,
    )
}

fn zncc(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt().max(1e-12)
}

#[test]
fn images_match_the_map_through_the_true_pose() {
    let ds = Dataset::read(&shipped()).unwrap();
    let dem = geotiff::read(ds.dir.join(&ds.meta.map.dem)).unwrap();
    let frame = SiteFrame::from_degrees(
        ds.meta.site.lat_deg,
        ds.meta.site.lon_deg,
        ds.meta.body.radius_m,
    )
    .unwrap();
    let sd = resample_to_site(
        &dem,
        &frame,
        10_000.0,
        10_000.0,
        10.0,
        Interpolation::Bicubic,
    )
    .unwrap();
    let f0 = &ds.frames[0];
    let sun = Sun {
        azimuth_deg: f0.sun_az_deg,
        elevation_deg: f0.sun_el_deg,
    };
    let map = render(&sd, sun, None, true);
    let z = trn_map::render::site_z(&sd);
    let cam = ds.meta.camera.camera().unwrap();
    let g = sd.grid;
    let (half, reach) = (15i64, 3i64);
    let (mut peaks_at_zero, mut total, mut scores) = (0, 0, Vec::new());
    for f in ds.frames.iter().filter(|f| {
        let a = f.truth.unwrap().position.z;
        (2500.0..9000.0).contains(&a)
    }) {
        let pose = f.truth.unwrap();
        let frame = read_frame(&ds.dir.join(&f.image)).unwrap();
        let (w, h, img) = (frame.width, frame.height, frame.pixels);
        // Patch centres: map nodes whose projections land well inside the image.
        for k in 0..40 {
            let (cc, rr) = (
                (g.width as i64 / 2 + ((k * 37) % 21 - 10) * 20) as i64,
                (g.height as i64 / 2 + ((k * 53) % 21 - 10) * 20) as i64,
            );
            let node = |c: i64, r: i64| (r as usize) * g.width + c as usize;
            let warped = |dc: i64, dr: i64| -> Option<Vec<f64>> {
                let mut v = Vec::new();
                for r in rr - half..=rr + half {
                    for c in cc - half..=cc + half {
                        let (x, y) = (g.x0 + (c + dc) as f64 * g.dx, g.y0 + (r + dr) as f64 * g.dy);
                        let p = trn_flight::Vec3::new(x, y, f64::from(z[node(c + dc, r + dr)]));
                        let [u, vv] = cam.project(pose.to_camera(p)).ok()?;
                        v.push(sample(&img, w, h, u, vv)?);
                    }
                }
                Some(v)
            };
            let tpl: Vec<f64> = (rr - half..=rr + half)
                .flat_map(|r| (cc - half..=cc + half).map(move |c| (c, r)))
                .map(|(c, r)| f64::from(map[node(c, r)]))
                .collect();
            let mut best = (f64::MIN, 0, 0);
            let mut ok = true;
            for dr in -reach..=reach {
                for dc in -reach..=reach {
                    match warped(dc, dr) {
                        Some(v) => {
                            let s = zncc(&tpl, &v);
                            if s > best.0 {
                                best = (s, dc, dr);
                            }
                        }
                        None => ok = false,
                    }
                }
            }
            if !ok || tpl.iter().all(|v| *v == tpl[0]) {
                continue;
            }
            total += 1;
            scores.push(best.0);
            if best.1 == 0 && best.2 == 0 {
                peaks_at_zero += 1;
            }
        }
    }
    scores.sort_by(f64::total_cmp);
    let median = scores[scores.len() / 2];
    eprintln!("{peaks_at_zero} of {total} patches peak at zero shift, median ZNCC {median:.3}");
    assert!(total >= 50, "{total} patches");
    assert!(
        peaks_at_zero as f64 >= 0.9 * total as f64,
        "{peaks_at_zero} of {total} patches peak at zero shift"
    );
    assert!(median > 0.8, "median ZNCC {median}");
}

/// A copy of the shipped dataset with `frames.csv` edited.
fn corrupted(name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    corrupted_both(name, edit, |j| j.to_string())
}

/// A copy of the shipped dataset with `dataset.json` edited.
fn corrupted_json(name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    corrupted_both(name, |t| t.to_string(), edit)
}

/// A copy of the shipped dataset with `frames.csv` and `dataset.json` edited.
fn corrupted_both(
    name: &str,
    edit: impl Fn(&str) -> String,
    edit_json: impl Fn(&str) -> String,
) -> PathBuf {
    let src = shipped();
    let dst = std::env::temp_dir().join(format!("trn-ds-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dst);
    std::fs::create_dir_all(dst.join("images")).unwrap();
    std::fs::create_dir_all(dst.join("map")).unwrap();
    for f in ["map/dem.tif", "map/ortho.tif"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    let json = std::fs::read_to_string(src.join("dataset.json")).unwrap();
    std::fs::write(dst.join("dataset.json"), edit_json(&json)).unwrap();
    for e in std::fs::read_dir(src.join("images")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dst.join("images").join(p.file_name().unwrap())).unwrap();
    }
    let text = std::fs::read_to_string(src.join("frames.csv")).unwrap();
    std::fs::write(dst.join("frames.csv"), edit(&text)).unwrap();
    dst
}

fn refuse(dir: &Path, needles: &[&str]) {
    let e = Dataset::read(dir).unwrap_err().to_string();
    for n in needles {
        assert!(e.contains(n), "'{n}' not in: {e}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn replace_cell(text: &str, line: usize, col: &str, value: &str) -> String {
    let k = COLUMNS.iter().position(|c| *c == col).unwrap();
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                let mut cells: Vec<String> = l.split(',').map(String::from).collect();
                cells[k] = value.into();
                cells.join(",")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn corrupt_datasets_are_refused_naming_file_line_and_field() {
    refuse(
        &corrupted("nocol", |t| t.replacen(",lrf_fault", ",lrf_faults", 1)),
        &["frames.csv", "missing column 'lrf_fault'"],
    );
    refuse(
        &corrupted("quat", |t| replace_cell(t, 5, "true_qw", "0.9")),
        &["frames.csv", "line 5", "true_q", "norm"],
    );
    refuse(
        &corrupted("partial", |t| replace_cell(t, 7, "true_x_m", "")),
        &["line 7", "all present or all empty"],
    );
    refuse(
        &corrupted("fault", |t| replace_cell(t, 3, "lrf_fault", "2")),
        &["line 3", "lrf_fault", "'2'"],
    );
    refuse(
        &corrupted("order", |t| replace_cell(t, 4, "frame", "0")),
        &["line 4", "frame", "does not increase"],
    );
    refuse(
        &corrupted("num", |t| replace_cell(t, 9, "prior_x_m", "abc")),
        &["line 9", "prior_x_m", "'abc'"],
    );
    // An image whose size is not the camera's.
    let d = corrupted("size", |t| t.to_string());
    trn_dataset::image::write_png(
        &d.join("images/frame_0002.png"),
        100,
        80,
        8,
        &vec![0u16; 8000],
    )
    .unwrap();
    refuse(&d, &["line 4", "image", "100 x 80", "512 x 512"]);
    // Times run forward.
    refuse(
        &corrupted("time", |t| replace_cell(t, 6, "t_s", "0")),
        &["line 6", "t_s", "does not increase"],
    );
    // Each prior sigma is named.
    refuse(
        &corrupted("sigma", |t| replace_cell(t, 3, "prior_sigma_att_deg", "0")),
        &["line 3", "prior_sigma_att_deg", "positive"],
    );
    // Paths stay inside the dataset; special files are not read.
    refuse(
        &corrupted("escape", |t| {
            replace_cell(t, 2, "image", "../default-descent/images/frame_0000.png")
        }),
        &["line 2", "image", "not inside the dataset"],
    );
    let d = corrupted("device", |t| replace_cell(t, 2, "image", "/dev/zero"));
    let opts = ReadOptions {
        allow_outside_paths: true,
    };
    let e = Dataset::read_with(&d, opts).unwrap_err().to_string();
    assert!(
        e.contains("/dev/zero") && e.contains("not a regular file"),
        "{e}"
    );
    refuse(&d, &["line 2", "image", "not inside the dataset"]);
    // A byte-order mark is not part of the header.
    let d = corrupted("bom", |t| format!("\u{feff}{t}"));
    assert_eq!(Dataset::read(&d).unwrap().frames.len(), 60);
    let _ = std::fs::remove_dir_all(&d);
}

/// `dataset.json` fields out of range are refused naming the file and the field, before
/// anything they size is read.
#[test]
fn corrupt_dataset_json_is_refused_naming_the_field() {
    let field = |name: &str, from: &str, to: &str, needles: &[&str]| {
        let d = corrupted_json(name, |j| {
            assert!(j.contains(from), "{from}");
            j.replacen(from, to, 1)
        });
        let mut all = vec!["dataset.json"];
        all.extend_from_slice(needles);
        refuse(&d, &all);
    };
    field(
        "fx",
        "\"fx\": 618.0386719675123",
        "\"fx\": -1.0",
        &["camera.fx", "-1"],
    );
    field(
        "width",
        "\"width\": 512",
        "\"width\": 60000",
        &["camera.width", "60000"],
    );
    field(
        "radius",
        "\"radius_m\": 1737400.0",
        "\"radius_m\": 1e308",
        &["body.radius_m", "a sphere of"],
    );
    field(
        "lat",
        "\"lat_deg\": -85.3",
        "\"lat_deg\": 95.0",
        &["site.lat_deg", "95"],
    );
    field(
        "frames",
        "\"frames\": \"frames.csv\"",
        "\"frames\": \"/dev/zero\"",
        &["frames", "not inside the dataset"],
    );
}
