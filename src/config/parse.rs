//! What each setting accepts: one parser per kind of value, refusing with the message start-up
//! prints after the variable's name.

use secrecy::SecretString;
use std::str::FromStr;
use std::time::Duration;

/// An SMTP URL lettre accepts, and one that never sends a password in the clear: credentials on
/// `smtp://` need `?tls=required` (STARTTLS) unless the server is on this machine.
pub(super) fn smtp_url(raw: &str) -> Result<SecretString, String> {
    let raw = raw.trim();
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "smtp" | "smtps") {
        return Err("expected a URL starting with smtp:// or smtps://".into());
    }
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(raw)
        .map_err(|e| format!("not a usable SMTP URL: {e}"))?;
    // smtp is not a scheme the URL standard knows, so its host stays text, IPs included.
    let ip = |host: &str| host.trim_matches(['[', ']']).parse::<std::net::IpAddr>();
    let loopback = (url.host_str())
        .is_some_and(|host| host == "localhost" || ip(host).is_ok_and(|ip| ip.is_loopback()));
    let credentials = !url.username().is_empty() || url.password().is_some();
    let starttls = url
        .query_pairs()
        .any(|(key, value)| key == "tls" && value == "required");
    let encrypted = url.scheme() == "smtps" || starttls;
    if credentials && !encrypted && !loopback {
        return Err(
            "would send the SMTP password unencrypted: use smtps://… or add ?tls=required".into(),
        );
    }
    Ok(raw.into())
}

/// Comma-separated origins, each exactly `scheme://host[:port]` as browsers send it.
pub(super) fn cors_origins(raw: &str) -> Result<Vec<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let refuse = || format!(
                "expected origins like https://app.example.com (scheme, host, optional port; no path), got {origin:?}"
            );
            let url = url::Url::parse(origin).map_err(|_| refuse())?;
            let serialized = url.origin().ascii_serialization();
            if serialized != origin.trim_end_matches('/') || !matches!(url.scheme(), "http" | "https") {
                return Err(refuse());
            }
            Ok(serialized)
        })
        .collect()
}

/// A parser of whole numbers, refusing with "expected {what}, got …".
pub(super) fn whole<T: FromStr>(what: &'static str) -> impl Fn(&str) -> Result<T, String> + Clone {
    move |raw| (raw.trim().parse()).map_err(|_| format!("expected {what}, got {raw:?}"))
}

pub(super) const PER_MINUTE: &str = "a whole number of failures per minute (0 turns the limit off)";
pub(super) const PER_HOUR: &str = "a whole number per hour (0 turns the limit off)";
pub(super) const CONNECTIONS: &str = "a whole number of connections (0 turns the cap off)";

/// A count from 1 to `max` (the pool, the queue), refusing with "expected {what} from 1 to {max}, got …".
pub(super) fn counted(
    what: &'static str,
    max: usize,
) -> impl Fn(&str) -> Result<usize, String> + Clone {
    move |raw| match whole::<usize>("")(raw) {
        Ok(n @ 1..) if n <= max => Ok(n),
        Ok(n) => Err(format!("expected {what} from 1 to {max}, got {n}")),
        Err(_) => Err(format!("expected {what} from 1 to {max}, got {raw:?}")),
    }
}

/// `LISTO_TRUST_PROXY`: a number of hops, `true` (1) or `false` (0).
pub(super) fn hops(raw: &str) -> Result<u8, String> {
    match raw.trim() {
        "false" => Ok(0),
        "true" => Ok(1),
        other => other.parse::<u8>().ok().filter(|n| *n <= 16).ok_or(format!(
            "expected the number of proxies in front of listo (0 to 16), true (1) or false (0), got {other:?}"
        )),
    }
}

/// A per-user quota: a whole number, 0 for no limit.
pub(super) fn quota<T: FromStr + PartialEq + From<u8>>(raw: &str) -> Result<Option<T>, String> {
    let n = whole("a whole number (0 turns the quota off)")(raw)?;
    Ok((n != T::from(0)).then_some(n))
}

/// Whole seconds, 1 up to a year.
pub(super) fn seconds(raw: &str) -> Result<Duration, String> {
    match raw.trim().parse::<u64>() {
        Ok(s @ 1..=31_536_000) => Ok(Duration::from_secs(s)),
        _ => Err(format!(
            "expected a whole number of seconds between 1 and 31536000, got {raw:?}"
        )),
    }
}

/// Like [`seconds`], with 0 meaning off.
pub(super) fn seconds_or_off(raw: &str) -> Result<Option<Duration>, String> {
    match raw.trim() {
        "0" => Ok(None),
        _ => seconds(raw).map(Some),
    }
}
