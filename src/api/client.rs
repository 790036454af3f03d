//! The client's address, for per-address rate limits.

use crate::service::ClientAddr;
use poem::http::HeaderMap;
use poem::{FromRequest, Request, RequestBody};
use std::net::IpAddr;

/// How many proxies in front of listo append to `X-Forwarded-For` (0: believe none).
#[derive(Debug, Clone, Copy)]
pub struct TrustProxy(pub u8);

/// Extracts the client address: behind `hops` trusted proxies, the entry that many places from
/// the end of every `X-Forwarded-For` line taken as one list (RFC 9110 §5.3): the one the
/// outermost trusted proxy wrote. Entries before it are whatever the client sent, so a client
/// never picks its own rate-limit key. With no proxy trusted, the socket peer. IPv4-mapped IPv6
/// addresses are read as the IPv4 address they carry.
pub struct Client(pub ClientAddr);

impl<'a> FromRequest<'a> for Client {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let hops = req.data::<TrustProxy>().map_or(0, |t| t.0);
        let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
        let addr = forwarded_for(req.headers(), hops).or(peer);
        Ok(Client(ClientAddr(addr.map(|a| a.to_canonical()))))
    }
}

/// The address `hops` trusted proxies vouch for; `None` when none is trusted or the entry there
/// is not an address. Fewer entries than hops: every entry came from a trusted proxy, and the
/// first is the nearest to the client.
fn forwarded_for(headers: &HeaderMap, hops: u8) -> Option<IpAddr> {
    if hops == 0 {
        return None;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|line| line.to_str().unwrap_or("").split(','))
        .map(str::trim)
        .collect();
    let at = entries.len().saturating_sub(usize::from(hops));
    entries.get(at)?.parse().ok()
}

/// The `User-Agent` header, kept with a new session to show its owner where it was opened.
pub struct UserAgent(pub Option<String>);

impl<'a> FromRequest<'a> for UserAgent {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        Ok(UserAgent(req.header("user-agent").map(str::to_owned)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append("x-forwarded-for", line.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_entry_the_outermost_trusted_proxy_wrote_decides() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // The client's own line first, the proxy's appended after it.
        let two_lines = headers(&["6.6.6.6", "203.0.113.7"]);
        assert_eq!(forwarded_for(&two_lines, 1), ip("203.0.113.7"));
        assert_eq!(forwarded_for(&two_lines, 2), ip("6.6.6.6"));
        let one_line = headers(&["6.6.6.6, 203.0.113.7, 10.0.0.2"]);
        assert_eq!(forwarded_for(&one_line, 2), ip("203.0.113.7"));
        assert_eq!(forwarded_for(&one_line, 5), ip("6.6.6.6"));
        assert_eq!(forwarded_for(&one_line, 0), None);
        assert_eq!(forwarded_for(&headers(&["not an address"]), 1), None);
        assert_eq!(forwarded_for(&HeaderMap::new(), 1), None);
    }
}
