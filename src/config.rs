//! Typed configuration read from `LISTO_*` environment variables (see DESIGN.md's table).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything listo needs to start; built once, then shared read-only.
#[derive(Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free one (tests).
    pub addr: SocketAddr,
    /// The SQLite file.
    pub database: PathBuf,
    /// A session's absolute life.
    pub session_ttl: Duration,
    /// An emailed code's life.
    pub otp_ttl: Duration,
    /// How email leaves the server.
    pub mail: MailConfig,
    /// The `From` header of every email.
    pub mail_from: lettre::message::Mailbox,
    /// Key material for hashing tokens and codes; `None` means generate once and keep in the database.
    pub secret: Option<String>,
    /// Login/register attempts per minute for one email (0 = off).
    pub login_limit_per_email: u32,
    /// Login/register attempts per minute from one client address (0 = off).
    pub login_limit_per_addr: u32,
    /// Take the client address from `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// Emit JSON log lines instead of human-readable ones.
    pub log_json: bool,
}

/// Where emails go.
#[derive(Clone)]
pub enum MailConfig {
    /// An SMTP server, as a lettre URL (`smtp://`, `smtps://`, credentials inside).
    Smtp(String),
    /// `.eml` files in a folder, for running without a mail server.
    Outbox(PathBuf),
}

/// A setting that cannot be used; `Display` gives the one line start-up prints.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong with it and what would be accepted.
    pub message: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The SMTP URL may carry a password and the secret is a key: neither is printed.
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("database", &self.database)
            .field("session_ttl", &self.session_ttl)
            .field("otp_ttl", &self.otp_ttl)
            .field("mail", &self.mail.describe())
            .field("secret", &self.secret.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

impl MailConfig {
    /// A log-safe description: the SMTP host without credentials, or the outbox folder.
    pub fn describe(&self) -> String {
        match self {
            MailConfig::Smtp(url) => {
                let host = url.rsplit('@').next().unwrap_or(url);
                let host = host.split_once("://").map_or(host, |(_, rest)| rest);
                format!("smtp ({})", host.split(['/', '?']).next().unwrap_or(host))
            }
            MailConfig::Outbox(dir) => format!("outbox ({})", dir.display()),
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can supply their own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let port: u16 = parse_or(get("PORT"), "PORT", 8080, "a port number 0..=65535")?;
        let addr = match get("LISTO_ADDR") {
            Some(raw) => raw.trim().parse().map_err(|_| ConfigError {
                var: "LISTO_ADDR",
                message: format!("expected an address like 0.0.0.0:8080, got {raw:?}"),
            })?,
            None => SocketAddr::from(([0, 0, 0, 0], port)),
        };
        let mail = match get("LISTO_SMTP_URL") {
            Some(url) => MailConfig::Smtp(smtp_url(url.trim())?),
            None => {
                MailConfig::Outbox(get("LISTO_OUTBOX").map_or("./outbox".into(), PathBuf::from))
            }
        };
        let secret = get("LISTO_SECRET");
        if secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(ConfigError {
                var: "LISTO_SECRET",
                message: "must be at least 32 characters (e.g. `openssl rand -hex 32`)".into(),
            });
        }
        let log_json = match get("LISTO_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(ConfigError {
                    var: "LISTO_LOG_FORMAT",
                    message: format!("expected \"text\" or \"json\", got {other:?}"),
                });
            }
        };

        Ok(Self {
            addr,
            database: get("LISTO_DATABASE").map_or("./listo.db".into(), PathBuf::from),
            session_ttl: seconds(get("LISTO_SESSION_TTL"), "LISTO_SESSION_TTL", 30)?,
            otp_ttl: seconds(get("LISTO_OTP_TTL"), "LISTO_OTP_TTL", 300)?,
            mail,
            mail_from: get("LISTO_MAIL_FROM")
                .unwrap_or_else(|| "listo <no-reply@localhost>".into())
                .trim()
                .parse()
                .map_err(|e| ConfigError {
                    var: "LISTO_MAIL_FROM",
                    message: format!("expected a sender like `listo <no-reply@example.com>`: {e}"),
                })?,
            secret,
            login_limit_per_email: parse_or(
                get("LISTO_LOGIN_LIMIT_PER_EMAIL"),
                "LISTO_LOGIN_LIMIT_PER_EMAIL",
                5,
                "a whole number of attempts per minute (0 turns the limit off)",
            )?,
            login_limit_per_addr: parse_or(
                get("LISTO_LOGIN_LIMIT_PER_ADDR"),
                "LISTO_LOGIN_LIMIT_PER_ADDR",
                30,
                "a whole number of attempts per minute (0 turns the limit off)",
            )?,
            trust_proxy: parse_or(
                get("LISTO_TRUST_PROXY"),
                "LISTO_TRUST_PROXY",
                false,
                "true or false",
            )?,
            log_json,
        })
    }
}

/// An SMTP URL lettre accepts, and one that never sends a password in the clear: credentials on
/// `smtp://` need `?tls=required` (STARTTLS) unless the server is on this machine.
fn smtp_url(url: &str) -> Result<String, ConfigError> {
    let refuse = |message: String| ConfigError {
        var: "LISTO_SMTP_URL",
        message,
    };
    let Some(rest) = url
        .strip_prefix("smtp://")
        .or_else(|| url.strip_prefix("smtps://"))
    else {
        return Err(refuse(
            "expected a URL starting with smtp:// or smtps://".into(),
        ));
    };
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
        .map_err(|e| refuse(format!("not a usable SMTP URL: {e}")))?;
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let (credentials, host_port) = match authority.rsplit_once('@') {
        Some((credentials, host_port)) => (Some(credentials), host_port),
        None => (None, authority),
    };
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port, |(host, _)| host)
        .trim_matches(['[', ']']);
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let encrypted = url.starts_with("smtps://") || url.contains("tls=required");
    if credentials.is_some() && !encrypted && !loopback {
        return Err(refuse(
            "would send the SMTP password unencrypted: use smtps://… or add ?tls=required".into(),
        ));
    }
    Ok(url.to_owned())
}

fn parse_or<T: std::str::FromStr>(
    raw: Option<String>,
    var: &'static str,
    default: T,
    expected: &str,
) -> Result<T, ConfigError> {
    match raw {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| ConfigError {
            var,
            message: format!("expected {expected}, got {raw:?}"),
        }),
    }
}

/// Seconds, 0.1 up to a year (fractions like "0.5" are for tests that need quick expiry).
fn seconds(raw: Option<String>, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Duration::from_secs(default));
    };
    match raw.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.1..=31_536_000.0).contains(&s) => {
            Ok(Duration::from_secs_f64(s))
        }
        _ => Err(ConfigError {
            var,
            message: format!("expected a number of seconds between 0.1 and 31536000, got {raw:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_design() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "0.0.0.0:8080");
        assert_eq!(c.session_ttl, Duration::from_secs(30));
        assert_eq!(c.otp_ttl, Duration::from_secs(300));
        assert!(matches!(c.mail, MailConfig::Outbox(ref p) if p == &PathBuf::from("./outbox")));
        assert_eq!((c.login_limit_per_email, c.login_limit_per_addr), (5, 30));
    }

    #[test]
    fn port_and_addr() {
        assert_eq!(
            config(&[("PORT", "9000")]).unwrap().addr.to_string(),
            "0.0.0.0:9000"
        );
        let c = config(&[("PORT", "9000"), ("LISTO_ADDR", "127.0.0.1:1")]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:1");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("PORT", "eighty"),
            ("LISTO_ADDR", "nowhere"),
            ("LISTO_SESSION_TTL", "0"),
            ("LISTO_OTP_TTL", "-5"),
            ("LISTO_SMTP_URL", "http://mail"),
            ("LISTO_SMTP_URL", "smtp://user:pass@smtp.example.com:587"),
            ("LISTO_SMTP_URL", "smtp://mail.example.com?tls=bogus"),
            ("LISTO_SECRET", "short"),
            ("LISTO_LOGIN_LIMIT_PER_EMAIL", "many"),
            ("LISTO_TRUST_PROXY", "yes"),
            ("LISTO_LOG_FORMAT", "xml"),
            ("LISTO_MAIL_FROM", "not an address"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(var));
        }
    }

    #[test]
    fn smtp_passwords_travel_encrypted_unless_the_server_is_local() {
        for ok in [
            "smtps://user:pass@smtp.example.com:465",
            "smtp://user:pass@smtp.example.com:587?tls=required",
            "smtp://user:pass@127.0.0.1:2525",
            "smtp://user:pass@localhost:25",
            "smtp://relay.example.com:25",
        ] {
            assert!(config(&[("LISTO_SMTP_URL", ok)]).is_ok(), "{ok}");
        }
    }

    #[test]
    fn debug_hides_credentials() {
        let c = config(&[
            (
                "LISTO_SMTP_URL",
                "smtps://user:hunter2@mail.example.com:587",
            ),
            ("LISTO_SECRET", "0123456789abcdef0123456789abcdef-secret"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("0123456789abcdef"),
            "{shown}"
        );
        assert!(shown.contains("mail.example.com:587"));
    }
}
