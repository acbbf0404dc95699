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
    model::{CallToolRequestParams, CallToolResult, ContentBlock, ReadResourceRequestParams, ResourceContents},
    service::RunningService,
    transport::TokioChildProcess,
};
use serde_json::{Value, json};

const EXE: &str = env!("CARGO_BIN_EXE_editor-background-changer");
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
    let mut cmd = tokio::process::Command::new(EXE);
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("EBC_BACKEND", "local")
        .env("EBC_STATE_DIR", dir.join("state"))
        .env("EBC_DATA_DIR", dir.join("data"))
        .env("RUST_LOG", "info");
    let log = std::fs::File::create(dir.join("server.log")).expect("log file");
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn the server");
    ().serve(transport).await.expect("handshake")
}

async fn call(c: &RunningService<RoleClient, ()>, dir: &Path, name: &str, args: Value) -> CallToolResult {
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
        let shows = ["replace_background", "show_timeline", "export_video"].contains(&t.name.as_ref());
        assert_eq!(named, shows.then_some(APP_URI), "{}", t.name);
    }
    let listed = c.list_all_resources().await.unwrap();
    let app = listed.iter().find(|r| r.uri == APP_URI).expect("the app is listed");
    assert_eq!(app.mime_type.as_deref(), Some("text/html;profile=mcp-app"));
    let read = c
        .read_resource(ReadResourceRequestParams::new(APP_URI))
        .await
        .unwrap();
    match &read.contents[0] {
        ResourceContents::TextResourceContents { mime_type, text, .. } => {
            assert_eq!(mime_type.as_deref(), Some("text/html;profile=mcp-app"));
            assert!(text.starts_with("<!doctype html>") && text.contains("\"backdrop\":\"sunset\""));
        }
        other => panic!("{other:?}"),
    }

    let clip = fixtures().join("clips/talking_720p.mp4");
    call(&c, d, "upload_media", json!({"media": [clip]})).await;
    let r = call(&c, d, "replace_background", json!({"backdrop": "sunset"})).await;
    let s = r.structured_content.clone().expect("structured");
    let uri = s["preview_clip"].as_str().unwrap_or_else(|| panic!("no preview clip: {s}"));
    // The clip is for the app, never content for the model: only the small JPEG is attached.
    assert!(r.content.iter().all(|c| c.as_resource().is_none()));
    assert!(r.content.iter().any(|c| c.as_image().is_some()));
    let read = c
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
        .unwrap();
    let mp4 = match &read.contents[0] {
        ResourceContents::BlobResourceContents { mime_type, blob, .. } => {
            assert_eq!(mime_type.as_deref(), Some("video/mp4"));
            base64::engine::general_purpose::STANDARD.decode(blob).unwrap()
        }
        other => panic!("{other:?}"),
    };
    assert!(mp4.len() <= 2 * 1024 * 1024, "{} bytes", mp4.len());
    let file = d.join("clip.mp4");
    std::fs::write(&file, &mp4).unwrap();
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["stream=codec_name,width,height:format=duration", "-of", "json"])
        .arg(&file)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let st = &v["streams"][0];
    assert_eq!(st["codec_name"], "h264", "{v}");
    let (w, h) = (st["width"].as_u64().unwrap(), st["height"].as_u64().unwrap());
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
