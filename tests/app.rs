//! The MCP App (issue 22) over MCP, without a browser: the built binary driven by rmcp's
//! client with the embedded backend. The app is a `ui://` resource the three tools name; a
//! background change brings a before|after preview clip the app can read as a blob; an
//! export result carries both the app's data (`structuredContent`) and the `resource_link`;
//! and `app/build.mjs` rebuilds the committed HTML byte for byte.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use rmcp::{
    RoleClient, ServiceExt,
    model::{
        CallToolRequestParams, CallToolResult, ContentBlock, ReadResourceRequestParams,
        ResourceContents,
    },
    service::RunningService,
    transport::TokioChildProcess,
};
use serde_json::{Value, json};

const EXE: &str = env!("CARGO_BIN_EXE_editor-background-changer");

/// The server under test; `EBC_TEST_EXE` runs another build (e.g. the code before a fix).
fn exe() -> PathBuf {
    std::env::var_os("EBC_TEST_EXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(EXE))
}
const APP_URI: &str = "ui://editor-background-changer/editor.html";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    std::env::var_os("EBC_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("tests/fixtures"))
}

/// Whether the app's node packages are here (`npm ci --prefix app`); without them a CI run
/// fails, elsewhere the test says it did not run.
pub fn node_ready(what: &str) -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let modules = repo()
        .join("app/node_modules/@modelcontextprotocol/ext-apps/package.json")
        .is_file();
    if node && modules {
        return true;
    }
    let why = format!(
        "{what} needs node (18+) and `npm ci --prefix {}` (node found: {node}, packages installed: {modules})",
        repo().join("app").display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("NOT RUN: {why}");
    false
}

async fn server(dir: &Path) -> RunningService<RoleClient, ()> {
    server_with(dir, &[]).await.0
}

/// A server on `dir` with `env` added; its process id.
async fn server_with(dir: &Path, env: &[(&str, &str)]) -> (RunningService<RoleClient, ()>, u32) {
    let mut cmd = tokio::process::Command::new(exe());
    cmd.arg("serve");
    crate::support::local_server_env(cmd.as_std_mut(), dir).env("RUST_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .expect("log file");
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn the server");
    let pid = transport.id().expect("server pid");
    (().serve(transport).await.expect("handshake"), pid)
}

/// A call followed through `running` answers by its job_id, up to `limit`.
async fn follow(
    c: &RunningService<RoleClient, ()>,
    dir: &Path,
    name: &str,
    args: Value,
    limit: std::time::Duration,
) -> Value {
    let until = std::time::Instant::now() + limit;
    let mut r = call(c, dir, name, args).await;
    loop {
        let s = r.structured_content.clone().expect("structured");
        if s["status"] != "running" {
            return s;
        }
        assert!(
            std::time::Instant::now() < until,
            "{name} never finished: {s}"
        );
        r = call(c, dir, name, json!({"job_id": s["job_id"]})).await;
    }
}

async fn call(
    c: &RunningService<RoleClient, ()>,
    dir: &Path,
    name: &str,
    args: Value,
) -> CallToolResult {
    let args = crate::support::with_test_matte(name, args);
    let params = CallToolRequestParams::new(name.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    let r = c.call_tool(params).await.unwrap_or_else(|e| {
        panic!(
            "{name}: {e}\n{}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        )
    });
    assert_ne!(r.is_error, Some(true), "{name} failed: {:?}", r.content);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_is_a_resource_and_reads_its_preview_clip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let c = server(d).await;

    // The tools that show the app name it; the others do not.
    let tools = c.list_all_tools().await.unwrap();
    for t in &tools {
        let named = t
            .meta
            .as_ref()
            .and_then(|m| m.0.get("ui"))
            .and_then(|ui| ui.get("resourceUri"))
            .and_then(Value::as_str);
        let shows =
            ["replace_background", "show_timeline", "export_video"].contains(&t.name.as_ref());
        assert_eq!(named, shows.then_some(APP_URI), "{}", t.name);
    }
    let listed = c.list_all_resources().await.unwrap();
    let app = listed
        .iter()
        .find(|r| r.uri == APP_URI)
        .expect("the app is listed");
    assert_eq!(app.mime_type.as_deref(), Some("text/html;profile=mcp-app"));
    let read = c
        .read_resource(ReadResourceRequestParams::new(APP_URI))
        .await
        .unwrap();
    match &read.contents[0] {
        ResourceContents::TextResourceContents {
            mime_type, text, ..
        } => {
            assert_eq!(mime_type.as_deref(), Some("text/html;profile=mcp-app"));
            assert!(
                text.starts_with("<!doctype html>") && text.contains("\"backdrop\":\"sunset\"")
            );
        }
        other => panic!("{other:?}"),
    }

    let clip = fixtures().join("clips/talking_720p.mp4");
    call(&c, d, "upload_media", json!({"media": [clip]})).await;
    let r = call(&c, d, "replace_background", json!({"backdrop": "sunset"})).await;
    let s = r.structured_content.clone().expect("structured");
    let uri = s["preview_clip"]
        .as_str()
        .unwrap_or_else(|| panic!("no preview clip: {s}"));
    // The clip is for the app, never content for the model: only the small JPEG is attached.
    assert!(r.content.iter().all(|c| c.as_resource().is_none()));
    assert!(r.content.iter().any(|c| c.as_image().is_some()));
    let read = c
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
        .unwrap();
    let mp4 = match &read.contents[0] {
        ResourceContents::BlobResourceContents {
            mime_type, blob, ..
        } => {
            assert_eq!(mime_type.as_deref(), Some("video/mp4"));
            base64::engine::general_purpose::STANDARD
                .decode(blob)
                .unwrap()
        }
        other => panic!("{other:?}"),
    };
    assert!(mp4.len() <= 2 * 1024 * 1024, "{} bytes", mp4.len());
    let file = d.join("clip.mp4");
    std::fs::write(&file, &mp4).unwrap();
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args([
            "stream=codec_name,width,height:format=duration",
            "-of",
            "json",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let st = &v["streams"][0];
    assert_eq!(st["codec_name"], "h264", "{v}");
    let (w, h) = (
        st["width"].as_u64().unwrap(),
        st["height"].as_u64().unwrap(),
    );
    // 1280×720 → two 480×270 halves side by side: at most 480 pixels high.
    assert_eq!((w, h), (960, 270), "{v}");
    let secs: f64 = v["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((2.5..=3.5).contains(&secs), "{secs} s");

    // One result with both the app's data and the link (claude-ai-mcp issue 753).
    let out = d.join("out.mp4");
    let r = call(&c, d, "export_video", json!({"output_path": out})).await;
    let s = r.structured_content.clone().expect("structured content");
    assert_eq!(s["path"], out.to_string_lossy().as_ref());
    let link = r
        .content
        .iter()
        .find_map(ContentBlock::as_resource_link)
        .expect("resource_link");
    assert!(link.uri.ends_with("/out.mp4"));
    let _ = c.cancel().await;
}

/// Issue 22: a job id outlives the server process. The server is killed (SIGKILL) while an
/// export renders; a new one on the same state continues the same `job_id` to the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_continues_the_same_export_job() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let budget = [("EBC_CALL_BUDGET_SECS", "1")];
    let (c, pid) = server_with(d, &budget).await;
    let clip = fixtures().join("clips/talking_720p.mp4");
    let long = std::time::Duration::from_secs(300);
    follow(&c, d, "upload_media", json!({"media": [clip]}), long).await;
    follow(
        &c,
        d,
        "replace_background",
        json!({"backdrop": "blur"}),
        long,
    )
    .await;
    let out = d.join("kept.mp4");
    let r = call(&c, d, "export_video", json!({"output_path": out})).await;
    let first = r.structured_content.clone().unwrap();
    assert_eq!(first["status"], "running", "{first}");
    let job_id = first["job_id"].as_str().unwrap().to_string();
    let record = d.join(format!("state/jobs/{job_id}.json"));
    let rec: Value =
        serde_json::from_str(&std::fs::read_to_string(&record).expect("job record")).unwrap();
    assert_eq!(rec["state"], "running", "{rec}");
    assert_eq!(rec["kind"], "export_video");
    assert_eq!(rec["output_path"], out.to_string_lossy().as_ref());

    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = c.cancel().await;
    assert!(!out.exists(), "nothing was saved before the kill");

    let (c, _) = server_with(d, &budget).await;
    let done = follow(&c, d, "export_video", json!({"job_id": job_id}), long).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["job_id"], job_id.as_str(), "{done}");
    assert_eq!(done["path"], out.to_string_lossy().as_ref(), "{done}");
    assert!(std::fs::metadata(&out).unwrap().len() > 10_000);
    let rec: Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(rec["state"], "completed", "{rec}");
    assert!(rec["render_id"].is_string(), "{rec}");
    // Asking again gives the same answer, from the record.
    let again = follow(&c, d, "export_video", json!({"job_id": job_id}), long).await;
    assert_eq!(again["path"], done["path"]);
    let _ = c.cancel().await;
}

#[test]
fn app_bundle_matches_its_sources() {
    if !node_ready("rebuilding the app") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let built = dir.path().join("editor.html");
    let out = Command::new("node")
        .arg(repo().join("app/build.mjs"))
        .arg(&built)
        .current_dir(repo().join("app"))
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "build.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = std::fs::read(&built).unwrap();
    let committed = std::fs::read(repo().join("assets/app/editor.html")).unwrap();
    assert!(
        fresh == committed,
        "assets/app/editor.html is not what app/ builds: run `npm ci --prefix app && node app/build.mjs assets/app/editor.html` and commit it"
    );
}

/// A client with a name (its `clientInfo`) that records progress notifications with the time
/// each arrived.
#[derive(Clone)]
struct Named {
    info: rmcp::model::ClientConfig,
    progress: tokio::sync::mpsc::UnboundedSender<(
        std::time::Instant,
        rmcp::model::ProgressNotificationParam,
    )>,
}

impl rmcp::ClientHandler for Named {
    fn get_info(&self) -> rmcp::model::ClientConfig {
        self.info.clone()
    }

    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        let _ = self.progress.send((std::time::Instant::now(), params));
    }
}

/// Issue 22, host-aware waiting: with no `EBC_CALL_BUDGET_SECS` the ceiling comes from the
/// host's clientInfo (Claude Code: 100 s), and while a render is held a readable notice goes
/// out every few seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wait_follows_the_host_and_says_so_every_few_seconds() {
    use ebc::backend;
    use ebc::config::{BackendConfig, Faults};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = backend::spawn(BackendConfig::ephemeral(d.join("backend")))
        .await
        .expect("backend");
    let mut cmd = tokio::process::Command::new(exe());
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", d)
        .env("EBC_BACKEND", "cloud")
        .env("NEMO_API_URL", b.url())
        .env("EBC_ACCESS_KEY", b.access_key())
        .env("EBC_RENDER_POLL_SECS", "0.5")
        .env("EBC_RENDER_MAX_POLLS", "1000")
        .env("EBC_STATE_DIR", d.join("state"))
        .env("EBC_DATA_DIR", d.join("data"))
        .env("RUST_LOG", "info,ebc::mcp::jobs=debug");
    let log = std::fs::File::create(d.join("server.log")).unwrap();
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let info = rmcp::model::ClientConfig::new(
        rmcp::model::ClientCapabilities::default(),
        rmcp::model::Implementation::new("claude-code", "2.1.0"),
    );
    let c = Named { info, progress: tx }.serve(transport).await.unwrap();
    let peer = c.peer().clone();
    let call = |name: &'static str, args: Value| {
        let c = peer.clone();
        let args = crate::support::with_test_matte(name, args);
        async move {
            c.call_tool(
                CallToolRequestParams::new(name)
                    .with_arguments(args.as_object().cloned().unwrap_or_default()),
            )
            .await
            .unwrap()
        }
    };
    let clip = fixtures().join("clips/noaudio_640x360.mp4");
    call("upload_media", json!({"media": [clip]})).await;
    call("replace_background", json!({"backdrop": "blur"})).await;
    while rx.try_recv().is_ok() {}

    b.set_faults(Faults {
        hold_renders: true,
        ..Faults::default()
    });
    let out = d.join("held.mp4");
    let export = tokio::spawn(call("export_video", json!({"output_path": out})));
    // Two "still working" notices while the render is held, a few seconds apart. Collected
    // before any assertion: the hold is released first, or a failing run would hang on the
    // held render instead of failing.
    let collect = async {
        let mut still = Vec::new();
        while still.len() < 2 {
            let Some((at, p)) = rx.recv().await else {
                break;
            };
            if p.message
                .as_deref()
                .is_some_and(|m| m.contains("still working") && m.contains("s so far"))
            {
                still.push((at, p));
            }
        }
        still
    };
    let still = tokio::time::timeout(std::time::Duration::from_secs(40), collect).await;
    b.set_faults(Faults::default());
    let still = still.expect("two \"still working\" notices within 40 s");
    assert_eq!(still.len(), 2, "{still:?}");
    let gap = still[1].0 - still[0].0;
    assert!(
        gap >= std::time::Duration::from_secs(4) && gap <= std::time::Duration::from_secs(7),
        "{gap:?} between {:?} and {:?}",
        still[0].1,
        still[1].1
    );
    assert!(still[1].1.progress > still[0].1.progress);
    let r = export.await.unwrap();
    let s = r.structured_content.expect("structured");
    assert_eq!(s["status"], "completed", "{s}");
    let log = std::fs::read_to_string(d.join("server.log")).unwrap();
    assert!(
        log.lines().any(|l| l.contains("call ceiling")
            && l.contains("Claude Code")
            && l.contains("ceiling_s=100")),
        "{log}"
    );
    let _ = c.cancel().await;
    b.shutdown().await;
}
