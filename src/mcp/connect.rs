//! Backend choice, made lazily on the first tool call (never before `initialize` is answered):
//! `local` starts the embedded backend in-process, `cloud` talks to `NEMO_API_URL`, `auto`
//! picks the cloud when a token is set or the cloud answers within a few seconds, else local.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OnceCell};

use super::jobs::Failure;
use super::settings::McpSettings;
use crate::backend::{self, BackendHandle};
use crate::client::NemoClient;
use crate::config::{BackendChoice, BackendConfig};

/// A ready client and which backend it talks to.
pub struct Connection {
    pub client: NemoClient,
    /// "local" or "cloud".
    pub label: String,
}

pub struct Connector {
    settings: McpSettings,
    conn: OnceCell<Arc<Connection>>,
    embedded: Mutex<Option<BackendHandle>>,
}

impl Connector {
    pub fn new(settings: McpSettings) -> Self {
        Connector {
            settings,
            conn: OnceCell::new(),
            embedded: Mutex::new(None),
        }
    }

    /// The connection, made on first use; a failed attempt is retried on the next call.
    pub async fn get(&self) -> Result<Arc<Connection>, Failure> {
        self.conn
            .get_or_try_init(|| async { self.connect().await.map(Arc::new) })
            .await
            .cloned()
    }

    /// The label of the connection if one was made.
    pub fn label(&self) -> Option<String> {
        self.conn.get().map(|c| c.label.clone())
    }

    async fn connect(&self) -> Result<Connection, Failure> {
        let cfg = &self.settings.client;
        let cloud = match cfg.backend {
            BackendChoice::Local => false,
            BackendChoice::Cloud => true,
            BackendChoice::Auto => {
                cfg.token.is_some() || answers(&cfg.api_url, self.settings.probe_timeout).await
            }
        };
        if cloud {
            let mut cfg = cfg.clone();
            cfg.backend_label = "cloud".into();
            tracing::info!(api = %cfg.api_url, "using the cloud backend");
            let client = NemoClient::new(cfg).map_err(|e| Failure::User(e.to_string()))?;
            return Ok(Connection {
                client,
                label: "cloud".into(),
            });
        }
        // Without ffmpeg/ffprobe every upload would fail later with a misleading reason.
        if let Some(problem) = backend::tools_problem() {
            return Err(Failure::User(format!(
                "The local backend cannot work on this computer: {problem}."
            )));
        }
        let data_dir = self.settings.data_dir.clone();
        let handle = backend::spawn(BackendConfig::ephemeral(data_dir.clone()))
            .await
            .map_err(|e| {
                Failure::User(format!(
                    "Could not start the embedded backend: {e}. Set EBC_DATA_DIR to a writable folder, \
                     or EBC_BACKEND=cloud to use the NemoVideo cloud."
                ))
            })?;
        tracing::info!(url = %handle.url(), data_dir = %data_dir.display(), "embedded backend started");
        // The embedded backend's tokens and sessions must not mix with the cloud's in the
        // state file; `use_local` also keeps a cloud token away from it.
        let mut cfg = cfg.clone().use_local(handle.url());
        // The embedded backend's per-process key, handed over in-process only.
        cfg.access_key = Some(handle.access_key().to_string());
        cfg.state_dir = cfg.state_dir.join("local");
        let client = NemoClient::new(cfg).map_err(|e| Failure::User(e.to_string()))?;
        *self.embedded.lock().await = Some(handle);
        Ok(Connection {
            client,
            label: "local".into(),
        })
    }

    /// Stop the embedded backend, if one was started.
    pub async fn shutdown(&self) {
        if let Some(handle) = self.embedded.lock().await.take() {
            handle.shutdown().await;
        }
    }
}

/// Whether a TCP connection to the host of `url` opens within `timeout`.
pub async fn answers(url: &str, timeout: Duration) -> bool {
    let Some((host, port)) = host_port(url) else {
        return false;
    };
    let attempt = tokio::net::TcpStream::connect((host.as_str(), port));
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Ok(_)))
}

/// `https://a.b:8443/x` → ("a.b", 8443); default ports by scheme.
fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = after.strip_prefix(':').map(str::parse).transpose().ok()?;
        return Some((host.to_string(), port.unwrap_or(default_port)));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), port.parse().ok()?)),
        None => Some((authority.to_string(), default_port)),
    }
    .filter(|(h, _)| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_from_urls() {
        assert_eq!(
            host_port("https://mega-api-prod.nemovideo.ai"),
            Some(("mega-api-prod.nemovideo.ai".into(), 443))
        );
        assert_eq!(
            host_port("http://127.0.0.1:8790/api"),
            Some(("127.0.0.1".into(), 8790))
        );
        assert_eq!(host_port("http://[::1]:9/"), Some(("::1".into(), 9)));
        assert_eq!(host_port("ftp://x"), None);
        assert_eq!(host_port("http://:80"), None);
    }

    #[tokio::test]
    async fn answers_sees_a_listening_port_and_a_closed_one() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = format!("http://{}", listener.local_addr().unwrap());
        assert!(answers(&open, Duration::from_secs(2)).await);
        drop(listener);
        assert!(!answers(&open, Duration::from_secs(2)).await);
    }
}
