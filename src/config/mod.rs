//! Typed configuration from environment variables, each declared once: a field of [`Config`] or
//! of a group it flattens, whose `env` names the variable and whose doc comment, default and
//! parser are its `--help` line, its value when unset and what it accepts.

use clap::error::ContextKind;
use clap::{ArgAction, Args, FromArgMatches};
use secrecy::SecretString;
use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod parse;
pub use crate::mail::MailConfig;
use parse::*;

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
    #[arg(long, env = "LISTO_DATABASE_POOL", default_value = "16", value_parser = counted("a number of connections", 1000))]
    pub database_pool: usize,
    /// requests that may wait for the database (for each of SQLite's read and write queues; on
    /// PostgreSQL, for a pooled connection); past it a request answers 503 busy at once
    #[arg(long, env = "LISTO_DATABASE_QUEUE", default_value_t = crate::store::QUEUE_DEPTH, value_parser = counted("a number of waiting requests", 100_000))]
    pub database_queue: usize,
    /// seconds an access token lives after it is issued (absolute, not sliding; a refresh
    /// issues a new one)
    #[arg(long, env = "LISTO_SESSION_TTL", default_value = "30", value_parser = seconds)]
    pub session_ttl: Duration,
    /// seconds a refresh token lives, counted again from each refresh (POST /v1/auth/refresh
    /// trades it for a new access token); 0 = no refresh tokens (a sign-in is its one access token)
    #[arg(long, env = "LISTO_REFRESH_TTL", default_value = "1209600", value_parser = seconds_or_off)]
    pub refresh_ttl: std::option::Option<Duration>,
    /// seconds a sign-in may be kept alive by refreshing, counted from the verify (absolute)
    #[arg(long, env = "LISTO_SIGNIN_MAX_AGE", default_value = "7776000", value_parser = seconds)]
    pub signin_max_age: Duration,
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
    #[command(flatten)]
    pub replication: ReplicaSettings,
    /// The replica in force, checked against the database and the environment (`None`: no
    /// LISTO_REPLICA).
    #[arg(skip)]
    pub replica: Option<crate::replica::Replica>,
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
    /// tasks one user may hold, counted across the lists they own; a create past it answers
    /// 409 quota_exceeded; 0 = off
    #[arg(long, env = "LISTO_TASKS_PER_USER", default_value = "100000", value_parser = quota::<u64>)]
    pub tasks: std::option::Option<u64>,
    /// lists one user may own, the default list included; a create past it answers 409
    /// quota_exceeded; 0 = off
    #[arg(long, env = "LISTO_LISTS_PER_USER", default_value = "100", value_parser = quota::<u64>)]
    pub lists: std::option::Option<u64>,
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

/// Continuous replication of the SQLite file by Litestream, run as listo's child
/// (docs/DEPLOY.md, "Free tiers").
#[derive(Debug, Clone, Args)]
pub struct ReplicaSettings {
    /// where Litestream replicates the SQLite file, s3://BUCKET/PATH or file:///PATH; restored
    /// from it when the file is missing at start; unset: no replication
    #[arg(long = "replica", env = "LISTO_REPLICA")]
    pub url: Option<String>,
    /// an S3-compatible endpoint for an s3:// replica, addressed path-style (Cloudflare R2:
    /// https://ACCOUNT_ID.r2.cloudflarestorage.com) [default: AWS S3]
    #[arg(long = "replica-endpoint", env = "LISTO_REPLICA_ENDPOINT")]
    pub endpoint: Option<String>,
    /// the region of an s3:// replica (R2: auto) [default: us-east-1]
    #[arg(long = "replica-region", env = "LISTO_REPLICA_REGION")]
    pub region: Option<String>,
    /// seconds between Litestream's uploads to the replica: a crash (not a stop) can lose the
    /// writes of about this long plus a second
    #[arg(long = "replica-sync-interval", env = "LISTO_REPLICA_SYNC_INTERVAL", default_value = "1", value_parser = seconds)]
    pub sync_interval: Duration,
    /// seconds start-up waits for the replica's store (its lease, a restore) before exiting
    /// non-zero rather than serving an empty database
    #[arg(long = "replica-timeout", env = "LISTO_REPLICA_TIMEOUT", default_value = "30", value_parser = seconds)]
    pub timeout: Duration,
    /// the litestream binary to run (used as given, no search of PATH) [default: litestream on
    /// PATH]
    #[arg(long = "litestream", env = "LISTO_LITESTREAM")]
    pub litestream: Option<PathBuf>,
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
        config.replica = config.replica_in_force(&lookup)?;
        Ok(config)
    }
}

impl Config {
    /// `LISTO_REPLICA` with its companions, checked: a SQLite database, a known scheme, an
    /// endpoint or region only for s3://, credentials for s3://, a litestream binary there.
    fn replica_in_force(
        &self,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<crate::replica::Replica>, ConfigError> {
        let r = &self.replication;
        let refuse = |var: &str, message: &str| ConfigError {
            var: var.into(),
            message: message.into(),
        };
        let Some(url) = &r.url else {
            return match (&r.endpoint, &r.region) {
                (Some(_), _) => Err(refuse(
                    "LISTO_REPLICA_ENDPOINT",
                    "only an s3:// LISTO_REPLICA has an endpoint; set LISTO_REPLICA too, or unset this",
                )),
                (_, Some(_)) => Err(refuse(
                    "LISTO_REPLICA_REGION",
                    "only an s3:// LISTO_REPLICA has a region; set LISTO_REPLICA too, or unset this",
                )),
                _ => Ok(None),
            };
        };
        let crate::store::Location::Sqlite(database) = &self.database else {
            return Err(refuse(
                "LISTO_REPLICA",
                "replicates a SQLite file, and LISTO_DATABASE is PostgreSQL: use its own backups, and unset LISTO_REPLICA",
            ));
        };
        let replica = crate::replica::Replica::resolve(
            crate::replica::Wanted {
                url,
                endpoint: r.endpoint.as_deref(),
                region: r.region.as_deref(),
                litestream: r.litestream.as_deref(),
                database,
                sync_interval: r.sync_interval,
                timeout: r.timeout,
            },
            lookup,
        );
        replica.map(Some).map_err(|e| ConfigError {
            var: e.variable.into(),
            message: e.why,
        })
    }
}

#[cfg(test)]
mod tests;
