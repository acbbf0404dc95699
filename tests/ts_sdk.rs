//! The official TypeScript SDK as a host (issue 12, `mcp-hosts.md` item 1): an old 1.0.x,
//! whose schemas know only 2024-11-05 content, and the newest, pinned in
//! `tests/support/node/package-lock.json` and installed by the first test that needs them
//! (`support::node_packages`: `npm ci`, once, under a lock). Each run
//! drives `tests/support/node/flow.mjs`: upload by `file:` URI → replace → export → upload
//! the returned link, every result parsed by that SDK's own schemas.
//!
//! Without node, or when the packages cannot be installed, these tests FAIL and say why:
//! they never pass without having run.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_editor-background-changer");

fn exe() -> PathBuf {
    std::env::var_os("EBC_TEST_EXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(EXE))
}

fn support() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/node")
}

/// Node and the pinned SDKs, installed on first use; the test fails without them.
fn ready() {
    crate::support::node_packages::require();
}

fn uri(path: &Path) -> String {
    url::Url::from_file_path(path).unwrap().to_string()
}

/// Run the flow with `sdk` asking for `requested` ("default": the SDK's own); its report.
fn run_flow(sdk: &str, requested: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let clips = d.join("my clips");
    std::fs::create_dir(&clips).unwrap();
    let clip = clips.join("résumé 视频.mp4");
    let fixtures = std::env::var_os("EBC_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    std::fs::copy(fixtures.join("clips/noaudio_640x360.mp4"), &clip).unwrap();
    let out = d.join("my exports");
    std::fs::create_dir(&out).unwrap();

    let mut cmd = Command::new("node");
    cmd.arg(support().join("flow.mjs"))
        .args([sdk, requested])
        .arg(exe())
        .arg(uri(&clip))
        .arg(format!("{}/", uri(&out)))
        .current_dir(support());
    crate::support::local_server_env(&mut cmd, d).env("RUST_LOG", "warn");
    let output = cmd.output().expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{sdk} asking for {requested} failed:\n{stderr}\n{stdout}"
    );
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("report is not JSON ({e}): {stdout}"))
}

/// The negotiated version, and that the export result carried a resource_link exactly when
/// that version defines it.
fn check(report: &Value, negotiated: &str) {
    assert_eq!(report["negotiated"], negotiated, "{report}");
    let steps = report["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 4, "{report}");
    assert!(steps.iter().all(|s| s["isError"] == false), "{report}");
    let export = steps.iter().find(|s| s["name"] == "export_video").unwrap();
    let has_link = export["types"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "resource_link");
    assert_eq!(has_link, negotiated >= "2025-06-18", "{report}");
    assert_eq!(
        report["structured"].is_object(),
        negotiated >= "2025-06-18",
        "{report}"
    );
}

#[test]
fn ts_sdk_1_0_4_on_2024_11_05() {
    ready();
    check(&run_flow("sdk-1.0", "default"), "2024-11-05");
}

#[test]
fn ts_sdk_newest_on_2025_03_26() {
    ready();
    check(&run_flow("sdk-latest", "2025-03-26"), "2025-03-26");
}

#[test]
fn ts_sdk_newest_on_2025_06_18() {
    ready();
    check(&run_flow("sdk-latest", "2025-06-18"), "2025-06-18");
}

#[test]
fn ts_sdk_newest_on_its_own_version() {
    ready();
    check(&run_flow("sdk-latest", "default"), "2025-11-25");
}
