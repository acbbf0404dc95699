//! The router: every endpoint of the contract plus `/media/…` and `/health`, with the
//! middleware stack (access key → injected faults → rate limit) and a request timeout on the
//! routes that answer at once (not on SSE, uploads or file downloads).

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::middleware;
use axum::routing::{get, post};
use serde_json::json;
use tower_http::timeout::TimeoutLayer;

use super::error::ApiError;
use super::state::AppState;
use super::{agent, auth, claim, credits, dialect, media, ratelimit, render, sessions, upload};
use super::{extract, faults};
use crate::api::paths;

pub fn app(state: AppState) -> Router {
    let quick = Router::new()
        .route(paths::ANONYMOUS_TOKEN, post(auth::anonymous_token))
        .route(paths::CLAIM_TOKEN, post(claim::claim_token))
        .route(paths::CREATE_SESSION, post(sessions::create))
        .route(paths::CREDITS, get(credits::balance))
        .route(
            "/api/state/nemo_agent/me/{session}/latest",
            get(sessions::latest),
        )
        .route(paths::RENDER, post(render::submit))
        .route("/api/render/proxy/lambda/{id}", get(render::status))
        .route("/api/render/proxy/lambda/{id}/cancel", post(render::cancel))
        .route("/health", get(health))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.request_timeout,
        ));
    let body_limit = usize::try_from(state.config.max_upload_bytes.saturating_add(1 << 20))
        .unwrap_or(usize::MAX);
    let long = Router::new()
        .route(paths::RUN_SSE, post(agent::run_sse))
        .route(
            "/api/upload-video/nemo_agent/me/{session}",
            post(upload::upload).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/api/render/proxy/{id}/download", get(render::download))
        .route("/media/{file}", get(media::serve));
    quick
        .merge(long)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ratelimit::middleware,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::middleware,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            dialect::middleware,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            extract::access_key,
        ))
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(
        json!({"code": 0, "data": {"status": "ok", "backend": "local", "version": crate::VERSION}}),
    )
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no endpoint {method} {}", uri.path()))
}
