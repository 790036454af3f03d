//! Storage: the one interface the service layer talks to, and one implementation per engine.
//!
//! The service hands a closure to [`Store::read`] or [`Store::write`]; the closure receives one
//! transaction as `&mut dyn Tx` and composes its operations ([`Tx`] and the traits it gathers:
//! the only SQL in listo lives behind them). The service never learns which engine it has:
//! - [`sqlite`]: the embedded default, one file, reader threads and a group-commit writer;
//! - [`postgres`]: for several listo processes on one database server.

mod answers;
pub mod copy;
mod filter_sql;
mod health;
mod location;
pub mod postgres;
mod rows;
mod signals;
pub mod sqlite;
mod tx;

pub use health::{FAILURE_HOLD, Verdict, WriteHealth};
pub use location::{Location, PostgresUrl};
pub use rows::{
    Challenge, IdempotencyRecord, LiveSession, Purpose, Revoked, SessionRow, Side, StoredResponse,
    User, from_millis, to_millis,
};
pub use signals::{Pulse, Signal, Signals, Subscription};
pub use tx::{
    Challenges, Changes, Failures, Horizon, Idempotency, NewTask, Sessions, Settings, TaskRows, Tx,
    Users,
};
pub use tx::{MailQueue, QueuedMail};

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

/// What a closure given to [`Store::read`] or [`Store::write`] returns: its work on the
/// transaction, as a future that borrows it.
pub type Work<'t, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>;

/// A failure below the service layer; never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed a statement.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL refused or failed a statement, or the connection failed.
    #[error("postgres: {}", postgres_cause(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool.
    #[error("postgres pool: {0}")]
    Pool(String),
    /// The schema could not be brought up to date.
    #[error("migration: {0}")]
    Migration(String),
    /// A stored value is not one listo writes.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database file's folder could not be created.
    #[error("creating {path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A reader or the writer thread could not run or finish the work (a batch failed as a
    /// whole, a job panicked, or the thread stopped).
    #[error("storage thread: {0}")]
    Worker(String),
    /// Another listo process holds the database file.
    #[error(
        "another listo process is serving this database; one process per SQLite file (several processes need PostgreSQL)"
    )]
    InUse,
    /// A failure that passes (a full disk, an I/O error, a database busy past its timeout or
    /// unreachable), whose original error could not travel (a group commit answers many jobs).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The commit was sent but its answer was lost (the connection dropped): the change may
    /// or may not be stored.
    #[error("commit outcome unknown: {0}")]
    CommitUnknown(String),
    /// Opening the database on the blocking pool panicked or was cancelled.
    #[error("opening task: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The server's own words for a refused statement (its `Display` says only "db error"). The
/// message names tables and constraints, never row values (those are in `detail`, left out).
/// Any other failure with its causes: "error connecting to server" alone does not say that the
/// connection was refused.
fn postgres_cause(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl StoreError {
    /// Whether this failure passes by itself (503 `unavailable`, retry later) rather than being
    /// a bug (500): a full disk, an I/O error, a database busy or locked past its timeout, a
    /// PostgreSQL server unreachable, restarting or shutting down, a serialization failure.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => sqlite_transient(e),
            StoreError::Postgres(e) => postgres_transient(e),
            StoreError::Unavailable(_) | StoreError::CommitUnknown(_) => true,
            StoreError::Pool(_)
            | StoreError::Migration(_)
            | StoreError::Corrupt(_)
            | StoreError::Io { .. }
            | StoreError::Worker(_)
            | StoreError::InUse
            | StoreError::Join(_) => false,
        }
    }

    /// Whether a write that failed this way may still have been stored.
    pub fn maybe_committed(&self) -> bool {
        matches!(self, StoreError::CommitUnknown(_))
    }

    /// This failure as text that keeps its class, for answering several callers at once.
    pub fn shared(&self) -> StoreError {
        if self.is_transient() {
            StoreError::Unavailable(self.to_string())
        } else {
            StoreError::Worker(self.to_string())
        }
    }
}

fn sqlite_transient(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    e.sqlite_error_code().is_some_and(|code| {
        matches!(
            code,
            DiskFull
                | SystemIoFailure
                | DatabaseBusy
                | DatabaseLocked
                | OutOfMemory
                | CannotOpen
                | FileLockingProtocolFailed
        )
    })
}

/// SQLSTATE classes and codes that pass: 08 connection exception, 53 insufficient resources
/// (disk full, out of memory, too many connections), 57P01-57P03 shutting down or starting,
/// 40001 / 40P01 serialization failure and deadlock, 55P03 lock not available, 58030 I/O.
fn postgres_transient(e: &tokio_postgres::Error) -> bool {
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

impl From<rusqlite_migration::Error> for StoreError {
    fn from(e: rusqlite_migration::Error) -> Self {
        StoreError::Migration(e.to_string())
    }
}

/// The database, whichever engine holds it. Cheap to clone: every clone shares the engine.
#[derive(Clone)]
pub struct Store {
    engine: Engine,
}

#[derive(Clone)]
enum Engine {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl Store {
    /// Opens (creating and migrating as needed) the database at `location`.
    pub async fn open(location: &Location, pool_size: usize) -> Result<Self, StoreError> {
        let engine = match location {
            Location::Sqlite(path) => {
                let path = path.clone();
                let store =
                    tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&path)).await??;
                Engine::Sqlite(store)
            }
            Location::Postgres(url) => {
                Engine::Postgres(postgres::PgStore::open(url.expose(), pool_size).await?)
            }
        };
        Ok(Self { engine })
    }

    /// Runs `work` in a read-only transaction: every query inside sees one snapshot.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut dyn Tx) -> Work<'t, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &self.engine {
            Engine::Sqlite(s) => s.read(work).await,
            Engine::Postgres(p) => p.read(work).await,
        }
    }

    /// Runs `work`, which makes exactly one statement, as one read: a statement sees one
    /// snapshot by itself, so PostgreSQL needs no transaction around it (one round trip, not
    /// three). A second statement fails. On SQLite the same as [`Store::read`].
    pub async fn read_single<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut dyn Tx) -> Work<'t, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &self.engine {
            Engine::Sqlite(s) => s.read(work).await,
            Engine::Postgres(p) => p.read_single(work).await,
        }
    }

    /// Runs `work` in a write transaction. Its changes are kept only if it returns `Ok`, and the
    /// call returns only once they are committed durably.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut dyn Tx) -> Work<'t, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &self.engine {
            Engine::Sqlite(s) => s.write(work).await,
            Engine::Postgres(p) => p.write(work).await,
        }
    }

    /// Where committed writes announce themselves (on PostgreSQL, the writes of every process).
    pub fn signals(&self) -> &Signals {
        match &self.engine {
            Engine::Sqlite(s) => s.signals(),
            Engine::Postgres(p) => p.signals(),
        }
    }

    /// Whether this process is the only one that can write the database. Only then may the
    /// service keep what it wrote in memory (sessions) and trust it over a fresh read.
    pub fn exclusive(&self) -> bool {
        matches!(self.engine, Engine::Sqlite(_))
    }

    /// Whether writes reach the disk now (for `/readyz`). A write that failed transiently in
    /// the last few seconds, with nothing committed since, answers no without probing (a probe
    /// small enough to fit can succeed where real writes fail); a commit in the last moment
    /// answers yes without writing. Otherwise a read and a real, durable write decide: a write
    /// through the same path as every request's, so once writes succeed again so does this.
    pub async fn ready(&self) -> Result<(), StoreError> {
        match self.write_health().verdict(std::time::Instant::now()) {
            Verdict::Failing(ago) => {
                return Err(StoreError::Unavailable(format!(
                    "a write failed {} ms ago and none has committed since",
                    ago.as_millis()
                )));
            }
            Verdict::Committing => return Ok(()),
            Verdict::Unknown => {}
        }
        self.read(|tx| Box::pin(async move { tx.user_by_id(0).await.map(|_| ()) }))
            .await?;
        let now_ms = to_millis(chrono::Utc::now());
        self.write(move |tx| Box::pin(async move { tx.touch_probe(now_ms).await }))
            .await
    }

    /// The outcomes of this process's latest commits.
    fn write_health(&self) -> &WriteHealth {
        match &self.engine {
            Engine::Sqlite(s) => s.write_health(),
            Engine::Postgres(p) => p.write_health(),
        }
    }

    /// Leaves the database tidy at shutdown (SQLite folds its WAL into the file).
    pub async fn close(&self) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Sqlite(s) => s.checkpoint().await,
            Engine::Postgres(_) => Ok(()),
        }
    }
}
