//! Exhaustion attacks on the embedded backend (issue 20, cases 7b and 7c of
//! `/work/shared/cases/security.md`), over real HTTP on loopback with the default limits:
//! sign-ups, tokens and sessions without end, uploads past the storage quota, many files in
//! one request, clips faster than the frame-rate cap that report a sane rate, and slow
//! headers and bodies that hold connections. Each test tries several instances of its kind
//! and reports every one that got through; each was watched fail on the code before its fix
//! (docs/notes/issue-20.md, "Round 7").

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use ebc::backend::BackendHandle;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::attacks::{Api, made, start, web};
use crate::clip_util::{clip, tempdir};

/// The body code of a standing limit (`api::CODE_LIMIT_REACHED`).
const LIMIT_CODE: i64 = 4291;

/// Ask for a token as `client_id`, from `local` (a loopback address of the caller's
/// socket), with `extra` headers.
async fn mint(
    b: &BackendHandle,
    client_id: &str,
    local: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, Value, Option<String>) {
    let ip: IpAddr = local.parse().unwrap();
    let http = reqwest::Client::builder()
        .local_address(ip)
        .build()
        .unwrap();
    let mut r = http
        .post(format!("{}/api/auth/anonymous-token", b.url()))
        .header("X-Client-Id", client_id)
        .header("X-Access-Key", b.access_key());
    for (k, v) in extra {
        r = r.header(*k, *v);
    }
    answer(r.send().await.unwrap()).await
}

/// A response's status, JSON body (null when it is none) and `Retry-After` header.
async fn answer(r: reqwest::Response) -> (StatusCode, Value, Option<String>) {
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (r.status(), r.json().await.unwrap_or(Value::Null), retry)
}

/// A refusal of a standing limit: HTTP 429, body code 4291, a message naming `limit`, and a
/// `Retry-After` of hours (not "wait a minute").
fn is_limit(st: StatusCode, v: &Value, retry: &Option<String>, limit: &str) -> bool {
    let msg = v["message"].as_str().unwrap_or_default();
    st == StatusCode::TOO_MANY_REQUESTS
        && v["code"] == json!(LIMIT_CODE)
        && msg.contains(limit)
        && msg.contains("try again in")
        && retry
            .as_deref()
            .and_then(|r| r.parse::<u64>().ok())
            .is_some_and(|s| s > 3600)
}

/// Case 7b: new users per source. Ten new client ids from loopback get users; the eleventh
/// is refused however the caller dresses it up — another loopback address for its socket
/// (127.0.0.2, 127.0.0.3), or `X-Forwarded-For` / `X-Real-IP` / `Forwarded` headers naming
/// other addresses. A client id that already has a user still gets a token.
#[tokio::test]
async fn sign_ups_are_limited_per_source() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let first = uuid::Uuid::new_v4().to_string();
    let (st, v, _) = mint(&b, &first, "127.0.0.1", &[]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    for i in 1..10 {
        let (st, v, _) = mint(&b, &uuid::Uuid::new_v4().to_string(), "127.0.0.1", &[]).await;
        assert_eq!(st, StatusCode::OK, "sign-up {i}: {v}");
    }
    let dressed: [(&str, &[(&str, &str)]); 6] = [
        ("127.0.0.1", &[]),
        ("127.0.0.2", &[]),
        ("127.0.0.3", &[]),
        ("127.0.0.1", &[("X-Forwarded-For", "203.0.113.9")]),
        ("127.0.0.4", &[("X-Real-IP", "198.51.100.7")]),
        ("127.0.0.1", &[("Forwarded", "for=192.0.2.60;proto=http")]),
    ];
    let mut through = Vec::new();
    for (local, headers) in dressed {
        let (st, v, retry) = mint(&b, &uuid::Uuid::new_v4().to_string(), local, headers).await;
        if !is_limit(st, &v, &retry, "new_users_per_source") {
            through.push(format!(
                "from {local} {headers:?}: {st} {v} retry={retry:?}"
            ));
        }
    }
    let (st, v, _) = mint(&b, &first, "127.0.0.2", &[]).await;
    assert_eq!(
        st,
        StatusCode::OK,
        "a known client id is not a sign-up: {v}"
    );
    assert!(through.is_empty(), "sign-ups past the limit: {through:#?}");
    b.shutdown().await;
}

/// Case 7b: tokens per client id. One client id gets twenty tokens; the next requests are
/// refused from any loopback address and with the id spelled with surrounding spaces.
#[tokio::test]
async fn tokens_are_limited_per_client_id() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let id = uuid::Uuid::new_v4().to_string();
    for i in 0..20 {
        let (st, v, _) = mint(&b, &id, "127.0.0.1", &[]).await;
        assert_eq!(st, StatusCode::OK, "token {i}: {v}");
    }
    let spaced = format!("  {id} ");
    let mut through = Vec::new();
    for (who, local) in [
        (id.as_str(), "127.0.0.1"),
        (id.as_str(), "127.0.0.5"),
        (spaced.as_str(), "127.0.0.1"),
    ] {
        let (st, v, retry) = mint(&b, who, local, &[]).await;
        if !is_limit(st, &v, &retry, "tokens_per_client") {
            through.push(format!("{who:?} from {local}: {st} {v}"));
        }
    }
    assert!(through.is_empty(), "tokens past the limit: {through:#?}");
    b.shutdown().await;
}

/// Case 7b: sessions per user (30) and per source (100). One token makes 30 sessions, the
/// 31st is refused; other users from the same loopback source fill the source's 100, then
/// a fresh user's first session is refused too.
#[tokio::test]
async fn sessions_are_limited_per_user_and_per_source() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let create = |api: &Api| {
        let r = api
            .req(
                reqwest::Method::POST,
                "/api/tasks/me/with-session/nemo_agent",
            )
            .json(&json!({"task_name": "project", "language": "en"}));
        async move { answer(r.send().await.unwrap()).await }
    };
    let mut through = Vec::new();
    let mut made_sessions = 0;
    let mut users = Vec::new();
    for u in 0..4 {
        let api = Api::new(&b).await;
        for i in 0..30 {
            let (st, v, retry) = create(&api).await;
            if made_sessions >= 100 {
                if !is_limit(st, &v, &retry, "sessions_per_source") {
                    through.push(format!("user {u} session {i} (source full): {st} {v}"));
                }
            } else {
                assert_eq!(st, StatusCode::OK, "user {u} session {i}: {v}");
                made_sessions += 1;
            }
        }
        // Past both limits, whichever is counted first names itself.
        let (st, v, retry) = create(&api).await;
        let limit = if made_sessions >= 100 {
            "sessions_per_"
        } else {
            "sessions_per_user"
        };
        if !is_limit(st, &v, &retry, limit) {
            through.push(format!("user {u} session 31: {st} {v}"));
        }
        users.push(api);
    }
    assert!(made_sessions == 100, "{made_sessions} sessions made");
    assert!(through.is_empty(), "sessions past the limits: {through:#?}");
    b.shutdown().await;
}

/// Case 7b, across a restart: the counts of every standing limit are kept in the backend's
/// store, so stopping and starting the backend on the same data dir (the MCP server starts
/// a new embedded backend each time it starts) frees nothing. Small limits; before the
/// restart three client ids sign up, one of them takes all its tokens and sessions; after
/// it, a fourth sign-up, that id's next token and next session, and a session past the
/// source's count are all refused, each with a `Retry-After` inside the first window.
#[tokio::test]
async fn standing_limits_hold_across_a_restart() {
    let dir = tempdir();
    let small = |c: &mut ebc::config::BackendConfig| {
        c.limits.new_users_per_source = 3;
        c.limits.tokens_per_client = 3;
        c.limits.sessions_per_user = 2;
        c.limits.sessions_per_source = 3;
    };
    let session = |b: &BackendHandle, token: &str| {
        let api = Api {
            http: reqwest::Client::new(),
            base: b.url(),
            key: Some(b.access_key().to_string()),
            token: token.to_string(),
        };
        async move {
            let r = api
                .req(
                    reqwest::Method::POST,
                    "/api/tasks/me/with-session/nemo_agent",
                )
                .json(&json!({"task_name": "project", "language": "en"}))
                .send()
                .await
                .unwrap();
            answer(r).await
        }
    };
    let token_of = |v: &Value| v["data"]["token"].as_str().unwrap_or_default().to_string();

    let b = start(dir.path(), small).await;
    let (a, bee) = ("client-a".to_string(), "client-b".to_string());
    let (st, v, _) = mint(&b, &a, "127.0.0.1", &[]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v, _) = mint(&b, &bee, "127.0.0.1", &[]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let token_b = token_of(&v);
    let (st, v, _) = mint(&b, "client-c", "127.0.0.1", &[]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut token_a = String::new();
    for i in 0..2 {
        let (st, v, _) = mint(&b, &a, "127.0.0.1", &[]).await;
        assert_eq!(st, StatusCode::OK, "token {i} of a: {v}");
        token_a = token_of(&v);
    }
    for i in 0..2 {
        let (st, v, _) = session(&b, &token_a).await;
        assert_eq!(st, StatusCode::OK, "session {i} of a: {v}");
    }
    let started = Instant::now();
    b.shutdown().await;

    let b = start(dir.path(), small).await;
    let mut through = Vec::new();
    let mut check = |what: &str, (st, v, retry): (StatusCode, Value, Option<String>), limit| {
        let left = retry.as_deref().and_then(|r| r.parse::<u64>().ok());
        let in_window = left.is_some_and(|s| s <= 24 * 3600 - started.elapsed().as_secs());
        if !is_limit(st, &v, &retry, limit) || !in_window {
            through.push(format!("{what}: {st} {v} retry={retry:?}"));
        }
    };
    check(
        "a fourth sign-up",
        mint(&b, "client-d", "127.0.0.1", &[]).await,
        "new_users_per_source",
    );
    check(
        "a's fourth token",
        mint(&b, &a, "127.0.0.1", &[]).await,
        "tokens_per_client",
    );
    check(
        "a's third session",
        session(&b, &token_a).await,
        "sessions_per_user",
    );
    let (st, v, _) = session(&b, &token_b).await;
    assert_eq!(
        st,
        StatusCode::OK,
        "b's first session (the source's third): {v}"
    );
    check(
        "b's second session (the source's fourth)",
        session(&b, &token_b).await,
        "sessions_per_source",
    );
    assert!(
        through.is_empty(),
        "limits forgotten by the restart: {through:#?}"
    );
    b.shutdown().await;
}

/// The files in the backend's media folder.
fn stored(data: &Path) -> Vec<String> {
    std::fs::read_dir(data.join("media"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The storage quota holds at upload time, not only at the hourly sweep: with room for one
/// clip, a second clip is refused (body code 4291, a message naming the quota) whether it
/// comes as a multipart part, a `file://` URL or an `http://` URL, and nothing of it is kept.
#[tokio::test]
async fn uploads_stop_at_the_storage_quota() {
    let dir = tempdir();
    let first = clip("noaudio_640x360.mp4");
    let second = clip("odd_size_641x361.mp4");
    let quota = std::fs::metadata(&first).unwrap().len() + 20_000;
    let clips_dir = first.parent().unwrap().to_path_buf();
    let b = start(dir.path(), |c| {
        c.retention.max_data_bytes = quota;
        c.url_roots = vec![clips_dir.clone()];
        c.fetch_private_addresses = true;
    })
    .await;
    let (site, _) = web("127.0.0.1", None).await;
    let api = Api::new(&b).await;
    let s = api.session().await;
    let (st, v) = api.upload(&s, &[(&first, "first.mp4")]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let before = stored(&dir.path().join("data"));
    let mut through = Vec::new();
    let (st, v) = api.upload(&s, &[(&second, "second.mp4")]).await;
    let limit = |st: StatusCode, v: &Value| {
        st == StatusCode::TOO_MANY_REQUESTS
            && v["code"] == json!(LIMIT_CODE)
            && v["message"].as_str().unwrap_or_default().contains("quota")
    };
    if !limit(st, &v) {
        through.push(format!("multipart: {st} {v}"));
    }
    let file_url = format!("file://{}", second.display());
    for url in [file_url, format!("{site}/clip.mp4")] {
        let (st, v) = api.upload_urls(&s, std::slice::from_ref(&url)).await;
        if !limit(st, &v) {
            through.push(format!("{url}: {st} {v}"));
        }
    }
    assert!(through.is_empty(), "uploads past the quota: {through:#?}");
    assert_eq!(stored(&dir.path().join("data")), before, "files kept");
    b.shutdown().await;
}

/// Bytes per request: a multipart upload names at most as many files as a URL upload may
/// (10): 11 copies of one clip, 11 different little files and 40 parts are refused with a
/// 400 that says so, before anything is probed or kept.
#[tokio::test]
async fn one_upload_request_carries_at_most_ten_files() {
    let dir = tempdir();
    let pngs: Vec<_> = (0..11)
        .map(|i| {
            made(
                dir.path(),
                &format!("p{i}.png"),
                &format!("color=c=0x{:02x}2030:s=16x16", i * 20),
                &["-frames:v", "1"],
            )
        })
        .collect();
    let b = start(&dir.path().join("b"), |_| {}).await;
    let api = Api::new(&b).await;
    let s = api.session().await;
    let one = clip("noaudio_640x360.mp4");
    let same: Vec<(&Path, &str)> = (0..11).map(|_| (one.as_path(), "a.mp4")).collect();
    let different: Vec<(&Path, &str)> = pngs.iter().map(|p| (p.as_path(), "p.png")).collect();
    let many: Vec<(&Path, &str)> = (0..40).map(|i| (pngs[i % 11].as_path(), "m.png")).collect();
    let mut through = Vec::new();
    for (what, files) in [("11 same", same), ("11 different", different), ("40", many)] {
        let (st, v) = api.upload(&s, &files).await;
        let msg = v["message"].as_str().unwrap_or_default();
        if st != StatusCode::BAD_REQUEST || !msg.contains("at most 10") {
            through.push(format!("{what}: {st} {v}"));
        }
    }
    assert!(through.is_empty(), "{through:#?}");
    assert!(stored(&dir.path().join("b/data")).is_empty());
    b.shutdown().await;
}

/// Case 7c, frame rate: clips of 1000 fps and more report a "sane" 30 fps through the
/// engine's rate filter; the cap must see their real rate (frames over duration, the
/// average rate) and refuse them at upload (413), in every container. A 30 fps clip passes.
#[tokio::test]
async fn clips_faster_than_the_cap_are_refused_whatever_rate_they_report() {
    let dir = tempdir();
    let d = dir.path();
    let fast = [
        made(
            d,
            "f1000.avi",
            "testsrc=s=64x64:r=1000:d=0.5",
            &["-c:v", "mjpeg"],
        ),
        made(
            d,
            "f1200.mp4",
            "testsrc=s=64x64:r=1200:d=0.5",
            &["-c:v", "libx264"],
        ),
        made(
            d,
            "f1000.mov",
            "testsrc=s=64x64:r=1000:d=0.5",
            &["-c:v", "mpeg4"],
        ),
        made(
            d,
            "f1000.webm",
            "testsrc=s=64x64:r=1000:d=0.5",
            &["-c:v", "libvpx"],
        ),
        made(
            d,
            "f5000.mkv",
            "testsrc=s=32x32:r=5000:d=0.2",
            &["-c:v", "mjpeg"],
        ),
    ];
    let ok = made(
        d,
        "ok30.mp4",
        "testsrc=s=64x64:r=30:d=1",
        &["-c:v", "libx264"],
    );
    let b = start(&d.join("b"), |_| {}).await;
    let api = Api::new(&b).await;
    let s = api.session().await;
    let mut through = Vec::new();
    for f in &fast {
        let name = f.file_name().unwrap().to_str().unwrap();
        let (st, v) = api.upload(&s, &[(f, name)]).await;
        if st != StatusCode::PAYLOAD_TOO_LARGE {
            through.push(format!("{name}: {st} {v}"));
        }
    }
    assert!(through.is_empty(), "fast clips accepted: {through:#?}");
    assert!(stored(&d.join("b/data")).is_empty());
    let (st, v) = api.upload(&s, &[(&ok, "ok30.mp4")]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    b.shutdown().await;
}

/// How long the server keeps a raw connection open: `head` is sent at once, then `trickle`
/// one byte every 250 ms (cycling). `Some(elapsed)` once the server closed the connection
/// (after any answer it sent); `None` if it was still open after `give_up`.
async fn held(
    addr: SocketAddr,
    head: Vec<u8>,
    trickle: Vec<u8>,
    give_up: Duration,
) -> Option<Duration> {
    let t0 = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(&head).await.unwrap();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut next = trickle.iter().cycle();
    let mut buf = [0u8; 4096];
    let watch = async {
        loop {
            tokio::select! {
                r = s.read(&mut buf) => match r {
                    Ok(0) | Err(_) => return t0.elapsed(),
                    Ok(_) => {}
                },
                _ = tick.tick() => {
                    if let Some(byte) = next.next()
                        && s.write_all(&[*byte]).await.is_err()
                    {
                        return t0.elapsed();
                    }
                }
            }
        }
    };
    tokio::time::timeout(give_up, watch).await.ok()
}

/// The header-read bound (10 s by default) plus slack for a loaded machine.
const CUT_WITHIN: Duration = Duration::from_secs(18);
/// How long a test waits before calling a connection held.
const GIVE_UP: Duration = Duration::from_secs(40);

/// Case 7c, slowloris: a request header that never completes is cut off within the bound,
/// whether it trickles a header line byte by byte, the request line itself, nothing at all
/// after connecting, or sits idle after a complete request on a keep-alive connection.
#[tokio::test]
async fn slow_headers_are_cut_off() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let host = format!("Host: {}\r\n", b.addr);
    let instances: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        (
            "header line byte by byte",
            format!("POST /api/auth/anonymous-token HTTP/1.1\r\n{host}X-Padding: ").into_bytes(),
            b"abcdefghij".to_vec(),
        ),
        (
            "request line byte by byte",
            Vec::new(),
            b"GET /health HTTP/1.1".to_vec(),
        ),
        ("silent after connecting", Vec::new(), Vec::new()),
        (
            "idle after a complete request",
            format!(
                "GET /health HTTP/1.1\r\n{host}X-Access-Key: {}\r\n\r\n",
                b.access_key()
            )
            .into_bytes(),
            Vec::new(),
        ),
    ];
    let runs = instances.into_iter().map(|(what, head, trickle)| {
        let addr = b.addr;
        async move { (what, held(addr, head, trickle, GIVE_UP).await) }
    });
    let mut held_long = Vec::new();
    for (what, took) in futures::future::join_all(runs).await {
        if took.is_none_or(|t| t > CUT_WITHIN) {
            held_long.push(format!("{what}: {took:?}"));
        }
    }
    assert!(held_long.is_empty(), "connections held: {held_long:#?}");
    b.shutdown().await;
}

/// Case 7c, slow bodies: a body that stalls or trickles a byte at a time is cut off within
/// the bound (16 KiB/s after 10 s by default) on every kind of route: a quick JSON route
/// (session create), the agent's `/run_sse`, and the upload (multipart and JSON).
#[tokio::test]
async fn slow_bodies_are_cut_off() {
    let dir = tempdir();
    let b = start(dir.path(), |_| {}).await;
    let api = Api::new(&b).await;
    let s = api.session().await;
    let head = |path: &str, ctype: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nX-Access-Key: {}\r\nAuthorization: Bearer {}\r\nX-Skill-Source: editor-background-changer\r\nX-Skill-Version: 0.1.0\r\nX-Skill-Platform: unknown\r\nContent-Type: {ctype}\r\nContent-Length: 1000000\r\n\r\n",
            b.addr,
            b.access_key(),
            api.token
        )
        .into_bytes()
    };
    let upload = format!("/api/upload-video/nemo_agent/me/{s}");
    let mut multipart = head(&upload, "multipart/form-data; boundary=XyZ");
    multipart.extend_from_slice(
        b"--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.mp4\"\r\n\r\n\x00\x00\x00\x20ftypisom",
    );
    let instances: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        (
            "session JSON trickled",
            head("/api/tasks/me/with-session/nemo_agent", "application/json"),
            b"{\"task_name\":\"".to_vec(),
        ),
        (
            "run_sse JSON stalled",
            head("/run_sse", "application/json"),
            Vec::new(),
        ),
        (
            "run_sse JSON trickled",
            head("/run_sse", "application/json"),
            b" ".to_vec(),
        ),
        ("multipart upload trickled", multipart, b"\x00".to_vec()),
        (
            "URL upload JSON trickled",
            head(&upload, "application/json"),
            b" ".to_vec(),
        ),
    ];
    let runs = instances.into_iter().map(|(what, head, trickle)| {
        let addr = b.addr;
        async move { (what, held(addr, head, trickle, GIVE_UP).await) }
    });
    let mut held_long = Vec::new();
    for (what, took) in futures::future::join_all(runs).await {
        if took.is_none_or(|t| t > CUT_WITHIN) {
            held_long.push(format!("{what}: {took:?}"));
        }
    }
    assert!(held_long.is_empty(), "connections held: {held_long:#?}");
    b.shutdown().await;
}

/// A loopback web server that is slow on purpose: `head_slow` sends even its response head
/// one byte per 500 ms; otherwise the head comes at once (announcing 10 MB) and the body
/// trickles one byte per 100 ms, or (`stall`) never comes.
async fn trickling_server(head_slow: bool, stall: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 10000000\r\n\r\n";
                let mut tick =
                    tokio::time::interval(Duration::from_millis(if head_slow { 500 } else { 100 }));
                if head_slow {
                    for b in head {
                        tick.tick().await;
                        if s.write_all(&[*b]).await.is_err() {
                            return;
                        }
                    }
                } else if s.write_all(head).await.is_err() {
                    return;
                }
                if stall {
                    // Hold the connection open without a byte until the fetcher gives up.
                    let _ = s.read(&mut buf).await;
                    return;
                }
                let body = b"\x00\x00\x00\x20ftypisom";
                for b in body.iter().cycle() {
                    tick.tick().await;
                    if s.write_all(&[*b]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    base
}

/// URL fetches have a minimum speed as well as a total timeout: a body trickled a byte at a
/// time, a body that never comes after the head, and a head trickled a byte at a time are
/// each dropped within the bound (16 KiB/s after 15 s) with the one generic refusal, and
/// nothing is kept.
#[tokio::test]
async fn slow_url_fetches_are_dropped() {
    let dir = tempdir();
    let b = start(dir.path(), |c| c.fetch_private_addresses = true).await;
    let api = Api::new(&b).await;
    let s = api.session().await;
    let servers = [
        ("body trickled", trickling_server(false, false).await),
        ("body stalled", trickling_server(false, true).await),
        ("head trickled", trickling_server(true, false).await),
    ];
    let runs = servers.iter().map(|(what, base)| {
        let (api, s) = (&api, &s);
        async move {
            let t0 = Instant::now();
            let url = format!("{base}/clip.mp4");
            let upload = api.upload_urls(s, std::slice::from_ref(&url));
            let answer = tokio::time::timeout(Duration::from_secs(60), upload).await;
            (*what, t0.elapsed(), answer)
        }
    });
    let mut held = Vec::new();
    for (what, took, answer) in futures::future::join_all(runs).await {
        match answer {
            Ok((st, v)) if st == StatusCode::BAD_REQUEST && took <= Duration::from_secs(28) => {
                let msg = v["message"].as_str().unwrap_or_default();
                assert!(msg.contains("could not download this URL"), "{what}: {msg}");
            }
            other => held.push(format!("{what}: after {took:?}: {other:?}")),
        }
    }
    assert!(
        held.is_empty(),
        "slow fetches not dropped in time: {held:#?}"
    );
    assert!(stored(&dir.path().join("data")).is_empty());
    b.shutdown().await;
}
