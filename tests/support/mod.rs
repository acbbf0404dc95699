//! Helpers shared by the test modules (the Node SDK's flow lives beside this file, in
//! `node/`).

use std::path::Path;

pub mod node_packages;
pub mod python_venv;

/// The matte the suite's renders ask for when they are not about the matte. The default
/// matte may run MODNet (`balanced`), which is slow in the test profile; a test about the
/// default asks for nothing and checks the name the render reports (issue 23).
pub const TEST_MATTE: &str = "fast";

/// MCP tool arguments with `"matte": TEST_MATTE` added to a new `export_video` call that
/// names no matte (a call continuing a job by its `job_id` is left alone). Every MCP
/// harness of the suite passes its arguments through here.
pub fn with_test_matte(tool: &str, mut args: serde_json::Value) -> serde_json::Value {
    if tool == "export_video"
        && let Some(obj) = args.as_object_mut()
        && !obj.contains_key("matte")
        && !obj.contains_key("job_id")
    {
        obj.insert("matte".into(), TEST_MATTE.into());
    }
    args
}

/// The engine's options of [`TEST_MATTE`], for renders through the engine's API
/// (`ReplaceOptions::matte`, `TimelineOptions::matte`).
pub fn test_matte_options() -> ebc::engine::matte::MatteOptions {
    let mode = ebc::engine::matte::MatteMode::parse(TEST_MATTE).expect("a matte name");
    ebc::engine::matte::MatteOptions::for_mode(mode)
}

/// A backend render request's `output` with `"matte": TEST_MATTE` added when it names none.
pub fn with_test_output_matte(mut body: serde_json::Value) -> serde_json::Value {
    if let Some(out) = body.get_mut("output").and_then(|o| o.as_object_mut()) {
        out.entry("matte").or_insert_with(|| TEST_MATTE.into());
    }
    body
}

/// `cmd` with the environment of a user whose home is `dir`, on the embedded backend: only
/// `PATH` is kept; `HOME` = `dir`, `EBC_BACKEND=local`, state and data in `dir/state` and
/// `dir/data`. (`RUST_LOG` and anything else is the caller's.) A tokio command passes
/// `as_std_mut()`.
pub fn local_server_env<'c>(
    cmd: &'c mut std::process::Command,
    dir: &Path,
) -> &'c mut std::process::Command {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("EBC_BACKEND", "local")
        .env("EBC_STATE_DIR", dir.join("state"))
        .env("EBC_DATA_DIR", dir.join("data"))
}

/// The built binary's `backend` command on a free loopback port, as a separate process; its
/// URL is read from the line it prints to stderr. Killed (SIGKILL) and reaped when dropped.
pub struct BackendProc {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its access key, read from `DATA/access_key` as a user would.
    pub key: String,
}

impl Drop for BackendProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `editor-background-changer backend --listen 127.0.0.1:0 --data-dir DATA ARGS…` and
/// wait until it says where it listens (no sleeps: the line is printed once the socket is
/// bound). Its stderr keeps being drained so the child never blocks on a full pipe.
pub fn backend_binary(data: &Path, args: &[&str]) -> BackendProc {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_editor-background-changer"))
        .args(["backend", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting the backend binary");
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the backend exited before saying where it listens")
            .unwrap();
        // The command's own line (printed once the key file is written), not the log's.
        if line.starts_with("editor-background-changer backend listening on ")
            && let Some(rest) = line.split("listening on ").nth(1)
        {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let key = std::fs::read_to_string(data.join("access_key"))
        .expect("the backend wrote its access key before saying where it listens")
        .trim()
        .to_string();
    BackendProc { child, url, key }
}
