//! Matte quality on the known-alpha clips: every clip listed in
//! `$EBC_FIXTURES/clips/known_alpha/manifest.json` goes through `engine::pipeline::replace`
//! with the transparent backdrop (ProRes 4444 `.mov`, whose alpha is lossless), and the
//! output alpha is compared with the ground-truth alpha video. Run with `--nocapture` for
//! the table; BENCHMARKS.md ("Quality") records it.

use std::io::Read;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use ebc::engine::backdrop::resolve;
use ebc::engine::{NoProgress, ReplaceOptions, replace};

use crate::clip_util::{fixtures, tempdir};

/// Acceptance thresholds (issue 3), over the mean of all clips.
const MIN_MEAN_IOU: f64 = 0.90;
const MAX_MEAN_MAE: f64 = 0.06;

#[derive(Debug)]
struct Scores {
    clip: String,
    frames: usize,
    iou_mean: f64,
    iou_min: f64,
    mae: f64,
    /// Mean |α_t − α_{t−1}| (0..1) where the ground truth did not change between t−1 and t.
    flicker: f64,
    /// The reference runtime's (MediaPipe, plain bilinear upsampling) IoU from the manifest.
    reference_iou: Option<f64>,
}

/// Gray 8-bit frames from an ffmpeg child, one at a time (memory stays at one frame).
struct GrayFrames {
    child: Child,
    out: ChildStdout,
    len: usize,
}

impl GrayFrames {
    fn open(path: &Path, pre_input: &[&str], filter: Option<&str>, len: usize) -> Self {
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-v", "error", "-nostdin"])
            .args(pre_input)
            .arg("-i")
            .arg(path);
        if let Some(f) = filter {
            cmd.args(["-vf", f]);
        }
        cmd.args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("running ffmpeg");
        let out = child.stdout.take().expect("ffmpeg stdout");
        GrayFrames { child, out, len }
    }

    fn next(&mut self, buf: &mut Vec<u8>) -> bool {
        buf.resize(self.len, 0);
        let mut got = 0;
        while got < self.len {
            match self
                .out
                .read(&mut buf[got..])
                .expect("reading ffmpeg output")
            {
                0 => break,
                n => got += n,
            }
        }
        assert!(
            got == 0 || got == self.len,
            "partial frame ({got} of {} bytes)",
            self.len
        );
        got == self.len
    }
}

impl Drop for GrayFrames {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn score_clip(dir: &Path, entry: &serde_json::Value, work: &Path) -> Scores {
    let clip = entry["clip"].as_str().expect("manifest: clip").to_string();
    let alpha = entry["alpha"].as_str().expect("manifest: alpha");
    let (w, h) = (
        entry["width"].as_u64().expect("manifest: width") as usize,
        entry["height"].as_u64().expect("manifest: height") as usize,
    );
    let out = work.join(format!("{clip}.mov"));
    let backdrop = resolve("transparent").expect("transparent backdrop");
    let report = replace(
        &ReplaceOptions::new(dir.join(&clip), out.clone(), backdrop),
        &mut NoProgress,
    )
    .unwrap_or_else(|e| panic!("{clip}: {e}"));
    assert_eq!(
        (report.width as usize, report.height as usize),
        (w, h),
        "{clip}: output size"
    );

    let mut ours = GrayFrames::open(&out, &[], Some("alphaextract"), w * h);
    let mut truth = GrayFrames::open(&dir.join(alpha), &[], None, w * h);
    let (mut a, mut g) = (Vec::new(), Vec::new());
    let (mut prev_a, mut prev_g) = (Vec::new(), Vec::new());
    let (mut ious, mut abs_sum, mut flick_sum, mut flick_n) = (Vec::new(), 0u64, 0u64, 0u64);
    loop {
        let (ha, hg) = (ours.next(&mut a), truth.next(&mut g));
        assert_eq!(
            ha, hg,
            "{clip}: frame counts differ (output vs ground truth)"
        );
        if !ha {
            break;
        }
        let (mut inter, mut union) = (0u64, 0u64);
        for (&x, &y) in a.iter().zip(&g) {
            let (px, py) = (x >= 128, y >= 128);
            inter += u64::from(px && py);
            union += u64::from(px || py);
            abs_sum += u64::from(x.abs_diff(y));
        }
        ious.push(if union == 0 {
            1.0
        } else {
            inter as f64 / union as f64
        });
        if !prev_a.is_empty() {
            for ((&x, &px), (&y, &py)) in a.iter().zip(&prev_a).zip(g.iter().zip(&prev_g)) {
                if y == py {
                    flick_sum += u64::from(x.abs_diff(px));
                    flick_n += 1;
                }
            }
        }
        std::mem::swap(&mut a, &mut prev_a);
        std::mem::swap(&mut g, &mut prev_g);
    }
    let frames = ious.len();
    assert!(frames > 0, "{clip}: no frames decoded");
    if let Some(n) = entry["frames"].as_u64() {
        assert_eq!(frames as u64, n, "{clip}: frame count");
    }
    let _ = std::fs::remove_file(&out);
    Scores {
        clip,
        frames,
        iou_mean: ious.iter().sum::<f64>() / frames as f64,
        iou_min: ious.iter().cloned().fold(1.0, f64::min),
        mae: abs_sum as f64 / (255.0 * (frames * w * h) as f64),
        flicker: flick_sum as f64 / (255.0 * flick_n.max(1) as f64),
        reference_iou: entry["reference_runtime_scores"]["landscape_144x256"]["iou_at_0.5_mean"]
            .as_f64(),
    }
}

fn table(rows: &[Scores]) -> String {
    let mut t = String::from(
        "| clip | frames | IoU@0.5 mean | IoU min | mean abs error | flicker (static GT) | reference IoU (landscape) |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        t += &format!(
            "| {} | {} | {:.3} | {:.3} | {:.4} | {:.4} | {} |\n",
            r.clip.trim_end_matches(".mp4"),
            r.frames,
            r.iou_mean,
            r.iou_min,
            r.mae,
            r.flicker,
            r.reference_iou.map_or("–".into(), |v| format!("{v:.3}")),
        );
    }
    let n = rows.len() as f64;
    t += &format!(
        "| **mean** | {} | **{:.3}** | {:.3} | **{:.4}** | {:.4} | {} |\n",
        rows.iter().map(|r| r.frames).sum::<usize>(),
        rows.iter().map(|r| r.iou_mean).sum::<f64>() / n,
        rows.iter().map(|r| r.iou_min).fold(1.0, f64::min),
        rows.iter().map(|r| r.mae).sum::<f64>() / n,
        rows.iter().map(|r| r.flicker).sum::<f64>() / n,
        if rows.iter().all(|r| r.reference_iou.is_some()) {
            format!(
                "{:.3}",
                rows.iter().filter_map(|r| r.reference_iou).sum::<f64>() / n
            )
        } else {
            "–".into()
        },
    );
    t
}

/// Every clip of the known-alpha manifest with `-b transparent`: mean IoU (α ≥ 0.5) ≥ 0.90
/// and mean |α − α_gt| ≤ 0.06 over the clips; flicker reported.
#[test]
fn known_alpha_clips_meet_the_quality_bar() {
    let dir = fixtures().join("clips/known_alpha");
    let manifest_path = dir.join("manifest.json");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&manifest_path)
            .unwrap_or_else(|e| panic!("{}: {e} (set EBC_FIXTURES)", manifest_path.display())),
    )
    .expect("manifest.json is JSON");
    let entries: Vec<&serde_json::Value> = manifest
        .as_array()
        .expect("manifest is a list")
        .iter()
        .filter(|e| e["alpha"].is_string())
        .collect();
    assert!(
        !entries.is_empty(),
        "no clip with an alpha in {}",
        manifest_path.display()
    );

    let work = tempdir();
    let rows: Vec<Scores> = entries
        .iter()
        .map(|e| score_clip(&dir, e, work.path()))
        .collect();
    let t = table(&rows);
    println!("\nknown-alpha quality (engine, -b transparent, ProRes 4444 alpha):\n{t}");

    let n = rows.len() as f64;
    let iou = rows.iter().map(|r| r.iou_mean).sum::<f64>() / n;
    let mae = rows.iter().map(|r| r.mae).sum::<f64>() / n;
    assert!(
        iou >= MIN_MEAN_IOU,
        "mean IoU {iou:.3} < {MIN_MEAN_IOU}\n{t}"
    );
    assert!(
        mae <= MAX_MEAN_MAE,
        "mean abs error {mae:.4} > {MAX_MEAN_MAE}\n{t}"
    );
    for r in &rows {
        assert!(r.flicker.is_finite() && r.frames > 1, "{}: {r:?}", r.clip);
    }
}
