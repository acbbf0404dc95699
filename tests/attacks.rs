//! Attacks on the user's own machine, tried as an attacker would (loopback only) against the
//! embedded backend over real HTTP (issue 20, `/work/shared/cases/security.md`). Each test is
//! one kind of attack with several instances of its own; each was watched fail on the code
//! before its fix (docs/notes/issue-20.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use ebc::backend::{self, BackendHandle};
use ebc::config::BackendConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clip_util::{clip, tempdir};

/// The path gate's one refusal, as its message starts after the name it quotes.
const REFUSED: &str = ": no file by that name can be read here";

async fn start(dir: &Path, tweak: impl FnOnce(&mut BackendConfig)) -> BackendHandle {
    let mut cfg = BackendConfig::ephemeral(dir.join("data"));
    tweak(&mut cfg);
    backend::spawn(cfg).await.expect("backend starts")
}

/// A caller of the backend: one client id, one token, the contract's headers.
struct Api {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
    token: String,
}

impl Api {
    async fn new(b: &BackendHandle) -> Api {
        let mut api = Api {
            http: reqwest::Client::new(),
            base: b.url(),
            key: b.access_key().map(str::to_string),
            token: String::new(),
        };
        let r = api
            .req(reqwest::Method::POST, "/api/auth/anonymous-token")
            .header("X-Client-Id", uuid::Uuid::new_v4().to_string())
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], 0, "{v}");
        api.token = v["data"]["token"].as_str().unwrap().to_string();
        api
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-Skill-Source", "editor-background-changer")
            .header("X-Skill-Version", "0.1.0")
            .header("X-Skill-Platform", "unknown");
        if !self.token.is_empty() {
            r = r.bearer_auth(&self.token);
        }
        if let Some(k) = &self.key {
            r = r.header("X-Access-Key", k);
        }
        r
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .req(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.req(reqwest::Method::GET, path).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn session(&self) -> String {
        let (st, v) = self
            .post(
                "/api/tasks/me/with-session/nemo_agent",
                json!({"task_name": "project", "language": "en"}),
            )
            .await;
        assert_eq!((st, &v["code"]), (StatusCode::OK, &json!(0)), "{v}");
        v["data"]["session_id"].as_str().unwrap().to_string()
    }

    async fn upload(&self, session: &str, files: &[(&Path, &str)]) -> (StatusCode, Value) {
        let mut form = reqwest::multipart::Form::new();
        for (path, name) in files {
            let part = reqwest::multipart::Part::bytes(std::fs::read(path).unwrap())
                .file_name(name.to_string());
            form = form.part("files", part);
        }
        let r = self
            .req(
                reqwest::Method::POST,
                &format!("/api/upload-video/nemo_agent/me/{session}"),
            )
            .multipart(form)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn upload_urls(&self, session: &str, urls: &[String]) -> (StatusCode, Value) {
        self.post(
            &format!("/api/upload-video/nemo_agent/me/{session}"),
            json!({"urls": urls, "source_type": "url"}),
        )
        .await
    }

    /// Send a message; its `data:` events.
    async fn say(&self, session: &str, text: &str) -> Vec<Value> {
        let r = self
            .req(reqwest::Method::POST, "/run_sse")
            .header("Accept", "text/event-stream")
            .json(&json!({"app_name":"nemo_agent","user_id":"me","session_id":session,"new_message":{"parts":[{"text":text}]}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let raw = r.text().await.unwrap();
        raw.split("\n\n")
            .filter_map(|block| block.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }

    async fn draft(&self, session: &str) -> Value {
        let (_, v) = self
            .get(&format!("/api/state/nemo_agent/me/{session}/latest"))
            .await;
        v["data"]["state"]["draft"].clone()
    }

    async fn session_with_clip(&self) -> (String, String) {
        let s = self.session().await;
        let (st, v) = self
            .upload(&s, &[(&clip("noaudio_640x360.mp4"), "talk.mp4")])
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let id = v["data"]["files"][0]["cdn_url"]
            .as_str()
            .and_then(|u| u.rsplit('/').next())
            .and_then(|f| f.split('.').next())
            .unwrap()
            .to_string();
        (s, id)
    }
}

/// A real PNG of `w`x`h` in one colour, made by ffmpeg.
fn png(path: &Path, colour: &str) {
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("color=c={colour}:s=64x64"))
        .args(["-frames:v", "1"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg made {}", path.display());
}

/// `target` spelled relative to the test process's working folder (`../../…/target`).
fn relative_to_cwd(target: &Path) -> String {
    let cwd = std::env::current_dir().unwrap();
    let ups = cwd.components().count() - 1;
    format!(
        "{}{}",
        "../".repeat(ups),
        target.strip_prefix("/").unwrap().display()
    )
}

/// A user folder the backend may read (`allowed`) beside one it must not (`private`), each
/// with real PNGs: `allowed/ok.png`, `private/background.png`, `Private/Background.PNG`.
struct Folders {
    _dir: tempfile::TempDir,
    root: PathBuf,
    allowed: PathBuf,
    private: PathBuf,
}

fn folders() -> Folders {
    let dir = tempdir();
    let root = dir.path().canonicalize().unwrap();
    let allowed = root.join("allowed");
    let private = root.join("private");
    std::fs::create_dir_all(&allowed).unwrap();
    std::fs::create_dir_all(&private).unwrap();
    std::fs::create_dir_all(root.join("Private")).unwrap();
    png(&allowed.join("ok.png"), "green");
    png(&private.join("background.png"), "red");
    png(&root.join("Private/Background.PNG"), "red");
    std::fs::write(private.join("notes.txt"), "secret").unwrap();
    Folders {
        _dir: dir,
        root,
        allowed,
        private,
    }
}

/// The refusal with the quoted name cut off, so refusals of different names compare equal;
/// anything else comes back whole, marked, so it differs from every refusal.
fn shape(msg: &str) -> String {
    match msg.find(REFUSED) {
        Some(at) => msg[at..].to_string(),
        None => format!("NOT THE GATE'S REFUSAL: {msg}"),
    }
}

/// Every instance is tried before the test fails, so a failure lists all that got through.
fn all_refused_alike(cases: &[String], shapes: &[String]) {
    let first = shapes.first().cloned().unwrap_or_default();
    let odd: Vec<String> = cases
        .iter()
        .zip(shapes)
        .filter(|(_, s)| **s != first || s.starts_with("NOT THE GATE"))
        .map(|(c, s)| format!("{c} -> {s}"))
        .collect();
    assert!(
        odd.is_empty(),
        "refused differently or not at all:\n{}",
        odd.join("\n")
    );
}

/// Case 2/2b/3 of the agent: every spelling of a file outside the roots (absolute, upper
/// case, `use … as`, `file://`, relative to the working folder, `~`-less relative) is refused
/// with the one error a missing file gets, and nothing of it reaches the draft or a preview.
#[tokio::test]
async fn agent_backdrop_paths_pass_the_one_gate() {
    let f = folders();
    let allowed = f.allowed.clone();
    let dir = tempdir();
    let b = start(dir.path(), |c| c.url_roots = vec![allowed]).await;
    let api = Api::new(&b).await;
    let secret = f.private.join("background.png");
    let upper = f.root.join("Private/Background.PNG");
    let attempts = [
        format!("replace the background with {}", secret.display()),
        format!("REPLACE THE BACKGROUND WITH {}", upper.display()),
        format!("use {} as the background", secret.display()),
        format!("change the background to file://{}", secret.display()),
        format!("replace the background with {}", relative_to_cwd(&secret)),
        format!(
            "replace the background with {}/../private/background.png",
            f.allowed.display()
        ),
        format!(
            "replace the background with {}",
            f.private.join("notes.txt").display()
        ),
        "replace the background with /etc/shadow".to_string(),
        format!(
            "replace the background with {}",
            f.allowed.join("missing.png").display()
        ),
    ];
    let mut shapes = Vec::new();
    let mut taken = Vec::new();
    for text in &attempts {
        let (s, _) = api.session_with_clip().await;
        let ev = api.say(&s, text).await;
        let err = ev.iter().find_map(|e| e["errorMessage"].as_str());
        shapes.push(shape(err.unwrap_or("the turn was not refused")));
        let draft = api.draft(&s).await.to_string();
        if draft.contains("private") || draft.contains("Private") || draft.contains("\"bg\"") {
            taken.push(format!("{text}: the draft took it: {draft}"));
        }
        if ev.iter().any(|e| e.to_string().contains("preview_url")) {
            taken.push(format!("{text}: a preview was made"));
        }
    }
    all_refused_alike(&attempts, &shapes);
    assert!(taken.is_empty(), "{taken:#?}");

    // The allowed file is used, so the gate is not simply shut.
    let (s, _) = api.session_with_clip().await;
    let ok = f.allowed.join("ok.png");
    let ev = api
        .say(&s, &format!("replace the background with {}", ok.display()))
        .await;
    assert!(!ev.iter().any(|e| e["errorMessage"].is_string()), "{ev:?}");
    b.shutdown().await;
}

/// Case 2b/3 of the render route and timelines: a draft's `m.bg` naming a file outside the
/// roots — absolute, relative to the working folder, a bare name, an unreadable system file,
/// a missing one, a folder — gets the one refusal, before anything is looked up, on both the
/// one-clip and the timeline render; nothing is charged.
#[tokio::test]
async fn render_draft_backdrops_pass_the_one_gate() {
    let f = folders();
    let allowed = f.allowed.clone();
    let dir = tempdir();
    let b = start(dir.path(), |c| c.url_roots = vec![allowed]).await;
    let api = Api::new(&b).await;
    let (s, media) = api.session_with_clip().await;
    let secret = f.private.join("background.png");
    let bgs = [
        secret.display().to_string(),
        relative_to_cwd(&secret),
        // Files that exist relative to the test's working folder (the crate root).
        "Cargo.toml".to_string(),
        "src/lib.rs".to_string(),
        "/etc/shadow".to_string(),
        "/etc/nonexistent".to_string(),
        "none.png".to_string(),
        f.private.display().to_string(),
        format!("file://{}", secret.display()),
        f.allowed.join("missing.png").display().to_string(),
    ];
    assert!(Path::new("Cargo.toml").is_file() && Path::new("src/lib.rs").is_file());
    let before = api.get("/api/credits/balance/simple").await.1["data"]["available"].clone();
    let mut shapes = Vec::new();
    let mut cases = Vec::new();
    for (i, bg) in bgs.iter().enumerate() {
        for timeline in [false, true] {
            cases.push(format!("{bg} (timeline {timeline})"));
            let mut seg = json!({"d": 2000, "m": {"media": media, "bg": bg}});
            if timeline {
                seg["m"]["in_ms"] = json!(500);
            }
            let (st, v) = api
                .post(
                    "/api/render/proxy/lambda",
                    json!({"id": format!("render_gate_{i}_{timeline}"), "sessionId": s,
                           "draft": {"t": [{"tt": 0, "sg": [seg]}]},
                           "output": {"format": "mp4", "quality": "low"}}),
                )
                .await;
            shapes.push(if st == StatusCode::BAD_REQUEST {
                shape(v["message"].as_str().unwrap_or_default())
            } else {
                shape(&format!("HTTP {st}: {v}"))
            });
        }
    }
    all_refused_alike(&cases, &shapes);
    let after = api.get("/api/credits/balance/simple").await.1["data"]["available"].clone();
    assert_eq!(before, after);
    b.shutdown().await;
}

/// `file://` upload URLs: without roots and outside them, every spelling is the same refusal
/// (no flag named, nothing said about existence).
#[tokio::test]
async fn file_urls_get_one_refusal() {
    let f = folders();
    let allowed = f.allowed.clone();
    let dir = tempdir();
    let b = start(dir.path(), |c| c.url_roots = vec![allowed]).await;
    let open = start(&dir.path().join("2"), |_| {}).await;
    let mut shapes = Vec::new();
    let mut cases = Vec::new();
    for (which, b) in [("roots", &b), ("no roots", &open)] {
        let api = Api::new(b).await;
        let s = api.session().await;
        for url in [
            format!("file://{}", f.private.join("background.png").display()),
            format!("file://{}/missing.png", f.private.display()),
            format!("file://{}/../private/background.png", f.allowed.display()),
            "file:///etc/shadow".to_string(),
            "file:///etc/nonexistent".to_string(),
            "file://otherhost/etc/passwd".to_string(),
        ] {
            let (st, v) = api.upload_urls(&s, &[url.clone()]).await;
            let msg = v["message"].as_str().unwrap_or_default();
            cases.push(format!("{url} ({which})"));
            shapes.push(if st != StatusCode::BAD_REQUEST || msg.contains("--") {
                shape(&format!("HTTP {st}: {v}"))
            } else {
                shape(msg)
            });
        }
    }
    all_refused_alike(&cases, &shapes);
    b.shutdown().await;
    open.shutdown().await;
}

/// A private clip nobody uploads: 64x64, 3 s, with a 440 Hz tone, as MPEG-TS.
fn victim(dir: &Path) -> PathBuf {
    let ts = dir.join("victim.ts");
    let ok = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=64x64:r=25:d=3",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=3"])
        .args(["-c:v", "mpeg2video", "-c:a", "mp2", "-f", "mpegts"])
        .arg(&ts)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg made the victim clip");
    ts
}

/// Files whose first bytes make ffmpeg's own probing open other files: the case's ID3 +
/// HLS playlist, a bare HLS playlist, HLS with a `file:` URL, an ffconcat script (bare and
/// behind ID3), an SDP description, a DASH manifest — each with the extension of a format
/// the service accepts.
fn reference_files(dir: &Path, victim: &Path) -> Vec<(PathBuf, &'static str)> {
    let v = victim.display();
    let hls = format!("#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3,\n{v}\n#EXT-X-ENDLIST\n");
    let hls_url =
        format!("#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3,\nfile://{v}\n#EXT-X-ENDLIST\n");
    let concat = format!("ffconcat version 1.0\nfile '{v}'\n");
    let id3 = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
    let sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n".to_string();
    let dash = format!(
        "<?xml version=\"1.0\"?><MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" mediaPresentationDuration=\"PT3S\"><Period><AdaptationSet><Representation id=\"1\" bandwidth=\"1\"><BaseURL>{v}</BaseURL></Representation></AdaptationSet></Period></MPD>"
    );
    let files: Vec<(&str, Vec<u8>, &'static str)> = vec![
        (
            "song.mp3",
            [id3.clone(), hls.clone().into_bytes()].concat(),
            "id3+hls",
        ),
        ("clip.mp4", hls.clone().into_bytes(), "hls"),
        (
            "list.m4a",
            [id3.clone(), hls_url.into_bytes()].concat(),
            "id3+hls file url",
        ),
        ("take.mp4", concat.clone().into_bytes(), "ffconcat"),
        (
            "tune.mp3",
            [id3, concat.into_bytes()].concat(),
            "id3+ffconcat",
        ),
        ("cam.mp4", sdp.into_bytes(), "sdp"),
        ("stream.mp4", dash.into_bytes(), "dash"),
    ];
    files
        .into_iter()
        .map(|(name, bytes, what)| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            (p, what)
        })
        .collect()
}

/// Case 1, engine side: probing or decoding a file that names other files never reads them
/// (the demuxer comes from the file's own bytes, from an allow-list; protocols file,pipe).
#[test]
fn engine_never_follows_references_to_other_files() {
    let dir = tempdir();
    let private = dir.path().join("private");
    std::fs::create_dir_all(&private).unwrap();
    let victim = victim(&private);
    let mut read = Vec::new();
    for (file, what) in reference_files(dir.path(), &victim) {
        let probed = ebc::engine::probe(&file);
        if let Ok(info) = probed {
            read.push(format!("{what}: probe read {info:?}"));
        }
        let decoded = ebc::engine::ffmpeg::Decoder::open(&file, 64, 64, false).and_then(|mut d| {
            let mut frame = d.new_frame();
            d.read_frame(&mut frame)
        });
        if matches!(decoded, Ok(true)) {
            read.push(format!("{what}: decoding produced a frame of the victim"));
        }
    }
    assert!(read.is_empty(), "{read:#?}");
    // The victim itself is media ffmpeg reads, but MPEG-TS is not on the allow-list either.
    assert!(crate::clip_util::probe_json(&victim)["streams"].is_array());
    let v = ebc::engine::probe(&victim);
    assert!(v.is_err(), "{v:?}");
}

/// Case 1, upload side: each such file is refused at upload (4001), nothing of the victim
/// is reported, and nothing is kept in the media folder.
#[tokio::test]
async fn uploads_that_name_other_files_are_refused() {
    let dir = tempdir();
    let private = dir.path().join("private");
    std::fs::create_dir_all(&private).unwrap();
    let victim = victim(&private);
    let b = start(dir.path(), |_| {}).await;
    let api = Api::new(&b).await;
    let s = api.session().await;
    let mut kept_by = Vec::new();
    for (file, what) in reference_files(dir.path(), &victim) {
        let name = file.file_name().unwrap().to_str().unwrap().to_string();
        let (st, v) = api.upload(&s, &[(&file, &name)]).await;
        if (st, &v["code"]) != (StatusCode::UNSUPPORTED_MEDIA_TYPE, &json!(4001)) {
            kept_by.push(format!("{what}: {v}"));
        }
    }
    assert!(kept_by.is_empty(), "{kept_by:#?}");
    let media = dir.path().join("data/media");
    let kept: Vec<_> = std::fs::read_dir(&media)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(kept.is_empty(), "kept: {kept:?}");
    b.shutdown().await;
}
