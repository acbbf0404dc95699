//! `NemoClient` against the real embedded backend on a loopback port: token and session
//! bootstrap and persistence, every recovery of the contract through the backend's fault
//! injection (1001, 1002, 429, 2001, 402, silent replies, SSE disconnects), local 4001/4002
//! checks, and upload → edit → render → download of a fixture clip.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ebc::api::{self, RenderOutput, RenderState};
use ebc::backend::{self, BackendHandle};
use ebc::client::{ClientError, NemoClient};
use ebc::config::{BackendConfig, ClientConfig, Faults};

fn fixture(name: &str) -> PathBuf {
    let root = std::env::var_os("EBC_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    let p = root.join("clips").join(name);
    assert!(
        p.is_file(),
        "fixture {} missing (set EBC_FIXTURES)",
        p.display()
    );
    p
}

/// A backend on a free port with its data in `dir/data`.
async fn backend_in(dir: &Path, tweak: impl FnOnce(&mut BackendConfig)) -> BackendHandle {
    let mut cfg = BackendConfig::ephemeral(dir.join("data"));
    tweak(&mut cfg);
    backend::spawn(cfg).await.expect("backend starts")
}

/// The contract's defaults, with waits shortened so failures show fast.
fn config(be: &BackendHandle, state_dir: &Path) -> ClientConfig {
    let mut c = ClientConfig::new(be.url(), state_dir.to_path_buf(), "local");
    // The embedded backend's key, as the MCP server hands it over in-process.
    c.access_key = Some(be.access_key().to_string());
    c.rate_limit_wait = Duration::from_millis(100);
    c.recovery_first_poll = Duration::from_millis(50);
    c.recovery_max_wait = Duration::from_secs(30);
    c
}

fn client(be: &BackendHandle, state_dir: &Path) -> NemoClient {
    NemoClient::new(config(be, state_dir)).expect("client")
}

fn state_file(dir: &Path) -> serde_json::Value {
    let bytes = std::fs::read(dir.join("state-local.json")).expect("state file written");
    serde_json::from_slice(&bytes).expect("state file is JSON")
}

const EDIT: &str = "replace the background with a clean studio backdrop";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_persists_token_and_session_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |_| {}).await;
    let state_dir = dir.path().join("state");

    let first = client(&be, &state_dir);
    let session = first.ensure_session().await.unwrap();
    assert!(!session.session_id.is_empty());
    let credits = first.credits().await.unwrap();
    assert_eq!(credits.available, 10_000.0);

    let saved = state_file(&state_dir);
    let token = saved["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("nmv_usr_"));
    assert_eq!(saved["session_id"], session.session_id.as_str());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state_dir.join("state-local.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "state file mode {mode:o}");
    }
    let client_id = std::fs::read_to_string(state_dir.join("client_id")).unwrap();
    assert_eq!(first.client_id().unwrap(), client_id.trim());

    // A restarted server: same token, same session, no new anonymous token.
    let second = client(&be, &state_dir);
    assert_eq!(second.ensure_session().await.unwrap(), session);
    second.state().await.unwrap();
    assert_eq!(state_file(&state_dir)["token"], token.as_str());
    be.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_renewed_once_transparently() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |_| {}).await;
    let c = client(&be, &dir.path().join("state"));
    let session = c.ensure_session().await.unwrap();
    let old = state_file(&dir.path().join("state"))["token"].clone();

    be.set_faults(Faults {
        expire_tokens_now: true,
        ..Faults::default()
    });
    // 1001 → new token → the same call again, and the session survives.
    c.state().await.unwrap();
    let new = state_file(&dir.path().join("state"))["token"].clone();
    assert_ne!(old, new, "a new token was issued");
    assert_eq!(c.ensure_session().await.unwrap(), session);
    assert_eq!(c.credits().await.unwrap().available, 10_000.0);
    be.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_registered_token_asks_for_a_fresh_nemo_token() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |_| {}).await;
    let anonymous = client(&be, &dir.path().join("anon"));
    anonymous.ensure_session().await.unwrap();
    let token = state_file(&dir.path().join("anon"))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut cfg = config(&be, &dir.path().join("state"));
    cfg.token = Some(token.clone());
    let c = NemoClient::new(cfg).unwrap();
    assert!(c.is_registered());
    c.ensure_session().await.unwrap();
    c.credits().await.unwrap();
    // A NEMO_TOKEN is never written to the state file.
    let saved = std::fs::read_to_string(dir.path().join("state/state-local.json")).unwrap();
    assert!(!saved.contains(&token));

    be.set_faults(Faults {
        expire_tokens_now: true,
        ..Faults::default()
    });
    let err = c.credits().await.unwrap_err();
    assert!(
        matches!(err, ClientError::RegisteredTokenRejected { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("NEMO_TOKEN") && !err.to_string().contains(&token));
    be.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_session_is_replaced_once_transparently() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |_| {}).await;
    let c = client(&be, &dir.path().join("state"));
    let old = c.ensure_session().await.unwrap();

    be.set_faults(Faults {
        lose_sessions_now: true,
        ..Faults::default()
    });
    let state = c.state().await.unwrap();
    assert!(state.draft.is_none_or(|d| !d.is_exportable()));
    let new = c.ensure_session().await.unwrap();
    assert_ne!(new.session_id, old.session_id);
    assert_eq!(
        state_file(&dir.path().join("state"))["session_id"],
        new.session_id.as_str()
    );
    be.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_waits_for_retry_after_then_retries_once() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |_| {}).await;
    let c = client(&be, &dir.path().join("state"));
    c.ensure_session().await.unwrap();

    // One 429 with Retry-After: 1 → waits that second (not the 100 ms default), succeeds.
    be.set_faults(Faults {
        rate_limit_next: 1,
        retry_after_secs: 1,
        ..Faults::default()
    });
    let t = std::time::Instant::now();
    c.credits().await.unwrap();
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());

    // Two in a row: one retry only, then a message saying to wait.
    be.set_faults(Faults {
        rate_limit_next: 2,
        retry_after_secs: 0,
        ..Faults::default()
    });
    let err = c.credits().await.unwrap_err();
    assert!(matches!(err, ClientError::RateLimited { .. }), "{err}");
    assert!(err.to_string().contains("try again"), "{err}");
    // The fault is used up: the next call goes through.
    c.credits().await.unwrap();
    be.shutdown().await;
}

/// shared/cases/cloud.md 5: an anonymous user (`anon_…`, also when the token came in as
/// NEMO_TOKEN) gets nemovideo.com/register?bind=<user_id>.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_credits_gives_the_bind_link_or_a_top_up_hint() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |c| c.initial_credits = 0.0).await;
    let state_dir = dir.path().join("state");
    let c = client(&be, &state_dir);
    c.upload_files(&[fixture("noaudio_640x360.mp4")])
        .await
        .unwrap();
    let err = c.run(EDIT, None).await.unwrap_err();
    let user_id = state_file(&state_dir)["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(user_id.starts_with("anon_"), "{user_id}");
    let link = format!("https://nemovideo.com/register?bind={user_id}");
    assert!(
        matches!(&err, ClientError::OutOfCredits { register_link: Some(l), .. } if *l == link),
        "{err:?}"
    );
    assert!(err.to_string().contains(&link), "{err}");

    // The same anonymous token set as NEMO_TOKEN: still anonymous, still the bind link.
    let token = state_file(&state_dir)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut cfg = config(&be, &dir.path().join("as-env"));
    cfg.token = Some(token);
    let from_env = NemoClient::new(cfg).unwrap();
    from_env
        .upload_files(&[fixture("noaudio_640x360.mp4")])
        .await
        .unwrap();
    let err = from_env.run(EDIT, None).await.unwrap_err().to_string();
    assert!(err.contains(&link), "{err}");
    be.shutdown().await;
    // A registered user (a user id other than `anon_…`) is told to top up instead: the
    // embedded backend has anonymous users only, so `client::error`'s unit tests cover it.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_and_too_large_files_are_caught_before_uploading() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |_| {}).await;
    let c = client(&be, &dir.path().join("state"));

    let err = c
        .upload_files(&[fixture("not_a_video.mp4")])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ClientError::UnsupportedFile { .. }), "{text}");
    assert!(
        text.contains("not_a_video.mp4") && text.contains(&api::accepted_formats_text()),
        "{text}"
    );

    let big = dir.path().join("big.mp4");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&big).unwrap();
        f.write_all(b"\0\0\0\x20ftypisom").unwrap();
        f.set_len(api::MAX_UPLOAD_BYTES + 1).unwrap(); // sparse
    }
    // The good clip in the same call is not uploaded either: all files are checked first.
    let err = c
        .upload_files(&[fixture("noaudio_640x360.mp4"), big])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ClientError::FileTooLarge { .. }), "{text}");
    assert!(text.contains("500 MB") && text.contains("ffmpeg"), "{text}");

    // Nothing reached the session.
    let state = c.state().await.unwrap();
    assert!(state.draft.is_none_or(|d| !d.is_exportable()));
    be.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_without_attribution_is_402_and_the_client_always_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |_| {}).await;
    let c = client(&be, &dir.path().join("state"));
    c.upload_files(&[fixture("noaudio_640x360.mp4")])
        .await
        .unwrap();
    let session = c.ensure_session().await.unwrap();
    let draft = c.run(EDIT, None).await.unwrap().draft.unwrap();
    let token = state_file(&dir.path().join("state"))["token"]
        .as_str()
        .unwrap()
        .to_string();

    // The server side: a raw request without the three headers.
    let body = api::RenderRequest {
        id: "render_raw".into(),
        session_id: session.session_id.clone(),
        draft: draft.clone(),
        output: test_output(),
    };
    let resp = reqwest::Client::new()
        .post(format!("{}{}", be.url(), api::paths::RENDER))
        .header("X-Access-Key", be.access_key())
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    assert_eq!(status, 402);
    let bytes = resp.bytes().await.unwrap();
    let failure = api::decode_envelope::<serde_json::Value>(status, &bytes).unwrap_err();
    let err = ebc::client::error::from_failure(
        status,
        failure,
        &ebc::client::error::FailureContext::default(),
    );
    assert!(matches!(err, ClientError::ExportNeedsPlan), "{err}");
    assert!(err.to_string().contains("not about credits"));

    // The client sends them on every request, so the same export is accepted.
    let started = c.start_render(&draft, test_output()).await.unwrap();
    assert!(started.id.starts_with("render_"));
    c.cancel_render(&started.id).await.unwrap();
    assert_eq!(c.pending_render(), None);
    be.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_reply_is_described_from_the_draft_diff() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |_| {}).await;
    let c = client(&be, &dir.path().join("state"));
    c.upload_files(&[fixture("noaudio_640x360.mp4")])
        .await
        .unwrap();
    be.set_faults(Faults {
        silent_replies: true,
        ..Faults::default()
    });
    let out = c.run(EDIT, None).await.unwrap();
    assert_eq!(out.text, "");
    assert!(!out.recovered_after_disconnect);
    assert_eq!(out.tool_calls, vec!["set_background"]);
    assert_eq!(out.changes.len(), 1, "{:?}", out.changes);
    let change = &out.changes[0];
    assert!(
        change.starts_with("video 'noaudio_640x360.mp4': background set to "),
        "{change}"
    );
    let seg = out.draft.as_ref().unwrap().video_segments().next().unwrap();
    let desc = seg.meta_str("bg_desc").unwrap();
    assert!(change.ends_with(desc), "{change} vs {desc}");
    be.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_mid_stream_is_recovered_by_polling_without_resending() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |_| {}).await;
    let c = client(&be, &dir.path().join("state"));
    c.upload_files(&[fixture("noaudio_640x360.mp4")])
        .await
        .unwrap();
    let before = c.credits().await.unwrap().available;
    // Slow edits, so the first poll right after the drop sees no change yet.
    be.set_faults(Faults {
        disconnect_sse: true,
        slow_ms: 300,
        ..Faults::default()
    });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = c.run(EDIT, Some(tx)).await.unwrap();
    be.set_faults(Faults::default());
    assert!(out.recovered_after_disconnect);
    assert_eq!(out.text, "");
    assert!(
        out.changes
            .iter()
            .any(|c| c.starts_with("video 'noaudio_640x360.mp4': background set to ")),
        "{:?}",
        out.changes
    );
    // The backend charges one credit per edit message: exactly one was received.
    let after = c.credits().await.unwrap().available;
    assert_eq!(before - after, 1.0);
    let first = rx.try_recv().unwrap();
    assert!(
        first.message.contains("instead of sending"),
        "{}",
        first.message
    );
    be.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_edit_render_survives_a_restart_and_downloads() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |_| {}).await;
    let state_dir = dir.path().join("state");
    let c = client(&be, &state_dir);
    let files = c
        .upload_files(&[fixture("noaudio_640x360.mp4")])
        .await
        .unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!((files[0].width, files[0].height), (640, 360));
    assert_eq!(files[0].file_type, "video");

    let out = c.run(EDIT, None).await.unwrap();
    assert!(!out.text.is_empty() && !out.recovered_after_disconnect);
    assert_eq!(out.tool_calls, vec!["set_background"]);
    assert!(
        out.changes[0].contains("background set to"),
        "{:?}",
        out.changes
    );
    let draft = out.draft.unwrap();
    assert!(draft.is_exportable());

    // Hold the render so the restart happens while it is under way.
    be.set_faults(Faults {
        hold_renders: true,
        ..Faults::default()
    });
    let started = c.start_render(&draft, test_output()).await.unwrap();
    assert_eq!(c.pending_render().as_deref(), Some(started.id.as_str()));
    drop(c);

    let restarted = client(&be, &state_dir);
    let id = restarted.pending_render().expect("pending render survives");
    assert_eq!(id, started.id);
    be.set_faults(Faults::default());
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let status = loop {
        let s = restarted.render_status(&id).await.unwrap();
        assert_ne!(s.status, RenderState::Failed, "{:?}", s.error);
        if s.status == RenderState::Completed {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "render still {:?}", s);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let dest = dir.path().join("out").join("export.mp4");
    let bytes = restarted.download_render(&status, &dest).await.unwrap();
    assert_eq!(bytes, std::fs::metadata(&dest).unwrap().len());
    assert_eq!(restarted.pending_render(), None);
    // Only the export is left in the folder: no temp files.
    assert_eq!(
        std::fs::read_dir(dest.parent().unwrap()).unwrap().count(),
        1
    );
    let probe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
        .args([
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
        ])
        .args(["-of", "csv=p=0"])
        .arg(&dest)
        .output()
        .unwrap();
    let facts = String::from_utf8_lossy(&probe.stdout);
    assert_eq!(facts.trim(), "h264,640,360,60", "ffprobe: {facts}");

    // An output URL that cannot be fetched falls back to the download endpoint.
    let mut unreachable = status.clone();
    unreachable.output_url = Some("http://127.0.0.1:1/gone.mp4".into());
    unreachable.output = None;
    let again = dir.path().join("out").join("again.mp4");
    let n = restarted
        .download_render(&unreachable, &again)
        .await
        .unwrap();
    assert_eq!(n, bytes);
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&dest).unwrap()
    );
    be.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_header_override_and_detection() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ClientConfig::new("http://127.0.0.1:9", dir.path().to_path_buf(), "local");
    cfg.platform = Some("cursor".into());
    assert_eq!(NemoClient::new(cfg).unwrap().platform(), "cursor");
    // The test binary lives under target/…/deps: no skills folder, no .cursor.
    let plain = NemoClient::new(ClientConfig::new(
        "http://127.0.0.1:9",
        dir.path().to_path_buf(),
        "local",
    ))
    .unwrap();
    let exe = std::env::current_exe().unwrap();
    let cwd = std::env::current_dir().unwrap();
    let expected = ebc::client::platform::detect(None, Some(&exe), Some(&cwd));
    assert_eq!(plain.platform(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_client_id_is_replaced_and_the_token_call_retried() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |_| {}).await;
    let state_dir = dir.path().join("state");
    std::fs::create_dir_all(&state_dir).unwrap();
    // The backend refuses ids over 200 characters with HTTP 400, as if it were missing.
    let refused = "x".repeat(201);
    std::fs::write(state_dir.join("client_id"), &refused).unwrap();
    let c = client(&be, &state_dir);
    c.ensure_session().await.unwrap();
    let id = c.client_id().unwrap();
    assert_ne!(id, refused);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let on_disk = std::fs::read_to_string(state_dir.join("client_id")).unwrap();
    assert_eq!(on_disk.trim(), id);
    be.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_a_slow_edit_alive_and_notices_flow() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |c| c.sse_heartbeat = Duration::from_millis(20)).await;
    let mut cfg = config(&be, &dir.path().join("state"));
    cfg.notice_every = Duration::from_millis(100);
    // Heartbeats alone for longer than this would time the run out; real events reset it.
    cfg.heartbeat_only_timeout = Duration::from_secs(30);
    let c = NemoClient::new(cfg).unwrap();
    c.upload_files(&[fixture("noaudio_640x360.mp4")])
        .await
        .unwrap();
    be.set_faults(Faults {
        slow_ms: 600,
        ..Faults::default()
    });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = c.run(EDIT, Some(tx)).await.unwrap();
    be.set_faults(Faults::default());
    assert!(out.text.starts_with("Done"), "{}", out.text);
    let mut notices = Vec::new();
    while let Ok(n) = rx.try_recv() {
        notices.push(n.message);
    }
    assert!(!notices.is_empty());
    assert!(
        notices.iter().all(|m| m == ebc::client::STILL_WORKING),
        "{notices:?}"
    );
    be.shutdown().await;
}

// ---- The documented dialects (issue 9): a real server answering in each shape. ----

use ebc::backend::LoggedRequest;
use ebc::config::{Dialect, SseDialect};

const DIALECTS: [Dialect; 4] = [
    Dialect::Native,
    Dialect::Seed,
    Dialect::V44,
    Dialect::Legacy,
];

async fn dialect_backend(dir: &Path, dialect: Dialect, sse: SseDialect) -> BackendHandle {
    backend_in(dir, |c| {
        c.dialect = dialect;
        c.sse_dialect = sse;
        c.log_requests = true;
    })
    .await
}

fn created_languages(log: &[LoggedRequest]) -> Vec<String> {
    log.iter()
        .filter(|r| r.path == api::paths::CREATE_SESSION)
        .filter_map(|r| {
            r.body
                .as_ref()?
                .get("language")?
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

/// Upload, an edit, the timeline, a held render's submit and status answers, and cancel,
/// against the backend in each dialect and SSE shape: the client reads every answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dialect_is_understood() {
    for dialect in DIALECTS {
        for sse in [SseDialect::Adk, SseDialect::Typed] {
            let dir = tempfile::tempdir().unwrap();
            let be = dialect_backend(dir.path(), dialect, sse).await;
            let c = client(&be, &dir.path().join("state"));
            let what = format!("{dialect:?}/{sse:?}");
            let files = c
                .upload_files(&[fixture("noaudio_640x360.mp4")])
                .await
                .unwrap_or_else(|e| panic!("{what}: upload: {e}"));
            assert_eq!((files[0].width, files[0].height), (640, 360), "{what}");
            let session = c.ensure_session().await.unwrap();
            assert!(session.user_id.starts_with("anon_"), "{what}");
            if dialect != Dialect::Native {
                assert!(
                    session.session_id.bytes().all(|b| b.is_ascii_digit()),
                    "{what}: {}",
                    session.session_id
                );
            }
            // Typed events and plain ADK runs carry no turnComplete: the clean end of the
            // stream is the end of the turn, with no recovery wait.
            let t = std::time::Instant::now();
            let out = c
                .run(EDIT, None)
                .await
                .unwrap_or_else(|e| panic!("{what}: run: {e}"));
            assert!(!out.recovered_after_disconnect, "{what}");
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "{what}: {:?}",
                t.elapsed()
            );
            assert!(out.text.starts_with("Done"), "{what}: {}", out.text);
            assert_eq!(out.tool_calls, vec!["set_background"], "{what}");
            let draft = c.state().await.unwrap().draft.unwrap();
            let summary = ebc::mcp::timeline::summary(Some(&draft));
            assert!(
                summary.starts_with(
                    "Timeline (1 track): 1. Video: noaudio_640x360.mp4 (0-2s, background: "
                ),
                "{what}: {summary}"
            );
            be.set_faults(Faults {
                hold_renders: true,
                ..Faults::default()
            });
            let started = c
                .start_render(&draft, test_output())
                .await
                .unwrap_or_else(|e| panic!("{what}: submit: {e}"));
            assert!(started.id.starts_with("render_"), "{what}: {started:?}");
            assert!(!started.status.is_final(), "{what}");
            let status = c.render_status(&started.id).await.unwrap();
            assert_eq!(status.id, started.id, "{what}");
            assert!(!status.status.is_final(), "{what}: {status:?}");
            c.cancel_render(&started.id).await.unwrap();
            let log = be.requests();
            assert!(log.iter().all(LoggedRequest::attributed), "{what}");
            be.shutdown().await;
        }
    }
}

/// The session is created in the language of the user's words; before any text, in the
/// OS locale's; a session an upload made in the locale's language is made again in the
/// user's at their first message, with the upload added again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_language_follows_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let be = dialect_backend(dir.path(), Dialect::Seed, SseDialect::Adk).await;

    let mut cfg = config(&be, &dir.path().join("ja"));
    cfg.locale = Some("ja_JP.UTF-8".into());
    let ja = NemoClient::new(cfg).unwrap();
    ja.ensure_session().await.unwrap();
    assert_eq!(ja.session_language().as_deref(), Some("ja"));

    let mut cfg = config(&be, &dir.path().join("zh"));
    cfg.locale = Some("en_US.UTF-8".into());
    let zh = NemoClient::new(cfg).unwrap();
    zh.upload_files(&[fixture("noaudio_640x360.mp4")])
        .await
        .unwrap();
    let first = zh.ensure_session().await.unwrap();
    assert_eq!(zh.session_language().as_deref(), Some("en"));
    let out = zh.run("把背景换成白色", None).await.unwrap();
    assert_eq!(zh.session_language().as_deref(), Some("zh-CN"));
    let second = zh.ensure_session().await.unwrap();
    assert_ne!(first.session_id, second.session_id);
    assert!(out.draft.unwrap().is_exportable(), "the clip came along");
    // A session that has had a message stays.
    zh.run("replace the background with a clean studio backdrop", None)
        .await
        .unwrap();
    assert_eq!(zh.ensure_session().await.unwrap(), second);
    assert_eq!(created_languages(&be.requests()), vec!["ja", "en", "zh-CN"]);
    be.shutdown().await;
}

/// A typed error keeps its detail, a trailing "temporary issue" is dropped, ADK's 404 for an
/// unknown session counts as 1002, and the browser link never carries the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_details_and_the_claim_link() {
    let dir = tempfile::tempdir().unwrap();
    let be = dialect_backend(dir.path(), Dialect::Seed, SseDialect::Adk).await;
    let c = client(&be, &dir.path().join("state"));
    c.upload_files(&[fixture("noaudio_640x360.mp4")])
        .await
        .unwrap();
    be.set_faults(Faults {
        trailing_temporary_issue: true,
        ..Faults::default()
    });
    let out = c.run(EDIT, None).await.unwrap();
    assert!(out.text.starts_with("Done"), "{}", out.text);
    assert!(!out.text.contains("temporary issue"), "{}", out.text);
    be.set_faults(Faults::default());

    // ADK's answer for a session it does not know.
    let token = state_file(&dir.path().join("state"))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = reqwest::Client::new()
        .post(format!("{}{}", be.url(), api::paths::RUN_SSE))
        .header("X-Access-Key", be.access_key())
        .bearer_auth(&token)
        .json(&api::RunSseRequest::new("1234567890123456789", EDIT))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap();
    assert_eq!(status, 404);
    assert!(
        String::from_utf8_lossy(&body).contains("Session not found"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let failure = api::decode_envelope::<serde_json::Value>(status, &body).unwrap_err();
    assert!(
        matches!(failure, api::ApiFailure::Code { code: 1002, .. }),
        "{failure:?}"
    );

    let link = c.claim_link().await.unwrap();
    assert!(
        link.starts_with("https://nemovideo.com/workspace/claim?ct=clm_"),
        "{link}"
    );
    assert!(
        !link.contains(&token) && !link.contains("nmv_usr_"),
        "{link}"
    );
    be.shutdown().await;
}

/// A 429 on the token call is the one-token-per-device-per-7-days allowance, said at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_token_call_explains_the_weekly_allowance() {
    let dir = tempfile::tempdir().unwrap();
    let be = backend_in(dir.path(), |_| {}).await;
    be.set_faults(Faults {
        rate_limit_next: 1,
        retry_after_secs: 0,
        ..Faults::default()
    });
    let c = client(&be, &dir.path().join("state"));
    let err = c.credits().await.unwrap_err();
    assert!(matches!(err, ClientError::TokenLimit), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("7 days") && text.contains("NEMO_TOKEN"),
        "{text}"
    );
    be.shutdown().await;
}

/// A render's output settings with the suite's matte (`support::TEST_MATTE`): these
/// renders are not about the matte.
fn test_output() -> RenderOutput {
    RenderOutput {
        matte: Some(crate::support::TEST_MATTE.into()),
        ..RenderOutput::default()
    }
}
