//! Settings of the embedded backend, and (only with the `faults` feature, which the tests turn
//! on) its fault injection.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Fault injection for tests; all off by default. Shared at runtime through the backend
/// handle, so a test can arm a fault mid-session. Compiled only with the `faults` feature:
/// the shipped binary has none of it.
#[cfg(feature = "faults")]
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
    /// The next N renders fail (the job ends `failed`): a client's one retry with a new id
    /// can then be watched succeed (N = 1) or fail again (N = 2).
    pub fail_renders_next: u32,
    /// Agent replies end with a last text "I encountered a temporary issue…" after the normal
    /// output, as the cloud's agent sometimes sends.
    pub trailing_temporary_issue: bool,
}

/// Which documented shape the embedded backend answers in (DESIGN.md "The NemoVideo
/// contract"), so a real server exercises every variant the client must accept.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// Ours, unchanged: `{"code":0,"data":…}`, render answers as `{"success":true,"data":…}`
    /// carrying both `outputUrl` and `output.url`.
    #[default]
    Native,
    /// The seed skill and SKILL.md v1.9: bare render objects with `status` at the top and the
    /// URL at `output.url`, a submit answer with the id only; `anon_` user ids, session ids of
    /// digits; drafts naming clips in `m.title`, with keys of the cloud's own.
    Seed,
    /// The withdrawn v4.4 reference: `{"success":true,"data":{id,status,progress,outputUrl}}`.
    V44,
    /// Before 4.4: bare `{taskId,status,progress,output:{url,duration,size}}`; uploads without
    /// fps/hash, images without duration; durations as floats; `session_id`, `task_id`,
    /// `task_name` beside `state`; `expires_at` as an ISO date.
    Legacy,
}

/// Which of the two SSE event shapes `/run_sse` sends (DESIGN.md, SSE events).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SseDialect {
    /// ADK events (`content.parts`, `functionCall`…). With a dialect other than `native`,
    /// as a plain `/run_sse` run sends them: no `turnComplete`, and an unknown session is
    /// HTTP 404 `{"detail":"Session not found…"}`.
    #[default]
    Adk,
    /// Typed events: `{"type":"text"|"tool_call"|"tool_result"|"heartbeat"|"error",…}`.
    Typed,
}

/// How long the backend keeps what it stores, enforced by a sweeper (at start and then every
/// `sweep_every`). Defaults: uploads 30 days, render outputs 7 days, ledger entries 365 days
/// (older ones are folded into one total per kind, so balances still equal the ledger's sum),
/// expired tokens 7 days past expiry, and at most 20 GiB of uploads + renders in the data dir
/// (the oldest finished render outputs go first, then the oldest uploads no render needs).
#[derive(Debug, Clone, PartialEq)]
pub struct Retention {
    pub uploads: Duration,
    pub renders: Duration,
    pub ledger: Duration,
    pub expired_tokens: Duration,
    /// Upper bound of uploads + render outputs, in bytes.
    pub max_data_bytes: u64,
    pub sweep_every: Duration,
}

const DAY: u64 = 24 * 3600;

impl Default for Retention {
    fn default() -> Self {
        Retention {
            uploads: Duration::from_secs(30 * DAY),
            renders: Duration::from_secs(7 * DAY),
            ledger: Duration::from_secs(365 * DAY),
            expired_tokens: Duration::from_secs(7 * DAY),
            max_data_bytes: 20 * 1024 * 1024 * 1024,
            sweep_every: Duration::from_secs(3600),
        }
    }
}

/// Standing limits against exhaustion (issue 20, case 7b/7c). A legit user of one
/// installation stays far below each: one client id makes one user, a token lasts
/// `token_ttl`, and an MCP server makes one session per project. Over a limit, the call is
/// answered HTTP 429 with body code `CODE_LIMIT_REACHED` and a message naming the limit and
/// what to do; `Retry-After` says when the window frees up.
///
/// "Source" is the caller's network address as the socket saw it (headers such as
/// `X-Forwarded-For` are never trusted): any loopback address (127.0.0.0/8, `::1`) is one
/// source, so a local attacker cannot multiply it by binding 127.0.0.2, 127.0.0.3…; an IPv6
/// caller counts by its /64. A request without a socket address (in-process tests) is the
/// loopback source.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// The window every count below is over. Default 24 h.
    pub window: Duration,
    /// New anonymous users (first sight of a client id) per source per window. Default 10
    /// (the NemoVideo service's documented "ten per IP").
    pub new_users_per_source: u32,
    /// Tokens minted for one client id per window. Default 20 (a token lasts 7 days; the
    /// client asks again only after a 1001).
    pub tokens_per_client: u32,
    /// Sessions created by one user per window. Default 30.
    pub sessions_per_user: u32,
    /// Sessions created from one source per window, whatever the users. Default 100.
    pub sessions_per_source: u32,
    /// A request's header must arrive in full within this time after its first byte (and an
    /// idle keep-alive connection is closed after it). Default 10 s.
    pub header_read_timeout: Duration,
    /// A request body must arrive at no less than this many bytes per second on average,
    /// after `body_grace` (so a stalled or trickling body is cut off). Default 16 KiB/s.
    pub body_min_bytes_per_sec: u64,
    /// The start allowance of `body_min_bytes_per_sec`. Default 10 s.
    pub body_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            window: Duration::from_secs(DAY),
            new_users_per_source: 10,
            tokens_per_client: 20,
            sessions_per_user: 30,
            sessions_per_source: 100,
            header_read_timeout: Duration::from_secs(10),
            body_min_bytes_per_sec: 16 * 1024,
            body_grace: Duration::from_secs(10),
        }
    }
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
    #[cfg(feature = "faults")]
    pub faults: Faults,
    /// SSE comment heartbeat period of `/run_sse` while the agent works.
    pub sse_heartbeat: Duration,
    /// Credits one understood agent edit costs.
    pub edit_cost: f64,
    /// Credits a render costs per started second of output (at least one second).
    pub render_cost_per_second: f64,
    /// Accept `http(s)://` upload URLs (downloaded with the upload size cap).
    pub allow_http_urls: bool,
    /// Let URL uploads reach loopback and private addresses. Test configuration only (the
    /// tests' own servers are on loopback): no flag sets it, and it is off by default.
    pub fetch_private_addresses: bool,
    /// Time limit of ordinary (non-streaming, non-upload) requests.
    pub request_timeout: Duration,
    /// The answer shapes spoken (`--dialect`).
    pub dialect: Dialect,
    /// The SSE event shape of `/run_sse` (`--sse`).
    pub sse_dialect: SseDialect,
    /// Keep a log of the requests received (method, path, attribution headers, JSON bodies;
    /// never the token), readable through the backend handle: tests check what a client sent.
    pub log_requests: bool,
    /// Lifetimes and quota of stored uploads, renders and ledgers.
    pub retention: Retention,
    /// Sign-up, token and session limits, header and body timeouts.
    pub limits: Limits,
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
            #[cfg(feature = "faults")]
            faults: Faults::default(),
            sse_heartbeat: Duration::from_secs(10),
            edit_cost: 1.0,
            render_cost_per_second: 1.0,
            allow_http_urls: true,
            fetch_private_addresses: false,
            request_timeout: Duration::from_secs(30),
            dialect: Dialect::Native,
            sse_dialect: SseDialect::Adk,
            log_requests: false,
            retention: Retention::default(),
            limits: Limits::default(),
        }
    }
}

/// What `backend --help` says about retention, after the flags.
pub const RETENTION_HELP: &str = "\
Retention: a sweeper runs at start and every --sweep-every-min minutes. Uploaded media are
deleted --keep-uploads-days after upload (never while a render still needs them); render
outputs --keep-renders-days after they finish (the render's record stays; its download then
answers 4004 \"expired\"); ledger entries older than --keep-ledger-days are folded into one
total per kind (balances keep equalling the ledger's sum); tokens 7 days after they expire.
When uploads + renders exceed --max-data-mb, the oldest render outputs go first, then the
oldest uploads. At start, temp files left by a crash (.ebc-*, .upload-*) and files no record
names are removed.";

/// Flags of `editor-background-changer backend` (the raw level; `into_config` validates).
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = RETENTION_HELP)]
pub struct BackendArgs {
    /// Address to listen on. Anything but loopback also needs --access-key.
    #[arg(long, default_value = "127.0.0.1:8790")]
    pub listen: SocketAddr,
    /// Where sessions, media, credits and renders are kept (default: the OS data dir).
    #[arg(long, env = "EBC_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Key every request must send in `X-Access-Key`; required off loopback.
    #[arg(long, env = "EBC_ACCESS_KEY", hide_env_values = true)]
    pub access_key: Option<String>,
    /// Token lifetime in hours.
    #[arg(long, default_value_t = 168)]
    pub token_ttl_hours: u64,
    /// Requests per token per minute before HTTP 429 (0 = unlimited).
    #[arg(long, default_value_t = 600)]
    pub rate_limit: u32,
    /// Credits a new anonymous user gets (0 reproduces "out of credits").
    #[arg(long, default_value_t = 10_000.0)]
    pub initial_credits: f64,
    /// Upload size limit in MB.
    #[arg(long, default_value_t = 500)]
    pub max_upload_mb: u64,
    /// Folder `file://` upload URLs and background paths may point into (repeatable).
    #[arg(long = "url-root")]
    pub url_roots: Vec<PathBuf>,
    /// Renders running at once.
    #[arg(long, default_value_t = 1)]
    pub render_workers: usize,
    /// Refuse http(s) upload URLs (file uploads and file:// still work).
    #[arg(long)]
    pub no_http_urls: bool,
    /// Answer in the shapes of one version of the NemoVideo docs (seed, v44, legacy); the
    /// default is this backend's own.
    #[arg(long, value_enum, default_value_t = Dialect::Native)]
    pub dialect: Dialect,
    /// The SSE event shape of /run_sse: adk (default) or typed.
    #[arg(long = "sse", value_enum, default_value_t = SseDialect::Adk)]
    pub sse_dialect: SseDialect,
    /// Days uploaded media are kept (see Retention below).
    #[arg(long, default_value_t = 30)]
    pub keep_uploads_days: u64,
    /// Days render outputs are kept after they finish.
    #[arg(long, default_value_t = 7)]
    pub keep_renders_days: u64,
    /// Days ledger entries are kept one by one before being folded into totals.
    #[arg(long, default_value_t = 365)]
    pub keep_ledger_days: u64,
    /// Most MB of uploads + render outputs kept in the data dir.
    #[arg(long, default_value_t = 20_480)]
    pub max_data_mb: u64,
    /// Minutes between two sweeps.
    #[arg(long, default_value_t = 60)]
    pub sweep_every_min: u64,
    /// Test builds only (the `faults` feature): fault injection, as JSON of `Faults`
    /// (e.g. '{"hold_renders":true}').
    #[cfg(feature = "faults")]
    #[arg(long, env = "EBC_BACKEND_FAULTS")]
    pub faults: Option<String>,
}

impl BackendArgs {
    /// Validate into a config; `default_data_dir` is used when --data-dir is absent.
    pub fn into_config(self, default_data_dir: Option<PathBuf>) -> Result<BackendConfig, String> {
        let data_dir = self.data_dir.or(default_data_dir).ok_or_else(|| {
            "no data dir: the OS data dir is unknown here; pass --data-dir DIR".to_string()
        })?;
        if self.render_workers == 0 {
            return Err("--render-workers must be at least 1".into());
        }
        if self.max_upload_mb == 0 {
            return Err("--max-upload-mb must be at least 1".into());
        }
        if !(self.initial_credits >= 0.0 && self.initial_credits.is_finite()) {
            return Err("--initial-credits must be 0 or more".into());
        }
        for root in &self.url_roots {
            if !root.is_dir() {
                return Err(format!(
                    "--url-root {}: not a folder; pass an existing folder",
                    root.display()
                ));
            }
        }
        let mut c = BackendConfig::ephemeral(data_dir);
        #[cfg(feature = "faults")]
        {
            c.faults = match self.faults.as_deref().filter(|f| !f.trim().is_empty()) {
                Some(json) => serde_json::from_str::<Faults>(json).map_err(|e| {
                    format!("--faults / EBC_BACKEND_FAULTS is not valid Faults JSON: {e}")
                })?,
                None => Faults::default(),
            };
        }
        c.listen = self.listen;
        c.access_key = self.access_key.filter(|k| !k.is_empty());
        c.token_ttl = Duration::from_secs(self.token_ttl_hours.max(1) * 3600);
        c.rate_limit_per_min = self.rate_limit;
        c.initial_credits = self.initial_credits;
        c.max_upload_bytes = self.max_upload_mb * 1024 * 1024;
        c.url_roots = self.url_roots;
        c.render_workers = self.render_workers;
        c.allow_http_urls = !self.no_http_urls;
        c.dialect = self.dialect;
        c.sse_dialect = self.sse_dialect;
        if self.sweep_every_min == 0 {
            return Err("--sweep-every-min must be at least 1".into());
        }
        c.retention = Retention {
            uploads: Duration::from_secs(self.keep_uploads_days * DAY),
            renders: Duration::from_secs(self.keep_renders_days * DAY),
            ledger: Duration::from_secs(self.keep_ledger_days * DAY),
            max_data_bytes: self.max_data_mb.saturating_mul(1024 * 1024),
            sweep_every: Duration::from_secs(self.sweep_every_min * 60),
            ..Retention::default()
        };
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: BackendArgs,
    }

    fn parse(argv: &[&str]) -> Result<BackendConfig, String> {
        let w = Wrap::try_parse_from(std::iter::once("x").chain(argv.iter().copied()))
            .map_err(|e| e.to_string())?;
        w.args.into_config(Some("/tmp/default".into()))
    }

    #[test]
    fn flags_become_a_config() {
        let c = parse(&[
            "--initial-credits",
            "0",
            "--max-upload-mb",
            "2",
            "--rate-limit",
            "5",
        ])
        .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/tmp/default"));
        assert_eq!(
            (c.initial_credits, c.max_upload_bytes, c.rate_limit_per_min),
            (0.0, 2 << 20, 5)
        );
        assert_eq!(c.listen, "127.0.0.1:8790".parse().unwrap());
        assert_eq!(c.retention, Retention::default());
        let c = parse(&["--keep-renders-days", "2", "--max-data-mb", "100"]).unwrap();
        assert_eq!(c.retention.renders, Duration::from_secs(2 * DAY));
        assert_eq!(c.retention.max_data_bytes, 100 << 20);
    }

    #[cfg(feature = "faults")]
    #[test]
    fn test_builds_take_faults() {
        let c = parse(&["--faults", r#"{"rate_limit_next":2}"#]).unwrap();
        assert_eq!(c.faults.rate_limit_next, 2);
        assert!(parse(&["--faults", "{"]).unwrap_err().contains("--faults"));
    }

    #[test]
    fn bad_flags_name_themselves() {
        assert!(
            parse(&["--render-workers", "0"])
                .unwrap_err()
                .contains("--render-workers")
        );
        assert!(
            parse(&["--url-root", "/definitely/not/here"])
                .unwrap_err()
                .contains("--url-root")
        );
    }
}
