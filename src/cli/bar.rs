//! The terminal progress bar (indicatif, on stderr) as the engine's `ProgressReporter`, and
//! Ctrl-C: the first press flips a flag that the bar's `update` returns, so the engine stops
//! and removes its temp output; a second press exits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{HumanDuration, ProgressBar, ProgressStyle};

use ebc::engine::{Progress, ProgressReporter};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Install the Ctrl-C handler (once per process).
pub fn install_ctrlc() {
    let res = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    if let Err(e) = res {
        tracing::debug!("Ctrl-C handler not installed: {e}");
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn new(label: &str) -> Self {
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template("{prefix} {wide_bar} {pos}/{len} frames  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar { bar }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl ProgressReporter for Bar {
    fn update(&mut self, p: &Progress) -> bool {
        self.bar.set_length(p.frames_total);
        self.bar.set_position(p.frames_done);
        let eta = p
            .eta
            .map(|d| format!(", ETA {}", HumanDuration(d)))
            .unwrap_or_default();
        self.bar.set_message(format!("{:.1} fps{eta}", p.fps));
        !interrupted()
    }

    fn warn(&mut self, message: &str) {
        self.bar.suspend(|| eprintln!("warning: {message}"));
    }

    fn done(&mut self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}
