//! `report.html` with PNG plots, written beside results.csv by `trn eval` and `trn demo`.
//!
//! Plots are drawn with plotters into an RGB buffer and written by trn-dataset; text
//! uses the DejaVu Sans font shipped in assets/fonts (no system font needed).

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::path::Path;
use trn::FixStatus;
use trn_dataset::dataset::Dataset;
use trn_eval::{FrameDetail, ResultRow, Summary};
use trn_flight::rangefinder::LrfStatus;

static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

const W: u32 = 900;
const H: u32 = 520;

type Res<T> = Result<T, String>;

fn save_png(path: &Path, buf: &[u8], w: u32, h: u32) -> Res<()> {
    trn_dataset::image::write_rgb_png(path, w, h, buf).map_err(|e| e.to_string())
}

fn plot(
    path: &Path,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Res<()>,
) -> Res<()> {
    let mut buf = vec![255u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    save_png(path, &buf, W, H)
}

fn range(v: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in v.filter(|x| x.is_finite()) {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(1e-9);
    (lo - pad * span, hi + pad * span)
}

macro_rules! e {
    ($x:expr) => {
        $x.map_err(|e| e.to_string())?
    };
}

/// The availability target in words: fixes over frames with the sun at 5 degrees or more,
/// then over those of them less than [`trn_eval::DARK_FRAME`] in shadow; `None` without
/// such frames.
pub fn target_line(rows: &[ResultRow]) -> Option<String> {
    let (all, lit) = trn_eval::availability_target(rows);
    let all = all?;
    let mut line = format!(
        "{}/{} fixes ({:.1}%)",
        all.fixes,
        all.frames,
        100.0 * all.availability()
    );
    if let Some(lit) = lit.filter(|l| l.frames < all.frames) {
        line += &format!(
            "; {}/{} ({:.1}%) of frames less than {:.0}% in shadow",
            lit.fixes,
            lit.frames,
            100.0 * lit.availability(),
            100.0 * trn_eval::DARK_FRAME
        );
    }
    Some(line)
}

/// Writes report.html and its plots into `out`.
///
/// # Errors
///
/// A message naming what could not be drawn or written.
pub fn write(
    out: &Path,
    ds: &Dataset,
    rows: &[ResultRow],
    details: &[FrameDetail],
    s: &Summary,
) -> Res<()> {
    // Registering twice is harmless; the first registration wins.
    let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    let truth_alt: Vec<f64> = ds
        .frames
        .iter()
        .map(|f| f.truth.map_or(f64::NAN, |t| t.position.z))
        .collect();

    error_plot(out, rows, &truth_alt)?;
    trajectory_plot(out, ds, rows)?;
    altitude_plot(out, ds, rows)?;
    latency_plot(out, rows)?;
    let frame_shown = frame_plot(out, ds, rows, details)?;
    write_html(out, ds, rows, s, frame_shown)
}

/// Position error of fixes and its 3-sigma bound against true altitude (`error.png`).
fn error_plot(out: &Path, rows: &[ResultRow], truth_alt: &[f64]) -> Res<()> {
    plot(&out.join("error.png"), |root| {
        let pts: Vec<(f64, f64, f64)> = rows
            .iter()
            .zip(truth_alt)
            .filter(|(r, _)| r.status == FixStatus::Fix)
            .filter_map(|(r, a)| {
                let three = 3.0 * r.sigma_pos.iter().copied().fold(0.0, f64::max);
                r.pos_err_m.map(|e| (a / 1000.0, e, three))
            })
            .collect();
        let (x0, x1) = range(pts.iter().map(|p| p.0), 0.05);
        let (_, y1) = range(pts.iter().flat_map(|p| [p.1, p.2]), 0.1);
        let mut c = e!(ChartBuilder::on(root)
            .caption(
                "Position error of fixes and its 3-sigma bound",
                ("sans-serif", 22)
            )
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, 0.0..y1));
        e!(c.configure_mesh()
            .x_desc("true altitude (km)")
            .y_desc("metres")
            .draw());
        e!(c.draw_series(
            pts.iter()
                .map(|p| Cross::new((p.0, p.2), 5, RED.stroke_width(2)))
        )
        .map(|s| s
            .label("3 x largest axis sigma")
            .legend(|(x, y)| Cross::new((x, y), 5, RED))));
        e!(c.draw_series(
            pts.iter()
                .map(|p| Circle::new((p.0, p.1), 4, BLUE.filled()))
        )
        .map(|s| s
            .label("position error")
            .legend(|(x, y)| Circle::new((x, y), 4, BLUE.filled()))));
        e!(c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw());
        Ok(())
    })
}

/// The trajectory from above: truth, prior and fixes (`trajectory.png`).
fn trajectory_plot(out: &Path, ds: &Dataset, rows: &[ResultRow]) -> Res<()> {
    plot(&out.join("trajectory.png"), |root| {
        let truth: Vec<(f64, f64)> = ds
            .frames
            .iter()
            .filter_map(|f| {
                f.truth
                    .map(|t| (t.position.x / 1000.0, t.position.y / 1000.0))
            })
            .collect();
        let prior: Vec<(f64, f64)> = ds
            .frames
            .iter()
            .map(|f| (f.prior.position.x / 1000.0, f.prior.position.y / 1000.0))
            .collect();
        let fixes: Vec<(f64, f64)> = rows
            .iter()
            .filter_map(|r| {
                r.pose
                    .map(|p| (p.position.x / 1000.0, p.position.y / 1000.0))
            })
            .collect();
        let all = truth.iter().chain(&prior).chain(&fixes);
        let (x0, x1) = range(all.clone().map(|p| p.0), 0.1);
        let (y0, y1) = range(all.map(|p| p.1), 0.1);
        // Equal scales on both axes.
        let span = (x1 - x0).max(y1 - y0) * 0.5;
        let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
        let aspect = f64::from(W - 80) / f64::from(H - 60);
        let mut c = e!(ChartBuilder::on(root)
            .caption(
                "Trajectory seen from above (site frame)",
                ("sans-serif", 22)
            )
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(cx - span * aspect..cx + span * aspect, cy - span..cy + span));
        e!(c.configure_mesh()
            .x_desc("east (km)")
            .y_desc("north (km)")
            .draw());
        e!(
            c.draw_series(LineSeries::new(truth.clone(), BLACK.stroke_width(2)))
                .map(|s| s
                    .label("truth")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK)))
        );
        e!(c.draw_series(LineSeries::new(
            prior.clone(),
            RGBColor(230, 140, 0).stroke_width(2)
        ))
        .map(|s| s
            .label("inertial prior")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RGBColor(230, 140, 0)))));
        e!(
            c.draw_series(fixes.iter().map(|p| Circle::new(*p, 3, BLUE.filled())))
                .map(|s| s.label("TRN fixes").legend(|(x, y)| Circle::new(
                    (x, y),
                    3,
                    BLUE.filled()
                )))
        );
        e!(c.draw_series(std::iter::once(TriangleMarker::new(
            (0.0, 0.0),
            8,
            RED.filled()
        )))
        .map(
            |s| s.label("landing site").legend(|(x, y)| TriangleMarker::new(
                (x, y),
                6,
                RED.filled()
            ))
        ));
        e!(c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw());
        Ok(())
    })
}

/// Altitude from vision against truth and the rangefinder's readings with their verdicts (`altitude.png`).
fn altitude_plot(out: &Path, ds: &Dataset, rows: &[ResultRow]) -> Res<()> {
    plot(&out.join("altitude.png"), |root| {
        let t: Vec<f64> = ds.frames.iter().map(|f| f.t_s).collect();
        let vision: Vec<(f64, f64)> = rows
            .iter()
            .zip(&t)
            .filter(|(r, _)| r.status == FixStatus::Fix)
            .map(|(r, t)| (*t, r.altitude_m / 1000.0))
            .collect();
        let truth: Vec<(f64, f64)> = rows
            .iter()
            .zip(&t)
            .filter_map(|(r, t)| r.true_altitude_m.map(|a| (*t, a / 1000.0)))
            .collect();
        let lrf: Vec<(f64, f64, bool, Option<bool>)> = ds
            .frames
            .iter()
            .zip(rows)
            .filter_map(|(f, r)| {
                f.lrf_range_m.map(|x| {
                    (
                        f.t_s,
                        x / 1000.0,
                        r.lrf_status == LrfStatus::Fault,
                        f.lrf_fault,
                    )
                })
            })
            .collect();
        let (x0, x1) = range(t.iter().copied(), 0.02);
        let (_, y1) = range(
            truth.iter().map(|p| p.1).chain(lrf.iter().map(|p| p.1)),
            0.05,
        );
        let mut c = e!(ChartBuilder::on(root)
            .caption(
                "Altitude from vision, and the rangefinder's slant range",
                ("sans-serif", 22)
            )
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, 0.0..y1));
        e!(c.configure_mesh().x_desc("time (s)").y_desc("km").draw());
        e!(c.draw_series(LineSeries::new(truth, BLACK.stroke_width(1)))
            .map(|s| s
                .label("true altitude above the DEM")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK))));
        e!(
            c.draw_series(vision.iter().map(|p| Circle::new(*p, 3, BLUE.filled())))
                .map(|s| s
                    .label("altitude from vision (fixes)")
                    .legend(|(x, y)| Circle::new((x, y), 3, BLUE.filled())))
        );
        e!(
            c.draw_series(lrf.iter().filter(|p| !p.2).map(|p| Cross::new(
                (p.0, p.1),
                5,
                GREEN.stroke_width(2)
            )))
            .map(|s| s
                .label("rangefinder: ok")
                .legend(|(x, y)| Cross::new((x, y), 5, GREEN)))
        );
        e!(c.draw_series(lrf.iter().filter(|p| p.2).map(|p| Cross::new(
            (p.0, p.1),
            6,
            RED.stroke_width(2)
        )))
        .map(|s| s
            .label("rangefinder: flagged fault")
            .legend(|(x, y)| Cross::new((x, y), 6, RED))));
        e!(c.draw_series(
            lrf.iter()
                .filter(|p| p.3 == Some(true))
                .map(|p| Circle::new((p.0, p.1), 9, RED.stroke_width(1)))
        )
        .map(|s| s
            .label("injected fault (truth)")
            .legend(|(x, y)| Circle::new((x, y), 6, RED))));
        e!(c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw());
        Ok(())
    })
}

/// Histogram of the time per frame (`latency.png`).
fn latency_plot(out: &Path, rows: &[ResultRow]) -> Res<()> {
    plot(&out.join("latency.png"), |root| {
        let lat: Vec<f64> = rows.iter().map(|r| r.latency_ms).collect();
        let (_, hi) = range(lat.iter().copied(), 0.05);
        let bins = 30usize;
        let width = hi / bins as f64;
        let mut counts = vec![0u32; bins];
        for l in &lat {
            counts[((l / width) as usize).min(bins - 1)] += 1;
        }
        let top = counts.iter().copied().max().unwrap_or(1);
        let mut c = e!(ChartBuilder::on(root)
            .caption("Time per frame", ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..hi, 0u32..top + 1));
        e!(c.configure_mesh()
            .x_desc("milliseconds")
            .y_desc("frames")
            .draw());
        e!(c.draw_series(counts.iter().enumerate().map(|(k, n)| {
            let x = k as f64 * width;
            Rectangle::new([(x, 0), (x + width * 0.9, *n)], BLUE.mix(0.7).filled())
        })));
        Ok(())
    })
}

/// One frame with its matched landmarks, inliers green and outliers red (`frame.png`): the
/// fix nearest the middle of the fixed altitudes. Whether one was drawn.
fn frame_plot(out: &Path, ds: &Dataset, rows: &[ResultRow], details: &[FrameDetail]) -> Res<bool> {
    let fixes: Vec<usize> = (0..rows.len())
        .filter(|k| {
            rows[*k].status == FixStatus::Fix
                && details.get(*k).is_some_and(|d| !d.observations.is_empty())
        })
        .collect();
    let shown = fixes.get(fixes.len() / 2).copied();
    if let Some(k) = shown {
        let f = &ds.frames[k];
        let frame =
            trn_dataset::image::read_frame(&ds.dir.join(&f.image)).map_err(|e| e.to_string())?;
        let (w, h, px) = (frame.width, frame.height, frame.pixels);
        let top = px.iter().copied().fold(1.0f32, f32::max);
        let mut buf: Vec<u8> = px
            .iter()
            .flat_map(|v| {
                let g = (v / top * 255.0).clamp(0.0, 255.0) as u8;
                [g, g, g]
            })
            .collect();
        {
            let root =
                BitMapBackend::with_buffer(&mut buf, (w as u32, h as u32)).into_drawing_area();
            for o in details.get(k).map_or(&[][..], |d| &d.observations) {
                let p = (o.pixel[0].round() as i32, o.pixel[1].round() as i32);
                let style = if o.inlier {
                    GREEN.stroke_width(2)
                } else {
                    RED.stroke_width(2)
                };
                e!(root.draw(&Circle::new(p, 6, style)));
            }
            let label = format!(
                "frame {} at {:.0} m: {} matched, {} inliers (green), outliers red",
                f.frame,
                f.truth.map_or(f64::NAN, |t| t.position.z),
                rows[k].matched,
                rows[k].inliers
            );
            e!(root.draw(&Text::new(
                label,
                (8, 8),
                ("sans-serif", 16).into_font().color(&YELLOW)
            )));
            e!(root.present());
        }
        save_png(&out.join("frame.png"), &buf, w as u32, h as u32)?;
    }
    Ok(shown.is_some())
}

/// `report.html`: the summary, the band tables and the plots.
fn write_html(
    out: &Path,
    ds: &Dataset,
    rows: &[ResultRow],
    s: &Summary,
    frame_shown: bool,
) -> Res<()> {
    let stat = |v: Option<trn_eval::Stats>| {
        v.map_or("-".to_string(), |s| {
            format!(
                "{:.2} / {:.2} / {:.2} / {:.2}",
                s.median, s.p95, s.p99, s.max
            )
        })
    };
    let band_table = |title: &str, unit: &str, file: &str, bands: &[trn_eval::Band]| {
        if bands.is_empty() {
            return String::new();
        }
        let body: String = bands
            .iter()
            .map(|b| {
                let to = if b.to.is_finite() {
                    format!("{}", b.to)
                } else {
                    "up".to_string()
                };
                let err = b.pos_err_m.map_or("-".to_string(), |e| {
                    format!("{:.2} / {:.2} / {:.2}", e.median, e.p99, e.max)
                });
                format!(
                    "<tr><td>{}-{to}</td><td>{}</td><td>{} ({:.1}%)</td><td>{}</td><td>{}</td><td>{err}</td><td>{}</td></tr>\n",
                    b.from,
                    b.frames,
                    b.fixes,
                    100.0 * b.availability(),
                    b.tracked,
                    b.rejected,
                    b.outside_3sigma
                )
            })
            .collect();
        format!(
            "<h2>{title}</h2>\n<table>\n<tr><th>{unit}</th><th>frames</th><th>fixes</th><th>of which tracked</th><th>rejected</th>\
             <th>position error, m (median / p99 / max)</th><th>outside 3-sigma</th></tr>\n{body}</table>\n{link}",
            // Results written before the band tables existed have no file to link.
            link = if out.join(file).is_file() {
                format!("<p>Also in <a href=\"{file}\">{file}</a>.</p>\n")
            } else {
                String::new()
            }
        )
    };
    let bands_html = band_table(
        "By true altitude",
        "altitude, m",
        "altitude_bands.csv",
        &trn_eval::by_altitude(rows),
    ) + &band_table(
        "By sun elevation",
        "sun elevation, deg",
        "sun_bands.csv",
        &trn_eval::by_sun_elevation(rows),
    ) + &target_line(rows).map_or(String::new(), |l| {
        format!("<p>Availability target (sun at 5 deg or more): {l}.</p>\n")
    }) + &band_table(
        "By share of the frame in shadow",
        "in shadow",
        "shadow_bands.csv",
        &trn_eval::by_shadow(rows),
    );
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>trn report: {name}</title>\n\
         <style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}td,th{{padding:4px 12px;text-align:left}}img{{max-width:100%}}</style></head><body>\n\
         <h1>trn report: {name}</h1>\n<table>\n\
         <tr><th>frames / fixes</th><td>{frames} / {fixes} ({avail:.1}%)</td></tr>\n\
         <tr><th>position error, m (median / p95 / p99 / max)</th><td>{pos}</td></tr>\n\
         <tr><th>horizontal error, m</th><td>{hor}</td></tr>\n\
         <tr><th>altitude error, m</th><td>{alt}</td></tr>\n\
         <tr><th>attitude error, deg</th><td>{att}</td></tr>\n\
         <tr><th>fixes outside 3-sigma</th><td>{out3}</td></tr>\n\
         <tr><th>frames without a fix, by reason</th><td>{reasons}</td></tr>\n\
         <tr><th>rangefinder</th><td>{rd} readings, {ft} faulty, {ff} flagged, {miss} missed, {fa} false alarms, {held} good readings held</td></tr>\n\
         <tr><th>latency, ms (median / p95 / max)</th><td>{lm:.1} / {lp:.1} / {lx:.1}</td></tr>\n\
         </table>\n{bands_html}<h2>Position error</h2><img src=\"error.png\">\n<h2>Trajectory</h2><img src=\"trajectory.png\">\n\
         <h2>Altitude and rangefinder</h2><img src=\"altitude.png\">\n<h2>Latency</h2><img src=\"latency.png\">\n{frame_html}\
         <p>Per-frame results: <a href=\"results.csv\">results.csv</a>, summary: <a href=\"summary.json\">summary.json</a>.</p>\n</body></html>\n",
        name = ds.meta.name,
        frames = s.frames,
        fixes = s.fixes,
        avail = 100.0 * s.availability,
        pos = stat(s.pos_err_m),
        hor = stat(s.horiz_err_m),
        alt = stat(s.alt_err_m),
        att = stat(s.att_err_deg),
        out3 = s.outside_3sigma,
        reasons = if s.reasons.is_empty() {
            "none".to_string()
        } else {
            s.reasons
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
        rd = s.lrf.frames_with_reading,
        ft = s.lrf.faults_true,
        ff = s.lrf.faults_flagged,
        miss = s.lrf.missed,
        fa = s.lrf.false_alarms,
        held = s.lrf.held_good,
        lm = s.latency_ms.median,
        lp = s.latency_ms.p95,
        lx = s.latency_ms.max,
        // A re-rendered report (no matches in rows.json) keeps the live run's frame plot.
        frame_html = if frame_shown || out.join("frame.png").is_file() {
            "<h2>One frame and its matched landmarks</h2><img src=\"frame.png\">\n"
        } else {
            ""
        },
    );
    trn_dataset::atomic::write_atomic(&out.join("report.html"), html.as_bytes())
        .map_err(|e| e.to_string())
}
