//! The HTTP layer: one reqwest client (rustls), URLs against the base, the attribution
//! headers on every request and the bearer token on all but the anonymous-token call.
//! Logs carry method, path and status only: never a token or a body.

use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response};

use super::error::ClientError;
use crate::api::headers;
use crate::config::ClientConfig;

#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
    platform: String,
    /// Sent as `X-Access-Key` to `base` only, and only when `base` is loopback.
    access_key: Option<String>,
}

impl Http {
    pub fn new(config: &ClientConfig, platform: String) -> Result<Self, ClientError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            // No total timeout: SSE streams and downloads run long; plain calls set their own.
            .user_agent(format!("{}/{}", crate::SKILL_SOURCE, crate::VERSION))
            .build()
            .map_err(|e| ClientError::Message(format!("cannot set up HTTPS: {e}")))?;
        let base = config.api_url.trim_end_matches('/').to_string();
        let access_key = config
            .access_key
            .clone()
            .filter(|_| is_loopback_base(&base));
        Ok(Http {
            client,
            base,
            platform,
            access_key,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn platform(&self) -> &str {
        &self.platform
    }

    /// `path` against the base; absolute URLs are kept as they are.
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else if path_or_url.starts_with('/') {
            format!("{}{path_or_url}", self.base)
        } else {
            format!("{}/{path_or_url}", self.base)
        }
    }

    /// Does `url` point at the API's own origin (so it may receive the bearer token)?
    pub fn same_origin(&self, url: &str) -> bool {
        url == self.base || url.starts_with(&format!("{}/", self.base))
    }

    /// A request with the attribution headers, and the bearer token when given.
    pub fn request(
        &self,
        method: Method,
        path_or_url: &str,
        token: Option<&str>,
    ) -> RequestBuilder {
        let mut rb = self
            .client
            .request(method, self.url(path_or_url))
            .header(headers::SKILL_SOURCE, crate::SKILL_SOURCE)
            .header(headers::SKILL_VERSION, crate::VERSION)
            .header(headers::SKILL_PLATFORM, &self.platform);
        if let Some(token) = token {
            rb = rb.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(key) = &self.access_key
            && self.same_origin(&self.url(path_or_url))
        {
            rb = rb.header(headers::ACCESS_KEY, key);
        }
        rb
    }

    /// `request` asking for an event stream.
    pub fn request_sse(&self, path: &str, token: &str) -> RequestBuilder {
        self.request(Method::POST, path, Some(token))
            .header(ACCEPT, "text/event-stream")
    }
}

/// Whether `base` is `http://` on a loopback host (127.0.0.0/8, `[::1]`, `localhost`): the
/// only place the local backend's access key may go.
fn is_loopback_base(base: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Send, mapping transport failures to a sentence naming the call and the base URL.
pub async fn send(rb: RequestBuilder, what: &str, base: &str) -> Result<Response, ClientError> {
    let response = rb.send().await.map_err(|e| ClientError::Unreachable {
        what: what.to_string(),
        url: base.to_string(),
        source: e.without_url(),
    })?;
    tracing::debug!(
        what,
        path = response.url().path(),
        status = response.status().as_u16(),
        "answer"
    );
    Ok(response)
}

/// `Retry-After` as a wait: delta-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Is this answer JSON (an envelope), rather than file bytes?
pub fn is_json(response: &Response) -> bool {
    content_type(response).contains("json")
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(100);
        h.insert(RETRY_AFTER, httpdate::fmt_http_date(later).parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(90) && d <= Duration::from_secs(100),
            "{d:?}"
        );
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn urls_and_origin() {
        let c = ClientConfig::new("http://127.0.0.1:9/", "/tmp".into(), "local");
        let h = Http::new(&c, "unknown".into()).unwrap();
        assert_eq!(h.url("/api/x"), "http://127.0.0.1:9/api/x");
        assert_eq!(h.url("files/a.mp4"), "http://127.0.0.1:9/files/a.mp4");
        assert_eq!(
            h.url("https://cdn.example/a.mp4"),
            "https://cdn.example/a.mp4"
        );
        assert!(h.same_origin("http://127.0.0.1:9/files/a.mp4"));
        assert!(!h.same_origin("http://127.0.0.1:90/files/a.mp4"));
        assert!(!h.same_origin("https://cdn.example/a.mp4"));
    }
}
