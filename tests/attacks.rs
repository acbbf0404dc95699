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

pub(crate) async fn start(dir: &Path, tweak: impl FnOnce(&mut BackendConfig)) -> BackendHandle {
    let mut cfg = BackendConfig::ephemeral(dir.join("data"));
    tweak(&mut cfg);
    backend::spawn(cfg).await.expect("backend starts")
}

/// A caller of the backend: one client id, one token, the contract's headers.
pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) key: Option<String>,
    pub(crate) token: String,
}

impl Api {
    pub(crate) async fn new(b: &BackendHandle) -> Api {
        let mut api = Api {
            http: reqwest::Client::new(),
            base: b.url(),
            key: Some(b.access_key().to_string()),
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

    pub(crate) fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
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

    /// POST `body`; a render request asks for the suite's matte unless it names one
    /// (`support::with_test_output_matte`).
    pub(crate) async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let body = crate::support::with_test_output_matte(body);
        let r = self
            .req(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.req(reqwest::Method::GET, path).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn session(&self) -> String {
        let (st, v) = self
            .post(
                "/api/tasks/me/with-session/nemo_agent",
                json!({"task_name": "project", "language": "en"}),
            )
            .await;
        assert_eq!((st, &v["code"]), (StatusCode::OK, &json!(0)), "{v}");
        v["data"]["session_id"].as_str().unwrap().to_string()
    }

    pub(crate) async fn upload(
        &self,
        session: &str,
        files: &[(&Path, &str)],
    ) -> (StatusCode, Value) {
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

    pub(crate) async fn upload_urls(&self, session: &str, urls: &[String]) -> (StatusCode, Value) {
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
            let (st, v) = api.upload_urls(&s, std::slice::from_ref(&url)).await;
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
    // The victim itself is media the engine reads (MPEG-TS is on the allow-list for
    // camcorder and recorder clips): so the files above were refused for what they are,
    // not because their target could not be read.
    let v = ebc::engine::probe(&victim);
    assert!(v.is_ok(), "{v:?}");
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

/// Case 4: DNS rebinding and other callers. A request must name this loopback server in
/// `Host` (a loopback name on the bound port), carry no foreign `Origin`, and send the
/// per-process key; answers never build URLs on the request's `Host`.
#[tokio::test]
async fn rebinding_pages_and_keyless_callers_are_refused() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let port = b.addr.port();
    let key = b.access_key().to_string();
    assert!(key.len() >= 32, "a real key: {key}");
    let other = tempdir();
    let b2 = start(other.path(), |_| {}).await;
    assert_ne!(key, b2.access_key(), "one key per backend");
    b2.shutdown().await;

    let http = reqwest::Client::new();
    let token = |host: Option<String>, origin: Option<&str>, key: Option<&str>| {
        let mut r = http
            .post(format!("{}/api/auth/anonymous-token", b.url()))
            .header("X-Client-Id", uuid::Uuid::new_v4().to_string());
        if let Some(h) = host {
            r = r.header("Host", h);
        }
        if let Some(o) = origin {
            r = r.header("Origin", o);
        }
        if let Some(k) = key {
            r = r.header("X-Access-Key", k);
        }
        r.send()
    };
    let mut let_in = Vec::new();
    for host in [
        format!("attacker.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        format!("localhost.attacker.example:{port}"),
        format!("localhost:{}", port.wrapping_add(1)),
        format!("[::ffff:127.0.0.1]:{port}"),
        format!("2130706433:{port}"),
        format!("0x7f000001:{port}"),
        "localhost".to_string(),
    ] {
        let r = token(Some(host.clone()), None, Some(&key)).await.unwrap();
        if r.status() != StatusCode::FORBIDDEN {
            let_in.push(format!("Host {host}: {}", r.status()));
        }
    }
    for origin in [
        "http://attacker.example".to_string(),
        format!("http://attacker.example:{port}"),
        "null".to_string(),
        format!("https://127.0.0.1:{port}"),
        format!("http://localhost:{}", port.wrapping_add(1)),
    ] {
        let r = token(None, Some(&origin), Some(&key)).await.unwrap();
        if r.status() != StatusCode::FORBIDDEN {
            let_in.push(format!("Origin {origin}: {}", r.status()));
        }
    }
    for (what, k) in [
        ("no key", None),
        ("wrong key", Some("ebck_guess")),
        ("empty key", Some("")),
    ] {
        let r = token(None, None, k).await.unwrap();
        if r.status() != StatusCode::FORBIDDEN {
            let_in.push(format!("{what}: {}", r.status()));
        }
    }
    // Other routes are guarded the same way (a page could also read /media or /health).
    for path in ["/health", "/media/x.png", "/api/credits/balance/simple"] {
        let r = http
            .get(format!("{}{path}", b.url()))
            .header("Host", format!("attacker.example:{port}"))
            .send()
            .await
            .unwrap();
        if r.status() != StatusCode::FORBIDDEN {
            let_in.push(format!("{path} with a foreign Host: {}", r.status()));
        }
    }
    assert!(let_in.is_empty(), "{let_in:#?}");

    // The right caller passes, from every loopback spelling; URLs in answers are the bound
    // address whatever loopback name the request used.
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let origin = format!("http://{host}");
        let r = token(Some(host.clone()), Some(&origin), Some(&key))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{host}");
    }
    let api = Api::new(&b).await;
    let s = api.session().await;
    let r = api
        .req(
            reqwest::Method::POST,
            &format!("/api/upload-video/nemo_agent/me/{s}"),
        )
        .header("Host", format!("localhost:{port}"))
        .multipart(
            reqwest::multipart::Form::new().part(
                "files",
                reqwest::multipart::Part::bytes(
                    std::fs::read(clip("noaudio_640x360.mp4")).unwrap(),
                )
                .file_name("talk.mp4"),
            ),
        )
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let url = v["data"]["files"][0]["cdn_url"]
        .as_str()
        .unwrap_or_default();
    assert!(url.starts_with(&format!("{}/media/", b.url())), "{v}");
    b.shutdown().await;
}

/// Case 6: data at rest. The data folder and its subfolders are 0700, the database and a
/// finished upload 0600, and the database holds no client id in plain text (old rows are
/// hashed when the store opens).
#[cfg(unix)]
#[tokio::test]
async fn data_at_rest_is_owner_only_and_client_ids_are_hashed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let api = Api::new(&b).await;
    let (_s, _) = api.session_with_clip().await;
    let client_id = uuid::Uuid::new_v4().to_string();
    let r = api
        .req(reqwest::Method::POST, "/api/auth/anonymous-token")
        .header("X-Client-Id", &client_id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    b.shutdown().await;
    let data = dir.path().join("data");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let mut open = Vec::new();
    for d in [data.clone(), data.join("media"), data.join("renders")] {
        if mode(&d) != 0o700 {
            open.push(format!("{}: {:o}", d.display(), mode(&d)));
        }
    }
    for e in std::fs::read_dir(data.join("media")).unwrap().flatten() {
        if mode(&e.path()) != 0o600 {
            open.push(format!("{}: {:o}", e.path().display(), mode(&e.path())));
        }
    }
    for f in [
        "backend.sqlite3",
        "backend.sqlite3-wal",
        "backend.sqlite3-shm",
    ] {
        let p = data.join(f);
        if p.exists() && mode(&p) != 0o600 {
            open.push(format!("{f}: {:o}", mode(&p)));
        }
    }
    assert!(open.is_empty(), "{open:#?}");
    let db = rusqlite::Connection::open(data.join("backend.sqlite3")).unwrap();
    let ids: Vec<String> = db
        .prepare("SELECT client_id FROM users")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(
        ids.iter()
            .all(|i| i.starts_with("sha256:") && !i.contains(&client_id)),
        "{ids:?}"
    );

    // A store an older version wrote (plain ids, 0755/0644) is fixed when it opens.
    use sha2::Digest;
    let hashed = format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(client_id.as_bytes()))
    );
    let n = db
        .execute(
            "UPDATE users SET client_id = ?1 WHERE client_id = ?2",
            [client_id.as_str(), hashed.as_str()],
        )
        .unwrap();
    assert_eq!(n, 1, "the stored value is sha256 of the client id");
    drop(db);
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let b = start(dir.path(), |_| {}).await;
    let api = Api::new(&b).await;
    // The old user is still found by its client id.
    let r = api
        .req(reqwest::Method::POST, "/api/auth/anonymous-token")
        .header("X-Client-Id", &client_id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    b.shutdown().await;
    assert_eq!(mode(&data), 0o700);
    let db = rusqlite::Connection::open(data.join("backend.sqlite3")).unwrap();
    let plain: i64 = db
        .query_row(
            "SELECT count(*) FROM users WHERE client_id NOT LIKE 'sha256:%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(plain, 0);
}

/// A little web server on `ip`:0 for the fetch attacks: `/r` redirects to `target`,
/// `/loop/N` redirects N more times, `/x` serves a PNG magic followed by a secret (not an
/// image), `/clip.mp4` a real clip. Every request is logged with its Referer.
pub(crate) async fn web(
    ip: &str,
    target: Option<String>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::extract::{Path as AxPath, State as AxState};
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Redirect};
    type Log = std::sync::Arc<std::sync::Mutex<Vec<String>>>;
    let log: Log = Default::default();
    let listener = tokio::net::TcpListener::bind(format!("{ip}:0"))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let note = |log: &Log, h: &HeaderMap, what: &str| {
        let referer = h
            .get("referer")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string();
        log.lock()
            .unwrap()
            .push(format!("{what} referer={referer}"));
    };
    let t = target.clone().unwrap_or_default();
    let b2 = base.clone();
    let app = axum::Router::new()
        .route(
            "/r",
            axum::routing::get(move |AxState(log): AxState<Log>, h: HeaderMap| {
                let t = t.clone();
                async move {
                    note(&log, &h, "/r");
                    Redirect::temporary(&t)
                }
            }),
        )
        .route(
            "/loop/{n}",
            axum::routing::get(
                move |AxState(log): AxState<Log>, h: HeaderMap, AxPath(n): AxPath<u32>| {
                    let b2 = b2.clone();
                    async move {
                        note(&log, &h, "/loop");
                        if n == 0 {
                            Redirect::temporary(&format!("{b2}/clip.mp4")).into_response()
                        } else {
                            Redirect::temporary(&format!("{b2}/loop/{}", n - 1)).into_response()
                        }
                    }
                },
            ),
        )
        .route(
            "/x",
            axum::routing::get(move |AxState(log): AxState<Log>, h: HeaderMap| async move {
                note(&log, &h, "/x");
                b"\x89PNG\r\n\x1a\n{\"aws_secret\":\"AKIA-SECRET\"}".to_vec()
            }),
        )
        .route(
            "/clip.mp4",
            axum::routing::get(move |AxState(log): AxState<Log>, h: HeaderMap| async move {
                note(&log, &h, "/clip.mp4");
                std::fs::read(clip("noaudio_640x360.mp4")).unwrap()
            }),
        )
        .with_state(log.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, log)
}

/// Case 5: server-side request forgery through URL uploads. Loopback, private, link-local
/// and metadata addresses are refused in every spelling (decimal, octal, hex, short,
/// v4-mapped IPv6, `localhost`), also when reached by a redirect; the refusal is the same
/// for a closed port, an open one, a 404 and a forbidden address; nothing reaches the
/// private server.
#[tokio::test]
async fn url_uploads_never_reach_private_addresses() {
    let (inner, inner_log) = web("127.0.0.2", None).await;
    let inner_port = inner.rsplit(':').next().unwrap().to_string();
    let (outer, outer_log) = web("127.0.0.1", Some(format!("{inner}/x"))).await;
    let outer_port = outer.rsplit(':').next().unwrap().to_string();
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let api = Api::new(&b).await;
    let s = api.session().await;
    let urls = vec![
        format!("{outer}/r"),
        format!("{inner}/x"),
        format!("http://2130706434:{inner_port}/x"),
        format!("http://0177.0.0.2:{inner_port}/x"),
        format!("http://0x7f.0.0.2:{inner_port}/x"),
        format!("http://127.2:{inner_port}/x"),
        format!("http://[::ffff:127.0.0.2]:{inner_port}/x"),
        format!("http://localhost:{outer_port}/r"),
        format!("http://[::1]:{outer_port}/r"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://[fd00:ec2::254]/latest/meta-data/".to_string(),
        "http://10.0.0.1/x.png".to_string(),
        "http://127.0.0.1:1/closed.png".to_string(),
        format!("{outer}/missing.png"),
    ];
    let mut shapes = Vec::new();
    for url in &urls {
        let (st, v) = api.upload_urls(&s, std::slice::from_ref(url)).await;
        let msg = v["message"].as_str().unwrap_or_default().to_string();
        shapes.push(if st == StatusCode::BAD_REQUEST {
            msg.replacen(url.as_str(), "URL", 1)
        } else {
            format!("HTTP {st}: {v}")
        });
    }
    let first = shapes[0].clone();
    let odd: Vec<String> = urls
        .iter()
        .zip(&shapes)
        .filter(|(_, s)| **s != first || s.starts_with("HTTP"))
        .map(|(u, s)| format!("{u} -> {s}"))
        .collect();
    assert!(
        odd.is_empty(),
        "answered differently:\n{}\nfirst: {first}",
        odd.join("\n")
    );
    assert!(
        !first.contains("404") && !first.contains("error sending"),
        "{first}"
    );
    let reached = inner_log.lock().unwrap().clone();
    assert!(
        reached.is_empty(),
        "the private server was reached: {reached:?}"
    );
    let outer_hits = outer_log.lock().unwrap().clone();
    assert!(
        outer_hits.is_empty(),
        "loopback was reached: {outer_hits:?}"
    );
    b.shutdown().await;
}

/// Case 5 with the test-only switch that lets fetches reach loopback (the shipped default
/// never does): redirects are followed at most 3 hops and without a Referer, bytes with a
/// media magic that are not media are refused and not kept, and a request is capped in URLs
/// and in bytes.
#[tokio::test]
async fn url_fetches_are_bounded() {
    let (inner, inner_log) = web("127.0.0.2", None).await;
    let (outer, _) = web("127.0.0.1", Some(format!("{inner}/x"))).await;
    let dir = tempdir();
    let clip_bytes = std::fs::metadata(clip("noaudio_640x360.mp4"))
        .unwrap()
        .len();
    let b = start(dir.path(), |c| {
        c.fetch_private_addresses = true;
        // Room for one clip per request, not two.
        c.max_upload_bytes = clip_bytes * 3 / 2;
    })
    .await;
    let api = Api::new(&b).await;
    let s = api.session().await;
    let mut wrong = Vec::new();
    let (st, v) = api.upload_urls(&s, &[format!("{outer}/loop/1")]).await;
    if st != StatusCode::OK {
        wrong.push(format!("2 redirects should pass: {v}"));
    }
    let (st, v) = api.upload_urls(&s, &[format!("{outer}/loop/5")]).await;
    if st != StatusCode::BAD_REQUEST {
        wrong.push(format!("6 redirects: {st} {v}"));
    }
    let (st, v) = api.upload_urls(&s, &[format!("{outer}/r")]).await;
    if st != StatusCode::UNSUPPORTED_MEDIA_TYPE {
        wrong.push(format!("PNG magic + JSON kept: {st} {v}"));
    }
    let referers: Vec<String> = inner_log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| !l.ends_with("referer=-"))
        .cloned()
        .collect();
    if !referers.is_empty() {
        wrong.push(format!("Referer sent across hosts: {referers:?}"));
    }
    let eleven: Vec<String> = (0..11).map(|i| format!("{outer}/clip.mp4?{i}")).collect();
    let (st, v) = api.upload_urls(&s, &eleven).await;
    if st != StatusCode::BAD_REQUEST {
        wrong.push(format!("11 URLs in one request: {st} {v}"));
    }
    let two = vec![
        format!("{outer}/clip.mp4"),
        format!("{outer}/clip.mp4?again"),
    ];
    let (st, v) = api.upload_urls(&s, &two).await;
    if st != StatusCode::PAYLOAD_TOO_LARGE {
        wrong.push(format!("two clips over the request's byte cap: {st} {v}"));
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let kept: Vec<String> = std::fs::read_dir(dir.path().join("data/media"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png"))
        .collect();
    assert!(kept.is_empty(), "{kept:?}");
    b.shutdown().await;
}

/// A clip made by ffmpeg from `lavfi` with `args` (input options first), as `name` in `dir`.
pub(crate) fn made(dir: &Path, name: &str, input: &str, out_args: &[&str]) -> PathBuf {
    let p = dir.join(name);
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", input])
        .args(out_args)
        .arg(&p)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg made {name}");
    p
}

/// Case 7c: pictures too large, clips too long or too fast are refused at upload (4002),
/// before anything decodes them, and nothing is kept.
#[tokio::test]
async fn oversized_media_are_refused_at_upload() {
    let dir = tempdir();
    let files = [
        made(
            dir.path(),
            "wide.avi",
            "color=c=red:s=8000x64:r=1:d=1",
            &["-c:v", "mjpeg"],
        ),
        made(
            dir.path(),
            "big.avi",
            "color=c=red:s=7600x4500:r=1:d=1",
            &["-c:v", "mjpeg"],
        ),
        made(
            dir.path(),
            "tall.png",
            "color=c=red:s=64x7800",
            &["-frames:v", "1"],
        ),
        made(
            dir.path(),
            "fast.avi",
            "testsrc=s=64x64:r=480:d=0.5",
            &["-c:v", "mjpeg"],
        ),
        made(
            dir.path(),
            "long.avi",
            "color=c=red:s=16x16:r=1:d=7300",
            &["-c:v", "mjpeg"],
        ),
    ];
    let b = start(&dir.path().join("b"), |_| {}).await;
    let api = Api::new(&b).await;
    let s = api.session().await;
    let mut kept = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let (st, v) = api.upload(&s, &[(f, name)]).await;
        if st != StatusCode::PAYLOAD_TOO_LARGE {
            kept.push(format!("{name}: {st} {v}"));
        }
    }
    assert!(kept.is_empty(), "{kept:#?}");
    let stored = std::fs::read_dir(dir.path().join("b/data/media"))
        .unwrap()
        .count();
    assert_eq!(stored, 0);
    b.shutdown().await;
}

/// Case 7: a timeline is priced by what it renders. Segments with `d: 0` render the whole
/// clip (from `in_ms`), so they are charged for it, not for one second.
#[tokio::test]
async fn timelines_are_priced_by_their_rendered_length() {
    let dir = tempdir();
    let b = start(dir.path(), |c| {
        c.render_cost_per_second = 1.0;
        // Priced at submit; held so no render runs (cancelled after the price is read).
        c.faults.hold_renders = true;
    })
    .await;
    let api = Api::new(&b).await;
    let (s, media) = api.session_with_clip().await;
    let duration = crate::clip_util::probe_json(&clip("noaudio_640x360.mp4"))["format"]["duration"]
        .as_str()
        .unwrap()
        .parse::<f64>()
        .unwrap();
    let balance = |v: &Value| v["data"]["available"].as_f64().unwrap();
    let mut wrong = Vec::new();
    let mut ids = Vec::new();
    for (i, (sg, want)) in [
        (json!([{"d": 0, "m": {"media": media, "bg": "blur", "in_ms": 1}}]), duration),
        (
            json!([{"d": 0, "m": {"media": media, "bg": "blur"}}, {"d": 0, "m": {"media": media, "bg": "white"}}]),
            2.0 * duration,
        ),
        (
            json!([{"d": 0, "m": {"media": media, "bg": "blur", "in_ms": 1000}}]),
            duration - 1.0,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let before = balance(&api.get("/api/credits/balance/simple").await.1);
        let id = format!("render_price_{i}");
        let (st, v) = api
            .post(
                "/api/render/proxy/lambda",
                json!({"id": id, "sessionId": s, "draft": {"t": [{"tt": 0, "sg": sg}]},
                       "output": {"format": "mp4", "quality": "low"}}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let after = balance(&api.get("/api/credits/balance/simple").await.1);
        let cost = before - after;
        if cost + 1e-9 < want.floor() {
            wrong.push(format!("{sg}: charged {cost} for {want:.2} s"));
        }
        ids.push(id);
    }
    // Cancelled only now: a release while another price is read would blur it.
    for id in ids {
        api.post(&format!("/api/render/proxy/lambda/{id}/cancel"), json!({}))
            .await;
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    b.shutdown().await;
}
