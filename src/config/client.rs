//! Settings of the NemoVideo client and the MCP server: backend choice, API base, token,
//! client id, platform, state and config dirs, and the client's waits and time limits.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The cloud base URL (the same as `api::DEFAULT_CLOUD_URL`; config imports nothing).
pub const DEFAULT_API_URL: &str = "https://mega-api-prod.nemovideo.ai";
/// The NemoVideo website (`NEMO_WEB_URL`), for browser links (claim, register).
pub const DEFAULT_WEB_URL: &str = "https://nemovideo.com";
/// How often the cloud's render status is polled: every 30 s (DESIGN.md, render status row).
pub const CLOUD_RENDER_POLL: Duration = Duration::from_secs(30);
/// The docs' limit of polls per wait; then the job is kept and the user told, never failed.
pub const CLOUD_RENDER_MAX_POLLS: u32 = 10;
/// The embedded backend is ours and on loopback: polled this often...
pub const LOCAL_RENDER_POLL: Duration = Duration::from_millis(500);
/// ...up to this many times per wait (5 minutes, the same window as the cloud's 10 × 30 s).
pub const LOCAL_RENDER_MAX_POLLS: u32 = 600;

/// How a backend's render status is polled: a property of the backend, not of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPace {
    /// Time between two status polls.
    pub every: Duration,
    /// Polls per wait; after them the job is kept (`running` with its job id), not failed.
    pub max_polls: u32,
}

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
    /// The local backend's access key (`EBC_ACCESS_KEY`; the embedded backend's is set
    /// in-process), sent as `X-Access-Key` only to the API's own loopback origin.
    pub access_key: Option<String>,
    /// `SKILL_SOURCE` (or its alias `EBC_PLATFORM`); else detected from the install path.
    pub platform: Option<String>,
    /// The client id file shared with the other NemoVideo skills
    /// (`~/.config/nemovideo/client_id`; `state_dir/client_id` when built with `new`).
    pub client_id_file: PathBuf,
    /// The NemoVideo website for browser links (`NEMO_WEB_URL`, default nemovideo.com).
    pub web_url: String,
    /// The OS locale (`LC_ALL`, `LC_MESSAGES`, `LANG`, else the OS setting), e.g. `zh_CN.UTF-8`:
    /// the session language when no text of the user's has been seen yet.
    pub locale: Option<String>,
    /// Render status polling, overriding the backend's own pace (`EBC_RENDER_POLL_SECS`, tests).
    pub render_poll_override: Option<Duration>,
    /// Polls per wait, overriding the backend's own (`EBC_RENDER_MAX_POLLS`, tests).
    pub render_max_polls_override: Option<u32>,
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
            access_key: None,
            platform: None,
            client_id_file: state_dir.join("client_id"),
            web_url: DEFAULT_WEB_URL.to_string(),
            locale: None,
            render_poll_override: None,
            render_max_polls_override: None,
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
    /// `NEMO_WEB_URL`, `SKILL_SOURCE` / `EBC_PLATFORM`, `EBC_BACKEND`, `EBC_STATE_DIR`, `HOME`,
    /// the locale variables, else the OS locale.
    pub fn from_env() -> Result<Self, String> {
        let mut c = Self::from_lookup(|key| std::env::var(key).ok())?;
        if c.locale.is_none() {
            c.locale = sys_locale::get_locale();
        }
        if !c.client_id_file.is_absolute()
            && let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
        {
            c.client_id_file = shared_client_id_file(&home);
        }
        Ok(c)
    }

    /// How this config's backend is polled for renders: the cloud every 30 s, at most 10
    /// polls per wait; the embedded backend every 0.5 s (it is ours); either overridden by
    /// `render_poll_override` / `render_max_polls_override`.
    pub fn poll_pace(&self) -> PollPace {
        let (every, max_polls) = if self.backend_label == "local" {
            (LOCAL_RENDER_POLL, LOCAL_RENDER_MAX_POLLS)
        } else {
            (CLOUD_RENDER_POLL, CLOUD_RENDER_MAX_POLLS)
        };
        PollPace {
            every: self.render_poll_override.unwrap_or(every),
            max_polls: self.render_max_polls_override.unwrap_or(max_polls).max(1),
        }
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
        config.access_key = non_empty("EBC_ACCESS_KEY").map(|k| k.trim().to_string());
        config.client_id = non_empty("NEMO_CLIENT_ID").map(|t| t.trim().to_string());
        // The seed's variable first; ours stays as an alias.
        config.platform = non_empty("SKILL_SOURCE")
            .or_else(|| non_empty("EBC_PLATFORM"))
            .map(|t| t.trim().to_ascii_lowercase());
        if let Some(web) = non_empty("NEMO_WEB_URL") {
            let web = web.trim().trim_end_matches('/').to_string();
            if !(web.starts_with("http://") || web.starts_with("https://")) {
                return Err(format!(
                    "NEMO_WEB_URL={web:?} is not an http(s) URL; use e.g. {DEFAULT_WEB_URL}"
                ));
            }
            config.web_url = web;
        }
        config.locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|k| non_empty(k))
            .filter(|l| !matches!(l.as_str(), "C" | "POSIX") && !l.starts_with("C."));
        // A relative placeholder: `from_env` asks the OS for the home dir when HOME is unset.
        config.client_id_file = match non_empty("HOME") {
            Some(home) => shared_client_id_file(Path::new(home.trim())),
            None => PathBuf::from("client_id"),
        };
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

/// `~/.config/nemovideo/client_id`: the path the other NemoVideo skills use, on every OS.
pub fn shared_client_id_file(home: &Path) -> PathBuf {
    home.join(".config").join("nemovideo").join("client_id")
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

    #[test]
    fn skill_source_wins_and_ebc_platform_stays_an_alias() {
        let c = |pairs: &[(&str, &str)]| {
            let mut all = vec![("EBC_STATE_DIR", "/tmp/x")];
            all.extend_from_slice(pairs);
            ClientConfig::from_lookup(lookup(&all)).unwrap().platform
        };
        assert_eq!(
            c(&[("SKILL_SOURCE", "ClawHub"), ("EBC_PLATFORM", "cursor")]).as_deref(),
            Some("clawhub")
        );
        assert_eq!(c(&[("EBC_PLATFORM", "cursor")]).as_deref(), Some("cursor"));
        assert_eq!(c(&[("SKILL_SOURCE", " ")]), None);
    }

    #[test]
    fn client_id_file_web_url_and_locale() {
        let c = ClientConfig::from_lookup(lookup(&[
            ("EBC_STATE_DIR", "/tmp/x"),
            ("HOME", "/home/u"),
            ("LANG", "zh_CN.UTF-8"),
            ("NEMO_WEB_URL", "http://127.0.0.1:9/"),
        ]))
        .unwrap();
        assert_eq!(
            c.client_id_file,
            PathBuf::from("/home/u/.config/nemovideo/client_id")
        );
        assert_eq!(c.web_url, "http://127.0.0.1:9");
        assert_eq!(c.locale.as_deref(), Some("zh_CN.UTF-8"));
        let d = ClientConfig::from_lookup(lookup(&[("EBC_STATE_DIR", "/tmp/x"), ("LANG", "C")]))
            .unwrap();
        assert_eq!(d.web_url, DEFAULT_WEB_URL);
        assert_eq!(d.locale, None);
        assert!(
            ClientConfig::from_lookup(lookup(&[("EBC_STATE_DIR", "/x"), ("NEMO_WEB_URL", "x")]))
                .unwrap_err()
                .contains("NEMO_WEB_URL")
        );
    }

    /// The pace is the backend's: 30 s and 10 polls for the cloud, faster for our own.
    #[test]
    fn poll_pace_is_a_property_of_the_backend() {
        let cloud = ClientConfig::new("https://x", "/tmp/x".into(), "cloud");
        assert_eq!(
            cloud.poll_pace(),
            PollPace {
                every: Duration::from_secs(30),
                max_polls: 10
            }
        );
        let local = cloud.clone().use_local("http://127.0.0.1:9");
        assert!(local.poll_pace().every < Duration::from_secs(1));
        assert!(local.poll_pace().every * local.poll_pace().max_polls >= Duration::from_secs(300));
        let mut fast = ClientConfig::new("https://x", "/tmp/x".into(), "cloud");
        fast.render_poll_override = Some(Duration::from_millis(200));
        assert_eq!(fast.poll_pace().every, Duration::from_millis(200));
        assert_eq!(fast.poll_pace().max_polls, 10);
    }
}
