//! The shared state every handler receives (axum's dependency-injection pattern): the
//! configuration and the services — store, render queue, rate limiter — each behind an `Arc`
//! so the state clones cheaply. Only the routes name it; the services below never do.

use std::net::SocketAddr;
use std::sync::Arc;

#[cfg(feature = "faults")]
use super::services::faults::FaultBox;
use super::services::limits::Standing;
use super::services::ratelimit::RateLimiter;
use super::services::render_queue::RenderQueue;
use super::services::request_log::RequestLog;
use super::store::Store;
use crate::config::BackendConfig;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<BackendConfig>,
    pub store: Store,
    pub limiter: Arc<RateLimiter>,
    /// Sign-up, token and session limits (`config::Limits`).
    pub standing: Arc<Standing>,
    pub renders: Arc<RenderQueue>,
    /// `http://ADDR` of this server: every URL in an answer is built on it, never on the
    /// request's `Host`.
    pub base_url: Arc<str>,
    /// The address the server is bound to (`Host` must name its port).
    pub bound: SocketAddr,
    /// The requests received (`log_requests`) and the drafts given out, for the dialects.
    pub requests: Arc<RequestLog>,
    /// Test-only fault injection.
    #[cfg(feature = "faults")]
    pub faults: Arc<FaultBox>,
}

impl AppState {
    /// Wire the services over `store`.
    pub fn new(config: BackendConfig, store: Store, bound: SocketAddr) -> Self {
        let base_url = format!("http://{bound}");
        #[cfg(feature = "faults")]
        let faults = Arc::new(FaultBox::default());
        let renders = Arc::new(RenderQueue::new(
            config.render_workers,
            store.clone(),
            config.url_roots.clone(),
            #[cfg(feature = "faults")]
            faults.clone(),
        ));
        let state = AppState {
            limiter: Arc::new(RateLimiter::new(config.rate_limit_per_min)),
            standing: Arc::new(Standing::new(&config.limits)),
            renders,
            store,
            base_url: Arc::from(base_url),
            bound,
            requests: Arc::new(RequestLog::default()),
            #[cfg(feature = "faults")]
            faults,
            config: Arc::new(config),
        };
        #[cfg(feature = "faults")]
        state.set_faults(state.config.faults.clone());
        state
    }

    /// Arm `faults`. The one-shot ones (`expire_tokens_now`, `lose_sessions_now`) apply to
    /// every token / session existing now and are not kept armed.
    #[cfg(feature = "faults")]
    pub fn set_faults(&self, mut faults: crate::config::Faults) {
        // Test-only, and quick: done on the caller's thread.
        let applied = self.store.blocking(|db| {
            if faults.expire_tokens_now {
                db.expire_all_tokens()?;
            }
            if faults.lose_sessions_now {
                self.store.faults().lose(db.session_ids()?);
            }
            Ok(())
        });
        if let Err(e) = applied {
            tracing::error!("applying one-shot faults: {e}");
        }
        self.store.faults().set_zero_credits(faults.out_of_credits);
        faults.expire_tokens_now = false;
        faults.lose_sessions_now = false;
        self.faults.set(faults);
    }
}
