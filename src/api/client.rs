//! The client's address, for per-address rate limits.

use crate::service::ClientAddr;
use poem::{FromRequest, Request, RequestBody};
use std::net::IpAddr;

/// Whether `X-Forwarded-For` may be believed (set behind a PaaS proxy).
#[derive(Debug, Clone, Copy)]
pub struct TrustProxy(pub bool);

/// Extracts the client address: when the proxy is trusted, the last `X-Forwarded-For` entry —
/// the one the trusted proxy appended itself (entries before it are whatever the client sent,
/// so believing the first would let anyone pick their rate-limit key); else the socket peer.
pub struct Client(pub ClientAddr);

impl<'a> FromRequest<'a> for Client {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let trust = req.data::<TrustProxy>().is_some_and(|t| t.0);
        let forwarded = trust
            .then(|| req.header("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
        Ok(Client(ClientAddr(forwarded.or(peer))))
    }
}

/// The `User-Agent` header, kept with a new session to show its owner where it was opened.
pub struct UserAgent(pub Option<String>);

impl<'a> FromRequest<'a> for UserAgent {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        Ok(UserAgent(req.header("user-agent").map(str::to_owned)))
    }
}
