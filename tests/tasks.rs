//! The 2026-07-28 tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663; issue 22 item
//! 3) with rmcp's client: upload, replace, edit and export answer a client that declared the
//! extension with a task (explicit TTL), `tasks/get` follows it to the tool's result, and a
//! server killed mid-export and started again on the same dirs reaches the finished file
//! under the same task id. Clients without the extension keep the `job_id` continuation
//! (tests/app.rs, tests/mcp.rs).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rmcp::{
    RoleClient,
    model::{
        CallToolRequestParams, CallToolResponse, ClientCapabilities, ClientConfig, GetTaskParams,
        Implementation, ProtocolVersion, TaskPayload, TaskStatus,
    },
    service::{ClientLifecycleMode, ClientServiceExt, RunningService},
    transport::TokioChildProcess,
};
use serde_json::{Value, json};

/// What this server promises: a task lives a day (`tasks/get` answers for that long).
const TTL_MS: u64 = 24 * 60 * 60 * 1000;

fn exe() -> PathBuf {
    std::env::var_os("EBC_TEST_EXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_editor-background-changer")))
}

fn clip() -> PathBuf {
    std::env::var_os("EBC_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
        .join("clips/talking_720p.mp4")
}

type Client = RunningService<RoleClient, ClientConfig>;

/// rmcp's client on 2026-07-28 (no handshake), declaring the tasks extension; the server's pid.
async fn server(dir: &Path) -> (Client, u32) {
    let mut cmd = tokio::process::Command::new(exe());
    cmd.arg("serve");
    crate::support::local_server_env(cmd.as_std_mut(), dir).env("RUST_LOG", "info");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .unwrap();
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn the server");
    let pid = transport.id().expect("pid");
    let info = ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("tasks-test", "1"),
    )
    .with_protocol_version(ProtocolVersion::V_2026_07_28);
    let client = info
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("discover");
    (client, pid)
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

/// Start `name` and return its task id (the call must answer with a task).
async fn start_task(c: &Client, dir: &Path, name: &str, args: Value) -> String {
    let args = crate::support::with_test_matte(name, args);
    let params = CallToolRequestParams::new(name.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    match c.call_tool_once(params).await {
        Ok(CallToolResponse::Task(t)) => {
            assert_eq!(t.task.ttl_ms, Some(TTL_MS), "explicit TTL");
            assert_eq!(t.task.status, TaskStatus::Working);
            let message = t.task.status_message.clone().unwrap_or_default();
            assert!(
                !message.contains("job_id"),
                "{name}: a task client is not told to call again with job_id: {message}"
            );
            t.task.task_id
        }
        Ok(other) => panic!("{name}: not a task: {other:?}"),
        Err(e) => panic!("{name}: {e}\n{}", log(dir)),
    }
}

/// Poll `tasks/get` at the server's suggested interval until the task ends; its result.
async fn finish(c: &Client, dir: &Path, id: &str) -> Value {
    let until = Instant::now() + Duration::from_secs(600);
    loop {
        let got = c
            .get_task(GetTaskParams::new(id))
            .await
            .unwrap_or_else(|e| panic!("tasks/get {id}: {e}\n{}", log(dir)));
        assert_eq!(got.task.task.task_id, id);
        match got.task.payload {
            TaskPayload::Working => {
                let message = got.task.task.status_message.clone().unwrap_or_default();
                assert!(!message.contains("job_id"), "tasks/get {id}: {message}");
            }
            TaskPayload::Completed { result } => return Value::Object(result),
            other => panic!("task {id} ended {other:?}\n{}", log(dir)),
        }
        assert!(Instant::now() < until, "task {id} still working");
        let every = got.task.task.poll_interval_ms.unwrap_or(1000);
        tokio::time::sleep(Duration::from_millis(every)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_reach_the_file_across_a_killed_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (c, pid) = server(d).await;
    let up = start_task(&c, d, "upload_media", json!({"media": [clip()]})).await;
    let r = finish(&c, d, &up).await;
    assert_eq!(r["structuredContent"]["status"], "completed", "{r}");
    let rb = start_task(&c, d, "replace_background", json!({"backdrop": "blur"})).await;
    let r = finish(&c, d, &rb).await;
    assert_ne!(r["isError"], true, "{r}");
    assert!(r["structuredContent"]["timeline"].is_string(), "{r}");

    let ed = start_task(
        &c,
        d,
        "edit_video",
        json!({"operations": [{"op": "title", "text": "Tasks", "end_s": 1}]}),
    )
    .await;
    let r = finish(&c, d, &ed).await;
    assert_ne!(r["isError"], true, "{r}");
    assert!(
        r["structuredContent"]["timeline"]
            .as_str()
            .is_some_and(|t| t.contains("Tasks")),
        "{r}"
    );

    let out = d.join("kept.mp4");
    let ex = start_task(&c, d, "export_video", json!({"output_path": out})).await;
    let record = d.join(format!("state/jobs/{ex}.json"));
    let rec: Value =
        serde_json::from_str(&std::fs::read_to_string(&record).expect("record")).unwrap();
    assert_eq!(rec["state"], "running", "{rec}");
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = c.cancel().await;
    assert!(!out.exists(), "nothing saved before the kill");

    let (c, _) = server(d).await;
    let r = finish(&c, d, &ex).await;
    assert_eq!(
        r["structuredContent"]["path"],
        out.to_string_lossy().as_ref(),
        "{r}"
    );
    assert_eq!(r["structuredContent"]["job_id"], ex.as_str(), "{r}");
    assert!(std::fs::metadata(&out).unwrap().len() > 10_000);
    let _ = c.cancel().await;
}

/// The same with the official Python SDK 2.3 in modern mode (`mode="2026-07-28"`). It ships
/// no tasks client for 2026-07-28 (see tests/support/python/tasks.py for what it lacks), so
/// the script adds one through the SDK's own extension API (`ClientExtension` + a
/// `ResultClaim` on `resultType: "task"`) and sends `tasks/get` through
/// `ClientSession.send_request`: upload and replace resolved as tasks by polling; export held
/// as a task, one `tasks/get` (working), the server SIGKILLed (record `running`, nothing
/// saved), a new server on the same dirs, `tasks/get` of the same id to the saved file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_tasks_reach_the_file_across_a_killed_server() {
    let python = tokio::task::spawn_blocking(crate::support::python_venv::require)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("kept.mp4");
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(crate::support::python_venv::dir().join("tasks.py"))
        .arg(exe())
        .arg(clip())
        .arg(&out);
    crate::support::local_server_env(cmd.as_std_mut(), d).env("RUST_LOG", "info");
    let output = cmd
        .output()
        .await
        .expect("run tests/support/python/tasks.py");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "tasks.py failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON report:\n{stdout}\n{stderr}"));
    assert_eq!(report["negotiated"], "2026-07-28", "{report}");
    let resolved = report["resolved_by_claim"].as_object().expect("{report}");
    assert_eq!(resolved.len(), 2, "upload and replace were tasks: {report}");
    for (id, statuses) in resolved {
        let s = statuses.as_array().unwrap();
        assert_eq!(s.last().unwrap(), "completed", "{id}: {report}");
    }
    let export = &report["export"];
    assert_eq!(export["resultType"], "task", "{report}");
    assert_eq!(export["ttlMs"], TTL_MS, "explicit TTL: {report}");
    let message = export["statusMessage"].as_str().unwrap_or_default();
    assert!(
        !message.contains("job_id"),
        "a task client is not told to call again with job_id: {message}"
    );
    assert_eq!(report["export_first_get"], "working", "{report}");
    assert_eq!(report["record_after_kill"], "running", "{report}");
    assert_eq!(report["saved_before_restart"], false, "{report}");
    let id = export["taskId"].as_str().unwrap();
    let done = &report["export_result"];
    assert_eq!(done["path"], out.to_string_lossy().as_ref(), "{report}");
    assert_eq!(done["job_id"], id, "the same id reached the file: {report}");
    assert!(std::fs::metadata(&out).unwrap().len() > 10_000);
}
