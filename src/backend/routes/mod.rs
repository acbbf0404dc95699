//! The HTTP layer: one file per endpoint group, the extractors, the middleware, the one
//! mapping of domain errors to `ApiError`, and the router — every endpoint of the contract
//! plus `/media/…` and `/health`, with the middleware stack (access key → dialect shaping and
//! request log → injected faults in test builds → rate limit) and a request timeout on the routes that answer at once (not on
//! SSE, uploads or file downloads), and a minimum speed for every request body (`body_rate`).
//! Handlers get the services from `AppState`.

pub mod agent;
pub mod auth;
pub mod body_rate;
pub mod claim;
pub mod credits;
pub mod dialect;
pub mod error;
pub mod extract;
#[cfg(feature = "faults")]
pub mod faults;
pub mod media;
pub mod middleware;
pub mod render;
pub mod sessions;
pub mod upload;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use serde_json::json;
use tower_http::timeout::TimeoutLayer;

use crate::api::paths;
use crate::backend::state::AppState;
use error::ApiError;

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
    let router = quick
        .merge(long)
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), middleware::rate_limit));
    #[cfg(feature = "faults")]
    let router = router.layer(from_fn_with_state(state.clone(), faults::middleware));
    router
        .layer(from_fn_with_state(state.clone(), dialect::middleware))
        .layer(from_fn_with_state(state.clone(), middleware::guard))
        .layer(from_fn_with_state(state.clone(), body_rate::middleware))
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
