//! Extractors: `ApiJson` (bad JSON answers in the contract's error shape), `Caller` (the
//! bearer token's user, 1001 when unknown or expired), `BaseUrl` (this server as the client
//! reached it, for URLs in answers).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::backend::state::AppState;
use crate::backend::store::{now_secs, sha256_hex};

#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError::BadRequest(format!(
            "the request body is not what this endpoint takes: {}",
            r.body_text()
        ))
    }
}

/// The user behind `Authorization: Bearer <token>`.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::TokenInvalid(
                    "missing Authorization: Bearer <token>; get a token from POST /api/auth/anonymous-token".into(),
                )
            })?;
        let sha = sha256_hex(token.as_bytes());
        let rec = state.store.run(move |db| db.token(&sha)).await?.ok_or_else(|| {
            ApiError::TokenInvalid("this token is not known here; get a new one from POST /api/auth/anonymous-token and retry".into())
        })?;
        if rec.expires_at <= now_secs() {
            return Err(ApiError::TokenInvalid(
                "this token has expired; get a new one from POST /api/auth/anonymous-token and retry".into(),
            ));
        }
        Ok(Caller {
            user_id: rec.user_id,
        })
    }
}

/// Who is calling on the network, as the key the per-source limits count
/// (`services::limits::source_key`): from the socket's peer address, never from a header.
#[derive(Debug, Clone)]
pub struct Source(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0);
        Ok(Source(crate::backend::services::limits::source_key(peer)))
    }
}

/// `http://ADDR` of this server, the bound address (never taken from `Host`).
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Never the request's `Host`: a rebinding page would get URLs on its own name.
        let _ = parts;
        Ok(BaseUrl(state.base_url.to_string()))
    }
}
