//! The embedded backend over real HTTP: reqwest against `backend::spawn` on a free loopback
//! port with a temp data dir. Every endpoint, every error code, token isolation, upload
//! limits and path escapes, the agent's SSE events, renders to a real file, cancel, faults,
//! and a restart in the middle of a render.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ebc::backend::{self, BackendHandle};
use ebc::config::{BackendConfig, Faults};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::clip_util::{clip, luma_frame, mean_abs_diff, tempdir, video_facts};
use crate::support::{BackendProc as Proc, backend_binary};

const DEADLINE: Duration = Duration::from_secs(120);

async fn start(dir: &Path, tweak: impl FnOnce(&mut BackendConfig)) -> BackendHandle {
    let mut cfg = BackendConfig::ephemeral(dir.join("data"));
    tweak(&mut cfg);
    backend::spawn(cfg).await.expect("backend starts")
}

/// A reqwest client that sends the backend's access key on every request, as every caller
/// of the backend must.
fn keyed(key: &str) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("X-Access-Key", key.parse().unwrap());
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}

/// A test user: one client id, one token, the contract's headers.
struct User {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl User {
    async fn new(base: &str, key: &str) -> User {
        let http = keyed(key);
        let v: Value = http
            .post(format!("{base}/api/auth/anonymous-token"))
            .header("X-Client-Id", uuid::Uuid::new_v4().to_string())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["code"], 0, "{v}");
        User {
            http,
            base: base.to_string(),
            token: v["data"]["token"].as_str().unwrap().to_string(),
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        self.http
            .request(method, url)
            .bearer_auth(&self.token)
            .header("X-Skill-Source", "editor-background-changer")
            .header("X-Skill-Version", "0.1.0")
            .header("X-Skill-Platform", "unknown")
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.req(reqwest::Method::GET, path).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// POST `body`; a render request asks for the suite's matte unless it names one
    /// (`support::with_test_output_matte`).
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_as_given(path, crate::support::with_test_output_matte(body))
            .await
    }

    /// POST `body` exactly as given (a render without `output.matte` gets the default).
    async fn post_as_given(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .req(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap();
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

    /// Send a message; the raw SSE body and its `data:` events.
    async fn say(&self, session: &str, text: &str) -> (StatusCode, String, Vec<Value>) {
        let r = self
            .req(reqwest::Method::POST, "/run_sse")
            .header("Accept", "text/event-stream")
            .json(&json!({"app_name":"nemo_agent","user_id":"me","session_id":session,"new_message":{"parts":[{"text":text}]}}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let raw = r.text().await.unwrap();
        let events = raw
            .split("\n\n")
            .filter_map(|block| block.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        (status, raw, events)
    }

    async fn draft_video_segment(&self, session: &str) -> Value {
        let (_, v) = self
            .get(&format!("/api/state/nemo_agent/me/{session}/latest"))
            .await;
        v["data"]["state"]["draft"]["t"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["tt"] == 0))
            .map(|t| t["sg"][0].clone())
            .unwrap_or(Value::Null)
    }

    async fn draft(&self, session: &str) -> Value {
        let (_, v) = self
            .get(&format!("/api/state/nemo_agent/me/{session}/latest"))
            .await;
        v["data"]["state"]["draft"].clone()
    }

    async fn credits(&self) -> Value {
        self.get("/api/credits/balance/simple").await.1["data"].clone()
    }

    async fn render(&self, id: &str, session: &str, quality: &str) -> (StatusCode, Value) {
        let draft = self.draft(session).await;
        self.post(
            "/api/render/proxy/lambda",
            json!({"id": id, "sessionId": session, "draft": draft,
                   "output": {"format": "mp4", "quality": quality, "resolution": "720p"}}),
        )
        .await
    }

    async fn render_status(&self, id: &str) -> Value {
        let (st, v) = self.get(&format!("/api/render/proxy/lambda/{id}")).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        v["data"].clone()
    }

    /// Poll until `done(status)` holds; the statuses seen on the way.
    async fn wait_render(&self, id: &str, done: impl Fn(&Value) -> bool) -> Vec<Value> {
        let start = Instant::now();
        let mut seen = Vec::new();
        loop {
            let s = self.render_status(id).await;
            seen.push(s.clone());
            if done(&s) {
                return seen;
            }
            assert!(start.elapsed() < DEADLINE, "render {id} stuck: {s}");
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
}

/// A session with the 640x360 clip uploaded.
async fn session_with_clip(u: &User) -> String {
    let s = u.session().await;
    let (st, v) = u
        .upload(&s, &[(&clip("noaudio_640x360.mp4"), "talk.mp4")])
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    s
}

fn is_final(s: &Value) -> bool {
    matches!(
        s["status"].as_str(),
        Some("completed" | "failed" | "cancelled")
    )
}

/// Every content part of `events`, in order.
fn parts(events: &[Value]) -> impl Iterator<Item = Value> + '_ {
    events.iter().flat_map(|e| {
        e["content"]["parts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    })
}

fn texts(events: &[Value]) -> Vec<String> {
    parts(events)
        .filter_map(|p| p["text"].as_str().map(str::to_string))
        .collect()
}

fn write_png(path: &Path) {
    let img = image::RgbImage::from_fn(64, 48, |x, _| image::Rgb([x as u8 * 4, 120, 200]));
    img.save(path).unwrap();
}

#[tokio::test]
async fn anonymous_token_needs_a_client_id() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let http = keyed(b.access_key());
    let r = http
        .post(format!("{}/api/auth/anonymous-token", b.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["message"].as_str().unwrap().contains("X-Client-Id"),
        "{v}"
    );

    let v: Value = http
        .post(format!("{}/api/auth/anonymous-token", b.url()))
        .header("X-Client-Id", "c1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["code"], 0);
    assert!(v["data"]["token"].as_str().unwrap().starts_with("nmv_usr_"));
    assert!(v["data"]["expires_at"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(v["data"]["credits"], 10_000.0);
    b.shutdown().await;
}

#[tokio::test]
async fn unknown_missing_and_expired_tokens_are_1001() {
    let dir = tempdir();
    let b = start(dir.path(), |c| c.token_ttl = Duration::from_secs(3600)).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let http = keyed(b.access_key());
    let r = http
        .get(format!("{}/api/credits/balance/simple", b.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 1001);
    let r = http
        .get(format!("{}/api/credits/balance/simple", b.url()))
        .bearer_auth("nmv_usr_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 1001);

    assert_eq!(u.get("/api/credits/balance/simple").await.1["code"], 0);
    b.set_faults(Faults {
        expire_tokens_now: true,
        ..Faults::default()
    });
    let (st, v) = u.get("/api/credits/balance/simple").await;
    assert_eq!((st, &v["code"]), (StatusCode::UNAUTHORIZED, &json!(1001)));
    // The fault hit the tokens existing when armed, not new ones.
    let u2 = User::new(&b.url(), b.access_key()).await;
    assert_eq!(u2.get("/api/credits/balance/simple").await.1["code"], 0);
    b.shutdown().await;
}

#[tokio::test]
async fn tokens_see_only_their_own_sessions_media_and_renders() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let (a, other) = (
        User::new(&b.url(), b.access_key()).await,
        User::new(&b.url(), b.access_key()).await,
    );
    let s = a.session().await;
    let (_, up) = a
        .upload(&s, &[(&clip("noaudio_640x360.mp4"), "talk.mp4")])
        .await;
    let media_url = up["data"]["files"][0]["cdn_url"].as_str().unwrap();

    let (st, v) = other
        .get(&format!("/api/state/nemo_agent/me/{s}/latest"))
        .await;
    assert_eq!((st, &v["code"]), (StatusCode::NOT_FOUND, &json!(1002)));
    let (_, v) = other
        .upload(&s, &[(&clip("noaudio_640x360.mp4"), "x.mp4")])
        .await;
    assert_eq!(v["code"], 1002);
    let (_, _, ev) = other.say(&s, "blur the background").await;
    assert!(ev.is_empty());
    let (st, v) = other.get(media_url).await;
    assert_eq!((st, &v["code"]), (StatusCode::NOT_FOUND, &json!(4004)));

    let (_, _, ev) = a.say(&s, "blur the background").await;
    assert!(!ev.is_empty());
    let (_, v) = a.render("render_iso", &s, "low").await;
    assert_eq!(v["success"], true, "{v}");
    let (st, v) = other.get("/api/render/proxy/lambda/render_iso").await;
    assert_eq!((st, &v["code"]), (StatusCode::NOT_FOUND, &json!(4004)));
    assert_eq!(v["success"], false);
    let (st, _) = other
        .post("/api/render/proxy/lambda/render_iso/cancel", json!({}))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = other.get("/api/render/proxy/render_iso/download").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Rendering into someone else's session.
    let (_, v) = other
        .post(
            "/api/render/proxy/lambda",
            json!({"id":"render_x","sessionId":s,"draft":{},"output":{"format":"mp4","quality":"high"}}),
        )
        .await;
    assert_eq!(v["code"], 1002);
    a.wait_render("render_iso", is_final).await;

    b.set_faults(Faults {
        lose_sessions_now: true,
        ..Faults::default()
    });
    let (st, v) = a.get(&format!("/api/state/nemo_agent/me/{s}/latest")).await;
    assert_eq!((st, &v["code"]), (StatusCode::NOT_FOUND, &json!(1002)));
    let s2 = a.session().await;
    assert_eq!(
        a.get(&format!("/api/state/nemo_agent/me/{s2}/latest"))
            .await
            .1["code"],
        0
    );
    b.shutdown().await;
}

#[tokio::test]
async fn upload_answers_media_facts_and_serves_the_file_with_range() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = u.session().await;
    let png = dir.path().join("beach.png");
    write_png(&png);
    let src = clip("noaudio_640x360.mp4");
    let (st, v) = u
        .upload(&s, &[(&src, "talk.mp4"), (&png, "beach.png")])
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let files = v["data"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    let f = &files[0];
    assert_eq!(f["filename"], "talk.mp4");
    assert_eq!(f["file_type"], "video");
    assert_eq!(
        (f["width"].as_u64(), f["height"].as_u64()),
        (Some(640), Some(360))
    );
    assert!((f["fps"].as_f64().unwrap() - 30.0).abs() < 0.01);
    assert!((f["duration"].as_f64().unwrap() - 2.0).abs() < 0.1);
    let bytes = std::fs::read(&src).unwrap();
    assert_eq!(f["hash"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(files[1]["file_type"], "image");
    assert_eq!(files[1]["width"], 64);
    assert_eq!(v["data"]["session_state_applied"], true);

    let url = f["cdn_url"].as_str().unwrap();
    assert!(url.starts_with(&b.url()), "{url}");
    let got = u.req(reqwest::Method::GET, url).send().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let part = u
        .req(reqwest::Method::GET, url)
        .header("Range", "bytes=4-11")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[4..12]);
    let anon = keyed(b.access_key()).get(url).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    // Without the backend's key not even the file's existence is answered.
    let keyless = reqwest::get(url).await.unwrap();
    assert_eq!(keyless.status(), StatusCode::FORBIDDEN);

    // Bigger than axum's default 2 MB body limit: the upload route has its own.
    let big = dir.path().join("big.mp4");
    let mut padded = bytes.clone();
    padded.resize(bytes.len() + 3 * 1024 * 1024, 0);
    std::fs::write(&big, &padded).unwrap();
    let (st, v) = u.upload(&u.session().await, &[(&big, "big.mp4")]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["data"]["files"][0]["hash"],
        hex::encode(Sha256::digest(&padded))
    );

    // The clip became a video segment; the image did not.
    let seg = u.draft_video_segment(&s).await;
    assert_eq!(seg["m"]["name"], "talk.mp4");
    assert_eq!(seg["d"], 2000);
    let (_, st) = u.get(&format!("/api/state/nemo_agent/me/{s}/latest")).await;
    assert_eq!(
        st["data"]["state"]["video_infos"].as_array().unwrap().len(),
        2
    );
    assert_eq!(st["data"]["state"]["canvas_config"]["ratio"], "16:9");
    b.shutdown().await;
}

#[tokio::test]
async fn upload_rejects_wrong_types_and_oversize_files_leaving_nothing() {
    let dir = tempdir();
    let b = start(dir.path(), |c| c.max_upload_bytes = 20_000).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = u.session().await;
    let (st, v) = u
        .upload(&s, &[(&clip("not_a_video.mp4"), "not_a_video.mp4")])
        .await;
    assert_eq!(
        (st, &v["code"]),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, &json!(4001))
    );
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("not_a_video.mp4") && msg.contains("mp4 mov avi webm mkv"),
        "{msg}"
    );

    let (st, v) = u
        .upload(&s, &[(&clip("noaudio_640x360.mp4"), "big.mp4")])
        .await;
    assert_eq!(
        (st, &v["code"]),
        (StatusCode::PAYLOAD_TOO_LARGE, &json!(4002))
    );
    assert!(v["message"].as_str().unwrap().contains("big.mp4"));
    let media_dir = dir.path().join("data/media");
    assert!(
        std::fs::read_dir(&media_dir).unwrap().next().is_none(),
        "partial uploads left behind"
    );
    assert!(u.draft_video_segment(&s).await.is_null());

    let (st, v) = u
        .upload("ses_nope", &[(&clip("noaudio_640x360.mp4"), "x.mp4")])
        .await;
    assert_eq!((st, &v["code"]), (StatusCode::NOT_FOUND, &json!(1002)));
    b.shutdown().await;
}

#[tokio::test]
async fn url_uploads_stay_inside_their_roots() {
    let dir = tempdir();
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(clip("noaudio_640x360.mp4"), root.join("talk.mp4")).unwrap();
    // A link out of the root (Windows needs a privilege to create one: Unix only).
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/passwd", root.join("sneaky.mp4")).unwrap();
    // The test's web server is on loopback: let URL uploads reach it (test configuration).
    let b = start(dir.path(), |c| {
        c.url_roots = vec![root.clone()];
        c.fetch_private_addresses = true;
    })
    .await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = u.session().await;
    let up = |urls: Vec<String>| {
        let u = &u;
        let s = s.clone();
        async move {
            u.post(
                &format!("/api/upload-video/nemo_agent/me/{s}"),
                json!({"urls": urls, "source_type": "url"}),
            )
            .await
        }
    };
    let (st, v) = up(vec![format!("file://{}", root.join("talk.mp4").display())]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["files"][0]["filename"], "talk.mp4");
    assert_eq!(v["data"]["files"][0]["width"], 640);

    let mut bad_urls = vec![
        "file:///etc/passwd".to_string(),
        format!("file://{}/../../../etc/passwd", root.display()),
        format!("file://{}/%2e%2e/%2e%2e/etc/passwd", root.display()),
        "ftp://example.com/x.mp4".to_string(),
    ];
    if cfg!(unix) {
        bad_urls.push(format!("file://{}", root.join("sneaky.mp4").display()));
    }
    for bad in bad_urls {
        let (st, v) = up(vec![bad.clone()]).await;
        assert_eq!(
            (st, &v["code"]),
            (StatusCode::BAD_REQUEST, &json!(4000)),
            "{bad}: {v}"
        );
    }

    // http(s): fetched with the size cap, typed by content.
    let serve_dir = dir.path().join("www");
    std::fs::create_dir_all(&serve_dir).unwrap();
    std::fs::copy(clip("noaudio_640x360.mp4"), serve_dir.join("clip.mp4")).unwrap();
    std::fs::copy(clip("not_a_video.mp4"), serve_dir.join("text.mp4")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web = listener.local_addr().unwrap();
    let site =
        axum::Router::new().fallback_service(tower_http::services::ServeDir::new(&serve_dir));
    tokio::spawn(async move { axum::serve(listener, site).await });
    let (st, v) = up(vec![format!("http://{web}/clip.mp4")]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["files"][0]["file_type"], "video");
    let (_, v) = up(vec![format!("http://{web}/text.mp4")]).await;
    assert_eq!(v["code"], 4001);
    let (_, v) = up(vec![format!("http://{web}/missing.mp4")]).await;
    assert_eq!(v["code"], 4000);
    b.shutdown().await;

    // Without roots, file:// is refused outright.
    let dir2 = tempdir();
    let b = start(dir2.path(), |_| {}).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = u.session().await;
    let (_, v) = u
        .post(
            &format!("/api/upload-video/nemo_agent/me/{s}"),
            json!({"urls": [format!("file://{}", root.join("talk.mp4").display())], "source_type": "url"}),
        )
        .await;
    assert_eq!(v["code"], 4000);
    // The path gate's one refusal: no backend flag named, nothing said about existence.
    let msg = v["message"].as_str().unwrap();
    assert!(
        !msg.contains("--url-root") && msg.contains("no file by that name can be read here"),
        "{v}"
    );
    b.shutdown().await;
}

#[tokio::test]
async fn agent_streams_adk_events_and_edits_the_draft() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = session_with_clip(&u).await;
    let before = u.credits().await["available"].as_f64().unwrap();

    let (st, raw, ev) = u.say(&s, "Blur the background").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ev.len(), 3, "{raw}");
    let call = &ev[0]["content"]["parts"][0]["functionCall"];
    assert_eq!(call["name"], "set_background");
    assert_eq!(call["args"]["clip"], "talk.mp4");
    let resp = &ev[1]["content"]["parts"][0]["functionResponse"];
    assert_eq!(resp["response"]["status"], "ok");
    let delta = &ev[1]["actions"]["stateDelta"]["draft"];
    assert_eq!(delta["t"][0]["sg"][0]["m"]["bg"], "blur");
    assert_eq!(ev[2]["turnComplete"], true);
    assert!(texts(&ev)[0].contains("blurred"), "{raw}");
    let seg = u.draft_video_segment(&s).await;
    assert_eq!(seg["m"]["bg"], "blur");
    assert!(seg["m"]["bg_desc"].as_str().unwrap().contains("blurred"));
    assert_eq!(
        u.credits().await["available"].as_f64().unwrap(),
        before - 1.0
    );

    let (_, _, ev) = u
        .say(
            &s,
            "replace my office background with a clean studio backdrop",
        )
        .await;
    assert!(texts(&ev)[0].contains("studio"), "{ev:?}");
    let (_, _, ev) = u.say(&s, "把背景换成白色").await;
    assert_eq!(ev.len(), 3, "{ev:?}");
    let desc = u.draft_video_segment(&s).await["m"]["bg_desc"].clone();
    assert!(desc.as_str().unwrap().contains("white"), "{desc}");
    let (_, _, ev) = u.say(&s, "remove the background").await;
    assert!(texts(&ev)[0].contains("WebM"), "{ev:?}");
    let (_, _, ev) = u.say(&s, "背景虚化").await;
    assert_eq!(u.draft_video_segment(&s).await["m"]["bg"], "blur", "{ev:?}");

    // An image uploaded to the session, by name.
    let png = dir.path().join("beach.png");
    write_png(&png);
    u.upload(&s, &[(&png, "beach.png")]).await;
    let (_, _, ev) = u.say(&s, "use beach.png as the background").await;
    assert_eq!(
        ev[1]["content"]["parts"][0]["functionResponse"]["response"]["status"], "ok",
        "{ev:?}"
    );
    let seg = u.draft_video_segment(&s).await;
    assert_eq!(seg["m"]["bg"], "beach.png");
    assert!(seg["m"]["bg_media"].as_str().unwrap().starts_with("med_"));

    // Not something the local agent does (it makes no music up): the turn ends with one ADK
    // error event saying so and listing what it can do, no text reply, nothing charged.
    let credits = u.credits().await["available"].as_f64().unwrap();
    let (_, _, ev) = u.say(&s, "add some jazz").await;
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["errorCode"], "UNSUPPORTED_EDIT", "{ev:?}");
    let why = ev[0]["errorMessage"].as_str().unwrap();
    assert!(why.contains("cannot do \"add some jazz\""), "{why}");
    assert!(why.contains("blur the background"), "{why}");
    assert!(
        why.contains("music from an audio file you uploaded"),
        "{why}"
    );
    assert!(texts(&ev).is_empty(), "{ev:?}");
    // A backdrop the resolver does not know: the call fails and the turn ends with an error
    // event that explains it; nothing charged.
    let (_, _, ev) = u.say(&s, "change the background to quantum foam").await;
    assert_eq!(
        ev[1]["content"]["parts"][0]["functionResponse"]["response"]["status"],
        "error"
    );
    let last = ev.last().unwrap();
    assert_eq!(last["errorCode"], "EDIT_FAILED", "{ev:?}");
    assert!(
        last["errorMessage"].as_str().unwrap().contains("quantum"),
        "{ev:?}"
    );
    assert!(texts(&ev).is_empty(), "{ev:?}");
    assert_eq!(u.credits().await["available"].as_f64().unwrap(), credits);

    let (st, _, _) = u.say("ses_unknown", "blur the background").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let r = u
        .req(reqwest::Method::POST, "/run_sse")
        .json(&json!({"session_id": s}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 4000);
    b.shutdown().await;
}

/// The `functionResponse` of the first function call in `events`.
fn function_response(events: &[Value]) -> Value {
    parts(events)
        .find_map(|p| p.get("functionResponse").cloned())
        .unwrap_or(Value::Null)
}

/// Files in the data dir's `media/` whose names start with `prefix`.
fn stored_media(data: &Path, prefix: &str) -> Vec<PathBuf> {
    names_in(&data.join("media"))
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .map(|n| data.join("media").join(n))
        .collect()
}

/// Issue 8, previews through the protocol: a background replacement answers `preview_url`,
/// a before/after JPEG (≤ 64 KB) stored as media of the session — served by `/media` to its
/// owner only, listed in the state's `generated_media`, never offered as a clip. When the
/// preview cannot be made (the clip's file is gone) the edit still goes through, without a
/// URL. A cloud dialect sends none, as the cloud does not.
#[tokio::test]
async fn a_background_edit_answers_a_before_after_preview_served_as_media() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let b = start(dir.path(), |_| {}).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = session_with_clip(&u).await;

    let (st, raw, ev) = u
        .say(
            &s,
            "replace my office background with a clean studio backdrop",
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let resp = &function_response(&ev)["response"];
    assert_eq!(resp["status"], "ok", "{raw}");
    let url = resp["preview_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no preview_url: {raw}"))
        .to_string();
    assert!(
        url.starts_with(&format!("{}/media/{}", b.url(), backend::PREVIEW_ID_PREFIX))
            && url.ends_with(".jpg"),
        "{url}"
    );

    // Served to its owner as a small side-by-side JPEG, the very file in the store.
    let r = u.req(reqwest::Method::GET, &url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let jpeg = r.bytes().await.unwrap().to_vec();
    assert!(jpeg.len() <= 64 * 1024, "{} bytes", jpeg.len());
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF]);
    let img = image::load_from_memory(&jpeg).unwrap();
    assert!(img.width() > img.height(), "before | after side by side");
    // The JPEG, and beside it the short before|after clip the MCP App plays (issue 22).
    let stored = stored_media(&data, backend::PREVIEW_ID_PREFIX);
    let jpegs: Vec<_> = stored
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    assert_eq!(jpegs.len(), 1, "{stored:?}");
    assert_eq!(std::fs::read(jpegs[0]).unwrap(), jpeg);
    assert!(
        stored.len() == 1
            || stored
                .iter()
                .any(|p| p.extension().is_some_and(|e| e == "mp4")),
        "{stored:?}"
    );
    // Nobody else's, and not without a token.
    let other = User::new(&b.url(), b.access_key()).await;
    let (st, v) = other.get(&url).await;
    assert_eq!(
        (st, &v["code"]),
        (StatusCode::NOT_FOUND, &json!(4004)),
        "{v}"
    );
    let r = reqwest::get(&url).await.unwrap();
    assert_ne!(r.status(), StatusCode::OK);

    // In the state: a generated image, not one of the session's files.
    let (_, v) = u.get(&format!("/api/state/nemo_agent/me/{s}/latest")).await;
    let state = &v["data"]["state"];
    let previews: Vec<&Value> = state["generated_media"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["kind"] == "preview" && m["url"].as_str().is_some_and(|u| u.ends_with(".jpg"))
        })
        .collect();
    assert_eq!(previews.len(), 1, "{state}");
    assert_eq!(previews[0]["url"], url.as_str());
    assert_eq!(previews[0]["type"], "image");
    let infos = state["video_infos"].as_array().unwrap();
    assert_eq!(infos.len(), 1, "only the clip: {infos:?}");

    // The clip's file is gone (say, swept): the edit stands, without a preview.
    for f in stored_media(&data, "med_") {
        std::fs::remove_file(f).unwrap();
    }
    let before = u.credits().await["available"].as_f64().unwrap();
    let (_, raw, ev) = u.say(&s, "blur the background").await;
    let resp = &function_response(&ev)["response"];
    assert_eq!(resp["status"], "ok", "{raw}");
    assert!(resp.get("preview_url").is_none(), "{raw}");
    assert!(texts(&ev)[0].contains("blurred"), "{raw}");
    assert_eq!(u.draft_video_segment(&s).await["m"]["bg"], "blur");
    assert_eq!(
        u.credits().await["available"].as_f64().unwrap(),
        before - 1.0
    );
    // No new preview: still the first edit's JPEG (and its clip) alone.
    let jpgs = stored_media(&data, backend::PREVIEW_ID_PREFIX)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .count();
    assert_eq!(jpgs, 1);
    // Edits that are not backgrounds have none either.
    let (_, raw, ev) = u.say(&s, "add the title 'Hello'").await;
    let resp = &function_response(&ev)["response"];
    assert_eq!(resp["status"], "ok", "{raw}");
    assert!(resp.get("preview_url").is_none(), "{raw}");
    b.shutdown().await;

    // A cloud dialect: no preview, nothing stored, the edit as before.
    let dir = tempdir();
    let data = dir.path().join("data");
    let b = start(dir.path(), |c| c.dialect = ebc::config::Dialect::Seed).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = session_with_clip(&u).await;
    let (_, raw, ev) = u.say(&s, "blur the background").await;
    let resp = &function_response(&ev)["response"];
    assert_eq!(resp["status"], "ok", "{raw}");
    assert!(resp.get("preview_url").is_none(), "{raw}");
    assert!(stored_media(&data, backend::PREVIEW_ID_PREFIX).is_empty());
    b.shutdown().await;
}

#[tokio::test]
async fn agent_faults_silent_disconnect_and_heartbeats() {
    let dir = tempdir();
    let b = start(dir.path(), |c| c.sse_heartbeat = Duration::from_millis(20)).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = session_with_clip(&u).await;

    b.set_faults(Faults {
        silent_replies: true,
        ..Faults::default()
    });
    let (_, _, ev) = u.say(&s, "blur the background").await;
    assert_eq!(ev.len(), 3);
    assert!(texts(&ev).is_empty(), "{ev:?}");
    assert_eq!(ev[2]["turnComplete"], true);

    b.set_faults(Faults {
        disconnect_sse: true,
        ..Faults::default()
    });
    let (_, raw, ev) = u.say(&s, "make the background navy").await;
    assert_eq!(ev.len(), 1, "{raw}");
    assert!(ev[0]["content"]["parts"][0]["functionCall"].is_object());
    // The edit still lands: poll the state.
    let start = Instant::now();
    while u.draft_video_segment(&s).await["m"]["bg"] != "navy" {
        assert!(start.elapsed() < DEADLINE, "edit never applied");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    b.set_faults(Faults {
        slow_ms: 150,
        ..Faults::default()
    });
    let (_, raw, ev) = u.say(&s, "blur the background").await;
    assert!(
        raw.contains("\n: working\n") || raw.starts_with(": working"),
        "{raw}"
    );
    assert_eq!(ev.len(), 3);
    b.shutdown().await;
}

#[tokio::test]
async fn out_of_credits_is_2001() {
    let dir = tempdir();
    let b = start(dir.path(), |c| c.initial_credits = 0.0).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = session_with_clip(&u).await;
    let (st, raw, _) = u.say(&s, "blur the background").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(raw.contains("2001"), "{raw}");
    let c = u.credits().await;
    assert_eq!(
        (c["available"].as_f64(), c["frozen"].as_f64()),
        (Some(0.0), Some(0.0))
    );
    b.shutdown().await;

    // The fault: credits read 0 for an otherwise rich user; renders are refused too.
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = session_with_clip(&u).await;
    u.say(&s, "blur the background").await;
    b.set_faults(Faults {
        out_of_credits: true,
        ..Faults::default()
    });
    let (_, v) = u.render("render_nocredit", &s, "low").await;
    assert_eq!(
        (v["code"].clone(), v["success"].clone()),
        (json!(2001), json!(false))
    );
    assert_eq!(u.credits().await["available"], 0.0);
    b.shutdown().await;
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let dir = tempdir();
    let b = start(dir.path(), |c| c.rate_limit_per_min = 3).await;
    let u = User::new(&b.url(), b.access_key()).await;
    for _ in 0..3 {
        assert_eq!(u.get("/api/credits/balance/simple").await.0, StatusCode::OK);
    }
    let r = u
        .req(reqwest::Method::GET, "/api/credits/balance/simple")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 429);
    // Another token is not limited by this one.
    assert_eq!(
        User::new(&b.url(), b.access_key())
            .await
            .get("/api/credits/balance/simple")
            .await
            .0,
        StatusCode::OK
    );
    b.shutdown().await;

    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let u = User::new(&b.url(), b.access_key()).await;
    b.set_faults(Faults {
        rate_limit_next: 2,
        retry_after_secs: 7,
        ..Faults::default()
    });
    for _ in 0..2 {
        let r = u
            .req(reqwest::Method::GET, "/api/credits/balance/simple")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "7");
    }
    assert_eq!(u.get("/api/credits/balance/simple").await.0, StatusCode::OK);
    b.shutdown().await;
}

#[tokio::test]
async fn render_flow_completes_and_downloads_a_valid_file() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = session_with_clip(&u).await;
    u.say(&s, "replace the background with a clean studio backdrop")
        .await;

    // No attribution → 402, nothing queued.
    let draft = u.draft(&s).await;
    let r = u
        .http
        .post(format!("{}/api/render/proxy/lambda", b.url()))
        .bearer_auth(&u.token)
        .json(&json!({"id":"render_a","sessionId":s,"draft":draft,"output":{"format":"mp4","quality":"high"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYMENT_REQUIRED);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["message"].as_str().unwrap().contains("attribution"),
        "{v}"
    );

    // An unknown matte is refused up front, naming the choices; nothing is queued or frozen.
    let (st, v) = u
        .post(
            "/api/render/proxy/lambda",
            json!({"id": "render_m", "sessionId": s, "draft": draft,
                   "output": {"format": "mp4", "quality": "high", "matte": "ultra"}}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(v.to_string().contains("fast, balanced, quality"), "{v}");

    let (st, v) = u.render("render_a", &s, "medium").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["success"], true);
    assert!(matches!(
        v["data"]["status"].as_str(),
        Some("pending" | "processing")
    ));
    let frozen = u.credits().await["frozen"].as_f64().unwrap();
    assert_eq!(frozen, 2.0, "2 s clip at 1 credit/s");
    let (st, v) = u.render("render_a", &s, "medium").await;
    assert_eq!((st, &v["code"]), (StatusCode::CONFLICT, &json!(4009)));

    let seen = u.wait_render("render_a", is_final).await;
    let last = seen.last().unwrap();
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(last["progress"], 100.0);
    let progress: Vec<f64> = seen
        .iter()
        .map(|s| s["progress"].as_f64().unwrap())
        .collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    let url = last["outputUrl"].as_str().unwrap();
    assert_eq!(last["output"]["url"], url);
    let c = u.credits().await;
    assert_eq!(
        (c["frozen"].as_f64(), c["available"].as_f64()),
        (Some(0.0), Some(10_000.0 - 1.0 - 2.0))
    );

    let bytes = u
        .req(reqwest::Method::GET, url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let out = dir.path().join("out.mp4");
    std::fs::write(&out, &bytes).unwrap();
    let (codec, w, h, frames) = video_facts(&out);
    assert_eq!((codec.as_str(), w, h, frames), ("h264", 640, 360, 60));
    let part = u
        .req(reqwest::Method::GET, "/api/render/proxy/render_a/download")
        .header("Range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[..100]);
    let (_, st) = u.get(&format!("/api/state/nemo_agent/me/{s}/latest")).await;
    assert_eq!(st["data"]["state"]["generated_media"][0]["id"], "render_a");

    // An empty draft in the request renders the session's draft.
    let (_, v) = u
        .post("/api/render/proxy/lambda", json!({"id":"render_b","sessionId":s,"draft":{},"output":{"format":"mp4","quality":"low"}}))
        .await;
    assert_eq!(v["success"], true, "{v}");
    let last = u.wait_render("render_b", is_final).await.pop().unwrap();
    assert_eq!(last["status"], "completed", "{last}");

    let (st, v) = u.get("/api/render/proxy/lambda/render_missing").await;
    assert_eq!((st, &v["code"]), (StatusCode::NOT_FOUND, &json!(4004)));
    let (_, v) = u
        .post("/api/render/proxy/lambda", json!({"id":"../x","sessionId":s,"draft":draft,"output":{"format":"mp4","quality":"high"}}))
        .await;
    assert_eq!(v["code"], 4000);
    let (_, v) = u
        .post("/api/render/proxy/lambda", json!({"id":"render_q","sessionId":s,"draft":draft,"output":{"format":"mp4","quality":"ultra"}}))
        .await;
    assert_eq!(v["code"], 4000);
    b.shutdown().await;
}

/// A timeline export (here a trimmed clip, which only the timeline renderer does) is cut
/// with the matte the request names, like a one-clip export: `output.matte: "quality"` or
/// `"balanced"` (MODNet's edges) gives another picture than `"fast"`, and the render's
/// status names the matte. Without `output.matte` the status names the engine's default,
/// and the picture is that matte's. All renders see the same frames, so any difference is
/// the matte's.
#[tokio::test]
async fn a_timeline_export_uses_the_requested_matte() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = session_with_clip(&u).await;
    u.say(&s, "replace the background with navy").await;
    let mut draft = u.draft(&s).await;
    let clip_track = draft["t"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|t| t["tt"] == 0)
        .unwrap();
    let seg = &mut clip_track["sg"][0];
    assert_eq!(seg["m"]["bg"], "navy", "{seg}");
    // 0.3 s (9 frames) from 0.5 s: a trim, and short, because MODNet is slow in debug builds.
    seg["m"]["in_ms"] = json!(500);
    seg["d"] = json!(300);
    let (w, h) = (640, 360);
    let default = ebc::engine::matte::MatteMode::default().as_str();
    let mut frames = std::collections::BTreeMap::new();
    for matte in ["fast", "balanced", "quality", ""] {
        let id = format!(
            "render_tl_{}",
            if matte.is_empty() { "default" } else { matte }
        );
        let mut output = json!({"format": "mp4", "quality": "high"});
        if !matte.is_empty() {
            output["matte"] = json!(matte);
        }
        let (st, v) = u
            .post_as_given(
                "/api/render/proxy/lambda",
                json!({"id": id, "sessionId": s, "draft": draft, "output": output}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let named = if matte.is_empty() { default } else { matte };
        assert_eq!(v["data"]["matte"], named, "{v}");
        let last = u.wait_render(&id, is_final).await.pop().unwrap();
        assert_eq!(last["status"], "completed", "{last}");
        assert_eq!(last["matte"], named, "{last}");
        let bytes = u
            .req(reqwest::Method::GET, last["outputUrl"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let out = dir.path().join(format!("{id}.mp4"));
        std::fs::write(&out, &bytes).unwrap();
        let (_, ow, oh, n) = video_facts(&out);
        assert_eq!((ow, oh, n), (w as u64, h as u64, 9), "{matte}");
        frames.insert(matte, [1, 4, 7].map(|i| luma_frame(&out, i, w, h)));
    }
    // Pixels that moved by > 24 levels between two renders, per frame.
    let moved = |a: &str, b: &str| -> Vec<usize> {
        frames[a]
            .iter()
            .zip(&frames[b])
            .map(|(x, y)| {
                x.iter()
                    .zip(y)
                    .filter(|(p, q)| p.abs_diff(**q) > 24)
                    .count()
            })
            .collect()
    };
    for matte in ["quality", "balanced"] {
        for (i, m) in moved("fast", matte).into_iter().enumerate() {
            assert!(
                m * 200 > w * h,
                "frame {i}: the {matte} matte changed {m} pixels by > 24 levels; \
                 the timeline export was cut with the fast matte"
            );
        }
    }
    for (i, (x, y)) in frames[""].iter().zip(&frames[default]).enumerate() {
        let diff = mean_abs_diff(x, y, w, (0, 0, w, h));
        assert!(
            diff < 0.5,
            "frame {i}: no output.matte differs from {default} by mean |Δ| {diff:.3}"
        );
    }
    b.shutdown().await;
}

#[tokio::test]
async fn render_cancel_and_failure_release_credits_and_leave_no_output() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = session_with_clip(&u).await;
    u.say(&s, "blur the background").await;
    let available = u.credits().await["available"].as_f64().unwrap();

    b.set_faults(Faults {
        hold_renders: true,
        ..Faults::default()
    });
    u.render("render_c", &s, "high").await;
    u.wait_render("render_c", |s| s["status"] == "processing")
        .await;
    let (_, v) = u
        .post("/api/render/proxy/lambda/render_c/cancel", json!({}))
        .await;
    assert_eq!(v["data"]["status"], "cancelled", "{v}");
    let start = Instant::now();
    while u.credits().await["frozen"].as_f64() != Some(0.0) {
        assert!(start.elapsed() < DEADLINE);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(u.credits().await["available"].as_f64().unwrap(), available);
    assert_eq!(u.render_status("render_c").await["status"], "cancelled");
    let renders = dir.path().join("data/renders");
    let outputs: Vec<PathBuf> = std::fs::read_dir(&renders)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "json"))
        .collect();
    assert!(outputs.is_empty(), "{outputs:?}");
    let (st, _) = u.get("/api/render/proxy/render_c/download").await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    b.set_faults(Faults {
        render_failure: Some("injected failure".into()),
        ..Faults::default()
    });
    u.render("render_f", &s, "high").await;
    let last = u.wait_render("render_f", is_final).await.pop().unwrap();
    assert_eq!(
        (last["status"].as_str(), last["error"].as_str()),
        (Some("failed"), Some("injected failure"))
    );
    assert_eq!(u.credits().await["frozen"], 0.0);
    assert_eq!(u.credits().await["available"].as_f64().unwrap(), available);
    b.shutdown().await;
}

#[tokio::test]
async fn a_restart_mid_render_reports_it_failed_and_keeps_everything_else() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = session_with_clip(&u).await;
    u.say(&s, "blur the background").await;
    let available = u.credits().await["available"].as_f64().unwrap();
    b.set_faults(Faults {
        hold_renders: true,
        ..Faults::default()
    });
    u.render("render_r", &s, "high").await;
    u.wait_render("render_r", |s| s["status"] == "processing")
        .await;
    b.shutdown().await;

    let b = start(dir.path(), |_| {}).await;
    let u = User {
        base: b.url(),
        http: keyed(b.access_key()),
        ..u
    };
    let st = u.render_status("render_r").await;
    assert_eq!(st["status"], "failed");
    assert_eq!(st["error"], backend::RENDER_INTERRUPTED);
    let c = u.credits().await;
    assert_eq!(
        (c["available"].as_f64(), c["frozen"].as_f64()),
        (Some(available), Some(0.0))
    );
    // Token, session, draft and media survived.
    assert_eq!(u.draft_video_segment(&s).await["m"]["bg"], "blur");
    u.render("render_r2", &s, "low").await;
    let last = u.wait_render("render_r2", is_final).await.pop().unwrap();
    assert_eq!(last["status"], "completed", "{last}");
    b.shutdown().await;
}

#[tokio::test]
async fn access_key_guards_every_request_and_unknown_paths_are_4004() {
    let dir = tempdir();
    let b = start(dir.path(), |c| c.access_key = Some("k3y".into())).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/auth/anonymous-token", b.url()))
        .header("X-Client-Id", "c")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(format!("{}/api/auth/anonymous-token", b.url()))
        .header("X-Client-Id", "c")
        .header("X-Access-Key", "k3y")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .get(format!("{}/api/nothing", b.url()))
        .header("X-Access-Key", "k3y")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 4004);
    b.shutdown().await;
}

/// The standalone binary with the test-only `--faults` flag.
fn start_binary(data: &Path, faults: &str) -> Proc {
    backend_binary(data, &["--faults", faults])
}

#[tokio::test]
async fn a_killed_backend_reports_its_render_failed_after_restart() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let mut p = start_binary(&data, r#"{"hold_renders":true}"#);
    let u = User::new(&p.url, &p.key).await;
    let s = session_with_clip(&u).await;
    u.say(&s, "blur the background").await;
    u.render("render_k", &s, "high").await;
    u.wait_render("render_k", |s| s["status"] == "processing")
        .await;
    p.child.kill().unwrap(); // SIGKILL: no shutdown code runs.
    p.child.wait().unwrap();

    let p = start_binary(&data, "");
    let u = User {
        base: p.url.clone(),
        http: keyed(&p.key),
        ..u
    };
    let st = u.render_status("render_k").await;
    assert_eq!(
        (st["status"].as_str(), st["error"].as_str()),
        (Some("failed"), Some(backend::RENDER_INTERRUPTED))
    );
    assert_eq!(u.credits().await["frozen"], 0.0);
}

// ---- the store: crash consistency, migration of the JSON-file layout, retention ----------

/// The standalone binary with `args` (no fault flag: the crash below is a real one).
fn start_binary_with(data: &Path, args: &[&str]) -> Proc {
    backend_binary(data, args)
}

/// Files in `dir` (names), sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// kill -9 while 8 users' renders run (4 at once, the others queued, some submits still in
/// flight), then a restart: every render is final (none stuck `pending`/`processing`), every
/// user's balance equals the sum of their ledger with nothing left frozen, and no partial
/// output or temp file is left in the data dir.
#[tokio::test]
async fn kill_9_during_8_concurrent_renders_leaves_every_record_consistent() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let mut p = start_binary_with(&data, &["--render-workers", "4"]);
    let mut users = Vec::new();
    for _ in 0..8 {
        let u = User::new(&p.url, &p.key).await;
        let s = session_with_clip(&u).await;
        let (_, _, ev) = u.say(&s, "blur the background").await;
        assert_eq!(ev.len(), 3, "{ev:?}");
        users.push((u, s));
    }
    // All eight submitted at once; the kill comes as soon as one render has made progress,
    // whatever state the other submits are in.
    let mut submits = Vec::new();
    for (i, (u, s)) in users.iter().enumerate() {
        let draft = u.draft(s).await;
        let req = u
            .req(reqwest::Method::POST, "/api/render/proxy/lambda")
            .json(
                &json!({"id": format!("render_crash_{i}"), "sessionId": s, "draft": draft,
                          "output": {"format": "mp4", "quality": "low", "resolution": "720p"}}),
            );
        submits.push(tokio::spawn(
            async move { req.send().await.map(|r| r.status()) },
        ));
    }
    let start = Instant::now();
    'wait: loop {
        for (i, (u, _)) in users.iter().enumerate() {
            let (st, v) = u
                .get(&format!("/api/render/proxy/lambda/render_crash_{i}"))
                .await;
            if st == StatusCode::OK
                && v["data"]["status"] == "processing"
                && v["data"]["progress"].as_f64().unwrap_or(0.0) > 0.0
            {
                break 'wait;
            }
        }
        assert!(start.elapsed() < DEADLINE, "no render ever made progress");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    p.child.kill().unwrap(); // SIGKILL: no shutdown code runs.
    p.child.wait().unwrap();
    for s in submits {
        let _ = s.await.unwrap(); // answered or cut by the kill: both are fine here
    }

    let p = start_binary_with(&data, &[]);
    let mut known = 0;
    for (i, (u, _)) in users.iter().enumerate() {
        let u = User {
            http: keyed(&p.key),
            base: p.url.clone(),
            token: u.token.clone(),
        };
        let (st, v) = u
            .get(&format!("/api/render/proxy/lambda/render_crash_{i}"))
            .await;
        if st == StatusCode::OK {
            known += 1;
            let status = v["data"]["status"].as_str().unwrap().to_string();
            assert!(
                ["failed", "completed", "cancelled"].contains(&status.as_str()),
                "render_crash_{i} is {status} after the restart"
            );
        } else {
            assert_eq!(v["code"], 4004, "{v}");
        }
        let c = u.credits().await;
        assert_eq!(c["frozen"], 0.0, "user {i}: {c}");
    }
    assert!(known >= 1, "no render survived to be checked");
    let audit = backend::audit(&data).unwrap();
    assert!(audit.ledger_mismatches.is_empty(), "{audit:?}");
    assert!(audit.unfinished_renders.is_empty(), "{audit:?}");
    assert_eq!(audit.users, 8);
    // Only completed renders keep a file; no temp or partial output is left.
    for name in names_in(&data.join("renders")) {
        assert!(!name.starts_with('.'), "temp file {name} left");
        let id = name.split('.').next().unwrap();
        let i: usize = id.trim_start_matches("render_crash_").parse().unwrap();
        let (u, _) = &users[i];
        let u = User {
            http: keyed(&p.key),
            base: p.url.clone(),
            token: u.token.clone(),
        };
        assert_eq!(u.render_status(id).await["status"], "completed", "{name}");
    }
    assert!(
        !names_in(&data.join("media"))
            .iter()
            .any(|n| n.starts_with('.'))
    );
}

/// A data dir as the JSON-file store left it (one `<id>.json` per record, a render killed
/// mid-way) is read into the database on the first start: the token still works, the
/// credits and ledger carry over (the killed render's credits come back), the session, its
/// clip and a finished render are served, and the JSON files are kept aside. A second start
/// changes nothing.
#[tokio::test]
async fn a_data_dir_of_the_json_file_layout_migrates_on_first_start() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let w = |rel: &str, v: Value| {
        let p = data.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    };
    let token = "nmv_usr_legacy_token_0001";
    let sha = hex::encode(Sha256::digest(token.as_bytes()));
    let far = 4_000_000_000u64;
    w(
        "users/usr_old.json",
        json!({"user_id": "usr_old", "client_id": "legacy-client", "created_at": 1,
               "credits": {"available": 90.0, "frozen": 5.0, "used": 5.0, "ledger": [
                   {"at": 1, "kind": "grant", "amount": 100.0, "reference": "initial allowance"},
                   {"at": 2, "kind": "spend", "amount": 1.0, "reference": "edit ses_old"},
                   {"at": 3, "kind": "freeze", "amount": 4.0, "reference": "render_done"},
                   {"at": 4, "kind": "charge", "amount": 4.0, "reference": "render_done"},
                   {"at": 5, "kind": "freeze", "amount": 5.0, "reference": "render_run"}]}}),
    );
    w(
        &format!("tokens/{sha}.json"),
        json!({"token_sha256": sha, "user_id": "usr_old", "created_at": 1, "expires_at": far}),
    );
    let clip_bytes = std::fs::read(clip("noaudio_640x360.mp4")).unwrap();
    std::fs::create_dir_all(data.join("renders")).unwrap();
    std::fs::create_dir_all(data.join("media")).unwrap();
    std::fs::write(data.join("media/med_old.mp4"), &clip_bytes).unwrap();
    w(
        "media/med_old.json",
        json!({"media_id": "med_old", "user_id": "usr_old", "session_id": "ses_old",
               "filename": "talk.mp4", "file_type": "video", "ext": "mp4",
               "bytes": clip_bytes.len(), "duration": 4.0, "width": 640, "height": 360,
               "fps": 25.0, "hash": "x", "created_at": far - 10}),
    );
    w(
        "sessions/ses_old.json",
        json!({"session_id": "ses_old", "task_id": "task_old", "user_id": "usr_old",
               "created_at": 1, "task_name": "project", "language": "en", "lost": false,
               "media": ["med_old"],
               "draft": {"t": [{"tt": 0, "sg": [{"id": "seg_med_old", "st": 0, "d": 4000,
                   "m": {"name": "talk.mp4", "media": "med_old", "bg": "blur"}}]}],
                         "custom": {"kept": true}}}),
    );
    let render = |id: &str, status: &str| {
        json!({"id": id, "user_id": "usr_old", "session_id": "ses_old", "status": status,
               "progress": 40.0, "created_at": 3, "finished_at": null, "cost": 5.0,
               "quality": "low", "max_long_side": 1280, "media_id": "med_old", "bg": "blur"})
    };
    let mut done = render("render_done", "completed");
    done["cost"] = json!(4.0);
    done["finished_at"] = json!(far - 5);
    w("renders/render_done.json", done);
    std::fs::write(data.join("renders/render_done.mp4"), b"the old output").unwrap();
    w(
        "renders/render_run.json",
        render("render_run", "processing"),
    );

    for round in 0..2 {
        let b = backend::spawn(BackendConfig::ephemeral(data.clone()))
            .await
            .expect("backend starts on the old layout");
        let u = User {
            http: keyed(b.access_key()),
            base: b.url(),
            token: token.to_string(),
        };
        let c = u.credits().await;
        assert_eq!(
            (c["available"].as_f64(), c["frozen"].as_f64()),
            (Some(95.0), Some(0.0)),
            "round {round}: {c}"
        );
        let (st, v) = u.get("/api/state/nemo_agent/me/ses_old/latest").await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let state = &v["data"]["state"];
        assert_eq!(state["draft"]["t"][0]["sg"][0]["m"]["bg"], "blur");
        assert_eq!(state["draft"]["custom"]["kept"], true);
        assert_eq!(state["video_infos"][0]["filename"], "talk.mp4");
        assert_eq!(state["generated_media"][0]["id"], "render_done");
        let r = u
            .req(
                reqwest::Method::GET,
                "/api/render/proxy/render_done/download",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(&r.bytes().await.unwrap()[..], b"the old output");
        let media = u
            .req(reqwest::Method::GET, "/media/med_old.mp4")
            .send()
            .await
            .unwrap();
        assert_eq!(media.bytes().await.unwrap().len(), clip_bytes.len());
        let st = u.render_status("render_run").await;
        assert_eq!(
            (st["status"].as_str(), st["error"].as_str()),
            (Some("failed"), Some(backend::RENDER_INTERRUPTED))
        );
        let audit = backend::audit(&data).unwrap();
        assert!(audit.ledger_mismatches.is_empty(), "{audit:?}");
        b.shutdown().await;
    }
    assert!(data.join(backend::DB_FILE).is_file());
    for table in ["users", "tokens", "sessions", "media", "renders"] {
        assert!(
            !names_in(&data.join(table))
                .iter()
                .any(|n| n.ends_with(".json")),
            "{table}/ still has JSON records"
        );
        assert!(!names_in(&data.join("migrated-json").join(table)).is_empty());
    }
}

/// Crash leftovers in the data dir are removed at start: temp files of the engine and of
/// uploads, and stored files no record names. JSON files are never touched.
#[tokio::test]
async fn crash_leftovers_are_removed_at_start() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let b = start(dir.path(), |_| {}).await;
    let u = User::new(&b.url(), b.access_key()).await;
    let s = session_with_clip(&u).await;
    b.shutdown().await;
    let kept = names_in(&data.join("media"));
    assert_eq!(kept.len(), 1, "{kept:?}");
    for f in [
        "media/.upload-abc123",
        "media/med_ghost.mp4",
        "renders/.ebc-x1y2.mp4",
        "renders/render_ghost.mp4",
        ".ebc-stray.tmp",
        "renders/notes.json",
    ] {
        std::fs::write(data.join(f), b"x").unwrap();
    }
    let b = start(dir.path(), |_| {}).await;
    assert_eq!(names_in(&data.join("media")), kept);
    assert_eq!(
        names_in(&data.join("renders")),
        vec!["notes.json".to_string()]
    );
    assert!(!data.join(".ebc-stray.tmp").exists());
    let u = User {
        base: b.url(),
        http: keyed(b.access_key()),
        ..u
    };
    assert_eq!(u.draft_video_segment(&s).await["m"]["name"], "talk.mp4");
    b.shutdown().await;
}

/// `backend --help` documents the retention and its flags.
#[test]
fn backend_help_shows_the_retention() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_editor-background-changer"))
        .args(["backend", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Retention:",
        "--keep-uploads-days",
        "--keep-renders-days",
        "--keep-ledger-days",
        "--max-data-mb",
        "[default: 7]",
        ".ebc-",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}
