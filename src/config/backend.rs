//! Settings of the embedded backend, including its test-only fault injection.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Fault injection for tests; all off by default. Shared at runtime through the backend
/// handle, so a test can arm a fault mid-session.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct Faults {
    /// Every token issued so far becomes expired (→ 1001) once.
    pub expire_tokens_now: bool,
    /// Every session so far is lost (→ 1002) once.
    pub lose_sessions_now: bool,
    /// Answer the next N calls with HTTP 429.
    pub rate_limit_next: u32,
    /// `Retry-After` seconds sent with injected 429s.
    pub retry_after_secs: u64,
    /// Agent replies come back with no text at all (a "silent" completion).
    pub silent_replies: bool,
    /// Close the SSE stream right after the function call, before any text.
    pub disconnect_sse: bool,
    /// Renders fail with this message.
    pub render_failure: Option<String>,
    /// Every answer is delayed this long (the agent's work too, so heartbeats show).
    pub slow_ms: u64,
    /// Renders wait (status `processing`, progress frozen) until this is cleared: lets a test
    /// cancel, shut down or restart in the middle of a render without timing guesses.
    pub hold_renders: bool,
    /// Every ledger reads 0 available: edits and renders answer 2001.
    pub out_of_credits: bool,
}

#[derive(Debug, Clone)]
pub struct BackendConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Required to listen on a non-loopback address.
    pub access_key: Option<String>,
    pub token_ttl: Duration,
    /// Requests per token per minute before 429.
    pub rate_limit_per_min: u32,
    /// Credits granted to a new anonymous token.
    pub initial_credits: f64,
    pub max_upload_bytes: u64,
    /// Roots `file://` upload URLs may point into.
    pub url_roots: Vec<PathBuf>,
    /// Renders running at once.
    pub render_workers: usize,
    pub faults: Faults,
    /// SSE comment heartbeat period of `/run_sse` while the agent works.
    pub sse_heartbeat: Duration,
    /// Credits one understood agent edit costs.
    pub edit_cost: f64,
    /// Credits a render costs per started second of output (at least one second).
    pub render_cost_per_second: f64,
    /// Accept `http(s)://` upload URLs (downloaded with the upload size cap).
    pub allow_http_urls: bool,
    /// Time limit of ordinary (non-streaming, non-upload) requests.
    pub request_timeout: Duration,
}

impl BackendConfig {
    /// Loopback on a free port, data in `data_dir`, everything else default.
    pub fn ephemeral(data_dir: PathBuf) -> Self {
        BackendConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            access_key: None,
            token_ttl: Duration::from_secs(7 * 24 * 3600),
            rate_limit_per_min: 600,
            initial_credits: 10_000.0,
            max_upload_bytes: 500 * 1024 * 1024,
            url_roots: Vec::new(),
            render_workers: 1,
            faults: Faults::default(),
            sse_heartbeat: Duration::from_secs(10),
            edit_cost: 1.0,
            render_cost_per_second: 1.0,
            allow_http_urls: true,
            request_timeout: Duration::from_secs(30),
        }
    }
}
