//! The standing limits of `config::Limits`: new users per source, tokens per client id,
//! sessions per user and per source, each counted in one window. A refusal is a
//! [`LimitReached`] whose message names the limit, what it counts and what to do, and says
//! when the window frees up.
//!
//! The counts live in the backend's store (`store::counts`), inside the transaction of the
//! request they count, so a restart of the backend — the MCP server starts a new embedded one
//! each time it starts — frees nothing, and a request that is refused later (a new user over
//! its limit) leaves no count behind. Keys are stored hashed.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::backend::error::{Error, Result};
use crate::backend::store::{Db, now_secs, sha256_hex};
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

/// The standing limits and their window; the counts are in the store.
pub struct Standing {
    window: Duration,
    new_users: u32,
    tokens: u32,
    user_sessions: u32,
    source_sessions: u32,
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
            window: l.window.max(Duration::from_secs(1)),
            new_users: l.new_users_per_source,
            tokens: l.tokens_per_client,
            user_sessions: l.sessions_per_user,
            source_sessions: l.sessions_per_source,
        }
    }

    /// Count one use of `key` under `name` in `db`'s transaction; `Err(seconds to wait)`
    /// when over `limit`.
    fn hit(
        &self,
        db: &Db<'_>,
        name: &str,
        limit: u32,
        key: &str,
    ) -> Result<std::result::Result<(), u64>> {
        db.count_use(
            name,
            &sha256_hex(key.as_bytes()),
            limit,
            self.window.as_secs(),
            now_secs(),
        )
    }

    /// Count one token minted for `client_key` (a hash of the client id, never the id).
    pub fn token(&self, db: &Db<'_>, client_key: &str) -> Result<()> {
        self.hit(db, "tokens_per_client", self.tokens, client_key)?
            .map_err(|wait| {
                self.refusal(
                    wait,
                    format!("this client id has been given {} access tokens", self.tokens),
                    "tokens_per_client",
                    "keep using the token you have (it stays valid for days; clients keep it in their state)",
                )
                .into()
            })
    }

    /// Count one new user created from `source` ([`source_key`]).
    pub fn new_user(&self, db: &Db<'_>, source: &str) -> Result<()> {
        self.hit(db, "new_users_per_source", self.new_users, source)?
            .map_err(|wait| {
                self.refusal(
                    wait,
                    format!(
                        "{} new users have been created from this address",
                        self.new_users
                    ),
                    "new_users_per_source",
                    "keep one client id per installation (NEMO_CLIENT_ID, or the file ~/.config/nemovideo/client_id) instead of making new ones",
                )
                .into()
            })
    }

    /// Count one session created by `user_id` from `source`.
    pub fn session(&self, db: &Db<'_>, user_id: &str, source: &str) -> Result<()> {
        let keep =
            "keep working in a session you have (the client keeps its session id in its state)";
        self.hit(db, "sessions_per_user", self.user_sessions, user_id)?
            .map_err(|wait| {
                Error::from(self.refusal(
                    wait,
                    format!("this user has created {} sessions", self.user_sessions),
                    "sessions_per_user",
                    keep,
                ))
            })?;
        self.hit(db, "sessions_per_source", self.source_sessions, source)?
            .map_err(|wait| {
                self.refusal(
                    wait,
                    format!(
                        "{} sessions have been created from this address",
                        self.source_sessions
                    ),
                    "sessions_per_source",
                    keep,
                )
                .into()
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

    /// The message of a refusal (panics on success or a database error).
    fn refused(r: Result<()>) -> (String, u64) {
        match r {
            Err(Error::Limit {
                message,
                retry_after_secs,
            }) => (message, retry_after_secs),
            other => panic!("expected a limit refusal, got {other:?}"),
        }
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
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = crate::backend::store::Store::open(dir.path()).unwrap();
        let s = Standing::new(&l);
        let run = |f: &dyn Fn(&Db<'_>) -> Result<()>| store.blocking(|db| f(db));
        assert!(run(&|db| s.new_user(db, "a")).is_ok() && run(&|db| s.new_user(db, "a")).is_ok());
        let (msg, retry) = refused(run(&|db| s.new_user(db, "a")));
        assert!(msg.contains("new_users_per_source"), "{msg}");
        assert!(msg.contains("NEMO_CLIENT_ID"), "{msg}");
        assert!(msg.contains("24 h"), "{msg}");
        assert!(retry > 23 * 3600, "{retry}");
        assert!(run(&|db| s.new_user(db, "b")).is_ok());
        assert!(run(&|db| s.token(db, "c")).is_ok());
        let (msg, _) = refused(run(&|db| s.token(db, "c")));
        assert!(msg.contains("tokens_per_client"), "{msg}");
        assert!(run(&|db| s.session(db, "u1", "a")).is_ok());
        let (msg, _) = refused(run(&|db| s.session(db, "u1", "a")));
        assert!(msg.contains("sessions_per_user"), "{msg}");
        assert!(run(&|db| s.session(db, "u2", "a")).is_ok());
        let (msg, _) = refused(run(&|db| s.session(db, "u3", "a")));
        assert!(msg.contains("sessions_per_source"), "{msg}");
        // u3's refused session left no count: with room at the source again it would pass.
        let stored: i64 = store
            .blocking(|db| {
                db.count_use("sessions_per_user", &sha256_hex(b"u3"), 1, 60, now_secs())
                    .map(|r| i64::from(r.is_ok()))
            })
            .unwrap();
        assert_eq!(stored, 1, "u3 was counted by a refused request");
        assert_eq!(human(45), "45 s");
        assert_eq!(human(90), "2 min");
        assert_eq!(human(7200), "2 h");
        assert_eq!(human(90061), "25 h 1 min");
    }
}
