//! Middleware of every route: the access key (required off loopback) and the per-token rate
//! limit (HTTP 429 with `Retry-After`).

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::api::headers;
use crate::backend::state::AppState;

/// When an access key is configured (required off loopback), every request must carry it.
pub async fn access_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(key) = state.config.access_key.as_deref() {
        let given = req
            .headers()
            .get("x-access-key")
            .and_then(|v| v.to_str().ok());
        if given != Some(key) {
            return ApiError::AccessKey.into_response();
        }
    }
    next.run(req).await
}

/// Count the call against its caller (bearer token, else client id); 429 once over.
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let h = req.headers();
    let key = h
        .get(header::AUTHORIZATION)
        .or_else(|| h.get(headers::CLIENT_ID))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anonymous")
        .to_string();
    if let Err(retry_after_secs) = state.limiter.hit(&key, Instant::now()) {
        return ApiError::RateLimited { retry_after_secs }.into_response();
    }
    next.run(req).await
}
