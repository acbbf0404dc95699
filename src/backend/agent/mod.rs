//! The local agent behind `POST /run_sse`: parses the instruction (English or Chinese) into
//! edits — backgrounds, titles, music, aspect ratio, trims, clip order — applies them all to
//! the session's draft or none, charges the edit once, and streams ADK events
//! (`functionCall`, `functionResponse` with `actions.stateDelta`, final text) with SSE comment
//! heartbeats while it works. Anything it cannot do ends the stream with an ADK error event
//! (`errorCode`/`errorMessage`) that lists what it can do, never with a plain reply. The edit
//! runs in its own task, so a client that disconnects mid-stream still gets it applied (and
//! charged once).

mod background;
mod edit;
mod help;
mod intent;
mod parser;
mod words;

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use edit::MediaView;
pub use help::HELP;
use intent::{Intent, Names};
pub use parser::{BackdropSource, BackgroundEdit, parse};

use super::db::{Db, SessionRecord};
use super::error::ApiError;
use super::extract::{ApiJson, Caller};
use super::sessions::owned_session;
use super::state::AppState;
use crate::api::RunSseRequest;
use crate::api::sse::{AdkEvent, encode_comment, encode_data};

pub async fn run_sse(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<RunSseRequest>,
) -> Result<Response, ApiError> {
    let text = req.text();
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "new_message.parts[].text is empty; say what to change".into(),
        ));
    }
    let (session, plan) = {
        let db = state.db();
        let session = owned_session(&db, &caller, &req.session_id)?;
        let plan = understand(&text, &names(&db, &session));
        if plan.is_ok() {
            let zero = state.faults.get().out_of_credits;
            let cost = state.config.edit_cost;
            let user = db
                .users
                .get(&caller.user_id)
                .ok_or_else(|| ApiError::internal("caller without a ledger"))?;
            if user.credits.balance(zero).0 + 1e-9 < cost {
                return Err(ApiError::OutOfCredits(format!(
                    "out of credits: an edit costs {cost}; register or top up, then retry"
                )));
            }
        }
        (session, plan)
    };
    let (tx, rx) = mpsc::channel::<String>(32);
    tokio::spawn(work(state, caller, session.session_id, plan, text, tx));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), rx))
    });
    let body = Body::from_stream(stream);
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

/// The session's files by name: all media, the clips in timeline order, the audio.
fn names(db: &Db, session: &SessionRecord) -> Names {
    let media: Vec<_> = session
        .media
        .iter()
        .filter_map(|id| db.media.get(id))
        .collect();
    let mut clips: Vec<String> = session
        .draft
        .video_segments()
        .filter_map(|s| s.meta_str("name").map(str::to_string))
        .collect();
    clips.dedup();
    Names {
        media: media.iter().map(|m| m.filename.clone()).collect(),
        clips,
        audio: media
            .iter()
            .filter(|m| m.file_type == "audio")
            .map(|m| m.filename.clone())
            .collect(),
    }
}

fn media_views(db: &Db, session: &SessionRecord) -> Vec<MediaView> {
    session
        .media
        .iter()
        .filter_map(|id| db.media.get(id))
        .map(|m| MediaView {
            media_id: m.media_id.clone(),
            filename: m.filename.clone(),
            file_type: m.file_type.clone(),
            duration_s: m.duration,
        })
        .collect()
}

/// Every clause of the message as an edit, or why not (with what is possible).
fn understand(text: &str, names: &Names) -> Result<Vec<Intent>, String> {
    let help = help::help_for(text);
    let mut out = Vec::new();
    for clause in intent::clauses(text) {
        match intent::parse(&clause, names) {
            Ok(i) => out.push(i),
            Err(Some(why)) => return Err(format!("{why}. {help}")),
            Err(None) => {
                return Err(if words::has_cjk(text) {
                    format!("本地编辑器做不到“{}”。{help}", clause.trim())
                } else {
                    format!("The local editor cannot do \"{}\". {help}", clause.trim())
                });
            }
        }
    }
    if out.is_empty() {
        return Err(help.to_string());
    }
    Ok(out)
}

fn tool_of(i: &Intent) -> &'static str {
    match i {
        Intent::Background { .. } => "set_background",
        Intent::Title(_) => "add_title",
        Intent::RemoveTitles => "remove_titles",
        Intent::Music(_) => "set_music",
        Intent::RemoveMusic => "remove_music",
        Intent::Aspect(_) => "set_aspect_ratio",
        Intent::Trim { .. } => "trim",
        Intent::Move { .. } | Intent::Swap(..) => "move_clip",
        Intent::RemoveClip(_) => "remove_clip",
    }
}

fn now_ts() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The stream's sending side; becomes `None` when the client is gone or a fault cut it.
struct Out(Option<mpsc::Sender<String>>);

impl Out {
    async fn send(&mut self, chunk: String) {
        if let Some(tx) = &self.0
            && tx.send(chunk).await.is_err()
        {
            self.0 = None;
        }
    }

    async fn event(&mut self, e: &AdkEvent) {
        self.send(encode_data(e)).await;
    }
}

/// An ADK error event: how the stream says the turn failed.
fn error_event(inv: &str, code: &str, message: &str) -> Value {
    // Clients add their own sentence after it ("… . Try again").
    let message = message.trim_end().trim_end_matches(['.', '。']);
    json!({
        "id": format!("ev_{}", uuid::Uuid::new_v4().simple()),
        "invocationId": inv,
        "author": "nemo_agent",
        "timestamp": now_ts(),
        "errorCode": code,
        "errorMessage": message,
        "turnComplete": true,
    })
}

async fn work(
    state: AppState,
    caller: Caller,
    session_id: String,
    plan: Result<Vec<Intent>, String>,
    message: String,
    tx: mpsc::Sender<String>,
) {
    let inv = format!("e-{}", uuid::Uuid::new_v4().simple());
    let mut out = Out(Some(tx));
    let faults = state.faults.get();
    let say = |text: &str| -> String {
        if faults.silent_replies {
            String::new()
        } else {
            text.to_string()
        }
    };
    let intents = match plan {
        Ok(i) => i,
        Err(why) => {
            out.send(encode_data(&error_event(&inv, "UNSUPPORTED_EDIT", &why)))
                .await;
            return;
        }
    };
    let first = &intents[0];
    let tool = tool_of(first);
    let args = {
        let db = state.db();
        let draft = db.sessions.get(&session_id).map(|s| s.draft.clone());
        match (first, draft) {
            (Intent::Background { source, target }, Some(d)) => {
                let names = background::target_names(&d, target);
                json!({
                    "clip": names.join(", "),
                    "clips": names,
                    "background": match source {
                        BackdropSource::Text(t) | BackdropSource::Media(t) | BackdropSource::Path(t) => t.clone(),
                    },
                })
            }
            _ => {
                json!({"request": message, "edits": intents.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>()})
            }
        }
    };
    out.event(&AdkEvent::function_call(&inv, now_ts(), tool, args))
        .await;
    if faults.disconnect_sse {
        out.0 = None;
    }

    // The work, with heartbeats while it runs.
    let job = apply(state.clone(), caller, session_id, intents, message.clone());
    tokio::pin!(job);
    let period = state.config.sse_heartbeat.max(Duration::from_millis(10));
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let result = loop {
        tokio::select! {
            r = &mut job => break r,
            _ = beat.tick() => out.send(encode_comment("working")).await,
        }
    };
    match result {
        Ok((done, draft)) => {
            let mut response = json!({"status": "ok", "edits": done.iter().map(|d| json!({"tool": d.tool, "args": d.args})).collect::<Vec<_>>()});
            if let Some(first) = done.first() {
                for key in ["clip", "background", "description"] {
                    if let Some(v) = first.args.get(key) {
                        response[key] = v.clone();
                    }
                }
            }
            out.event(&AdkEvent::function_response(
                &inv,
                now_ts(),
                tool,
                response,
                json!({"draft": draft}),
            ))
            .await;
            let text = done
                .iter()
                .map(|d| d.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            out.event(&AdkEvent::final_text(&inv, now_ts(), &say(&text)))
                .await;
        }
        Err(why) => {
            out.event(&AdkEvent::function_response(
                &inv,
                now_ts(),
                tool,
                json!({"status": "error", "message": why}),
                json!({}),
            ))
            .await;
            out.send(encode_data(&error_event(&inv, "EDIT_FAILED", &why)))
                .await;
        }
    }
}

/// Apply every edit to a copy of the draft, then save it and charge once; on any failure
/// nothing changes and nothing is charged. `Err` is a message for the user.
async fn apply(
    state: AppState,
    caller: Caller,
    session_id: String,
    intents: Vec<Intent>,
    message: String,
) -> Result<(Vec<edit::Done>, Value), String> {
    let slow = state.faults.get().slow_ms;
    if slow > 0 {
        tokio::time::sleep(Duration::from_millis(slow)).await;
    }
    let zh = words::has_cjk(&message);
    let help = help::help_for(&message);
    // Backdrops first: resolving one may read files.
    let mut resolved = Vec::new();
    for i in &intents {
        if let Intent::Background { source, .. } = i {
            let input = {
                let db = state.db();
                let session =
                    owned_session(&db, &caller, &session_id).map_err(|e| e.to_string())?;
                background::input_of(&db, &session.media, &state.config.url_roots, source)?
            };
            let words = matches!(source, BackdropSource::Text(_));
            resolved.push(background::resolve(input, words, message.clone(), help).await?);
        }
    }
    let zero = state.faults.get().out_of_credits;
    let mut db = state.db();
    let mut session = owned_session(&db, &caller, &session_id).map_err(|e| e.to_string())?;
    let media = media_views(&db, &session);
    let mut draft = session.draft.clone();
    let mut done = Vec::new();
    let mut backdrops = resolved.iter();
    for i in &intents {
        let d = match i {
            Intent::Background { target, .. } => {
                let r = backdrops.next().ok_or("a backdrop was not resolved")?;
                let d = background::apply(&mut draft, target, r, zh)?;
                edit::normalise(&mut draft);
                d
            }
            other => edit::apply(&mut draft, other, &media, zh)?,
        };
        done.push(d);
    }
    session.draft = draft;
    let cost = state.config.edit_cost;
    let user_id = caller.user_id.clone();
    let mut user = db
        .users
        .get(&user_id)
        .cloned()
        .ok_or_else(|| "your account has no credit ledger".to_string())?;
    user.credits
        .spend(cost, &format!("edit {session_id}"), zero)
        .map_err(|e| e.to_string())?;
    let draft = serde_json::to_value(&session.draft).unwrap_or(Value::Null);
    db.sessions
        .put(&session_id, session)
        .map_err(|e| format!("saving the edit failed: {e}"))?;
    db.users
        .put(&user_id, user)
        .map_err(|e| format!("saving the ledger failed: {e}"))?;
    Ok((done, draft))
}
