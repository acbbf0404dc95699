//! The pinned npm packages of `tests/support/node` (the TypeScript SDKs, the MCP Bundle
//! CLI): the first test that needs them installs them (`npm ci`, exactly the versions in
//! `package-lock.json`), once per checkout, under a file lock so that parallel tests and
//! parallel test processes neither install twice nor see a half-written `node_modules`. A
//! test that needs them and cannot get them FAILS with the reason: a fresh clone's
//! `cargo test` runs every test or says loudly what it could not run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// `tests/support/node`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/node")
}

/// Files whose presence means `npm ci` completed: each package's manifest, and npm's own
/// record of the installed tree (written last).
fn installed() -> bool {
    let modules = dir().join("node_modules");
    modules.join(".package-lock.json").is_file()
        && [
            "sdk-1.0",
            "sdk-latest",
            "@anthropic-ai/mcpb",
            "@modelcontextprotocol/inspector",
        ]
        .iter()
        .all(|m| modules.join(m).join("package.json").is_file())
}

fn npm() -> &'static str {
    if cfg!(windows) { "npm.cmd" } else { "npm" }
}

/// Makes sure node and the pinned packages are here, installing the packages if needed;
/// panics (fails the calling test) with what is missing and how to fix it.
pub fn require() {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let _one_thread = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
    let node = Command::new("node").arg("--version").output();
    match node {
        Ok(o) if o.status.success() => {}
        _ => panic!(
            "FAILED TO RUN: this test needs node (18+) on PATH (and npm, to install the pinned packages of {}). Install Node.js, then run cargo test again.",
            dir().display()
        ),
    }
    if installed() {
        return;
    }
    // Across processes (two `cargo test` runs, or nextest): an exclusive lock on a file
    // beside package.json, held while installing (std's `File::lock`, Rust 1.89).
    let lock_path = dir().join(".install.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap_or_else(|e| panic!("{}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
    if installed() {
        return;
    }
    eprintln!(
        "installing the pinned npm packages: npm ci --prefix {}",
        dir().display()
    );
    let out = Command::new(npm())
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(dir())
        .output();
    match out {
        Ok(o) if o.status.success() && installed() => {}
        Ok(o) => panic!(
            "FAILED TO RUN: `npm ci --prefix {}` failed ({}), so the tests that drive the official MCP clients cannot run:\n{}\n{}",
            dir().display(),
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "FAILED TO RUN: could not start npm ({e}) to install the pinned packages of {}: install Node.js with npm",
            dir().display()
        ),
    }
}
