//! The whole timeline through MCP (issue 11): the built binary driven over stdio by rmcp's
//! client with the embedded backend (`EBC_BACKEND=local`). Two clips and an mp3 are uploaded,
//! music, a title, 9:16 and a backdrop image from ~/Pictures are asked for in words, and the
//! export is checked with ffprobe and by its pixels and sound. Then the same in Chinese, and
//! the local agent's honesty: what it cannot do is a tool error listing what it can.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ebc::engine::YuvFrame;
use ebc::engine::segment::{ModelKind, Segmenter};
use ebc::engine::timeline::person_box;
use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult},
    service::RunningService,
    transport::TokioChildProcess,
};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::clip_util::{clip, probe_json, stream};
use crate::timeline::{rgb_at, samples, sine, tone};

const EXE: &str = env!("CARGO_BIN_EXE_editor-background-changer");

struct Local {
    client: RunningService<RoleClient, ()>,
    home: TempDir,
}

const CLEARED: &[&str] = &[
    "NEMO_TOKEN",
    "NEMO_API_URL",
    "NEMO_CLIENT_ID",
    "EBC_BACKEND",
    "EBC_PLATFORM",
    "EBC_STATE_DIR",
    "EBC_DATA_DIR",
    "EBC_CALL_BUDGET_SECS",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
];

async fn local() -> Local {
    let home = tempfile::Builder::new()
        .prefix("ebc-home-")
        .tempdir()
        .expect("home");
    let mut cmd = tokio::process::Command::new(EXE);
    cmd.arg("serve").current_dir("/");
    for key in CLEARED {
        cmd.env_remove(key);
    }
    cmd.env("HOME", home.path())
        .env("EBC_BACKEND", "local")
        .env("EBC_STATE_DIR", home.path().join(".state"))
        .env("EBC_DATA_DIR", home.path().join(".data"))
        .env("RUST_LOG", "info");
    let log = std::fs::File::create(home.path().join("server.log")).expect("log");
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn the server");
    let client = ().serve(transport).await.expect("MCP handshake");
    Local { client, home }
}

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Local {
    fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("server.log")).unwrap_or_default()
    }

    async fn call(&self, name: &str, args: Value) -> CallToolResult {
        let params = CallToolRequestParams::new(name.to_string())
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        self.client
            .call_tool(params)
            .await
            .unwrap_or_else(|e| panic!("{name}: protocol error {e}\n{}", self.log()))
    }

    /// A call that must succeed (waiting through "running" job ids); its result and
    /// structured content.
    async fn ok(&self, name: &str, args: Value) -> (CallToolResult, Value) {
        let mut r = self.call(name, args).await;
        loop {
            assert_ne!(
                r.is_error,
                Some(true),
                "{name} failed: {}\nserver log:\n{}",
                text(&r),
                self.log()
            );
            let s = r.structured_content.clone().expect("structured content");
            if s["status"] != "running" {
                return (r, s);
            }
            let id = s["job_id"].as_str().expect("job id").to_string();
            r = self.call(name, json!({ "job_id": id })).await;
        }
    }

    async fn err(&self, name: &str, args: Value) -> (CallToolResult, String) {
        let r = self.call(name, args).await;
        assert_eq!(r.is_error, Some(true), "{name} should fail: {}", text(&r));
        let t = text(&r);
        (r, t)
    }

    /// Copy a fixture clip into the user's home under `name`.
    fn clip_as(&self, fixture: &str, name: &str) -> String {
        let dir = self.home.path().join("Movies");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::copy(clip(fixture), &p).unwrap();
        p.to_string_lossy().into_owned()
    }
}

/// A JPEG backdrop: warm orange, distinct from everything in the clips.
const ORANGE: [u8; 3] = [240, 140, 30];

fn beach_jpg(home: &Path) -> PathBuf {
    let dir = home.join("Pictures");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("Beach.JPG");
    let img = image::RgbImage::from_pixel(800, 600, image::Rgb(ORANGE));
    img.save_with_format(&p, image::ImageFormat::Jpeg).unwrap();
    p
}

fn close(px: &[u8], want: [u8; 3], tol: i32) -> bool {
    px.iter()
        .zip(want)
        .all(|(&a, b)| (i32::from(a) - i32::from(b)).abs() <= tol)
}

/// Box (x0, y0, x1, y1) in px of the pixels that are not the backdrop colour, with the
/// same 2 % rows/columns rule as the engine's person box.
fn non_backdrop_box(f: &[u8], w: usize, h: usize) -> (f64, f64, f64, f64) {
    let mut cols = vec![0usize; w];
    let mut rows = vec![0usize; h];
    for y in 0..h {
        for x in 0..w {
            if !close(&f[(y * w + x) * 3..(y * w + x) * 3 + 3], ORANGE, 45) {
                cols[x] += 1;
                rows[y] += 1;
            }
        }
    }
    let (mc, mr) = ((h as f64 * 0.02) as usize, (w as f64 * 0.02) as usize);
    let x0 = cols.iter().position(|&c| c > mc).unwrap();
    let x1 = cols.iter().rposition(|&c| c > mc).unwrap() + 1;
    let y0 = rows.iter().position(|&c| c > mr).unwrap();
    let y1 = rows.iter().rposition(|&c| c > mr).unwrap() + 1;
    (x0 as f64, y0 as f64, x1 as f64, y1 as f64)
}

/// The person box of a source frame at `t_s` by the engine's own model, in px.
fn source_person(path: &Path, t_s: f64, w: usize, h: usize) -> (f64, f64, f64, f64) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{t_s}"), "-i"])
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
    let c = (w / 2) * (h / 2);
    let mut f = YuvFrame::new(w, h);
    f.y.copy_from_slice(&out.stdout[..w * h]);
    f.u.copy_from_slice(&out.stdout[w * h..w * h + c]);
    f.v.copy_from_slice(&out.stdout[w * h + c..w * h + 2 * c]);
    let kind = ModelKind::for_frame(w, h);
    let (mw, mh) = kind.input_size();
    let mut seg = Segmenter::new(kind).unwrap();
    let b = person_box(seg.infer_yuv(&f).unwrap(), mw, mh).expect("a person in the source");
    (
        f64::from(b.x0) * w as f64,
        f64::from(b.y0) * h as f64,
        f64::from(b.x1) * w as f64,
        f64::from(b.y1) * h as f64,
    )
}

fn is_white(f: &[u8], i: usize) -> bool {
    f[i * 3..i * 3 + 3].iter().all(|&c| c >= 225)
}

/// (white px at 2.9 s, of them not white at 3.1 s, white at 3.1 s that were not at 2.9 s).
fn title_switch(out: &Path, w: usize, h: usize) -> (usize, usize, usize) {
    let a = rgb_at(out, 2.9, w, h);
    let b = rgb_at(out, 3.1, w, h);
    let n = w * h;
    let white = (0..n).filter(|&i| is_white(&a, i)).count();
    let gone = (0..n)
        .filter(|&i| is_white(&a, i) && !is_white(&b, i))
        .count();
    let came = (0..n)
        .filter(|&i| !is_white(&a, i) && is_white(&b, i))
        .count();
    (white, gone, came)
}

/// Keep a frame for people to look at (target/tmp), as PNG.
fn save_png(name: &str, rgb: &[u8], w: usize, h: usize) {
    let img = image::RgbImage::from_raw(w as u32, h as u32, rgb.to_vec()).expect("frame size");
    let _ = img.save(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name));
}

fn duration(json: &Value) -> f64 {
    json["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn audio_streams(json: &Value) -> usize {
    json["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["codec_type"] == "audio")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clips_music_title_nine_sixteen_and_a_backdrop_photo() {
    let s = local().await;
    let intro = s.clip_as("talking_720p.mp4", "intro.mp4");
    let outro = s.clip_as("noaudio_640x360.mp4", "outro.mp4");
    let mp3 = s.home.path().join("Movies/lofi.mp3");
    sine(&mp3, 1000, 2.0);
    beach_jpg(s.home.path());

    let (_, up) = s
        .ok("upload_media", json!({"media": [intro, outro, mp3]}))
        .await;
    assert_eq!(
        up["timeline"],
        "Timeline (1 track): 1. Video: intro.mp4 (0-5s), outro.mp4 (5-7s)"
    );
    let (_, r) = s
        .ok(
            "edit_video",
            json!({"instruction": "add lo-fi music at 35%"}),
        )
        .await;
    assert!(
        r["timeline"]
            .as_str()
            .unwrap()
            .contains("BGM: lofi.mp3 (0-7s, 35%)"),
        "{r}"
    );
    let (_, r) = s
        .ok(
            "edit_video",
            json!({"instruction": "add the title 'Urban Dreams' for the first 3 seconds"}),
        )
        .await;
    assert!(
        r["timeline"]
            .as_str()
            .unwrap()
            .contains("Title: \"Urban Dreams\" (0-3s)"),
        "{r}"
    );
    let (_, r) = s
        .ok("edit_video", json!({"instruction": "make it 9:16"}))
        .await;
    assert!(
        r["timeline"]
            .as_str()
            .unwrap()
            .ends_with("aspect ratio 9:16"),
        "{r}"
    );
    let (result, r) = s
        .ok(
            "replace_background",
            json!({"instruction": "use ~/Pictures/Beach.JPG as the background"}),
        )
        .await;
    assert!(
        result.content.iter().any(|c| c.as_image().is_some()),
        "a preview: {}",
        text(&result)
    );
    let (_, t) = s.ok("show_timeline", json!({})).await;
    assert_eq!(
        t["summary"],
        "Timeline (3 tracks): 1. Video: intro.mp4 (0-5s, background: image Beach.JPG (scaled to cover, centred)), outro.mp4 (5-7s, background: image Beach.JPG (scaled to cover, centred)) 2. BGM: lofi.mp3 (0-7s, 35%) 3. Title: \"Urban Dreams\" (0-3s); aspect ratio 9:16",
        "{r}"
    );

    let out = s.home.path().join("Urban Dreams.mp4");
    let (_, e) = s.ok("export_video", json!({"output_path": out})).await;
    assert_eq!(e["path"], out.to_string_lossy().as_ref());
    let json = probe_json(&out);
    let v = stream(&json, "video").unwrap();
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(1080), Some(1920))
    );
    assert!(
        (duration(&json) - 7.0).abs() < 0.1,
        "duration {}",
        duration(&json)
    );
    assert_eq!(audio_streams(&json), 1);
    // Speech (the intro's 440/660 Hz) and music (1 kHz) mixed; the outro has no sound of
    // its own, so only the music there.
    let a = samples(&out, 0.5, 4.5);
    let (speech, music) = (tone(&a, 440.0) + tone(&a, 660.0), tone(&a, 1000.0));
    assert!(
        speech > 0.02 && music > 0.02,
        "speech {speech:.3} music {music:.3}"
    );
    let b = samples(&out, 5.3, 6.7);
    assert!(tone(&b, 440.0) + tone(&b, 660.0) < 0.01 && tone(&b, 1000.0) > 0.02);

    // Title in the first 3 s only: white pixels at 2.9 s that are gone at 3.1 s (the
    // person barely moves in 0.2 s), and none that appear.
    let (w, h) = (1080, 1920);
    let (t, gone, came) = title_switch(&out, w, h);
    assert!(
        gone > 3000 && came < gone / 10,
        "title px {t}: {gone} gone at 3 s, {came} appeared"
    );
    let f1 = rgb_at(&out, 1.0, w, h);
    let f4 = rgb_at(&out, 4.0, w, h);
    save_png("issue11_9x16_1s.png", &f1, w, h);
    save_png("issue11_9x16_4s.png", &f4, w, h);
    // The photo around the person, at both sides and the top.
    for (x, y) in [(10, 960), (1069, 960), (540, 20), (10, 1900), (1069, 1900)] {
        let p = &f4[(y * w + x) * 3..(y * w + x) * 3 + 3];
        assert!(close(p, ORANGE, 45), "backdrop at ({x},{y}): {p:?}");
    }
    // Not stretched: the person's box keeps its shape (width/height) from the source.
    let (sx0, sy0, sx1, sy1) = source_person(&clip("talking_720p.mp4"), 4.0, 1280, 720);
    let (ox0, oy0, ox1, oy1) = non_backdrop_box(&f4, w, h);
    let (src_aspect, out_aspect) = ((sx1 - sx0) / (sy1 - sy0), (ox1 - ox0) / (oy1 - oy0));
    assert!(
        (out_aspect / src_aspect - 1.0).abs() < 0.15,
        "person box aspect {src_aspect:.2} in the source, {out_aspect:.2} in the export"
    );
    // Whole and centred: the box is inside the frame, its centre near the middle.
    assert!(ox0 > 0.0 && ox1 < w as f64, "{ox0}..{ox1}");
    assert!((((ox0 + ox1) / 2.0) - 540.0).abs() < 80.0, "{ox0}..{ox1}");
    s.client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chinese_titles_music_and_aspect() {
    let s = local().await;
    let a = s.clip_as("talking_720p.mp4", "采访.mp4");
    let mp3 = s.home.path().join("Movies/配乐.mp3");
    sine(&mp3, 1000, 2.0);
    s.ok("upload_media", json!({"media": [a, mp3]})).await;
    let (_, r) = s
        .ok(
            "edit_video",
            json!({"instruction": "添加背景音乐，音量百分之三十五"}),
        )
        .await;
    assert!(
        r["timeline"]
            .as_str()
            .unwrap()
            .contains("BGM: 配乐.mp3 (0-5s, 35%)"),
        "{r}"
    );
    assert!(r["message"].as_str().unwrap().contains("音量 35%"), "{r}");
    let (_, r) = s
        .ok(
            "edit_video",
            json!({"instruction": "加上标题「城市之梦」，显示前3秒，放在顶部"}),
        )
        .await;
    assert!(
        r["timeline"]
            .as_str()
            .unwrap()
            .contains("Title: \"城市之梦\" (0-3s)"),
        "{r}"
    );
    let (_, r) = s
        .ok("edit_video", json!({"instruction": "改成竖屏9:16"}))
        .await;
    assert!(
        r["timeline"]
            .as_str()
            .unwrap()
            .ends_with("aspect ratio 9:16"),
        "{r}"
    );
    let out = s.home.path().join("城市之梦.mp4");
    s.ok(
        "export_video",
        json!({"output_path": out, "resolution": "720p"}),
    )
    .await;
    let json = probe_json(&out);
    let v = stream(&json, "video").unwrap();
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(720), Some(1280))
    );
    assert!((duration(&json) - 5.0).abs() < 0.1);
    assert_eq!(audio_streams(&json), 1);
    let a = samples(&out, 0.5, 4.5);
    assert!(tone(&a, 440.0) + tone(&a, 660.0) > 0.02 && tone(&a, 1000.0) > 0.02);
    // The CJK title is drawn in the first 3 s, gone after.
    let (t, gone, came) = title_switch(&out, 720, 1280);
    assert!(
        gone > 1500 && came < gone / 10,
        "title px {t}: {gone} gone, {came} appeared"
    );
    let f1 = rgb_at(&out, 1.0, 720, 1280);
    save_png("issue11_zh_9x16_1s.png", &f1, 720, 1280);
    s.client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_local_agent_cannot_do_is_an_error_listing_what_it_can() {
    let s = local().await;
    let a = s.clip_as("noaudio_640x360.mp4", "a.mp4");
    let b = s.clip_as("noaudio_640x360.mp4", "b.mp4");
    s.ok("upload_media", json!({"media": [a.clone(), b]})).await;
    // mcp-hosts.md item 11: no audio uploaded, so no soundtrack; never "completed".
    let (r, t) = s
        .err(
            "edit_video",
            json!({"instruction": "add a jazz soundtrack"}),
        )
        .await;
    assert!(
        t.contains("upload an audio file") && t.contains("titles"),
        "{t}"
    );
    assert!(
        r.structured_content
            .is_none_or(|s| s["status"] != "completed")
    );
    let (_, t) = s
        .err("edit_video", json!({"instruction": "speed it up 2x"}))
        .await;
    assert!(t.contains("cannot do") && t.contains("aspect ratio"), "{t}");
    let (_, t) = s
        .err("edit_video", json!({"instruction": "加个转场特效"}))
        .await;
    assert!(t.contains("本地编辑器"), "{t}");

    // Item 9: no `media` = every clip.
    let (_, r) = s
        .ok("replace_background", json!({"backdrop": "blur"}))
        .await;
    let tl = r["timeline"].as_str().unwrap();
    assert_eq!(tl.matches("background:").count(), 2, "{tl}");
    // Item 8: the same clip given again by its path is reused, not appended.
    s.ok(
        "replace_background",
        json!({"backdrop": "#112233", "media": a}),
    )
    .await;
    let (_, t) = s.ok("show_timeline", json!({})).await;
    let summary = t["summary"].as_str().unwrap();
    assert!(summary.starts_with("Timeline (1 track): 1. Video: a.mp4 (0-2s, background: solid colour #112233), b.mp4 (2-4s, background: the original background blurred"), "{summary}");
    // Item 7: a backdrop file that does not exist: an error, no preview.
    let (r, t) = s
        .err(
            "replace_background",
            json!({"backdrop": "~/Pictures/Nope.png"}),
        )
        .await;
    assert!(t.contains("Nope.png"), "{t}");
    assert!(!r.content.iter().any(|c| c.as_image().is_some()));
    // Reorder and remove by words.
    let (_, r) = s
        .ok("edit_video", json!({"instruction": "put b.mp4 first"}))
        .await;
    assert!(
        r["timeline"]
            .as_str()
            .unwrap()
            .contains("Video: b.mp4 (0-2s"),
        "{r}"
    );
    let (_, r) = s
        .ok("edit_video", json!({"instruction": "delete a.mp4"}))
        .await;
    assert!(!r["timeline"].as_str().unwrap().contains("a.mp4"), "{r}");
    s.client.cancel().await.ok();
}
