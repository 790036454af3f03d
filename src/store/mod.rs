//! SQLite storage: the pool, pragmas, migrations and the only SQL in listo.
//!
//! Callers hand a closure to [`Store::read`] or [`Store::write`]; it runs on the blocking pool
//! inside one transaction and composes the per-table functions of the submodules.

pub mod challenges;
pub mod sessions;
pub mod settings;
pub mod tasks;
pub mod users;
mod writer;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use rusqlite_migration::{M, Migrations};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use rusqlite::Transaction as Tx;

/// Migrations are compiled into the binary; `PRAGMA user_version` records how far a file has come.
const MIGRATION_STEPS: &[M<'static>] = &[M::up(include_str!("../../migrations/0001_init.sql"))];
const MIGRATIONS: Migrations<'static> = Migrations::from_slice(MIGRATION_STEPS);

/// Readers run side by side under WAL; SQLite serialises writers itself.
const POOL_SIZE: u32 = 8;

/// A failure below the service layer; never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed a statement.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// No connection could be had from the pool in time.
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// The schema could not be brought up to date.
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
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
    /// A queued write could not be committed (the whole batch failed, or the writer stopped).
    #[error("write batch: {0}")]
    Batch(String),
    /// The blocking task running the transaction panicked or was cancelled.
    #[error("blocking task: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The database: a pool of connections to one SQLite file.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<SqliteConnectionManager>,
    writer: writer::Writer,
    path: PathBuf,
}

impl Store {
    /// Opens (creating file and folders if needed) and migrates the database.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(configure);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)?;
        MIGRATIONS.to_latest(&mut *pool.get()?)?;
        let mut write_conn = Connection::open(path)?;
        configure(&mut write_conn)?;
        Ok(Self {
            pool,
            writer: writer::Writer::start(write_conn)?,
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in a read transaction, so every query inside sees one snapshot.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.run(TransactionBehavior::Deferred, f).await
    }

    /// Runs `f` on the writer thread inside a `BEGIN IMMEDIATE` transaction shared with the
    /// other writes waiting at that moment (group commit). `f`'s changes are kept only if it
    /// succeeds, and the call returns only once they are committed to disk.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.writer.write(f).await
    }

    async fn run<T, E, F>(&self, behavior: TransactionBehavior, f: F) -> Result<T, E>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(StoreError::from)?;
            let tx = conn
                .transaction_with_behavior(behavior)
                .map_err(StoreError::from)?;
            let value = f(&tx)?;
            tx.commit().map_err(StoreError::from)?;
            Ok(value)
        })
        .await
        .map_err(StoreError::from)?
    }

    /// Whether the database answers a query (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|tx| {
            tx.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }
}

/// Pragmas every connection needs; WAL lets readers proceed while one writer commits.
fn configure(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(Duration::from_millis(5000))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )
}

/// Milliseconds since the Unix epoch: how every instant is stored.
pub fn to_millis(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

/// The inverse of [`to_millis`].
pub fn from_millis(ms: i64) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    chrono::DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

impl Store {
    /// Folds the WAL back into the database file (at shutdown, so the file alone is complete).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get()?;
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await?
    }
}

/// Copies the live database at `source` into a new file at `dest` through SQLite's online
/// backup API: consistent even while a server writes to `source`. The copy appears under its
/// final name only once complete.
pub fn backup(source: &Path, dest: &Path) -> Result<(), StoreError> {
    if !source.exists() {
        return Err(StoreError::Io {
            path: source.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no database file here"),
        });
    }
    let io = |source| StoreError::Io {
        path: dest.to_owned(),
        source,
    };
    if dest.exists() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "refusing to overwrite an existing file",
        )));
    }
    let partial = dest.with_extension("partial");
    let conn = Connection::open_with_flags(source, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(Duration::from_millis(5000))?;
    conn.backup(rusqlite::MAIN_DB, &partial, None)?;
    std::fs::rename(&partial, dest).map_err(io)?;
    Ok(())
}
