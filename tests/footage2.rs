//! Issue 24, the other kinds real files are made of: an MP4 cut mid-GOP (edit list) is not
//! "damaged", display matrices that are not quarter turns are never squeezed, animated
//! images (GIF, APNG, WebP), the stills' size rule against `--help`, and `--keep-hdr` as
//! HEVC Main 10 with the HDR10 metadata. Inputs are made here with ffmpeg.

use std::path::{Path, PathBuf};
use std::process::Command;

use ebc::engine::backdrop::{Backdrop, BackdropSpec};
use ebc::engine::pipeline::HdrMode;
use ebc::engine::{NoProgress, ReplaceOptions, replace};

use crate::clip_util::*;
use crate::timing::{assert_times_kept, base_clip, ff, render, times};

fn green() -> Backdrop {
    Backdrop {
        spec: BackdropSpec::Color { r: 0, g: 200, b: 0 },
        description: "test green".into(),
    }
}

fn size_of(path: &Path) -> (u64, u64) {
    let (_, w, h, _) = video_facts(path);
    (w, h)
}

mod damage {
    use super::*;

    /// LosslessCut / `ffmpeg -ss … -c copy` cuts: the edit list starts at a non-keyframe, so
    /// the file holds frames before the cut that are decoded but never shown. They are not
    /// lost frames; the times of the shown ones are kept.
    #[test]
    fn mp4_cut_mid_gop_with_an_edit_list_is_not_damaged() {
        let dir = tempdir();
        let d = dir.path();
        base_clip(d, "gop.mp4", 2, 60, "4");
        for (ss, t) in [("1.5", "2"), ("0.7", "1.5")] {
            let name = format!("cut{ss}.mp4");
            ff(
                d,
                &["-ss", ss, "-t", t, "-i", "gop.mp4", "-c", "copy", &name],
            );
            let out = d.join(format!("out{ss}.mp4"));
            let warnings = render(&d.join(&name), &out);
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
            assert_times_kept(&name, &times(&d.join(&name)), &times(&out), false);
        }
    }
}

mod rotation {
    use super::*;

    /// Overwrite the display matrix of the first `tkhd` box of a MOV/MP4 with a rotation by
    /// `deg` (QuickTime's 16.16 a, b, c, d; ISO 14496-12 §8.3.2).
    fn patch_matrix(path: &Path, deg: f64) {
        let mut bytes = std::fs::read(path).unwrap();
        let at = bytes
            .windows(4)
            .position(|w| w == b"tkhd")
            .expect("a tkhd box");
        // type, version+flags, creation, modification, track id, reserved, duration,
        // reserved ×2, layer, group, volume, reserved: the matrix starts 44 bytes in.
        let m = at + 4 + 40;
        let (s, c) = deg.to_radians().sin_cos();
        let fix = |v: f64| ((v * 65536.0).round() as i32).to_be_bytes();
        bytes[m..m + 4].copy_from_slice(&fix(c));
        bytes[m + 4..m + 8].copy_from_slice(&fix(s));
        bytes[m + 12..m + 16].copy_from_slice(&fix(-s));
        bytes[m + 16..m + 20].copy_from_slice(&fix(c));
        std::fs::write(path, bytes).unwrap();
    }

    /// A matrix that is not a quarter turn is ignored with a warning naming the angle: the
    /// output is the picture as coded, never a squeezed one.
    #[test]
    fn matrices_that_are_not_quarter_turns_are_ignored_with_a_warning() {
        let dir = tempdir();
        let d = dir.path();
        let t = clip("talking_720p.mp4");
        ff(
            d,
            &[
                "-t",
                "0.5",
                "-i",
                t.to_str().unwrap(),
                "-vf",
                "scale=320:180",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-an",
                "plain.mov",
            ],
        );
        let plain_out = d.join("plain.mp4");
        assert!(render(&d.join("plain.mov"), &plain_out).is_empty());
        let reference = luma_frame(&plain_out, 7, 320, 180);
        for deg in [45.0, 30.0, -60.0, 135.0] {
            let name = format!("rot{deg}.mov");
            std::fs::copy(d.join("plain.mov"), d.join(&name)).unwrap();
            patch_matrix(&d.join(&name), deg);
            let out = d.join(format!("rot{deg}.mp4"));
            let warnings = render(&d.join(&name), &out);
            assert_eq!(size_of(&out), (320, 180), "{name}: not squeezed");
            assert_eq!(warnings.len(), 1, "{name}: {warnings:?}");
            let w = &warnings[0];
            let shown = format!("{}°", deg.abs().round());
            assert!(
                w.contains(&shown) && w.contains("ignored") && w.contains(&name),
                "{name}: {w}"
            );
            let got = luma_frame(&out, 7, 320, 180);
            let diff = mean_abs_diff(&reference, &got, 320, (0, 0, 320, 180));
            assert!(
                diff < 2.0,
                "{name}: differs from the unrotated render by {diff:.2}"
            );
        }
        // A quarter turn still turns the picture (and says nothing).
        std::fs::copy(d.join("plain.mov"), d.join("rot90.mov")).unwrap();
        patch_matrix(&d.join("rot90.mov"), 90.0);
        let out = d.join("rot90.mp4");
        assert!(render(&d.join("rot90.mov"), &out).is_empty());
        assert_eq!(size_of(&out), (180, 320));
    }
}

mod animated {
    use super::*;

    fn make(d: &Path, name: &str, args: &[&str]) -> PathBuf {
        let t = clip("talking_720p.mp4");
        let mut full = vec!["-t", "1", "-i", t.to_str().unwrap()];
        full.extend_from_slice(args);
        full.push(name);
        ff(d, &full);
        d.join(name)
    }

    /// GIF (centisecond delays: 8, 8, 9 …) and APNG render as short videos, every frame at
    /// its own time.
    #[test]
    fn gif_and_apng_render_as_videos_with_their_timing() {
        let dir = tempdir();
        let d = dir.path();
        for (name, args) in [
            ("a.gif", &["-vf", "fps=12,scale=160:90", "-loop", "0"][..]),
            (
                "a.apng",
                &["-vf", "fps=12,scale=160:90", "-plays", "0", "-f", "apng"][..],
            ),
            ("slow.gif", &["-vf", "fps=5,scale=160:90"][..]),
        ] {
            let input = make(d, name, args);
            let out = d.join(format!("{name}.mp4"));
            let warnings = render(&input, &out);
            assert!(
                warnings.iter().all(|w| !w.contains("damaged")),
                "{name}: {warnings:?}"
            );
            assert_times_kept(name, &times(&input), &times(&out), false);
        }
    }

    /// ffmpeg 5.1 cannot decode animated WebP: the refusal names the animation and says
    /// what to do, and does not call it "not a video or image" while listing webp.
    #[test]
    fn animated_webp_is_refused_naming_the_animation() {
        let dir = tempdir();
        let d = dir.path();
        for (name, fps) in [("a.webp", "12"), ("b.webp", "4")] {
            let vf = format!("fps={fps},scale=160:90");
            let input = make(d, name, &["-vf", &vf, "-c:v", "libwebp_anim", "-loop", "0"]);
            let o = ReplaceOptions::new(input.clone(), d.join("out.mp4"), green());
            let err = replace(&o, &mut NoProgress).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
            assert!(err.contains("animated WebP"), "{err}");
            assert!(
                err.contains("GIF") && err.contains("MP4"),
                "says what to do: {err}"
            );
            assert!(!err.contains("not a video or image"), "{err}");
        }
        // A still WebP is still an image.
        let still = make(d, "s.webp", &["-frames:v", "1", "-vf", "scale=160:90"]);
        let out = d.join("s.png");
        render(&still, &out);
        assert_eq!(size_of(&out), (160, 90));
    }
}

mod stills {
    use super::*;

    /// The rule `--help` states: the output fits 1920×1080 (1080×1920 portrait), aspect
    /// kept, never upscaled. Several aspect ratios, rendered for real.
    #[test]
    fn stills_fit_the_box_help_names() {
        let dir = tempdir();
        let d = dir.path();
        let t = clip("talking_720p.mp4");
        for ((w, h), want) in [
            ((3000, 2000), (1620, 1080)),
            ((2000, 3000), (1080, 1620)),
            ((4000, 1000), (1920, 480)),
            ((2400, 2400), (1080, 1080)),
            ((1200, 900), (1200, 900)),
        ] {
            let name = format!("s{w}x{h}.jpg");
            let vf = format!("scale={w}:{h},setsar=1");
            ff(
                d,
                &[
                    "-ss",
                    "1",
                    "-i",
                    t.to_str().unwrap(),
                    "-frames:v",
                    "1",
                    "-vf",
                    &vf,
                    &name,
                ],
            );
            let out = d.join(format!("s{w}x{h}.png"));
            render(&d.join(&name), &out);
            assert_eq!(size_of(&out), want, "{name}");
        }
        let help = Command::new(env!("CARGO_BIN_EXE_editor-background-changer"))
            .args(["replace", "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&help.stdout);
        assert!(
            help.contains("1920×1080") && help.contains("1080×1920"),
            "--help states the box: {help}"
        );
        assert!(!help.contains("Long side up to 1920"), "{help}");
    }
}

mod hdr {
    use super::*;

    /// HDR10 as phones and cameras write it: HEVC Main 10, PQ, BT.2020, with the mastering
    /// display and content light level in SEI.
    fn hdr10_clip(d: &Path, name: &str, master: &str, cll: &str) -> PathBuf {
        let t = clip("talking_720p.mp4");
        let params = format!(
            "log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:hdr10=1:master-display={master}:max-cll={cll}:repeat-headers=1"
        );
        ff(
            d,
            &[
                "-t",
                "0.5",
                "-i",
                t.to_str().unwrap(),
                "-vf",
                "scale=320:180,format=yuv420p10le",
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-tag:v",
                "hvc1",
                "-x265-params",
                &params,
                "-pix_fmt",
                "yuv420p10le",
                "-color_primaries",
                "bt2020",
                "-color_trc",
                "smpte2084",
                "-colorspace",
                "bt2020nc",
                "-c:a",
                "aac",
                name,
            ],
        );
        d.join(name)
    }

    /// The first frame's side data of `path`'s video, as ffprobe reports it.
    fn side_data(path: &Path) -> Vec<serde_json::Value> {
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-read_intervals",
                "%+#1",
            ])
            .args(["-show_frames", "-of", "json"])
            .arg(path)
            .output()
            .unwrap();
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        j["frames"][0]["side_data_list"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn find<'a>(sd: &'a [serde_json::Value], kind: &str) -> &'a serde_json::Value {
        sd.iter()
            .find(|s| s["side_data_type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {sd:?}"))
    }

    #[test]
    fn keep_hdr_writes_hevc_main10_with_the_hdr10_metadata() {
        let dir = tempdir();
        let d = dir.path();
        let cases = [
            (
                "a.mov",
                "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)",
                "1000,400",
                "out_a.mp4",
            ),
            (
                "b.mp4",
                "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(40000000,50)",
                "4000,1200",
                "out_b.mkv",
            ),
        ];
        for (name, master, cll, out_name) in cases {
            let input = hdr10_clip(d, name, master, cll);
            let out = d.join(out_name);
            let mut o = ReplaceOptions::new(input.clone(), out.clone(), green());
            o.x264_preset = "ultrafast".into();
            o.matte = crate::support::test_matte_options();
            o.hdr = HdrMode::Keep;
            replace(&o, &mut NoProgress).unwrap_or_else(|e| panic!("{name}: {e}"));
            let j = probe_json(&out);
            let v = stream(&j, "video").unwrap();
            assert_eq!(v["codec_name"], "hevc", "{name}");
            assert_eq!(v["profile"], "Main 10", "{name}");
            assert_eq!(v["pix_fmt"], "yuv420p10le", "{name}");
            assert_eq!(v["color_transfer"], "smpte2084", "{name}");
            assert_eq!(v["color_primaries"], "bt2020", "{name}");
            if out_name.ends_with(".mp4") {
                assert_eq!(
                    v["codec_tag_string"], "hvc1",
                    "{name}: Apple players need hvc1"
                );
            }
            let (sd_in, sd_out) = (side_data(&input), side_data(&out));
            for key in [
                "red_x",
                "red_y",
                "green_x",
                "green_y",
                "blue_x",
                "blue_y",
                "white_point_x",
                "white_point_y",
                "min_luminance",
                "max_luminance",
            ] {
                let (a, b) = (
                    &find(&sd_in, "Mastering display metadata")[key],
                    &find(&sd_out, "Mastering display metadata")[key],
                );
                assert_eq!(a, b, "{name}: mastering display {key}");
            }
            for key in ["max_content", "max_average"] {
                let (a, b) = (
                    &find(&sd_in, "Content light level metadata")[key],
                    &find(&sd_out, "Content light level metadata")[key],
                );
                assert_eq!(a, b, "{name}: {key}");
            }
        }
    }
}
