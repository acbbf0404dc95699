//! Real-world footage (issue 10): every property a viewer sees survives `replace`: time
//! (VFR, audio offset), shape (SAR, EXIF orientation), colour (tag spellings, RGB-coded
//! input, synthetic colours per matrix, HDR), fields, tracks, transparency in, and the
//! "nobody there" warnings. Each input is made here with ffmpeg (lavfi or the fixture clip)
//! and each right value is read back with ffprobe/ffmpeg.

use std::path::{Path, PathBuf};
use std::process::Command;

use ebc::engine::backdrop::{Backdrop, BackdropSpec};
use ebc::engine::pipeline::HdrMode;
use ebc::engine::{ReplaceOptions, ReplaceReport, replace};

use crate::clip_util::*;

/// Run ffmpeg (errors only) in `dir`; panics with its stderr on failure.
fn ff(dir: &Path, args: &[&str]) {
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

fn backdrop(spec: BackdropSpec) -> Backdrop {
    Backdrop::from_spec(spec)
}

fn dodger_blue() -> Backdrop {
    backdrop(BackdropSpec::Color {
        r: 30,
        g: 144,
        b: 255,
    })
}

fn render_with(
    input: &Path,
    out: &Path,
    b: Backdrop,
    tweak: impl FnOnce(&mut ReplaceOptions),
) -> (ReplaceReport, Vec<String>) {
    let mut o = ReplaceOptions::new(input.to_path_buf(), out.to_path_buf(), b);
    o.x264_preset = "ultrafast".into();
    o.matte = crate::support::test_matte_options();
    tweak(&mut o);
    let mut rec = Recorder::default();
    let report =
        replace(&o, &mut rec).unwrap_or_else(|e| panic!("replace {} failed: {e}", input.display()));
    (report, rec.warnings)
}

fn render(input: &Path, out: &Path, b: Backdrop) -> (ReplaceReport, Vec<String>) {
    render_with(input, out, b, |_| {})
}

fn video(json: &serde_json::Value) -> &serde_json::Value {
    stream(json, "video").expect("a video stream")
}

fn str_of<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

fn f64_of(v: &serde_json::Value, key: &str) -> f64 {
    str_of(v, key).parse().unwrap_or(f64::NAN)
}

fn ratio(s: &str) -> f64 {
    let (n, d) = s.split_once(['/', ':']).unwrap_or((s, "1"));
    n.parse::<f64>().unwrap() / d.parse::<f64>().unwrap()
}

/// Presentation times (s) of every video frame, sorted, and the stream's timebase (s/tick).
fn frame_times(path: &Path) -> (Vec<f64>, f64) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "packet=pts_time:stream=time_base"])
        .args(["-of", "json"])
        .arg(path)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut times: Vec<f64> = json["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| f64_of(p, "pts_time"))
        .collect();
    times.sort_by(f64::total_cmp);
    let tb = ratio(str_of(&json["streams"][0], "time_base"));
    (times, tb)
}

/// The mean (Y, U, V) of the `w`×`h` frame `index` of `path` over the box (x0, y0, x1, y1),
/// read as raw yuv420p (no conversion).
fn mean_yuv(path: &Path, w: usize, h: usize, rect: (usize, usize, usize, usize)) -> [f64; 3] {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-",
        ])
        .output()
        .unwrap();
    let buf = out.stdout;
    assert!(
        buf.len() >= w * h * 3 / 2,
        "short frame from {}",
        path.display()
    );
    let (x0, y0, x1, y1) = rect;
    let (mut s, mut n) = ([0.0f64; 3], 0.0);
    for y in y0..y1 {
        for x in x0..x1 {
            s[0] += buf[y * w + x] as f64;
            let c = (y / 2) * (w / 2) + x / 2;
            s[1] += buf[w * h + c] as f64;
            s[2] += buf[w * h + w * h / 4 + c] as f64;
            n += 1.0;
        }
    }
    s.map(|v| v / n)
}

/// Limited-range YUV → RGB with the matrix named by an ffprobe `color_space`.
fn yuv_to_rgb(yuv: [f64; 3], space: &str) -> [f64; 3] {
    let (kr, kb) = match space {
        "bt709" => (0.2126, 0.0722),
        "smpte170m" | "bt470bg" => (0.299, 0.114),
        "bt2020nc" => (0.2627, 0.0593),
        other => panic!("unexpected output matrix {other:?}"),
    };
    let kg = 1.0 - kr - kb;
    let y = (yuv[0] - 16.0) / 219.0;
    let (cb, cr) = ((yuv[1] - 128.0) / 224.0, (yuv[2] - 128.0) / 224.0);
    let r = y + 2.0 * (1.0 - kr) * cr;
    let b = y + 2.0 * (1.0 - kb) * cb;
    let g = (y - kr * r - kb * b) / kg;
    [r, g, b].map(|c| (c * 255.0).clamp(0.0, 255.0))
}

fn assert_rgb_near(got: [f64; 3], want: [f64; 3], tol: f64, what: &str) {
    let ok = got.iter().zip(want).all(|(g, w)| (g - w).abs() <= tol);
    assert!(ok, "{what}: decoded {got:.1?}, want {want:?} ± {tol}");
}

fn fixture_person(dir: &Path, seconds: &str) -> PathBuf {
    let p = dir.join("person.mp4");
    let t = clip("talking_720p.mp4");
    ff(
        dir,
        &[
            "-i",
            t.to_str().unwrap(),
            "-t",
            seconds,
            "-vf",
            "scale=320:180,fps=10",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "person.mp4",
        ],
    );
    p
}

mod time {
    use super::*;

    fn vfr_case(select: &str) {
        let dir = tempdir();
        let d = dir.path();
        let vf = format!("select='{select}'");
        ff(
            d,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=320x180:r=30:d=3",
                "-vf",
                &vf,
                "-fps_mode",
                "vfr",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "v.mp4",
            ],
        );
        let out = d.join("out.mp4");
        render(&d.join("v.mp4"), &out, dodger_blue());
        let (a, _) = frame_times(&d.join("v.mp4"));
        let (b, tb) = frame_times(&out);
        assert_eq!(a.len(), b.len(), "frame count ({select})");
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() <= tb + 1e-9,
                "frame {i}: input at {x:.4} s, output at {y:.4} s (tick {tb}) [{select}]"
            );
        }
        let dur = |p: &Path| f64_of(video(&probe_json(p)), "duration");
        let (da, db) = (dur(&d.join("v.mp4")), dur(&out));
        assert!(
            (da - db).abs() <= 1.0 / 30.0 + 1e-6,
            "duration {da} → {db} [{select}]"
        );
    }

    #[test]
    fn vfr_with_a_dropped_run_keeps_every_frame_time() {
        vfr_case("not(between(n,20,34))");
    }

    #[test]
    fn vfr_with_scattered_drops_keeps_every_frame_time() {
        vfr_case("not(eq(mod(n,4),1))*not(between(n,50,53))");
    }

    #[test]
    fn audio_offset_is_kept() {
        let dir = tempdir();
        let d = dir.path();
        // Video starting 0.2 s after the audio, with a gap in the frames.
        ff(
            d,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=320x180:r=30:d=2",
                "-f",
                "lavfi",
                "-i",
                "sine=f=440:sample_rate=48000:d=2.4",
                "-vf",
                "select='not(between(n,10,19))',setpts=PTS+0.2/TB",
                "-fps_mode",
                "vfr",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "vo.mp4",
            ],
        );
        let out = d.join("out.mp4");
        render(&d.join("vo.mp4"), &out, dodger_blue());
        let offset = |p: &Path| {
            let j = probe_json(p);
            f64_of(video(&j), "start_time") - f64_of(stream(&j, "audio").unwrap(), "start_time")
        };
        let (a, b) = (offset(&d.join("vo.mp4")), offset(&out));
        assert!((a - 0.2).abs() < 0.01, "input offset {a}");
        assert!((a - b).abs() < 0.002, "audio offset {a} s → {b} s");
        let (ta, _) = frame_times(&d.join("vo.mp4"));
        let (tb_, tick) = frame_times(&out);
        assert_eq!(ta.len(), tb_.len());
        assert!(
            (ta[10] - tb_[10]).abs() <= tick + 1e-9,
            "{} vs {}",
            ta[10],
            tb_[10]
        );
    }
}

mod shape {
    use super::*;

    fn sar_case(size: &str, sar: &str, want: (u64, u64)) {
        let dir = tempdir();
        let d = dir.path();
        let vf = format!("setsar={sar}");
        let src = format!("testsrc2=s={size}:d=0.4");
        ff(
            d,
            &[
                "-f",
                "lavfi",
                "-i",
                &src,
                "-vf",
                &vf,
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "s.mp4",
            ],
        );
        let out = d.join("out.mp4");
        render(&d.join("s.mp4"), &out, dodger_blue());
        let j = probe_json(&out);
        let v = video(&j);
        let (w, h) = (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap());
        let sar_out = match str_of(v, "sample_aspect_ratio") {
            "" | "0:1" | "N/A" => 1.0,
            s => ratio(s),
        };
        let dar = w as f64 * sar_out / h as f64;
        let (iw, ih) = size.split_once('x').unwrap();
        let want_dar = iw.parse::<f64>().unwrap() * ratio(sar) / ih.parse::<f64>().unwrap();
        assert!(
            (dar - want_dar).abs() / want_dar < 0.01,
            "DAR {dar} vs {want_dar} ({size} SAR {sar})"
        );
        assert_eq!((w, h), want, "square pixels at the display size");
    }

    #[test]
    fn pal_widescreen_sar_64_45() {
        sar_case("720x576", "64/45", (1024, 576));
    }

    #[test]
    fn ntsc_4_3_sar_8_9() {
        sar_case("720x480", "8/9", (640, 480));
    }

    /// An upright 120×200 picture in four coloured quadrants, stored as EXIF orientation `o`
    /// would need it (the inverse transform), as JPEG with that orientation tag.
    fn exif_jpeg(path: &Path, o: u8) -> image::RgbImage {
        use image::ImageEncoder;
        use image::metadata::Orientation;
        let (w, h) = (120u32, 200u32);
        let upright = image::RgbImage::from_fn(w, h, |x, y| {
            let c = match (x < w / 2, y < h / 2) {
                (true, true) => [220, 30, 30],
                (false, true) => [30, 200, 30],
                (true, false) => [30, 30, 220],
                (false, false) => [240, 240, 240],
            };
            image::Rgb(c)
        });
        let inverse = match o {
            6 => 8,
            8 => 6,
            other => other,
        };
        let mut stored = image::DynamicImage::ImageRgb8(upright.clone());
        stored.apply_orientation(Orientation::from_exif(inverse).unwrap());
        let stored = stored.to_rgb8();
        // TIFF header (big-endian), one IFD entry: Orientation (0x0112), SHORT, 1, value o.
        let exif = [
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0,
            0,
        ];
        let mut file = std::fs::File::create(path).unwrap();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, 95);
        enc.set_exif_metadata(exif.to_vec()).unwrap();
        enc.write_image(
            stored.as_raw(),
            stored.width(),
            stored.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
        upright
    }

    #[test]
    fn stills_honour_every_exif_orientation() {
        let dir = tempdir();
        let d = dir.path();
        for o in 1..=8u8 {
            let input = d.join(format!("o{o}.jpg"));
            let upright = exif_jpeg(&input, o);
            let out = d.join(format!("o{o}.png"));
            // Transparent keeps the picture's own colours (only alpha changes).
            render(&input, &out, backdrop(BackdropSpec::Transparent));
            let img = image::open(&out).unwrap().to_rgb8();
            assert_eq!(
                img.dimensions(),
                upright.dimensions(),
                "orientation {o}: size"
            );
            for (x, y) in [(30, 50), (90, 50), (30, 150), (90, 150)] {
                let (a, b) = (upright.get_pixel(x, y).0, img.get_pixel(x, y).0);
                let near = a
                    .iter()
                    .zip(b)
                    .all(|(a, b)| (*a as i32 - b as i32).abs() < 40);
                assert!(near, "orientation {o}: at ({x},{y}) {b:?}, upright {a:?}");
            }
        }
    }
}

mod colour {
    use super::*;

    /// testsrc2 (nobody in it, so the whole frame becomes backdrop) coded with `args`.
    fn make(d: &Path, name: &str, size: &str, args: &[&str]) -> PathBuf {
        let src = format!("testsrc2=s={size}:d=0.4");
        let mut all = vec!["-f", "lavfi", "-i", &src];
        all.extend_from_slice(args);
        all.push(name);
        ff(d, &all);
        d.join(name)
    }

    #[test]
    fn every_tag_spelling_renders() {
        let dir = tempdir();
        let d = dir.path();
        let x264 = [
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ];
        let cases: Vec<(&str, Vec<&str>, &str)> = vec![
            // ffprobe says transfer "bt470bg", the option is "gamma28".
            (
                "t28.mp4",
                [&x264[..], &["-color_trc", "gamma28"]].concat(),
                "bt470bg",
            ),
            // ffprobe "bt470m" = option "gamma22"; primaries "film".
            (
                "t22.mp4",
                [
                    &x264[..],
                    &["-color_trc", "gamma22", "-color_primaries", "film"],
                ]
                .concat(),
                "bt470m",
            ),
            // ffprobe "iec61966-2-1" (sRGB) with an FCC matrix the pipeline converts.
            (
                "srgb.mkv",
                [
                    &x264[..],
                    &["-color_trc", "iec61966_2_1", "-colorspace", "fcc"],
                ]
                .concat(),
                "iec61966-2-1",
            ),
        ];
        for (name, args, trc) in cases {
            let input = make(d, name, "320x180", &args);
            let src = probe_json(&input);
            assert_eq!(str_of(video(&src), "color_transfer"), trc, "{name} input");
            let out = d.join(format!("{name}.out.mp4"));
            render(&input, &out, dodger_blue());
            let j = probe_json(&out);
            let v = video(&j);
            assert_eq!(str_of(v, "color_transfer"), trc, "{name}: transfer carried");
            assert!(
                ["bt709", "smpte170m"].contains(&str_of(v, "color_space")),
                "{name}: matrix {}",
                str_of(v, "color_space")
            );
        }
    }

    #[test]
    fn rgb_coded_input_gives_yuv_with_a_matrix_tag() {
        let dir = tempdir();
        let d = dir.path();
        for (name, codec) in [("r.mkv", "libx264rgb"), ("p.mov", "png")] {
            let input = make(d, name, "320x180", &["-c:v", codec]);
            let out = d.join(format!("{name}.mp4"));
            render(&input, &out, dodger_blue());
            let j = probe_json(&out);
            let v = video(&j);
            assert_eq!(str_of(v, "pix_fmt"), "yuv420p", "{name}");
            assert_eq!(str_of(v, "color_space"), "bt709", "{name}");
            let rgb = yuv_to_rgb(mean_yuv(&out, 320, 180, (100, 60, 220, 120)), "bt709");
            assert_rgb_near(rgb, [30.0, 144.0, 255.0], 2.0, name);
        }
    }

    #[test]
    fn synthetic_colours_decode_right_on_each_matrix() {
        let dir = tempdir();
        let d = dir.path();
        let x264 = [
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ];
        let cases: Vec<(&str, &str, Vec<&str>, &str)> = vec![
            (
                "sd.mp4",
                "640x480",
                [
                    &x264[..],
                    &[
                        "-colorspace",
                        "smpte170m",
                        "-color_primaries",
                        "smpte170m",
                        "-color_trc",
                        "smpte170m",
                    ],
                ]
                .concat(),
                "smpte170m",
            ),
            (
                "pal.mp4",
                "640x480",
                [&x264[..], &["-colorspace", "bt470bg"]].concat(),
                "bt470bg",
            ),
            (
                "hd.mp4",
                "1280x720",
                [&x264[..], &["-colorspace", "bt709"]].concat(),
                "bt709",
            ),
            (
                "uhd.mp4",
                "640x360",
                [
                    &x264[..],
                    &[
                        "-colorspace",
                        "bt2020nc",
                        "-color_primaries",
                        "bt2020",
                        "-color_trc",
                        "bt2020-10",
                    ],
                ]
                .concat(),
                "bt2020nc",
            ),
            // Untagged SD: tagged BT.601 on the way out, and the colour matches that.
            ("untagged.mp4", "640x480", x264.to_vec(), "smpte170m"),
            // Full range in: limited out, colours still right.
            (
                "full.mp4",
                "640x360",
                [
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-pix_fmt",
                    "yuvj420p",
                    "-colorspace",
                    "bt709",
                ]
                .to_vec(),
                "bt709",
            ),
        ];
        for (name, size, args, want_space) in cases {
            let input = make(d, name, size, &args);
            let out = d.join(format!("{name}.out.mp4"));
            render(&input, &out, dodger_blue());
            let j = probe_json(&out);
            let v = video(&j);
            let space = str_of(v, "color_space");
            assert_eq!(space, want_space, "{name}: output matrix");
            assert_eq!(str_of(v, "color_range"), "tv", "{name}: range");
            let (w, h) = (
                v["width"].as_u64().unwrap() as usize,
                v["height"].as_u64().unwrap() as usize,
            );
            let yuv = mean_yuv(&out, w, h, (w / 4, h / 4, 3 * w / 4, 3 * h / 4));
            assert_rgb_near(yuv_to_rgb(yuv, space), [30.0, 144.0, 255.0], 2.0, name);
        }
    }

    fn hlg_clip(d: &Path) -> PathBuf {
        ff(
            d,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=320x180:d=0.4",
                "-vf",
                "format=yuv420p10le",
                "-c:v",
                "libx265",
                "-x265-params",
                "log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc",
                "-tag:v",
                "hvc1",
                "h.mov",
            ],
        );
        d.join("h.mov")
    }

    #[test]
    fn hdr_is_tone_mapped_to_sdr_bt709_by_default() {
        let dir = tempdir();
        let d = dir.path();
        let input = hlg_clip(d);
        let out = d.join("sdr.mp4");
        render(&input, &out, dodger_blue());
        let j = probe_json(&out);
        let v = video(&j);
        assert_eq!(str_of(v, "pix_fmt"), "yuv420p");
        for key in ["color_space", "color_primaries", "color_transfer"] {
            assert_eq!(str_of(v, key), "bt709", "{key}");
        }
        let rgb = yuv_to_rgb(mean_yuv(&out, 320, 180, (80, 45, 240, 135)), "bt709");
        assert_rgb_near(rgb, [30.0, 144.0, 255.0], 2.0, "HLG → SDR");
    }

    #[test]
    fn hdr_can_be_kept_in_10_bits_with_its_tags() {
        let dir = tempdir();
        let d = dir.path();
        let input = hlg_clip(d);
        let out = d.join("hdr.mp4");
        render_with(&input, &out, dodger_blue(), |o| o.hdr = HdrMode::Keep);
        let j = probe_json(&out);
        let v = video(&j);
        assert_eq!(str_of(v, "pix_fmt"), "yuv420p10le");
        assert_eq!(str_of(v, "color_transfer"), "arib-std-b67");
        assert_eq!(str_of(v, "color_primaries"), "bt2020");
        assert_eq!(str_of(v, "color_space"), "bt2020nc");
    }
}

mod fields {
    use super::*;

    /// Share of frames `idet` finds progressive, frame by frame (its multi-frame verdict
    /// lags a few frames behind at the start of any clip, even after ffmpeg's own bwdif).
    fn progressive_share(path: &Path) -> f64 {
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-i"])
            .arg(path)
            .args(["-vf", "idet", "-f", "null", "-"])
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        let line = log
            .lines()
            .find(|l| l.contains("Single frame detection"))
            .expect("idet summary");
        let num = |key: &str| -> f64 {
            let rest = &line[line.find(key).unwrap() + key.len()..];
            rest.split_whitespace().next().unwrap().parse().unwrap()
        };
        let (t, b, p, u) = (
            num("TFF:"),
            num("BFF:"),
            num("Progressive:"),
            num("Undetermined:"),
        );
        p / (t + b + p + u).max(1.0)
    }

    fn interlaced_case(name: &str, vf: &str, codec: &[&str]) {
        let dir = tempdir();
        let d = dir.path();
        let mut args = vec![
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=60,format=yuv420p",
            "-t",
            "1",
            "-vf",
            vf,
        ];
        args.extend_from_slice(codec);
        args.push(name);
        ff(d, &args);
        let input = d.join(name);
        assert!(
            progressive_share(&input) < 0.2,
            "{name}: the input is interlaced"
        );
        // Transparent output keeps the picture (only alpha changes): idet sees the frames.
        let out = d.join(format!("{name}.webm"));
        render(&input, &out, backdrop(BackdropSpec::Transparent));
        let share = progressive_share(&out);
        assert!(
            share >= 0.9,
            "{name}: only {share:.2} of frames progressive"
        );
    }

    #[test]
    fn flagged_top_field_first_is_deinterlaced() {
        interlaced_case(
            "tff.mp4",
            "tinterlace=interleave_top,setfield=tff",
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-flags",
                "+ildct+ilme",
                "-x264-params",
                "tff=1",
            ],
        );
    }

    #[test]
    fn flagged_bottom_field_first_is_deinterlaced() {
        interlaced_case(
            "bff.mp4",
            "tinterlace=interleave_bottom,setfield=bff",
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-flags",
                "+ildct+ilme",
                "-x264-params",
                "bff=1",
            ],
        );
    }

    #[test]
    fn unflagged_interlacing_is_detected_and_deinterlaced() {
        interlaced_case(
            "plain.avi",
            "tinterlace=interleave_top",
            &["-c:v", "mpeg4", "-q:v", "2"],
        );
    }
}

mod tracks {
    use super::*;

    #[test]
    fn three_audio_tracks_a_subtitle_chapters_and_date_survive() {
        let dir = tempdir();
        let d = dir.path();
        std::fs::write(
            d.join("subs.srt"),
            "1\n00:00:00,100 --> 00:00:00,900\nHello there\n\n2\n00:00:01,000 --> 00:00:01,400\nBye\n",
        )
        .unwrap();
        std::fs::write(
            d.join("meta.txt"),
            ";FFMETADATA1\ncreation_time=2024-05-06T07:08:09.000000Z\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=700\ntitle=Intro\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=700\nEND=1500\ntitle=Main\n",
        )
        .unwrap();
        // Matroska holds it all: AAC + PCM (which MP4 cannot hold) + Opus, SubRip, chapters.
        ff(
            d,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=320x180:r=10:d=1.5",
                "-f",
                "lavfi",
                "-i",
                "sine=f=300:sample_rate=48000:d=1.5",
                "-f",
                "lavfi",
                "-i",
                "sine=f=1000:sample_rate=48000:d=1.5",
                "-f",
                "lavfi",
                "-i",
                "sine=f=2000:sample_rate=48000:d=1.5",
                "-i",
                "subs.srt",
                "-i",
                "meta.txt",
                "-map",
                "0:v",
                "-map",
                "1:a",
                "-map",
                "2:a",
                "-map",
                "3:a",
                "-map",
                "4:s",
                "-map_metadata",
                "5",
                "-map_chapters",
                "5",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-c:a:0",
                "aac",
                "-c:a:1",
                "pcm_s16le",
                "-c:a:2",
                "libopus",
                "-c:s",
                "srt",
                "-metadata:s:a:0",
                "language=eng",
                "-metadata:s:a:0",
                "title=dialogue",
                "-metadata:s:a:1",
                "language=fra",
                "-metadata:s:a:1",
                "title=commentary",
                "-metadata:s:a:2",
                "language=deu",
                "-metadata:s:a:2",
                "title=music",
                "-metadata:s:s:0",
                "language=eng",
                "tracks.mkv",
            ],
        );
        let out = d.join("out.mp4");
        render(&d.join("tracks.mkv"), &out, dodger_blue());
        let out_json = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-of",
                "json",
                "-show_streams",
                "-show_format",
                "-show_chapters",
            ])
            .arg(&out)
            .output()
            .unwrap();
        let j: serde_json::Value = serde_json::from_slice(&out_json.stdout).unwrap();
        let streams = j["streams"].as_array().unwrap();
        let audio: Vec<&serde_json::Value> = streams
            .iter()
            .filter(|s| s["codec_type"] == "audio")
            .collect();
        assert_eq!(audio.len(), 3, "every audio track");
        let want = [("eng", "dialogue"), ("fra", "commentary"), ("deu", "music")];
        for (a, (lang, title)) in audio.iter().zip(want) {
            assert_eq!(a["tags"]["language"], lang);
            assert_eq!(
                a["tags"]["title"]
                    .as_str()
                    .or(a["tags"]["handler_name"].as_str()),
                Some(title)
            );
        }
        // PCM is not an MP4 codec: converted; AAC and Opus copied.
        let codecs: Vec<&str> = audio.iter().map(|a| str_of(a, "codec_name")).collect();
        assert_eq!(codecs, ["aac", "aac", "opus"]);
        let subs: Vec<&serde_json::Value> = streams
            .iter()
            .filter(|s| s["codec_type"] == "subtitle")
            .collect();
        assert_eq!(subs.len(), 1, "the subtitle track");
        assert_eq!(str_of(subs[0], "codec_name"), "mov_text");
        assert_eq!(subs[0]["tags"]["language"], "eng");
        let chapters = j["chapters"].as_array().unwrap();
        assert_eq!(chapters.len(), 2, "chapters");
        assert_eq!(chapters[1]["tags"]["title"], "Main");
        assert_eq!(
            j["format"]["tags"]["creation_time"].as_str(),
            Some("2024-05-06T07:08:09.000000Z")
        );
    }
}

mod transparency {
    use super::*;

    /// A frame of the talking clip as RGBA whose central band (x from 40 % to 60 %, through
    /// the person) has alpha 0, and the picture's size. Without the cut that band is person:
    /// (88, 93, 98) on average at 2 s, against the backdrop's (30, 144, 255).
    fn cut_png(d: &Path) -> (PathBuf, u32, u32) {
        let t = clip("talking_720p.mp4");
        ff(
            d,
            &[
                "-ss",
                "2",
                "-i",
                t.to_str().unwrap(),
                "-frames:v",
                "1",
                "-vf",
                "scale=320:180",
                "frame.png",
            ],
        );
        let mut img = image::open(d.join("frame.png")).unwrap().to_rgba8();
        let (w, h) = img.dimensions();
        for (x, _, p) in img.enumerate_pixels_mut() {
            if x >= w * 40 / 100 && x < w * 60 / 100 {
                p.0[3] = 0;
            }
        }
        let p = d.join("cut.png");
        img.save(&p).unwrap();
        (p, w, h)
    }

    fn assert_cut_is_backdrop(out: &Path, w: usize, h: usize, what: &str) {
        let strip = mean_yuv(out, w, h, (w * 43 / 100, 0, w * 57 / 100, h));
        let j = probe_json(out);
        let rgb = yuv_to_rgb(strip, str_of(video(&j), "color_space"));
        assert_rgb_near(
            rgb,
            [30.0, 144.0, 255.0],
            6.0,
            &format!("{what}: the cut-away strip"),
        );
    }

    #[test]
    fn rgba_png_and_webp_alpha_multiplies_the_matte() {
        let dir = tempdir();
        let d = dir.path();
        let (png, w, h) = cut_png(d);
        let webp = d.join("cut.webp");
        let img = image::open(&png).unwrap().to_rgba8();
        let f = std::fs::File::create(&webp).unwrap();
        image::codecs::webp::WebPEncoder::new_lossless(f)
            .encode(img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
            .unwrap();
        for input in [png, webp] {
            let out = d.join(format!(
                "{}.out.png",
                input.file_name().unwrap().to_string_lossy()
            ));
            render(&input, &out, dodger_blue());
            let o = image::open(&out).unwrap().to_rgb8();
            let mut s = [0.0f64; 3];
            let mut n = 0.0;
            for y in 0..h {
                for x in w * 43 / 100..w * 57 / 100 {
                    let p = o.get_pixel(x, y).0;
                    for k in 0..3 {
                        s[k] += p[k] as f64;
                    }
                    n += 1.0;
                }
            }
            assert_rgb_near(
                s.map(|v| v / n),
                [30.0, 144.0, 255.0],
                6.0,
                &input.display().to_string(),
            );
        }
    }

    #[test]
    fn prores_4444_and_vp9_alpha_multiply_the_matte() {
        let dir = tempdir();
        let d = dir.path();
        let (png, w, h) = cut_png(d);
        let png = png.to_str().unwrap().to_string();
        ff(
            d,
            &[
                "-loop",
                "1",
                "-framerate",
                "10",
                "-i",
                &png,
                "-t",
                "0.5",
                "-c:v",
                "prores_ks",
                "-profile:v",
                "4444",
                "-pix_fmt",
                "yuva444p10le",
                "p4444.mov",
            ],
        );
        ff(
            d,
            &[
                "-loop",
                "1",
                "-framerate",
                "10",
                "-i",
                &png,
                "-t",
                "0.5",
                "-c:v",
                "libvpx-vp9",
                "-pix_fmt",
                "yuva420p",
                "-auto-alt-ref",
                "0",
                "alpha.webm",
            ],
        );
        for name in ["p4444.mov", "alpha.webm"] {
            let out = d.join(format!("{name}.mp4"));
            render(&d.join(name), &out, dodger_blue());
            assert_cut_is_backdrop(&out, w as usize, h as usize, name);
        }
    }
}

mod nobody {
    use super::*;

    #[test]
    fn a_clip_with_nobody_warns_and_still_renders() {
        let dir = tempdir();
        let d = dir.path();
        ff(
            d,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=320x180:r=10:d=2",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "empty.mp4",
            ],
        );
        let out = d.join("out.mp4");
        let (report, warnings) = render(&d.join("empty.mp4"), &out, dodger_blue());
        assert_eq!(report.frames, 20);
        assert!(out.exists());
        assert!(
            warnings.iter().any(|w| w.contains("no person was found")),
            "{warnings:?}"
        );
        assert!(report.warnings == warnings);
    }

    #[test]
    fn a_long_stretch_without_the_person_warns_with_its_times() {
        let dir = tempdir();
        let d = dir.path();
        fixture_person(d, "1");
        ff(
            d,
            &[
                "-i",
                "person.mp4",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=320x180:r=10:d=2.5",
                "-i",
                "person.mp4",
                "-filter_complex",
                "[0:v][1:v][2:v]concat=n=3:v=1:a=0,format=yuv420p[v]",
                "-map",
                "[v]",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "gap.mp4",
            ],
        );
        let out = d.join("out.mp4");
        let (_, warnings) = render(&d.join("gap.mp4"), &out, dodger_blue());
        let w = warnings
            .iter()
            .find(|w| w.contains("lost from"))
            .unwrap_or_else(|| panic!("no gap warning: {warnings:?}"));
        assert!(w.contains("from 1.0 s") || w.contains("from 1.1 s"), "{w}");
        assert!(
            !warnings.iter().any(|w| w.contains("no person was found")),
            "{warnings:?}"
        );
        // The fixture itself (a person throughout) gets no warning.
        let (_, warnings) = render(&d.join("person.mp4"), &d.join("p.mp4"), dodger_blue());
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}

mod command_line {
    use super::*;

    #[test]
    fn a_quoted_tilde_path_is_expanded() {
        let dir = tempdir();
        let d = dir.path();
        ff(
            d,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=160x90:r=10:d=0.3",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "in.mp4",
            ],
        );
        let out = Command::new(env!("CARGO_BIN_EXE_editor-background-changer"))
            .current_dir("/")
            .env("HOME", d)
            .env("RUST_LOG", "warn")
            .args([
                "replace",
                "~/in.mp4",
                "-b",
                "#1E90FF",
                "-o",
                "~/out.mp4",
                "--preset",
                "ultrafast",
            ])
            .args(["--matte", crate::support::TEST_MATTE])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(d.join("out.mp4").exists(), "{:?}", listing(d));
    }
}
