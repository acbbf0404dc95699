//! Settings of the NemoVideo client and the MCP server: backend choice, API base, token,
//! client id, platform, state and config dirs.
// OWNER: client helper. Fields may be added; keep the existing ones.

use std::path::PathBuf;

/// `EBC_BACKEND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    Local,
    Cloud,
    #[default]
    Auto,
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL (`NEMO_API_URL`, default the cloud).
    pub api_url: String,
    /// `NEMO_TOKEN`.
    pub token: Option<String>,
    /// `NEMO_CLIENT_ID`.
    pub client_id: Option<String>,
    /// `EBC_PLATFORM` override; else detected.
    pub platform: Option<String>,
    pub backend: BackendChoice,
    /// Where the client id file and the 0600 state file live.
    pub state_dir: PathBuf,
    /// "local" or "cloud": which backend the client talks to, reported in every tool result.
    pub backend_label: String,
}
