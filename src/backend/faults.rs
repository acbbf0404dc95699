//! Fault injection at runtime: the armed `Faults`, the one-shot ones applied to the store when
//! armed, the middleware that answers injected 429s and delays, and the render hold gate.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::db::Db;
use super::error::ApiError;
use super::state::AppState;
use super::store::now_secs;
use crate::config::Faults;

/// The armed faults plus a condvar that wakes renders held by `hold_renders`.
#[derive(Default)]
pub struct FaultBox {
    faults: Mutex<Faults>,
    changed: Condvar,
}

impl FaultBox {
    fn lock(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self) -> Faults {
        self.lock().clone()
    }

    /// Arm `faults`. The one-shot ones (`expire_tokens_now`, `lose_sessions_now`) are applied
    /// to everything in `db` now and are not kept armed.
    pub fn set(&self, mut faults: Faults, db: &Mutex<Db>) {
        if faults.expire_tokens_now || faults.lose_sessions_now {
            let mut db = db.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = apply_one_shots(&faults, &mut db) {
                tracing::error!("applying one-shot faults: {e}");
            }
            faults.expire_tokens_now = false;
            faults.lose_sessions_now = false;
        }
        *self.lock() = faults;
        self.changed.notify_all();
    }

    /// Wake held renders so they look at their cancel flag again.
    pub fn wake(&self) {
        self.changed.notify_all();
    }

    /// Take one injected 429, if armed.
    pub fn take_rate_limit(&self) -> Option<u64> {
        let mut f = self.lock();
        if f.rate_limit_next == 0 {
            return None;
        }
        f.rate_limit_next -= 1;
        Some(f.retry_after_secs)
    }

    /// The failure an injected fault gives this render: `render_failure` every time, else
    /// one of `fail_renders_next` (used up one by one).
    pub fn take_render_failure(&self) -> Option<String> {
        let mut f = self.lock();
        if let Some(msg) = f.render_failure.clone() {
            return Some(msg);
        }
        if f.fail_renders_next > 0 {
            f.fail_renders_next -= 1;
            return Some("the render node was restarted (injected fault)".into());
        }
        None
    }

    /// Block (on a render thread) while `hold_renders` is set. Returns false when `cancel`
    /// was raised meanwhile.
    pub fn wait_while_held(&self, cancel: &AtomicBool) -> bool {
        let mut f = self.lock();
        loop {
            if cancel.load(Ordering::SeqCst) {
                return false;
            }
            if !f.hold_renders {
                return true;
            }
            f = self
                .changed
                .wait_timeout(f, Duration::from_millis(500))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

fn apply_one_shots(faults: &Faults, db: &mut Db) -> std::io::Result<()> {
    if faults.expire_tokens_now {
        let past = now_secs().saturating_sub(1);
        for id in db.tokens.ids() {
            db.tokens.update(&id, |t| t.expires_at = past)?;
        }
    }
    if faults.lose_sessions_now {
        for id in db.sessions.ids() {
            db.sessions.update(&id, |s| s.lost = true)?;
        }
    }
    Ok(())
}

/// Injected 429s (`rate_limit_next`) and delays (`slow_ms`), before any handler runs.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(retry_after_secs) = state.faults.take_rate_limit() {
        return ApiError::RateLimited { retry_after_secs }.into_response();
    }
    let slow = state.faults.get().slow_ms;
    if slow > 0 {
        tokio::time::sleep(Duration::from_millis(slow)).await;
    }
    next.run(req).await
}
