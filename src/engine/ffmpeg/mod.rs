//! ffmpeg/ffprobe as child processes: locating the tools, the child wrapper, raw-frame
//! inputs pinned to an allow-listed demuxer (`input`), decoding and encoding over pipes (timestamped Matroska framing), and the output-size rule.

mod decode;
mod encode;
pub mod input;
pub mod locate;
pub mod mkv;
mod process;

pub use decode::{DecodeLook, Decoder};
pub use encode::{Carry, ColorTags, Container, EncodeSpec, Encoder, PixelLayout};
pub use process::FfmpegProcess;

use std::ffi::OsString;

/// The two tools the engine drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Ffmpeg,
    Ffprobe,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Ffmpeg => "ffmpeg",
            Tool::Ffprobe => "ffprobe",
        }
    }

    /// The variable that names this tool's path.
    pub fn env_var(self) -> &'static str {
        match self {
            Tool::Ffmpeg => "EBC_FFMPEG",
            Tool::Ffprobe => "EBC_FFPROBE",
        }
    }

    /// Where the tool is: `EBC_FFMPEG` / `EBC_FFPROBE` when set, else PATH, else the usual
    /// install folders (see `locate`). Looked up once per process.
    pub fn path(self) -> Option<std::path::PathBuf> {
        use std::sync::OnceLock;
        static FOUND: [OnceLock<Option<std::path::PathBuf>>; 2] =
            [OnceLock::new(), OnceLock::new()];
        FOUND[self as usize]
            .get_or_init(|| {
                std::env::var_os(self.env_var())
                    .filter(|v| !v.is_empty())
                    .map(std::path::PathBuf::from)
                    .or_else(|| locate::locate(self.name()))
            })
            .clone()
    }

    /// The program to run: [`Tool::path`], else the bare name (spawning it then fails with
    /// `NotFound`, reported as [`crate::engine::Error::ToolMissing`]).
    pub fn program(self) -> OsString {
        self.path()
            .map(OsString::from)
            .unwrap_or_else(|| self.name().into())
    }

    /// A command with the flags every invocation wants: quiet banner, errors only.
    pub fn command(self) -> std::process::Command {
        let mut cmd = std::process::Command::new(self.program());
        cmd.arg("-hide_banner");
        if self == Tool::Ffmpeg {
            cmd.args(["-nostdin", "-nostats"]);
        }
        cmd.args(["-loglevel", "error"]);
        crate::host_os::child::prepare(&mut cmd);
        cmd
    }
}

/// The output frame size for a `width`×`height` (already rotated) input: kept as is, but
/// scaled down to fit `max_long_side` on the long side and 9/16 of it on the short side
/// (1920 → 1920×1080 landscape / 1080×1920 portrait), aspect kept, then rounded to even
/// numbers because YUV 4:2:0 needs them. Never upscales.
pub fn output_size(width: u32, height: u32, max_long_side: u32) -> (u32, u32) {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let long_max = f64::from(max_long_side.max(2));
    let short_max = (long_max * 9.0 / 16.0).floor();
    let (long, short) = if w >= h { (w, h) } else { (h, w) };
    let scale = (long_max / long).min(short_max / short).min(1.0);
    let even = |v: f64, limit: f64| -> u32 {
        // Round to the nearest even number, but never past the limit nor below 2.
        let mut e = ((v / 2.0).round() * 2.0).max(2.0);
        if e > limit {
            e -= 2.0;
        }
        e as u32
    };
    let (lim_w, lim_h) = if w >= h {
        (long_max, short_max)
    } else {
        (short_max, long_max)
    };
    let ow = even(w * scale, lim_w.min(w.floor()));
    let oh = even(h * scale, lim_h.min(h.floor()));
    (ow, oh)
}

#[cfg(test)]
mod tests {
    use super::output_size;

    #[test]
    fn keeps_small_sizes_and_evens_odd_ones() {
        assert_eq!(output_size(1280, 720, 1920), (1280, 720));
        assert_eq!(output_size(641, 361, 1920), (640, 360));
        assert_eq!(output_size(720, 1280, 1920), (720, 1280));
        assert_eq!(output_size(1080, 1920, 1920), (1080, 1920));
    }

    #[test]
    fn scales_down_to_the_product_limit() {
        assert_eq!(output_size(3840, 2160, 1920), (1920, 1080));
        assert_eq!(output_size(2160, 3840, 1920), (1080, 1920));
        assert_eq!(output_size(1920, 1080, 1280), (1280, 720));
        // Wider than 16:9: the long side limits.
        assert_eq!(output_size(4000, 1000, 1920), (1920, 480));
        // Squarer than 16:9: the short side limits.
        assert_eq!(output_size(2000, 2000, 1920), (1080, 1080));
    }
}
