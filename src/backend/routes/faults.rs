//! Test-only fault middleware (the `faults` feature): injected 429s (`rate_limit_next`),
//! delays (`slow_ms`), and on `/run_sse` streams the "silent" reply (every text blanked) and
//! the cut after the function call (`disconnect_sse`). The agent itself knows none of this:
//! it keeps working after the client is gone, as with a real disconnect.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;

use super::error::ApiError;
use crate::api::paths;
use crate::backend::state::AppState;

pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(retry_after_secs) = state.faults.take_rate_limit() {
        return ApiError::RateLimited { retry_after_secs }.into_response();
    }
    let faults = state.faults.get();
    if faults.slow_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.slow_ms)).await;
    }
    let sse = req.uri().path() == paths::RUN_SSE;
    let resp = next.run(req).await;
    if !sse || !(faults.silent_replies || faults.disconnect_sse) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let (silent, cut) = (faults.silent_replies, faults.disconnect_sse);
    // Each chunk of the agent's stream is one whole SSE event.
    let stream = body
        .into_data_stream()
        .scan(false, move |done, chunk| {
            let out = match chunk {
                _ if *done => None,
                Ok(bytes) => {
                    let (bytes, is_call) = rewrite(bytes, silent);
                    *done = cut && is_call;
                    Some(Ok::<Bytes, axum::Error>(bytes))
                }
                Err(e) => Some(Err(e)),
            };
            futures::future::ready(out)
        });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// The event with its texts blanked when `silent`, and whether it is a function call (ADK
/// `functionCall` part or typed `tool_call`).
fn rewrite(bytes: Bytes, silent: bool) -> (Bytes, bool) {
    let Some(json) = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.trim().strip_prefix("data:"))
        .and_then(|d| serde_json::from_str::<Value>(d.trim()).ok())
    else {
        return (bytes, false);
    };
    let mut json = json;
    let mut is_call = json.get("type").and_then(Value::as_str) == Some("tool_call");
    let parts = json
        .pointer_mut("/content/parts")
        .and_then(Value::as_array_mut);
    let mut changed = false;
    if let Some(parts) = parts {
        for part in parts {
            is_call |= part.get("functionCall").is_some();
            if silent && let Some(t) = part.get_mut("text") {
                *t = Value::String(String::new());
                changed = true;
            }
        }
    }
    if silent
        && json.get("type").and_then(Value::as_str) == Some("text")
        && let Some(c) = json.get_mut("content")
    {
        *c = Value::String(String::new());
        changed = true;
    }
    if !changed {
        return (bytes, is_call);
    }
    (Bytes::from(format!("data: {json}\n\n")), is_call)
}
