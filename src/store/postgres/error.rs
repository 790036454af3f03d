//! How PostgreSQL's failures reach the engine-neutral [`StoreError`]: which pass (503
//! `unavailable`) and which are bugs (500 `internal`), in the server's own words.

use crate::store::{Class, StoreError};

/// The pool could not be set up or give a connection, for a reason that does not pass (a bad
/// URL, TLS set-up, a closed pool).
pub(super) fn pool_error(why: impl std::fmt::Display) -> StoreError {
    StoreError::new(Class::Internal, format!("postgres pool: {why}"))
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        let class = if transient(&e) {
            Class::Transient
        } else {
            Class::Internal
        };
        StoreError::new(class, format!("postgres: {}", postgres_cause(&e)))
    }
}

/// The server's own words for a refused statement (its `Display` says only "db error"). The
/// message names tables and constraints, never row values (those are in `detail`, left out).
/// Any other failure with its causes: "error connecting to server" alone does not say that the
/// connection was refused.
fn postgres_cause(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    causes(e)
}

/// SQLSTATE classes and codes that pass: 08 connection exception, 53 insufficient resources
/// (disk full, out of memory, too many connections), 57P01-57P03 shutting down or starting,
/// 40001 / 40P01 serialization failure and deadlock, 55P03 lock not available, 58030 I/O,
/// 57014 statement cancelled (a timeout).
fn transient(e: &tokio_postgres::Error) -> bool {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            code.starts_with("08")
                || code.starts_with("53")
                || matches!(
                    code,
                    "57P01" | "57P02" | "57P03" | "40001" | "40P01" | "55P03" | "58030" | "57014"
                )
        }
        // No answer from the server: the connection closed, could not be made, or timed out
        // ("timeout waiting for server" is tokio-postgres's connect timeout).
        None => {
            e.is_closed()
                || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
                || e.to_string().contains("timed out")
                || e.to_string().starts_with("timeout")
        }
    }
}

/// An error with its causes ("error connecting to server: Connection refused"): the pool's
/// own message alone does not say what went wrong.
pub(super) fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
