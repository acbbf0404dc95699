//! `GET /media/<id>.<ext>`: an uploaded file served back to its owner, with Range, HEAD and
//! If-Range handled by tower-http.

use std::path::Path;

use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::error::ApiError;
use super::extract::Caller;
use crate::backend::state::AppState;

/// `GET /media/<id>.<ext>`: the owner's uploaded file, with Range support.
pub async fn serve(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(file): UrlPath<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let id = file.split('.').next().unwrap_or_default();
    let id = id.to_string();
    let path = state
        .store
        .run(move |db| {
            Ok(db
                .media(&id)?
                .filter(|m| m.user_id == caller.user_id)
                .map(|m| db.media_file(&m)))
        })
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("media {file} was not found")))?;
    serve_file(&path, req).await
}

/// Serve a file with Range / If-Range / HEAD handled by tower-http.
pub async fn serve_file(path: &Path, req: Request) -> Result<Response, ApiError> {
    let resp = ServeFile::new(path)
        .oneshot(req)
        .await
        .map_err(|e| ApiError::internal(format!("serving {}: {e}", path.display())))?;
    Ok(resp.map(Body::new).into_response())
}
