//! `NemoClient`: token and session lifecycle, attribution headers, retries, uploads, SSE,
//! state, credits and renders against any server speaking the NemoVideo API.
// OWNER: client helper. Signatures are the contract other modules compile against.

use std::path::{Path, PathBuf};

use crate::api::{
    CreditsData, Draft, RenderOutput, RenderStatus, SessionInfo, SessionState, UploadedFile,
};
use crate::config::ClientConfig;

/// What a user can act on; `Display` is the user-facing sentence (no tokens, no raw answers).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Message(String),
}

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
}

#[derive(Clone)]
pub struct NemoClient {
    config: ClientConfig,
}

impl NemoClient {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        Ok(NemoClient { config })
    }

    /// "local" or "cloud".
    pub fn backend_label(&self) -> &str {
        &self.config.backend_label
    }

    pub async fn ensure_session(&self) -> Result<SessionInfo, ClientError> {
        todo!("client helper")
    }

    /// Local files, checked for type and size before upload, streamed from disk.
    pub async fn upload_files(&self, paths: &[PathBuf]) -> Result<Vec<UploadedFile>, ClientError> {
        let _ = paths;
        todo!("client helper")
    }

    pub async fn upload_urls(&self, urls: &[String]) -> Result<Vec<UploadedFile>, ClientError> {
        let _ = urls;
        todo!("client helper")
    }

    /// Send one message to the agent and follow its SSE stream to the end. `notices` hears
    /// "Still working…" every 2 minutes of waiting.
    pub async fn run(
        &self,
        message: &str,
        notices: Option<tokio::sync::mpsc::UnboundedSender<Notice>>,
    ) -> Result<RunOutcome, ClientError> {
        let _ = (message, notices);
        todo!("client helper")
    }

    pub async fn state(&self) -> Result<SessionState, ClientError> {
        todo!("client helper")
    }

    pub async fn credits(&self) -> Result<CreditsData, ClientError> {
        todo!("client helper")
    }

    /// Submit a render of `draft` (id `render_<unique>`); the id is persisted as pending.
    pub async fn start_render(
        &self,
        draft: &Draft,
        output: RenderOutput,
    ) -> Result<RenderStatus, ClientError> {
        let _ = (draft, output);
        todo!("client helper")
    }

    pub async fn render_status(&self, render_id: &str) -> Result<RenderStatus, ClientError> {
        let _ = render_id;
        todo!("client helper")
    }

    pub async fn cancel_render(&self, render_id: &str) -> Result<(), ClientError> {
        let _ = render_id;
        todo!("client helper")
    }

    /// Fetch a completed render to `dest` (temp file + rename), falling back to the
    /// download endpoint when the output URL cannot be fetched. Returns bytes written.
    pub async fn download_render(
        &self,
        status: &RenderStatus,
        dest: &Path,
    ) -> Result<u64, ClientError> {
        let _ = (status, dest);
        todo!("client helper")
    }

    /// A render started by an earlier run of this server and not yet collected.
    pub fn pending_render(&self) -> Option<String> {
        todo!("client helper")
    }
}
