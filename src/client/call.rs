//! One API call with the contract's recoveries: resolve token (and session), send, read the
//! body code first and the HTTP status second, then 1001 → new token, 1002 → new session,
//! 429 → wait (`Retry-After`, else the configured default) — each retried once — or report.

use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::{RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Inner;
use super::error::{ClientError, FailureContext, Recovery, from_failure, recovery};
use super::http;
use crate::api::decode_envelope;

/// What a call needs besides the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Token,
    Session,
}

/// How to make one call.
#[derive(Debug, Clone)]
pub struct Call {
    /// The call in words, for messages ("upload", "export").
    pub what: &'static str,
    pub needs: Needs,
    /// The file or URL an upload is about (for 4001/4002 messages).
    pub file: Option<String>,
    /// A 2xx answer that is not JSON is handed back as a stream (SSE, downloads).
    pub stream: bool,
    /// Per-request timeout; `None` for long transfers.
    pub timeout: Option<Duration>,
}

impl Call {
    pub fn new(what: &'static str, needs: Needs) -> Self {
        Call {
            what,
            needs,
            file: None,
            stream: false,
            timeout: None,
        }
    }
}

/// What the request builder gets for each attempt.
#[derive(Debug, Clone)]
pub struct Creds {
    pub token: String,
    /// Empty for calls that need no session.
    pub session_id: String,
}

pub enum Reply {
    /// The envelope's `data`.
    Data(Value),
    /// A 2xx non-JSON answer (event stream, file bytes).
    Stream(Response),
}

pub type Build<'a> = dyn FnMut(&Creds) -> Result<RequestBuilder, ClientError> + Send + 'a;

impl Inner {
    pub(crate) fn failure_context(&self, call: &Call) -> FailureContext {
        FailureContext {
            what: call.what.to_string(),
            registered: self.registered(),
            client_id: self.client_id().unwrap_or_default(),
            user_id: self.snapshot().user_id.unwrap_or_default(),
            web_url: self.config.web_url.clone(),
            file: call.file.clone(),
        }
    }

    /// Send with recoveries; boxed because creating a session is itself a call.
    pub(crate) fn send<'a>(
        &'a self,
        call: Call,
        build: &'a mut Build<'a>,
    ) -> BoxFuture<'a, Result<Reply, ClientError>> {
        Box::pin(async move {
            let (mut new_token, mut new_session, mut waited) = (false, false, None::<Duration>);
            loop {
                let token = self.token().await?;
                let session_id = match call.needs {
                    Needs::Token => String::new(),
                    Needs::Session => self.session().await?.session_id,
                };
                let creds = Creds { token, session_id };
                let mut rb = build(&creds)?;
                if let Some(t) = call.timeout {
                    rb = rb.timeout(t);
                }
                let response = http::send(rb, call.what, self.http.base()).await?;
                let status = response.status().as_u16();
                if call.stream && response.status().is_success() && !http::is_json(&response) {
                    return Ok(Reply::Stream(response));
                }
                let retry_after = http::retry_after(response.headers());
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| ClientError::Unreachable {
                        what: call.what.to_string(),
                        url: self.http.base().to_string(),
                        source: e.without_url(),
                    })?;
                let failure = match decode_envelope::<Value>(status, &body) {
                    Ok(data) => return Ok(Reply::Data(data)),
                    Err(f) => f,
                };
                match recovery(status, &failure) {
                    Recovery::NewToken if !new_token => {
                        new_token = true;
                        tracing::debug!(what = call.what, "token rejected; getting a new one");
                        self.refresh_token(&creds.token, call.what).await?;
                    }
                    Recovery::NewSession if call.needs == Needs::Session && !new_session => {
                        new_session = true;
                        tracing::debug!(what = call.what, "session lost; creating a new one");
                        self.renew_session(&creds.session_id).await?;
                    }
                    Recovery::Wait if waited.is_none() => {
                        let wait = self.rate_limit_wait(retry_after);
                        tracing::info!(
                            what = call.what,
                            wait_secs = wait.as_secs_f64(),
                            "rate-limited; waiting before one retry"
                        );
                        tokio::time::sleep(wait).await;
                        waited = Some(wait);
                    }
                    _ => {
                        let mut err = from_failure(status, failure, &self.failure_context(&call));
                        if let (ClientError::RateLimited { waited_secs, .. }, Some(w)) =
                            (&mut err, waited)
                        {
                            *waited_secs = w.as_secs();
                        }
                        return Err(err);
                    }
                }
            }
        })
    }

    /// `send` for a JSON answer, decoded as `T`, with the plain-request timeout.
    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        call: Call,
        build: &mut Build<'_>,
    ) -> Result<T, ClientError> {
        let call = Call {
            timeout: call.timeout.or(Some(self.config.request_timeout)),
            ..call
        };
        self.call_json_untimed(call, build).await
    }

    /// `call_json` without a default timeout (uploads of large files).
    pub(crate) async fn call_json_untimed<T: DeserializeOwned>(
        &self,
        call: Call,
        build: &mut Build<'_>,
    ) -> Result<T, ClientError> {
        let what = call.what;
        let call = Call {
            stream: false,
            ..call
        };
        match self.send(call, build).await? {
            Reply::Data(v) => serde_json::from_value(v).map_err(|e| ClientError::BadAnswer {
                what: what.to_string(),
                detail: e.to_string(),
            }),
            Reply::Stream(_) => Err(ClientError::BadAnswer {
                what: what.to_string(),
                detail: "a stream where JSON was expected".into(),
            }),
        }
    }

    /// `Retry-After` when present (capped), else the configured default.
    pub(crate) fn rate_limit_wait(&self, retry_after: Option<Duration>) -> Duration {
        retry_after
            .unwrap_or(self.config.rate_limit_wait)
            .min(self.config.rate_limit_max_wait)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::client::NemoClient;
    use crate::config::ClientConfig;

    #[test]
    fn rate_limit_wait_defaults_to_thirty_seconds_and_caps_retry_after() {
        let dir = tempfile::tempdir().unwrap();
        let c = NemoClient::new(ClientConfig::new(
            "http://127.0.0.1:9",
            dir.path().into(),
            "local",
        ))
        .unwrap();
        let inner = &c.inner;
        assert_eq!(inner.rate_limit_wait(None), Duration::from_secs(30));
        assert_eq!(
            inner.rate_limit_wait(Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            inner.rate_limit_wait(Some(Duration::from_secs(3600))),
            Duration::from_secs(120)
        );
    }
}
