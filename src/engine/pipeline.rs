//! The staged frame pipeline: decode → segment → refine → composite → encode on named threads
//! joined by bounded channels; temp output renamed on success.
// OWNER: engine-io helper. Signatures are the contract other modules compile against.

use std::path::PathBuf;
use std::time::Duration;

use super::backdrop::Backdrop;
use super::matte::MatteOptions;
use super::{ProgressReporter, Result};

/// Encoder quality presets (CRF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quality {
    #[default]
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone)]
pub struct ReplaceOptions {
    pub input: PathBuf,
    /// Destination; the extension picks the container (.mp4, .mov, .webm, .png, .jpg).
    pub output: PathBuf,
    pub backdrop: Backdrop,
    pub quality: Quality,
    /// Output long side limit in pixels (1920 = 1080p, 1280 = 720p); never upscales.
    pub max_long_side: u32,
    /// libx264 `-preset`.
    pub x264_preset: String,
    pub matte: MatteOptions,
    /// Also write a small before/after JPEG of a middle frame here.
    pub preview: Option<PathBuf>,
}

impl ReplaceOptions {
    pub fn new(input: PathBuf, output: PathBuf, backdrop: Backdrop) -> Self {
        ReplaceOptions {
            input,
            output,
            backdrop,
            quality: Quality::default(),
            max_long_side: 1920,
            x264_preset: "veryfast".into(),
            matte: MatteOptions::default(),
            preview: None,
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
    let _ = (opts, progress);
    todo!("engine-io helper")
}
