//! `serve` (the default command): flags and environment resolved into `McpSettings`, then the
//! MCP server on stdio.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, ValueEnum};

use ebc::config::{BackendChoice, ClientConfig};
use ebc::mcp::{DEFAULT_PROBE_TIMEOUT, McpSettings};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    /// The embedded backend, in-process and offline.
    Local,
    /// The NemoVideo cloud (NEMO_API_URL).
    Cloud,
    /// Cloud when NEMO_TOKEN is set or the cloud answers within a few seconds, else local.
    Auto,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Which backend serves the tools.
    #[arg(long, env = "EBC_BACKEND", value_enum, default_value = "auto")]
    pub backend: BackendArg,
    /// Base URL of the NemoVideo API.
    #[arg(long, env = "NEMO_API_URL", default_value = ebc::api::DEFAULT_CLOUD_URL)]
    pub api_url: String,
    /// NemoVideo token (environment only; never shown).
    #[arg(long, env = "NEMO_TOKEN", hide = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Client id for anonymous tokens (default: one generated once and kept in the state dir).
    #[arg(long, env = "NEMO_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Platform reported to the service (clawhub, cursor, unknown); detected when unset.
    #[arg(long, env = "EBC_PLATFORM")]
    pub platform: Option<String>,
    /// Where the client id and the session state file live.
    #[arg(long, env = "EBC_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Data dir of the embedded backend.
    #[arg(long, env = "EBC_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Longest wait inside one tool call, in seconds; longer work continues as a job.
    #[arg(long, env = "EBC_CALL_BUDGET_SECS", default_value_t = 45.0)]
    pub call_budget_secs: f64,
}

#[derive(Parser)]
struct ServeOnly {
    #[command(flatten)]
    args: ServeArgs,
}

impl ServeArgs {
    /// The settings of a plain `editor-background-changer` run (no subcommand): environment only.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(ServeOnly::try_parse_from(["editor-background-changer"])?.args)
    }

    pub fn into_settings(self) -> anyhow::Result<McpSettings> {
        if !(self.call_budget_secs.is_finite() && self.call_budget_secs > 0.0) {
            anyhow::bail!(
                "EBC_CALL_BUDGET_SECS / --call-budget-secs must be a positive number of seconds, not {}",
                self.call_budget_secs
            );
        }
        let project = directories::ProjectDirs::from("ai", "nemovideo", ebc::SKILL_SOURCE);
        let state_dir = match self
            .state_dir
            .or_else(|| project.as_ref().map(|p| p.config_dir().to_path_buf()))
        {
            Some(dir) => dir,
            None => anyhow::bail!("no home folder found for the state file: set EBC_STATE_DIR"),
        };
        let data_dir = match self
            .data_dir
            .or_else(|| project.as_ref().map(|p| p.data_dir().join("backend")))
        {
            Some(dir) => dir,
            None => anyhow::bail!(
                "no home folder found for the embedded backend's data: set EBC_DATA_DIR"
            ),
        };
        let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
        let export_dir = directories::UserDirs::new()
            .and_then(|u| u.video_dir().map(|p| p.to_path_buf()))
            .filter(|p| p.is_dir())
            .or_else(|| home.clone())
            .context("no home folder found to save exports in: pass output_path to export_video")?;
        let backend = match self.backend {
            BackendArg::Local => BackendChoice::Local,
            BackendArg::Cloud => BackendChoice::Cloud,
            BackendArg::Auto => BackendChoice::Auto,
        };
        let mut client = ClientConfig::new(
            self.api_url.trim_end_matches('/').to_string(),
            state_dir,
            "",
        );
        client.token = self.token.filter(|t| !t.trim().is_empty());
        client.client_id = self.client_id.filter(|c| !c.trim().is_empty());
        client.platform = self.platform.filter(|p| !p.trim().is_empty());
        client.backend = backend;
        Ok(McpSettings {
            client,
            data_dir,
            call_budget: Duration::from_secs_f64(self.call_budget_secs),
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
            home,
            export_dir,
        })
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.into_settings()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(ebc::mcp::serve_stdio(settings))?;
    Ok(())
}
