//! The protocol matrix (issue 22 item 6): every protocol version a host may speak × the
//! official clients — rmcp (the flow of `hosts::connect`), the Python SDK 2.3.0 in its
//! `legacy`, `auto` and pinned (`2026-07-28`) modes, the TypeScript SDK 1.0.4 and the newest
//! 1.x (1.32.2), and the MCP Inspector's CLI (2.12.0) — against the built binary with the
//! embedded backend. Each cell: tools/list, resources/read of the app
//! (`ui://editor-background-changer/editor.html`), upload_media of a clip, replace_background
//! (blur), show_timeline; the Inspector, one process per method, does tools/list,
//! resources/read, upload_media and show_timeline. A cell a client cannot speak is "n/a"
//! (e.g. the TypeScript 1.x SDKs have no 2026-07-28). The table is printed; the test fails if
//! any cell fails, and it never passes without running (no python3/venv, no node → FAILED).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use rmcp::model::{CallToolRequestParams, ProtocolVersion, ReadResourceRequestParams};
use serde_json::{Value, json};

const APP_URI: &str = "ui://editor-background-changer/editor.html";
const VERSIONS: [&str; 5] = [
    "2024-11-05",
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
    "2026-07-28",
];

fn exe() -> PathBuf {
    std::env::var_os("EBC_TEST_EXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_editor-background-changer")))
}

fn clip() -> PathBuf {
    std::env::var_os("EBC_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
        .join("clips/noaudio_640x360.mp4")
}

/// A cell that runs an external client (on a blocking thread).
type CellRun = Box<dyn FnOnce() -> Result<String, String> + Send>;

/// One cell's outcome: the version it ran on (as negotiated) and pass/fail with the reason.
struct Cell {
    client: String,
    column: &'static str,
    result: Result<String, String>,
}

/// A clean environment for a server started by an external client: its own HOME and dirs,
/// the embedded backend.
fn server_env(cmd: &mut Command, dir: &Path) {
    crate::support::local_server_env(cmd, dir).env("RUST_LOG", "info");
}

/// The version in rmcp's "Service initialized as server peer_info=… protocol_version:
/// ProtocolVersion(\"…\")" log line (handshake versions only).
fn logged_version(log: &str) -> Option<String> {
    let at = log.find("protocol_version: ProtocolVersion(\"")? + 35;
    Some(log[at..at + 10].to_string())
}

/// Run an external client that prints one JSON line; its report or why it failed.
fn external(mut cmd: Command, dir: &Path) -> Result<Value, String> {
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let out = cmd
        .stderr(log)
        .output()
        .map_err(|e| format!("could not start: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    if !out.status.success() {
        let tail: String = log.lines().rev().take(8).collect::<Vec<_>>().join(" | ");
        return Err(format!("{} — {}", out.status, tail));
    }
    // The whole output (the Inspector pretty-prints), else the last JSON line (the drivers).
    serde_json::from_str::<Value>(&stdout)
        .ok()
        .or_else(|| {
            stdout.lines().rev().find_map(|l| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .filter(Value::is_object)
            })
        })
        .ok_or_else(|| format!("no report in {stdout}"))
}

async fn rmcp_cell(version: &'static str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v: ProtocolVersion = serde_json::from_value(json!(version)).unwrap();
    let client = crate::hosts::connect(d, &[("EBC_BACKEND", "local".into())], &v).await;
    let run = async {
        let tools = client.list_all_tools().await.map_err(|e| e.to_string())?;
        if tools.len() != 6 {
            return Err(format!("{} tools", tools.len()));
        }
        let r = client
            .read_resource(ReadResourceRequestParams::new(APP_URI))
            .await
            .map_err(|e| e.to_string())?;
        let json = serde_json::to_value(&r).unwrap();
        if json["contents"][0]["mimeType"] != "text/html;profile=mcp-app" {
            return Err(format!(
                "resources/read: {}",
                json["contents"][0]["mimeType"]
            ));
        }
        let clip = clip().to_string_lossy().into_owned();
        for (name, args) in [
            ("upload_media", json!({"media": [clip]})),
            ("replace_background", json!({"backdrop": "blur"})),
            ("show_timeline", json!({})),
        ] {
            let params = CallToolRequestParams::new(name)
                .with_arguments(args.as_object().cloned().unwrap_or_default());
            let r = client.call_tool(params).await.map_err(|e| e.to_string())?;
            let text: String = r
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                .collect();
            if r.is_error == Some(true) || !text.contains("noaudio_640x360.mp4") {
                return Err(format!("{name}: {text}"));
            }
        }
        Ok(client
            .peer_info()
            .map(|i| i.protocol_version.as_str().to_string())
            .unwrap_or_default())
    }
    .await;
    let _ = client.cancel().await;
    run.map_err(|e| {
        format!(
            "{e} | {}",
            crate::hosts::log(d).lines().last().unwrap_or("")
        )
    })
}

fn python_cell(python: &Path, mode: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(python);
    cmd.arg(crate::support::python_venv::dir().join("matrix.py"))
        .arg(mode)
        .arg(exe())
        .arg(clip());
    server_env(&mut cmd, dir.path());
    let report = external(cmd, dir.path())?;
    Ok(report["negotiated"].as_str().unwrap_or("?").to_string())
}

fn ts_cell(sdk: &str, requested: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let node = crate::support::node_packages::dir();
    let mut cmd = Command::new("node");
    cmd.arg(node.join("matrix.mjs"))
        .args([sdk, requested])
        .arg(exe())
        .arg(clip())
        .current_dir(&node);
    server_env(&mut cmd, dir.path());
    let report = external(cmd, dir.path())?;
    Ok(report["negotiated"].as_str().unwrap_or("?").to_string())
}

/// The Inspector's CLI: one server process per method (its state persists in the dirs).
fn inspector_cell() -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let node = crate::support::node_packages::dir();
    let bin = node.join("node_modules/.bin/mcp-inspector");
    let clip = clip().to_string_lossy().into_owned();
    let media = format!("media=[{}]", json!(clip));
    let calls: [(&str, Vec<&str>); 4] = [
        ("tools/list", vec!["--method", "tools/list"]),
        (
            "resources/read",
            vec!["--method", "resources/read", "--uri", APP_URI],
        ),
        (
            "upload_media",
            vec![
                "--method",
                "tools/call",
                "--tool-name",
                "upload_media",
                "--tool-arg",
                &media,
            ],
        ),
        (
            "show_timeline",
            vec!["--method", "tools/call", "--tool-name", "show_timeline"],
        ),
    ];
    let mut version = None;
    for (what, args) in calls {
        let mut cmd = Command::new(&bin);
        cmd.arg("--cli");
        for (k, v) in [
            ("HOME", d.display().to_string()),
            ("EBC_STATE_DIR", d.join("state").display().to_string()),
            ("EBC_DATA_DIR", d.join("data").display().to_string()),
            ("EBC_BACKEND", "local".to_string()),
            ("RUST_LOG", "info".to_string()),
        ] {
            cmd.arg("-e").arg(format!("{k}={v}"));
        }
        cmd.arg(exe()).arg("serve").args(&args).current_dir(&node);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", d);
        let r = external(cmd, d).map_err(|e| format!("{what}: {e}"))?;
        let ok = match what {
            "tools/list" => r["tools"].as_array().is_some_and(|t| t.len() == 6),
            "resources/read" => r["contents"][0]["mimeType"] == "text/html;profile=mcp-app",
            _ => {
                r["isError"] != true
                    && r["content"][0]["text"]
                        .as_str()
                        .is_some_and(|t| t.contains("noaudio_640x360.mp4"))
            }
        };
        if !ok {
            return Err(format!(
                "{what}: {}",
                r.to_string().chars().take(300).collect::<String>()
            ));
        }
        version =
            logged_version(&std::fs::read_to_string(d.join("server.log")).unwrap_or_default());
    }
    Ok(version.unwrap_or_else(|| "?".into()))
}

/// The table: one row per client, one column per version; "pass (v)" names the version the
/// cell negotiated, "n/a" a version the client does not speak.
fn table(cells: &[Cell]) -> String {
    let mut rows: Vec<String> = Vec::new();
    for c in cells {
        if !rows.contains(&c.client) {
            rows.push(c.client.clone());
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "| client | {} |", VERSIONS.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(VERSIONS.len()));
    for row in rows {
        let mut line = format!("| {row} |");
        for v in VERSIONS {
            let cell = cells.iter().find(|c| c.client == row && c.column == v);
            let s = match cell {
                None => "n/a".to_string(),
                Some(Cell {
                    result: Ok(got), ..
                }) if got == v => "pass".to_string(),
                Some(Cell {
                    result: Ok(got), ..
                }) => format!("FAIL (negotiated {got})"),
                Some(Cell { result: Err(_), .. }) => "FAIL".to_string(),
            };
            let _ = write!(line, " {s} |");
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_matrix() {
    crate::support::node_packages::require();
    let python = tokio::task::spawn_blocking(crate::support::python_venv::require)
        .await
        .expect("the Python SDK venv");
    let mut cells = Vec::new();
    for v in VERSIONS {
        cells.push(Cell {
            client: "rmcp 3.11 (Rust)".into(),
            column: v,
            result: rmcp_cell(v).await,
        });
    }
    let blocking: Vec<(String, &'static str, CellRun)> = vec![
        (
            "Python mcp 2.3.0, mode=legacy".into(),
            "2025-11-25",
            Box::new({
                let p = python.clone();
                move || python_cell(&p, "legacy")
            }),
        ),
        (
            "Python mcp 2.3.0, mode=auto".into(),
            "2026-07-28",
            Box::new({
                let p = python.clone();
                move || python_cell(&p, "auto")
            }),
        ),
        (
            "Python mcp 2.3.0, mode=\"2026-07-28\" (pinned)".into(),
            "2026-07-28",
            Box::new({
                let p = python.clone();
                move || python_cell(&p, "2026-07-28")
            }),
        ),
        (
            "TypeScript SDK 1.0.4".into(),
            "2024-11-05",
            Box::new(|| ts_cell("sdk-1.0", "2024-11-05")),
        ),
        (
            "TypeScript SDK 1.32.2 (newest)".into(),
            "2024-11-05",
            Box::new(|| ts_cell("sdk-latest", "2024-11-05")),
        ),
        (
            "TypeScript SDK 1.32.2 (newest)".into(),
            "2025-03-26",
            Box::new(|| ts_cell("sdk-latest", "2025-03-26")),
        ),
        (
            "TypeScript SDK 1.32.2 (newest)".into(),
            "2025-06-18",
            Box::new(|| ts_cell("sdk-latest", "2025-06-18")),
        ),
        (
            "TypeScript SDK 1.32.2 (newest)".into(),
            "2025-11-25",
            Box::new(|| ts_cell("sdk-latest", "default")),
        ),
        (
            "MCP Inspector CLI 2.12.0".into(),
            "2025-11-25",
            Box::new(inspector_cell),
        ),
    ];
    for (client, column, run) in blocking {
        let result = tokio::task::spawn_blocking(run).await.expect("cell thread");
        cells.push(Cell {
            client,
            column,
            result,
        });
    }
    let t = table(&cells);
    println!(
        "protocol matrix (tools/list, resources/read of the app, upload_media, replace_background, show_timeline):\n{t}"
    );
    let failed: Vec<String> = cells
        .iter()
        .filter(|c| !matches!(&c.result, Ok(got) if got == c.column))
        .map(|c| format!("{} @ {}: {:?}", c.client, c.column, c.result))
        .collect();
    assert!(
        failed.is_empty(),
        "failed cells:\n{}\n{t}",
        failed.join("\n")
    );
}
