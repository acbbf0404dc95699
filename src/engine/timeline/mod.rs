//! The timeline renderer: several clips played in order on one canvas — each trimmed,
//! normalised to the canvas size and frame rate, re-framed when the canvas has another shape
//! (the person kept whole and centred from the matte, never stretched), and given its own
//! backdrop — with titles drawn over them and background music mixed under their own sound,
//! written as one H.264/AAC MP4 through a temp file renamed into place. Built from the
//! engine's public parts: the ffmpeg decoder and encoder, the segmenter, the matte refiner
//! and the compositor.

mod audio;
mod framing;
mod render;
mod title;

use std::path::PathBuf;
use std::time::Duration;

pub use framing::{PersonBox, Placement, fit, person_box, place};
pub use title::FONT_NOTICES;

use super::backdrop::Backdrop;
use super::matte::MatteOptions;
use super::pipeline::{DEFAULT_X264_PRESET, Quality};
use super::{ProgressReporter, Result};

/// One clip on the timeline.
#[derive(Debug, Clone)]
pub struct TimelineClip {
    pub input: PathBuf,
    /// Start of the kept span in the source, s (a trim of its beginning).
    pub start_s: f64,
    /// Length of the kept span, s; `None` = to the end of the source.
    pub duration_s: Option<f64>,
    /// The person over this backdrop; `None` keeps the clip's own background.
    pub backdrop: Option<Backdrop>,
}

/// Where a title sits, vertically; it is always centred horizontally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TitlePosition {
    Top,
    #[default]
    Center,
    Bottom,
}

/// A text overlay.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineTitle {
    pub text: String,
    /// Span on the timeline, s: shown for `start_s <= t < end_s`.
    pub start_s: f64,
    pub end_s: f64,
    pub position: TitlePosition,
    /// Text size as a share of the canvas's short side (0.08 ≈ 86 px on 1080-wide video).
    pub size: f32,
    /// sRGB colour of the text.
    pub color: (u8, u8, u8),
    /// Fade-in and fade-out length, s (0 = none).
    pub fade_s: f64,
}

/// Background music under the clips' own sound.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineMusic {
    pub input: PathBuf,
    /// Linear gain, 1.0 = as recorded (35 % = 0.35).
    pub volume: f32,
    /// Repeat the music when it is shorter than the video (else it stops, silence after).
    pub looped: bool,
    pub fade_in_s: f64,
    pub fade_out_s: f64,
    /// Lower the music while the clips' own sound (speech) is loud.
    pub duck: bool,
    /// Where the music starts on the timeline, s (0 = with the video).
    pub start_s: f64,
    /// Where it ends on the timeline, s; `None` = the video's end. The music is silent
    /// outside `[start_s, end_s)`, fully gone at `end_s`, and its fades happen inside.
    pub end_s: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct TimelineOptions {
    /// Destination: `.mp4`, `.mov` or `.mkv`.
    pub output: PathBuf,
    pub clips: Vec<TimelineClip>,
    pub titles: Vec<TimelineTitle>,
    pub music: Option<TimelineMusic>,
    /// Canvas shape as (width, height) ratio, e.g. (9, 16); `None` = the first clip's shape.
    pub aspect: Option<(u32, u32)>,
    /// Long side limit, px (1920 = 1080p). An aspect canvas is this size (short side 9/16 of
    /// it, e.g. 1080×1920 for 9:16); a clip-shaped canvas is never upscaled.
    pub max_long_side: u32,
    pub quality: Quality,
    pub x264_preset: String,
    pub matte: MatteOptions,
}

impl TimelineOptions {
    pub fn new(output: PathBuf, clips: Vec<TimelineClip>) -> Self {
        TimelineOptions {
            output,
            clips,
            titles: Vec::new(),
            music: None,
            aspect: None,
            max_long_side: 1920,
            quality: Quality::High,
            x264_preset: DEFAULT_X264_PRESET.into(),
            matte: MatteOptions::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TimelineReport {
    pub output: PathBuf,
    pub width: u32,
    pub height: u32,
    /// Frame rate as an ffmpeg rational, e.g. "30/1".
    pub frame_rate: String,
    pub frames: u64,
    pub duration_s: f64,
    pub warnings: Vec<String>,
    pub elapsed: Duration,
}

/// The canvas of an aspect ratio for a long-side limit: the largest size of that shape
/// whose long side is ≤ `max_long_side` and short side ≤ 9/16 of it, even numbers
/// (9:16 at 1920 → 1080×1920; 1:1 → 1080×1080; 4:5 → 1080×1350).
pub fn aspect_canvas(ratio: (u32, u32), max_long_side: u32) -> (u32, u32) {
    let (rw, rh) = (f64::from(ratio.0.max(1)), f64::from(ratio.1.max(1)));
    let long_max = f64::from(max_long_side.max(16));
    let short_max = (long_max * 9.0 / 16.0).floor();
    let (long, short) = if rw >= rh { (rw, rh) } else { (rh, rw) };
    let s = (long_max / long).min(short_max / short);
    let even = |v: f64| ((v / 2.0).floor() * 2.0).max(2.0) as u32;
    (even(rw * s), even(rh * s))
}

/// Render the timeline to `opts.output` atomically. Cancelled via `progress.update`
/// returning false (nothing is left behind). Errors name the clip or setting involved.
pub fn render_timeline(
    opts: &TimelineOptions,
    progress: &mut dyn ProgressReporter,
) -> Result<TimelineReport> {
    render::run(opts, progress)
}

#[cfg(test)]
mod tests {
    use super::aspect_canvas;

    #[test]
    fn aspect_canvases() {
        assert_eq!(aspect_canvas((16, 9), 1920), (1920, 1080));
        assert_eq!(aspect_canvas((9, 16), 1920), (1080, 1920));
        assert_eq!(aspect_canvas((1, 1), 1920), (1080, 1080));
        assert_eq!(aspect_canvas((4, 5), 1920), (1080, 1350));
        assert_eq!(aspect_canvas((9, 16), 1280), (720, 1280));
    }
}
