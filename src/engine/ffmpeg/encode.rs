//! Encoding raw frames from a pipe: H.264 (libx264, yuv420p, `+faststart`) or, for kept HDR,
//! HEVC Main 10 (libx265) with its HDR10 metadata, alpha outputs
//! (VP9 `yuva420p` in WebM, ProRes 4444 in MOV, RGBA PNG), lossless gray mattes (FFV1) and
//! stills (PNG/JPEG). Frames go to ffmpeg in a Matroska stream with their presentation times
//! (nanoseconds), so variable frame rates survive. From the input file come every audio
//! track (copied, or re-encoded only when the container cannot hold the codec), the
//! subtitle tracks the container can hold, chapters and global metadata (creation date).

use std::path::Path;
use std::process::ChildStdin;

use super::mkv::MkvWriter;
use super::{FfmpegProcess, Tool, input};
use crate::engine::clock::Clock;
use crate::engine::color::Hdr10;
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

    /// The subtitle codec a track of `codec` is written with in this container, or `None`
    /// when the container cannot hold it (bitmap subtitles outside Matroska, any subtitle
    /// in a still). Text subtitles become `mov_text` in MP4/MOV and WebVTT in WebM.
    pub fn subtitle_codec(self, codec: &str) -> Option<&'static str> {
        const BITMAP: &[&str] = &[
            "dvd_subtitle",
            "hdmv_pgs_subtitle",
            "dvb_subtitle",
            "xsub",
            "dvb_teletext",
            "arib_caption",
        ];
        let text = !BITMAP.contains(&codec) && !codec.is_empty();
        match self {
            Container::Mkv => Some("copy"),
            Container::Mp4 | Container::Mov if text => Some("mov_text"),
            Container::Webm if text => Some("webvtt"),
            _ => None,
        }
    }

    /// Whether an audio stream of `codec` can be copied into this container unchanged.
    pub fn can_copy_audio(self, codec: &str) -> bool {
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

    /// The Matroska `ColourSpace` FourCC of these planes (ffmpeg's raw pixel format tags,
    /// libavcodec/raw.c).
    fn fourcc(self) -> [u8; 4] {
        match self {
            PixelLayout::Yuv420p => *b"I420",
            PixelLayout::Yuva420p => [b'Y', b'4', 11, 8],
            PixelLayout::Gray => *b"Y800",
        }
    }
}

/// Colour tags for the output (or, from the probe, the input's in ffprobe's spelling). Any
/// spelling or an H.273 code point is accepted; the encoder gets code points
/// ([`crate::engine::color::tag_code`]), and what maps to nothing is left out.
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
    /// The output video timebase (numerator, denominator), normally the input video's, so
    /// every frame time given lands on its own tick. `None`: 1/90000.
    pub time_base: Option<(u64, u64)>,
    /// The input's clock: frame times given to [`Encoder::write_frame_at`] are output
    /// times on it, and the carried tracks are read with its offset.
    pub clock: Clock,
    /// What else comes from the input file named in `audio`.
    pub carry: Carry,
    /// Write 10-bit video (`yuv420p10le`), for HDR outputs: HEVC Main 10 (libx265) in
    /// MP4/MOV/MKV, VP9 profile 2 in WebM.
    pub ten_bit: bool,
    /// HDR10 metadata written with 10-bit HEVC (mastering display, content light level).
    pub hdr10: Option<Hdr10>,
}

/// Tracks and metadata carried from the input file (the one named in `EncodeSpec::audio`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Carry {
    /// The codec of every audio track, in order. Empty: the one codec in `audio` is the
    /// first track's and only that track is carried.
    pub audio: Vec<String>,
    /// The codec of every subtitle track, in order; those the container cannot hold
    /// ([`Container::subtitle_codec`]) are left out.
    pub subtitles: Vec<String>,
    /// Titles of the audio tracks (same order as `audio`; `None`: untitled). MP4/MOV keep a
    /// track's name as its handler name (`hdlr`), which is where players read it.
    pub audio_titles: Vec<Option<String>>,
    /// Titles of the subtitle tracks (same order as `subtitles`).
    pub subtitle_titles: Vec<Option<String>>,
    /// Chapters and global metadata (creation date, title, …).
    pub metadata: bool,
    /// Language tag of the video track.
    pub video_language: Option<String>,
}

pub struct Encoder {
    proc: FfmpegProcess,
    writer: Option<MkvWriter<ChildStdin>>,
    layout: PixelLayout,
    frames: u64,
    /// Nanoseconds per frame of `frame_rate`, for frames written without a time.
    frame_ns: f64,
    clock: Clock,
    last_pts_ns: Option<u64>,
}

impl Encoder {
    pub fn start(spec: &EncodeSpec<'_>) -> Result<Self> {
        let cmd = command(spec)?;
        let mut proc = FfmpegProcess::spawn(Tool::Ffmpeg, spec.display, cmd, true, false)?;
        let stdin = proc.take_stdin().ok_or(Error::Aborted)?;
        let writer = match MkvWriter::new(stdin, spec.width, spec.height, spec.layout.fourcc()) {
            Ok(w) => w,
            Err(e) => {
                let mut enc = Encoder::dead(proc, spec);
                return Err(enc.died(e));
            }
        };
        let fps = rational(spec.frame_rate)
            .filter(|f| *f > 0.0)
            .unwrap_or(30.0);
        Ok(Encoder {
            writer: Some(writer),
            frame_ns: 1e9 / fps,
            clock: spec.clock,
            ..Encoder::dead(proc, spec)
        })
    }

    fn dead(proc: FfmpegProcess, spec: &EncodeSpec<'_>) -> Self {
        Encoder {
            proc,
            writer: None,
            layout: spec.layout,
            frames: 0,
            frame_ns: 1e9 / 30.0,
            clock: spec.clock,
            last_pts_ns: None,
        }
    }

    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// Send one frame at the next tick of the constant frame rate in the spec. A write error
    /// means ffmpeg stopped: its own error is returned.
    pub fn write_frame(&mut self, frame: &YuvFrame) -> Result<()> {
        let pts = self.frames as f64 * self.frame_ns;
        self.write_frame_at(frame, pts.round() as i64)
    }

    /// Send one frame shown at `pts_ns` nanoseconds on the output's clock (see
    /// [`EncodeSpec::clock`]). Times must increase; a time that does not (or is negative) is
    /// moved to just after the previous frame, so ffmpeg never drops a frame.
    pub fn write_frame_at(&mut self, frame: &YuvFrame, pts_ns: i64) -> Result<()> {
        let mut pts = self.clock.pipe_ns(pts_ns) as u64;
        if let Some(last) = self.last_pts_ns
            && pts <= last
        {
            pts = last + 1_000;
        }
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
        let Some(writer) = self.writer.as_mut() else {
            return Err(Error::Aborted);
        };
        let n = match self.layout {
            PixelLayout::Yuv420p => 3,
            PixelLayout::Yuva420p => 4,
            PixelLayout::Gray => 1,
        };
        match writer.write_frame(pts, None, &planes[..n]) {
            Ok(()) => {
                self.frames += 1;
                self.last_pts_ns = Some(pts);
                Ok(())
            }
            Err(e) => Err(self.died(e)),
        }
    }

    /// End of input: wait for ffmpeg to finish the file.
    pub fn finish(mut self) -> Result<()> {
        drop(self.writer.take());
        self.proc.finish()
    }

    /// Stop ffmpeg without finishing the file.
    pub fn kill(&mut self) {
        drop(self.writer.take());
        self.proc.kill();
    }

    #[cold]
    fn died(&mut self, write_err: std::io::Error) -> Error {
        drop(self.writer.take());
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

fn rational(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let (n, d) = (n.trim().parse::<f64>().ok()?, d.trim().parse::<f64>().ok()?);
    (d != 0.0 && n.is_finite()).then(|| n / d)
}

fn command(spec: &EncodeSpec<'_>) -> Result<std::process::Command> {
    let mut cmd = Tool::Ffmpeg.command();
    let still = spec.container.is_still();
    cmd.arg("-y");
    if !still {
        // Frame times are on the output's clock, and so are the input's other tracks
        // (shifted by `-itsoffset` below): keep them as they are.
        cmd.arg("-copyts");
    }
    input::restrict_protocols(&mut cmd);
    cmd.args(["-f", "matroska", "-i", "pipe:0"]);
    let audio = match spec.audio {
        Some((from, codec)) if !still => {
            cmd.args(["-itsoffset", &spec.clock.input_offset_arg()]);
            input::add(&mut cmd, from)?;
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
        (C::Mp4 | C::Mov | C::Mkv, L::Yuv420p) if spec.ten_bit => {
            // Kept HDR: HEVC Main 10, what phones, TVs and browsers decode as HDR (H.264
            // High 10 has almost no hardware decoders). `hvc1`: Apple players need it.
            cmd.args(["-c:v", "libx265", "-preset", spec.x264_preset]);
            cmd.args(["-crf", &crf(spec.quality, 20, 24, 28)]);
            let mut params = vec!["log-level=error".to_string()];
            if let Some(h) = &spec.hdr10 {
                params.extend(h.x265_params());
            }
            cmd.args(["-x265-params", &params.join(":")]);
            if spec.container != C::Mkv {
                cmd.args(["-tag:v", "hvc1"]);
            }
        }
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
    if spec.ten_bit && spec.layout == L::Yuv420p && !still {
        cmd.args(["-pix_fmt", "yuv420p10le"]);
        if spec.container == C::Webm {
            cmd.args(["-profile:v", "2"]);
        }
    }
    if !still && spec.layout != L::Gray {
        use crate::engine::color::{TagKind, tag_code};
        let tags = [
            ("-colorspace", TagKind::Matrix, &spec.color.space),
            (
                "-color_primaries",
                TagKind::Primaries,
                &spec.color.primaries,
            ),
            ("-color_trc", TagKind::Transfer, &spec.color.transfer),
        ];
        for (flag, kind, value) in tags {
            // Code points: every ffprobe spelling maps to one, and every encoder takes them.
            if let Some(code) = value.as_deref().and_then(|v| tag_code(kind, v)) {
                cmd.args([flag, &code.to_string()]);
            }
        }
        cmd.args(["-color_range", "tv"]);
    }
    if !still {
        let (num, den) = spec.time_base.unwrap_or((1, 90_000));
        let den = if den > 1_000_000 { 90_000 } else { den.max(1) };
        cmd.args(["-enc_time_base:v", &format!("{}/{den}", num.max(1))]);
        // Frames and carried tracks arrive on the clock's pipe time; the output starts at 0.
        cmd.args(["-output_ts_offset", &spec.clock.output_offset_arg()]);
        if matches!(spec.container, C::Mp4 | C::Mov) {
            // The edit lists that place each track's start are in the movie timescale
            // (1/1000 by default): on the video's own, a start such as a TS's 21.333 ms
            // keeps its tick instead of becoming 21 ms.
            cmd.args(["-video_track_timescale", &den.to_string()]);
            cmd.args(["-movie_timescale", &den.to_string()]);
        }
        if let Some(lang) = &spec.carry.video_language {
            cmd.args(["-metadata:s:v:0", &format!("language={lang}")]);
        }
    }
    if let Some(codec) = audio {
        let codecs: Vec<&str> = if spec.carry.audio.is_empty() {
            // Only the one codec given (none: a clip without sound).
            [codec].into_iter().filter(|c| !c.is_empty()).collect()
        } else {
            spec.carry.audio.iter().map(String::as_str).collect()
        };
        for (i, codec) in codecs.iter().enumerate() {
            cmd.args(["-map", &format!("1:a:{i}?")]);
            let flag = format!("-c:a:{i}");
            if spec.container.can_copy_audio(codec) {
                cmd.args([&flag, "copy"]);
            } else if spec.container == C::Webm {
                cmd.args([&flag, "libopus", &format!("-b:a:{i}"), "128k"]);
            } else {
                cmd.args([&flag, "aac", &format!("-b:a:{i}"), "192k"]);
            }
            if let Some(Some(title)) = spec.carry.audio_titles.get(i)
                && matches!(spec.container, C::Mp4 | C::Mov)
            {
                cmd.args([
                    &format!("-metadata:s:a:{i}"),
                    &format!("handler_name={title}"),
                ]);
            }
        }
        let mut out = 0;
        for (i, codec) in spec.carry.subtitles.iter().enumerate() {
            if let Some(c) = spec.container.subtitle_codec(codec) {
                cmd.args(["-map", &format!("1:s:{i}?"), &format!("-c:s:{out}"), c]);
                if let Some(Some(title)) = spec.carry.subtitle_titles.get(i)
                    && matches!(spec.container, C::Mp4 | C::Mov)
                {
                    cmd.args([
                        &format!("-metadata:s:s:{out}"),
                        &format!("handler_name={title}"),
                    ]);
                }
                out += 1;
            }
        }
        if spec.carry.metadata {
            cmd.args(["-map_metadata", "1", "-map_chapters", "1"]);
        }
    }
    if matches!(spec.container, C::Mp4 | C::Mov) {
        cmd.args(["-movflags", "+faststart"]);
    }
    if still {
        cmd.args(["-frames:v", "1", "-update", "1"]);
    } else {
        cmd.args(["-fps_mode", "passthrough"]);
    }
    cmd.args(["-f", spec.container.muxer()]).arg(spec.output);
    Ok(cmd)
}
