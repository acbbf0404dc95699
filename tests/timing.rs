//! Issue 24: real files don't start at zero. Every kind of start — MPEG-TS and M2TS muxer
//! delays, `-output_ts_offset` in MP4/MOV/MKV/WebM, hours-long clocks, a TS clock wrapping
//! below zero, B-frames on and off, audio starting before or after the video, a TS cut
//! mid-GOP — checked by presentation times, not counts: every output frame sits at its
//! input time minus the input's common start (± one tick), the audio keeps its distance to
//! the video, and the video lasts as long as it did. Inputs are made here with ffmpeg from
//! the fixture clip, small (160x90, 2 s) so the suite stays cheap.

use std::path::{Path, PathBuf};
use std::process::Command;

use ebc::engine::backdrop::{Backdrop, BackdropSpec};
use ebc::engine::{ReplaceOptions, replace};

use crate::clip_util::*;

/// Run ffmpeg (errors only) in `dir`; panics with its stderr on failure.
pub(crate) fn ff(dir: &Path, args: &[&str]) {
    let out = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("running ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A 2 s 160x90 30 fps H.264 + AAC clip of the fixture person, `bframes` B-frames, GOP `gop`.
pub(crate) fn base_clip(dir: &Path, name: &str, bframes: u32, gop: u32, seconds: &str) -> PathBuf {
    let t = clip("talking_720p.mp4");
    let (bf, g) = (bframes.to_string(), gop.to_string());
    ff(
        dir,
        &[
            "-t",
            seconds,
            "-i",
            t.to_str().unwrap(),
            "-vf",
            "scale=160:90",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-bf",
            &bf,
            "-g",
            &g,
            "-keyint_min",
            &g,
            "-sc_threshold",
            "0",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            name,
        ],
    );
    dir.join(name)
}

fn green() -> Backdrop {
    Backdrop {
        spec: BackdropSpec::Color { r: 0, g: 200, b: 0 },
        description: "test green".into(),
    }
}

/// Render `input` to `out`; the warnings.
pub(crate) fn render(input: &Path, out: &Path) -> Vec<String> {
    let mut o = ReplaceOptions::new(input.to_path_buf(), out.to_path_buf(), green());
    o.x264_preset = "ultrafast".into();
    o.matte = crate::support::test_matte_options();
    let mut rec = Recorder::default();
    let report =
        replace(&o, &mut rec).unwrap_or_else(|e| panic!("replace {} failed: {e}", input.display()));
    report.warnings
}

/// What the timing checks read from a file.
#[derive(Debug)]
pub(crate) struct Times {
    /// Decoded video frame times (s), in presentation order.
    pub frames: Vec<f64>,
    /// Start (s) of the video stream and of the first audio stream.
    pub video_start: f64,
    pub audio_start: Option<f64>,
    /// Audio stream duration (s).
    pub audio_duration: Option<f64>,
    /// The first audio stream's codec.
    pub audio_codec: Option<String>,
    /// The video stream's tick (s).
    pub tick: f64,
}

impl Times {
    /// Video duration: first frame to the end of the last (one mean frame time after it).
    pub fn video_duration(&self) -> f64 {
        let n = self.frames.len();
        if n < 2 {
            return 0.0;
        }
        let span = self.frames[n - 1] - self.frames[0];
        span + span / (n - 1) as f64
    }

    /// The common start: the earliest of the carried tracks' starts.
    pub fn origin(&self) -> f64 {
        self.audio_start
            .map_or(self.video_start, |a| a.min(self.video_start))
    }
}

fn num(v: &serde_json::Value) -> Option<f64> {
    v.as_str().and_then(|s| s.parse().ok())
}

pub(crate) fn times(path: &Path) -> Times {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args([
            "-show_entries",
            "stream=codec_type,codec_name,start_time,duration,time_base",
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let streams = j["streams"].as_array().expect("streams");
    let v = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .expect("video stream");
    let a = streams.iter().find(|s| s["codec_type"] == "audio");
    let tb = v["time_base"].as_str().unwrap_or("1/90000");
    let (n, d) = tb.split_once('/').unwrap();
    let tick = n.parse::<f64>().unwrap() / d.parse::<f64>().unwrap();
    let out = Command::new("ffprobe")
        .args(["-v", "quiet", "-select_streams", "v:0", "-of", "csv=p=0"])
        .args(["-show_entries", "frame=best_effort_timestamp_time"])
        .arg(path)
        .output()
        .expect("ffprobe frames");
    let frames: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    // No stream start (APNG): the first frame's.
    let video_start = num(&v["start_time"])
        .or_else(|| frames.first().copied())
        .unwrap_or(f64::NAN);
    Times {
        frames,
        video_start,
        audio_start: a.and_then(|a| num(&a["start_time"])),
        audio_duration: a.and_then(|a| num(&a["duration"])),
        audio_codec: a.and_then(|a| a["codec_name"].as_str().map(String::from)),
        tick,
    }
}

/// One row of the timing table: the facts of the output next to the input's.
pub(crate) fn row(what: &str, input: &Times, out: &Times) -> String {
    let av = |t: &Times| t.audio_start.map_or(f64::NAN, |a| t.video_start - a);
    format!(
        "{what}: in origin {:.6} s, {} frames, video {:.3} s, A/V start {:+.4} s | out {} frames, first {:.6} last {:.6} s, video {:.3} s, audio {:.3} s, A/V start {:+.4} s",
        input.origin(),
        input.frames.len(),
        input.video_duration(),
        av(input),
        out.frames.len(),
        out.frames.first().copied().unwrap_or(f64::NAN),
        out.frames.last().copied().unwrap_or(f64::NAN),
        out.video_duration(),
        out.audio_duration.unwrap_or(f64::NAN),
        av(out)
    )
}

/// The timing checks: every output frame at (its input time − the input's origin) ± one
/// tick, the video as long as the input's, the audio's start against the video kept.
/// `subset`: the input's first frames may be missing from the output (a damaged start).
pub(crate) fn assert_times_kept(what: &str, input: &Times, out: &Times, subset: bool) {
    let line = row(what, input, out);
    eprintln!("{line}");
    let tol = input.tick.max(out.tick) + 2e-6;
    let origin = input.origin();
    let want: Vec<f64> = input.frames.iter().map(|t| t - origin).collect();
    if subset {
        assert!(
            out.frames.len() * 10 >= want.len() * 9 && out.frames.len() <= want.len(),
            "{line}: {} of {} frames",
            out.frames.len(),
            want.len()
        );
        for (i, t) in out.frames.iter().enumerate() {
            let near = want.iter().any(|w| (w - t).abs() <= tol);
            assert!(
                near,
                "{line}: output frame {i} at {t:.6} s matches no input time"
            );
        }
        let last = want.last().unwrap();
        assert!(
            (out.frames.last().unwrap() - last).abs() <= tol,
            "{line}: last frame"
        );
    } else {
        assert_eq!(out.frames.len(), want.len(), "{line}: frame count");
        for (i, (w, t)) in want.iter().zip(&out.frames).enumerate() {
            assert!(
                (w - t).abs() <= tol,
                "{line}: frame {i} at {t:.6} s, input {:.6} s − origin {origin:.6} = {w:.6} s (± {tol:.6})",
                w + origin
            );
        }
        assert!(
            (input.video_duration() - out.video_duration()).abs() <= tol * 2.0,
            "{line}: video duration"
        );
    }
    if let (Some(ai), Some(ao)) = (input.audio_start, out.audio_start) {
        let (di, dout) = (input.video_start - ai, out.video_start - ao);
        // Opus: ffprobe's start includes the pre-skip (-6.5 ms), which ffmpeg's muxers write
        // again on the copied track (CodecDelay / the MP4 edit list), so the reported start
        // moves by up to that much although the packets are shifted like the video.
        let opus = if input.audio_codec.as_deref() == Some("opus") {
            0.0075
        } else {
            0.0
        };
        if !subset {
            assert!(
                (di - dout).abs() <= tol + 0.001 + opus,
                "{line}: video starts {di:+.4} s after the audio in the input, {dout:+.4} s in the output"
            );
        }
        // The audio is carried unchanged: its start is shifted by the same origin.
        assert!(
            (ao - (ai - origin)).abs() <= 0.03,
            "{line}: audio starts at {ao:.4} s, input {ai:.4} − {origin:.4}"
        );
    }
}

/// Make `name` from `src` with `args` (between input and output), render it to `out_name`,
/// and check its times.
fn case(dir: &Path, src: &Path, name: &str, args: &[&str], out_name: &str) {
    let mut full = vec!["-i", src.to_str().unwrap(), "-map", "0", "-c", "copy"];
    full.extend_from_slice(args);
    full.push(name);
    ff(dir, &full);
    check(dir, name, out_name);
}

fn check(dir: &Path, name: &str, out_name: &str) {
    let input = dir.join(name);
    let out = dir.join(out_name);
    let warnings = render(&input, &out);
    assert!(warnings.is_empty(), "{name}: {warnings:?}");
    assert_times_kept(name, &times(&input), &times(&out), false);
}

mod mpegts {
    use super::*;

    #[test]
    fn ts_remux_with_b_frames_starts_at_the_muxer_delay() {
        let dir = tempdir();
        let d = dir.path();
        let b = base_clip(d, "b.mp4", 2, 30, "2");
        case(d, &b, "clip.ts", &["-f", "mpegts"], "out.mp4");
    }

    #[test]
    fn ts_without_b_frames() {
        let dir = tempdir();
        let d = dir.path();
        let b = base_clip(d, "b.mp4", 0, 30, "2");
        case(d, &b, "nob.ts", &["-f", "mpegts"], "out.mp4");
    }

    #[test]
    fn ts_near_zero_start_with_negative_first_dts() {
        let dir = tempdir();
        let d = dir.path();
        let b = base_clip(d, "b.mp4", 2, 30, "2");
        case(
            d,
            &b,
            "z.ts",
            &["-muxdelay", "0", "-muxpreload", "0", "-f", "mpegts"],
            "out.mp4",
        );
    }

    #[test]
    fn ts_at_ten_seconds_and_at_an_hour() {
        let dir = tempdir();
        let d = dir.path();
        let b = base_clip(d, "b.mp4", 2, 30, "2");
        case(
            d,
            &b,
            "t10.ts",
            &["-output_ts_offset", "10", "-f", "mpegts"],
            "o10.mp4",
        );
        case(
            d,
            &b,
            "t3600.ts",
            &["-output_ts_offset", "3600", "-f", "mpegts"],
            "o3600.mkv",
        );
    }

    /// The 33-bit 90 kHz clock wraps at 95443.7 s; a recording that starts just before the
    /// wrap reads as starting below zero.
    #[test]
    fn ts_whose_clock_wraps_starts_below_zero() {
        let dir = tempdir();
        let d = dir.path();
        let b = base_clip(d, "b.mp4", 2, 30, "2");
        case(
            d,
            &b,
            "wrap.ts",
            &["-output_ts_offset", "95442", "-f", "mpegts"],
            "out.mp4",
        );
        let t = times(&d.join("wrap.ts"));
        assert!(t.origin() < -0.2, "the recipe starts below zero: {t:?}");
    }

    /// AVCHD camcorder style: M2TS (192-byte packets), H.264 + AC-3 5.1, start 2.8 s.
    #[test]
    fn m2ts_camcorder_with_ac3_surround() {
        let dir = tempdir();
        let d = dir.path();
        let t = clip("talking_720p.mp4");
        ff(
            d,
            &[
                "-t",
                "2",
                "-i",
                t.to_str().unwrap(),
                "-f",
                "lavfi",
                "-t",
                "2",
                "-i",
                "sine=f=440:sample_rate=48000",
                "-filter_complex",
                "[0:v]scale=160:90[v];[1:a]pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0[a]",
                "-map",
                "[v]",
                "-map",
                "[a]",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-c:a",
                "ac3",
                "-b:a",
                "384k",
                "-output_ts_offset",
                "1.4",
                "-f",
                "mpegts",
                "-mpegts_m2ts_mode",
                "1",
                "cam.m2ts",
            ],
        );
        check(d, "cam.m2ts", "out.mp4");
        let t = times(&d.join("cam.m2ts"));
        assert!(t.origin() > 2.0, "the recipe starts late: {t:?}");
    }

    /// Audio 0.3 s before the video, and 0.3 s after it, in a TS starting at 5 s.
    #[test]
    fn audio_starting_before_or_after_the_video() {
        let dir = tempdir();
        let d = dir.path();
        let b = base_clip(d, "b.mp4", 2, 30, "2");
        let b = b.to_str().unwrap();
        for (name, v_off, a_off) in [("a_first.ts", "0.3", "0"), ("v_first.ts", "0", "0.3")] {
            ff(
                d,
                &[
                    "-itsoffset",
                    v_off,
                    "-i",
                    b,
                    "-itsoffset",
                    a_off,
                    "-i",
                    b,
                    "-map",
                    "0:v",
                    "-map",
                    "1:a",
                    "-c",
                    "copy",
                    "-output_ts_offset",
                    "5",
                    "-f",
                    "mpegts",
                    name,
                ],
            );
            check(d, name, &format!("{name}.mp4"));
        }
    }

    /// A DVR/IP-camera cut: the first packets are P/B frames of a GOP whose I-frame is gone.
    /// The "damaged" warning is fair there; the times of what decodes must still be right.
    #[test]
    fn ts_cut_mid_gop_keeps_the_times_of_what_decodes() {
        let dir = tempdir();
        let d = dir.path();
        let b = base_clip(d, "b.mp4", 2, 45, "3");
        let b = b.to_str().unwrap();
        ff(d, &["-i", b, "-c", "copy", "-f", "mpegts", "full.ts"]);
        let bytes = std::fs::read(d.join("full.ts")).unwrap();
        let n = bytes.len() / 188;
        let skip = n * 30 / 100;
        std::fs::write(d.join("mid.ts"), &bytes[skip * 188..]).unwrap();
        let out = d.join("out.mp4");
        render(&d.join("mid.ts"), &out);
        let (ti, to) = (times(&d.join("mid.ts")), times(&out));
        assert_times_kept("mid-GOP TS", &ti, &to, true);
        let span = to.frames.last().unwrap() - to.frames.first().unwrap();
        assert!(span > 1.0, "the frames spread over {span:.3} s");
    }
}

mod containers {
    use super::*;

    #[test]
    fn mp4_and_mov_with_an_output_ts_offset() {
        let dir = tempdir();
        let d = dir.path();
        let b = base_clip(d, "b.mp4", 2, 30, "2");
        case(d, &b, "o10.mp4", &["-output_ts_offset", "10"], "out10.mp4");
        case(
            d,
            &b,
            "o0067.mp4",
            &["-output_ts_offset", "0.067"],
            "out0067.mp4",
        );
        case(d, &b, "o14.mov", &["-output_ts_offset", "1.4"], "out14.mov");
    }

    /// footage-2 #11: no edit list, so the B-frame delay shows as a video start of 67 ms
    /// against audio at 0; kept as is.
    #[test]
    fn mp4_without_an_edit_list_keeps_the_b_frame_delay() {
        let dir = tempdir();
        let d = dir.path();
        let b = base_clip(d, "b.mp4", 3, 30, "2");
        case(d, &b, "noelst.mp4", &["-use_editlist", "0"], "out.mp4");
        let t = times(&d.join("noelst.mp4"));
        assert!(
            t.video_start > 0.05,
            "the recipe starts the video late: {t:?}"
        );
    }

    #[test]
    fn mkv_with_offsets_from_seconds_to_hours() {
        let dir = tempdir();
        let d = dir.path();
        let b = base_clip(d, "b.mp4", 0, 30, "2");
        case(d, &b, "o14.mkv", &["-output_ts_offset", "1.4"], "out14.mp4");
        case(
            d,
            &b,
            "o3600.mkv",
            &["-output_ts_offset", "3600.5"],
            "out3600.mp4",
        );
    }

    /// WebM: VP9 + Opus, whose codec delay makes the audio start at −7 ms.
    #[test]
    fn webm_with_opus_and_an_offset() {
        let dir = tempdir();
        let d = dir.path();
        let t = clip("talking_720p.mp4");
        ff(
            d,
            &[
                "-t",
                "2",
                "-i",
                t.to_str().unwrap(),
                "-vf",
                "scale=160:90",
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-c:a",
                "libopus",
                "base.webm",
            ],
        );
        check(d, "base.webm", "out0.webm");
        let b = d.join("base.webm");
        case(
            d,
            &b,
            "o14.webm",
            &["-output_ts_offset", "1.4"],
            "out14.mp4",
        );
    }
}
