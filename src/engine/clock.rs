//! The one map from the input file's clock to the output's (issue 24).
//!
//! Real files rarely start at 0: MPEG-TS / AVCHD `.MTS`/`.M2TS` start at the muxer delay
//! (1.4 s) or wherever the recorder's 90 kHz clock was, MP4s written with `-copyts` or cut
//! from fragmented streams start at seconds or hours, WebM with Opus starts at −7 ms (the
//! codec delay), and a TS whose clock wraps starts below zero. Every track the output carries
//! (the re-encoded video and the copied audio and subtitle tracks) is shifted by the *same*
//! amount, the input's [`Clock::origin`] — the earliest first timestamp among those tracks —
//! so output time = input time − origin: the earliest track starts at 0 and every frame keeps
//! its distance to the sound (B-frame reordering, edit lists and variable frame rates are
//! resolved by ffmpeg's demuxer and decoder before a time reaches this map).
//!
//! How the shift is applied, and why here: ffmpeg's default re-timing subtracts a start of
//! its own choosing — for MPEG-TS the earliest of the streams *read*, so an audio-only read
//! of a TS whose video starts first moves the sound to 0 even under `-copyts` when the
//! offset equals minus the file's start — and the Matroska pipe muxer shifts negative times
//! again. So every ffmpeg that reads the input runs with `-copyts` and the one offset
//! [`Clock::input_offset_arg`], which puts the input on the *pipe* time: output time +
//! `PIPE_LEAD`, never negative on a pipe, never equal to minus the file start:
//! - the decoder's frames come back on pipe time; [`Clock::output_ns`] takes the lead off;
//! - the encoder gets frames on pipe time ([`Clock::pipe_ns`]) and the carried tracks read
//!   with the same offset, and takes the lead off the whole output with
//!   [`Clock::output_offset_arg`] (`-output_ts_offset`, applied to every stream alike).

/// Seconds added to every frame time on the decoder's pipe so that none is negative there.
/// Frames more than this before the origin (none in a sane file) are dropped.
const PIPE_LEAD_US: i64 = 10_000_000;

/// The input's time origin, in microseconds (ffprobe prints `start_time` to the µs, the
/// unit of `AV_TIME_BASE` that ffmpeg's `-itsoffset` is parsed in, so no rounding happens
/// between the probe and the shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    origin_us: i64,
}

impl Clock {
    /// A clock whose origin is `origin_s` seconds on the input's timeline.
    pub fn with_origin(origin_s: f64) -> Self {
        let us = if origin_s.is_finite() {
            (origin_s * 1e6).round() as i64
        } else {
            0
        };
        Clock { origin_us: us }
    }

    /// The clock of a file whose carried tracks start at `starts` (seconds, ffprobe's
    /// per-stream `start_time`): the origin is the earliest. No known start: origin 0.
    pub fn from_starts(starts: impl IntoIterator<Item = f64>) -> Self {
        let min = starts
            .into_iter()
            .filter(|s| s.is_finite())
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.min(s))));
        Clock::with_origin(min.unwrap_or(0.0))
    }

    /// The input time (s) that becomes output time 0.
    pub fn origin(&self) -> f64 {
        self.origin_us as f64 / 1e6
    }

    /// `-itsoffset` for every ffmpeg that reads the input (with `-copyts`): the decoder and
    /// the encoder's carried tracks. Input time + this = pipe time.
    pub fn input_offset_arg(&self) -> String {
        seconds_arg(PIPE_LEAD_US - self.origin_us)
    }

    /// `-output_ts_offset` for the encoder: pipe time + this = output time.
    pub fn output_offset_arg(&self) -> String {
        seconds_arg(-PIPE_LEAD_US)
    }

    /// The pipe time (ns) of a frame shown at `output_ns` (≥ 0).
    pub fn pipe_ns(&self, output_ns: i64) -> i64 {
        output_ns.max(0) + PIPE_LEAD_US * 1_000
    }

    /// The output time (ns) of a frame the decoder delivered at `pipe_ns`; `None` for a
    /// frame before the output's start (pre-roll more than the pipe lead before the origin).
    pub fn output_ns(&self, pipe_ns: i64) -> Option<i64> {
        let t = pipe_ns - PIPE_LEAD_US * 1_000;
        (t >= 0).then_some(t)
    }
}

/// Microseconds as an exact ffmpeg time duration (`-1.445333`).
fn seconds_arg(us: i64) -> String {
    let sign = if us < 0 { "-" } else { "" };
    let a = us.unsigned_abs();
    format!("{sign}{}.{:06}", a / 1_000_000, a % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_is_the_earliest_start() {
        let c = Clock::from_starts([1.466667, 1.445333, f64::NAN]);
        assert_eq!(c.origin(), 1.445333);
        assert_eq!(c.input_offset_arg(), "8.554667");
        assert_eq!(c.output_offset_arg(), "-10.000000");
        assert_eq!(Clock::from_starts([]).origin(), 0.0);
        let neg = Clock::from_starts([-0.317689, -0.339022]);
        assert_eq!(neg.input_offset_arg(), "10.339022");
        let hours = Clock::with_origin(3601.378667);
        assert_eq!(hours.input_offset_arg(), "-3591.378667");
    }

    #[test]
    fn pipe_times_map_back_without_the_lead() {
        let c = Clock::with_origin(1.4);
        // A frame 21.3 ms after the origin: the decoder put it at lead + 21.3 ms.
        assert_eq!(c.output_ns(10_021_333_333), Some(21_333_333));
        assert_eq!(c.output_ns(10_000_000_000), Some(0));
        assert_eq!(c.output_ns(9_999_999_999), None);
        assert_eq!(c.pipe_ns(21_333_333), 10_021_333_333);
        assert_eq!(c.output_ns(c.pipe_ns(5)), Some(5));
    }
}
