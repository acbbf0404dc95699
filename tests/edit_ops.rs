//! Issue 21 through a real MCP client (rmcp over stdio, the built binary, the embedded
//! backend): typed operations (atomic, one charge, errors that name the operation, the field
//! and the accepted values), clips pointed at by position in words, undo/redo over stored
//! versions, a render per clip (`media`, `each: true`) checked with ffprobe and pixels,
//! unknown arguments refused by name, a backdrop PNG in a folder with a space uploaded by the
//! server, and a title range that is exact at both ends.

use std::path::{Path, PathBuf};

use rmcp::model::CallToolRequestParams;
use serde_json::json;

use crate::clip_util::probe_json;
use crate::mcp_timeline::{Local, ffmpeg, local, local_with, text};
use crate::timeline::{rgb_at, solid_png};

/// A 2 s 640x360 clip at 30 fps with no person and no sound (lavfi `testsrc2`), so a new
/// backdrop shows nowhere and the renders stay quick; `secs` long.
fn test_clip(home: &Path, name: &str, secs: f64) -> String {
    let dir = home.join("Movies");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc2=size=640x360:rate=30:duration={secs}"),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        p.to_str().unwrap(),
    ]);
    p.to_string_lossy().into_owned()
}

/// Upload `names` (made with `test_clip`, `secs` each) in one call.
async fn three_clips(s: &Local, names: &[&str], secs: f64) {
    let paths: Vec<String> = names
        .iter()
        .map(|n| test_clip(s.home.path(), n, secs))
        .collect();
    s.ok("upload_media", json!({ "media": paths })).await;
}

/// The clips on the timeline: (name, duration ms).
async fn clips(s: &Local) -> Vec<(String, u64)> {
    let (_, t) = s.ok("show_timeline", json!({})).await;
    t["draft"]["t"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|tr| tr["tt"] == 0)
        .flat_map(|tr| tr["sg"].as_array().unwrap().clone())
        .map(|sg| {
            (
                sg["m"]["name"].as_str().unwrap().to_string(),
                sg["d"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn credits(s: &Local) -> f64 {
    let (_, c) = s.ok("get_credits", json!({})).await;
    c["available"].as_f64().unwrap()
}

async fn version(s: &Local) -> (u64, u64, String) {
    let (_, t) = s.ok("show_timeline", json!({})).await;
    (
        t["version"]["current"].as_u64().unwrap_or(0),
        t["version"]["latest"].as_u64().unwrap_or(0),
        t["version_note"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn issue21_operations_are_atomic_charged_once_and_errors_name_the_field() {
    let s = local().await;
    three_clips(&s, &["a.mp4", "b.mp4", "c.mp4"], 2.0).await;
    let before = credits(&s).await;
    // Three operations, one call: one charge, one version.
    let (r, _) = s
        .ok(
            "edit_video",
            json!({"operations": [
                {"op": "trim", "clip": 3, "remove_first_s": 0.5},
                {"op": "move", "clip": "last", "to": "first"},
                {"op": "title", "text": "Hello", "start_s": 0, "end_s": 1, "position": "top"},
            ]}),
        )
        .await;
    let t = text(&r);
    assert_eq!(
        clips(&s).await,
        vec![
            ("c.mp4".to_string(), 1500),
            ("a.mp4".to_string(), 2000),
            ("b.mp4".to_string(), 2000)
        ],
        "{t}"
    );
    let after = credits(&s).await;
    let cost = before - after;
    assert!(cost > 0.0, "an edit costs something");
    let (cur, latest, summary) = version(&s).await;
    assert_eq!((cur, latest), (2, 2), "{summary}");
    assert!(summary.contains("Version 2 of 2"), "{summary}");

    // An invalid operation anywhere: nothing changes, nothing is charged, and the error names
    // the operation, the field and the accepted values.
    let (_, e) = s
        .err(
            "edit_video",
            json!({"operations": [
                {"op": "remove", "clip": 1},
                {"op": "title", "text": "x", "position": "upper"},
            ]}),
        )
        .await;
    for want in [
        "operation 2",
        "title",
        "position",
        "top",
        "center",
        "bottom",
    ] {
        assert!(e.contains(want), "{want} missing: {e}");
    }
    // Valid shape, impossible on this timeline (no clip 7): all or none, the first op too.
    let (_, e) = s
        .err(
            "edit_video",
            json!({"operations": [
                {"op": "remove", "clip": 1},
                {"op": "trim", "clip": 7, "remove_first_s": 1},
            ]}),
        )
        .await;
    assert!(e.contains("operation 2") && e.contains("clip 7"), "{e}");
    assert_eq!(clips(&s).await.len(), 3, "the first operation was not kept");
    assert_eq!(credits(&s).await, after, "a failed call is not charged");
    let (_, e) = s
        .err(
            "edit_video",
            json!({"operations": [{"op": "aspect_ratio", "ratio": "4:3"}]}),
        )
        .await;
    assert!(e.contains("ratio") && e.contains("9:16"), "{e}");
    assert!(!e.contains("url-root") && !e.contains("--"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn issue21_clips_by_position_in_words_en_and_zh() {
    let s = local().await;
    three_clips(&s, &["a.mp4", "b.mp4", "c.mp4"], 2.0).await;
    for (words, want) in [
        (
            "cut the first 0.5 seconds of the third clip",
            vec![("a.mp4", 2000), ("b.mp4", 2000), ("c.mp4", 1500)],
        ),
        (
            "move the final one to the beginning",
            vec![("c.mp4", 1500), ("a.mp4", 2000), ("b.mp4", 2000)],
        ),
        ("删除第二个片段", vec![("c.mp4", 1500), ("b.mp4", 2000)]),
        (
            "剪掉最后一段的前1秒",
            vec![("c.mp4", 1500), ("b.mp4", 1000)],
        ),
    ] {
        let (r, _) = s.ok("edit_video", json!({ "instruction": words })).await;
        let got = clips(&s).await;
        let want: Vec<(String, u64)> = want.iter().map(|(n, d)| (n.to_string(), *d)).collect();
        assert_eq!(got, want, "{words}: {}", text(&r));
    }
    // What it cannot do still gets the list.
    let (_, e) = s
        .err(
            "edit_video",
            json!({"instruction": "speed up the third clip"}),
        )
        .await;
    assert!(e.contains("9:16") && e.contains("cannot"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn issue21_undo_and_redo_in_operations_and_words() {
    let s = local().await;
    three_clips(&s, &["a.mp4", "b.mp4", "c.mp4"], 2.0).await;
    s.ok(
        "edit_video",
        json!({"operations": [{"op": "remove", "clip": "first"}]}),
    )
    .await;
    s.ok("edit_video", json!({"instruction": "make it 9:16"}))
        .await;
    assert_eq!(version(&s).await.0, 3);
    let names = |v: Vec<(String, u64)>| v.into_iter().map(|c| c.0).collect::<Vec<_>>();
    assert_eq!(names(clips(&s).await), ["b.mp4", "c.mp4"]);
    let credits_before = credits(&s).await;
    let (r, _) = s
        .ok("edit_video", json!({"instruction": "undo that"}))
        .await;
    assert!(text(&r).contains("version 2"), "{}", text(&r));
    let (_, t) = s.ok("show_timeline", json!({})).await;
    assert!(t["draft"].get("canvas").is_none(), "9:16 undone: {t}");
    s.ok("edit_video", json!({"instruction": "撤销"})).await;
    assert_eq!(names(clips(&s).await), ["a.mp4", "b.mp4", "c.mp4"]);
    let (cur, latest, summary) = version(&s).await;
    assert_eq!((cur, latest), (1, 3), "{summary}");
    assert!(summary.contains("Version 1 of 3"), "{summary}");
    let (_, e) = s.err("edit_video", json!({"instruction": "undo"})).await;
    assert!(e.contains("nothing to undo"), "{e}");
    s.ok(
        "edit_video",
        json!({"operations": [{"op": "redo", "steps": 2}]}),
    )
    .await;
    assert_eq!(names(clips(&s).await), ["b.mp4", "c.mp4"]);
    let (_, t) = s.ok("show_timeline", json!({})).await;
    assert_eq!(t["draft"]["canvas"]["ratio"], "9:16");
    assert_eq!(credits(&s).await, credits_before, "undo and redo are free");
    // An edit after an undo drops the versions after it.
    s.ok("edit_video", json!({"instruction": "undo"})).await;
    s.ok(
        "edit_video",
        json!({"operations": [{"op": "aspect_ratio", "ratio": "1:1"}]}),
    )
    .await;
    assert_eq!(version(&s).await.0, 3);
    let (_, e) = s.err("edit_video", json!({"instruction": "redo"})).await;
    assert!(e.contains("nothing to redo"), "{e}");
}

/// Mean RGB of a frame's left column strip (x < 40), where testsrc2 has no person: the
/// backdrop shows there when the segmenter finds nobody.
fn edge_mean(frame: &[u8], w: usize, h: usize) -> [f64; 3] {
    let mut sum = [0.0; 3];
    let mut n = 0.0;
    for y in 0..h {
        for x in 0..40.min(w) {
            for c in 0..3 {
                sum[c] += f64::from(frame[(y * w + x) * 3 + c]);
            }
            n += 1.0;
        }
    }
    sum.map(|v| v / n)
}

#[tokio::test(flavor = "multi_thread")]
async fn issue21_batch_a_backdrop_per_clip_a_file_per_clip() {
    let s = local().await;
    three_clips(&s, &["one.mp4", "two.mp4", "three.mp4"], 1.0).await;
    // A different backdrop for each clip: PNGs in a folder whose name has a space, given as
    // replace_background's `backdrop` path — uploaded by the server, not sent as text.
    let pics = s.home.path().join("My Backdrops");
    std::fs::create_dir_all(&pics).unwrap();
    let colours = [
        ("one.mp4", "Red Sky.PNG", [230u8, 30, 30]),
        ("two.mp4", "green.png", [30, 200, 60]),
        ("three.mp4", "blue.png", [40, 60, 230]),
    ];
    for (clip, file, rgb) in colours {
        let png = pics.join(file);
        solid_png(&png, rgb, 320, 180);
        let (r, _) = s
            .ok(
                "replace_background",
                json!({"media": clip, "backdrop": png.to_string_lossy()}),
            )
            .await;
        let t = text(&r);
        assert!(!t.contains("url-root") && !t.contains("--"), "{t}");
        // Uploaded by the MCP server: the backend names the upload, not a path.
        let (_, tl) = s.ok("show_timeline", json!({})).await;
        assert!(tl["summary"].as_str().unwrap().contains(file), "{tl}");
    }
    // `each` used to be dropped silently; a misspelt argument is an error naming it.
    let params = CallToolRequestParams::new("export_video")
        .with_arguments(json!({"eech": true}).as_object().cloned().unwrap());
    let e = match s.client.call_tool(params).await {
        Ok(r) => {
            assert_eq!(r.is_error, Some(true), "{}", text(&r));
            text(&r)
        }
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("eech") && e.contains("each") && e.contains("output_path"),
        "{e}"
    );

    let out = s.home.path().join("Exports per clip");
    let r = s
        .call(
            "export_video",
            json!({"each": true, "output_path": out.to_string_lossy(), "resolution": "720p"}),
        )
        .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let v = r.structured_content.clone().expect("structured content");
    // One job per clip: its own id, state and (when done) path, each to be followed alone.
    let jobs = v["jobs"].as_array().expect("one job per clip").clone();
    eprintln!(
        "each: {} after the first call; jobs {}",
        v["status"], v["jobs"]
    );
    assert_eq!(jobs.len(), 3, "{v}");
    let mut ids: Vec<&str> = jobs.iter().map(|j| j["job_id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "a job id per clip: {v}");
    if v["status"] == "completed" {
        assert_eq!(v["files"].as_array().unwrap().len(), 3, "{}", text(&r));
        let links = r
            .content
            .iter()
            .filter(|c| c.as_resource_link().is_some())
            .count();
        assert_eq!(links, 3);
    }
    let mut files = Vec::new();
    for (job, (clip, _, _)) in jobs.iter().zip(&colours) {
        assert_eq!(job["clip"], *clip, "{v}");
        let id = job["job_id"].as_str().unwrap();
        // The `{job_id}` continuation of one clip's job answers for that clip alone.
        let (_, one) = s.ok("export_video", json!({ "job_id": id })).await;
        assert_eq!(one["files"].as_array().unwrap().len(), 1, "{one}");
        assert_eq!(one["files"][0]["clip"], *clip, "{one}");
        if job["status"] == "completed" {
            assert_eq!(job["path"], one["files"][0]["path"], "{v}");
        }
        files.push(one["files"][0].clone());
    }
    for ((clip, _, rgb), f) in colours.iter().zip(&files) {
        assert_eq!(f["clip"], *clip);
        let path = PathBuf::from(f["path"].as_str().unwrap());
        assert_eq!(
            path,
            out.join(clip.replace(".mp4", "") + ".mp4"),
            "named after the clip"
        );
        let probe = probe_json(&path);
        let dur: f64 = probe["format"]["duration"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((dur - 1.0).abs() < 0.1, "{clip}: one clip alone, {dur} s");
        let video = probe["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["codec_type"] == "video")
            .unwrap()
            .clone();
        let (w, h) = (
            video["width"].as_u64().unwrap() as usize,
            video["height"].as_u64().unwrap() as usize,
        );
        let m = edge_mean(&rgb_at(&path, 0.5, w, h), w, h);
        for c in 0..3 {
            assert!(
                (m[c] - f64::from(rgb[c])).abs() < 40.0,
                "{clip}: edge {m:?}, backdrop {rgb:?}"
            );
        }
    }
    // One clip alone by position.
    let single = s.home.path().join("second.mp4");
    let (_, v) = s
        .ok(
            "export_video",
            json!({"media": 2, "output_path": single.to_string_lossy(), "resolution": "720p"}),
        )
        .await;
    assert_eq!(v["files"][0]["clip"], "two.mp4");
    let probe = probe_json(&single);
    let dur: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((dur - 1.0).abs() < 0.1, "{dur}");
    let m = edge_mean(&rgb_at(&single, 0.5, 640, 360), 640, 360);
    assert!(m[1] > 150.0 && m[0] < 90.0, "green backdrop: {m:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn issue21_backdrop_paths_are_uploaded_and_refusals_name_no_backend_flag() {
    let s = local().await;
    three_clips(&s, &["a.mp4"], 1.0).await;
    let pics = s.home.path().join("Holiday Pics");
    std::fs::create_dir_all(&pics).unwrap();
    let png = pics.join("Sunset Beach.PNG");
    solid_png(&png, [250, 120, 20], 64, 36);
    for written in [
        png.to_string_lossy().into_owned(),
        format!("\"{}\"", png.to_string_lossy()),
        "~/Holiday Pics/Sunset Beach.PNG".to_string(),
        format!("file://{}", png.to_string_lossy().replace(' ', "%20")),
    ] {
        let (r, v) = s
            .ok("replace_background", json!({ "backdrop": written }))
            .await;
        let t = text(&r);
        assert!(!t.contains("url-root"), "{written}: {t}");
        assert!(
            v["timeline"].as_str().unwrap().contains("Sunset Beach"),
            "{written}: {v}"
        );
    }
    // The same file as a backdrop operation.
    let (r, _) = s
        .ok(
            "edit_video",
            json!({"operations": [{"op": "backdrop", "backdrop": png.to_string_lossy(), "clip": 1}]}),
        )
        .await;
    assert!(!text(&r).contains("url-root"), "{}", text(&r));
    // A path that does not exist: an error naming it, never advice about backend flags.
    let (_, e) = s
        .err(
            "replace_background",
            json!({"backdrop": "/nowhere/My Pics/sky.png"}),
        )
        .await;
    assert!(e.contains("/nowhere/My Pics/sky.png"), "{e}");
    assert!(!e.contains("url-root") && !e.contains("--"), "{e}");
    let (_, e) = s
        .err(
            "edit_video",
            json!({"instruction": "use /nowhere/x.png as the background"}),
        )
        .await;
    assert!(!e.contains("url-root") && !e.contains("--"), "{e}");
}

/// Luma of the title band (rows 5–25 % of the height, centre half of the width) minus the
/// same band of the clip without a title at the same time, summed over bright pixels.
fn title_pixels(with: &[u8], without: &[u8], w: usize, h: usize) -> usize {
    let mut n = 0;
    for y in h / 20..h / 4 {
        for x in w / 4..3 * w / 4 {
            let i = (y * w + x) * 3;
            let d: i32 = (0..3)
                .map(|c| (i32::from(with[i + c]) - i32::from(without[i + c])).abs())
                .sum();
            if d > 60 {
                n += 1;
            }
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn issue21_a_title_range_is_exact_at_both_ends() {
    let s = local().await;
    three_clips(&s, &["a.mp4"], 3.0).await;
    let plain = s.home.path().join("plain.mp4");
    s.ok(
        "export_video",
        json!({"output_path": plain.to_string_lossy(), "resolution": "720p"}),
    )
    .await;
    // A title from 1.0 s to 2.0 s with a fade: the fades happen inside the range.
    s.ok(
        "edit_video",
        json!({"operations": [{"op": "title", "text": "EXACT", "start_s": 1, "end_s": 2,
            "position": "top", "size": "huge", "colour": "white", "fade": true}]}),
    )
    .await;
    let titled = s.home.path().join("titled.mp4");
    s.ok(
        "export_video",
        json!({"output_path": titled.to_string_lossy(), "resolution": "720p"}),
    )
    .await;
    let (w, h) = (640, 360);
    let at = |t: f64| title_pixels(&rgb_at(&titled, t, w, h), &rgb_at(&plain, t, w, h), w, h);
    // ε = 3 frames at 30 fps: with a 0.5 s fade the title is at 20 % there.
    let eps = 0.1;
    let (a0, a1, mid, b0, b, b1) = (
        at(1.0 - eps),
        at(1.0 + eps),
        at(1.5),
        at(2.0 - eps),
        at(2.0),
        at(2.0 + eps),
    );
    eprintln!("title pixels: a-ε {a0}, a+ε {a1}, middle {mid}, b-ε {b0}, b {b}, b+ε {b1}");
    assert!(mid > 500, "the title shows in the middle: {mid}");
    assert_eq!(a0, 0, "nothing before the range");
    assert_eq!(b, 0, "fully gone at the end of the range");
    assert_eq!(b1, 0, "gone after the range");
    assert!(
        a1 > 0 && a1 < mid,
        "fading in inside the range: {a1} of {mid}"
    );
    assert!(
        b0 > 0 && b0 < mid,
        "fading out inside the range: {b0} of {mid}"
    );
}

/// RMS of the exported audio (mono, 48 kHz, decoded by ffmpeg to f32 PCM) in the 20 ms
/// window centred on `t` s.
fn rms_at(pcm: &[f32], t: f64) -> f64 {
    let rate = 48_000.0;
    let (a, b) = (((t - 0.01) * rate) as usize, ((t + 0.01) * rate) as usize);
    let w = &pcm[a.min(pcm.len())..b.min(pcm.len())];
    assert!(!w.is_empty(), "no samples at {t} s");
    (w.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / w.len() as f64).sqrt()
}

/// The whole audio track of `path` as mono f32 samples at 48 kHz.
fn pcm(path: &Path) -> Vec<f32> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-vn", "-ac", "1", "-ar", "48000", "-f", "f32le", "-"])
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

/// The music segment on the timeline: (st, d) in ms.
async fn music_span(s: &Local) -> (u64, u64) {
    let (_, t) = s.ok("show_timeline", json!({})).await;
    let seg = t["draft"]["t"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tr| tr["tt"] == 1)
        .and_then(|tr| tr["sg"].get(0))
        .unwrap_or_else(|| panic!("no music on the timeline: {t}"))
        .clone();
    (seg["st"].as_u64().unwrap(), seg["d"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn issue21_a_music_range_is_exact_at_both_ends() {
    let s = local().await;
    // A silent 7 s clip (testsrc2 has no sound), so the only sound is the music.
    three_clips(&s, &["a.mp4"], 7.0).await;
    let music = s.home.path().join("Music");
    std::fs::create_dir_all(&music).unwrap();
    let tone = music.join("tone.wav");
    crate::timeline::sine(&tone, 440, 10.0);
    s.ok("upload_media", json!({ "media": tone.to_string_lossy() }))
        .await;
    // Free text, English and Chinese, says the range too.
    for words in ["add the music from 0:02 to 0:05", "只在第2到5秒放音乐"] {
        let (r, _) = s.ok("edit_video", json!({ "instruction": words })).await;
        assert_eq!(music_span(&s).await, (2000, 3000), "{words}: {}", text(&r));
        s.ok(
            "edit_video",
            json!({"operations": [{"op": "remove_music"}]}),
        )
        .await;
    }
    // The music from 2 s to 5 s, with 0.5 s fades inside the range.
    let (a, b, eps) = (2.0, 5.0, 0.1);
    s.ok(
        "edit_video",
        json!({"operations": [{"op": "music", "media": "tone.wav", "volume": 100,
            "start_s": a, "end_s": b, "fade_in_s": 0.5, "fade_out_s": 0.5}]}),
    )
    .await;
    assert_eq!(music_span(&s).await, (2000, 3000));
    let out = s.home.path().join("music range.mp4");
    s.ok(
        "export_video",
        json!({"output_path": out.to_string_lossy(), "resolution": "720p"}),
    )
    .await;
    let pcm = pcm(&out);
    let (a0, a1, mid, b0, b1) = (
        rms_at(&pcm, a - eps),
        rms_at(&pcm, a + eps),
        rms_at(&pcm, (a + b) / 2.0),
        rms_at(&pcm, b - eps),
        rms_at(&pcm, b + eps),
    );
    eprintln!("music RMS: a-ε {a0:.5}, a+ε {a1:.5}, middle {mid:.5}, b-ε {b0:.5}, b+ε {b1:.5}");
    // lavfi's sine is at 1/8 full scale: RMS ≈ 0.088 at 100 %.
    assert!(mid > 0.05, "the music plays in the middle: {mid}");
    assert!(a0 < 0.002, "silent before the range: {a0}");
    assert!(b1 < 0.002, "fully gone after the range: {b1}");
    assert!(
        a1 > 0.005 && a1 < 0.6 * mid,
        "fading in inside the range: {a1} of {mid}"
    );
    assert!(
        b0 > 0.005 && b0 < 0.6 * mid,
        "fading out inside the range: {b0} of {mid}"
    );
    // Before and after the range, over whole seconds: silence.
    assert!(rms_at(&pcm, 1.0) < 0.002 && rms_at(&pcm, 6.0) < 0.002);
}

#[tokio::test(flavor = "multi_thread")]
async fn issue21_a_failed_edit_records_no_version() {
    let s = local().await;
    three_clips(&s, &["a.mp4", "b.mp4"], 1.0).await;
    // The upload made the draft; no edit has run yet.
    let before = version(&s).await;
    let (_, e) = s
        .err(
            "edit_video",
            json!({"operations": [{"op": "trim", "clip": 7, "remove_first_s": 0.5}]}),
        )
        .await;
    assert!(e.contains("clip 7") || e.contains("no clip 7"), "{e}");
    assert_eq!(
        version(&s).await,
        before,
        "a failed edit records no version"
    );
    let (_, e) = s.err("edit_video", json!({"instruction": "undo"})).await;
    assert!(e.contains("nothing to undo"), "{e}");
    assert_eq!(version(&s).await, before, "nor does a failed undo");
    // A good edit after it: the upload's draft, then the edit.
    s.ok(
        "edit_video",
        json!({"operations": [{"op": "remove", "clip": 2}]}),
    )
    .await;
    let (cur, latest, _) = version(&s).await;
    assert_eq!((cur, latest), (2, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn issue21_unknown_arguments_are_tool_errors_naming_them() {
    let s = local().await;
    for (tool, args, bad, known) in [
        (
            "export_video",
            json!({"eech": true}),
            "eech",
            vec!["each", "output_path", "media"],
        ),
        (
            "edit_video",
            json!({"instructions": "make it 9:16"}),
            "instructions",
            vec!["instruction", "operations"],
        ),
        (
            "upload_media",
            json!({"file": "/tmp/a.mp4"}),
            "file",
            vec!["media"],
        ),
        (
            "get_credits",
            json!({"verbose": true}),
            "verbose",
            vec!["no arguments"],
        ),
        (
            "replace_background",
            json!({"background": "blur"}),
            "background",
            vec!["backdrop", "media", "instruction"],
        ),
    ] {
        let params =
            CallToolRequestParams::new(tool).with_arguments(args.as_object().cloned().unwrap());
        let r = match s.client.call_tool(params).await {
            Ok(r) => r,
            Err(e) => panic!("{tool}: a protocol error, not a tool error: {e}"),
        };
        assert_eq!(r.is_error, Some(true), "{tool}: {}", text(&r));
        let t = text(&r);
        assert!(t.contains(&format!("`{bad}`")), "{tool}: names {bad}: {t}");
        for k in known {
            assert!(t.contains(k), "{tool}: lists {k}: {t}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn issue21_each_clip_job_is_followed_alone_after_the_call_runs_out() {
    // A call may wait 0.2 s: the per-clip renders outlive it.
    let s = local_with(&["--call-budget-secs", "0.2"]).await;
    three_clips(&s, &["one.mp4", "two.mp4"], 1.0).await;
    let out = s.home.path().join("Each clip");
    let r = s
        .call(
            "export_video",
            json!({"each": true, "output_path": out.to_string_lossy(), "resolution": "720p"}),
        )
        .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let v = r.structured_content.clone().expect("structured content");
    assert_eq!(v["status"], "running", "{v}");
    let jobs = v["jobs"].as_array().expect("one job per clip").clone();
    assert_eq!(jobs.len(), 2, "{v}");
    assert!(
        jobs.iter().any(|j| j["status"] == "running"),
        "a clip still rendering: {v}"
    );
    assert!(
        text(&r).contains("job_id"),
        "says how to follow: {}",
        text(&r)
    );
    for (job, clip) in jobs.iter().zip(["one.mp4", "two.mp4"]) {
        assert_eq!(job["clip"], clip);
        let id = job["job_id"].as_str().unwrap();
        // Followed alone, as far as it takes (each call again waits 0.2 s at most).
        let (_, one) = s.ok("export_video", json!({ "job_id": id })).await;
        assert_eq!(one["job_id"], id, "{one}");
        assert_eq!(one["files"][0]["clip"], clip, "{one}");
        let path = PathBuf::from(one["files"][0]["path"].as_str().unwrap());
        assert_eq!(path, out.join(clip));
        let probe = probe_json(&path);
        let dur: f64 = probe["format"]["duration"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((dur - 1.0).abs() < 0.1, "{clip}: {dur} s");
    }
}
