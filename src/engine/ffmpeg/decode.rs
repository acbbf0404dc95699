//! Decoding to raw `yuv420p` frames over a pipe, rotation applied (ffmpeg autorotates) and
//! scaled in ffmpeg to the output size, so the pipeline never converts or resizes a
//! full-resolution frame itself.

use std::io::BufReader;
use std::path::Path;
use std::process::ChildStdout;

use super::mkv::MkvReader;
use super::{FfmpegProcess, Tool, input};
use crate::engine::clock::Clock;
use crate::engine::color::Matrix;
use crate::engine::{Error, Result, YuvFrame};

/// How the main clip's picture is prepared before it reaches the pipeline, beyond its size:
/// decided by the plan from the probe.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodeLook {
    /// ffmpeg filters applied to the decoded picture before scaling (deinterlace, tone
    /// map, orientation), in order.
    pub pre_filters: Vec<String>,
    /// Convert the picture to this YUV matrix (through RGB). `None` carries the input's own
    /// YUV values unchanged (only range and size change).
    pub convert_to: Option<Matrix>,
    /// Deliver the picture's alpha plane in `frame.a` (255 = opaque).
    pub alpha: bool,
    /// The ffmpeg decoder to use instead of the default (`libvpx-vp9` reads VP9 alpha).
    pub decoder: Option<String>,
    /// Leave the container's rotation alone (the pre-filters orient the picture).
    pub no_autorotate: bool,
}

/// Frames from an ffmpeg child: raw planes in a Matroska stream on its stdout, so every
/// frame keeps its presentation time.
pub struct Decoder {
    proc: FfmpegProcess,
    reader: Option<MkvReader<BufReader<ChildStdout>>>,
    width: usize,
    height: usize,
    alpha: bool,
    frames: u64,
    pts_ns: i64,
    ended: bool,
}

/// Where a decoder's frame times come from.
enum Start<'a> {
    /// From 0 at `-ss` seconds into the input (ffmpeg's own re-timing).
    Seek(f64),
    /// The input's timestamps on the clock's pipe time.
    Clock(&'a Clock),
}

/// ffmpeg's Matroska muxer stores timestamps in milliseconds; scaling every pts by 10⁶ makes
/// that field carry nanoseconds, so no timestamp is rounded on the way.
const PTS_TO_NS: &str = "setpts=PTS*1000000";

impl Decoder {
    /// Every frame of the first video stream of `input` (or the one frame of a still image),
    /// upright, scaled to `width`×`height` (even).
    pub fn open(input: &Path, width: u32, height: u32, still: bool) -> Result<Self> {
        Self::open_at(input, width, height, 0.0, still)
    }

    /// Like [`open`](Self::open), starting `start_s` seconds in.
    pub fn open_at(
        input: &Path,
        width: u32,
        height: u32,
        start_s: f64,
        still: bool,
    ) -> Result<Self> {
        let look = DecodeLook {
            convert_to: still.then_some(Matrix::Bt709),
            ..DecodeLook::default()
        };
        Self::open_inner(input, width, height, Start::Seek(start_s), still, &look)
    }

    /// The main clip of a render: `look` says how the picture is prepared, and every
    /// frame's [`pts_ns`](Self::pts_ns) is on `clock`'s pipe time (map it with
    /// [`Clock::output_ns`]), the input's own timestamps shifted by the clock alone.
    pub fn open_timed(
        input: &Path,
        width: u32,
        height: u32,
        still: bool,
        look: &DecodeLook,
        clock: &Clock,
    ) -> Result<Self> {
        Self::open_inner(input, width, height, Start::Clock(clock), still, look)
    }

    fn open_inner(
        input: &Path,
        width: u32,
        height: u32,
        start: Start<'_>,
        still: bool,
        look: &DecodeLook,
    ) -> Result<Self> {
        let mut cmd = Tool::Ffmpeg.command();
        if look.no_autorotate {
            cmd.arg("-noautorotate");
        }
        match start {
            Start::Seek(s) if s > 0.0 => {
                cmd.args(["-ss", &format!("{s:.3}")]);
            }
            Start::Seek(_) => {}
            // The input's own timestamps, shifted by the clock's offset only (ffmpeg's
            // default would subtract a start of its own choosing).
            Start::Clock(c) => {
                cmd.args(["-copyts", "-itsoffset", &c.input_offset_arg()]);
            }
        }
        if let Some(d) = &look.decoder {
            cmd.args(["-c:v", d]);
        }
        input::add(&mut cmd, input)?;
        cmd.args(["-map", "0:v:0", "-an", "-sn", "-dn"]);
        let mut filters = look.pre_filters.clone();
        let scale = format!("scale={width}:{height}:flags=bicubic:out_range=tv");
        match look.convert_to {
            // Through RGB: swscale converts matrices only between RGB and YUV. Stills are
            // RGB (PNG/WebP) or full-range BT.601 (JPEG) anyway.
            Some(m) => {
                filters.push(
                    if look.alpha {
                        "format=gbrap"
                    } else {
                        "format=gbrp"
                    }
                    .into(),
                );
                filters.push(format!("{scale}:out_color_matrix={}", m.swscale_name()));
            }
            None => filters.push(scale),
        }
        let pix_fmt = if look.alpha { "yuva420p" } else { "yuv420p" };
        filters.push(format!("format={pix_fmt}"));
        filters.push(PTS_TO_NS.into());
        cmd.args(["-vf", &filters.join(",")]);
        if still {
            cmd.args(["-frames:v", "1"]);
        }
        cmd.args(["-fps_mode", "passthrough"]);
        Self::spawn(input, cmd, width, height, look.alpha)
    }

    /// A backdrop video scaled to cover `width`×`height` (cropped, centred), resampled to
    /// the clip's `frame_rate` (an ffmpeg rational such as `30000/1001`) and looped forever.
    pub fn open_looped_cover(
        input: &Path,
        width: u32,
        height: u32,
        frame_rate: &str,
    ) -> Result<Self> {
        let mut cmd = Tool::Ffmpeg.command();
        cmd.args(["-stream_loop", "-1"]);
        input::add(&mut cmd, input)?;
        cmd.args(["-map", "0:v:0", "-an", "-sn", "-dn"]);
        let filter = format!(
            "fps={frame_rate},scale={width}:{height}:force_original_aspect_ratio=increase:flags=bicubic:out_range=tv,crop={width}:{height},setsar=1,format=yuv420p,{PTS_TO_NS}"
        );
        cmd.args(["-vf", &filter]);
        Self::spawn(input, cmd, width, height, false)
    }

    /// The first video stream of `input` from `start_s` for at most `duration_s` seconds
    /// (upright: ffmpeg autorotates first), through `filter` — an ffmpeg filter graph with
    /// one input and one output, which must produce `width`×`height` frames. Used by the
    /// timeline renderer for trims, frame-rate normalisation and re-framing on a canvas.
    pub fn open_filtered(
        input: &Path,
        start_s: f64,
        duration_s: Option<f64>,
        filter: &str,
        width: u32,
        height: u32,
    ) -> Result<Self> {
        let mut cmd = Tool::Ffmpeg.command();
        if start_s > 0.0 {
            cmd.args(["-ss", &format!("{start_s:.3}")]);
        }
        if let Some(d) = duration_s {
            cmd.args(["-t", &format!("{d:.3}")]);
        }
        input::add(&mut cmd, input)?;
        cmd.args(["-map", "0:v:0", "-an", "-sn", "-dn"]);
        cmd.args(["-vf", &format!("{filter},format=yuv420p,{PTS_TO_NS}")]);
        Self::spawn(input, cmd, width, height, false)
    }

    fn spawn(
        input: &Path,
        mut cmd: std::process::Command,
        width: u32,
        height: u32,
        alpha: bool,
    ) -> Result<Self> {
        let pix_fmt = if alpha { "yuva420p" } else { "yuv420p" };
        cmd.args(["-pix_fmt", pix_fmt, "-c:v", "rawvideo"]);
        // No CRC over every cluster (pipe to us); raw formats Matroska has no FourCC for
        // (yuva420p) go in VFW mode, which changes nothing in the block payload read here.
        cmd.args(["-write_crc32", "0", "-allow_raw_vfw", "1"]);
        cmd.args(["-f", "matroska", "pipe:1"]);
        let mut proc = FfmpegProcess::spawn(Tool::Ffmpeg, input, cmd, false, true)?;
        let reader = proc
            .take_stdout()
            .map(|out| MkvReader::new(BufReader::with_capacity(1 << 16, out)));
        Ok(Decoder {
            proc,
            reader,
            width: width as usize,
            height: height as usize,
            alpha,
            frames: 0,
            pts_ns: 0,
            ended: false,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Frames delivered so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// A frame buffer of this decoder's size (with an alpha plane when it delivers one).
    pub fn new_frame(&self) -> YuvFrame {
        let mut f = YuvFrame::new(self.width, self.height);
        if self.alpha {
            f.a = Some(vec![255; self.width * self.height]);
        }
        f
    }

    /// Presentation time of the last frame read, in nanoseconds on the input's clock.
    pub fn pts_ns(&self) -> i64 {
        self.pts_ns
    }

    /// Fill `frame` with the next frame; `Ok(false)` at the end of the stream (a partial
    /// last frame counts as the end). Call [`finish`](Self::finish) afterwards for the exit
    /// status. [`pts_ns`](Self::pts_ns) then gives the frame's time.
    pub fn read_frame(&mut self, frame: &mut YuvFrame) -> Result<bool> {
        if self.ended {
            return Ok(false);
        }
        if frame.width != self.width
            || frame.height != self.height
            || frame.a.is_some() != self.alpha
        {
            *frame = self.new_frame();
        }
        let path = self.proc.path().to_path_buf();
        let Some(reader) = self.reader.as_mut() else {
            self.ended = true;
            return Ok(false);
        };
        let got = match frame.a.as_mut() {
            Some(a) => reader.next_frame(&mut [&mut frame.y, &mut frame.u, &mut frame.v, a]),
            None => reader.next_frame(&mut [&mut frame.y, &mut frame.u, &mut frame.v]),
        };
        match got.map_err(|e| Error::io(&path, e))? {
            Some(t) => {
                // Ticks are ms as the muxer sees them, ns after `PTS_TO_NS`.
                self.pts_ns = (i128::from(t.ticks) * i128::from(t.scale_ns) / 1_000_000) as i64;
                self.frames += 1;
                Ok(true)
            }
            None => {
                self.ended = true;
                Ok(false)
            }
        }
    }

    /// Wait for ffmpeg after the end of the stream. Ok carries ffmpeg's stderr tail (decode
    /// errors it survived, e.g. a truncated file); Err when it exited with a failure.
    pub fn finish(&mut self) -> Result<String> {
        drop(self.reader.take());
        let (status, tail) = self.proc.wait()?;
        if status.success() {
            Ok(tail)
        } else {
            Err(self.proc.failure(status, tail))
        }
    }

    /// Stop ffmpeg now (the rest of the stream is not wanted).
    pub fn kill(&mut self) {
        drop(self.reader.take());
        self.proc.kill();
    }
}
