//! The standing limits of `config::Limits`: new users per source, tokens per client id,
//! sessions per user and per source, each counted in one window. A refusal is a
//! [`LimitReached`] whose message names the limit, what it counts and what to do, and says
//! when the window frees up.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::ratelimit::RateLimiter;
use crate::backend::error::Error;
use crate::config::Limits;

/// Over a standing limit: answered HTTP 429 with body code `CODE_LIMIT_REACHED` and
/// `Retry-After: retry_after_secs`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LimitReached {
    pub message: String,
    pub retry_after_secs: u64,
}

impl From<LimitReached> for Error {
    fn from(e: LimitReached) -> Self {
        Error::Limit {
            message: e.message,
            retry_after_secs: e.retry_after_secs,
        }
    }
}

/// The counters, one per limit.
pub struct Standing {
    window: Duration,
    new_users: RateLimiter,
    tokens: RateLimiter,
    user_sessions: RateLimiter,
    source_sessions: RateLimiter,
}

/// Who a caller is on the network, as a counting key: every loopback address is the one
/// source `loopback` (a local process can bind 127.0.0.2, 127.0.0.3…, and every local user
/// shares the machine anyway); an IPv4 caller by its address; an IPv6 caller by its /64 (one
/// host usually holds a whole /64); an IPv4-mapped IPv6 address as its IPv4. No socket
/// address (an in-process request) counts as loopback. Headers are never consulted.
pub fn source_key(peer: Option<SocketAddr>) -> String {
    let Some(peer) = peer else {
        return "loopback".into();
    };
    let ip = match peer.ip() {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    if ip.is_loopback() {
        return "loopback".into();
    }
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

impl Standing {
    pub fn new(l: &Limits) -> Self {
        Standing {
            window: l.window,
            new_users: RateLimiter::with_window(l.new_users_per_source, l.window),
            tokens: RateLimiter::with_window(l.tokens_per_client, l.window),
            user_sessions: RateLimiter::with_window(l.sessions_per_user, l.window),
            source_sessions: RateLimiter::with_window(l.sessions_per_source, l.window),
        }
    }

    /// Count one token minted for `client_key` (a hash of the client id, never the id).
    pub fn token(&self, client_key: &str) -> Result<(), LimitReached> {
        self.tokens.hit(client_key, Instant::now()).map_err(|wait| {
            self.refusal(
                wait,
                format!(
                    "this client id has been given {} access tokens",
                    self.tokens.limit()
                ),
                "tokens_per_client",
                "keep using the token you have (it stays valid for days; clients keep it in their state)",
            )
        })
    }

    /// Count one new user created from `source` ([`source_key`]).
    pub fn new_user(&self, source: &str) -> Result<(), LimitReached> {
        self.new_users.hit(source, Instant::now()).map_err(|wait| {
            self.refusal(
                wait,
                format!(
                    "{} new users have been created from this address",
                    self.new_users.limit()
                ),
                "new_users_per_source",
                "keep one client id per installation (NEMO_CLIENT_ID, or the file ~/.config/nemovideo/client_id) instead of making new ones",
            )
        })
    }

    /// Count one session created by `user_id` from `source`.
    pub fn session(&self, user_id: &str, source: &str) -> Result<(), LimitReached> {
        let now = Instant::now();
        let keep =
            "keep working in a session you have (the client keeps its session id in its state)";
        self.user_sessions.hit(user_id, now).map_err(|wait| {
            self.refusal(
                wait,
                format!(
                    "this user has created {} sessions",
                    self.user_sessions.limit()
                ),
                "sessions_per_user",
                keep,
            )
        })?;
        self.source_sessions.hit(source, now).map_err(|wait| {
            self.refusal(
                wait,
                format!(
                    "{} sessions have been created from this address",
                    self.source_sessions.limit()
                ),
                "sessions_per_source",
                keep,
            )
        })
    }

    fn refusal(&self, wait_secs: u64, what: String, name: &str, todo: &str) -> LimitReached {
        LimitReached {
            message: format!(
                "limit reached: {what} in the last {} (this backend's limit {name}); {todo}, or try again in {}",
                human(self.window.as_secs()),
                human(wait_secs)
            ),
            retry_after_secs: wait_secs,
        }
    }
}

/// `90061` → `"25 h 1 min"`, `45` → `"45 s"`.
fn human(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs.div_ceil(60)),
        _ if secs % 3600 < 60 => format!("{} h", secs / 3600),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_loopback_address_is_one_source() {
        let key = |s: &str| source_key(Some(s.parse().unwrap()));
        for lo in [
            "127.0.0.1:1",
            "127.0.0.2:2",
            "127.255.0.9:3",
            "[::1]:4",
            "[::ffff:127.0.0.3]:5",
        ] {
            assert_eq!(key(lo), "loopback", "{lo}");
        }
        assert_eq!(source_key(None), "loopback");
        assert_eq!(key("203.0.113.7:9"), "203.0.113.7");
        assert_eq!(key("[::ffff:203.0.113.7]:9"), "203.0.113.7");
        assert_eq!(
            key("[2001:db8:1:2:aaaa::1]:9"),
            key("[2001:db8:1:2:bbbb::2]:9")
        );
        assert_ne!(key("[2001:db8:1:2::1]:9"), key("[2001:db8:1:3::1]:9"));
    }

    #[test]
    fn refusals_name_the_limit_and_what_to_do() {
        let l = Limits {
            new_users_per_source: 2,
            tokens_per_client: 1,
            sessions_per_user: 1,
            sessions_per_source: 2,
            ..Limits::default()
        };
        let s = Standing::new(&l);
        assert!(s.new_user("a").is_ok() && s.new_user("a").is_ok());
        let e = s.new_user("a").unwrap_err();
        assert!(e.message.contains("new_users_per_source"), "{}", e.message);
        assert!(e.message.contains("NEMO_CLIENT_ID"), "{}", e.message);
        assert!(e.message.contains("24 h"), "{}", e.message);
        assert!(e.retry_after_secs > 23 * 3600, "{}", e.retry_after_secs);
        assert!(s.new_user("b").is_ok());
        assert!(s.token("c").is_ok());
        assert!(
            s.token("c")
                .unwrap_err()
                .message
                .contains("tokens_per_client")
        );
        assert!(s.session("u1", "a").is_ok());
        let e = s.session("u1", "a").unwrap_err();
        assert!(e.message.contains("sessions_per_user"), "{}", e.message);
        assert!(s.session("u2", "a").is_ok());
        let e = s.session("u3", "a").unwrap_err();
        assert!(e.message.contains("sessions_per_source"), "{}", e.message);
        assert_eq!(human(45), "45 s");
        assert_eq!(human(90), "2 min");
        assert_eq!(human(7200), "2 h");
        assert_eq!(human(90061), "25 h 1 min");
    }
}
