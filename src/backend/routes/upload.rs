//! `POST /api/upload-video/nemo_agent/me/S`: multipart `files` parts streamed to disk, or JSON
//! `{"urls":[…],"source_type":"url"}` with `file://` URLs (only inside the configured roots,
//! after resolving `..` and symlinks) and `http(s)://` URLs (downloaded with the same size cap).

use std::path::Path;

use axum::Json;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Path as UrlPath, Request, State};
use axum::http::{StatusCode, header};
use bytes::Bytes;
use futures::StreamExt;
use reqwest::Url;

use super::error::ApiError;
use super::extract::{ApiJson, BaseUrl, Caller};
use crate::api::{Envelope, UPLOAD_FIELD, UploadResult, UploadUrlsRequest};
use crate::backend::error::Error;
use crate::backend::services::fetch::{FetchPolicy, fetch};
use crate::backend::services::media::{Staged, commit, stage};
use crate::backend::services::paths::gate;

/// URLs one upload request may name.
pub const MAX_URLS: usize = 10;
use crate::backend::state::AppState;

fn multipart_error(e: MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge(
            "the upload is larger than the upload limit; trim or compress it and upload again"
                .into(),
        )
    } else {
        Error::Invalid(format!(
            "the multipart body could not be read: {}",
            e.body_text()
        ))
    }
}

impl From<MultipartError> for ApiError {
    fn from(e: MultipartError) -> Self {
        multipart_error(e).into()
    }
}

fn download_error(e: reqwest::Error) -> Error {
    Error::Invalid(format!("downloading the URL failed: {e}"))
}

impl From<reqwest::Error> for ApiError {
    fn from(e: reqwest::Error) -> Self {
        download_error(e).into()
    }
}

pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    BaseUrl(base): BaseUrl,
    UrlPath(session_id): UrlPath<String>,
    req: Request,
) -> Result<Json<Envelope<UploadResult>>, ApiError> {
    {
        let (user, id) = (caller.user_id.clone(), session_id.clone());
        state
            .store
            .run(move |db| db.owned_session(&user, &id))
            .await?;
    }
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let staged = if is_json {
        let ApiJson(body) = ApiJson::<UploadUrlsRequest>::from_request(req, &state).await?;
        from_urls(&state, body).await?
    } else {
        let multipart = Multipart::from_request(req, &state).await.map_err(|e| {
            ApiError::BadRequest(format!(
                "send multipart/form-data with one or more `{UPLOAD_FIELD}` parts, or JSON {{\"urls\":[…],\"source_type\":\"url\"}} ({})",
                e.body_text()
            ))
        })?;
        from_multipart(&state, multipart).await?
    };
    if staged.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "no files in the request: add `{UPLOAD_FIELD}` parts or `urls`"
        )));
    }
    let (files, applied) = commit(&state.store, session_id, caller.user_id, staged, base).await?;
    Ok(Json(Envelope::ok(UploadResult {
        files,
        session_state_applied: applied,
    })))
}

async fn from_multipart(state: &AppState, mut mp: Multipart) -> Result<Vec<Staged>, ApiError> {
    let dir = state.store.media_dir().to_path_buf();
    let limit = state.config.max_upload_bytes;
    let mut staged = Vec::new();
    while let Some(mut field) = mp.next_field().await? {
        if field.name() != Some(UPLOAD_FIELD) {
            // Drain unknown parts so the next one can be read.
            while field.chunk().await?.is_some() {}
            continue;
        }
        let filename = field.file_name().unwrap_or_default().to_string();
        let stream = futures::stream::unfold(field, |mut f| async move {
            match f.chunk().await {
                Ok(Some(c)) => Some((Ok::<Bytes, Error>(c), f)),
                Ok(None) => None,
                Err(e) => Some((Err(multipart_error(e)), f)),
            }
        });
        staged.push(stage(&dir, &filename, limit, Box::pin(stream)).await?);
    }
    Ok(staged)
}

async fn from_urls(state: &AppState, body: UploadUrlsRequest) -> Result<Vec<Staged>, ApiError> {
    if body.source_type != "url" {
        return Err(ApiError::BadRequest(format!(
            "source_type must be \"url\", not {:?}",
            body.source_type
        )));
    }
    if body.urls.len() > MAX_URLS {
        return Err(ApiError::BadRequest(format!(
            "{} URLs in one request; send at most {MAX_URLS} per request",
            body.urls.len()
        )));
    }
    let dir = state.store.media_dir().to_path_buf();
    // One request downloads at most the upload limit in total, across its URLs.
    let mut budget = state.config.max_upload_bytes;
    let policy = FetchPolicy {
        private_addresses: state.config.fetch_private_addresses,
    };
    let mut staged = Vec::new();
    for raw in &body.urls {
        let limit = budget;
        let url = Url::parse(raw)
            .map_err(|e| ApiError::BadRequest(format!("{raw} is not a URL ({e})")))?;
        let s = match url.scheme() {
            "file" => {
                let path = gate(&state.config.url_roots, raw)
                    .map_err(Error::from)?
                    .into_path_buf();
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string();
                let file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| ApiError::BadRequest(format!("{raw} cannot be read ({e})")))?;
                let stream =
                    tokio_util::io::ReaderStream::new(file).map(|r| r.map_err(Error::from));
                stage(&dir, &name, limit, Box::pin(stream)).await?
            }
            "http" | "https" if state.config.allow_http_urls => {
                download(&dir, limit, raw, policy).await?
            }
            "http" | "https" => {
                return Err(ApiError::BadRequest(format!(
                    "{raw}: this backend does not download http(s) URLs; upload the file itself"
                )));
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "{raw}: URL scheme {other:?} is not supported; use file://, http:// or https://"
                )));
            }
        };
        budget = budget.saturating_sub(s.bytes);
        staged.push(s);
    }
    Ok(staged)
}

/// Download `raw` through the safe fetcher (`services::fetch`): public addresses only, each
/// redirect hop checked, one generic error for every failure of the fetch itself.
async fn download(
    dir: &Path,
    limit: u64,
    raw: &str,
    policy: FetchPolicy,
) -> Result<Staged, ApiError> {
    let fetched = fetch(raw, policy)
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let name = fetched.name;
    if fetched.content_length.is_some_and(|n| n > limit) {
        return Err(ApiError::TooLarge(format!(
            "{name} is larger than the {} MB upload limit; trim or compress it and upload again",
            limit / (1024 * 1024)
        )));
    }
    let stream = fetched
        .body
        .map(|r| r.map_err(|e| Error::Invalid(e.to_string())));
    Ok(stage(dir, &name, limit, Box::pin(stream)).await?)
}
