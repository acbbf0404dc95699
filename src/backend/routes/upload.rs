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
use crate::backend::services::media::{Quota, Staged, commit, quota_room, stage};
use crate::backend::services::paths::gate;
use crate::backend::state::AppState;

/// URLs one upload request may name.
pub const MAX_URLS: usize = 10;
/// Files one multipart upload request may carry (each is probed by ffprobe): as many as URLs.
pub const MAX_FILES: usize = MAX_URLS;

/// What one request may still store: the upload limit and the room the storage quota leaves.
#[derive(Debug, Clone, Copy)]
struct Budget {
    bytes: u64,
    quota: Quota,
    /// The quota, not the upload limit, is what bounds `bytes`.
    quota_bound: bool,
    room: u64,
}

impl Budget {
    async fn new(state: &AppState) -> Result<Budget, ApiError> {
        let quota = Quota {
            max_bytes: state.config.retention.max_data_bytes,
            sweep_every_secs: state.config.retention.sweep_every.as_secs(),
        };
        let room = quota_room(&state.store, quota).await?;
        let limit = state.config.max_upload_bytes;
        Ok(Budget {
            bytes: limit.min(room),
            quota,
            quota_bound: room < limit,
            room,
        })
    }

    /// Stage with what is left, then take it off; over a quota-bound budget the refusal
    /// names the quota.
    async fn stage(
        &mut self,
        dir: &Path,
        name: &str,
        stream: impl futures::Stream<Item = Result<Bytes, Error>> + Unpin,
    ) -> Result<Staged, ApiError> {
        let staged = match stage(dir, name, self.bytes, stream).await {
            Err(Error::TooLarge(_)) if self.quota_bound => {
                return Err(self.quota.full(name, self.room, None).into());
            }
            other => other?,
        };
        self.bytes = self.bytes.saturating_sub(staged.bytes);
        self.room = self.room.saturating_sub(staged.bytes);
        Ok(staged)
    }
}

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
    let budget = Budget::new(&state).await?;
    let quota = budget.quota;
    let staged = if is_json {
        let ApiJson(body) = ApiJson::<UploadUrlsRequest>::from_request(req, &state).await?;
        from_urls(&state, body, budget).await?
    } else {
        let multipart = Multipart::from_request(req, &state).await.map_err(|e| {
            ApiError::BadRequest(format!(
                "send multipart/form-data with one or more `{UPLOAD_FIELD}` parts, or JSON {{\"urls\":[…],\"source_type\":\"url\"}} ({})",
                e.body_text()
            ))
        })?;
        from_multipart(&state, multipart, budget).await?
    };
    if staged.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "no files in the request: add `{UPLOAD_FIELD}` parts or `urls`"
        )));
    }
    let (files, applied) = commit(
        &state.store,
        session_id,
        caller.user_id,
        staged,
        base,
        quota,
    )
    .await?;
    Ok(Json(Envelope::ok(UploadResult {
        files,
        session_state_applied: applied,
    })))
}

async fn from_multipart(
    state: &AppState,
    mut mp: Multipart,
    mut budget: Budget,
) -> Result<Vec<Staged>, ApiError> {
    let dir = state.store.media_dir().to_path_buf();
    let mut staged = Vec::new();
    while let Some(mut field) = mp.next_field().await? {
        if field.name() != Some(UPLOAD_FIELD) {
            // Drain unknown parts so the next one can be read.
            while field.chunk().await?.is_some() {}
            continue;
        }
        if staged.len() == MAX_FILES {
            return Err(ApiError::BadRequest(format!(
                "more than {MAX_FILES} files in one request; send at most {MAX_FILES} per request"
            )));
        }
        let filename = field.file_name().unwrap_or_default().to_string();
        let stream = futures::stream::unfold(field, |mut f| async move {
            match f.chunk().await {
                Ok(Some(c)) => Some((Ok::<Bytes, Error>(c), f)),
                Ok(None) => None,
                Err(e) => Some((Err(multipart_error(e)), f)),
            }
        });
        staged.push(budget.stage(&dir, &filename, Box::pin(stream)).await?);
    }
    Ok(staged)
}

async fn from_urls(
    state: &AppState,
    body: UploadUrlsRequest,
    mut budget: Budget,
) -> Result<Vec<Staged>, ApiError> {
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
    // One request downloads at most the upload limit in total, across its URLs (and no
    // more than the storage quota leaves).
    let policy = FetchPolicy {
        private_addresses: state.config.fetch_private_addresses,
    };
    let mut staged = Vec::new();
    for raw in &body.urls {
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
                budget.stage(&dir, &name, Box::pin(stream)).await?
            }
            "http" | "https" if state.config.allow_http_urls => {
                download(&dir, &mut budget, raw, policy).await?
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
        staged.push(s);
    }
    Ok(staged)
}

/// Download `raw` through the safe fetcher (`services::fetch`): public addresses only, each
/// redirect hop checked, one generic error for every failure of the fetch itself.
async fn download(
    dir: &Path,
    budget: &mut Budget,
    raw: &str,
    policy: FetchPolicy,
) -> Result<Staged, ApiError> {
    let limit = budget.bytes;
    let fetched = fetch(raw, policy)
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let name = fetched.name;
    if fetched.content_length.is_some_and(|n| n > limit) {
        if budget.quota_bound {
            return Err(budget
                .quota
                .full(&name, budget.room, fetched.content_length)
                .into());
        }
        return Err(ApiError::TooLarge(format!(
            "{name} is larger than the {} MB upload limit; trim or compress it and upload again",
            limit / (1024 * 1024)
        )));
    }
    let stream = fetched
        .body
        .map(|r| r.map_err(|e| Error::Invalid(e.to_string())));
    budget.stage(dir, &name, Box::pin(stream)).await
}
