//! Helpers for the media tests: fixture paths, ffprobe facts and decoded frames of outputs,
//! a fresh temp dir per test, and progress reporters that record or cancel.

use std::path::{Path, PathBuf};
use std::process::Command;

use ebc::engine::{Progress, ProgressReporter};

/// `EBC_FIXTURES`, else `tests/fixtures` relative to the crate root.
pub fn fixtures() -> PathBuf {
    std::env::var_os("EBC_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
}

pub fn clip(name: &str) -> PathBuf {
    let p = fixtures().join("clips").join(name);
    assert!(
        p.exists(),
        "fixture {} is missing (set EBC_FIXTURES)",
        p.display()
    );
    p
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("ebc-test-")
        .tempdir()
        .expect("temp dir")
}

/// Names of the entries in `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// ffprobe's JSON for `path` (streams + format), with decoded frame counts.
pub fn probe_json(path: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
        ])
        .args(["-count_frames"])
        .arg(path)
        .output()
        .expect("running ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ffprobe json")
}

pub fn stream<'a>(json: &'a serde_json::Value, kind: &str) -> Option<&'a serde_json::Value> {
    json["streams"]
        .as_array()?
        .iter()
        .find(|s| s["codec_type"] == kind)
}

/// (codec, width, height, decoded frames) of the first video stream.
pub fn video_facts(path: &Path) -> (String, u64, u64, u64) {
    let json = probe_json(path);
    let v = stream(&json, "video").expect("a video stream");
    (
        v["codec_name"].as_str().unwrap_or("").to_string(),
        v["width"].as_u64().unwrap_or(0),
        v["height"].as_u64().unwrap_or(0),
        v["nb_read_frames"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
    )
}

pub fn has_audio(path: &Path) -> bool {
    stream(&probe_json(path), "audio").is_some()
}

/// The luma plane of frame `index` (autorotated, at its own size): (width, height, bytes).
pub fn luma_frame(path: &Path, index: u64, width: usize, height: usize) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-vf", &format!("select=eq(n\\,{index})"), "-frames:v", "1"])
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .expect("running ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout.len(),
        width * height,
        "frame {index} of {}",
        path.display()
    );
    out.stdout
}

/// Mean absolute difference of two luma planes inside a box (x0..x1, y0..y1).
pub fn mean_abs_diff(
    a: &[u8],
    b: &[u8],
    width: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
) -> f64 {
    let mut sum = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            let i = y * width + x;
            sum += u64::from(a[i].abs_diff(b[i]));
        }
    }
    sum as f64 / ((x1 - x0) * (y1 - y0)) as f64
}

/// Records what the engine reports; cancels after `cancel_after` frames when set.
#[derive(Default)]
pub struct Recorder {
    pub updates: u64,
    pub last: Progress,
    pub warnings: Vec<String>,
    pub cancel_after: Option<u64>,
    pub done: bool,
}

impl ProgressReporter for Recorder {
    fn update(&mut self, p: &Progress) -> bool {
        self.updates += 1;
        self.last = p.clone();
        self.cancel_after.is_none_or(|n| p.frames_done < n)
    }

    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_string());
    }

    fn done(&mut self) {
        self.done = true;
    }
}
