//! The dialects of the embedded backend (`--dialect seed|v44|legacy`, `--sse typed|adk`) and
//! its request log. The handlers answer in this backend's own shapes; this layer reshapes
//! each answer into the documented variant chosen (DESIGN.md "The NemoVideo contract"), so
//! the client is tested against a real server in every shape it must accept. The shaping is
//! pure functions of the native answer; the middleware only routes answers to them, records
//! requests when asked (`log_requests`, kept by `services::request_log`), and, in a cloud
//! dialect, refuses a render whose
//! draft is not the one the session's state gave out (the contract: the draft sent to render
//! is the one read from state, untouched).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Map, Value, json};

use crate::api::sse::{AgentEvent, encode_comment, encode_data, events_from_json};
use crate::api::sse_parser::{SseFrame, SseParser};
use crate::api::timestamp::iso8601;
use crate::api::{self, headers};
use crate::backend::services::request_log::LoggedRequest;
use crate::backend::state::AppState;
use crate::config::{Dialect, SseDialect};

/// Largest request body kept for the log and the draft check (JSON only; uploads are not read).
const BODY_LIMIT: usize = 8 << 20;

/// A new session id: ours (`ses_<uuid>`), or in a cloud dialect a string of 19 digits like
/// the cloud's (`"5529798706024415232"`).
pub fn new_session_id(d: Dialect) -> String {
    match d {
        Dialect::Native => format!("ses_{}", uuid::Uuid::new_v4().simple()),
        _ => (rand::random::<u64>() % 8_000_000_000_000_000_000 + 1_000_000_000_000_000_000)
            .to_string(),
    }
}

/// Does the agent in dialect `d` attach a before/after preview (`preview_url`) to a
/// background replacement? Only this backend's own dialect: the cloud sends none, so its
/// dialects do not either, and clients are tested without one.
pub fn makes_previews(d: Dialect) -> bool {
    d == Dialect::Native
}

/// A new anonymous user id: `anon_…`, as the cloud's (the contract tells anonymous users
/// from registered ones by this prefix), in every dialect.
pub fn new_user_id() -> String {
    format!("anon_{}", uuid::Uuid::new_v4().simple())
}

/// Which endpoint an answer belongs to.
#[derive(Debug, Clone, PartialEq)]
enum Route {
    Token,
    RenderSubmit,
    RenderStatus(String),
    Upload,
    State(String),
    RunSse,
    Other,
}

impl Route {
    fn of(method: &Method, path: &str) -> Route {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method.as_str(), parts.as_slice()) {
            ("POST", _) if path == api::paths::ANONYMOUS_TOKEN => Route::Token,
            ("POST", _) if path == api::paths::RENDER => Route::RenderSubmit,
            ("GET", ["api", "render", "proxy", "lambda", id]) => {
                Route::RenderStatus(id.to_string())
            }
            ("POST", ["api", "upload-video", ..]) => Route::Upload,
            ("GET", ["api", "state", _, _, session, "latest"]) => Route::State(session.to_string()),
            ("POST", _) if path == api::paths::RUN_SSE => Route::RunSse,
            _ => Route::Other,
        }
    }
}

/// Facts about a finished render that the pre-4.4 answer carries in `output`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RenderFacts {
    /// Seconds of video.
    pub duration: Option<f64>,
    /// Bytes of the file.
    pub size: Option<u64>,
}

/// A render answer (`{"success":true,"data":{…}}` as the handlers write it) in dialect `d`;
/// `submit` for the answer to `POST /api/render/proxy/lambda`. Error answers stay as they are.
pub fn render_answer(d: Dialect, native: Value, facts: RenderFacts, submit: bool) -> Value {
    let Some(data) = native.get("data").and_then(Value::as_object).cloned() else {
        return native;
    };
    let id = data.get("id").cloned().unwrap_or(Value::Null);
    let status = data.get("status").cloned().unwrap_or(Value::Null);
    let progress = data.get("progress").and_then(Value::as_f64).unwrap_or(0.0);
    let url = data
        .get("outputUrl")
        .and_then(Value::as_str)
        .map(str::to_string);
    let error = data.get("error").cloned().filter(|e| !e.is_null());
    let mut out = Map::new();
    match d {
        Dialect::Native => return native,
        Dialect::Seed => {
            out.insert("id".into(), id);
            if submit {
                // The seed's submit answer carries the id only.
                return Value::Object(out);
            }
            out.insert("status".into(), status);
            out.insert("progress".into(), json!(progress.round() as u64));
            if let Some(url) = url {
                out.insert("output".into(), json!({ "url": url }));
            }
        }
        Dialect::V44 => {
            out.insert("id".into(), id);
            out.insert("status".into(), status);
            out.insert("progress".into(), json!(progress));
            if let Some(url) = url {
                out.insert("outputUrl".into(), json!(url));
            }
            if let Some(e) = error {
                out.insert("error".into(), e);
            }
            return json!({"success": true, "data": out});
        }
        Dialect::Legacy => {
            out.insert("taskId".into(), id);
            out.insert("status".into(), status);
            out.insert("progress".into(), json!(progress.round() as u64));
            if let Some(url) = url {
                out.insert(
                    "output".into(),
                    json!({"url": url, "duration": facts.duration, "size": facts.size}),
                );
            }
        }
    }
    if let Some(e) = error {
        out.insert("error".into(), e);
    }
    Value::Object(out)
}

/// An upload answer in dialect `d`: pre-4.4 files have no `fps`/`hash` and images no
/// `duration`; v4.4 writes sizes as floats.
pub fn upload_answer(d: Dialect, mut native: Value) -> Value {
    let Some(files) = native
        .pointer_mut("/data/files")
        .and_then(Value::as_array_mut)
    else {
        return native;
    };
    for f in files.iter_mut().filter_map(Value::as_object_mut) {
        match d {
            Dialect::Legacy => {
                f.remove("fps");
                f.remove("hash");
                if f.get("file_type").and_then(Value::as_str) == Some("image") {
                    f.remove("duration");
                }
            }
            Dialect::V44 => {
                for k in ["width", "height"] {
                    if let Some(n) = f.get(k).and_then(Value::as_f64) {
                        f.insert(k.into(), json!(n));
                    }
                }
            }
            Dialect::Seed | Dialect::Native => {}
        }
    }
    native
}

/// A state answer in dialect `d`. The cloud's drafts name clips in `m.title` (seed, legacy),
/// carry keys of their own (seed: `ver` on the draft, `fx: null` on segments) and, before
/// 4.4, write times as floats and put `session_id`, `task_id`, `task_name` beside `state`.
pub fn state_answer(d: Dialect, mut native: Value, task_id: Option<&str>) -> Value {
    if d == Dialect::Native {
        return native;
    }
    if let Some(draft) = native
        .pointer_mut("/data/state/draft")
        .and_then(Value::as_object_mut)
    {
        if d == Dialect::Seed {
            draft.entry("ver").or_insert(json!(3));
        }
        let tracks = draft.get_mut("t").and_then(Value::as_array_mut);
        for seg in tracks
            .into_iter()
            .flatten()
            .filter_map(|t| t.get_mut("sg").and_then(Value::as_array_mut))
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            if matches!(d, Dialect::Seed | Dialect::Legacy)
                && let Some(m) = seg.get_mut("m").and_then(Value::as_object_mut)
                && let Some(name) = m.remove("name")
            {
                m.entry("title").or_insert(name);
            }
            match d {
                Dialect::Seed => {
                    seg.entry("fx").or_insert(Value::Null);
                }
                Dialect::Legacy => {
                    for k in ["d", "st"] {
                        if let Some(n) = seg.get(k).and_then(Value::as_f64) {
                            seg.insert(k.into(), json!(n));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if d == Dialect::V44
        && let Some(state) = native
            .pointer_mut("/data/state")
            .and_then(Value::as_object_mut)
    {
        state.entry("video_analyses").or_insert(Value::Null);
    }
    if d == Dialect::Legacy
        && let Some(data) = native.get_mut("data").and_then(Value::as_object_mut)
    {
        let session = data
            .get("state")
            .and_then(|s| s.get("session_id"))
            .cloned()
            .unwrap_or(Value::Null);
        data.insert("session_id".into(), session);
        data.insert("task_id".into(), json!(task_id));
        data.insert("task_name".into(), json!("project"));
    }
    native
}

/// A token answer in dialect `d`: before 4.4, `expires_at` was an ISO date.
pub fn token_answer(d: Dialect, mut native: Value) -> Value {
    if d == Dialect::Legacy
        && let Some(at) = native.pointer_mut("/data/expires_at")
        && let Some(secs) = at.as_u64()
    {
        *at = json!(iso8601(secs));
    }
    native
}

/// One SSE frame of the native (ADK) stream in the chosen shape: typed events, or ADK as a
/// plain `/run_sse` run sends it (no `turnComplete`), or unchanged.
pub fn sse_frame(frame: &SseFrame, sse: SseDialect, plain_adk: bool) -> String {
    match (frame, sse) {
        (SseFrame::Comment(c), SseDialect::Adk) => encode_comment(c),
        (SseFrame::Comment(_), SseDialect::Typed) => encode_data(&json!({"type": "heartbeat"})),
        (SseFrame::Data { data, .. }, SseDialect::Typed) => match serde_json::from_str(data) {
            Ok(v) => events_from_json(&v)
                .iter()
                .filter_map(typed_event)
                .map(|e| encode_data(&e))
                .collect(),
            Err(_) => String::new(),
        },
        (SseFrame::Data { data, .. }, SseDialect::Adk) => match serde_json::from_str::<Value>(data)
        {
            Ok(mut v) => {
                if plain_adk && let Some(o) = v.as_object_mut() {
                    o.remove("turnComplete");
                }
                encode_data(&v)
            }
            Err(_) => format!("data: {data}\n\n"),
        },
    }
}

/// An agent event in the typed shape; `None` for what that shape has no event for.
pub fn typed_event(e: &AgentEvent) -> Option<Value> {
    Some(match e {
        AgentEvent::Text { text, partial } => {
            let mut v = json!({"type": "text", "content": text});
            if *partial {
                v["partial"] = json!(true);
            }
            v
        }
        AgentEvent::ToolCall { name, args } => {
            json!({"type": "tool_call", "name": name, "args": args})
        }
        AgentEvent::ToolResult { name, result } => {
            json!({"type": "tool_result", "name": name, "result": result})
        }
        AgentEvent::Heartbeat => json!({"type": "heartbeat"}),
        AgentEvent::Error { message } => json!({"type": "error", "error": message}),
        AgentEvent::TurnComplete => return None,
    })
}

/// The middleware: log the request (when asked), check a cloud-dialect render's draft, run
/// the handler, and reshape its answer for the dialect.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let dialect = state.config.dialect;
    let sse = state.config.sse_dialect;
    let log = state.config.log_requests;
    let route = Route::of(req.method(), req.uri().path());
    let reshape = dialect != Dialect::Native || sse != SseDialect::Adk;
    if !log && !reshape {
        return next.run(req).await;
    }
    let at_ms = state.requests.elapsed_ms();
    let mut entry = logged(&req, at_ms);
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let req = if is_json {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
            Ok(b) => b,
            Err(_) => {
                return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
            }
        };
        entry.body = serde_json::from_slice(&bytes).ok();
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    if dialect != Dialect::Native
        && route == Route::RenderSubmit
        && let Some(refusal) = draft_check(&state, entry.body.as_ref())
    {
        entry.status = refusal.status().as_u16();
        if log {
            state.requests.push(entry);
        }
        return refusal;
    }
    let session_of_run = entry
        .body
        .as_ref()
        .and_then(|b| b.get("session_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let resp = next.run(req).await;
    let resp = if reshape {
        shape(&state, &route, resp, session_of_run).await
    } else {
        resp
    };
    if log {
        entry.status = resp.status().as_u16();
        state.requests.push(entry);
    }
    resp
}

/// The log entry of `req` (no body yet, no status yet).
fn logged(req: &Request, at_ms: u64) -> LoggedRequest {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    LoggedRequest {
        at_ms,
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        skill_source: header(headers::SKILL_SOURCE),
        skill_version: header(headers::SKILL_VERSION),
        skill_platform: header(headers::SKILL_PLATFORM),
        client_id: header(headers::CLIENT_ID),
        bearer: header(header::AUTHORIZATION.as_str())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("bearer ")),
        body: None,
        status: 0,
    }
}

/// The render's draft must be the one the session's last state answer gave out.
fn draft_check(state: &AppState, body: Option<&Value>) -> Option<Response> {
    let body = body?;
    let session = body.get("sessionId").and_then(Value::as_str)?;
    let given = state.requests.draft_of(session)?;
    let sent = body.get("draft")?;
    if *sent == given {
        return None;
    }
    let message = "the draft sent to render is not the draft of the session's latest state: send the draft exactly as read (unknown keys kept, nothing added)";
    tracing::warn!(session, "render refused: {message}");
    Some(
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": api::CODE_BAD_REQUEST, "message": message})),
        )
            .into_response(),
    )
}

async fn shape(
    state: &AppState,
    route: &Route,
    resp: Response,
    session_of_run: Option<String>,
) -> Response {
    let dialect = state.config.dialect;
    if *route == Route::RunSse {
        return shape_sse(state, resp, session_of_run).await;
    }
    if !resp.status().is_success() || dialect == Dialect::Native {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(native) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let shaped = match route {
        Route::Token => token_answer(dialect, native),
        Route::RenderSubmit => render_answer(dialect, native, RenderFacts::default(), true),
        Route::RenderStatus(id) => {
            let facts = render_facts(state, id).await;
            render_answer(dialect, native, facts, false)
        }
        Route::Upload => upload_answer(dialect, native),
        Route::State(session) => {
            let id = session.clone();
            let task = state
                .store
                .run(move |db| Ok(db.session(&id)?.map(|s| s.task_id)))
                .await
                .ok()
                .flatten();
            let shaped = state_answer(dialect, native, task.as_deref());
            if let Some(draft) = shaped.pointer("/data/state/draft") {
                state.requests.remember_draft(session, draft.clone());
            }
            shaped
        }
        Route::RunSse | Route::Other => native,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = serde_json::to_vec(&shaped).unwrap_or_default();
    Response::from_parts(parts, Body::from(body))
}

async fn render_facts(state: &AppState, id: &str) -> RenderFacts {
    let id = id.to_string();
    let found = state
        .store
        .run(move |db| {
            let Some(rec) = db.render(&id)? else {
                return Ok(None);
            };
            let duration = db.media(&rec.media_id)?.map(|m| m.duration);
            Ok(Some((duration, db.render_output(&rec))))
        })
        .await
        .ok()
        .flatten();
    let Some((duration, output)) = found else {
        return RenderFacts::default();
    };
    RenderFacts {
        duration,
        size: tokio::fs::metadata(output).await.ok().map(|m| m.len()),
    }
}

async fn shape_sse(state: &AppState, resp: Response, session: Option<String>) -> Response {
    let dialect = state.config.dialect;
    let sse = state.config.sse_dialect;
    let plain_adk = dialect != Dialect::Native;
    if !resp.status().is_success() {
        // ADK's own answer for an unknown session.
        if plain_adk && sse == SseDialect::Adk && resp.status() == StatusCode::NOT_FOUND {
            let (parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, BODY_LIMIT)
                .await
                .unwrap_or_default();
            let code = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.get("code").and_then(Value::as_i64));
            if code == Some(api::CODE_SESSION_NOT_FOUND) {
                let detail = format!("Session not found: {}", session.unwrap_or_default());
                return (
                    StatusCode::NOT_FOUND,
                    axum::Json(json!({ "detail": detail })),
                )
                    .into_response();
            }
            return Response::from_parts(parts, Body::from(bytes));
        }
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    struct Shaper {
        body: axum::body::BodyDataStream,
        parser: SseParser,
        sse: SseDialect,
        plain_adk: bool,
        done: bool,
    }
    impl Shaper {
        fn render(&self, frames: Vec<SseFrame>) -> String {
            frames
                .iter()
                .map(|f| sse_frame(f, self.sse, self.plain_adk))
                .collect()
        }
    }
    let shaper = Shaper {
        body: body.into_data_stream(),
        parser: SseParser::new(),
        sse,
        plain_adk,
        done: false,
    };
    let stream = futures::stream::unfold(shaper, |mut s| async move {
        if s.done {
            return None;
        }
        match s.body.next().await {
            Some(Ok(chunk)) => {
                let frames = s.parser.push(&chunk);
                let out = s.render(frames);
                Some((Ok::<Bytes, axum::Error>(Bytes::from(out)), s))
            }
            Some(Err(e)) => {
                s.done = true;
                Some((Err(e), s))
            }
            None => {
                let frames = s.parser.finish();
                let out = s.render(frames);
                s.done = true;
                Some((Ok(Bytes::from(out)), s))
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::sse::AdkEvent;

    fn native_render(status: &str, url: Option<&str>) -> Value {
        let mut data = json!({"id": "render_x", "status": status, "progress": 50.0});
        if let Some(u) = url {
            data["outputUrl"] = json!(u);
            data["output"] = json!({"url": u});
        }
        json!({"success": true, "data": data})
    }

    #[test]
    fn render_answers_take_each_documented_shape() {
        let done = native_render("completed", Some("http://h/x.mp4"));
        let facts = RenderFacts {
            duration: Some(5.0),
            size: Some(455_033),
        };
        assert_eq!(
            render_answer(Dialect::Native, done.clone(), facts, false),
            done
        );
        assert_eq!(
            render_answer(Dialect::Seed, done.clone(), facts, false),
            json!({"id":"render_x","status":"completed","progress":50,"output":{"url":"http://h/x.mp4"}})
        );
        assert_eq!(
            render_answer(Dialect::Seed, done.clone(), facts, true),
            json!({"id":"render_x"})
        );
        assert_eq!(
            render_answer(Dialect::V44, done.clone(), facts, false),
            json!({"success":true,"data":{"id":"render_x","status":"completed","progress":50.0,"outputUrl":"http://h/x.mp4"}})
        );
        assert_eq!(
            render_answer(Dialect::Legacy, done, facts, false),
            json!({"taskId":"render_x","status":"completed","progress":50,"output":{"url":"http://h/x.mp4","duration":5.0,"size":455033}})
        );
        assert_eq!(
            render_answer(
                Dialect::Legacy,
                native_render("processing", None),
                facts,
                false
            ),
            json!({"taskId":"render_x","status":"processing","progress":50})
        );
        // Error answers are left alone.
        let err = json!({"code": 4004, "message": "no", "success": false});
        assert_eq!(render_answer(Dialect::Seed, err.clone(), facts, false), err);
    }

    #[test]
    fn state_answers_rename_and_add_cloud_keys() {
        let native = json!({"code":0,"data":{"state":{"draft":{"t":[{"tt":0,"sg":[{"id":"s1","st":0,"d":5000,"m":{"name":"talk.mp4","bg":"blur"}}]}]},"session_id":"123"}}});
        let seed = state_answer(Dialect::Seed, native.clone(), Some("t1"));
        assert_eq!(
            seed["data"]["state"]["draft"],
            json!({"ver":3,"t":[{"tt":0,"sg":[{"id":"s1","st":0,"d":5000,"fx":null,"m":{"title":"talk.mp4","bg":"blur"}}]}]})
        );
        let legacy = state_answer(Dialect::Legacy, native.clone(), Some("t1"));
        let seg = &legacy["data"]["state"]["draft"]["t"][0]["sg"][0];
        assert_eq!(seg["d"], json!(5000.0));
        assert!(seg["d"].is_f64());
        assert_eq!(seg["m"]["title"], "talk.mp4");
        assert_eq!(
            (&legacy["data"]["session_id"], &legacy["data"]["task_id"]),
            (&json!("123"), &json!("t1"))
        );
        assert_eq!(state_answer(Dialect::Native, native.clone(), None), native);
    }

    #[test]
    fn uploads_and_tokens_of_older_docs() {
        let native = json!({"code":0,"data":{"files":[
            {"filename":"a.mp4","file_type":"video","duration":2.0,"width":640,"height":360,"fps":30.0,"hash":"ab"},
            {"filename":"b.png","file_type":"image","duration":0.0,"width":8,"height":8,"fps":0.0,"hash":"cd"}]}});
        let legacy = upload_answer(Dialect::Legacy, native.clone());
        assert_eq!(
            legacy["data"]["files"][0],
            json!({"filename":"a.mp4","file_type":"video","duration":2.0,"width":640,"height":360})
        );
        assert!(legacy["data"]["files"][1].get("duration").is_none());
        let v44 = upload_answer(Dialect::V44, native);
        assert!(v44["data"]["files"][0]["width"].is_f64());
        let token = token_answer(
            Dialect::Legacy,
            json!({"code":0,"data":{"token":"t","expires_at":1796601600u64}}),
        );
        assert_eq!(token["data"]["expires_at"], "2026-12-07T00:00:00Z");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn sse_frames_in_each_shape() {
        let call = serde_json::to_string(&AdkEvent::function_call(
            "i",
            1.0,
            "set_background",
            json!({"background":"blur"}),
        ))
        .unwrap();
        let frame = SseFrame::Data {
            event: None,
            data: call,
        };
        assert_eq!(
            sse_frame(&frame, SseDialect::Typed, true),
            encode_data(
                &json!({"type":"tool_call","name":"set_background","args":{"background":"blur"}})
            )
        );
        let done = serde_json::to_string(&AdkEvent::final_text("i", 1.0, "Done.")).unwrap();
        let frame = SseFrame::Data {
            event: None,
            data: done,
        };
        assert!(sse_frame(&frame, SseDialect::Adk, false).contains("\"turnComplete\":true"));
        assert!(!sse_frame(&frame, SseDialect::Adk, true).contains("turnComplete"));
        assert_eq!(
            sse_frame(&frame, SseDialect::Typed, true),
            encode_data(&json!({"type":"text","content":"Done."}))
        );
        let err = SseFrame::Data {
            event: None,
            data: r#"{"error":{"message":"boom"}}"#.into(),
        };
        assert_eq!(
            sse_frame(&err, SseDialect::Typed, true),
            encode_data(&json!({"type":"error","error":"boom"}))
        );
        assert_eq!(
            sse_frame(
                &SseFrame::Comment("working".into()),
                SseDialect::Typed,
                true
            ),
            encode_data(&json!({"type":"heartbeat"}))
        );
    }

    #[test]
    fn ids_look_like_the_clouds() {
        let s = new_session_id(Dialect::Seed);
        assert_eq!(s.len(), 19, "{s}");
        assert!(s.bytes().all(|b| b.is_ascii_digit()));
        assert!(new_session_id(Dialect::Native).starts_with("ses_"));
        assert!(new_user_id().starts_with("anon_"));
    }
}
