//! The shared state every handler receives: configuration, the store, faults, the rate
//! limiter and the render queue, each behind an `Arc` so the state clones cheaply.

use std::sync::{Arc, Mutex, MutexGuard};

use super::db::Db;
use super::dialect::DialectState;
use super::faults::FaultBox;
use super::ratelimit::RateLimiter;
use super::render::RenderQueue;
use crate::config::BackendConfig;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<BackendConfig>,
    pub db: Arc<Mutex<Db>>,
    pub faults: Arc<FaultBox>,
    pub limiter: Arc<RateLimiter>,
    pub renders: Arc<RenderQueue>,
    /// `http://ADDR` of this server, for URLs in answers when a request has no `Host`.
    pub base_url: Arc<str>,
    /// The dialect layer's request log and drafts given out.
    pub dialect: Arc<DialectState>,
}

impl AppState {
    /// The store. Held only for short in-memory work and small JSON writes, never across an
    /// `.await`.
    pub fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }
}
