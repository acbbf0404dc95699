//! The built binary's local engine commands (`replace`, `demo`, `segment`), each run in a
//! fresh temp dir (ripgrep `rgtest!` style).

use std::path::Path;
use std::process::{Command, Output};

use crate::clip_util::*;

/// A command for the built binary, run inside `dir`.
fn ebc(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_editor-background-changer"));
    cmd.current_dir(dir).env("RUST_LOG", "warn");
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

macro_rules! clitest {
    ($name:ident, |$dir:ident, $cmd:ident| $body:block) => {
        #[test]
        fn $name() {
            let tmp = tempdir();
            let $dir: &Path = tmp.path();
            let mut $cmd = ebc($dir);
            $body
        }
    };
}

clitest!(
    replace_writes_output_and_prints_path_and_backdrop,
    |dir, cmd| {
        let out = cmd
            .arg("replace")
            .arg(clip("noaudio_640x360.mp4"))
            .args(["-b", "#1E90FF", "-o", "out.mp4", "--preset", "ultrafast"])
            .args(["--preview", "ba.jpg", "--temporal", "0.3"])
            .args(["--matte", crate::support::TEST_MATTE])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert_eq!(stdout.trim(), "out.mp4");
        assert!(stderr.contains("backdrop:"), "{stderr}");
        assert_eq!(listing(dir), ["ba.jpg", "out.mp4"]);
        assert_eq!(video_facts(&dir.join("out.mp4")).3, 60);
    }
);

clitest!(not_a_video_fails_naming_the_file, |dir, cmd| {
    let out = cmd
        .arg("replace")
        .arg(clip("not_a_video.mp4"))
        .args(["-b", "#000000", "-o", "out.mp4"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("not_a_video.mp4") && stderr.contains("accepted formats"),
        "{stderr}"
    );
    assert!(listing(dir).is_empty(), "{:?}", listing(dir));
});

clitest!(output_same_as_input_is_refused, |dir, cmd| {
    std::fs::copy(clip("noaudio_640x360.mp4"), dir.join("in.mp4")).unwrap();
    let out = cmd
        .args(["replace", "in.mp4", "-b", "#000000", "-o", "./in.mp4"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("is the input file"), "{stderr}");
    assert_eq!(listing(dir), ["in.mp4"]);
});

clitest!(bad_flag_values_name_the_flag, |dir, cmd| {
    let out = cmd
        .arg("replace")
        .arg(clip("noaudio_640x360.mp4"))
        .args(["-b", "#000000", "-o", "out.mp4", "--temporal", "2"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("--temporal"), "{stderr}");
    assert!(listing(dir).is_empty());
});

clitest!(missing_ffmpeg_says_how_to_install, |dir, cmd| {
    let out = cmd
        .env("EBC_FFPROBE", "/nonexistent/ffprobe")
        .arg("replace")
        .arg(clip("noaudio_640x360.mp4"))
        .args(["-b", "#000000", "-o", "out.mp4"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("ffprobe was not found") && stderr.contains("apt-get install ffmpeg"),
        "{stderr}"
    );
    assert!(listing(dir).is_empty());
});

clitest!(demo_makes_a_clip, |dir, cmd| {
    let out = cmd
        .args([
            "demo",
            "-o",
            "demo.mp4",
            "--seconds",
            "1",
            "--preset",
            "ultrafast",
        ])
        .args(["--matte", crate::support::TEST_MATTE])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "demo.mp4");
    assert_eq!(listing(dir), ["demo.mp4"]);
    let (codec, w, h, frames) = video_facts(&dir.join("demo.mp4"));
    assert_eq!((codec.as_str(), w, h, frames), ("h264", 1280, 720, 30));
});

clitest!(segment_writes_a_gray_matte, |dir, cmd| {
    let out = cmd
        .arg("segment")
        .arg(clip("noaudio_640x360.mp4"))
        .args(["-o", "matte.mkv"])
        .args(["--matte", crate::support::TEST_MATTE])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let json = probe_json(&dir.join("matte.mkv"));
    let v = stream(&json, "video").unwrap();
    assert_eq!(
        (v["codec_name"].as_str(), v["pix_fmt"].as_str()),
        (Some("ffv1"), Some("gray"))
    );
    assert_eq!(v["nb_read_frames"], "60");
    // Some person and some background in the middle frame.
    let m = luma_frame(&dir.join("matte.mkv"), 30, 640, 360);
    let person = m.iter().filter(|&&a| a > 200).count();
    let background = m.iter().filter(|&&a| a < 50).count();
    assert!(
        person > m.len() / 20 && background > m.len() / 20,
        "{person} / {background}"
    );
});

/// The first `frames` frames of fixture `name`, re-encoded into `dir` (MODNet is slow in the
/// test profile, so the tests that run it keep their clips short).
fn short_clip(dir: &Path, name: &str, frames: u32) -> std::path::PathBuf {
    let out = dir.join(format!("short_{name}"));
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(clip(name))
        .args(["-frames:v", &frames.to_string(), "-an"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-crf", "12"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "ffmpeg cutting {name}");
    out
}

/// The matte a finished run names on its last line (`…; matte: NAME` and, when MODNet ran,
/// ` (MODNet on K of N frames)`): (NAME, Some((K, N))).
fn matte_used(stderr: &str) -> (String, Option<(u64, u64)>) {
    let line = stderr
        .lines()
        .rfind(|l| l.contains("; matte: "))
        .unwrap_or_else(|| panic!("no matte named: {stderr}"));
    let rest = &line[line.find("; matte: ").unwrap() + "; matte: ".len()..];
    let name = rest.split_whitespace().next().unwrap().to_string();
    let counts = rest.split_once("(MODNet on ").map(|(_, c)| {
        let mut n = c
            .split(|ch: char| !ch.is_ascii_digit())
            .filter(|s| !s.is_empty());
        let k = n.next().unwrap().parse().unwrap();
        let of = n.next().unwrap().parse().unwrap();
        (k, of)
    });
    (name, counts)
}

// `--matte balanced` is accepted, used, and named at the end: MODNet runs on keyframes
// only (fewer frames than the clip has); every frame is written.
clitest!(
    balanced_matte_runs_modnet_on_keyframes_and_says_so,
    |dir, cmd| {
        let input = short_clip(dir, "noaudio_640x360.mp4", 8);
        let out = cmd
            .arg("replace")
            .arg(&input)
            .args(["-b", "navy", "-o", "out.mp4", "--preset", "ultrafast"])
            .args(["--matte", "balanced"])
            .output()
            .unwrap();
        let (_, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        let (name, counts) = matte_used(&stderr);
        assert_eq!(name, "balanced", "{stderr}");
        let (ran, frames) = counts.unwrap_or_else(|| panic!("no MODNet count: {stderr}"));
        assert_eq!(frames, 8, "{stderr}");
        assert!(
            (1..8).contains(&ran),
            "MODNet on {ran} of {frames}: {stderr}"
        );
        assert_eq!(video_facts(&dir.join("out.mp4")).3, 8);
    }
);

// A matte the CLI does not know is refused naming every one it does; nothing is written.
clitest!(an_unknown_matte_lists_the_mattes, |dir, cmd| {
    let out = cmd
        .arg("replace")
        .arg(clip("noaudio_640x360.mp4"))
        .args(["-b", "navy", "-o", "out.mp4", "--matte", "ultra"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    for name in ["fast", "balanced", "quality"] {
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    assert!(listing(dir).is_empty());
});

// Without `--matte` the engine's default matte is used, and named.
clitest!(no_matte_flag_uses_the_default_matte, |dir, cmd| {
    let input = short_clip(dir, "noaudio_640x360.mp4", 4);
    let out = cmd
        .arg("replace")
        .arg(&input)
        .args(["-b", "navy", "-o", "out.mp4", "--preset", "ultrafast"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let default = ebc::engine::matte::MatteMode::default();
    assert_eq!(matte_used(&stderr).0, default.as_str(), "{stderr}");
});
