//! The staged frame pipeline: decode → segment → refine → composite → encode on named threads
//! joined by bounded channels; temp output renamed on success.

mod plan;
mod source;
mod stages;

use std::path::PathBuf;
use std::time::Duration;

use super::backdrop::Backdrop;
pub use super::color::HdrMode;
use super::matte::{MatteMode, MatteOptions};
use super::{ProgressReporter, Result};

/// Encoder quality presets (CRF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quality {
    #[default]
    High,
    Medium,
    Low,
}

/// The default libx264 preset: the one `scripts/bench.sh` measures.
pub const DEFAULT_X264_PRESET: &str = "veryfast";

#[derive(Debug, Clone)]
pub struct ReplaceOptions {
    pub input: PathBuf,
    /// Destination; the extension picks the container (.mp4, .mov, .webm, .png, .jpg).
    pub output: PathBuf,
    pub backdrop: Backdrop,
    pub quality: Quality,
    /// Output long side limit in pixels (1920 = 1080p, 1280 = 720p); the short side is held
    /// to 9/16 of it (the output fits 1920×1080 / 1080×1920), see
    /// [`crate::engine::ffmpeg::output_size`]; never upscales.
    pub max_long_side: u32,
    /// libx264 `-preset`.
    pub x264_preset: String,
    pub matte: MatteOptions,
    /// Also write a small before/after JPEG of a middle frame here.
    pub preview: Option<PathBuf>,
    /// HDR (PQ/HLG) input: tone-mapped to SDR BT.709 (default) or kept HDR in 10 bits.
    pub hdr: HdrMode,
}

impl ReplaceOptions {
    pub fn new(input: PathBuf, output: PathBuf, backdrop: Backdrop) -> Self {
        ReplaceOptions {
            input,
            output,
            backdrop,
            quality: Quality::default(),
            max_long_side: 1920,
            x264_preset: DEFAULT_X264_PRESET.into(),
            matte: MatteOptions::default(),
            preview: None,
            hdr: HdrMode::default(),
        }
    }
}

/// Options of [`segment`]: write the matte itself instead of a composite.
#[derive(Debug, Clone)]
pub struct SegmentOptions {
    pub input: PathBuf,
    /// `.png` for an image input, `.mkv` (lossless FFV1 gray) for a clip.
    pub output: PathBuf,
    pub max_long_side: u32,
    pub matte: MatteOptions,
}

impl SegmentOptions {
    pub fn new(input: PathBuf, output: PathBuf) -> Self {
        SegmentOptions {
            input,
            output,
            max_long_side: 1920,
            matte: MatteOptions::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReplaceReport {
    pub output: PathBuf,
    pub width: u32,
    pub height: u32,
    pub frames: u64,
    /// What the backdrop was resolved to, in words.
    pub backdrop: String,
    /// The matte the frames were cut with (`MatteOptions::mode`).
    pub matte: MatteMode,
    /// Frames MODNet ran on (its keyframes; 0 for `fast`). Below `frames` when the matte
    /// carries its alpha between keyframes (`balanced`).
    pub modnet_frames: u64,
    /// Non-fatal problems (e.g. a damaged input that lost frames).
    pub warnings: Vec<String>,
    pub elapsed: Duration,
}

/// Replace the background of `opts.input` (video or still image), writing `opts.output`
/// atomically. Cancelled via `progress.update` returning false.
pub fn replace(
    opts: &ReplaceOptions,
    progress: &mut dyn ProgressReporter,
) -> Result<ReplaceReport> {
    let plan = plan::Plan::for_replace(opts)?;
    stages::run(plan, progress)
}

/// Write the refined matte of `opts.input` (255 = person): a gray PNG for an image, a
/// lossless gray FFV1 `.mkv` for a clip. Same threads, progress and cancellation as
/// [`replace`].
pub fn segment(
    opts: &SegmentOptions,
    progress: &mut dyn ProgressReporter,
) -> Result<ReplaceReport> {
    let plan = plan::Plan::for_segment(opts)?;
    stages::run(plan, progress)
}
