//! The official Python MCP SDK (`mcp==2.3.0` from PyPI) in a virtual environment of its own,
//! `tests/support/python/.venv`, made by the first test that needs it (`python3 -m venv`, then
//! pip), once per checkout, under a file lock — as `node_packages` does for the npm packages.
//! A test that needs it and cannot get it FAILS with the reason (no python3, no `venv`
//! module: Debian's `python3-venv`, no PyPI): it never passes without having run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The pinned SDK: the version issue 22 names.
pub const MCP_SDK: &str = "mcp==2.3.0";

/// `tests/support/python`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/python")
}

fn venv() -> PathBuf {
    dir().join(".venv")
}

/// The venv's interpreter.
pub fn python() -> PathBuf {
    if cfg!(windows) {
        venv().join("Scripts/python.exe")
    } else {
        venv().join("bin/python")
    }
}

/// The SDK is importable at the pinned version (the marker is written after pip succeeded).
fn installed() -> bool {
    venv().join(".installed").is_file()
        && std::fs::read_to_string(venv().join(".installed")).is_ok_and(|s| s.trim() == MCP_SDK)
}

fn run(cmd: &mut Command, what: &str) {
    match cmd.output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "FAILED TO RUN: {what} failed ({}):\n{}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("FAILED TO RUN: {what} could not start: {e}"),
    }
}

/// Makes sure the venv with the pinned SDK exists, making it if needed; returns its python.
/// Panics (fails the calling test) with what is missing and how to fix it.
pub fn require() -> PathBuf {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let _one_thread = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
    if installed() {
        return python();
    }
    let python3 = if cfg!(windows) { "python" } else { "python3" };
    match Command::new(python3).arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => panic!(
            "FAILED TO RUN: this test needs {python3} (3.10+) on PATH to run the official Python MCP SDK ({MCP_SDK}); install it (Debian: apt-get install python3 python3-venv)"
        ),
    }
    std::fs::create_dir_all(dir()).expect("tests/support/python");
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
        return python();
    }
    let _ = std::fs::remove_dir_all(venv());
    eprintln!("making {} with {MCP_SDK}", venv().display());
    run(
        Command::new(python3).args(["-m", "venv"]).arg(venv()),
        &format!(
            "`{python3} -m venv {}` (Debian needs the python3-venv package)",
            venv().display()
        ),
    );
    run(
        Command::new(python())
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(MCP_SDK),
        &format!("`pip install {MCP_SDK}` from PyPI"),
    );
    std::fs::write(venv().join(".installed"), MCP_SDK).expect("venv marker");
    python()
}
