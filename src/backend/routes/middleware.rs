//! Middleware of every route: the guard (the request is addressed to this loopback server —
//! `Host` a loopback name on the bound port, no foreign `Origin` — and carries the
//! per-process access key; against DNS rebinding, web pages and other local users) and the
//! per-token rate limit (HTTP 429 with `Retry-After`).

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::api::headers;
use crate::backend::state::AppState;

/// Every request: on a loopback-bound server its `Host` must be a loopback name on the bound
/// port; an `Origin`, when sent, must be this server's own; and `X-Access-Key` must be the
/// key (there is always one: `backend::build_state`).
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let h = req.headers();
    let port = state.bound.port();
    if state.bound.ip().is_loopback() {
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
        if !host.is_some_and(|a| loopback_authority(a, port)) {
            return ApiError::Foreign("its Host is not this loopback server").into_response();
        }
    }
    if let Some(origin) = h.get(header::ORIGIN) {
        let own = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://"))
            .is_some_and(|a| state.bound.ip().is_loopback() && loopback_authority(a, port));
        if !own {
            return ApiError::Foreign("it comes from a web page (Origin) of another site")
                .into_response();
        }
    }
    let key = state.config.access_key.as_deref().unwrap_or_default();
    let given = h
        .get(headers::ACCESS_KEY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if key.is_empty() || !same_secret(given.as_bytes(), key.as_bytes()) {
        return ApiError::AccessKey.into_response();
    }
    next.run(req).await
}

/// `authority` (`host:port`) names a loopback host — `localhost`, an IPv4 address in
/// 127.0.0.0/8, `[::1]` — on `port`. Names other than `localhost` are refused even when they
/// resolve to loopback: that is what DNS rebinding relies on.
fn loopback_authority(authority: &str, port: u16) -> bool {
    let Some((host, p)) = authority.rsplit_once(':') else {
        return false;
    };
    if p.parse::<u16>() != Ok(port) {
        return false;
    }
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        return v6
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    }
    // Only the dotted-quad form: `127.1` or `2130706433` are not what clients send.
    host.split('.').count() == 4
        && host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Constant-time comparison of two secrets (lengths are not secret).
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Count the call against its caller (bearer token, else client id); 429 once over.
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let h = req.headers();
    let key = h
        .get(header::AUTHORIZATION)
        .or_else(|| h.get(headers::CLIENT_ID))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anonymous")
        .to_string();
    if let Err(retry_after_secs) = state.limiter.hit(&key, Instant::now()) {
        return ApiError::RateLimited { retry_after_secs }.into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_on_the_bound_port_pass() {
        for ok in [
            "127.0.0.1:8790",
            "localhost:8790",
            "LOCALHOST:8790",
            "[::1]:8790",
            "127.0.0.2:8790",
        ] {
            assert!(loopback_authority(ok, 8790), "{ok}");
        }
        for bad in [
            "attacker.example:8790",
            "127.0.0.1.nip.io:8790",
            "localhost.attacker.example:8790",
            "127.0.0.1:8791",
            "127.0.0.1",
            "localhost",
            "[::ffff:127.0.0.1]:8790",
            "2130706433:8790",
            "0x7f000001:8790",
            "127.1:8790",
            "0.0.0.0:8790",
            "[::]:8790",
            "10.0.0.1:8790",
            "",
        ] {
            assert!(!loopback_authority(bad, 8790), "{bad}");
        }
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd") && !same_secret(b"abc", b"abcd"));
    }
}
