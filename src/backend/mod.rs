//! The embedded backend: an axum server of the NemoVideo API on loopback, with an on-disk
//! store, a local deterministic agent and a render queue backed by `engine`.
//! `spawn` starts it in-process; `app` builds the router alone (tests, other servers).
//!
//! Layers, imports only going down: `routes` (HTTP: one file per endpoint group, the agent's
//! `/run_sse`, extractors, `ApiError`) → `state` (the services, handed to handlers) →
//! `services` (the local agent, render queue and timelines, rate limiter, media staging,
//! paths, previews) → `store` (records, ledger, SQLite tables, migration, retention; no
//! axum) → `error` (the domain
//! `Error`).

mod error;
pub use error::Error as DomainError;
mod listener;
mod routes;
mod services;
mod state;
mod store;

/// The one path gate (see `services::paths`): public so the fuzz targets and other front ends
/// call exactly what the routes call.
pub use services::paths::{AllowedPath, PathRefused, gate as gate_path, is_path_like};
pub use services::preview::ID_PREFIX as PREVIEW_ID_PREFIX;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub use routes::app;
pub use routes::error::ApiError;
pub use services::agent::{
    BackdropSource, BackgroundEdit, HELP as AGENT_HELP, parse as parse_instruction,
};
pub use services::request_log::LoggedRequest;
pub use state::AppState;
pub use store::INTERRUPTED as RENDER_INTERRUPTED;
pub use store::{Audit, DB_FILE, audit};

use crate::config::BackendConfig;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
    #[error("data dir {path}: {source}")]
    Store {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A running backend. Dropping it does not stop the server; call `shutdown`.
pub struct BackendHandle {
    pub addr: SocketAddr,
    state: AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
    sweeper: tokio::task::JoinHandle<()>,
}

impl BackendHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The key every request must send in `X-Access-Key`: the configured one, else a
    /// random one made for this process (there is always one).
    pub fn access_key(&self) -> &str {
        self.state.config.access_key.as_deref().unwrap_or_default()
    }

    /// Arm or clear fault injection at runtime (tests; the `faults` feature).
    /// `expire_tokens_now` and `lose_sessions_now` apply once, to every token / session
    /// existing now.
    #[cfg(feature = "faults")]
    pub fn set_faults(&self, faults: crate::config::Faults) {
        self.state.set_faults(faults);
    }

    /// The requests received so far, when the backend was started with `log_requests`.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state.requests.requests()
    }

    /// Stop accepting, stop running renders (left for the next start to report as
    /// interrupted, like a killed process), and wait for the server task.
    pub async fn shutdown(self) {
        self.sweeper.abort();
        self.state.renders.shutdown().await;
        let _ = self.stop.send(());
        if let Err(e) = self.server.await {
            tracing::error!("backend server task: {e}");
        }
    }
}

/// Where the server will really listen: `config.listen` when it is loopback, or when an
/// access key is configured; else the same port on 127.0.0.1 (with a warning).
pub fn effective_listen(config: &BackendConfig) -> SocketAddr {
    let wanted = config.listen;
    if wanted.ip().is_loopback() || config.access_key.is_some() {
        return wanted;
    }
    tracing::warn!(
        "not listening on {wanted}: an address other than loopback needs an access key (--access-key); listening on 127.0.0.1:{} instead",
        wanted.port()
    );
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), wanted.port())
}

/// Build the shared state: opens the store under `config.data_dir` (migrating a data dir of
/// the JSON-file layout, reporting renders a killed process left unfinished). Blocking: call
/// from a blocking thread.
pub fn build_state(mut config: BackendConfig, addr: SocketAddr) -> Result<AppState, BackendError> {
    // Always keyed: a random key per process unless one was given (`EBC_ACCESS_KEY`).
    if config.access_key.as_deref().is_none_or(str::is_empty) {
        config.access_key = Some(new_access_key());
    }
    let (store, report) =
        store::Store::open(&config.data_dir).map_err(|e| BackendError::Store {
            path: config.data_dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
    if report.migrated > 0 {
        tracing::info!(
            "moved {} records of the JSON-file layout into {}",
            report.migrated,
            config.data_dir.join(store::DB_FILE).display()
        );
    }
    Ok(AppState::new(config, store, addr))
}

/// A fresh random access key: 256 bits from the OS generator, hex.
pub fn new_access_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("ebck_{}", hex::encode(bytes))
}

/// The file a standalone backend writes its access key to (0600): `DATA/access_key`.
pub const ACCESS_KEY_FILE: &str = "access_key";

/// Start the server in-process (on a free loopback port when `config.listen` has port 0).
pub async fn spawn(config: BackendConfig) -> Result<BackendHandle, BackendError> {
    if config.render_workers == 0 {
        return Err(BackendError::Config(
            "render workers must be at least 1".into(),
        ));
    }
    let listen = effective_listen(&config);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| BackendError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| BackendError::Bind {
        addr: listen,
        source,
    })?;
    let state = tokio::task::spawn_blocking(move || build_state(config, addr))
        .await
        .map_err(|e| BackendError::Config(format!("starting the store: {e}")))??;
    let sweeper = services::sweeper::spawn(state.store.clone(), state.config.retention.clone());
    let router = app(state.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let header_read_timeout = state.config.limits.header_read_timeout;
    let server = tokio::spawn(listener::serve(
        listener,
        router,
        header_read_timeout,
        async {
            let _ = stopped.await;
        },
    ));
    tracing::info!("backend listening on http://{addr}");
    Ok(BackendHandle {
        addr,
        state,
        stop,
        server,
        sweeper,
    })
}

/// The OS data dir of the standalone backend (`~/.local/share/editor-background-changer/backend`
/// on Linux): the app id of `config::dirs`, shared with the client's state.
pub fn default_data_dir() -> Option<std::path::PathBuf> {
    crate::config::dirs::backend_data_dir()
}

/// Why the local engine cannot run here, as the user-facing sentence for the first of
/// ffprobe/ffmpeg that cannot be found (see `engine::ffmpeg::locate`); None when both are
/// there.
pub fn tools_problem() -> Option<String> {
    use crate::engine::ffmpeg::Tool;
    [Tool::Ffprobe, Tool::Ffmpeg]
        .into_iter()
        .find(|t| t.path().is_none())
        .map(|t| crate::engine::Error::ToolMissing { tool: t.name() }.to_string())
}

/// Run the backend until Ctrl-C or SIGTERM, then shut down gracefully (the standalone
/// `backend` command). Says where it listens on stderr.
pub async fn run_until_signal(config: BackendConfig) -> Result<(), BackendError> {
    let data_dir = config.data_dir.clone();
    let handle = spawn(config).await?;
    // The key goes to a 0600 file, never to the log: local tools read it from there.
    let key_file = data_dir.join(ACCESS_KEY_FILE);
    store::write_private(&key_file, handle.access_key().as_bytes()).map_err(|source| {
        BackendError::Store {
            path: key_file.clone(),
            source,
        }
    })?;
    eprintln!(
        "editor-background-changer backend listening on {} (data in {}); every request must send X-Access-Key: the key is in {} (export EBC_ACCESS_KEY=\"$(cat {})\")",
        handle.url(),
        data_dir.display(),
        key_file.display(),
        key_file.display(),
    );
    shutdown_signal().await;
    eprintln!("shutting down: stopping renders and open requests");
    handle.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    let term = crate::host_os::terminate_request();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_loopback_needs_an_access_key() {
        let mut c = BackendConfig::ephemeral("/tmp/x".into());
        c.listen = "0.0.0.0:8790".parse().unwrap();
        assert_eq!(effective_listen(&c), "127.0.0.1:8790".parse().unwrap());
        c.access_key = Some("k".into());
        assert_eq!(effective_listen(&c), "0.0.0.0:8790".parse().unwrap());
        c.listen = "[::1]:9".parse().unwrap();
        c.access_key = None;
        assert_eq!(effective_listen(&c), "[::1]:9".parse().unwrap());
    }
}
