//! Safe URL fetches for URL uploads: the host is resolved here and every address must be a
//! public one (no loopback, private, link-local, metadata, CGNAT, multicast or reserved
//! address, IPv4 or IPv6, v4-mapped included — literal spellings such as `2130706433` or
//! `0177.0.0.1` are normalised by the URL parser first); the connection is pinned to the
//! checked address (no second lookup to rebind); redirects are followed by hand, at most
//! [`MAX_REDIRECTS`], each hop checked the same way, without a `Referer`; a total timeout and
//! a minimum speed bound the transfer. Every failure is the same [`FetchRefused`], so an
//! answer never tells an open port from a closed one or a private address from a dead one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::Url;

/// Redirect hops followed at most.
pub const MAX_REDIRECTS: usize = 3;
/// Longest a whole download may take.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(300);
/// After this long, a transfer slower than [`MIN_BYTES_PER_SEC`] on average is dropped —
/// also when nothing arrives at all: the response head must come within this time of the
/// request, and each chunk of the body by `start + SLOW_GRACE + bytes / MIN_BYTES_PER_SEC`.
pub const SLOW_GRACE: Duration = Duration::from_secs(15);
pub const MIN_BYTES_PER_SEC: u64 = 16 * 1024;

/// The one refusal of a URL fetch (scheme, address, connection, HTTP status, redirect,
/// timeout, speed): it says nothing about why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{url}: could not download this URL; give a public http(s) address of a video, image or audio file, or upload the file itself"
)]
pub struct FetchRefused {
    /// The URL as given (at most 300 characters).
    pub url: String,
}

/// How fetches are made. `private_addresses` lets loopback/private addresses through: test
/// configuration only (`BackendConfig::fetch_private_addresses`), never a flag.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchPolicy {
    pub private_addresses: bool,
}

/// A started download: its body as a stream of chunks, and a file name from the last URL.
pub struct Fetched {
    pub name: String,
    pub content_length: Option<u64>,
    pub body: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, FetchRefused>> + Send>>,
}

/// Fetch `raw` under `policy`.
pub async fn fetch(raw: &str, policy: FetchPolicy) -> Result<Fetched, FetchRefused> {
    let refused = || FetchRefused {
        url: raw.chars().take(300).collect(),
    };
    let started = Instant::now();
    let mut url = Url::parse(raw).map_err(|_| refused())?;
    for _hop in 0..=MAX_REDIRECTS {
        let addr = checked_address(&url, policy).await.ok_or_else(refused)?;
        let host = url.host_str().ok_or_else(refused)?.to_string();
        let left = TOTAL_TIMEOUT
            .checked_sub(started.elapsed())
            .ok_or_else(refused)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .no_proxy()
            .resolve(&host, addr)
            .connect_timeout(Duration::from_secs(10))
            .timeout(left)
            .build()
            .map_err(|_| refused())?;
        let resp = tokio::time::timeout(SLOW_GRACE, client.get(url.clone()).send())
            .await
            .map_err(|_| refused())?
            .map_err(|_| refused())?;
        let status = resp.status();
        if status.is_redirection() {
            let next = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(refused)?;
            url = next;
            continue;
        }
        if !status.is_success() {
            return Err(refused());
        }
        let name = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .filter(|s| !s.is_empty())
            .unwrap_or("download")
            .to_string();
        let content_length = resp.content_length();
        let shown = refused();
        // Each chunk must arrive by the time the bytes so far have earned: a stalled body
        // is dropped as surely as a trickled one (the wait itself is bounded).
        let start = tokio::time::Instant::from_std(started);
        let state = (resp.bytes_stream(), 0u64, false);
        let body = futures::stream::unfold(state, move |(mut s, got, done)| {
            let shown = shown.clone();
            async move {
                if done {
                    return None;
                }
                let earned = Duration::from_secs_f64(got as f64 / MIN_BYTES_PER_SEC as f64);
                match tokio::time::timeout_at(start + SLOW_GRACE + earned, s.next()).await {
                    Ok(None) => None,
                    Ok(Some(Ok(chunk))) => {
                        let got = got + chunk.len() as u64;
                        Some((Ok(chunk), (s, got, false)))
                    }
                    Ok(Some(Err(_))) | Err(_) => Some((Err(shown), (s, got, true))),
                }
            }
        });
        return Ok(Fetched {
            name,
            content_length,
            body: Box::pin(body),
        });
    }
    Err(refused())
}

/// The address to connect to for `url`: http(s) only, the host resolved, and every address
/// it resolves to allowed (one bad answer spoils the name). `None`: refused.
async fn checked_address(url: &Url, policy: FetchPolicy) -> Option<SocketAddr> {
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
        return None;
    }
    let port = url.port_or_known_default()?;
    let addrs: Vec<SocketAddr> = match url.host()? {
        url::Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        url::Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        url::Host::Domain(d) => tokio::net::lookup_host((d, port)).await.ok()?.collect(),
    };
    if addrs.is_empty() {
        return None;
    }
    let ok = addrs
        .iter()
        .all(|a| policy.private_addresses || is_public(a.ip()));
    ok.then(|| addrs[0])
}

/// Whether `ip` is a public unicast address: not loopback, private, link-local (the cloud
/// metadata address 169.254.169.254 among them), shared (CGNAT), unspecified, broadcast,
/// documentation, benchmarking, multicast or reserved; IPv6 forms that embed an IPv4
/// address (v4-mapped, v4-compatible, NAT64) are judged by that address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            // ::a.b.c.d (deprecated v4-compatible) and 64:ff9b::/96 (NAT64).
            if (s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified())
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4])
            {
                let v4 =
                    Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
                return is_public_v4(v4);
            }
            is_public_v6(v6)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || o[0] == 0
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 198 && (18..20).contains(&o[1]))
        || o[0] >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x2001 && s[1] < 0x0200)
        || s[0] == 0x0100 && s[1..4] == [0; 3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for bad in [
            "127.0.0.1",
            "127.0.0.2",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.0.170",
            "198.18.0.1",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "fd00:ec2::254",
        ] {
            let ip: IpAddr = bad.parse().unwrap();
            assert!(!is_public(ip), "{bad}");
        }
        for good in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:2800:220:1::1",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = good.parse().unwrap();
            assert!(is_public(ip), "{good}");
        }
    }

    #[tokio::test]
    async fn literal_spellings_are_normalised_then_refused() {
        for raw in [
            "http://2130706433/x.png",
            "http://0177.0.0.1/x.png",
            "http://0x7f.1/x.png",
            "http://127.1/x.png",
            "http://[::ffff:7f00:1]/x.png",
            "http://[::1]:8080/x.png",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost/x.png",
            "ftp://example.com/x.png",
            "http://user:pw@example.com/x.png",
        ] {
            let url = Url::parse(raw).unwrap();
            assert_eq!(
                checked_address(&url, FetchPolicy::default()).await,
                None,
                "{raw}"
            );
        }
    }
}
