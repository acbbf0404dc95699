//! MCP hosts as they really are (issue 12; `mcp-hosts.md` items 1–6 and 12), against the
//! built binary: the flow under each protocol version a host may negotiate, paths as hosts
//! send them (`file:` URIs), no silent overwrite, crash leftovers, JSON-RPC batches, a
//! missing ffmpeg said plainly, and schemas every host accepts.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use ebc::backend::{self, BackendHandle};
use ebc::config::{BackendConfig, Faults};
use rmcp::{
    RoleClient, ServiceExt,
    model::{
        CallToolRequestParams, CallToolResult, ClientConfig, ContentBlock, ProtocolVersion, Tool,
    },
    service::{ClientLifecycleMode, ClientServiceExt, RunningService},
    transport::TokioChildProcess,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const EXE: &str = env!("CARGO_BIN_EXE_editor-background-changer");

/// The binary under test; `EBC_TEST_EXE` points these tests at another build (e.g. main's, to
/// watch them fail before a fix).
fn exe() -> PathBuf {
    std::env::var_os("EBC_TEST_EXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(EXE))
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
    "EBC_FFMPEG",
    "EBC_FFPROBE",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
];

fn fixtures() -> PathBuf {
    std::env::var_os("EBC_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
}

fn fixture_clip() -> PathBuf {
    fixtures().join("clips/noaudio_640x360.mp4")
}

/// The fixture clip copied to a path hosts must percent-encode: spaces, accents, CJK.
fn odd_clip(dir: &Path) -> PathBuf {
    let folder = dir.join("my clips");
    std::fs::create_dir_all(&folder).unwrap();
    let clip = folder.join("résumé 视频.mp4");
    std::fs::copy(fixture_clip(), &clip).expect("copy the fixture clip");
    clip
}

fn uri(path: &Path) -> String {
    url::Url::from_file_path(path)
        .expect("absolute path")
        .to_string()
}

/// The server command as a host starts it: cwd `/`, a clean environment, its own HOME.
fn server_cmd(dir: &Path, env: &[(&str, String)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(exe());
    cmd.arg("serve").current_dir("/");
    for key in CLEARED {
        cmd.env_remove(key);
    }
    cmd.env("HOME", dir)
        .env("EBC_STATE_DIR", dir.join("state"))
        .env("EBC_DATA_DIR", dir.join("data"))
        .env("RUST_LOG", "info");
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd
}

fn log_file(dir: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .expect("log file")
}

pub(crate) fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

pub(crate) type Client = RunningService<RoleClient, ClientConfig>;

/// rmcp's client on `version`: the `initialize` handshake up to 2025-11-25, per-request
/// metadata (`server/discover`) from 2026-07-28 on.
pub(crate) async fn connect(
    dir: &Path,
    env: &[(&str, String)],
    version: &ProtocolVersion,
) -> Client {
    let (transport, _) = TokioChildProcess::builder(server_cmd(dir, env))
        .stderr(Stdio::from(log_file(dir)))
        .spawn()
        .expect("spawn the server binary");
    let info = ClientConfig::default().with_protocol_version(version.clone());
    let client = if version.has_initialize() {
        info.serve(transport).await
    } else {
        info.serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![version.clone()],
            },
        )
        .await
    };
    client.unwrap_or_else(|e| panic!("MCP handshake on {version}: {e}\n{}", log(dir)))
}

async fn call(client: &Client, dir: &Path, name: &str, args: Value) -> CallToolResult {
    let args = crate::support::with_test_matte(name, args);
    let args = args.as_object().cloned().unwrap_or_default();
    let params = CallToolRequestParams::new(name.to_string()).with_arguments(args);
    match client.call_tool(params).await {
        Ok(r) => r,
        Err(e) => panic!("{name} failed at the protocol level: {e}\n{}", log(dir)),
    }
}

async fn ok(client: &Client, dir: &Path, name: &str, args: Value) -> CallToolResult {
    let r = call(client, dir, name, args).await;
    assert_ne!(r.is_error, Some(true), "{name}: {}\n{}", text(&r), log(dir));
    r
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The path in "Saved the video to PATH (…".
fn saved_path(result: &CallToolResult) -> PathBuf {
    let t = text(result);
    let rest = t
        .split("Saved the video to ")
        .nth(1)
        .unwrap_or_else(|| panic!("no saved path in {t}"));
    PathBuf::from(&rest[..rest.find(".mp4").expect("an .mp4 path") + 4])
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Upload by `file:` URI → replace → export to a `file:` folder → upload the returned link
/// back, on `version`; content only of the types that version defines.
async fn flow(version: ProtocolVersion) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let client = connect(d, &[("EBC_BACKEND", "local".into())], &version).await;
    assert_eq!(
        client.peer_info().map(|i| i.protocol_version.clone()),
        Some(version.clone()),
        "negotiated version"
    );
    let newer = version.as_str() >= "2025-06-18";

    let clip = odd_clip(d);
    // Both spellings hosts use: an empty host, and `localhost`.
    let media = if version.as_str() < "2025-06-18" {
        uri(&clip).replacen("file://", "file://localhost", 1)
    } else {
        uri(&clip)
    };
    let up = ok(&client, d, "upload_media", json!({"media": media})).await;
    assert!(text(&up).contains("résumé 视频.mp4"), "{}", text(&up));
    ok(
        &client,
        d,
        "replace_background",
        json!({"backdrop": "blur"}),
    )
    .await;

    let exports = d.join("my exports");
    std::fs::create_dir(&exports).unwrap();
    let exported = ok(
        &client,
        d,
        "export_video",
        json!({"output_path": format!("{}/", uri(&exports)), "resolution": "720p"}),
    )
    .await;
    let path = saved_path(&exported);
    assert_eq!(
        path.parent(),
        Some(exports.as_path()),
        "{}",
        text(&exported)
    );
    assert!(path.is_file());
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o644, "exported files are ordinary files");

    let link = exported
        .content
        .iter()
        .find_map(ContentBlock::as_resource_link);
    assert_eq!(
        link.is_some(),
        newer,
        "resource_link under {version}: {:?}",
        exported.content
    );
    assert_eq!(exported.structured_content.is_some(), newer, "{version}");
    assert!(
        exported.content.iter().all(|c| match c {
            ContentBlock::ResourceLink(_) => newer,
            ContentBlock::Audio(_) => version.as_str() >= "2025-03-26",
            _ => true,
        }),
        "{version}: {:?}",
        exported.content
    );
    // The server accepts every link it returns.
    let back = link.map(|l| l.uri.clone()).unwrap_or_else(|| uri(&path));
    let again = ok(&client, d, "upload_media", json!({"media": back})).await;
    assert!(
        text(&again).contains(path.file_name().unwrap().to_str().unwrap()),
        "{}",
        text(&again)
    );
    let _ = client.cancel().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_under_2024_11_05() {
    flow(ProtocolVersion::V_2024_11_05).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_under_2025_03_26() {
    flow(ProtocolVersion::V_2025_03_26).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_under_2025_06_18() {
    flow(ProtocolVersion::V_2025_06_18).await;
}

/// The newest revision rmcp 3.11 speaks: no `initialize`, protocol metadata on each request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_under_the_newest_rmcp_version() {
    assert_eq!(ProtocolVersion::LATEST, ProtocolVersion::V_2026_07_28);
    flow(ProtocolVersion::LATEST).await;
}

/// Item 4: `~/wedding.mp4` exists → refused by name, untouched; with `overwrite: true` it is
/// replaced and stays 0644; the tool says it is destructive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_file_is_never_replaced_silently() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let client = connect(
        d,
        &[("EBC_BACKEND", "local".into())],
        &ProtocolVersion::V_2025_06_18,
    )
    .await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let export = tools.iter().find(|t| t.name == "export_video").unwrap();
    let hints = export.annotations.as_ref().expect("annotations");
    assert_eq!(
        hints.destructive_hint,
        Some(true),
        "export_video can replace files"
    );

    let wedding = d.join("wedding.mp4");
    std::fs::write(&wedding, vec![7u8; 16_000]).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&wedding, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    ok(&client, d, "upload_media", json!({"media": fixture_clip()})).await;
    ok(
        &client,
        d,
        "replace_background",
        json!({"backdrop": "blur"}),
    )
    .await;
    let refused = call(
        &client,
        d,
        "export_video",
        json!({"output_path": "~/wedding.mp4"}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true), "{}", text(&refused));
    let msg = text(&refused);
    assert!(
        msg.contains(&wedding.display().to_string()) && msg.contains("overwrite"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&wedding).unwrap(), vec![7u8; 16_000]);

    let replaced = ok(
        &client,
        d,
        "export_video",
        json!({"output_path": uri(&wedding), "overwrite": true}),
    )
    .await;
    assert_eq!(
        replaced.structured_content.as_ref().unwrap()["replaced"],
        true
    );
    assert!(text(&replaced).contains("replaced"), "{}", text(&replaced));
    assert_ne!(std::fs::metadata(&wedding).unwrap().len(), 16_000);
    #[cfg(unix)]
    assert_eq!(mode(&wedding), 0o644);
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ebc"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = client.cancel().await;
}

fn staging_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".ebc-export-"))
        })
        .collect()
}

/// Item 5 (server side): a server killed with SIGKILL mid-export leaves its staging folder;
/// the next start removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_export_leftovers_are_removed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let backend: BackendHandle = backend::spawn(BackendConfig::ephemeral(d.join("backend")))
        .await
        .expect("standalone backend");
    let env = [
        ("EBC_BACKEND", "cloud".to_string()),
        ("NEMO_API_URL", backend.url()),
        ("EBC_ACCESS_KEY", backend.access_key().to_string()),
        ("EBC_CALL_BUDGET_SECS", "1".to_string()),
    ];
    let mut child = server_cmd(d, &env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file(d)))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the server");
    let transport = (child.stdout.take().unwrap(), child.stdin.take().unwrap());
    let client = ClientConfig::default()
        .serve(transport)
        .await
        .expect("handshake");
    ok(&client, d, "upload_media", json!({"media": fixture_clip()})).await;
    ok(
        &client,
        d,
        "replace_background",
        json!({"backdrop": "blur"}),
    )
    .await;
    backend.set_faults(Faults {
        hold_renders: true,
        ..Faults::default()
    });
    let out = d.join("out");
    std::fs::create_dir(&out).unwrap();
    let running = ok(&client, d, "export_video", json!({"output_path": out})).await;
    assert_eq!(
        running.structured_content.as_ref().unwrap()["status"],
        "running",
        "{}",
        text(&running)
    );
    assert_eq!(
        staging_dirs(&out).len(),
        1,
        "the export stages beside its file"
    );
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("reap");
    drop(client);
    assert_eq!(
        staging_dirs(&out).len(),
        1,
        "a killed run leaves its staging"
    );

    let restarted = connect(d, &env, &ProtocolVersion::V_2025_06_18).await;
    assert!(
        staging_dirs(&out).is_empty(),
        "leftovers stayed after a restart:\n{}",
        log(d)
    );
    assert_eq!(
        std::fs::read_dir(d.join("state/partial-exports"))
            .unwrap()
            .count(),
        0
    );
    let _ = restarted.cancel().await;
    backend.shutdown().await;
}

/// Raw JSON-RPC over stdio, as a host writes it.
struct Raw {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    /// The server's stderr, shown when it does not answer.
    log: std::path::PathBuf,
}

impl Raw {
    fn start(dir: &Path) -> Raw {
        let mut child = server_cmd(dir, &[])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file(dir)))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the server");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Raw {
            child,
            stdin,
            lines,
            log: dir.join("server.log"),
        }
    }

    async fn send(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The next line the server writes (a failure guard, not a wait: answers come at once).
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(120), self.lines.next_line())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the server did not answer within 120 s; its log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                )
            })
            .expect("read stdout")
            .expect("the server closed stdout");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }
}

/// Item 6: under 2025-03-26 a batch is answered with an array of responses; an empty batch,
/// unparsable input and a message of no known shape get errors with `"id": null`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_rpc_batches_under_2025_03_26() {
    let dir = tempfile::tempdir().unwrap();
    let mut raw = Raw::start(dir.path());
    raw.send(r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#).await;
    let init = raw.next().await;
    assert_eq!(init["result"]["protocolVersion"], "2025-03-26", "{init}");
    raw.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;

    raw.send(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]"#).await;
    let batch = raw.next().await;
    let answers = batch
        .as_array()
        .unwrap_or_else(|| panic!("a batch is answered with an array: {batch}"));
    assert_eq!(answers.len(), 2, "{batch}");
    let by_id = |id: i64| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no answer for id {id}: {batch}"))
    };
    assert_eq!(by_id(1)["result"], json!({}));
    assert_eq!(
        by_id(2)["result"]["tools"].as_array().map(Vec::len),
        Some(6)
    );

    // A batch with a notification and an invalid member: the notification gets no answer,
    // the invalid member an error in the array.
    raw.send(r#"[{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}},{"jsonrpc":"2.0","id":3,"method":"ping"},{"foo":1}]"#).await;
    let mixed = raw.next().await;
    let mixed = mixed.as_array().unwrap_or_else(|| panic!("{mixed}"));
    assert_eq!(mixed.len(), 2, "{mixed:?}");
    assert!(
        mixed
            .iter()
            .any(|a| a["id"] == 3 && a["result"] == json!({}))
    );
    assert!(
        mixed
            .iter()
            .any(|a| a["id"].is_null() && a["error"]["code"] == -32600),
        "{mixed:?}"
    );

    for (input, code) in [
        ("[]", -32600),
        ("{not json", -32700),
        (r#"{"foo":1}"#, -32600),
    ] {
        raw.send(input).await;
        let err = raw.next().await;
        assert!(
            err.as_object().is_some_and(|o| o.contains_key("id")) && err["id"].is_null(),
            "{input} → {err}"
        );
        assert_eq!(err["error"]["code"], code, "{input} → {err}");
    }
    // Still serving after all that.
    raw.send(r#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#)
        .await;
    assert_eq!(raw.next().await["id"], 4);
    raw.child.start_kill().ok();
}

/// Item 3: with ffmpeg/ffprobe on neither PATH nor the usual install folders, the local
/// backend says so and how to fix it, never "unsupported file type".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_ffmpeg_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let empty = d.join("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    let usual = ebc::engine::ffmpeg::locate::usual_dirs(Some(d));
    let found = ebc::engine::ffmpeg::locate::find("ffprobe", None, &usual);
    let client = connect(
        d,
        &[
            ("EBC_BACKEND", "local".into()),
            ("PATH", empty.display().to_string()),
        ],
        &ProtocolVersion::V_2025_06_18,
    )
    .await;
    let r = call(&client, d, "upload_media", json!({"media": fixture_clip()})).await;
    match found {
        // This machine has ffprobe in a usual folder: the server must find it there.
        Some(path) => assert_ne!(
            r.is_error,
            Some(true),
            "ffprobe at {} was not found: {}",
            path.display(),
            text(&r)
        ),
        None => {
            assert_eq!(r.is_error, Some(true), "{}", text(&r));
            let msg = text(&r);
            assert!(msg.contains("ffprobe was not found"), "{msg}");
            assert!(msg.contains("brew install ffmpeg"), "{msg}");
            assert!(msg.contains("EBC_FFPROBE"), "{msg}");
            assert!(!msg.to_lowercase().contains("file type"), "{msg}");
        }
    }
    let _ = client.cancel().await;
}

/// JSON Schema 2020-12 §7.3.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// `$ref`, `$defs`/`definitions` and non-standard `format` anywhere in `schema`.
fn host_refused(schema: &Value, at: &str, found: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{at}/{key}");
                match key.as_str() {
                    "$ref" | "$defs" | "definitions" => found.push(here.clone()),
                    "format" if !v.as_str().is_some_and(|f| STANDARD_FORMATS.contains(&f)) => {
                        found.push(format!("{here} = {v}"))
                    }
                    "enum" | "const" | "default" | "examples" => continue,
                    _ => {}
                }
                host_refused(v, &here, found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                host_refused(v, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// The check applied to one listed tool: both schemas valid 2020-12 and free of what some
/// host refuses.
fn check_tool_schemas(tool: &Tool) -> Vec<String> {
    let mut problems = Vec::new();
    let mut schemas = vec![("inputSchema", Value::Object((*tool.input_schema).clone()))];
    match &tool.output_schema {
        Some(o) => schemas.push(("outputSchema", Value::Object((**o).clone()))),
        None => problems.push(format!("{}: no outputSchema", tool.name)),
    }
    for (which, schema) in schemas {
        if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
            problems.push(format!(
                "{} {which}: not valid JSON Schema 2020-12: {e}",
                tool.name
            ));
        }
        if let Err(e) = jsonschema::draft202012::new(&schema) {
            problems.push(format!("{} {which}: does not compile: {e}", tool.name));
        }
        let mut refused = Vec::new();
        host_refused(&schema, "", &mut refused);
        for r in refused {
            problems.push(format!("{} {which}: {r}", tool.name));
        }
    }
    problems
}

/// Item 12: every input and output schema is valid JSON Schema 2020-12 and has no `$ref`,
/// `$defs` or non-standard `format`; the checker itself rejects each of those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_schema_is_2020_12_and_host_safe() {
    // The checker is not vacuous: each refused construct is caught, and a non-schema fails.
    let bad = [
        json!({"type": "object", "properties": {"n": {"type": "integer", "format": "uint64"}}}),
        json!({"type": "object", "properties": {"x": {"type": "number", "format": "double"}}}),
        json!({"type": "object", "properties": {"q": {"$ref": "#/$defs/Q"}}, "$defs": {"Q": {"enum": ["a"]}}}),
        json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": "zero"}}}),
    ];
    for schema in bad {
        let tool = Tool::new(
            "probe",
            "probe",
            std::sync::Arc::new(schema.as_object().unwrap().clone()),
        );
        let mut tool = tool;
        tool.output_schema = Some(tool.input_schema.clone());
        assert!(!check_tool_schemas(&tool).is_empty(), "{schema} passed");
    }

    let dir = tempfile::tempdir().unwrap();
    let client = connect(dir.path(), &[], &ProtocolVersion::V_2025_06_18).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 6);
    let problems: Vec<String> = tools.iter().flat_map(check_tool_schemas).collect();
    assert!(problems.is_empty(), "{problems:#?}");
    let _ = client.cancel().await;
}
