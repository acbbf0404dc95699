//! `POST /run_sse`: the local agent's HTTP side. It checks the caller, the session and the
//! credits, lets `services::agent` understand and apply the instruction, and streams ADK
//! events — `functionCall`, `functionResponse` with `actions.stateDelta`, final text — with
//! SSE comment heartbeats while it works. Anything the agent cannot do ends the stream with
//! an ADK error event (`errorCode`/`errorMessage`) listing what it can do, never with a plain
//! reply. The edit runs in its own task, so a client that disconnects mid-stream still gets
//! it applied (and charged once).
//!
//! After a background replacement the function response also carries `preview_url`: the
//! before/after JPEG of the clip (`services::preview`), stored as media of the session and
//! served by `/media`. It is made after the edit is saved, while the heartbeats go on; when
//! it cannot be made the edit stands and the response has no URL. The cloud dialects send
//! none, as the cloud does not (`dialect::makes_previews`).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::dialect;
use super::error::ApiError;
use super::extract::{ApiJson, BaseUrl, Caller};
use super::sessions::owned_session;
use crate::api::EditOp;
use crate::api::RunSseRequest;
use crate::api::sse::{AdkEvent, encode_comment, encode_data};
use crate::backend::error::Error;
use crate::backend::services::agent::{self, AgentError, Applied, Workspace};
use crate::backend::services::media::media_url;
use crate::backend::services::preview;
use crate::backend::state::AppState;

pub async fn run_sse(
    State(state): State<AppState>,
    caller: Caller,
    BaseUrl(base): BaseUrl,
    ApiJson(req): ApiJson<RunSseRequest>,
) -> Result<Response, ApiError> {
    let text = req.text();
    // Typed operations (an extension of ours) are applied as given; the text says the same
    // in words and is not parsed again.
    let operations = req.operations().map(<[Value]>::to_vec);
    if text.trim().is_empty() && operations.is_none() {
        return Err(ApiError::BadRequest(
            "new_message.parts[].text is empty; say what to change".into(),
        ));
    }
    let (session, plan) = {
        let (caller, session_id, text) = (caller.clone(), req.session_id.clone(), text.clone());
        let cost = state.config.edit_cost;
        state
            .store
            .run(move |db| {
                let session = owned_session(db, &caller, &session_id)?;
                let plan = match &operations {
                    Some(values) => agent::operations(values),
                    None => agent::understand(db, &session, &text),
                };
                // Undo and redo alone are free.
                let charged = plan
                    .as_ref()
                    .is_ok_and(|ops| ops.iter().any(|o| !o.is_history()));
                if charged {
                    let user = db.user(&caller.user_id)?;
                    if user.credits.balance().0 + 1e-9 < cost {
                        return Err(Error::OutOfCredits(format!(
                            "out of credits: an edit costs {cost}; register or top up, then retry"
                        )));
                    }
                }
                Ok((session, plan))
            })
            .await?
    };
    let (tx, rx) = mpsc::channel::<String>(32);
    let turn = Turn {
        caller,
        session_id: session.session_id,
        message: text,
        base,
    };
    tokio::spawn(work(state, turn, plan, tx));
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

fn now_ts() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The stream's sending side; becomes `None` when the client is gone.
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

    /// An ADK error event: how the stream says the turn failed.
    async fn error(&mut self, inv: &str, e: &AgentError) {
        // Clients add their own sentence after it ("… . Try again").
        let message = e.to_string();
        let message = message.trim_end().trim_end_matches(['.', '。']);
        let event = json!({
            "id": format!("ev_{}", uuid::Uuid::new_v4().simple()),
            "invocationId": inv,
            "author": "nemo_agent",
            "timestamp": now_ts(),
            "errorCode": e.code(),
            "errorMessage": message,
            "turnComplete": true,
        });
        self.send(encode_data(&event)).await;
    }
}

/// One `/run_sse` request: who, which session, the words, and this server as the client
/// reached it (for the preview's URL).
struct Turn {
    caller: Caller,
    session_id: String,
    message: String,
    base: String,
}

async fn work(
    state: AppState,
    turn: Turn,
    plan: Result<Vec<EditOp>, AgentError>,
    tx: mpsc::Sender<String>,
) {
    let Turn {
        caller,
        session_id,
        message,
        base,
    } = turn;
    let inv = format!("e-{}", uuid::Uuid::new_v4().simple());
    let mut out = Out(Some(tx));
    let ops = match plan {
        Ok(i) => i,
        Err(why) => {
            out.error(&inv, &why).await;
            return;
        }
    };
    let tool = agent::tool_of(&ops[0]);
    let args = {
        let (session_id, ops, message) = (session_id.clone(), ops.clone(), message.clone());
        state
            .store
            .run(move |db| Ok(agent::call_args(db, &session_id, &ops, &message)))
            .await
            .unwrap_or(Value::Null)
    };
    out.event(&AdkEvent::function_call(&inv, now_ts(), tool, args))
        .await;

    // The work, with heartbeats while it runs.
    let job = apply(&state, &caller, &session_id, &ops, &message, &base);
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
        Ok((
            Applied {
                done,
                draft,
                preview: _,
                versions,
            },
            (preview_url, preview_clip_url),
        )) => {
            let mut response = json!({
                "status": "ok",
                "edits": done.iter().map(|d| json!({"tool": d.tool, "args": d.args})).collect::<Vec<_>>(),
                "timeline_version": {"current": versions.current, "latest": versions.latest},
            });
            if let Some(first) = done.first() {
                for key in ["clip", "background", "description"] {
                    if let Some(v) = first.args.get(key) {
                        response[key] = v.clone();
                    }
                }
            }
            if let Some(url) = preview_url {
                response["preview_url"] = json!(url);
            }
            if let Some(url) = preview_clip_url {
                response["preview_clip_url"] = json!(url);
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
            out.event(&AdkEvent::final_text(&inv, now_ts(), &text))
                .await;
        }
        Err(why) => {
            out.event(&AdkEvent::function_response(
                &inv,
                now_ts(),
                tool,
                json!({"status": "error", "message": why.to_string()}),
                json!({}),
            ))
            .await;
            out.error(&inv, &why).await;
        }
    }
}

/// The service's `apply` with the state's store and settings, then the previews of a
/// background replacement: the JPEG's and the clip's URLs under `base` (`None` when none was
/// made).
async fn apply(
    state: &AppState,
    caller: &Caller,
    session_id: &str,
    ops: &[EditOp],
    message: &str,
    base: &str,
) -> Result<(Applied, (Option<String>, Option<String>)), AgentError> {
    // Test builds: `slow_ms` makes the work itself slow, so heartbeats show.
    #[cfg(feature = "faults")]
    {
        let slow = state.faults.get().slow_ms;
        if slow > 0 {
            tokio::time::sleep(Duration::from_millis(slow)).await;
        }
    }
    let ws = Workspace {
        store: &state.store,
        url_roots: &state.config.url_roots,
        edit_cost: state.config.edit_cost,
    };
    let mut applied = agent::apply(ws, &caller.user_id, session_id, ops, message).await?;
    let urls = match applied.preview.take() {
        Some(src) if dialect::makes_previews(state.config.dialect) => {
            let jpeg = preview_url(state, src.clone(), base).await;
            let clip = preview_clip_url(state, src, base).await;
            (jpeg, clip)
        }
        _ => (None, None),
    };
    Ok((applied, urls))
}

/// Make and store the preview of `src`; its URL, or `None` (logged) when it failed.
async fn preview_url(state: &AppState, src: preview::PreviewSource, base: &str) -> Option<String> {
    let clip = src.clip.clone();
    match preview::make(&state.store, src).await {
        Ok(rec) => {
            tracing::debug!(clip = %clip, media = %rec.media_id, bytes = rec.bytes, "preview stored");
            Some(media_url(base, &rec))
        }
        // A clip the engine cannot read (or draw on this backdrop) is worth a debug line only.
        Err(e @ preview::PreviewError::Render { .. }) => {
            tracing::debug!("no preview, the edit stands: {e}");
            None
        }
        Err(e) => {
            tracing::warn!("no preview, the edit stands: {e}");
            None
        }
    }
}

/// Make and store the preview clip of `src`; its URL, or `None` (logged) when it failed.
async fn preview_clip_url(
    state: &AppState,
    src: preview::PreviewSource,
    base: &str,
) -> Option<String> {
    let clip = src.clip.clone();
    match preview::make_clip(&state.store, src).await {
        Ok(rec) => {
            tracing::debug!(clip = %clip, media = %rec.media_id, bytes = rec.bytes, "preview clip stored");
            Some(media_url(base, &rec))
        }
        Err(e) => {
            tracing::debug!("no preview clip, the edit stands: {e}");
            None
        }
    }
}
