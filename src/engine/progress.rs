//! Progress reporting: the single path by which the CLI bar, backend render jobs and MCP
//! progress notifications observe a run, and by which Ctrl-C / job cancel / `ctx.ct` stop it.

use std::time::Duration;

/// A snapshot of a running job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// Frames written to the encoder so far.
    pub frames_done: u64,
    /// Frames expected in total (from ffprobe; an estimate for damaged inputs).
    pub frames_total: u64,
    /// Throughput over the run so far.
    pub fps: f64,
    /// Estimated time left, once a rate is known.
    pub eta: Option<Duration>,
}

impl Progress {
    /// 0–100.
    pub fn percent(&self) -> f64 {
        if self.frames_total == 0 {
            0.0
        } else {
            (self.frames_done as f64 * 100.0 / self.frames_total as f64).min(100.0)
        }
    }
}

/// Observer of a run. `update` returning `false` cancels the run: the pipeline stops, removes
/// its temp output and returns `Error::Cancelled`.
pub trait ProgressReporter: Send {
    fn update(&mut self, progress: &Progress) -> bool;
    /// A non-fatal problem worth telling the user (e.g. a damaged input lost frames).
    fn warn(&mut self, _message: &str) {}
    fn done(&mut self) {}
}

/// For tests and quiet mode.
pub struct NoProgress;

impl ProgressReporter for NoProgress {
    fn update(&mut self, _progress: &Progress) -> bool {
        true
    }
}
