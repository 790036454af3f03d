//! Typed configuration from environment variables, each declared once: a field of [`Config`] or
//! of a group it flattens, whose `env` names the variable and whose doc comment, default and
//! parser are its `--help` line, its value when unset and what it accepts.

use clap::error::ContextKind;
use clap::{ArgAction, Args, FromArgMatches};
use secrecy::{ExposeSecret, SecretString};
use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Everything listo needs to start; read once ([`Config::from_env`]), then shared read-only.
/// `Debug` shows no secret. A default that is no value (`0.0.0.0:$PORT`) ends the doc comment as
/// `[default: …]`; an optional setting with neither reads "unset" in `--help`.
#[derive(Clone, Debug, Args)]
pub struct Config {
    /// port to listen on when LISTO_ADDR is unset (PaaS platforms set it)
    #[arg(long, env = "PORT", default_value = "8080", value_parser = whole::<u16>("a port number 0..=65535"))]
    port: u16,
    /// address to listen on [default: 0.0.0.0:$PORT]
    #[arg(long, env = "LISTO_ADDR", value_parser = |raw: &str| raw.trim().parse::<SocketAddr>()
        .map_err(|_| format!("expected an address like 0.0.0.0:8080, got {raw:?}")))]
    listen: Option<SocketAddr>,
    /// Where to listen: LISTO_ADDR, else PORT on every interface; port 0 picks a free one (tests).
    #[arg(skip = SocketAddr::from(([0; 4], 0)))]
    pub addr: SocketAddr,
    /// the SQLite file (created with its folders on first start), or a postgres:// URL for
    /// PostgreSQL
    #[arg(long, env = "LISTO_DATABASE", default_value = "./listo.db", value_parser = crate::store::Location::parse)]
    pub database: crate::store::Location,
    /// PostgreSQL connections this process may hold open at once (unused on SQLite)
    #[arg(long, env = "LISTO_DATABASE_POOL", default_value = "16", value_parser = pool)]
    pub database_pool: usize,
    /// seconds a session lives after it is issued (absolute, not sliding)
    #[arg(long, env = "LISTO_SESSION_TTL", default_value = "30", value_parser = seconds)]
    pub session_ttl: Duration,
    /// seconds an emailed code lives
    #[arg(long, env = "LISTO_OTP_TTL", default_value = "300", value_parser = seconds)]
    pub otp_ttl: Duration,
    /// smtps://user:pass@host:465, smtp://user:pass@host:587?tls=required, or
    /// smtp://127.0.0.1:25; unset: emails go to LISTO_OUTBOX
    #[arg(long, env = "LISTO_SMTP_URL", value_parser = smtp_url)]
    smtp_url: Option<SecretString>,
    /// folder for .eml files when LISTO_SMTP_URL is unset
    #[arg(long, env = "LISTO_OUTBOX", default_value = "./outbox")]
    outbox: PathBuf,
    /// How email leaves the server: LISTO_SMTP_URL, else LISTO_OUTBOX.
    #[arg(skip = MailConfig::Outbox(PathBuf::new()))]
    pub mail: MailConfig,
    /// sender of every email
    #[arg(long, env = "LISTO_MAIL_FROM", default_value = "listo <no-reply@localhost>", value_parser = |raw: &str| raw.trim().parse::<lettre::message::Mailbox>()
        .map_err(|e| format!("expected a sender like `listo <no-reply@example.com>`: {e}")))]
    pub mail_from: lettre::message::Mailbox,
    /// key (at least 32 characters) for hashing tokens and codes [default: generated once, kept in
    /// the database]
    #[arg(long, env = "LISTO_SECRET", value_parser = |raw: &str| match raw.len() {
        ..32 => Err("must be at least 32 characters (e.g. `openssl rand -hex 32`)"),
        _ => Ok(SecretString::from(raw)),
    })]
    pub secret: Option<SecretString>,
    #[command(flatten)]
    pub limits: SignInLimits,
    /// proxy hops in front of listo whose X-Forwarded-For entries to believe: the client address
    /// is that many entries from the end of all X-Forwarded-For lines; true = 1 (one PaaS proxy),
    /// false = 0 (the socket peer)
    #[arg(long, env = "LISTO_TRUST_PROXY", default_value = "false", value_parser = hops)]
    pub trust_proxy: u8,
    #[command(flatten)]
    pub quotas: Quotas,
    /// comma-separated browser origins (https://app.example.com) allowed to call /v1; unset: no
    /// CORS headers
    #[arg(long, env = "LISTO_CORS_ORIGINS", default_value = "", hide_default_value = true, value_parser = cors_origins)]
    pub cors_origins: std::vec::Vec<String>,
    #[command(flatten)]
    pub connections: ConnectionLimits,
    /// text, or json for one JSON object per line
    #[arg(long = "log-format", env = "LISTO_LOG_FORMAT", default_value = "text", action = ArgAction::Set, value_parser = |raw: &str| match raw.trim() {
        "text" => Ok(false),
        "json" => Ok(true),
        other => Err(format!("expected \"text\" or \"json\", got {other:?}")),
    })]
    pub log_json: bool,
    /// log filter
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,
}

/// Failure budgets for sign-in; each 0 = off.
#[derive(Debug, Clone, Copy, Args)]
pub struct SignInLimits {
    /// failed sign-ins per minute for one email from one client address; 0 = off
    #[arg(long, env = "LISTO_LOGIN_LIMIT_PER_EMAIL", default_value = "5", value_parser = whole::<u32>(PER_MINUTE))]
    pub per_email_addr: u32,
    /// failed sign-ins per minute from one client address; 0 = off
    #[arg(long, env = "LISTO_LOGIN_LIMIT_PER_ADDR", default_value = "30", value_parser = whole::<u32>(PER_MINUTE))]
    pub per_addr: u32,
    /// failed sign-ins per hour for one email from all addresses together; an address that has
    /// not failed is never stopped by it; 0 = off
    #[arg(long, env = "LISTO_LOGIN_LIMIT_PER_EMAIL_HOURLY", default_value = "100", value_parser = whole::<u32>(PER_HOUR))]
    pub per_email_hourly: u32,
    /// wrong codes per account per rolling hour; past it, login answers 429; 0 = off
    #[arg(long, env = "LISTO_CODE_LIMIT_PER_HOUR", default_value = "10", value_parser = whole::<u32>(PER_HOUR))]
    pub codes_per_hour: u32,
    /// password reset requests per hour for one email, from all addresses together (each sends an
    /// email); 0 = off
    #[arg(long, env = "LISTO_RESET_LIMIT_PER_HOUR", default_value = "5", value_parser = whole::<u32>(PER_HOUR))]
    pub resets_per_hour: u32,
}

/// What one user may hold at once; `None` = no limit.
#[derive(Debug, Clone, Copy, Args)]
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
#[derive(Debug, Clone, Copy, Args)]
pub struct ConnectionLimits {
    /// seconds a request's headers may take to arrive; 0 = off
    #[arg(long, env = "LISTO_HEADER_TIMEOUT", default_value = "10", value_parser = seconds_or_off)]
    pub header_timeout: std::option::Option<Duration>,
    /// seconds an idle keep-alive connection stays open; 0 = off
    #[arg(long, env = "LISTO_IDLE_TIMEOUT", default_value = "60", value_parser = seconds_or_off)]
    pub idle_timeout: std::option::Option<Duration>,
    /// open connections served at once; more wait to be accepted; 0 = no cap [default: the
    /// open-file limit less 128]
    #[arg(long, env = "LISTO_MAX_CONNECTIONS", value_parser = whole::<usize>(CONNECTIONS))]
    pub max_connections: Option<usize>,
}

/// Where emails go; `Debug` shows the SMTP host, never its credentials.
#[derive(Clone)]
pub enum MailConfig {
    /// An SMTP server, as a lettre URL (`smtp://`, `smtps://`, credentials inside).
    Smtp(SecretString),
    /// `.eml` files in a folder, for running without a mail server.
    Outbox(PathBuf),
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
                let port = url.as_ref().and_then(|u| u.port()).map(|p| format!(":{p}"));
                format!("smtp ({host}{})", port.unwrap_or_default())
            }
            MailConfig::Outbox(dir) => format!("outbox ({})", dir.display()),
        }
    }
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

/// The variables as a table for `listo --help`: each [`Config`] field's `env`, doc comment and
/// default.
pub fn help() -> String {
    let command = Config::augment_args(clap::Command::new("listo"));
    let rows = command.get_arguments().filter_map(|arg| {
        let help = arg.get_help()?.to_string();
        let row = match arg.get_default_values() {
            [value] if !arg.is_hide_default_value_set() => {
                format!("{help} [default: {}]", value.to_string_lossy())
            }
            _ if help.contains(" [default: ") => help,
            _ => format!("{help} [default: unset]"),
        };
        Some((arg.get_env()?.to_string_lossy(), row))
    });
    let rows: Vec<_> = rows.collect();
    let width = rows.iter().map(|(var, _)| var.len()).max().unwrap_or(0);
    let mut text = String::from("Environment (all optional):\n");
    for (var, row) in rows {
        text += &format!("  {var:width$}  {row}\n");
    }
    text
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup`; blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let (mut args, mut flags) = (vec!["listo".to_owned()], Vec::new());
        // Each variable set goes in as its flag: clap reading the environment itself would take
        // blank values as set, and could not read `lookup`.
        let mut command = Config::augment_args(clap::Command::new("listo")).mut_args(|arg| {
            let var = arg.get_env().and_then(|var| var.to_str());
            if let (Some(var), Some(flag)) = (var, arg.get_long()) {
                if let Some(value) = lookup(var).filter(|v| !v.trim().is_empty()) {
                    args.push(format!("--{flag}={value}"));
                }
                flags.push((format!("--{flag} "), var.to_owned()));
            }
            arg.env(None::<&str>)
        });
        // clap's refusal as one line: the variable, then what its parser said.
        let refusal = |error: clap::Error| {
            let arg = error.get(ContextKind::InvalidArg).map(ToString::to_string);
            let arg = arg.unwrap_or_default();
            let var = flags.iter().find(|(flag, _)| arg.starts_with(flag));
            let said = error.source().map(ToString::to_string);
            ConfigError {
                var: var.map_or("environment".into(), |(_, var)| var.clone()),
                message: said.unwrap_or_else(|| error.kind().to_string()),
            }
        };
        let matches = command.try_get_matches_from_mut(args).map_err(refusal)?;
        let mut config = Self::from_arg_matches(&matches).map_err(refusal)?;
        let every_interface = SocketAddr::from(([0; 4], config.port));
        config.addr = config.listen.unwrap_or(every_interface);
        let outbox = MailConfig::Outbox(config.outbox.clone());
        config.mail = config.smtp_url.take().map_or(outbox, MailConfig::Smtp);
        Ok(config)
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

/// A parser of whole numbers, refusing with "expected {what}, got …".
fn whole<T: FromStr>(what: &'static str) -> impl Fn(&str) -> Result<T, String> + Clone {
    move |raw| (raw.trim().parse()).map_err(|_| format!("expected {what}, got {raw:?}"))
}

const PER_MINUTE: &str = "a whole number of failures per minute (0 turns the limit off)";
const PER_HOUR: &str = "a whole number per hour (0 turns the limit off)";
const CONNECTIONS: &str = "a whole number of connections (0 turns the cap off)";

fn pool(raw: &str) -> Result<usize, String> {
    let expected = "a number of connections from 1 to 1000";
    match whole(expected)(raw)? {
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
fn quota<T: FromStr + PartialEq + From<u8>>(raw: &str) -> Result<Option<T>, String> {
    let n = whole("a whole number (0 turns the quota off)")(raw)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.iter().find(|v| v.0 == name).map(|v| v.1.to_owned()))
    }

    #[test]
    fn defaults_match_the_help_and_blank_values_are_unset() {
        let c = config(&[("LISTO_SESSION_TTL", " "), ("PORT", "")]).unwrap();
        assert_eq!(c.addr.to_string(), "0.0.0.0:8080");
        assert_eq!((c.session_ttl.as_secs(), c.otp_ttl.as_secs()), (30, 300));
        assert!(matches!(c.mail, MailConfig::Outbox(ref p) if p == &PathBuf::from("./outbox")));
        let (l, q, k) = (c.limits, c.quotas, c.connections);
        let limits = [
            l.per_email_addr,
            l.per_addr,
            l.per_email_hourly,
            l.codes_per_hour,
        ];
        assert_eq!((limits, l.resets_per_hour), ([5, 30, 100, 10], 5));
        assert_eq!((q.sessions, q.streams), (Some(50), Some(8)));
        assert_eq!(
            (q.tasks, q.idempotency_bytes),
            (Some(100_000), Some(64 << 20))
        );
        let timeouts = (k.header_timeout, k.idle_timeout, k.max_connections);
        assert_eq!(
            timeouts,
            (
                Some(Duration::from_secs(10)),
                Some(Duration::from_secs(60)),
                None
            )
        );
        assert!(c.cors_origins.is_empty() && c.secret.is_none() && !c.log_json);
        assert_eq!(
            (c.trust_proxy, c.database_pool, c.log_filter.as_str()),
            (0, 16, "info")
        );
    }

    #[test]
    fn values_are_read_as_documented() {
        for (raw, hops) in [("true", 1), ("false", 0), ("2", 2), ("0", 0)] {
            assert_eq!(
                config(&[("LISTO_TRUST_PROXY", raw)]).unwrap().trust_proxy,
                hops
            );
        }
        let c = config(&[
            ("PORT", "9000"),
            ("LISTO_TASKS_PER_USER", "0"),
            ("LISTO_HEADER_TIMEOUT", "0"),
            ("LISTO_MAX_CONNECTIONS", "0"),
            (
                "LISTO_CORS_ORIGINS",
                "https://app.example.com, http://127.0.0.1:5173/",
            ),
        ]);
        let c = c.unwrap();
        assert_eq!(c.addr.to_string(), "0.0.0.0:9000");
        let zeros = (
            c.quotas.tasks,
            c.connections.header_timeout,
            c.connections.max_connections,
        );
        assert_eq!(zeros, (None, None, Some(0)));
        assert_eq!(
            c.cors_origins,
            ["https://app.example.com", "http://127.0.0.1:5173"]
        );
        let c = config(&[("PORT", "9000"), ("LISTO_ADDR", "127.0.0.1:1")]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:1");
        for local in [
            "smtp://user:pass@127.0.0.1:2525",
            "smtp://user:pass@localhost:25",
        ] {
            assert!(config(&[("LISTO_SMTP_URL", local)]).is_ok(), "{local}");
        }
    }

    #[test]
    fn a_bad_value_is_refused_in_one_line_naming_its_variable() {
        let bad = "LISTO_SESSION_TTL=0.5|LISTO_OTP_TTL=-5|LISTO_DATABASE_POOL=0|PORT=eighty
            |LISTO_SMTP_URL=smtp://user:pass@smtp.example.com:587|LISTO_SECRET=short
            |LISTO_LOGIN_LIMIT_PER_EMAIL=many|LISTO_CODE_LIMIT_PER_HOUR=ten|LISTO_TRUST_PROXY=17
            |LISTO_SESSIONS_PER_USER=-2|LISTO_LOG_FORMAT=xml|LISTO_MAIL_FROM=not an address
            |LISTO_CORS_ORIGINS=https://app.example.com/path|LISTO_CORS_ORIGINS=app.example.com
            |LISTO_HEADER_TIMEOUT=soon|LISTO_MAX_CONNECTIONS=-3|LISTO_ADDR=nowhere";
        for (var, value) in bad.split('|').filter_map(|v| v.trim().split_once('=')) {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var, "{err}");
            assert!(
                err.message.starts_with("expected")
                    || var.contains("SMTP")
                    || var.contains("SECRET")
            );
        }
        let err = config(&[("LISTO_SESSION_TTL", "abc")])
            .unwrap_err()
            .to_string();
        let expected = r#"expected a whole number of seconds between 1 and 31536000, got "abc""#;
        assert_eq!(err, format!("LISTO_SESSION_TTL: {expected}"));
    }

    #[test]
    fn help_lists_every_variable_once_with_its_default() {
        let help = help();
        assert_eq!(
            help.lines().filter(|l| l.contains("[default: ")).count(),
            26
        );
        assert!(help.contains("[default: 0.0.0.0:$PORT]\n") && help.contains("[default: unset]\n"));
        assert!(help.contains("to believe: the client") && !help.contains("addr]"));
    }

    #[test]
    fn debug_shows_no_secret() {
        let smtp = (
            "LISTO_SMTP_URL",
            "smtps://user:hunter2@mail.example.com:587",
        );
        let c = config(&[smtp, ("LISTO_SECRET", "0123456789abcdef0123456789abcdef-k")]).unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("0123456789abcdef"),
            "{shown}"
        );
        assert!(shown.contains("mail.example.com:587"), "{shown}");
    }
}
