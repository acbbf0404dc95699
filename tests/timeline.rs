//! The timeline renderer on the fixture clips: several clips of different sizes in order on
//! one canvas, trims, re-framing onto another aspect ratio over a backdrop image, titles
//! only in their span, background music mixed with the clips' own sound, cancellation.

use std::path::Path;
use std::process::Command;

use ebc::engine::backdrop::{Backdrop, BackdropSpec};
use ebc::engine::matte::{MatteMode, MatteOptions};
use ebc::engine::timeline::{
    TimelineClip, TimelineMusic, TimelineOptions, TimelineTitle, TitlePosition,
};
use ebc::engine::{Error, NoProgress, ReplaceOptions, render_timeline, replace};

use crate::clip_util::*;

/// One frame at `t_s` as packed RGB.
pub fn rgb_at(path: &Path, t_s: f64, w: usize, h: usize) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{t_s:.3}"), "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("running ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout.len(),
        w * h * 3,
        "frame at {t_s} of {}",
        path.display()
    );
    out.stdout
}

/// Mono samples at 8 kHz of the span [from, to) s.
pub fn samples(path: &Path, from: f64, to: f64) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{from:.3}"), "-t"])
        .arg(format!("{:.3}", to - from))
        .arg("-i")
        .arg(path)
        .args(["-vn", "-ac", "1", "-ar", "8000", "-f", "f32le", "-"])
        .output()
        .expect("running ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Amplitude of the `hz` component (Goertzel), 8 kHz samples.
pub fn tone(s: &[f32], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / 8000.0;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in s {
        let s0 = f64::from(x) + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    2.0 * power.sqrt() / s.len().max(1) as f64
}

/// A sine tone file (any ffmpeg-writable audio extension).
pub fn sine(path: &Path, hz: u32, seconds: f64) {
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency={hz}:sample_rate=44100:duration={seconds}"
        ))
        .arg(path)
        .status()
        .expect("ffmpeg");
    assert!(st.success());
}

/// A solid-colour PNG.
pub fn solid_png(path: &Path, rgb: [u8; 3], w: u32, h: u32) {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb(rgb));
    img.save(path).expect("png");
}

fn close(px: &[u8], want: [u8; 3], tol: i32) -> bool {
    px.iter()
        .zip(want)
        .all(|(&a, b)| (i32::from(a) - i32::from(b)).abs() <= tol)
}

fn px(frame: &[u8], w: usize, x: usize, y: usize) -> &[u8] {
    &frame[(y * w + x) * 3..(y * w + x) * 3 + 3]
}

#[test]
fn two_clips_trimmed_reframed_titled_with_music() {
    let dir = tempdir();
    let blue = dir.path().join("Sky Blue.PNG");
    solid_png(&blue, [30, 90, 220], 400, 300);
    let music = dir.path().join("lofi.mp3");
    sine(&music, 1000, 1.3);
    let out = dir.path().join("timeline.mp4");
    let mut opts = TimelineOptions::new(
        out.clone(),
        vec![
            TimelineClip {
                input: clip("talking_720p.mp4"),
                start_s: 1.0,
                duration_s: Some(3.0),
                backdrop: Some(Backdrop::from_spec(BackdropSpec::Image(blue.clone()))),
            },
            TimelineClip {
                input: clip("noaudio_640x360.mp4"),
                start_s: 0.0,
                duration_s: None,
                backdrop: None,
            },
        ],
    );
    opts.aspect = Some((9, 16));
    opts.max_long_side = 640;
    opts.x264_preset = "ultrafast".into();
    opts.matte = crate::support::test_matte_options();
    opts.titles.push(TimelineTitle {
        text: "Urban Dreams".into(),
        start_s: 0.0,
        end_s: 1.5,
        position: TitlePosition::Top,
        size: 0.1,
        color: (255, 255, 255),
        fade_s: 0.0,
    });
    opts.music = Some(TimelineMusic {
        input: music,
        volume: 0.35,
        looped: true,
        fade_in_s: 0.0,
        fade_out_s: 0.0,
        duck: false,
        start_s: 0.0,
        end_s: None,
    });
    let report = render_timeline(&opts, &mut NoProgress).expect("render");
    assert_eq!((report.width, report.height), (360, 640));
    assert_eq!(report.frames, 150, "3 s + 2 s at 30 fps");

    let json = probe_json(&out);
    let v = stream(&json, "video").unwrap();
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(360), Some(640))
    );
    let audio: Vec<_> = json["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["codec_type"] == "audio")
        .collect();
    assert_eq!(audio.len(), 1, "one mixed audio stream");
    let dur: f64 = json["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((dur - 5.0).abs() < 0.1, "duration {dur}");
    assert!(listing(dir.path()).iter().all(|n| !n.starts_with(".ebc-")));

    // Title only in its span; backdrop around the person.
    let f0 = rgb_at(&out, 0.5, 360, 640);
    let f2 = rgb_at(&out, 2.5, 360, 640);
    let white = |f: &[u8]| {
        (40..100)
            .flat_map(|y| (0..360).map(move |x| (x, y)))
            .filter(|&(x, y)| close(px(f, 360, x, y), [255, 255, 255], 30))
            .count()
    };
    assert!(white(&f0) > 300, "title drawn: {} white px", white(&f0));
    assert_eq!(white(&f2), 0, "title gone after 1.5 s");
    for (x, y) in [(6, 320), (353, 320), (6, 630), (353, 630)] {
        assert!(
            close(px(&f2, 360, x, y), [30, 90, 220], 40),
            "backdrop at ({x},{y}): {:?}",
            px(&f2, 360, x, y)
        );
    }
    // The person is there, in the middle (not backdrop-coloured).
    let centre = px(&f2, 360, 180, 400);
    assert!(
        !close(centre, [30, 90, 220], 60),
        "person at centre: {centre:?}"
    );

    // Sound: the first clip's 440/660 Hz tones and the 1 kHz music; after it, music only.
    let a = samples(&out, 0.5, 2.5);
    let (speech, bgm) = (tone(&a, 440.0) + tone(&a, 660.0), tone(&a, 1000.0));
    assert!(
        speech > 0.02 && bgm > 0.02,
        "speech {speech:.3}, music {bgm:.3}"
    );
    let b = samples(&out, 3.3, 4.8);
    let (speech, bgm) = (tone(&b, 440.0) + tone(&b, 660.0), tone(&b, 1000.0));
    assert!(
        speech < 0.01 && bgm > 0.02,
        "speech {speech:.3}, music {bgm:.3}"
    );
}

#[test]
fn cancel_and_bad_trims_leave_nothing() {
    let dir = tempdir();
    let out = dir.path().join("t.mp4");
    let mut opts = TimelineOptions::new(
        out.clone(),
        vec![TimelineClip {
            input: clip("noaudio_640x360.mp4"),
            start_s: 0.0,
            duration_s: None,
            backdrop: Some(Backdrop::from_spec(BackdropSpec::Color {
                r: 0,
                g: 200,
                b: 0,
            })),
        }],
    );
    opts.x264_preset = "ultrafast".into();
    opts.matte = crate::support::test_matte_options();
    let mut rec = Recorder {
        cancel_after: Some(5),
        ..Recorder::default()
    };
    assert!(matches!(
        render_timeline(&opts, &mut rec),
        Err(Error::Cancelled)
    ));
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));

    opts.clips[0].start_s = 9.0;
    let e = render_timeline(&opts, &mut NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("noaudio_640x360.mp4") && e.contains("trim"),
        "{e}"
    );
    assert!(listing(dir.path()).is_empty());
}

/// A timeline export with the `balanced` matte carries MODNet's alpha from both keyframes
/// around each frame, as the clip pipeline does (`tween::Lookahead`), instead of running
/// MODNet on every frame: the same 9 frames rendered by both come out as the same picture,
/// frame by frame, in order. The `fast` matte's timeline is far off (the measure sees a
/// matte's difference).
#[test]
fn a_balanced_timeline_matches_the_clip_pipeline_frame_by_frame() {
    let dir = tempdir();
    let input = dir.path().join("nine.mp4");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(clip("talking_720p.mp4"))
        .args(["-frames:v", "9", "-an", "-vf", "scale=640:360"])
        .args(["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p"])
        .arg(&input)
        .status()
        .unwrap();
    assert!(made.success());
    let navy = || ebc::engine::backdrop::resolve("navy").unwrap();
    let balanced = MatteOptions::for_mode(MatteMode::Balanced);
    let pipeline = dir.path().join("pipeline.mp4");
    let mut o = ReplaceOptions::new(input.clone(), pipeline.clone(), navy());
    o.matte = balanced.clone();
    o.x264_preset = "ultrafast".into();
    replace(&o, &mut NoProgress).expect("replace");
    let timeline = |matte: &MatteOptions, name: &str| {
        let out = dir.path().join(name);
        let mut t = TimelineOptions::new(
            out.clone(),
            vec![TimelineClip {
                input: input.clone(),
                start_s: 0.0,
                duration_s: None,
                backdrop: Some(navy()),
            }],
        );
        t.max_long_side = 640;
        t.x264_preset = "ultrafast".into();
        t.matte = matte.clone();
        let report = render_timeline(&t, &mut NoProgress).expect("render");
        assert_eq!(report.frames, 9, "{name}");
        out
    };
    let tl_balanced = timeline(&balanced, "balanced.mp4");
    let tl_fast = timeline(&MatteOptions::for_mode(MatteMode::Fast), "fast.mp4");
    let (w, h) = (640, 360);
    for path in [&pipeline, &tl_balanced, &tl_fast] {
        assert_eq!(video_facts(path).3, 9, "{}", path.display());
    }
    for i in 0..9 {
        let p = luma_frame(&pipeline, i, w, h);
        let b = luma_frame(&tl_balanced, i, w, h);
        let f = luma_frame(&tl_fast, i, w, h);
        let same = mean_abs_diff(&p, &b, w, (0, 0, w, h));
        let other = mean_abs_diff(&p, &f, w, (0, 0, w, h));
        // Measured: 0 on every frame; MODNet on every frame (the timeline before the
        // lookahead) was 0.08–0.27 off on the carried frames, `fast` 0.92–1.47.
        assert!(
            same < 0.02 && other > 0.5,
            "frame {i}: the balanced timeline is {same:.4} off the clip pipeline's, the fast one {other:.4}"
        );
    }
}

/// A clip whose stream ends before its listed length (20 of 60 frames decode): with the
/// `balanced` matte the frames waiting for a keyframe are finished when the stream ends, and
/// the last one is held for the rest of the span, as with `fast`: the same frame count and
/// warning, and every held frame is the last decoded one.
#[test]
fn a_balanced_timeline_finishes_a_clip_that_ends_early() {
    let dir = tempdir();
    let render = |mode: MatteMode, name: &str| {
        let out = dir.path().join(name);
        let mut t = TimelineOptions::new(
            out.clone(),
            vec![TimelineClip {
                input: clip("corrupt_truncated.mp4"),
                start_s: 0.0,
                duration_s: None,
                backdrop: Some(ebc::engine::backdrop::resolve("navy").unwrap()),
            }],
        );
        t.max_long_side = 640;
        t.x264_preset = "ultrafast".into();
        t.matte = MatteOptions::for_mode(mode);
        let report = render_timeline(&t, &mut NoProgress).expect("render");
        (out, report)
    };
    let (fast, fr) = render(MatteMode::Fast, "fast.mp4");
    let (bal, br) = render(MatteMode::Balanced, "balanced.mp4");
    assert_eq!(br.frames, fr.frames);
    assert_eq!(br.warnings, fr.warnings);
    assert_eq!(br.warnings.len(), 1, "{:?}", br.warnings);
    let (_, w, h, n) = video_facts(&bal);
    assert_eq!((n, video_facts(&fast).3), (br.frames, br.frames));
    let (w, h) = (w as usize, h as usize);
    // The encoder drifts on a held picture (measured on both: 0.30 at frame 20, 0.80 at
    // frames 40 and 59), so the held frames are compared with `fast`'s drift.
    let off = |path: &Path, i: u64| {
        let last = luma_frame(path, 19, w, h);
        mean_abs_diff(&last, &luma_frame(path, i, w, h), w, (0, 0, w, h))
    };
    for i in [20, 40, n - 1] {
        let (b, f) = (off(&bal, i), off(&fast, i));
        assert!(
            b < 1.5 && (b - f).abs() < 0.15,
            "frame {i}: {b:.3} off the last decoded frame (fast: {f:.3})"
        );
    }
}
