//! Settings of the NemoVideo client and the MCP server: backend choice, API base, token,
//! client id, platform, state and config dirs, and the client's waits and time limits.

use std::path::PathBuf;
use std::time::Duration;

/// The cloud base URL (the same as `api::DEFAULT_CLOUD_URL`; config imports nothing).
pub const DEFAULT_API_URL: &str = "https://mega-api-prod.nemovideo.ai";

/// `EBC_BACKEND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    Local,
    Cloud,
    #[default]
    Auto,
}

impl BackendChoice {
    /// `local`, `cloud` or `auto` (case-insensitive); anything else is an error naming the
    /// variable and the accepted values.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(BackendChoice::Local),
            "cloud" => Ok(BackendChoice::Cloud),
            "auto" | "" => Ok(BackendChoice::Auto),
            other => Err(format!(
                "EBC_BACKEND={other:?} is not a backend choice; use local, cloud or auto"
            )),
        }
    }
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
    /// Wait after a 429 that carries no `Retry-After` (the contract says 30 s).
    pub rate_limit_wait: Duration,
    /// Longest a `Retry-After` is honoured; longer asks are capped.
    pub rate_limit_max_wait: Duration,
    /// Hard limit of one agent run (15 min).
    pub run_timeout: Duration,
    /// A run that sends only heartbeats this long has timed out (10 min).
    pub heartbeat_only_timeout: Duration,
    /// "Still working…" every this long while a run waits (2 min).
    pub notice_every: Duration,
    /// After an SSE disconnect: the first state poll waits this long (30 s), then doubles.
    pub recovery_first_poll: Duration,
    /// After an SSE disconnect: stop polling after this long in total (5 min).
    pub recovery_max_wait: Duration,
    /// Connect timeout of every request.
    pub connect_timeout: Duration,
    /// Timeout of one plain (non-streaming) request.
    pub request_timeout: Duration,
}

impl ClientConfig {
    /// Defaults of the contract for a given base URL and state dir; no environment read.
    pub fn new(api_url: impl Into<String>, state_dir: PathBuf, backend_label: &str) -> Self {
        ClientConfig {
            api_url: api_url.into(),
            token: None,
            client_id: None,
            platform: None,
            backend: BackendChoice::Auto,
            state_dir,
            backend_label: backend_label.to_string(),
            rate_limit_wait: Duration::from_secs(30),
            rate_limit_max_wait: Duration::from_secs(120),
            run_timeout: Duration::from_secs(15 * 60),
            heartbeat_only_timeout: Duration::from_secs(10 * 60),
            notice_every: Duration::from_secs(2 * 60),
            recovery_first_poll: Duration::from_secs(30),
            recovery_max_wait: Duration::from_secs(5 * 60),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
        }
    }

    /// Resolve from the process environment: `NEMO_API_URL`, `NEMO_TOKEN`, `NEMO_CLIENT_ID`,
    /// `EBC_PLATFORM`, `EBC_BACKEND`, `EBC_STATE_DIR`.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// `from_env` over any lookup, so tests need not touch the process environment.
    /// `backend_label` is "cloud" unless `EBC_BACKEND=local`; under `auto` the MCP server
    /// decides and points the config at the embedded backend with `use_local`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let non_empty = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let backend = match non_empty("EBC_BACKEND") {
            Some(v) => BackendChoice::parse(&v)?,
            None => BackendChoice::Auto,
        };
        let state_dir = match non_empty("EBC_STATE_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => default_state_dir().ok_or_else(|| {
                "cannot find a home directory for the client state; set EBC_STATE_DIR to a \
                 writable directory"
                    .to_string()
            })?,
        };
        let api_url = non_empty("NEMO_API_URL")
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .unwrap_or_else(|| DEFAULT_API_URL.to_string());
        if !(api_url.starts_with("http://") || api_url.starts_with("https://")) {
            return Err(format!(
                "NEMO_API_URL={api_url:?} is not an http(s) URL; use e.g. {}",
                DEFAULT_API_URL
            ));
        }
        let label = if backend == BackendChoice::Local {
            "local"
        } else {
            "cloud"
        };
        let mut config = ClientConfig::new(api_url, state_dir, label);
        config.backend = backend;
        config.token = non_empty("NEMO_TOKEN").map(|t| t.trim().to_string());
        config.client_id = non_empty("NEMO_CLIENT_ID").map(|t| t.trim().to_string());
        config.platform = non_empty("EBC_PLATFORM").map(|t| t.trim().to_ascii_lowercase());
        Ok(config)
    }

    /// Point this config at the embedded backend at `url` (label "local"). A cloud token is
    /// not sent to it.
    pub fn use_local(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into();
        self.backend_label = "local".into();
        self.token = None;
        self
    }
}

/// The per-user state dir (`~/.local/state/editor-background-changer` on Linux, the
/// platform's config dir elsewhere); see [`super::dirs`].
pub fn default_state_dir() -> Option<PathBuf> {
    super::dirs::state_dir()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn env_resolution() {
        let c = ClientConfig::from_lookup(lookup(&[
            ("NEMO_API_URL", "http://127.0.0.1:9/"),
            ("NEMO_TOKEN", " nmv_usr_x "),
            ("EBC_PLATFORM", "Cursor"),
            ("EBC_STATE_DIR", "/tmp/x"),
        ]))
        .unwrap();
        assert_eq!(c.api_url, "http://127.0.0.1:9");
        assert_eq!(c.token.as_deref(), Some("nmv_usr_x"));
        assert_eq!(c.platform.as_deref(), Some("cursor"));
        assert_eq!(c.state_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.backend, BackendChoice::Auto);
        assert_eq!(c.rate_limit_wait, Duration::from_secs(30));

        let d = ClientConfig::from_lookup(lookup(&[("EBC_STATE_DIR", "/tmp/x")])).unwrap();
        assert_eq!(d.api_url, DEFAULT_API_URL);
        assert!(d.token.is_none());

        let bad = ClientConfig::from_lookup(lookup(&[
            ("EBC_BACKEND", "gpu"),
            ("EBC_STATE_DIR", "/tmp/x"),
        ]));
        assert!(bad.unwrap_err().contains("EBC_BACKEND"));
    }
}
