//! Decoding to raw `yuv420p` frames over a pipe, rotation applied (ffmpeg autorotates) and
//! scaled in ffmpeg to the output size, so the pipeline never converts or resizes a
//! full-resolution frame itself.

use std::io::Read;
use std::path::Path;

use super::{FfmpegProcess, Tool};
use crate::engine::{Error, Result, YuvFrame};

pub struct Decoder {
    proc: FfmpegProcess,
    width: usize,
    height: usize,
    frames: u64,
    ended: bool,
}

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
        let mut cmd = Tool::Ffmpeg.command();
        if start_s > 0.0 {
            cmd.args(["-ss", &format!("{start_s:.3}")]);
        }
        cmd.arg("-i").arg(input);
        cmd.args(["-map", "0:v:0", "-an", "-sn", "-dn"]);
        let filter = if still {
            // Stills are RGB (PNG/WebP) or full-range BT.601 (JPEG): go through RGB so the
            // frame ends up in the BT.709 limited range the rest of the engine assumes.
            format!(
                "format=rgb24,scale={width}:{height}:flags=bicubic:out_color_matrix=bt709:out_range=tv"
            )
        } else {
            format!("scale={width}:{height}:flags=bicubic:out_range=tv")
        };
        cmd.args(["-vf", &filter]);
        if still {
            cmd.args(["-frames:v", "1"]);
        }
        cmd.args(["-fps_mode", "passthrough"]);
        cmd.args(["-pix_fmt", "yuv420p", "-f", "rawvideo", "pipe:1"]);
        Self::spawn(input, cmd, width, height)
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
        cmd.args(["-stream_loop", "-1"]).arg("-i").arg(input);
        cmd.args(["-map", "0:v:0", "-an", "-sn", "-dn"]);
        let filter = format!(
            "fps={frame_rate},scale={width}:{height}:force_original_aspect_ratio=increase:flags=bicubic:out_range=tv,crop={width}:{height},setsar=1"
        );
        cmd.args(["-vf", &filter]);
        cmd.args(["-pix_fmt", "yuv420p", "-f", "rawvideo", "pipe:1"]);
        Self::spawn(input, cmd, width, height)
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
        cmd.arg("-i").arg(input);
        cmd.args(["-map", "0:v:0", "-an", "-sn", "-dn", "-vf", filter]);
        cmd.args(["-pix_fmt", "yuv420p", "-f", "rawvideo", "pipe:1"]);
        Self::spawn(input, cmd, width, height)
    }

    fn spawn(input: &Path, cmd: std::process::Command, width: u32, height: u32) -> Result<Self> {
        let proc = FfmpegProcess::spawn(Tool::Ffmpeg, input, cmd, false, true)?;
        Ok(Decoder {
            proc,
            width: width as usize,
            height: height as usize,
            frames: 0,
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

    /// A frame buffer of this decoder's size.
    pub fn new_frame(&self) -> YuvFrame {
        YuvFrame::new(self.width, self.height)
    }

    /// Fill `frame` with the next frame; `Ok(false)` at the end of the stream (a partial
    /// last frame counts as the end). Call [`finish`](Self::finish) afterwards for the exit
    /// status.
    pub fn read_frame(&mut self, frame: &mut YuvFrame) -> Result<bool> {
        if self.ended {
            return Ok(false);
        }
        if frame.width != self.width || frame.height != self.height {
            *frame = self.new_frame();
        }
        let path = self.proc.path().to_path_buf();
        let Some(out) = self.proc.stdout() else {
            self.ended = true;
            return Ok(false);
        };
        for plane in [&mut frame.y, &mut frame.u, &mut frame.v] {
            let n = read_full(out, plane).map_err(|e| Error::io(&path, e))?;
            if n < plane.len() {
                self.ended = true;
                return Ok(false);
            }
        }
        self.frames += 1;
        Ok(true)
    }

    /// Wait for ffmpeg after the end of the stream. Ok carries ffmpeg's stderr tail (decode
    /// errors it survived, e.g. a truncated file); Err when it exited with a failure.
    pub fn finish(&mut self) -> Result<String> {
        let (status, tail) = self.proc.wait()?;
        if status.success() {
            Ok(tail)
        } else {
            Err(self.proc.failure(status, tail))
        }
    }

    /// Stop ffmpeg now (the rest of the stream is not wanted).
    pub fn kill(&mut self) {
        self.proc.kill();
    }
}

/// Read until `buf` is full or the stream ends; the number of bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
