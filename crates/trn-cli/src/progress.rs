//! Progress bars on stderr (hidden when stderr is not a terminal) for long stages.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;
use std::time::Instant;

/// One bar per stage, each replaced by a line with its duration when it ends.
#[derive(Debug)]
pub struct Bars {
    current: Mutex<Option<(ProgressBar, &'static str, Instant)>>,
    quiet: bool,
}

impl Bars {
    /// Bars on stderr; `quiet` also suppresses the per-stage summary lines.
    pub fn new(quiet: bool) -> Self {
        Self {
            current: Mutex::new(None),
            quiet,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(ProgressBar, &'static str, Instant)>> {
        // A panic while holding the lock leaves a bar, not broken state: keep going.
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl trn_map::build::Progress for Bars {
    fn begin(&self, stage: &'static str, total: u64) {
        let bar = if total > 0 {
            bar(total, "{msg:>24} [{bar:40}] {pos}/{len} ({eta})")
        } else {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{msg:>24} {spinner} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        };
        bar.set_message(stage);
        *self.lock() = Some((bar, stage, Instant::now()));
    }

    fn advance(&self, n: u64) {
        if let Some((b, _, _)) = self.lock().as_ref() {
            b.inc(n);
        }
    }

    fn end(&self) {
        if let Some((b, stage, t0)) = self.lock().take() {
            b.finish_and_clear();
            if !self.quiet {
                eprintln!("{stage:>24}: {:.2} s", t0.elapsed().as_secs_f64());
            }
        }
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal) with `template`.
pub fn bar(total: u64, template: &str) -> ProgressBar {
    let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    b.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    b
}

/// Prints `v` as pretty JSON on stdout (the `--json` output of every subcommand).
///
/// # Errors
///
/// [`crate::error::CliError::Failed`] when it cannot be serialised.
pub fn print_json<T: serde::Serialize>(v: &T) -> Result<(), crate::error::CliError> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| crate::error::CliError::Failed(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// The `progress(stage, done, total)` callback of trn-eval's runs, drawn on `bar`.
pub fn stage_progress(bar: &ProgressBar) -> impl Fn(&str, usize, usize) + '_ {
    move |stage, done, total| {
        bar.set_message(stage.to_string());
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    }
}
