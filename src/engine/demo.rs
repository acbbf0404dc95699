//! The demo clip: a few seconds of video made with ffmpeg from an embedded public-domain
//! portrait (NASA astronaut Eileen Collins, see `assets/demo/README.md`), with a slow pan and
//! zoom so the person moves, for newcomers who have no clip of their own.

use std::io::Write;
use std::path::Path;

use super::ffmpeg::{FfmpegProcess, Tool};
use super::{Error, Result};

/// The embedded portrait (512×512 JPEG).
pub const PORTRAIT_JPEG: &[u8] = include_bytes!("../../assets/demo/astronaut.jpg");

/// Frame rate of the demo clip.
const FPS: u32 = 30;

/// Write a `seconds`-long 1280×720 30 fps H.264 clip of the portrait to `dest` (an .mp4).
pub fn make_clip(dest: &Path, seconds: u32) -> Result<()> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut still = tempfile::Builder::new()
        .suffix(".jpg")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    still
        .write_all(PORTRAIT_JPEG)
        .map_err(|e| Error::io(still.path(), e))?;
    let frames = seconds.max(1) * FPS;
    // 16:9 crop of the upscaled portrait (hair to shoulders), then a slow zoom-in drifting
    // right.
    let filter = format!(
        "scale=2048:2048,crop=2048:1152:0:0,\
         zoompan=z='1.02+0.10*on/{frames}':x='(iw-iw/zoom)*(0.35+0.3*on/{frames})':y='(ih-ih/zoom)*0.3':d=1:s=1280x720:fps={FPS},\
         format=yuv420p"
    );
    let mut cmd = Tool::Ffmpeg.command();
    // Our own PNG, read by the image2 demuxer (its -loop), protocols limited as everywhere.
    cmd.args(["-y", "-protocol_whitelist", super::ffmpeg::input::PROTOCOLS]);
    cmd.args([
        "-f",
        "image2",
        "-loop",
        "1",
        "-framerate",
        &FPS.to_string(),
        "-i",
    ])
    .arg(still.path())
    .args(["-frames:v", &frames.to_string(), "-vf", &filter])
    .args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"])
    .args(["-movflags", "+faststart", "-f", "mp4"])
    .arg(dest);
    FfmpegProcess::spawn(Tool::Ffmpeg, dest, cmd, false, false)?.finish()
}
