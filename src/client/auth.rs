//! Token and session lifecycle: `NEMO_TOKEN`, else the persisted anonymous token, else a new
//! one for the persisted client id; the persisted session, else a new one. Each refresh runs
//! under its own lock and only replaces the value that failed, so concurrent calls that all
//! saw a 1001 or 1002 share a single new token or session.

use reqwest::Method;
use sha2::Digest;

use super::Inner;
use super::call::{Call, Needs};
use super::error::{ClientError, FailureContext, from_failure};
use super::http;
use super::language;
use super::state::{self, PersistedState};
use crate::api::{
    AnonymousToken, ApiFailure, ClaimToken, ClaimTokenRequest, CreateSessionRequest, SessionInfo,
    decode_envelope, headers, paths,
};

impl Inner {
    /// The token came from `NEMO_TOKEN` (a registered user).
    pub(crate) fn registered(&self) -> bool {
        self.config.token.is_some()
    }

    /// `NEMO_CLIENT_ID`, else the persisted id (created once).
    pub(crate) fn client_id(&self) -> Result<String, ClientError> {
        let mut slot = lock(&self.client_id);
        if let Some(id) = slot.as_ref() {
            return Ok(id.clone());
        }
        let id = state::client_id(
            &self.config.client_id_file,
            self.config.client_id.as_deref(),
        )?;
        *slot = Some(id.clone());
        Ok(id)
    }

    pub(crate) fn snapshot(&self) -> PersistedState {
        lock(&self.state).clone()
    }

    /// Change the persisted state and write it (0600, atomic).
    pub(crate) fn update_state(
        &self,
        change: impl FnOnce(&mut PersistedState),
    ) -> Result<(), ClientError> {
        let mut st = lock(&self.state);
        let before = st.clone();
        change(&mut st);
        if *st != before {
            state::save(&self.state_path, &st)?;
        }
        Ok(())
    }

    fn current_token(&self) -> Option<String> {
        self.config.token.clone().or_else(|| self.snapshot().token)
    }

    pub(crate) async fn token(&self) -> Result<String, ClientError> {
        if let Some(t) = self.current_token() {
            return Ok(t);
        }
        let _guard = self.token_lock.lock().await;
        if let Some(t) = self.current_token() {
            return Ok(t);
        }
        self.fetch_anonymous_token().await
    }

    /// After a 1001 on `stale`: a new anonymous token (registered tokens cannot be renewed
    /// here; the user has to set a fresh `NEMO_TOKEN`).
    pub(crate) async fn refresh_token(&self, stale: &str, what: &str) -> Result<(), ClientError> {
        if self.registered() {
            return Err(ClientError::RegisteredTokenRejected {
                what: what.to_string(),
            });
        }
        let _guard = self.token_lock.lock().await;
        if self.snapshot().token.as_deref() != Some(stale) {
            return Ok(());
        }
        self.update_state(|s| s.token = None)?;
        self.fetch_anonymous_token().await.map(|_| ())
    }

    /// `POST /api/auth/anonymous-token` with `X-Client-Id`. HTTP 400 (the id was missing or
    /// refused) → a new client id and one retry; 429 → wait and one retry.
    async fn fetch_anonymous_token(&self) -> Result<String, ClientError> {
        const WHAT: &str = "getting an access token";
        let mut new_id = false;
        loop {
            let client_id = self.client_id()?;
            let rb = self
                .http
                .request(Method::POST, paths::ANONYMOUS_TOKEN, None)
                .header(headers::CLIENT_ID, &client_id)
                .timeout(self.config.request_timeout);
            let response = http::send(rb, WHAT, self.http.base()).await?;
            let status = response.status().as_u16();
            let body = response
                .bytes()
                .await
                .map_err(|e| ClientError::Unreachable {
                    what: WHAT.into(),
                    url: self.http.base().into(),
                    source: e.without_url(),
                })?;
            let failure = match decode_envelope::<AnonymousToken>(status, &body) {
                Ok(t) => {
                    let user_changed = self.snapshot().user_id.as_deref() != Some(&t.user_id);
                    self.update_state(|s| {
                        s.api_url = Some(self.http.base().to_string());
                        s.token = Some(t.token.clone());
                        if user_changed {
                            // Sessions belong to a user: a new user cannot reuse them.
                            s.user_id = Some(t.user_id.clone());
                            s.session_id = None;
                            s.task_id = None;
                        }
                    })?;
                    tracing::debug!("anonymous token issued");
                    return Ok(t.token);
                }
                Err(f) => f,
            };
            if status == 400 && !new_id && self.config.client_id.is_none() {
                new_id = true;
                let id = state::new_client_id(&self.config.client_id_file)?;
                *lock(&self.client_id) = Some(id);
                tracing::info!("the service refused the client id; generated a new one");
                continue;
            }
            // A 429 here is the anonymous-token allowance (one per client id per 7 days, ten
            // per IP), not a burst limit: waiting a minute would not help.
            if let ApiFailure::Code {
                code: crate::api::CODE_LIMIT_REACHED,
                message,
            } = failure
            {
                return Err(ClientError::LimitReached {
                    what: WHAT.into(),
                    message,
                });
            }
            if status == 429 {
                return Err(ClientError::TokenLimit);
            }
            let ctx = FailureContext {
                what: WHAT.into(),
                client_id: self.client_id().unwrap_or_default(),
                web_url: self.config.web_url.clone(),
                ..FailureContext::default()
            };
            return Err(from_failure(status, failure, &ctx));
        }
    }

    fn current_session(&self) -> Option<SessionInfo> {
        let st = self.snapshot();
        if st.token_owner != self.token_owner() {
            return None;
        }
        st.session_id.map(|session_id| SessionInfo {
            session_id,
            task_id: st.task_id.unwrap_or_default(),
            user_id: st.user_id.unwrap_or_default(),
        })
    }

    /// Which `NEMO_TOKEN` the persisted session belongs to (a short hash, never the token).
    fn token_owner(&self) -> Option<String> {
        self.config.token.as_ref().map(|t| {
            let digest = sha2::Sha256::digest(t.as_bytes());
            hex::encode(&digest[..8])
        })
    }

    pub(crate) async fn session(&self) -> Result<SessionInfo, ClientError> {
        if let Some(s) = self.current_session() {
            return Ok(s);
        }
        let _guard = self.session_lock.lock().await;
        if let Some(s) = self.current_session() {
            return Ok(s);
        }
        self.create_session().await
    }

    /// After a 1002 on `stale`: a new session, unless another call already made one.
    pub(crate) async fn renew_session(&self, stale: &str) -> Result<(), ClientError> {
        let _guard = self.session_lock.lock().await;
        if self.current_session().map(|s| s.session_id).as_deref() != Some(stale) {
            return Ok(());
        }
        self.update_state(|s| {
            s.session_id = None;
            s.task_id = None;
        })?;
        self.create_session().await.map(|_| ())
    }

    async fn create_session(&self) -> Result<SessionInfo, ClientError> {
        let base = self.http.clone();
        let (language, from_text) = self.session_language();
        let body = CreateSessionRequest {
            language: language.clone(),
            ..CreateSessionRequest::default()
        };
        let info: SessionInfo = self
            .call_json(
                Call::new("starting an editing session", Needs::Token),
                &mut |c| {
                    Ok(base
                        .request(Method::POST, paths::CREATE_SESSION, Some(&c.token))
                        .json(&body))
                },
            )
            .await?;
        let owner = self.token_owner();
        self.update_state(|s| {
            s.api_url = Some(self.http.base().to_string());
            s.session_id = Some(info.session_id.clone());
            s.task_id = Some(info.task_id.clone());
            if !info.user_id.is_empty() {
                s.user_id = Some(info.user_id.clone());
            }
            s.token_owner = owner;
            s.session_language = Some(language.clone());
            s.language_from_text = from_text;
            s.session_turns = 0;
            s.session_uploads.clear();
        })?;
        tracing::debug!(%language, "editing session created");
        Ok(info)
    }

    /// Remember the language of the user's own words (`text`), for the session.
    pub(crate) fn note_language(&self, text: &str) {
        if let Some(lang) = language::from_text(text) {
            *lock(&self.language_hint) = Some(lang);
        }
    }

    /// The language a new session is created in, and whether it came from the user's words.
    fn session_language(&self) -> (String, bool) {
        match lock(&self.language_hint).clone() {
            Some(lang) => (lang, true),
            None => (
                language::resolve(None, self.config.locale.as_deref()),
                false,
            ),
        }
    }

    /// Before the first message to the agent: a session made before the user wrote anything
    /// (e.g. by an upload) took the OS locale's language; when the user's words are in
    /// another language, a new session is made in theirs and the uploads are added to it
    /// again, so the agent answers in the user's language. Only while no message was sent on
    /// the old session and every upload can be repeated; otherwise the session stays.
    pub(crate) async fn align_session_language(&self) -> Result<(), ClientError> {
        let Some(wanted) = lock(&self.language_hint).clone() else {
            return Ok(());
        };
        let Some(current) = self.current_session() else {
            return Ok(());
        };
        let st = self.snapshot();
        if st.session_turns > 0
            || st.language_from_text
            || st.session_language.as_deref() == Some(wanted.as_str())
        {
            return Ok(());
        }
        let uploads = st.session_uploads.clone();
        let repeatable = uploads
            .iter()
            .all(|u| super::upload::is_url(u) || std::path::Path::new(u).is_file());
        if !repeatable {
            return Ok(());
        }
        {
            let _guard = self.session_lock.lock().await;
            if self.current_session().map(|s| s.session_id) != Some(current.session_id.clone()) {
                return Ok(());
            }
            self.update_state(|s| {
                s.session_id = None;
                s.task_id = None;
            })?;
            self.create_session().await?;
        }
        tracing::info!(
            from = st.session_language.as_deref().unwrap_or_default(),
            to = %wanted,
            uploads = uploads.len(),
            "made the session again in the user's language"
        );
        let (urls, files): (Vec<String>, Vec<String>) =
            uploads.into_iter().partition(|u| super::upload::is_url(u));
        let files: Vec<std::path::PathBuf> = files.into_iter().map(Into::into).collect();
        self.upload_paths(&files).await?;
        self.upload_url_list(&urls).await?;
        Ok(())
    }

    /// A browser link to the project: `POST /api/auth/claim-token` →
    /// `$NEMO_WEB_URL/workspace/claim?ct=<claim_token>`. The token itself is never put in a URL.
    pub(crate) async fn claim_link(&self) -> Result<String, ClientError> {
        let http = self.http.clone();
        let task_id = self.session().await?.task_id;
        let claim: ClaimToken = self
            .call_json(
                Call::new("getting the browser link", Needs::Session),
                &mut |c| {
                    Ok(http
                        .request(Method::POST, paths::CLAIM_TOKEN, Some(&c.token))
                        .json(&ClaimTokenRequest {
                            task_id: task_id.clone(),
                            session_id: c.session_id.clone(),
                        }))
                },
            )
            .await?;
        if claim.claim_token.is_empty() {
            return Err(ClientError::BadAnswer {
                what: "getting the browser link".into(),
                detail: "no claim_token".into(),
            });
        }
        let base = format!(
            "{}/workspace/claim",
            self.config.web_url.trim_end_matches('/')
        );
        reqwest::Url::parse_with_params(&base, &[("ct", claim.claim_token.as_str())])
            .map(String::from)
            .map_err(|e| ClientError::Message(format!("NEMO_WEB_URL gives no valid link: {e}")))
    }
}

/// A poisoned lock only means another thread panicked mid-update; the data is still usable.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
