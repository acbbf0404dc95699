//! `serve` (the default command): flags and environment resolved into `McpSettings`, then the
//! MCP server on stdio. The client's settings (`NEMO_API_URL`, `NEMO_TOKEN`, `NEMO_CLIENT_ID`,
//! `EBC_PLATFORM`, `EBC_BACKEND`, `EBC_STATE_DIR`) come from `ClientConfig::from_env`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser};

use ebc::config::ClientConfig;
use ebc::mcp::{DEFAULT_PROBE_TIMEOUT, McpSettings};

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Data dir of the embedded backend (default: the per-user data dir).
    #[arg(long, env = "EBC_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Longest wait inside one tool call, in seconds, for every host; longer work continues as
    /// a job. Default: chosen from the host's clientInfo (45 s for hosts not in the table).
    #[arg(long, env = "EBC_CALL_BUDGET_SECS")]
    pub call_budget_secs: Option<f64>,
    /// After a dropped reply stream, the first state poll waits this long (tests shorten it).
    #[arg(long, env = "EBC_SSE_RECOVERY_POLL_SECS", hide = true)]
    pub recovery_poll_secs: Option<f64>,
    /// Seconds between render status polls, instead of the backend's own pace (the cloud:
    /// 30 s; tests shorten it).
    #[arg(long, env = "EBC_RENDER_POLL_SECS", hide = true)]
    pub render_poll_secs: Option<f64>,
    /// Render status polls per wait before the job is kept for the next call, instead of the
    /// backend's own number (the cloud: 10).
    #[arg(long, env = "EBC_RENDER_MAX_POLLS", hide = true)]
    pub render_max_polls: Option<u32>,
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
        if let Some(secs) = self.call_budget_secs
            && !(secs.is_finite() && secs > 0.0)
        {
            anyhow::bail!(
                "EBC_CALL_BUDGET_SECS / --call-budget-secs must be a positive number of seconds, not {secs}"
            );
        }
        let mut client = ClientConfig::from_env().map_err(anyhow::Error::msg)?;
        if let Some(secs) = self
            .recovery_poll_secs
            .filter(|s| s.is_finite() && *s > 0.0)
        {
            client.recovery_first_poll = Duration::from_secs_f64(secs);
        }
        if let Some(secs) = self.render_poll_secs {
            if !(secs.is_finite() && secs > 0.0) {
                anyhow::bail!(
                    "EBC_RENDER_POLL_SECS / --render-poll-secs must be a positive number of seconds, not {secs}"
                );
            }
            client.render_poll_override = Some(Duration::from_secs_f64(secs));
        }
        if let Some(n) = self.render_max_polls {
            if n == 0 {
                anyhow::bail!("EBC_RENDER_MAX_POLLS / --render-max-polls must be at least 1");
            }
            client.render_max_polls_override = Some(n);
        }
        let data_dir = self
            .data_dir
            .filter(|d| !d.as_os_str().is_empty())
            .or_else(ebc::backend::default_data_dir)
            .context("no home folder found for the embedded backend's data: set EBC_DATA_DIR")?;
        let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
        let export_dir = directories::UserDirs::new()
            .and_then(|u| u.video_dir().map(|p| p.to_path_buf()))
            .filter(|p| p.is_dir())
            .or_else(|| home.clone())
            .context("no home folder found to save exports in: pass output_path to export_video")?;
        Ok(McpSettings {
            client,
            data_dir,
            call_budget: self.call_budget_secs.map(Duration::from_secs_f64),
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
