//! The MCP server end to end: the built binary, driven over stdio by rmcp's own client, against
//! the embedded backend — inside the binary (`EBC_BACKEND=local`), or standalone in this test
//! process (`EBC_BACKEND=cloud NEMO_API_URL=…`) so faults can be armed mid-session.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use ebc::backend::{self, BackendHandle};
use ebc::client::NemoClient;
use ebc::config::{BackendConfig, ClientConfig, Faults};
use rmcp::{
    ClientHandler, RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult, ContentBlock, ProgressNotificationParam},
    service::{NotificationContext, RunningService},
    transport::TokioChildProcess,
};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

const EXE: &str = env!("CARGO_BIN_EXE_editor-background-changer");

fn fixtures() -> PathBuf {
    std::env::var_os("EBC_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
}

fn clip() -> String {
    fixtures()
        .join("clips/noaudio_640x360.mp4")
        .to_string_lossy()
        .into_owned()
}

/// The client side: records the server's progress notifications.
#[derive(Clone)]
struct Recorder {
    progress: UnboundedSender<ProgressNotificationParam>,
}

impl ClientHandler for Recorder {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.progress.send(params);
    }
}

/// One running server binary with its own HOME, state and data dirs.
struct Session {
    client: RunningService<RoleClient, Recorder>,
    progress: UnboundedReceiver<ProgressNotificationParam>,
    dir: TempDir,
}

/// Variables of the developer's environment that must not leak into the server under test.
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
    "EBC_SSE_RECOVERY_POLL_SECS",
    "EBC_RENDER_POLL_SECS",
    "EBC_RENDER_MAX_POLLS",
    "SKILL_SOURCE",
    "NEMO_WEB_URL",
    "LANG",
    "LC_ALL",
    "LC_MESSAGES",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
];

async fn start(env: &[(&str, String)]) -> Session {
    start_in(tempfile::tempdir().expect("tempdir"), env).await
}

/// A server whose HOME, state and data live in `dir` (reused across a restart).
async fn start_in(dir: TempDir, env: &[(&str, String)]) -> Session {
    let mut cmd = tokio::process::Command::new(EXE);
    cmd.arg("serve");
    for key in CLEARED {
        cmd.env_remove(key);
    }
    cmd.env("HOME", dir.path())
        .env("EBC_STATE_DIR", dir.path().join("state"))
        .env("EBC_DATA_DIR", dir.path().join("data"))
        .env("RUST_LOG", "info");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn the server binary");
    let (tx, progress) = unbounded_channel();
    let client = Recorder { progress: tx }
        .serve(transport)
        .await
        .expect("MCP handshake with the server binary");
    Session {
        client,
        progress,
        dir,
    }
}

impl Session {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Tool `name` with `args`; a new export asks for the suite's matte unless it names one
    /// (`support::with_test_matte`).
    async fn call(&self, name: &str, args: Value) -> CallToolResult {
        self.call_as_given(name, crate::support::with_test_matte(name, args))
            .await
    }

    /// Tool `name` with `args` exactly as given (an export without `matte` gets the
    /// server's default).
    async fn call_as_given(&self, name: &str, args: Value) -> CallToolResult {
        let args = args.as_object().cloned().unwrap_or_default();
        let params = CallToolRequestParams::new(name.to_string()).with_arguments(args);
        match self.client.call_tool(params).await {
            Ok(result) => result,
            Err(e) => panic!(
                "{name} failed at the protocol level: {e}\nserver log:\n{}",
                self.log()
            ),
        }
    }

    /// A call that must succeed; its structured content.
    async fn ok(&self, name: &str, args: Value) -> (CallToolResult, Value) {
        let result = self.call(name, args).await;
        assert_ne!(
            result.is_error,
            Some(true),
            "{name} returned a tool error: {}\nserver log:\n{}",
            text(&result),
            self.log()
        );
        let structured = result
            .structured_content
            .clone()
            .unwrap_or_else(|| panic!("{name} returned no structured content"));
        (result, structured)
    }

    /// A call that must fail with a tool error the model can read; its text.
    async fn user_error(&self, name: &str, args: Value) -> String {
        let result = self.call(name, args).await;
        assert_eq!(
            result.is_error,
            Some(true),
            "{name} should have failed: {}",
            text(&result)
        );
        text(&result)
    }

    fn drain_progress(&mut self) -> Vec<ProgressNotificationParam> {
        let mut all = Vec::new();
        while let Ok(p) = self.progress.try_recv() {
            all.push(p);
        }
        all
    }

    async fn stop(self) {
        let _ = self.client.cancel().await;
    }

    /// Stop the server and keep its dirs for the next one.
    async fn stop_keep_dir(self) -> TempDir {
        let _ = self.client.cancel().await;
        self.dir
    }
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The preview image of a tool result, decoded: a JPEG of at most 64 KB; `None` without one.
fn preview_jpeg(result: &CallToolResult) -> Option<Vec<u8>> {
    let image = result.content.iter().find_map(ContentBlock::as_image)?;
    assert_eq!(image.mime_type, "image/jpeg");
    use base64::Engine as _;
    let jpeg = base64::engine::general_purpose::STANDARD
        .decode(&image.data)
        .expect("base64 preview");
    assert!(jpeg.len() <= 64 * 1024, "preview is {} bytes", jpeg.len());
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF], "preview is a JPEG");
    Some(jpeg)
}

/// The preview JPEGs a backend stored in its data dir (`media/prv_*.jpg`; the clips are
/// `prv_*.mp4`), as bytes.
fn stored_previews(data: &Path) -> Vec<Vec<u8>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(data.join("media"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(backend::PREVIEW_ID_PREFIX) && n.ends_with(".jpg"))
        })
        .map(|p| std::fs::read(p).expect("read a stored preview"))
        .collect()
}

/// A standalone embedded backend in this process, for fault injection.
async fn standalone(dir: &Path) -> BackendHandle {
    backend::spawn(BackendConfig::ephemeral(dir.join("backend")))
        .await
        .expect("start the standalone backend")
}

/// A server pointed at `backend` as if it were the cloud, with the fixture clip uploaded so a
/// token and session exist before any fault is armed.
async fn cloud_session(backend: &BackendHandle, extra: &[(&str, String)]) -> Session {
    let mut env = vec![
        ("EBC_BACKEND", "cloud".to_string()),
        ("NEMO_API_URL", backend.url()),
        ("EBC_ACCESS_KEY", backend.access_key().to_string()),
        // The cloud is polled every 30 s, 10 times per call; the tests shorten the pace, so
        // they lift the count (the call budget still bounds a call) to let a render on a
        // loaded machine finish within one call.
        ("EBC_RENDER_POLL_SECS", "0.5".to_string()),
        ("EBC_RENDER_MAX_POLLS", "1000".to_string()),
    ];
    env.extend(extra.iter().cloned());
    let s = start(&env).await;
    let (_, up) = s.ok("upload_media", json!({"media": [clip()]})).await;
    assert_eq!(up["backend"], "cloud");
    s
}

fn probe_video(path: &Path) -> Value {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
        .args([
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
        ])
        .args(["-of", "json"])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    let v: Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    v["streams"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_list_matches_the_manifest() {
    let s = start(&[]).await;
    let info = s.client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.version.as_str()),
        Some(ebc::VERSION)
    );
    let tools = s.client.list_all_tools().await.expect("tools/list");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("mcp-manifest.json"))
            .expect("read mcp-manifest.json"),
    )
    .expect("mcp-manifest.json is JSON");
    assert_eq!(manifest["version"], ebc::VERSION, "manifest version");
    assert_eq!(manifest["name"], "editor-background-changer");
    let listed = manifest["tools"].as_array().expect("manifest tools");
    assert_eq!(listed.len(), tools.len(), "same number of tools");
    for entry in listed {
        let name = entry["name"].as_str().expect("tool name");
        let tool = tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("manifest tool {name} is not served"));
        assert_eq!(
            tool.description.as_deref(),
            entry["description"].as_str(),
            "description of {name}"
        );
        let read_only = tool
            .annotations
            .as_ref()
            .and_then(|a| a.read_only_hint)
            .unwrap_or(false);
        assert_eq!(
            Some(read_only),
            entry["readOnly"].as_bool(),
            "readOnly of {name}"
        );
        assert!(tool.output_schema.is_some(), "{name} has an output schema");
    }
    // The app the manifest describes is the one the tools name and resources/list serves.
    let mut with_app: Vec<&str> = tools
        .iter()
        .filter(|t| {
            t.meta
                .as_ref()
                .and_then(|m| m.0.get("ui"))
                .and_then(|u| u.get("resourceUri"))
                == Some(&manifest["app"]["resourceUri"])
        })
        .map(|t| t.name.as_ref())
        .collect();
    with_app.sort();
    let mut listed_app: Vec<&str> = manifest["app"]["tools"]
        .as_array()
        .expect("manifest app.tools")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    listed_app.sort();
    assert_eq!(with_app, listed_app, "tools that name the app");
    let resources = s.client.list_all_resources().await.expect("resources/list");
    assert!(
        resources.iter().any(
            |r| r.uri == manifest["app"]["resourceUri"].as_str().unwrap()
                && r.mime_type.as_deref() == manifest["app"]["mimeType"].as_str()
        ),
        "{resources:?}"
    );
    for name in ["get_credits", "show_timeline"] {
        let tool = tools.iter().find(|t| t.name == name).expect("tool");
        assert_eq!(
            tool.annotations.as_ref().and_then(|a| a.read_only_hint),
            Some(true)
        );
    }
    let prompts = s.client.list_all_prompts().await.expect("prompts/list");
    assert_eq!(prompts.len(), 3);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_upload_replace_timeline_export() {
    // The client's debug lines name each answer's path: the preview must be one of them.
    let s = start(&[
        ("EBC_BACKEND", "local".to_string()),
        ("RUST_LOG", "info,ebc::client::http=debug".to_string()),
    ])
    .await;

    let (_, credits) = s.ok("get_credits", json!({})).await;
    assert_eq!(credits["backend"], "local");
    assert!(credits["available"].as_f64().unwrap_or_default() > 0.0);

    let (_, up) = s.ok("upload_media", json!({"media": [clip()]})).await;
    assert_eq!(up["backend"], "local");
    assert_eq!(up["status"], "completed");
    assert_eq!(up["files"][0]["name"], "noaudio_640x360.mp4");
    assert_eq!(up["files"][0]["kind"], "video");

    let (result, replaced) = s
        .ok(
            "replace_background",
            json!({"backdrop": "clean studio backdrop"}),
        )
        .await;
    assert_eq!(replaced["backend"], "local");
    assert!(
        replaced["timeline"]
            .as_str()
            .unwrap_or_default()
            .contains("background:"),
        "{replaced}"
    );
    let jpeg =
        preview_jpeg(&result).unwrap_or_else(|| panic!("no preview image: {}", text(&result)));
    assert!(
        replaced["preview"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Attached"),
        "{replaced}"
    );
    assert!(!text(&result).to_lowercase().contains("click"));
    // Made by the embedded backend and fetched from it over HTTP: the bytes are the file it
    // stored, and the client logged the answer to a GET of /media/prv_….
    assert_eq!(stored_previews(&s.dir.path().join("data")), vec![jpeg]);
    let log = s.log();
    assert!(
        log.lines()
            .any(|l| l.contains("fetching the before/after preview")
                && l.contains(&format!("/media/{}", backend::PREVIEW_ID_PREFIX))
                && l.contains("200")),
        "no preview fetch in the server log:\n{log}"
    );

    let (_, timeline) = s.ok("show_timeline", json!({})).await;
    let summary = timeline["summary"].as_str().expect("summary");
    assert!(
        summary
            .starts_with("Timeline (1 track): 1. Video: noaudio_640x360.mp4 (0-2s, background: "),
        "{summary}"
    );
    assert_eq!(timeline["exportable"], true);
    assert_eq!(timeline["draft"]["t"][0]["tt"], 0);

    let out = s.dir.path().join("exported.mp4");
    let (result, exported) = s
        .ok(
            "export_video",
            json!({"output_path": out, "quality": "medium", "resolution": "720p"}),
        )
        .await;
    assert_eq!(exported["path"], out.to_string_lossy().as_ref());
    let link = result
        .content
        .iter()
        .find_map(ContentBlock::as_resource_link)
        .expect("a resource link to the MP4");
    assert!(link.uri.starts_with("file://") && link.uri.ends_with("/exported.mp4"));
    assert_eq!(link.mime_type.as_deref(), Some("video/mp4"));
    let meta = std::fs::metadata(&out).expect("exported file exists");
    assert_eq!(Some(meta.len()), exported["bytes"].as_u64());
    let stream = probe_video(&out);
    assert_eq!(stream["codec_name"], "h264");
    assert_eq!(
        (stream["width"].as_u64(), stream["height"].as_u64()),
        (Some(640), Some(360))
    );
    assert_eq!(stream["nb_read_frames"], "60");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_outlives_the_call_budget_and_continues_by_job_id() {
    let dir = tempfile::tempdir().unwrap();
    let backend = standalone(dir.path()).await;
    let mut s = cloud_session(&backend, &[("EBC_CALL_BUDGET_SECS", "1".to_string())]).await;
    s.ok("replace_background", json!({"backdrop": "blur"}))
        .await;
    backend.set_faults(Faults {
        hold_renders: true,
        ..Faults::default()
    });
    let out = s.dir.path().join("later.mp4");
    let (_, first) = s.ok("export_video", json!({"output_path": out})).await;
    assert_eq!(first["status"], "running", "{first}");
    let job_id = first["job_id"].as_str().expect("job_id").to_string();
    assert!(!out.exists(), "nothing is written while rendering");
    let progress = s.drain_progress();
    assert!(
        progress.iter().any(|p| p
            .message
            .as_deref()
            .is_some_and(|m| m.contains("Rendering"))),
        "render progress was notified: {progress:?}"
    );

    backend.set_faults(Faults::default());
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let (_, r) = s.ok("export_video", json!({"job_id": job_id})).await;
        if r["status"] != "running" {
            break r;
        }
        assert!(Instant::now() < deadline, "the render never finished");
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["job_id"], job_id.as_str());
    assert_eq!(probe_video(&out)["codec_name"], "h264");

    // A job id is only good for its own tool.
    let wrong = s.user_error("edit_video", json!({"job_id": job_id})).await;
    assert!(wrong.contains("export_video"), "{wrong}");
    s.stop().await;
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_server_collects_the_render_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let backend = standalone(dir.path()).await;
    let budget = [("EBC_CALL_BUDGET_SECS", "1".to_string())];
    let s = cloud_session(&backend, &budget).await;
    s.ok("replace_background", json!({"backdrop": "blur"}))
        .await;
    backend.set_faults(Faults {
        hold_renders: true,
        ..Faults::default()
    });
    let out = s.dir.path().join("first.mp4");
    let (_, first) = s.ok("export_video", json!({"output_path": out})).await;
    assert_eq!(first["status"], "running", "{first}");

    // A new server process on the same state picks the render up instead of starting another.
    let kept = s.stop_keep_dir().await;
    let mut env = vec![
        ("EBC_BACKEND", "cloud".to_string()),
        ("NEMO_API_URL", backend.url()),
        ("EBC_ACCESS_KEY", backend.access_key().to_string()),
        ("EBC_RENDER_POLL_SECS", "0.5".to_string()),
    ];
    env.extend(budget.iter().cloned());
    let s = start_in(kept, &env).await;
    let out = s.dir.path().join("collected.mp4");
    let (_, again) = s.ok("export_video", json!({"output_path": out})).await;
    assert_eq!(again["status"], "running", "{again}");
    let job_id = again["job_id"].as_str().expect("job_id").to_string();
    backend.set_faults(Faults::default());
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let (_, r) = s.ok("export_video", json!({"job_id": job_id})).await;
        if r["status"] != "running" {
            break r;
        }
        assert!(Instant::now() < deadline, "the render never finished");
    };
    assert!(
        done["message"]
            .as_str()
            .unwrap_or_default()
            .contains("started earlier"),
        "{done}"
    );
    assert_eq!(probe_video(&out)["codec_name"], "h264");
    s.stop().await;
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_call_cancels_the_render() {
    let dir = tempfile::tempdir().unwrap();
    let backend = standalone(dir.path()).await;
    let mut s = cloud_session(&backend, &[]).await;
    s.ok("replace_background", json!({"backdrop": "blur"}))
        .await;
    backend.set_faults(Faults {
        hold_renders: true,
        ..Faults::default()
    });
    let out = s.dir.path().join("cancelled.mp4");
    let args = crate::support::with_test_matte("export_video", json!({"output_path": out}));
    let args = args.as_object().cloned().unwrap();
    // Wait until the render is under way (its progress is notified), then give up the call:
    // dropping the call's future makes rmcp send `notifications/cancelled`.
    let render_id = {
        let call = s
            .client
            .call_tool(CallToolRequestParams::new("export_video").with_arguments(args));
        tokio::pin!(call);
        loop {
            tokio::select! {
                r = &mut call => panic!("export finished while renders are held: {r:?}"),
                Some(p) = s.progress.recv() => {
                    if p.message.as_deref().is_some_and(|m| m.starts_with("Rendering")) {
                        let mut cfg = ClientConfig::new(
                            backend.url(),
                            s.dir.path().join("state"),
                            "cloud",
                        );
                        cfg.access_key = Some(backend.access_key().to_string());
                        let client = NemoClient::new(cfg)
                        .expect("client on the server's state");
                        break client.pending_render().expect("the render is recorded as pending");
                    }
                }
            }
        }
    };

    let mut cfg = ClientConfig::new(backend.url(), s.dir.path().join("state"), "cloud");
    cfg.access_key = Some(backend.access_key().to_string());
    let observer = NemoClient::new(cfg).expect("observer client");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = observer
            .render_status(&render_id)
            .await
            .expect("render status");
        if status.status == ebc::api::RenderState::Cancelled {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "render {render_id} still {:?} after the call was cancelled\n{}",
            status.status,
            s.log()
        );
        tokio::task::yield_now().await;
    }
    assert!(!out.exists(), "a cancelled export writes nothing");
    s.stop().await;
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_mid_session_is_renewed() {
    let dir = tempfile::tempdir().unwrap();
    let backend = standalone(dir.path()).await;
    let s = cloud_session(&backend, &[]).await;
    backend.set_faults(Faults {
        expire_tokens_now: true,
        ..Faults::default()
    });
    let (_, r) = s
        .ok("replace_background", json!({"backdrop": "#1E90FF"}))
        .await;
    assert_eq!(r["backend"], "cloud");
    assert!(
        r["timeline"]
            .as_str()
            .unwrap_or_default()
            .contains("background:"),
        "{r}"
    );
    s.stop().await;
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_session_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let backend = standalone(dir.path()).await;
    let s = cloud_session(&backend, &[]).await;
    backend.set_faults(Faults {
        lose_sessions_now: true,
        ..Faults::default()
    });
    let (_, t) = s.ok("show_timeline", json!({})).await;
    assert_eq!(t["backend"], "cloud");
    // The new session works: the clip can be added again and edited.
    let (_, r) = s
        .ok(
            "replace_background",
            json!({"media": clip(), "backdrop": "blur"}),
        )
        .await;
    assert!(
        r["timeline"]
            .as_str()
            .unwrap_or_default()
            .contains("noaudio_640x360.mp4"),
        "{r}"
    );
    s.stop().await;
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let backend = standalone(dir.path()).await;
    let s = cloud_session(&backend, &[]).await;
    backend.set_faults(Faults {
        rate_limit_next: 1,
        retry_after_secs: 1,
        ..Faults::default()
    });
    let (_, c) = s.ok("get_credits", json!({})).await;
    assert_eq!(c["backend"], "cloud");
    s.stop().await;
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_credits_gives_the_registration_link() {
    let dir = tempfile::tempdir().unwrap();
    let backend = standalone(dir.path()).await;
    let s = cloud_session(&backend, &[]).await;
    backend.set_faults(Faults {
        out_of_credits: true,
        ..Faults::default()
    });
    let msg = s
        .user_error("replace_background", json!({"backdrop": "blur"}))
        .await;
    assert!(msg.contains("credits"), "{msg}");
    assert!(
        msg.contains("?bind="),
        "anonymous users get the registration link: {msg}"
    );
    assert!(!msg.contains("nmv_"), "no token in messages: {msg}");
    s.stop().await;
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_reply_is_described_from_the_draft() {
    let dir = tempfile::tempdir().unwrap();
    let backend = standalone(dir.path()).await;
    let s = cloud_session(&backend, &[]).await;
    backend.set_faults(Faults {
        silent_replies: true,
        ..Faults::default()
    });
    let (_, r) = s
        .ok(
            "replace_background",
            json!({"backdrop": "clean studio backdrop"}),
        )
        .await;
    let changes = r["changes"].as_array().cloned().unwrap_or_default();
    assert!(!changes.is_empty(), "changes come from the draft diff: {r}");
    assert!(!r["message"].as_str().unwrap_or_default().is_empty(), "{r}");
    s.stop().await;
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_mid_stream_is_recovered_without_resending() {
    let dir = tempfile::tempdir().unwrap();
    let backend = standalone(dir.path()).await;
    let s = cloud_session(
        &backend,
        &[("EBC_SSE_RECOVERY_POLL_SECS", "0.2".to_string())],
    )
    .await;
    backend.set_faults(Faults {
        disconnect_sse: true,
        ..Faults::default()
    });
    let (_, r) = s
        .ok("replace_background", json!({"backdrop": "blur"}))
        .await;
    assert_eq!(r["recovered_after_disconnect"], true, "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not sent twice"),
        "{r}"
    );
    backend.set_faults(Faults::default());
    // The edit landed exactly once: one clip, one backdrop.
    let (_, t) = s.ok("show_timeline", json!({})).await;
    let summary = t["summary"].as_str().unwrap_or_default();
    assert!(
        summary
            .starts_with("Timeline (1 track): 1. Video: noaudio_640x360.mp4 (0-2s, background: "),
        "{summary}"
    );
    s.stop().await;
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_render_is_a_tool_error() {
    let dir = tempfile::tempdir().unwrap();
    let backend = standalone(dir.path()).await;
    let s = cloud_session(&backend, &[]).await;
    s.ok("replace_background", json!({"backdrop": "blur"}))
        .await;
    backend.set_faults(Faults {
        render_failure: Some("the GPU caught fire".into()),
        ..Faults::default()
    });
    let out = s.dir.path().join("never.mp4");
    let msg = s
        .user_error("export_video", json!({"output_path": out}))
        .await;
    assert!(msg.contains("the GPU caught fire"), "{msg}");
    assert!(!out.exists());
    s.stop().await;
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_mistakes_are_tool_errors_that_say_what_to_do() {
    let s = start(&[("EBC_BACKEND", "local".to_string())]).await;
    let missing = s.dir.path().join("nope.mp4");
    let msg = s
        .user_error("upload_media", json!({"media": [missing]}))
        .await;
    assert!(
        msg.contains("nope.mp4") && msg.contains("not found"),
        "{msg}"
    );

    let notes = s.dir.path().join("notes.txt");
    std::fs::write(&notes, "hello").unwrap();
    let msg = s.user_error("upload_media", json!({"media": notes})).await;
    assert!(
        msg.contains("notes.txt") && msg.contains("mp4"),
        "lists accepted formats: {msg}"
    );

    let msg = s.user_error("replace_background", json!({})).await;
    assert!(msg.contains("backdrop"), "{msg}");

    let msg = s
        .user_error("export_video", json!({"job_id": "job_unknown"}))
        .await;
    assert!(msg.contains("job_unknown"), "{msg}");

    let msg = s
        .user_error(
            "export_video",
            json!({"output_path": s.dir.path().join("x.mov")}),
        )
        .await;
    assert!(msg.contains(".mp4"), "{msg}");

    // Nothing uploaded yet: nothing to export.
    let msg = s
        .user_error(
            "export_video",
            json!({"output_path": s.dir.path().join("x.mp4")}),
        )
        .await;
    assert!(msg.contains("upload_media"), "{msg}");
    s.stop().await;
}

/// Issue 8, "previews only work in-process": the backend as a separate process (the built
/// binary's `backend` command), the MCP server pointed at it by its base URL. The preview
/// still arrives, and it is the very file that process stored; the MCP server started no
/// backend of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_arrives_from_a_backend_in_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("remote-data");
    let remote = crate::support::backend_binary(&data, &[]);
    let s = start(&[
        ("EBC_BACKEND", "cloud".to_string()),
        ("NEMO_API_URL", remote.url.clone()),
        ("EBC_ACCESS_KEY", remote.key.clone()),
    ])
    .await;
    let (_, up) = s.ok("upload_media", json!({"media": [clip()]})).await;
    assert_eq!(up["backend"], "cloud");
    let (r, replaced) = s
        .ok(
            "replace_background",
            json!({"backdrop": "gradient navy to teal"}),
        )
        .await;
    assert!(
        replaced["timeline"]
            .as_str()
            .unwrap_or_default()
            .contains("background:"),
        "{replaced}"
    );
    let jpeg =
        preview_jpeg(&r).unwrap_or_else(|| panic!("no preview image: {}\n{}", text(&r), s.log()));
    assert_eq!(stored_previews(&data), vec![jpeg]);
    assert!(
        !s.dir.path().join("data").join(backend::DB_FILE).exists(),
        "the MCP server started a backend of its own"
    );
    s.stop().await;
    drop(remote);
}

// ---- The cloud flow in every dialect (issue 9) ----

use ebc::backend::LoggedRequest;
use ebc::config::{Dialect, SseDialect};

/// A standalone backend answering in `dialect` / `sse`, logging the requests it receives.
async fn dialect_backend(dir: &Path, dialect: Dialect, sse: SseDialect) -> BackendHandle {
    let mut cfg = BackendConfig::ephemeral(dir.join("backend"));
    cfg.dialect = dialect;
    cfg.sse_dialect = sse;
    cfg.log_requests = true;
    backend::spawn(cfg)
        .await
        .expect("start the dialect backend")
}

/// Everything a tool call handed back, as one string: texts, structured content, links.
fn everything(result: &CallToolResult) -> String {
    let mut all = serde_json::to_string(&result.content).unwrap_or_default();
    if let Some(s) = &result.structured_content {
        all.push_str(&s.to_string());
    }
    all
}

/// Render status polls in the log (not submits, cancels or downloads), with their times.
fn status_polls(log: &[LoggedRequest]) -> Vec<u64> {
    log.iter()
        .filter(|r| {
            r.method == "GET"
                && r.path.starts_with("/api/render/proxy/lambda/")
                && !r.path.ends_with("/cancel")
        })
        .map(|r| r.at_ms)
        .collect()
}

const CHINESE_EDIT: &str = "把我的办公室背景换成干净的影棚背景";

/// Upload → replace in Chinese → timeline → credits → export, over stdio from rmcp's client,
/// against the embedded backend speaking `dialect` as if it were the cloud. The request log
/// must show the attribution headers on every call, the session created in zh-CN, status
/// polls at the configured pace; the export carries the claim link, and no tool output
/// carries the token.
async fn cloud_flow(dialect: Dialect, sse: SseDialect) {
    let what = format!("{dialect:?}/{sse:?}");
    let dir = tempfile::tempdir().unwrap();
    let backend = dialect_backend(dir.path(), dialect, sse).await;
    const PACE_MS: u64 = 300;
    let s = start(&[
        ("EBC_BACKEND", "cloud".to_string()),
        ("NEMO_API_URL", backend.url()),
        ("EBC_ACCESS_KEY", backend.access_key().to_string()),
        (
            "EBC_RENDER_POLL_SECS",
            format!("{}", PACE_MS as f64 / 1000.0),
        ),
        ("EBC_RENDER_MAX_POLLS", "1000".to_string()),
        ("LANG", "en_US.UTF-8".to_string()),
    ])
    .await;
    let mut outputs = Vec::new();

    let (r, up) = s.ok("upload_media", json!({"media": [clip()]})).await;
    assert_eq!(up["backend"], "cloud", "{what}");
    assert_eq!(up["files"][0]["name"], "noaudio_640x360.mp4", "{what}");
    outputs.push(everything(&r));

    let (r, replaced) = s
        .ok("replace_background", json!({"instruction": CHINESE_EDIT}))
        .await;
    assert_eq!(
        replaced["recovered_after_disconnect"],
        Value::Null,
        "{what}: {replaced}"
    );
    assert!(
        replaced["timeline"]
            .as_str()
            .unwrap_or_default()
            .contains("background:"),
        "{what}: {replaced}"
    );
    // This backend's own dialect makes a preview, fetched over HTTP; the cloud's make none,
    // and then the result is the edit alone: no image, no preview note, no error.
    let jpeg = preview_jpeg(&r);
    if dialect == Dialect::Native {
        let jpeg = jpeg.unwrap_or_else(|| panic!("{what}: no preview: {}", text(&r)));
        assert_eq!(stored_previews(&dir.path().join("backend")), vec![jpeg]);
        let fetched: Vec<LoggedRequest> = backend
            .requests()
            .into_iter()
            .filter(|q| {
                // The JPEG; the app's preview clip (`.mp4`) is fetched besides it.
                q.path
                    .starts_with(&format!("/media/{}", ebc::backend::PREVIEW_ID_PREFIX))
                    && q.path.ends_with(".jpg")
            })
            .collect();
        assert_eq!(fetched.len(), 1, "{what}: {fetched:?}");
        assert!(
            fetched[0].method == "GET" && fetched[0].bearer && fetched[0].status == 200,
            "{what}: {fetched:?}"
        );
    } else {
        assert!(jpeg.is_none(), "{what}: {}", text(&r));
        assert!(replaced.get("preview").is_none(), "{what}: {replaced}");
        let keys: Vec<&str> = replaced
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in &keys {
            assert!(
                ["backend", "status", "message", "changes", "timeline"].contains(key),
                "{what}: unexpected {key} in {replaced}"
            );
        }
        assert!(
            !backend
                .requests()
                .iter()
                .any(|q| q.path.starts_with("/media/")),
            "{what}"
        );
        assert!(
            stored_previews(&dir.path().join("backend")).is_empty(),
            "{what}"
        );
    }
    outputs.push(everything(&r));

    let (r, timeline) = s.ok("show_timeline", json!({})).await;
    let summary = timeline["summary"].as_str().unwrap_or_default();
    assert!(
        summary
            .starts_with("Timeline (1 track): 1. Video: noaudio_640x360.mp4 (0-2s, background: "),
        "{what}: {summary}"
    );
    outputs.push(everything(&r));

    let (r, credits) = s.ok("get_credits", json!({})).await;
    assert!(
        credits["available"].as_f64().unwrap_or_default() > 0.0,
        "{what}"
    );
    outputs.push(everything(&r));

    let out = s.dir.path().join("flow.mp4");
    let (r, exported) = s.ok("export_video", json!({"output_path": out})).await;
    assert_eq!(exported["status"], "completed", "{what}: {exported}");
    let stream = probe_video(&out);
    assert_eq!(stream["codec_name"], "h264", "{what}");
    assert_eq!(
        (stream["width"].as_u64(), stream["height"].as_u64()),
        (Some(640), Some(360)),
        "{what}"
    );
    assert_eq!(stream["nb_read_frames"], "60", "{what}");
    let link = exported["claim_link"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        link.starts_with("https://nemovideo.com/workspace/claim?ct=clm_"),
        "{what}: {exported}"
    );
    assert!(
        text(&r).contains(&link),
        "{what}: the link is in the text too"
    );
    outputs.push(everything(&r));

    // No token anywhere in what the tools handed back.
    let state: Value = serde_json::from_slice(
        &std::fs::read(s.dir.path().join("state/state-cloud.json")).expect("state file"),
    )
    .expect("state JSON");
    let token = state["token"].as_str().expect("token").to_string();
    for o in &outputs {
        assert!(
            !o.contains(&token) && !o.contains("nmv_usr_"),
            "{what}: {o}"
        );
    }

    let log = backend.requests();
    let unattributed: Vec<_> = log.iter().filter(|r| !r.attributed()).collect();
    assert!(unattributed.is_empty(), "{what}: {unattributed:?}");
    let languages: Vec<String> = log
        .iter()
        .filter(|r| r.path == ebc::api::paths::CREATE_SESSION)
        .filter_map(|r| r.body.as_ref()?["language"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        languages.last().map(String::as_str),
        Some("zh-CN"),
        "{what}: {languages:?}"
    );
    let polls = status_polls(&log);
    assert!(!polls.is_empty(), "{what}: the render was polled");
    let gaps: Vec<u64> = polls.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g >= PACE_MS),
        "{what}: poll gaps {gaps:?} ms"
    );
    eprintln!(
        "{what}: {} requests, all attributed; session languages {languages:?}; {} status polls, gaps {gaps:?} ms; claim link {}…",
        log.len(),
        polls.len(),
        &link[..link.len().min(48)]
    );
    s.stop().await;
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_flow_native_dialect() {
    cloud_flow(Dialect::Native, SseDialect::Adk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_flow_seed_dialect() {
    cloud_flow(Dialect::Seed, SseDialect::Adk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_flow_v44_dialect_typed_events() {
    cloud_flow(Dialect::V44, SseDialect::Typed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_flow_legacy_dialect_typed_events() {
    cloud_flow(Dialect::Legacy, SseDialect::Typed).await;
}

/// After the backend's number of polls (here 3, 0.2 s apart) a slow render's job stays
/// `running` with its job id, at once, without failing; the next call polls again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_render_is_kept_after_the_documented_polls() {
    let dir = tempfile::tempdir().unwrap();
    let backend = dialect_backend(dir.path(), Dialect::Seed, SseDialect::Adk).await;
    let s = cloud_session(
        &backend,
        &[
            ("EBC_RENDER_POLL_SECS", "0.2".to_string()),
            ("EBC_RENDER_MAX_POLLS", "3".to_string()),
            ("EBC_CALL_BUDGET_SECS", "60".to_string()),
        ],
    )
    .await;
    s.ok("replace_background", json!({"backdrop": "blur"}))
        .await;
    backend.set_faults(Faults {
        hold_renders: true,
        ..Faults::default()
    });
    let out = s.dir.path().join("slow.mp4");
    let t = Instant::now();
    let (_, first) = s.ok("export_video", json!({"output_path": out})).await;
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "answered before the call budget"
    );
    assert_eq!(first["status"], "running", "{first}");
    let job_id = first["job_id"].as_str().expect("job_id").to_string();
    let message = first["message"].as_str().unwrap_or_default();
    assert!(message.contains("kept, not failed"), "{message}");
    assert_eq!(status_polls(&backend.requests()).len(), 3);
    // Nothing more is asked while the job waits for the user.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(status_polls(&backend.requests()).len(), 3);

    backend.set_faults(Faults::default());
    // Each call polls 3 times; a loaded machine may need several calls to finish.
    let mut done = Value::Null;
    for _ in 0..200 {
        done = s.ok("export_video", json!({"job_id": job_id})).await.1;
        if done["status"] != "running" {
            break;
        }
    }
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(probe_video(&out)["codec_name"], "h264");
    s.stop().await;
    backend.shutdown().await;
}

/// A failed render is retried once with a new id; a second failure is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_render_is_retried_once_with_a_new_id() {
    let dir = tempfile::tempdir().unwrap();
    let backend = dialect_backend(dir.path(), Dialect::V44, SseDialect::Adk).await;
    let s = cloud_session(&backend, &[("EBC_RENDER_POLL_SECS", "0.2".to_string())]).await;
    s.ok("replace_background", json!({"backdrop": "blur"}))
        .await;
    backend.set_faults(Faults {
        fail_renders_next: 1,
        ..Faults::default()
    });
    let out = s.dir.path().join("retried.mp4");
    let (_, done) = s.ok("export_video", json!({"output_path": out})).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(
        done["message"]
            .as_str()
            .unwrap_or_default()
            .contains("retry succeeded"),
        "{done}"
    );
    let ids: Vec<String> = backend
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == ebc::api::paths::RENDER)
        .filter_map(|r| r.body.as_ref()?["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1], "the retry has a new id");
    assert_eq!(probe_video(&out)["codec_name"], "h264");

    backend.set_faults(Faults {
        fail_renders_next: 2,
        ..Faults::default()
    });
    let never = s.dir.path().join("never.mp4");
    let msg = s
        .user_error("export_video", json!({"output_path": never}))
        .await;
    assert!(msg.contains("failed twice"), "{msg}");
    assert!(!never.exists());
    s.stop().await;
    backend.shutdown().await;
}

/// Issue 20, case 8: with the cloud backend, local paths written in free text that are not
/// media never leave the machine, not even as words — a key file, system files, a document
/// in a quoted path with spaces, a `file:` URI — in `edit_video` and `replace_background`;
/// the result says which were withheld. The media path in the same text is uploaded as
/// before, and a URL stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_never_receives_non_media_paths_from_free_text() {
    let dir = tempfile::tempdir().unwrap();
    let backend = dialect_backend(dir.path(), Dialect::Native, SseDialect::Adk).await;
    let s = cloud_session(&backend, &[]).await;
    let secrets = [
        "~/.ssh/id_rsa",
        "/etc/passwd",
        "~/My Documents/taxes 2024.pdf",
        "file:///home/u/.aws/credentials",
    ];
    let instruction = format!(
        "add the title \"Hello\" (notes in {}, {} and \"{}\"; also {}) see https://example.com/help",
        secrets[0], secrets[1], secrets[2], secrets[3]
    );
    let mut leaked = Vec::new();
    for (tool, args) in [
        ("edit_video", json!({"instruction": instruction})),
        (
            "replace_background",
            json!({"instruction": format!("blur the background; {instruction}")}),
        ),
    ] {
        let r = s.call(tool, args).await;
        let out = everything(&r);
        for secret in secrets {
            if !out.contains(secret) {
                leaked.push(format!("{tool}: the result does not name {secret}: {out}"));
            }
        }
        if !out.contains("withheld_from_cloud") {
            leaked.push(format!("{tool}: no withheld_from_cloud in {out}"));
        }
    }
    for q in backend.requests() {
        let body = q.body.as_ref().map(Value::to_string).unwrap_or_default();
        for secret in [
            "id_rsa",
            "/etc/passwd",
            "taxes 2024.pdf",
            ".aws/credentials",
        ] {
            if body.contains(secret) {
                leaked.push(format!("{} {} carried {secret}: {body}", q.method, q.path));
            }
        }
    }
    let sent_url = backend.requests().iter().any(|q| {
        q.path == "/run_sse"
            && q.body
                .as_ref()
                .is_some_and(|b| b.to_string().contains("https://example.com/help"))
    });
    assert!(leaked.is_empty(), "{leaked:#?}");
    assert!(sent_url, "the URL in the text still reaches the agent");
    s.stop().await;
    backend.shutdown().await;
}

/// Issue 23: `export_video`'s `matte` takes `balanced` beside `fast` and `quality` (its input
/// schema lists them), the export result names the matte the video was cut with, and an
/// export without `matte` names the engine's default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_takes_the_balanced_matte_and_names_the_matte_it_used() {
    let s = start(&[("EBC_BACKEND", "local".to_string())]).await;
    let tools = s.client.list_all_tools().await.expect("tools/list");
    let export = tools.iter().find(|t| t.name == "export_video").unwrap();
    let schema = serde_json::to_string(&export.input_schema).unwrap();
    for name in ["\"fast\"", "\"balanced\"", "\"quality\""] {
        assert!(schema.contains(name), "{name} not in {schema}");
    }
    // Eight frames: MODNet is slow in the test profile.
    let short = s.dir.path().join("short.mp4");
    let st = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i", &clip(), "-frames:v", "8", "-an"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-crf", "12"])
        .arg(&short)
        .status()
        .unwrap();
    assert!(st.success());
    s.ok("upload_media", json!({"media": [short]})).await;
    s.ok("replace_background", json!({"backdrop": "navy"}))
        .await;
    let out = s.dir.path().join("balanced.mp4");
    let (_, done) = s
        .ok(
            "export_video",
            json!({"output_path": out, "matte": "balanced"}),
        )
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["matte"], "balanced", "{done}");
    assert_eq!(probe_video(&out)["nb_read_frames"], "8");

    let out = s.dir.path().join("default.mp4");
    let r = s
        .call_as_given("export_video", json!({"output_path": out}))
        .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let done = r.structured_content.clone().expect("structured");
    assert_eq!(done["status"], "completed", "{done}");
    let default = ebc::engine::matte::MatteMode::default().as_str();
    assert_eq!(done["matte"], default, "{done}");
    s.stop().await;
}
