//! Renders: submit (`render_<uuid>`, persisted as pending before it is sent, so a restart
//! can resume waiting), status, cancel, and download to a temp file beside the destination,
//! renamed on success; the output URL first, the download endpoint as the fallback.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use reqwest::Method;
use tokio::io::AsyncWriteExt;

use super::Inner;
use super::call::{Call, Needs, Reply};
use super::error::{ClientError, from_failure};
use super::http;
use crate::api::{
    Draft, RenderOutput, RenderRequest, RenderState, RenderStatus, decode_envelope, paths,
};

impl Inner {
    pub(crate) async fn submit_render(
        &self,
        draft: &Draft,
        output: RenderOutput,
    ) -> Result<RenderStatus, ClientError> {
        let id = format!("render_{}", uuid::Uuid::new_v4().simple());
        self.update_state(|s| s.pending_render = Some(id.clone()))?;
        let http = self.http.clone();
        let result: Result<RenderStatus, ClientError> = self
            .call_json(Call::new("starting the export", Needs::Session), &mut |c| {
                Ok(http
                    .request(Method::POST, paths::RENDER, Some(&c.token))
                    .json(&RenderRequest {
                        id: id.clone(),
                        session_id: c.session_id.clone(),
                        draft: draft.clone(),
                        output: output.clone(),
                    }))
            })
            .await;
        match result {
            Ok(mut status) => {
                if status.id.is_empty() {
                    status.id = id;
                } else if status.id != id {
                    let server_id = status.id.clone();
                    self.update_state(|s| s.pending_render = Some(server_id))?;
                }
                Ok(status)
            }
            Err(e) => {
                self.clear_pending(&id)?;
                Err(e)
            }
        }
    }

    pub(crate) async fn fetch_render_status(
        &self,
        render_id: &str,
    ) -> Result<RenderStatus, ClientError> {
        let http = self.http.clone();
        let mut status: RenderStatus = self
            .call_json(Call::new("checking the export", Needs::Token), &mut |c| {
                Ok(http.request(
                    Method::GET,
                    &paths::render_status(render_id),
                    Some(&c.token),
                ))
            })
            .await?;
        if status.id.is_empty() {
            status.id = render_id.to_string();
        }
        if matches!(status.status, RenderState::Failed | RenderState::Cancelled) {
            self.clear_pending(render_id)?;
        }
        Ok(status)
    }

    pub(crate) async fn cancel(&self, render_id: &str) -> Result<(), ClientError> {
        let http = self.http.clone();
        let _: serde_json::Value = self
            .call_json(Call::new("cancelling the export", Needs::Token), &mut |c| {
                Ok(http.request(
                    Method::POST,
                    &paths::render_cancel(render_id),
                    Some(&c.token),
                ))
            })
            .await?;
        self.clear_pending(render_id)
    }

    pub(crate) fn clear_pending(&self, render_id: &str) -> Result<(), ClientError> {
        self.update_state(|s| {
            if s.pending_render.as_deref() == Some(render_id) {
                s.pending_render = None;
            }
        })
    }

    pub(crate) async fn download(
        &self,
        status: &RenderStatus,
        dest: &Path,
    ) -> Result<u64, ClientError> {
        if status.status != RenderState::Completed {
            return Err(ClientError::RenderNotReady {
                id: status.id.clone(),
                status: format!("{:?}", status.status).to_lowercase(),
            });
        }
        let write_err = |source| ClientError::Write {
            path: dest.to_path_buf(),
            source,
        };
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(write_err)?;

        if let Some(url) = status.url() {
            match self.get_file(url, "downloading the export", None).await {
                Ok(resp) if resp.status().is_success() && !http::is_json(&resp) => {
                    match save_body(resp, &dir, dest).await {
                        Ok(n) => {
                            self.clear_pending(&status.id)?;
                            return Ok(n);
                        }
                        Err(SaveError::Write(e)) => return Err(write_err(e)),
                        Err(SaveError::Transfer) => {}
                    }
                }
                Ok(resp) => {
                    tracing::debug!(
                        status = resp.status().as_u16(),
                        "output URL refused; using the download endpoint"
                    )
                }
                Err(e) => {
                    tracing::debug!(error = %e, "output URL unreachable; using the download endpoint")
                }
            }
        }

        let http = self.http.clone();
        let call = Call {
            stream: true,
            ..Call::new("downloading the export", Needs::Token)
        };
        let id = status.id.clone();
        let reply = self
            .send(call, &mut |c| {
                Ok(http.request(Method::GET, &paths::render_download(&id), Some(&c.token)))
            })
            .await?;
        let Reply::Stream(resp) = reply else {
            return Err(ClientError::BadAnswer {
                what: "downloading the export".into(),
                detail: "JSON came back instead of the video".into(),
            });
        };
        match save_body(resp, &dir, dest).await {
            Ok(n) => {
                self.clear_pending(&status.id)?;
                Ok(n)
            }
            Err(SaveError::Write(e)) => Err(write_err(e)),
            Err(SaveError::Transfer) => Err(ClientError::Message(format!(
                "The download of render {} broke off; try export again with the same job to resume.",
                status.id
            ))),
        }
    }
}

impl Inner {
    /// GET a file the service pointed at: `url` absolute, or a path on the API. The bearer
    /// token goes only to the API's own origin, never to a CDN. `timeout`: `None` for long
    /// transfers.
    pub(crate) async fn get_file(
        &self,
        url: &str,
        what: &str,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, ClientError> {
        let url = self.http.url(url);
        let token = if self.http.same_origin(&url) {
            Some(self.token().await?)
        } else {
            None
        };
        let mut rb = self.http.request(Method::GET, &url, token.as_deref());
        if let Some(t) = timeout {
            rb = rb.timeout(t);
        }
        http::send(rb, what, self.http.base()).await
    }

    /// A small file the service pointed at (a preview), read into memory: at most `limit`
    /// bytes, else `AnswerTooLarge` (the rest is never read). An error answer is reported
    /// like any other call's (body code first, HTTP status second).
    pub(crate) async fn fetch_small(
        &self,
        url: &str,
        what: &'static str,
        limit: usize,
    ) -> Result<Vec<u8>, ClientError> {
        let unreachable = |e: reqwest::Error| ClientError::Unreachable {
            what: what.to_string(),
            url: self.http.base().to_string(),
            source: e.without_url(),
        };
        let too_large = || ClientError::AnswerTooLarge {
            what: what.to_string(),
            limit_kb: limit / 1024,
        };
        let resp = self
            .get_file(url, what, Some(self.config.request_timeout))
            .await?;
        let status = resp.status().as_u16();
        let failed = !resp.status().is_success() || http::is_json(&resp);
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = resp.bytes_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(unreachable)?;
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        if failed {
            let failure = match decode_envelope::<serde_json::Value>(status, &bytes) {
                Ok(_) => {
                    return Err(ClientError::BadAnswer {
                        what: what.to_string(),
                        detail: "JSON came back instead of the file".into(),
                    });
                }
                Err(f) => f,
            };
            let ctx = self.failure_context(&Call::new(what, Needs::Token));
            return Err(from_failure(status, failure, &ctx));
        }
        if bytes.is_empty() {
            return Err(ClientError::BadAnswer {
                what: what.to_string(),
                detail: "the file is empty".into(),
            });
        }
        Ok(bytes)
    }
}

enum SaveError {
    Write(std::io::Error),
    Transfer,
}

/// Stream the body into a temp file in `dir`, then rename it to `dest`; on any failure the
/// temp file is removed and `dest` is untouched.
async fn save_body(resp: reqwest::Response, dir: &Path, dest: &Path) -> Result<u64, SaveError> {
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(SaveError::Write)?;
    let std_file = tmp.as_file().try_clone().map_err(SaveError::Write)?;
    let mut file = tokio::fs::File::from_std(std_file);
    let mut body = resp.bytes_stream();
    let mut written = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            tracing::debug!(error = %e.without_url(), "download broke");
            SaveError::Transfer
        })?;
        file.write_all(&chunk).await.map_err(SaveError::Write)?;
        written += chunk.len() as u64;
    }
    file.flush().await.map_err(SaveError::Write)?;
    file.sync_all().await.map_err(SaveError::Write)?;
    drop(file);
    if written == 0 {
        return Err(SaveError::Transfer);
    }
    crate::fsx::persist(tmp, dest).map_err(|e| SaveError::Write(e.error))?;
    Ok(written)
}
