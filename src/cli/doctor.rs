//! `doctor`: checks what the server needs — ffmpeg/ffprobe, the embedded model, the embedded
//! backend (started and asked for credits), the token and config, the detected platform — and
//! prints a checklist. Exits non-zero when a check fails.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use ebc::client::NemoClient;
use ebc::config::{BackendChoice, BackendConfig, ClientConfig};
use ebc::engine::ffmpeg::Tool;
use ebc::engine::segment::{ModelKind, Segmenter};

struct Checklist {
    failures: usize,
    out: std::io::StdoutLock<'static>,
}

impl Checklist {
    fn ok(&mut self, what: &str, detail: impl std::fmt::Display) {
        let _ = writeln!(self.out, "[ok]   {what}: {detail}");
    }
    fn info(&mut self, what: &str, detail: impl std::fmt::Display) {
        let _ = writeln!(self.out, "[info] {what}: {detail}");
    }
    fn fail(&mut self, what: &str, detail: impl std::fmt::Display) {
        self.failures += 1;
        let _ = writeln!(self.out, "[FAIL] {what}: {detail}");
    }
}

fn tool_version(tool: Tool) -> Result<String, String> {
    let out = tool.command().arg("-version").output().map_err(|e| {
        format!(
            "cannot run {}: {e}; install ffmpeg (it includes ffprobe) and put it on PATH",
            tool.name()
        )
    })?;
    if !out.status.success() {
        return Err(format!(
            "{} -version exited with {}",
            tool.name(),
            out.status
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string())
}

pub fn run() -> anyhow::Result<ExitCode> {
    let mut c = Checklist {
        failures: 0,
        out: std::io::stdout().lock(),
    };
    let _ = writeln!(c.out, "editor-background-changer {} — doctor", ebc::VERSION);

    for tool in [Tool::Ffmpeg, Tool::Ffprobe] {
        match tool_version(tool) {
            Ok(v) => c.ok(tool.name(), v),
            Err(e) => c.fail(tool.name(), e),
        }
    }

    for kind in [ModelKind::General, ModelKind::Landscape] {
        let started = Instant::now();
        match Segmenter::new(kind) {
            Ok(_) => c.ok(
                "segmentation model",
                format!("{kind:?} loaded in {} ms", started.elapsed().as_millis()),
            ),
            Err(e) => c.fail("segmentation model", format!("{kind:?}: {e}")),
        }
    }

    let config = match ClientConfig::from_env() {
        Ok(config) => {
            c.ok(
                "config",
                format!(
                    "EBC_BACKEND={}, NEMO_API_URL={}, state dir {}",
                    match config.backend {
                        BackendChoice::Local => "local",
                        BackendChoice::Cloud => "cloud",
                        BackendChoice::Auto => "auto",
                    },
                    config.api_url,
                    config.state_dir.display()
                ),
            );
            Some(config)
        }
        Err(e) => {
            c.fail("config", e);
            None
        }
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;

    if let Some(config) = &config {
        match &config.token {
            Some(_) => c.ok(
                "token",
                "NEMO_TOKEN is set (registered account; value not shown)",
            ),
            None => c.info(
                "token",
                "NEMO_TOKEN is not set: an anonymous token is used (100 free credits on the cloud)",
            ),
        }
        match std::fs::create_dir_all(&config.state_dir)
            .and_then(|()| tempfile::NamedTempFile::new_in(&config.state_dir).map(drop))
        {
            Ok(()) => c.ok(
                "state dir",
                format!("{} is writable", config.state_dir.display()),
            ),
            Err(e) => c.fail(
                "state dir",
                format!(
                    "{} is not writable ({e}); set EBC_STATE_DIR",
                    config.state_dir.display()
                ),
            ),
        }
        match NemoClient::new(config.clone()) {
            Ok(client) => c.ok(
                "platform",
                format!("{} (override with EBC_PLATFORM)", client.platform()),
            ),
            Err(e) => c.fail("platform", e),
        }
        let reachable = runtime.block_on(ebc::mcp::cloud_answers(
            &config.api_url,
            ebc::mcp::DEFAULT_PROBE_TIMEOUT,
        ));
        let cloud_needed = config.backend == BackendChoice::Cloud;
        match (reachable, cloud_needed) {
            (true, _) => c.ok("cloud", format!("{} answers", config.api_url)),
            (false, true) => c.fail(
                "cloud",
                format!("{} does not answer and EBC_BACKEND=cloud; check the network or use EBC_BACKEND=auto", config.api_url),
            ),
            (false, false) => c.info(
                "cloud",
                format!("{} does not answer; the embedded backend will be used", config.api_url),
            ),
        }
    }

    match runtime.block_on(check_backend()) {
        Ok(detail) => c.ok("embedded backend", detail),
        Err(e) => c.fail("embedded backend", e),
    }

    let _ = writeln!(
        c.out,
        "{}",
        if c.failures == 0 {
            "All checks passed.".to_string()
        } else {
            format!("{} check(s) failed.", c.failures)
        }
    );
    Ok(if c.failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Start the embedded backend in a temp dir and ask it for credits through the real client.
async fn check_backend() -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("no temp dir: {e}"))?;
    let started = Instant::now();
    let handle = ebc::backend::spawn(BackendConfig::ephemeral(dir.path().join("data")))
        .await
        .map_err(|e| e.to_string())?;
    let url = handle.url();
    let mut config = ClientConfig::new(url.clone(), dir.path().join("state"), "local");
    config.request_timeout = Duration::from_secs(10);
    config.access_key = Some(handle.access_key().to_string());
    let answer = async {
        let client = NemoClient::new(config).map_err(|e| e.to_string())?;
        client.credits().await.map_err(|e| e.to_string())
    }
    .await;
    handle.shutdown().await;
    let credits = answer?;
    Ok(format!(
        "started on {url} and answered in {} ms ({} credits)",
        started.elapsed().as_millis(),
        credits.available
    ))
}
