//! Encoding raw frames from a pipe: H.264 (libx264, yuv420p, `+faststart`), alpha outputs
//! (VP9 `yuva420p` in WebM, ProRes 4444 in MOV, RGBA PNG), lossless gray mattes (FFV1) and
//! stills (PNG/JPEG); the original audio copied from the input file, or re-encoded only
//! when the container cannot hold it.

use std::io::Write;
use std::path::Path;

use super::{FfmpegProcess, Tool};
use crate::engine::pipeline::Quality;
use crate::engine::{Error, Result, YuvFrame};

/// Output container, from the destination's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Mp4,
    Mov,
    Webm,
    Mkv,
    Png,
    Jpg,
}

impl Container {
    /// The extensions understood, for error messages.
    pub const LIST: &'static str = ".mp4, .mov, .webm, .mkv (video) or .png, .jpg (still image)";

    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "mp4" | "m4v" => Container::Mp4,
            "mov" => Container::Mov,
            "webm" => Container::Webm,
            "mkv" => Container::Mkv,
            "png" => Container::Png,
            "jpg" | "jpeg" => Container::Jpg,
            _ => return None,
        })
    }

    /// Extension for the temp file (ffmpeg picks muxers by it; `-f` is passed as well).
    pub fn extension(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mov => "mov",
            Container::Webm => "webm",
            Container::Mkv => "mkv",
            Container::Png => "png",
            Container::Jpg => "jpg",
        }
    }

    pub fn is_still(self) -> bool {
        matches!(self, Container::Png | Container::Jpg)
    }

    fn muxer(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mov => "mov",
            Container::Webm => "webm",
            Container::Mkv => "matroska",
            Container::Png | Container::Jpg => "image2",
        }
    }

    /// Whether an audio stream of `codec` can be copied into this container unchanged.
    fn can_copy_audio(self, codec: &str) -> bool {
        match self {
            Container::Mp4 => matches!(codec, "aac" | "mp3" | "alac" | "ac3" | "eac3" | "opus"),
            Container::Mov => {
                matches!(codec, "aac" | "mp3" | "alac" | "ac3" | "eac3")
                    || codec.starts_with("pcm_")
            }
            Container::Webm => matches!(codec, "opus" | "vorbis"),
            Container::Mkv => true,
            Container::Png | Container::Jpg => false,
        }
    }
}

/// What the raw frames on the pipe hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    /// `YuvFrame` Y, U, V planes.
    Yuv420p,
    /// Y, U, V and the `a` plane.
    Yuva420p,
    /// The Y plane only (a matte).
    Gray,
}

impl PixelLayout {
    fn pix_fmt(self) -> &'static str {
        match self {
            PixelLayout::Yuv420p => "yuv420p",
            PixelLayout::Yuva420p => "yuva420p",
            PixelLayout::Gray => "gray",
        }
    }
}

/// The input's colour tags, passed through to the output when present.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColorTags {
    pub space: Option<String>,
    pub primaries: Option<String>,
    pub transfer: Option<String>,
}

pub struct EncodeSpec<'a> {
    /// Where ffmpeg writes (the temp file beside the destination).
    pub output: &'a Path,
    /// The destination the user named, for messages.
    pub display: &'a Path,
    pub container: Container,
    pub layout: PixelLayout,
    pub width: u32,
    pub height: u32,
    /// Exact frame rate as an ffmpeg rational (`r_frame_rate`, e.g. `30000/1001`).
    pub frame_rate: &'a str,
    pub quality: Quality,
    pub x264_preset: &'a str,
    /// The input file and its (first) audio codec, when its audio is to be carried over.
    pub audio: Option<(&'a Path, &'a str)>,
    pub color: ColorTags,
    /// Start the video this many seconds after the audio (the input's own offset).
    pub video_offset_s: f64,
}

pub struct Encoder {
    proc: FfmpegProcess,
    layout: PixelLayout,
    frames: u64,
}

impl Encoder {
    pub fn start(spec: &EncodeSpec<'_>) -> Result<Self> {
        let cmd = command(spec)?;
        let proc = FfmpegProcess::spawn(Tool::Ffmpeg, spec.display, cmd, true, false)?;
        Ok(Encoder {
            proc,
            layout: spec.layout,
            frames: 0,
        })
    }

    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// Send one frame. A write error means ffmpeg stopped: its own error is returned.
    pub fn write_frame(&mut self, frame: &YuvFrame) -> Result<()> {
        let planes: [&[u8]; 4] = match self.layout {
            PixelLayout::Yuv420p => [&frame.y, &frame.u, &frame.v, &[]],
            PixelLayout::Yuva420p => {
                let Some(a) = frame.a.as_deref() else {
                    return Err(Error::Panic(
                        "an alpha output got a frame without an alpha plane".into(),
                    ));
                };
                [&frame.y, &frame.u, &frame.v, a]
            }
            PixelLayout::Gray => [&frame.y, &[], &[], &[]],
        };
        let Some(stdin) = self.proc.stdin() else {
            return Err(Error::Aborted);
        };
        let mut res = Ok(());
        for p in planes {
            if let Err(e) = stdin.write_all(p) {
                res = Err(e);
                break;
            }
        }
        match res {
            Ok(()) => {
                self.frames += 1;
                Ok(())
            }
            Err(e) => Err(self.died(e)),
        }
    }

    /// End of input: wait for ffmpeg to finish the file.
    pub fn finish(mut self) -> Result<()> {
        self.proc.finish()
    }

    /// Stop ffmpeg without finishing the file.
    pub fn kill(&mut self) {
        self.proc.kill();
    }

    #[cold]
    fn died(&mut self, write_err: std::io::Error) -> Error {
        match self.proc.wait() {
            Ok((status, tail)) if !status.success() => self.proc.failure(status, tail),
            _ => Error::io(self.proc.path(), write_err),
        }
    }
}

fn crf(quality: Quality, high: u8, medium: u8, low: u8) -> String {
    match quality {
        Quality::High => high,
        Quality::Medium => medium,
        Quality::Low => low,
    }
    .to_string()
}

fn command(spec: &EncodeSpec<'_>) -> Result<std::process::Command> {
    let mut cmd = Tool::Ffmpeg.command();
    cmd.arg("-y");
    cmd.args(["-f", "rawvideo", "-pix_fmt", spec.layout.pix_fmt()]);
    cmd.args(["-s", &format!("{}x{}", spec.width, spec.height)]);
    cmd.args(["-r", spec.frame_rate, "-i", "pipe:0"]);
    let audio = match spec.audio {
        Some((input, codec)) if !spec.container.is_still() => {
            cmd.arg("-i").arg(input);
            Some(codec)
        }
        _ => None,
    };
    cmd.args(["-map", "0:v:0"]);
    let unsupported = || Error::Setting {
        name: "output",
        message: format!(
            "{}: {:?} output cannot hold {}",
            spec.display.display(),
            spec.container,
            match spec.layout {
                PixelLayout::Yuva420p => "transparency; use .webm, .mov or .png",
                PixelLayout::Gray => "a gray matte; use .mkv (video) or .png (image)",
                PixelLayout::Yuv420p => "this video",
            }
        ),
    };
    use Container as C;
    use PixelLayout as L;
    match (spec.container, spec.layout) {
        (C::Mp4 | C::Mov | C::Mkv, L::Yuv420p) => {
            cmd.args(["-c:v", "libx264", "-preset", spec.x264_preset]);
            cmd.args([
                "-crf",
                &crf(spec.quality, 18, 23, 28),
                "-pix_fmt",
                "yuv420p",
            ]);
        }
        (C::Webm, L::Yuv420p | L::Yuva420p) => {
            let pix = spec.layout.pix_fmt();
            cmd.args(["-c:v", "libvpx-vp9", "-pix_fmt", pix, "-b:v", "0"]);
            cmd.args(["-crf", &crf(spec.quality, 24, 31, 38)]);
            cmd.args(["-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"]);
            // Alt-ref frames are incompatible with the alpha side channel.
            cmd.args(["-auto-alt-ref", "0"]);
        }
        (C::Mov, L::Yuva420p) => {
            // ProRes 4444 (`ap4h`) by prores_ks with 8-bit alpha: our matte is 8-bit, and
            // 255 is then stored as fully opaque (decoders scale 8-bit alpha by bit
            // replication, 255 → 4095/65535). prores_aw is ~4× faster but cannot: it scales
            // the 8-bit alpha to 10 bits by a shift (255 → 1020) and stores 10-bit alpha
            // shifted to 16 bits, so an opaque person read back as 0.997 (1020/1023) or
            // 0.9993 (4092/4095) and let 0.1–0.3 % of the background show in an editor.
            cmd.args(["-c:v", "prores_ks", "-profile:v", "4", "-alpha_bits", "8"]);
            cmd.args(["-pix_fmt", "yuva444p10le", "-vendor", "apl0"]);
        }
        (C::Mkv, L::Gray) => {
            cmd.args(["-c:v", "ffv1", "-level", "3", "-pix_fmt", "gray"]);
        }
        (C::Png, layout) => {
            let (filter, pix) = match layout {
                L::Gray => ("null", "gray"),
                L::Yuv420p => ("scale=in_color_matrix=bt709:in_range=tv", "rgb24"),
                L::Yuva420p => ("scale=in_color_matrix=bt709:in_range=tv", "rgba"),
            };
            cmd.args(["-vf", filter, "-c:v", "png", "-pix_fmt", pix]);
        }
        (C::Jpg, L::Yuv420p) => {
            cmd.args([
                "-vf",
                "scale=in_color_matrix=bt709:in_range=tv,format=rgb24",
            ]);
            cmd.args(["-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj444p"]);
        }
        _ => return Err(unsupported()),
    }
    if spec.video_offset_s > 0.0 && !spec.container.is_still() {
        // (`-itsoffset` on the raw input does not survive into the MP4 here.)
        let shift = format!("setpts=PTS+{:.6}/TB", spec.video_offset_s);
        cmd.args(["-vf", &shift]);
    }
    if !spec.container.is_still() && spec.layout != L::Gray {
        let tags = [
            ("-colorspace", &spec.color.space),
            ("-color_primaries", &spec.color.primaries),
            ("-color_trc", &spec.color.transfer),
        ];
        for (flag, value) in tags {
            if let Some(v) = value {
                cmd.args([flag, v]);
            }
        }
        cmd.args(["-color_range", "tv"]);
    }
    if let Some(codec) = audio {
        cmd.args(["-map", "1:a:0?"]);
        if spec.container.can_copy_audio(codec) {
            cmd.args(["-c:a", "copy"]);
        } else if spec.container == C::Webm {
            cmd.args(["-c:a", "libopus", "-b:a", "128k"]);
        } else {
            cmd.args(["-c:a", "aac", "-b:a", "192k"]);
        }
    }
    if matches!(spec.container, C::Mp4 | C::Mov) {
        cmd.args(["-movflags", "+faststart"]);
    }
    if spec.container.is_still() {
        cmd.args(["-frames:v", "1", "-update", "1"]);
    } else {
        cmd.args(["-fps_mode", "passthrough"]);
    }
    cmd.args(["-f", spec.container.muxer()]).arg(spec.output);
    Ok(cmd)
}
