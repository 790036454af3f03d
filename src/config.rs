//! Typed configuration read from `LISTO_*` environment variables; [`SETTINGS`] lists them all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// One environment variable listo reads.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The variable.
    pub name: &'static str,
    /// Its value when unset.
    pub default: &'static str,
    /// What it sets.
    pub meaning: &'static str,
}

const fn setting(name: &'static str, default: &'static str, meaning: &'static str) -> Setting {
    Setting {
        name,
        default,
        meaning,
    }
}

/// Every variable listo reads, for `listo --help` and the documentation.
pub const SETTINGS: &[Setting] = &[
    setting(
        "PORT",
        "8080",
        "port to listen on when LISTO_ADDR is unset (PaaS platforms set it)",
    ),
    setting("LISTO_ADDR", "0.0.0.0:$PORT", "address to listen on"),
    setting(
        "LISTO_DATABASE",
        "./listo.db",
        "the SQLite file (created with its folders on first start), or a postgres:// URL for PostgreSQL",
    ),
    setting(
        "LISTO_DATABASE_POOL",
        "16",
        "PostgreSQL connections this process may hold open at once (unused on SQLite)",
    ),
    setting(
        "LISTO_DATABASE_QUEUE",
        "1024",
        "requests that may wait for the database (for each of SQLite's read and write queues; on PostgreSQL, for a pooled connection); past it a request answers 503 busy at once",
    ),
    setting(
        "LISTO_SESSION_TTL",
        "30",
        "seconds a session lives after it is issued (absolute, not sliding)",
    ),
    setting("LISTO_OTP_TTL", "300", "seconds an emailed code lives"),
    setting(
        "LISTO_SMTP_URL",
        "unset",
        "smtps://user:pass@host:465, smtp://user:pass@host:587?tls=required, or smtp://127.0.0.1:25; unset: emails go to LISTO_OUTBOX",
    ),
    setting(
        "LISTO_OUTBOX",
        "./outbox",
        "folder for .eml files when LISTO_SMTP_URL is unset",
    ),
    setting(
        "LISTO_MAIL_FROM",
        "listo <no-reply@localhost>",
        "sender of every email",
    ),
    setting(
        "LISTO_SECRET",
        "generated once, kept in the database",
        "key (at least 32 characters) for hashing tokens and codes",
    ),
    setting(
        "LISTO_LOGIN_LIMIT_PER_EMAIL",
        "5",
        "failed sign-ins per minute for one email from one client address; 0 = off",
    ),
    setting(
        "LISTO_LOGIN_LIMIT_PER_ADDR",
        "30",
        "failed sign-ins per minute from one client address; 0 = off",
    ),
    setting(
        "LISTO_LOGIN_LIMIT_PER_EMAIL_HOURLY",
        "100",
        "failed sign-ins per hour for one email from all addresses together; an address that has not failed is never stopped by it; 0 = off",
    ),
    setting(
        "LISTO_CODE_LIMIT_PER_HOUR",
        "10",
        "wrong codes per account per rolling hour; past it, login answers 429; 0 = off",
    ),
    setting(
        "LISTO_RESET_LIMIT_PER_HOUR",
        "5",
        "password reset requests per hour for one email, from all addresses together (each sends an email); 0 = off",
    ),
    setting(
        "LISTO_TRUST_PROXY",
        "false",
        "proxy hops in front of listo whose X-Forwarded-For entries to believe: the client address is that many entries from the end of all X-Forwarded-For lines; true = 1 (one PaaS proxy), false = 0 (the socket peer)",
    ),
    setting(
        "LISTO_SESSIONS_PER_USER",
        "50",
        "live sign-ins per user; a new one past it ends that user's oldest; 0 = off",
    ),
    setting(
        "LISTO_STREAMS_PER_USER",
        "8",
        "open event streams per user in each process; a new one past it ends that user's oldest with event: stream_replaced; 0 = off",
    ),
    setting(
        "LISTO_TASKS_PER_USER",
        "100000",
        "tasks one user may hold; a create past it answers 409 quota_exceeded; 0 = off",
    ),
    setting(
        "LISTO_IDEMPOTENCY_BYTES_PER_USER",
        "67108864",
        "bytes of kept Idempotency-Key answers (stored compressed, kept 24 h) per user; past it a keyed request answers 429 quota_exceeded; 0 = off",
    ),
    setting(
        "LISTO_CORS_ORIGINS",
        "unset",
        "comma-separated browser origins (https://app.example.com) allowed to call /v1; unset: no CORS headers",
    ),
    setting(
        "LISTO_HEADER_TIMEOUT",
        "10",
        "seconds a request's headers may take to arrive; 0 = off",
    ),
    setting(
        "LISTO_IDLE_TIMEOUT",
        "60",
        "seconds an idle keep-alive connection stays open; 0 = off",
    ),
    setting(
        "LISTO_MAX_CONNECTIONS",
        "the open-file limit less 128",
        "open connections served at once; more wait to be accepted; 0 = no cap",
    ),
    setting(
        "LISTO_LOG_FORMAT",
        "text",
        "text, or json for one JSON object per line",
    ),
    setting("RUST_LOG", "info", "log filter"),
];

/// The variables as a table for `listo --help`.
pub fn help() -> String {
    let width = SETTINGS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut text = String::from("Environment (all optional):\n");
    for s in SETTINGS {
        text.push_str(&format!(
            "  {:width$}  {} [default: {}]\n",
            s.name, s.meaning, s.default
        ));
    }
    text
}

/// Everything listo needs to start; built once, then shared read-only.
#[derive(Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free one (tests).
    pub addr: SocketAddr,
    /// The SQLite file or the PostgreSQL database.
    pub database: crate::store::Location,
    /// PostgreSQL connections per process.
    pub database_pool: usize,
    /// Requests that may wait in each queue in front of the database; past it, 503 `busy`.
    pub database_queue: usize,
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
    /// Limits on failed sign-ins and wrong codes.
    pub limits: SignInLimits,
    /// Limits on connections.
    pub connections: ConnectionLimits,
    /// Proxy hops whose `X-Forwarded-For` entries are believed (0: the socket peer).
    pub trust_proxy: u8,
    /// What one user may hold.
    pub quotas: Quotas,
    /// Browser origins allowed to call the API (CORS); empty = none.
    pub cors_origins: Vec<String>,
    /// Emit JSON log lines instead of human-readable ones.
    pub log_json: bool,
}

/// Failure budgets for sign-in; each 0 = off.
#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    /// Failed sign-ins per minute for one (email, client address).
    pub per_email_addr: u32,
    /// Failed sign-ins per minute from one client address.
    pub per_addr: u32,
    /// Failed sign-ins per hour for one email, all addresses together.
    pub per_email_hourly: u32,
    /// Wrong codes per account per rolling hour (and per email, for reset codes).
    pub codes_per_hour: u32,
    /// Password reset requests per email per rolling hour.
    pub resets_per_hour: u32,
}

impl SignInLimits {
    /// Every limit off (for tests that are not about limits).
    pub const OFF: Self = Self {
        per_email_addr: 0,
        per_addr: 0,
        per_email_hourly: 0,
        codes_per_hour: 0,
        resets_per_hour: 0,
    };
}

/// What one user may hold at once; `None` = no limit.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    /// Live sign-ins; a new one past it ends the oldest.
    pub sessions: Option<u32>,
    /// Open event streams in one process; a new one past it ends the oldest.
    pub streams: Option<u32>,
    /// Tasks.
    pub tasks: Option<u64>,
    /// Bytes of kept idempotent answers (as stored, compressed).
    pub idempotency_bytes: Option<u64>,
}

/// How long a connection may take and how many are served at once; `None` = off.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time for a request's headers to arrive.
    pub header_timeout: Option<Duration>,
    /// Time an idle keep-alive connection stays open.
    pub idle_timeout: Option<Duration>,
    /// Connections served at once; `None` = derived from the open-file limit at start-up.
    pub max_connections: Option<usize>,
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
            MailConfig::Smtp(raw) => {
                let url = url::Url::parse(raw).ok();
                let host = url.as_ref().and_then(|u| u.host_str()).unwrap_or("?");
                match url.as_ref().and_then(|u| u.port()) {
                    Some(port) => format!("smtp ({host}:{port})"),
                    None => format!("smtp ({host})"),
                }
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
        let get = |name: &str| {
            debug_assert!(
                SETTINGS.iter().any(|s| s.name == name),
                "{name} is missing from SETTINGS"
            );
            lookup(name).filter(|v| !v.trim().is_empty())
        };
        let per_minute = "a whole number of failures per minute (0 turns the limit off)";
        let per_hour = "a whole number per hour (0 turns the limit off)";

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
            database: crate::store::Location::parse(
                &get("LISTO_DATABASE").unwrap_or_else(|| "./listo.db".into()),
            )
            .map_err(|message| ConfigError {
                var: "LISTO_DATABASE",
                message,
            })?,
            database_pool: match parse_or(
                get("LISTO_DATABASE_POOL"),
                "LISTO_DATABASE_POOL",
                16,
                "a number of connections from 1 to 1000",
            )? {
                n @ 1..=1000 => n,
                n => {
                    return Err(ConfigError {
                        var: "LISTO_DATABASE_POOL",
                        message: format!(
                            "expected a number of connections from 1 to 1000, got {n}"
                        ),
                    });
                }
            },
            database_queue: match parse_or(
                get("LISTO_DATABASE_QUEUE"),
                "LISTO_DATABASE_QUEUE",
                crate::store::QUEUE_DEPTH,
                "a number of waiting requests from 1 to 100000",
            )? {
                n @ 1..=100_000 => n,
                n => {
                    return Err(ConfigError {
                        var: "LISTO_DATABASE_QUEUE",
                        message: format!(
                            "expected a number of waiting requests from 1 to 100000, got {n}"
                        ),
                    });
                }
            },
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
            limits: SignInLimits {
                per_email_addr: parse_or(
                    get("LISTO_LOGIN_LIMIT_PER_EMAIL"),
                    "LISTO_LOGIN_LIMIT_PER_EMAIL",
                    5,
                    per_minute,
                )?,
                per_addr: parse_or(
                    get("LISTO_LOGIN_LIMIT_PER_ADDR"),
                    "LISTO_LOGIN_LIMIT_PER_ADDR",
                    30,
                    per_minute,
                )?,
                per_email_hourly: parse_or(
                    get("LISTO_LOGIN_LIMIT_PER_EMAIL_HOURLY"),
                    "LISTO_LOGIN_LIMIT_PER_EMAIL_HOURLY",
                    100,
                    per_hour,
                )?,
                codes_per_hour: parse_or(
                    get("LISTO_CODE_LIMIT_PER_HOUR"),
                    "LISTO_CODE_LIMIT_PER_HOUR",
                    10,
                    per_hour,
                )?,
                resets_per_hour: parse_or(
                    get("LISTO_RESET_LIMIT_PER_HOUR"),
                    "LISTO_RESET_LIMIT_PER_HOUR",
                    5,
                    per_hour,
                )?,
            },
            connections: ConnectionLimits {
                header_timeout: optional_seconds(
                    get("LISTO_HEADER_TIMEOUT"),
                    "LISTO_HEADER_TIMEOUT",
                    10,
                )?,
                idle_timeout: optional_seconds(
                    get("LISTO_IDLE_TIMEOUT"),
                    "LISTO_IDLE_TIMEOUT",
                    60,
                )?,
                max_connections: match get("LISTO_MAX_CONNECTIONS") {
                    None => None,
                    raw => Some(parse_or(
                        raw,
                        "LISTO_MAX_CONNECTIONS",
                        0,
                        "a whole number of connections (0 turns the cap off)",
                    )?),
                },
            },
            trust_proxy: hops(get("LISTO_TRUST_PROXY"))?,
            quotas: Quotas {
                sessions: quota(
                    get("LISTO_SESSIONS_PER_USER"),
                    "LISTO_SESSIONS_PER_USER",
                    50,
                )?,
                streams: quota(get("LISTO_STREAMS_PER_USER"), "LISTO_STREAMS_PER_USER", 8)?,
                tasks: quota(get("LISTO_TASKS_PER_USER"), "LISTO_TASKS_PER_USER", 100_000)?,
                idempotency_bytes: quota(
                    get("LISTO_IDEMPOTENCY_BYTES_PER_USER"),
                    "LISTO_IDEMPOTENCY_BYTES_PER_USER",
                    64 << 20,
                )?,
            },
            cors_origins: get("LISTO_CORS_ORIGINS")
                .map(|raw| cors_origins(&raw))
                .transpose()?
                .unwrap_or_default(),
            log_json,
        })
    }
}

/// An SMTP URL lettre accepts, and one that never sends a password in the clear: credentials on
/// `smtp://` need `?tls=required` (STARTTLS) unless the server is on this machine.
fn smtp_url(raw: &str) -> Result<String, ConfigError> {
    let refuse = |message: String| ConfigError {
        var: "LISTO_SMTP_URL",
        message,
    };
    let url = url::Url::parse(raw).map_err(|e| refuse(format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "smtp" | "smtps") {
        return Err(refuse(
            "expected a URL starting with smtp:// or smtps://".into(),
        ));
    }
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(raw)
        .map_err(|e| refuse(format!("not a usable SMTP URL: {e}")))?;
    // smtp is not a scheme the URL standard knows, so its host stays text, IPs included.
    let loopback = url.host_str().is_some_and(|host| {
        host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    let credentials = !url.username().is_empty() || url.password().is_some();
    let encrypted = url.scheme() == "smtps"
        || url
            .query_pairs()
            .any(|(key, value)| key == "tls" && value == "required");
    if credentials && !encrypted && !loopback {
        return Err(refuse(
            "would send the SMTP password unencrypted: use smtps://… or add ?tls=required".into(),
        ));
    }
    Ok(raw.to_owned())
}

/// Comma-separated origins, each exactly `scheme://host[:port]` as browsers send it.
fn cors_origins(raw: &str) -> Result<Vec<String>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let refuse = || ConfigError {
                var: "LISTO_CORS_ORIGINS",
                message: format!(
                    "expected origins like https://app.example.com (scheme, host, optional port; no path), got {origin:?}"
                ),
            };
            let url = url::Url::parse(origin).map_err(|_| refuse())?;
            let serialized = url.origin().ascii_serialization();
            if serialized != origin.trim_end_matches('/') || !matches!(url.scheme(), "http" | "https") {
                return Err(refuse());
            }
            Ok(serialized)
        })
        .collect()
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

/// `LISTO_TRUST_PROXY`: a number of hops, `true` (1) or `false` (0).
fn hops(raw: Option<String>) -> Result<u8, ConfigError> {
    match raw.as_deref().map(str::trim) {
        None | Some("false") => Ok(0),
        Some("true") => Ok(1),
        Some(other) => other.parse::<u8>().ok().filter(|n| *n <= 16).ok_or(ConfigError {
            var: "LISTO_TRUST_PROXY",
            message: format!(
                "expected the number of proxies in front of listo (0 to 16), true (1) or false (0), got {other:?}"
            ),
        }),
    }
}

/// A per-user quota: a whole number, 0 for no limit.
fn quota<T: std::str::FromStr + PartialEq + From<u8>>(
    raw: Option<String>,
    var: &'static str,
    default: T,
) -> Result<Option<T>, ConfigError> {
    let n = parse_or(raw, var, default, "a whole number (0 turns the quota off)")?;
    Ok((n != T::from(0)).then_some(n))
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

/// Like [`seconds`], with 0 meaning off.
fn optional_seconds(
    raw: Option<String>,
    var: &'static str,
    default: u64,
) -> Result<Option<Duration>, ConfigError> {
    match raw {
        Some(raw) if raw.trim() == "0" => Ok(None),
        raw => seconds(raw, var, default).map(Some),
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
        let l = c.limits;
        assert_eq!(
            (
                l.per_email_addr,
                l.per_addr,
                l.per_email_hourly,
                l.codes_per_hour
            ),
            (5, 30, 100, 10)
        );
        assert_eq!(c.connections.header_timeout, Some(Duration::from_secs(10)));
        assert_eq!(c.connections.idle_timeout, Some(Duration::from_secs(60)));
        assert_eq!(c.connections.max_connections, None);
        assert!(c.cors_origins.is_empty());
        assert_eq!(c.trust_proxy, 0);
        let q = c.quotas;
        assert_eq!(
            (q.sessions, q.streams, q.tasks, q.idempotency_bytes),
            (Some(50), Some(8), Some(100_000), Some(64 << 20))
        );
    }

    #[test]
    fn trust_proxy_counts_hops_and_zero_turns_quotas_off() {
        for (raw, hops) in [("true", 1), ("false", 0), ("2", 2), ("0", 0)] {
            assert_eq!(
                config(&[("LISTO_TRUST_PROXY", raw)]).unwrap().trust_proxy,
                hops
            );
        }
        let c = config(&[
            ("LISTO_TASKS_PER_USER", "0"),
            ("LISTO_STREAMS_PER_USER", "0"),
        ])
        .unwrap();
        assert_eq!((c.quotas.tasks, c.quotas.streams), (None, None));
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
            ("LISTO_TRUST_PROXY", "-1"),
            ("LISTO_TASKS_PER_USER", "lots"),
            ("LISTO_SESSIONS_PER_USER", "-2"),
            ("LISTO_LOG_FORMAT", "xml"),
            ("LISTO_MAIL_FROM", "not an address"),
            ("LISTO_CORS_ORIGINS", "https://app.example.com/path"),
            ("LISTO_CORS_ORIGINS", "app.example.com"),
            ("LISTO_HEADER_TIMEOUT", "soon"),
            ("LISTO_MAX_CONNECTIONS", "-3"),
            ("LISTO_CODE_LIMIT_PER_HOUR", "ten"),
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
    fn cors_origins_are_exact_origins() {
        let c = config(&[(
            "LISTO_CORS_ORIGINS",
            "https://app.example.com, http://127.0.0.1:5173/",
        )])
        .unwrap();
        assert_eq!(
            c.cors_origins,
            ["https://app.example.com", "http://127.0.0.1:5173"]
        );
    }

    #[test]
    fn zero_turns_timeouts_and_the_cap_off() {
        let c = config(&[
            ("LISTO_HEADER_TIMEOUT", "0"),
            ("LISTO_IDLE_TIMEOUT", "0"),
            ("LISTO_MAX_CONNECTIONS", "0"),
        ])
        .unwrap();
        assert_eq!(c.connections.header_timeout, None);
        assert_eq!(c.connections.idle_timeout, None);
        assert_eq!(c.connections.max_connections, Some(0));
    }

    #[test]
    fn help_lists_every_setting_with_its_default() {
        let help = help();
        for s in SETTINGS {
            assert!(
                help.contains(s.name) && help.contains(s.default),
                "{}",
                s.name
            );
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
