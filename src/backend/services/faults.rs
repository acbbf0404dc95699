//! Test-only fault injection (compiled with the `faults` feature, which only the tests turn
//! on): the armed `Faults` and the render hold gate. `state` applies the one-shot faults to
//! the store, `routes::faults` answers injected 429s, delays and SSE cuts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

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

    /// Arm `faults` (the caller applies and clears the one-shot ones first).
    pub fn set(&self, faults: Faults) {
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
