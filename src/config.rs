//! Typed configuration from environment variables, each declared once in [`Settings`].

use clap::error::{ContextKind, ContextValue};
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Every variable listo reads, in `listo --help`'s order. A field's `env` is the variable, its
/// doc comment the meaning `--help` prints, `default_value` its value when unset (a default that
/// is not a value ends the doc comment as `[default: …]`, else it reads "unset") and
/// `value_parser` what it accepts. The variables reach this command only through
/// [`Config::from_lookup`], as `--flag=value`; `listo`'s own command line takes none of them.
#[derive(Parser)]
#[command(name = "listo")]
struct Settings {
    /// port to listen on when LISTO_ADDR is unset (PaaS platforms set it)
    #[arg(long, env = "PORT", default_value = "8080", value_parser = |raw: &str| whole::<u16>(raw, "a port number 0..=65535"))]
    port: u16,
    /// address to listen on [default: 0.0.0.0:$PORT]
    #[arg(long, env = "LISTO_ADDR", value_parser = |raw: &str| raw.trim().parse::<SocketAddr>()
        .map_err(|_| format!("expected an address like 0.0.0.0:8080, got {raw:?}")))]
    addr: Option<SocketAddr>,
    /// the SQLite file (created with its folders on first start), or a postgres:// URL for
    /// PostgreSQL
    #[arg(long, env = "LISTO_DATABASE", default_value = "./listo.db", value_parser = crate::store::Location::parse)]
    database: crate::store::Location,
    /// PostgreSQL connections this process may hold open at once (unused on SQLite)
    #[arg(long, env = "LISTO_DATABASE_POOL", default_value = "16", value_parser = pool)]
    database_pool: usize,
    /// seconds a session lives after it is issued (absolute, not sliding)
    #[arg(long, env = "LISTO_SESSION_TTL", default_value = "30", value_parser = seconds)]
    session_ttl: Duration,
    /// seconds an emailed code lives
    #[arg(long, env = "LISTO_OTP_TTL", default_value = "300", value_parser = seconds)]
    otp_ttl: Duration,
    /// smtps://user:pass@host:465, smtp://user:pass@host:587?tls=required, or
    /// smtp://127.0.0.1:25; unset: emails go to LISTO_OUTBOX
    #[arg(long, env = "LISTO_SMTP_URL", value_parser = smtp_url)]
    smtp_url: Option<SecretString>,
    /// folder for .eml files when LISTO_SMTP_URL is unset
    #[arg(long, env = "LISTO_OUTBOX", default_value = "./outbox")]
    outbox: PathBuf,
    /// sender of every email
    #[arg(long, env = "LISTO_MAIL_FROM", default_value = "listo <no-reply@localhost>", value_parser = |raw: &str| raw.trim().parse::<lettre::message::Mailbox>()
        .map_err(|e| format!("expected a sender like `listo <no-reply@example.com>`: {e}")))]
    mail_from: lettre::message::Mailbox,
    /// key (at least 32 characters) for hashing tokens and codes [default: generated once, kept in
    /// the database]
    #[arg(long, env = "LISTO_SECRET", value_parser = |raw: &str| match raw.len() {
        ..32 => Err("must be at least 32 characters (e.g. `openssl rand -hex 32`)"),
        _ => Ok(SecretString::from(raw)),
    })]
    secret: Option<SecretString>,
    #[command(flatten)]
    limits: SignInLimits,
    /// proxy hops in front of listo whose X-Forwarded-For entries to believe: the client address
    /// is that many entries from the end of all X-Forwarded-For lines; true = 1 (one PaaS proxy),
    /// false = 0 (the socket peer)
    #[arg(long, env = "LISTO_TRUST_PROXY", default_value = "false", value_parser = hops)]
    trust_proxy: u8,
    #[command(flatten)]
    quotas: Quotas,
    /// comma-separated browser origins (https://app.example.com) allowed to call /v1; unset: no
    /// CORS headers
    #[arg(long, env = "LISTO_CORS_ORIGINS", value_parser = cors_origins)]
    cors_origins: Option<std::vec::Vec<String>>,
    #[command(flatten)]
    connections: ConnectionLimits,
    /// text, or json for one JSON object per line
    #[arg(long, env = "LISTO_LOG_FORMAT", default_value = "text", action = ArgAction::Set, value_parser = |raw: &str| match raw.trim() {
        "text" => Ok(false),
        "json" => Ok(true),
        other => Err(format!("expected \"text\" or \"json\", got {other:?}")),
    })]
    log_json: bool,
    /// log filter
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log_filter: String,
}

/// Everything listo needs to start; built once, then shared read-only. `Debug` shows no secret.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen; port 0 picks a free one (tests).
    pub addr: SocketAddr,
    /// The SQLite file or the PostgreSQL database.
    pub database: crate::store::Location,
    /// PostgreSQL connections per process.
    pub database_pool: usize,
    /// A session's absolute life.
    pub session_ttl: Duration,
    /// An emailed code's life.
    pub otp_ttl: Duration,
    /// How email leaves the server.
    pub mail: MailConfig,
    /// The `From` header of every email.
    pub mail_from: lettre::message::Mailbox,
    /// Key material for hashing tokens and codes; `None` means generate once and keep in the database.
    pub secret: Option<SecretString>,
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
    /// The log filter (`RUST_LOG` syntax).
    pub log_filter: String,
}

/// Failure budgets for sign-in; each 0 = off.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct SignInLimits {
    /// failed sign-ins per minute for one email from one client address; 0 = off
    #[arg(long, env = "LISTO_LOGIN_LIMIT_PER_EMAIL", default_value = "5", value_parser = per_minute)]
    pub per_email_addr: u32,
    /// failed sign-ins per minute from one client address; 0 = off
    #[arg(long, env = "LISTO_LOGIN_LIMIT_PER_ADDR", default_value = "30", value_parser = per_minute)]
    pub per_addr: u32,
    /// failed sign-ins per hour for one email from all addresses together; an address that has
    /// not failed is never stopped by it; 0 = off
    #[arg(long, env = "LISTO_LOGIN_LIMIT_PER_EMAIL_HOURLY", default_value = "100", value_parser = per_hour)]
    pub per_email_hourly: u32,
    /// wrong codes per account per rolling hour; past it, login answers 429; 0 = off
    #[arg(long, env = "LISTO_CODE_LIMIT_PER_HOUR", default_value = "10", value_parser = per_hour)]
    pub codes_per_hour: u32,
    /// password reset requests per hour for one email, from all addresses together (each sends an
    /// email); 0 = off
    #[arg(long, env = "LISTO_RESET_LIMIT_PER_HOUR", default_value = "5", value_parser = per_hour)]
    pub resets_per_hour: u32,
}

/// What one user may hold at once; `None` = no limit.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Quotas {
    /// live sign-ins per user; a new one past it ends that user's oldest; 0 = off
    #[arg(long, env = "LISTO_SESSIONS_PER_USER", default_value = "50", value_parser = quota::<u32>)]
    pub sessions: std::option::Option<u32>,
    /// open event streams per user in each process; a new one past it ends that user's oldest
    /// with event: stream_replaced; 0 = off
    #[arg(long, env = "LISTO_STREAMS_PER_USER", default_value = "8", value_parser = quota::<u32>)]
    pub streams: std::option::Option<u32>,
    /// tasks one user may hold; a create past it answers 409 quota_exceeded; 0 = off
    #[arg(long, env = "LISTO_TASKS_PER_USER", default_value = "100000", value_parser = quota::<u64>)]
    pub tasks: std::option::Option<u64>,
    /// bytes of kept Idempotency-Key answers (stored compressed, kept 24 h) per user; past it a
    /// keyed request answers 429 quota_exceeded; 0 = off
    #[arg(long, env = "LISTO_IDEMPOTENCY_BYTES_PER_USER", default_value = "67108864", value_parser = quota::<u64>)]
    pub idempotency_bytes: std::option::Option<u64>,
}

/// How long a connection may take and how many are served at once; `None` = off.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct ConnectionLimits {
    /// seconds a request's headers may take to arrive; 0 = off
    #[arg(long, env = "LISTO_HEADER_TIMEOUT", default_value = "10", value_parser = seconds_or_off)]
    pub header_timeout: std::option::Option<Duration>,
    /// seconds an idle keep-alive connection stays open; 0 = off
    #[arg(long, env = "LISTO_IDLE_TIMEOUT", default_value = "60", value_parser = seconds_or_off)]
    pub idle_timeout: std::option::Option<Duration>,
    /// open connections served at once; more wait to be accepted; 0 = no cap [default: the
    /// open-file limit less 128]
    #[arg(long, env = "LISTO_MAX_CONNECTIONS", value_parser = |raw: &str| whole::<usize>(raw, "a whole number of connections (0 turns the cap off)"))]
    pub max_connections: Option<usize>,
}

/// Where emails go.
#[derive(Clone)]
pub enum MailConfig {
    /// An SMTP server, as a lettre URL (`smtp://`, `smtps://`, credentials inside).
    Smtp(SecretString),
    /// `.eml` files in a folder, for running without a mail server.
    Outbox(PathBuf),
}

/// A setting that cannot be used; `Display` gives the one line start-up prints.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: String,
    /// What is wrong with it and what would be accepted.
    pub message: String,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl MailConfig {
    /// A log-safe description: the SMTP host without credentials, or the outbox folder.
    pub fn describe(&self) -> String {
        match self {
            MailConfig::Smtp(raw) => {
                let url = url::Url::parse(raw.expose_secret()).ok();
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

/// One variable as `listo --help` lists it.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The variable.
    pub name: String,
    /// Its value when unset.
    pub default: String,
    /// What it sets.
    pub meaning: String,
}

/// Every variable listo reads, from [`Settings`].
pub fn settings() -> Vec<Setting> {
    let command = Settings::command();
    let rows = command.get_arguments().filter_map(|arg| {
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        let (meaning, default) = match (arg.get_default_values(), help.rsplit_once(" [default: ")) {
            ([value], _) => (help.clone(), value.to_string_lossy().into_owned()),
            ([], Some((meaning, default))) => {
                (meaning.into(), default.trim_end_matches(']').into())
            }
            _ => (help.clone(), "unset".into()),
        };
        let name = arg.get_env()?.to_string_lossy().into_owned();
        Some(Setting {
            name,
            default,
            meaning,
        })
    });
    rows.collect()
}

/// The variables as a table for `listo --help`.
pub fn help() -> String {
    let settings = settings();
    let width = settings.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut text = String::from("Environment (all optional):\n");
    for s in settings {
        let (name, meaning, default) = (s.name, s.meaning, s.default);
        text.push_str(&format!(
            "  {name:width$}  {meaning} [default: {default}]\n"
        ));
    }
    text
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (blank values count as unset) and lets clap apply
    /// [`Settings`]: their defaults and parsers.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut args = vec!["listo".to_owned()];
        // Each variable goes in as its flag; clap reading the process environment itself would
        // take blank values as set, and would read it when `lookup` is not the environment.
        let mut command = Settings::command().mut_args(|arg| {
            let name = arg.get_env().and_then(|name| name.to_str());
            let value = name.and_then(&lookup).filter(|v| !v.trim().is_empty());
            if let (Some(value), Some(flag)) = (value, arg.get_long()) {
                args.push(format!("--{flag}={value}"));
            }
            arg.env(None::<&str>)
        });
        let refusal = |error: clap::Error| {
            let flag = match error.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(flag)) => flag.trim_start_matches('-').to_owned(),
                _ => String::new(),
            };
            let flag = flag.split([' ', '=']).next().unwrap_or_default();
            let var = Settings::command()
                .get_arguments()
                .find(|arg| arg.get_long() == Some(flag))
                .and_then(|arg| arg.get_env().map(|env| env.to_string_lossy().into_owned()));
            let message = std::error::Error::source(&error).map(ToString::to_string);
            ConfigError {
                var: var.unwrap_or_else(|| "environment".into()),
                message: message.unwrap_or_else(|| error.kind().to_string()),
            }
        };
        let matches = command.try_get_matches_from_mut(args).map_err(refusal)?;
        let s = Settings::from_arg_matches(&matches).map_err(refusal)?;
        Ok(Self {
            addr: s.addr.unwrap_or(SocketAddr::from(([0, 0, 0, 0], s.port))),
            database: s.database,
            database_pool: s.database_pool,
            session_ttl: s.session_ttl,
            otp_ttl: s.otp_ttl,
            mail: s
                .smtp_url
                .map_or(MailConfig::Outbox(s.outbox), MailConfig::Smtp),
            mail_from: s.mail_from,
            secret: s.secret,
            limits: s.limits,
            connections: s.connections,
            trust_proxy: s.trust_proxy,
            quotas: s.quotas,
            cors_origins: s.cors_origins.unwrap_or_default(),
            log_json: s.log_json,
            log_filter: s.log_filter,
        })
    }
}

/// An SMTP URL lettre accepts, and one that never sends a password in the clear: credentials on
/// `smtp://` need `?tls=required` (STARTTLS) unless the server is on this machine.
fn smtp_url(raw: &str) -> Result<SecretString, String> {
    let raw = raw.trim();
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "smtp" | "smtps") {
        return Err("expected a URL starting with smtp:// or smtps://".into());
    }
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(raw)
        .map_err(|e| format!("not a usable SMTP URL: {e}"))?;
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
        return Err(
            "would send the SMTP password unencrypted: use smtps://… or add ?tls=required".into(),
        );
    }
    Ok(raw.into())
}

/// Comma-separated origins, each exactly `scheme://host[:port]` as browsers send it.
fn cors_origins(raw: &str) -> Result<Vec<String>, String> {
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

fn whole<T: std::str::FromStr>(raw: &str, expected: &str) -> Result<T, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("expected {expected}, got {raw:?}"))
}

fn per_minute(raw: &str) -> Result<u32, String> {
    whole(
        raw,
        "a whole number of failures per minute (0 turns the limit off)",
    )
}

fn per_hour(raw: &str) -> Result<u32, String> {
    whole(raw, "a whole number per hour (0 turns the limit off)")
}

fn pool(raw: &str) -> Result<usize, String> {
    let expected = "a number of connections from 1 to 1000";
    match whole(raw, expected)? {
        n @ 1..=1000 => Ok(n),
        n => Err(format!("expected {expected}, got {n}")),
    }
}

/// `LISTO_TRUST_PROXY`: a number of hops, `true` (1) or `false` (0).
fn hops(raw: &str) -> Result<u8, String> {
    match raw.trim() {
        "false" => Ok(0),
        "true" => Ok(1),
        other => other.parse::<u8>().ok().filter(|n| *n <= 16).ok_or(format!(
            "expected the number of proxies in front of listo (0 to 16), true (1) or false (0), got {other:?}"
        )),
    }
}

/// A per-user quota: a whole number, 0 for no limit.
fn quota<T: std::str::FromStr + PartialEq + From<u8>>(raw: &str) -> Result<Option<T>, String> {
    let n = whole(raw, "a whole number (0 turns the quota off)")?;
    Ok((n != T::from(0)).then_some(n))
}

/// Whole seconds, 1 up to a year.
fn seconds(raw: &str) -> Result<Duration, String> {
    match raw.trim().parse::<u64>() {
        Ok(s @ 1..=31_536_000) => Ok(Duration::from_secs(s)),
        _ => Err(format!(
            "expected a whole number of seconds between 1 and 31536000, got {raw:?}"
        )),
    }
}

/// Like [`seconds`], with 0 meaning off.
fn seconds_or_off(raw: &str) -> Result<Option<Duration>, String> {
    match raw.trim() {
        "0" => Ok(None),
        _ => seconds(raw).map(Some),
    }
}
