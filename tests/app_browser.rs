//! The MCP App in a real browser (issue 22): Debian's `chromium`, driven by `playwright-core`
//! (pinned in `app/package-lock.json`), with the official ext-apps host bridge in a small
//! host page, against the real server over stdio. `app/test/browser.mjs` does the driving
//! and asserting (its header lists each assertion); this test gives it a clean environment
//! and checks its report. The screenshot stays in `target/app-browser/app-browser.png`.
//!
//! Without chromium or the node packages the test says it did not run; under `CI=true` it
//! fails (`.ci/run` installs both).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::app::{node_ready, repo};

const EXE: &str = env!("CARGO_BIN_EXE_editor-background-changer");

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

#[test]
fn app_in_chromium_previews_picks_a_backdrop_and_exports() {
    if !node_ready("the browser test") {
        return;
    }
    let Some(browser) = chromium() else {
        let why =
            "the browser test needs Debian's chromium (apt-get install chromium) or CHROMIUM=/path";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}");
        }
        eprintln!("NOT RUN: {why}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let shots = repo().join("target/app-browser");
    std::fs::create_dir_all(&shots).unwrap();
    let fixtures = std::env::var_os("EBC_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("tests/fixtures"));
    let mut cmd = Command::new("node");
    cmd.arg(repo().join("app/test/browser.mjs"))
        .current_dir(repo().join("app"));
    let out = crate::support::local_server_env(&mut cmd, d)
        .env("RUST_LOG", "warn")
        .env("EBC_TEST_EXE", EXE)
        .env("EBC_TEST_CLIP", fixtures.join("clips/talking_720p.mp4"))
        .env("EBC_TEST_OUT", &shots)
        .env("CHROMIUM", &browser)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{stderr}\n{stdout}"));
    assert!(
        out.status.success() && report["ok"] == true,
        "the browser test failed: {}\n{stderr}",
        report["error"]
    );
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        steps,
        [
            "app resource",
            "model calls",
            "preview has pixels",
            "backdrop click",
            "export",
            "screenshot"
        ]
    );
    let shot = shots.join("app-browser.png");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{}",
        shot.display()
    );
    eprintln!("browser test: {report}");
}
