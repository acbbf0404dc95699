//! The before/after preview *clip*: a few seconds of a clip, before (left) next to after
//! (right) on the new backdrop, small enough (≤ 480 pixels high, ≤ [`CLIP_MAX_BYTES`]) to
//! reach an MCP App as a `data:` URL. Made from the clip's middle: cut and scaled down with
//! ffmpeg, put through the same pipeline as an export ([`super::replace`], with the `fast`
//! matte), then the two halves stacked side by side and encoded as H.264 MP4 (`+faststart`,
//! no sound), which the browsers inside MCP hosts (Chromium/Electron, WebKit) play.

use std::path::Path;

use super::ffmpeg::{FfmpegProcess, Tool};
use super::matte::{MatteMode, MatteOptions};
use super::pipeline::{Quality, ReplaceOptions};
use super::probe::{MediaKind, probe};
use super::{Backdrop, Error, NoProgress, Result};

/// Upper bound of the clip's size (2 MiB): a `data:` URL of it stays a few MB in the app.
pub const CLIP_MAX_BYTES: usize = 2 * 1024 * 1024;
/// Length of the clip, in seconds (shorter clips are used whole).
pub const CLIP_SECONDS: f64 = 3.0;
/// Frame rate of the clip: enough to see motion, half the work of 30 fps.
const CLIP_FPS: u32 = 15;
/// Each half fits in this box (pixels): the clip is at most 960×360.
const PANEL_W: u32 = 480;
const PANEL_H: u32 = 360;

/// Write the before/after clip of `input` on `backdrop` to `out` (an `.mp4`, written via a
/// temp file beside it and renamed). Still images have no clip (an error naming the file);
/// so has a backdrop that needs transparency (MP4 cannot hold it).
pub fn clip_before_after_video(input: &Path, backdrop: &Backdrop, out: &Path) -> Result<()> {
    let info = probe(input)?;
    if info.kind != MediaKind::Video {
        return Err(Error::input(input, "a still image has no preview clip"));
    }
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let work = tempfile::Builder::new()
        .prefix(".ebc-preview-")
        .tempdir_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let cut = work.path().join("before.mp4");
    let after = work.path().join("after.mp4");
    let seconds = CLIP_SECONDS.min(info.duration_s.max(0.1));
    let start = ((info.duration_s - seconds) / 2.0).max(0.0);

    // 1. The middle seconds, small, at the clip's frame rate cut to 15 fps.
    let scale = format!(
        "fps={CLIP_FPS},scale={PANEL_W}:{PANEL_H}:force_original_aspect_ratio=decrease,\
         scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p"
    );
    let mut cmd = Tool::Ffmpeg.command();
    cmd.args([
        "-y",
        "-ss",
        &format!("{start:.3}"),
        "-t",
        &format!("{seconds:.3}"),
        "-i",
    ])
    .arg(input)
    .args(["-an", "-sn", "-dn", "-vf", &scale])
    .args([
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-f", "mp4",
    ])
    .arg(&cut);
    FfmpegProcess::spawn(Tool::Ffmpeg, &cut, cmd, false, false)?.finish()?;

    // 2. The same seconds on the backdrop, through the export's pipeline, with the `fast`
    //    matte whatever the default: the clip is made inside the edit's request (the agent
    //    answers once it is stored), so it takes the cheapest matte, as the preview JPEG
    //    does (`preview`); it shows the backdrop, not the matte's edges.
    let mut opts = ReplaceOptions::new(cut.clone(), after.clone(), backdrop.clone());
    opts.matte = MatteOptions::for_mode(MatteMode::Fast);
    opts.quality = Quality::High;
    opts.max_long_side = PANEL_W;
    super::replace(&opts, &mut NoProgress)?;

    // 3. Side by side, re-encoded until it fits.
    let tmp = work.path().join("before-after.mp4");
    for crf in [26u32, 30, 34, 38, 42] {
        let mut cmd = Tool::Ffmpeg.command();
        cmd.args(["-y", "-i"])
            .arg(&cut)
            .arg("-i")
            .arg(&after)
            .args([
                "-filter_complex",
                "[0:v][1:v]hstack=inputs=2,format=yuv420p[v]",
                "-map",
                "[v]",
                "-an",
            ])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-profile:v",
                "main",
            ])
            .args([
                "-crf",
                &crf.to_string(),
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
            ])
            .arg(&tmp);
        FfmpegProcess::spawn(Tool::Ffmpeg, &tmp, cmd, false, false)?.finish()?;
        let bytes = std::fs::metadata(&tmp)
            .map_err(|e| Error::io(&tmp, e))?
            .len();
        if bytes as usize <= CLIP_MAX_BYTES {
            return std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e));
        }
    }
    Err(Error::Preview(format!(
        "the preview clip of {} stayed above {} KB at every quality tried",
        input.display(),
        CLIP_MAX_BYTES / 1024
    )))
}
