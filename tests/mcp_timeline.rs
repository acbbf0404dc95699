//! The whole timeline through MCP (issue 11): the built binary driven over stdio by rmcp's
//! client with the embedded backend (`EBC_BACKEND=local`). Two clips and an mp3 (made with
//! ffmpeg in a temp home) are uploaded, music, a title, 9:16 and a backdrop image from
//! ~/Pictures are asked for in words, and the export is checked with ffprobe and by its
//! pixels and sound. Then the same in Chinese, and the local agent's honesty: what it cannot
//! do is a tool error listing what it can.

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

pub(crate) struct Local {
    pub(crate) client: RunningService<RoleClient, ()>,
    pub(crate) home: TempDir,
}

const CLEARED: &[&str] = &[
    "NEMO_TOKEN",
    "NEMO_API_URL",
    "EBC_ACCESS_KEY",
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

pub(crate) async fn local() -> Local {
    local_with(&[]).await
}

/// `local`, with more `serve` arguments (e.g. `--call-budget-secs 0.2`).
pub(crate) async fn local_with(serve_args: &[&str]) -> Local {
    let home = tempfile::Builder::new()
        .prefix("ebc-home-")
        .tempdir()
        .expect("home");
    let mut cmd = tokio::process::Command::new(EXE);
    cmd.arg("serve").args(serve_args).current_dir("/");
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

pub(crate) fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Local {
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("server.log")).unwrap_or_default()
    }

    /// Tool `name` with `args`; a new export asks for the suite's matte unless it names one
    /// (`support::with_test_matte`).
    pub(crate) async fn call(&self, name: &str, args: Value) -> CallToolResult {
        let args = crate::support::with_test_matte(name, args);
        let params = CallToolRequestParams::new(name.to_string())
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        self.client
            .call_tool(params)
            .await
            .unwrap_or_else(|e| panic!("{name}: protocol error {e}\n{}", self.log()))
    }

    /// A call that must succeed (waiting through "running" job ids); its result and
    /// structured content.
    pub(crate) async fn ok(&self, name: &str, args: Value) -> (CallToolResult, Value) {
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

    pub(crate) async fn err(&self, name: &str, args: Value) -> (CallToolResult, String) {
        let r = self.call(name, args).await;
        assert_eq!(r.is_error, Some(true), "{name} should fail: {}", text(&r));
        let t = text(&r);
        (r, t)
    }

    /// Copy a fixture clip into the user's home under `name`.
    pub(crate) fn clip_as(&self, fixture: &str, name: &str) -> String {
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

/// Run ffmpeg with `args`; panics with its stderr on failure.
pub(crate) fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .output()
        .expect("running ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The flow's media, made here with ffmpeg in the user's temp home: `intro.mp4` (5 s,
/// 1280x720 at 25 fps: the fixture's speaker — lavfi cannot draw a person — with a lavfi
/// 440 Hz tone as her "speech"), `outro.mp4` (2 s, 640x360 at 30 fps, lavfi `testsrc2`, no
/// sound: another size, rate and no audio, to be normalised) and `lofi.mp3` (2 s lavfi 1 kHz
/// sine, shorter than the video, so it loops). Paths in upload order.
fn make_media(home: &Path) -> [String; 3] {
    let dir = home.join("Movies");
    std::fs::create_dir_all(&dir).unwrap();
    let intro = dir.join("intro.mp4");
    let outro = dir.join("outro.mp4");
    let mp3 = dir.join("lofi.mp3");
    let speaker = clip("talking_720p.mp4");
    let (intro_s, outro_s, mp3_s) = (
        intro.to_str().unwrap(),
        outro.to_str().unwrap(),
        mp3.to_str().unwrap(),
    );
    ffmpeg(&[
        "-i",
        speaker.to_str().unwrap(),
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100:duration=5",
        "-map",
        "0:v:0",
        "-map",
        "1:a:0",
        "-vf",
        "fps=25",
        "-t",
        "5",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        intro_s,
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30:duration=2",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        outro_s,
    ]);
    sine(&mp3, 1000, 2.0);
    [intro_s.to_string(), outro_s.to_string(), mp3_s.to_string()]
}

/// The words of one flow, in one language.
struct Words {
    music: &'static str,
    title: &'static str,
    title_text: &'static str,
    aspect: &'static str,
    backdrop: &'static str,
    out_name: &'static str,
    /// Saved frames (under CARGO_TARGET_TMPDIR) start with this.
    png: &'static str,
}

/// Upload two clips and an mp3 → music at 35 % → a title for the first 3 s → 9:16 → a
/// backdrop photo given as a path → export; then check the file: ffprobe facts, sound, the
/// title only in its span, the photo around the person, the person not stretched.
async fn flow(w: &Words) {
    let s = local().await;
    let [intro, outro, mp3] = make_media(s.home.path());
    beach_jpg(s.home.path());

    let (_, up) = s
        .ok("upload_media", json!({"media": [intro, outro, mp3]}))
        .await;
    assert_eq!(
        up["timeline"],
        "Timeline (1 track): 1. Video: intro.mp4 (0-5s), outro.mp4 (5-7s)"
    );
    let (_, r) = s.ok("edit_video", json!({"instruction": w.music})).await;
    let tl = r["timeline"].as_str().unwrap();
    assert!(tl.contains("BGM: lofi.mp3 (0-7s, 35%)"), "{r}");
    let (_, r) = s.ok("edit_video", json!({"instruction": w.title})).await;
    let tl = r["timeline"].as_str().unwrap();
    assert!(
        tl.contains(&format!("Title: \"{}\" (0-3s)", w.title_text)),
        "{r}"
    );
    let (_, r) = s.ok("edit_video", json!({"instruction": w.aspect})).await;
    let tl = r["timeline"].as_str().unwrap();
    assert!(tl.ends_with("aspect ratio 9:16"), "{r}");
    let (result, _) = s
        .ok("replace_background", json!({"instruction": w.backdrop}))
        .await;
    assert!(
        result.content.iter().any(|c| c.as_image().is_some()),
        "a preview: {}",
        text(&result)
    );
    let (_, t) = s.ok("show_timeline", json!({})).await;
    assert_eq!(
        t["summary"],
        format!(
            "Timeline (3 tracks): 1. Video: intro.mp4 (0-5s, background: image Beach.JPG (scaled to cover, centred)), outro.mp4 (5-7s, background: image Beach.JPG (scaled to cover, centred)) 2. BGM: lofi.mp3 (0-7s, 35%) 3. Title: \"{}\" (0-3s); aspect ratio 9:16",
            w.title_text
        )
    );

    let out = s.home.path().join(w.out_name);
    let (_, e) = s.ok("export_video", json!({"output_path": out})).await;
    assert_eq!(e["path"], out.to_string_lossy().as_ref());
    let json = probe_json(&out);
    let v = stream(&json, "video").unwrap();
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(1080), Some(1920))
    );
    // The sum of the clips: 5 s + 2 s.
    assert!(
        (duration(&json) - 7.0).abs() <= 0.1,
        "duration {}",
        duration(&json)
    );
    assert_eq!(audio_streams(&json), 1, "{json}");
    // Speech (the intro's 440 Hz) and music (1 kHz) mixed in the one stream; the outro has
    // no sound of its own, so only the music there.
    let a = samples(&out, 0.5, 4.5);
    let (speech, music) = (tone(&a, 440.0), tone(&a, 1000.0));
    assert!(
        speech > 0.02 && music > 0.02,
        "speech {speech:.3} music {music:.3}"
    );
    let b = samples(&out, 5.3, 6.7);
    let (speech, music) = (tone(&b, 440.0), tone(&b, 1000.0));
    assert!(
        speech < 0.01 && music > 0.01,
        "outro: speech {speech:.3} music {music:.3}"
    );

    let (fw, fh) = (1080, 1920);
    let f1 = rgb_at(&out, 1.0, fw, fh);
    let f4 = rgb_at(&out, 4.0, fw, fh);
    save_png(&format!("{}_1s.png", w.png), &f1, fw, fh);
    save_png(&format!("{}_4s.png", w.png), &f4, fw, fh);
    // The title: white glyph pixels at 1 s where the photo shows at 4 s; the region they
    // cover has (almost) no white at 4 s.
    let n = fw * fh;
    let glyphs: Vec<usize> = (0..n)
        .filter(|&i| is_white(&f1, i) && close(&f4[i * 3..i * 3 + 3], ORANGE, 45))
        .collect();
    assert!(glyphs.len() > 1500, "title px at 1 s: {}", glyphs.len());
    let (x0, x1) = (
        glyphs.iter().map(|i| i % fw).min().unwrap(),
        glyphs.iter().map(|i| i % fw).max().unwrap(),
    );
    let (y0, y1) = (
        glyphs.iter().map(|i| i / fw).min().unwrap(),
        glyphs.iter().map(|i| i / fw).max().unwrap(),
    );
    let white_in = |f: &[u8]| {
        (y0..=y1)
            .flat_map(|y| (x0..=x1).map(move |x| y * fw + x))
            .filter(|&i| is_white(f, i))
            .count()
    };
    let (at1, at4) = (white_in(&f1), white_in(&f4));
    assert!(
        at4 * 20 < at1,
        "title region {x0}..{x1} x {y0}..{y1}: {at1} white px at 1 s, {at4} at 4 s"
    );
    // And it ends at 3 s: the white pixels of 2.9 s are gone at 3.1 s, none appear.
    let (t, gone, came) = title_switch(&out, fw, fh);
    assert!(
        gone > 1500 && came < gone / 10,
        "title px {t}: {gone} gone at 3 s, {came} appeared"
    );
    // The photo around the person: both sides, the top, the bottom corners.
    for (x, y) in [(10, 960), (1069, 960), (540, 20), (10, 1900), (1069, 1900)] {
        let p = &f4[(y * fw + x) * 3..(y * fw + x) * 3 + 3];
        assert!(close(p, ORANGE, 45), "backdrop at ({x},{y}): {p:?}");
    }
    // Not stretched: the person's box keeps its shape (width/height) from the source.
    let (sx0, sy0, sx1, sy1) = source_person(Path::new(&intro), 4.0, 1280, 720);
    let (ox0, oy0, ox1, oy1) = non_backdrop_box(&f4, fw, fh);
    let (src_aspect, out_aspect) = ((sx1 - sx0) / (sy1 - sy0), (ox1 - ox0) / (oy1 - oy0));
    assert!(
        (out_aspect / src_aspect - 1.0).abs() < 0.15,
        "person box aspect {src_aspect:.2} in the source, {out_aspect:.2} in the export"
    );
    // Whole and centred: the box is inside the frame, its centre near the middle.
    assert!(ox0 > 0.0 && ox1 < fw as f64, "{ox0}..{ox1}");
    assert!((((ox0 + ox1) / 2.0) - 540.0).abs() < 80.0, "{ox0}..{ox1}");
    s.client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clips_music_title_nine_sixteen_and_a_backdrop_photo() {
    flow(&Words {
        music: "add lo-fi music at 35%",
        title: "add the title 'Urban Dreams' for the first 3 seconds",
        title_text: "Urban Dreams",
        aspect: "make it 9:16",
        backdrop: "use ~/Pictures/Beach.JPG as the background",
        out_name: "Urban Dreams.mp4",
        png: "issue11_9x16",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_flow_in_chinese() {
    flow(&Words {
        music: "加背景音乐 音量35%",
        title: "加上标题「城市梦想」前3秒",
        title_text: "城市梦想",
        aspect: "改成9:16",
        backdrop: "用 ~/Pictures/Beach.JPG 作为背景",
        out_name: "城市梦想.mp4",
        png: "issue11_zh_9x16",
    })
    .await;
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
