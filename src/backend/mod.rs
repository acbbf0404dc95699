//! The embedded backend: an axum server of the NemoVideo API on loopback, with an on-disk
//! store, a local deterministic agent and a render queue backed by `engine`.
// OWNER: backend helper. Signatures are the contract other modules compile against.

use std::net::SocketAddr;

use crate::config::{BackendConfig, Faults};

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
}

impl BackendHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Arm or clear fault injection at runtime (tests).
    pub fn set_faults(&self, faults: Faults) {
        let _ = faults;
        todo!("backend helper")
    }

    /// Stop accepting, finish or fail running work, and wait for the server task.
    pub async fn shutdown(self) {
        todo!("backend helper")
    }
}

/// Start the server in-process (on a free loopback port when `config.listen` has port 0).
pub async fn spawn(config: BackendConfig) -> Result<BackendHandle, BackendError> {
    let _ = config;
    todo!("backend helper")
}
