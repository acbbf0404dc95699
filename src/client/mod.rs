//! `NemoClient`: token and session lifecycle, attribution headers, retries, uploads, SSE,
//! state, credits and renders against any server speaking the NemoVideo API.
//!
//! One job per file: `http` (reqwest + headers), `platform` (X-Skill-Platform), `state`
//! (the 0600 state file and client id), `auth` (token/session), `call` (one call with the
//! contract's recoveries), `error` (user-facing errors), `upload` (local checks, streamed
//! parts), `sse` (stream reader), `run` (one agent turn), `diff` (draft changes in words),
//! `render` (export jobs and downloads), `language` (the session's language).

mod auth;
mod call;
pub mod diff;
pub mod error;
mod http;
pub mod language;
pub mod platform;
mod render;
mod run;
mod sse;
pub mod state;
pub mod upload;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use reqwest::Method;

use crate::api::{
    CreditsData, Draft, RenderOutput, RenderStatus, SessionInfo, SessionState, UploadedFile, paths,
};
use crate::config::ClientConfig;
use call::{Call, Needs};

pub use error::{ClientError, TopUpPage};
pub use run::STILL_WORKING;

/// Largest preview answer `fetch_preview` reads, in bytes: the contract's 64 KB
/// (`api::PREVIEW_MAX_BYTES`) plus 8 KB of slack for a server that rounds differently.
pub const PREVIEW_FETCH_LIMIT: usize = crate::api::PREVIEW_MAX_BYTES + 8 * 1024;
/// Slack above `api::PREVIEW_CLIP_MAX_BYTES` when fetching a preview clip.
pub const PREVIEW_CLIP_FETCH_SLACK: usize = 64 * 1024;

const PREVIEW_WHAT: &str = "fetching the before/after preview";
const PREVIEW_CLIP_WHAT: &str = "fetching the before/after preview clip";

/// Something to tell the user while a call is under way ("Still working…", render percent).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub message: String,
    /// 0–100 when known.
    pub percent: Option<f64>,
}

/// The result of one agent message.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    /// Final assistant text (partial texts dropped), as the backend wrote it.
    pub text: String,
    /// Tool calls the agent made, by name.
    pub tool_calls: Vec<String>,
    /// The draft after the turn, when read.
    pub draft: Option<Draft>,
    /// Human-readable changes between the draft before and after (used when no text came).
    pub changes: Vec<String>,
    /// The stream dropped and the outcome was recovered by polling state.
    pub recovered_after_disconnect: bool,
    /// Where the backend put a before/after preview of the edit (a function response's
    /// `preview_url`; the embedded backend only): fetch it with `NemoClient::fetch_preview`.
    pub preview_url: Option<String>,
    /// Where the backend put the before/after preview clip (`preview_clip_url`; the embedded
    /// backend only): fetch it with `NemoClient::fetch_preview_clip`.
    pub preview_clip_url: Option<String>,
}

/// The shared inside of a client; every file of this module adds methods to it.
pub(crate) struct Inner {
    config: ClientConfig,
    http: http::Http,
    state_path: PathBuf,
    state: Mutex<state::PersistedState>,
    client_id: Mutex<Option<String>>,
    /// The language of the user's words, once seen (`language::from_text`).
    language_hint: Mutex<Option<String>>,
    token_lock: tokio::sync::Mutex<()>,
    session_lock: tokio::sync::Mutex<()>,
}

/// Cheap to clone: clones share the token, session and state file.
#[derive(Clone)]
pub struct NemoClient {
    inner: Arc<Inner>,
}

impl NemoClient {
    /// Loads the persisted state (no network). The platform header comes from
    /// `config.platform`, else from the executable's path and the working directory.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let exe = std::env::current_exe().ok();
        let cwd = std::env::current_dir().ok();
        let platform = platform::detect(config.platform.as_deref(), exe.as_deref(), cwd.as_deref());
        let http = http::Http::new(&config, platform)?;
        let state_path = state::state_path(&config.state_dir, &config.backend_label);
        let persisted = state::load(&state_path);
        Ok(NemoClient {
            inner: Arc::new(Inner {
                config,
                http,
                state_path,
                state: Mutex::new(persisted),
                client_id: Mutex::new(None),
                language_hint: Mutex::new(None),
                token_lock: tokio::sync::Mutex::new(()),
                session_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// "local" or "cloud".
    pub fn backend_label(&self) -> &str {
        &self.inner.config.backend_label
    }

    /// The base URL this client talks to.
    pub fn api_url(&self) -> &str {
        self.inner.http.base()
    }

    /// The `X-Skill-Platform` value sent.
    pub fn platform(&self) -> &str {
        self.inner.http.platform()
    }

    /// The client id (`NEMO_CLIENT_ID` or the persisted one), creating it if needed.
    pub fn client_id(&self) -> Result<String, ClientError> {
        self.inner.client_id()
    }

    /// `NEMO_TOKEN` is set: a registered user.
    pub fn is_registered(&self) -> bool {
        self.inner.registered()
    }

    /// The state file this client persists to.
    pub fn state_file(&self) -> &Path {
        &self.inner.state_path
    }

    pub async fn ensure_session(&self) -> Result<SessionInfo, ClientError> {
        self.inner.session().await
    }

    /// Local files, checked for type and size before upload, streamed from disk.
    pub async fn upload_files(&self, paths: &[PathBuf]) -> Result<Vec<UploadedFile>, ClientError> {
        self.inner.upload_paths(paths).await
    }

    pub async fn upload_urls(&self, urls: &[String]) -> Result<Vec<UploadedFile>, ClientError> {
        self.inner.upload_url_list(urls).await
    }

    /// The user's own words (an instruction), for the session's `language`: a session is
    /// created in the language they are written in, and one made earlier in the OS locale's
    /// language, before any message, is made again in theirs.
    pub fn note_user_text(&self, text: &str) {
        self.inner.note_language(text);
    }

    /// The `language` the current session was created with, if there is one.
    pub fn session_language(&self) -> Option<String> {
        self.inner.snapshot().session_language
    }

    /// A browser link that opens this project on the NemoVideo website
    /// (`$NEMO_WEB_URL/workspace/claim?ct=<claim_token>`); never carries the access token.
    pub async fn claim_link(&self) -> Result<String, ClientError> {
        self.inner.claim_link().await
    }

    /// How this client's backend is polled for renders (30 s / 10 polls for the cloud).
    pub fn poll_pace(&self) -> crate::config::PollPace {
        self.inner.config.poll_pace()
    }

    /// Send one message to the agent and follow its SSE stream to the end. `notices` hears
    /// "Still working…" every 2 minutes of waiting.
    pub async fn run(
        &self,
        message: &str,
        notices: Option<tokio::sync::mpsc::UnboundedSender<Notice>>,
    ) -> Result<RunOutcome, ClientError> {
        self.inner.run_turn(message, None, notices).await
    }

    /// Send typed edit operations: `message` says them in words (`api::edit_sentence::message`), and with
    /// `attach` the operations also travel as data in the same part (only the embedded
    /// backend reads them; the cloud agent gets the words alone).
    pub async fn run_operations(
        &self,
        message: &str,
        operations: &[crate::api::EditOp],
        attach: bool,
        notices: Option<tokio::sync::mpsc::UnboundedSender<Notice>>,
    ) -> Result<RunOutcome, ClientError> {
        let values: Vec<serde_json::Value> = operations
            .iter()
            .filter_map(|o| serde_json::to_value(o).ok())
            .collect();
        let attached = attach.then_some(values.as_slice());
        self.inner.run_turn(message, attached, notices).await
    }

    pub async fn state(&self) -> Result<SessionState, ClientError> {
        self.inner.read_state().await
    }

    pub async fn credits(&self) -> Result<CreditsData, ClientError> {
        let http = self.inner.http.clone();
        self.inner
            .call_json(
                Call::new("reading the credit balance", Needs::Token),
                &mut |c| Ok(http.request(Method::GET, paths::CREDITS, Some(&c.token))),
            )
            .await
    }

    /// Submit a render of `draft` (id `render_<unique>`); the id is persisted as pending.
    pub async fn start_render(
        &self,
        draft: &Draft,
        output: RenderOutput,
    ) -> Result<RenderStatus, ClientError> {
        self.inner.submit_render(draft, output).await
    }

    pub async fn render_status(&self, render_id: &str) -> Result<RenderStatus, ClientError> {
        self.inner.fetch_render_status(render_id).await
    }

    pub async fn cancel_render(&self, render_id: &str) -> Result<(), ClientError> {
        self.inner.cancel(render_id).await
    }

    /// Fetch a completed render to `dest` (temp file + rename), falling back to the
    /// download endpoint when the output URL cannot be fetched. Returns bytes written.
    pub async fn download_render(
        &self,
        status: &RenderStatus,
        dest: &Path,
    ) -> Result<u64, ClientError> {
        self.inner.download(status, dest).await
    }

    /// The bytes of a preview at `url` (a `RunOutcome::preview_url`), fetched like the
    /// service's other files: the bearer token goes only to the API's own origin.
    ///
    /// # Errors
    /// `ClientError::AnswerTooLarge` when the answer is above
    /// `api::PREVIEW_MAX_BYTES` plus a little slack ([`PREVIEW_FETCH_LIMIT`]); the usual
    /// `Unreachable`/`Http`/`Service` errors otherwise. Never holds more than the limit in
    /// memory.
    pub async fn fetch_preview(&self, url: &str) -> Result<Vec<u8>, ClientError> {
        self.inner
            .fetch_small(url, PREVIEW_WHAT, PREVIEW_FETCH_LIMIT)
            .await
    }

    /// The bytes of a preview clip at `url` (a `RunOutcome::preview_clip_url`), fetched like
    /// [`Self::fetch_preview`] with the clip's limit (`api::PREVIEW_CLIP_MAX_BYTES` plus
    /// [`PREVIEW_CLIP_FETCH_SLACK`]).
    ///
    /// # Errors
    /// As [`Self::fetch_preview`].
    pub async fn fetch_preview_clip(&self, url: &str) -> Result<Vec<u8>, ClientError> {
        self.inner
            .fetch_small(
                url,
                PREVIEW_CLIP_WHAT,
                crate::api::PREVIEW_CLIP_MAX_BYTES + PREVIEW_CLIP_FETCH_SLACK,
            )
            .await
    }

    /// A render started by an earlier run of this server and not yet collected.
    pub fn pending_render(&self) -> Option<String> {
        self.inner.snapshot().pending_render
    }

    /// Forget the pending render (the caller gave up on it).
    pub fn clear_pending_render(&self) -> Result<(), ClientError> {
        match self.pending_render() {
            Some(id) => self.inner.clear_pending(&id),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn config_default_url_matches_the_contract() {
        assert_eq!(
            crate::config::client::DEFAULT_API_URL,
            crate::api::DEFAULT_CLOUD_URL
        );
    }
}
