//! Settings of the MCP server, resolved once by the CLI (flags and environment) and handed in:
//! nothing under `mcp/` reads the environment itself.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::ClientConfig;

/// Longest wait inside one tool call for a host `hosts` does not know (clients built on the
/// TypeScript SDK drop a request after 60 s).
pub const DEFAULT_CALL_BUDGET: Duration = super::hosts::UNKNOWN_CEILING;
/// How long `EBC_BACKEND=auto` waits for the cloud to answer before going local.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct McpSettings {
    /// Client settings: `api_url` is the cloud base (`NEMO_API_URL`), `backend` the choice
    /// (`EBC_BACKEND`), `state_dir` where token/session state persists.
    pub client: ClientConfig,
    /// Data dir of the embedded backend (`EBC_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Longest wait inside one tool call for every host (`EBC_CALL_BUDGET_SECS`); `None`: chosen
    /// per host from its `clientInfo` (`hosts`).
    pub call_budget: Option<Duration>,
    /// How long `auto` waits for the cloud.
    pub probe_timeout: Duration,
    /// The user's home, for `~` in paths.
    pub home: Option<PathBuf>,
    /// Where export_video saves when no output path is given (the Videos folder, else home).
    pub export_dir: PathBuf,
}
