//! Counting calls per key in fixed one-minute windows, in memory: the per-token rate limit
//! (the routes use the bearer token, else the client id; `routes::middleware` answers HTTP
//! 429 with `Retry-After`). The standing limits of `services::limits` (day-long windows) are
//! counted in the store instead, so that a restart does not reset them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

pub struct RateLimiter {
    per_window: u32,
    window: Duration,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// At most `per_min` calls per key in each minute (0: no limit).
    pub fn new(per_min: u32) -> Self {
        RateLimiter {
            per_window: per_min,
            window: WINDOW,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Count one call of `key`; `Err(seconds to wait)` once over the limit.
    pub fn hit(&self, key: &str, now: Instant) -> Result<(), u64> {
        if self.per_window == 0 {
            return Ok(());
        }
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = self.window;
        if w.len() > 10_000 {
            w.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = w.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_window {
            let left = window.saturating_sub(now.duration_since(entry.0));
            return Err(left.as_secs_f64().ceil().max(1.0) as u64);
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_per_key_and_window() {
        let l = RateLimiter::new(2);
        let t0 = Instant::now();
        assert!(l.hit("a", t0).is_ok());
        assert!(l.hit("a", t0).is_ok());
        let wait = l.hit("a", t0 + Duration::from_secs(20)).unwrap_err();
        assert_eq!(wait, 40);
        assert!(l.hit("b", t0).is_ok());
        assert!(l.hit("a", t0 + Duration::from_secs(61)).is_ok());
    }
}
