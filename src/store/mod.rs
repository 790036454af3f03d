//! SQLite storage: connections, pragmas, migrations and the only SQL in listo.
//!
//! Callers hand a closure to [`Store::read`] or [`Store::write`]; it runs on a reader thread or
//! the writer thread (never on the async workers) inside one transaction, composing the per-table
//! functions of the submodules.

pub mod challenges;
pub mod failures;
mod readers;
pub mod sessions;
pub mod settings;
pub mod tasks;
pub mod users;
mod writer;

use rusqlite::{Connection, Transaction};
use rusqlite_migration::{M, Migrations};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use rusqlite::Transaction as Tx;

/// Migrations are compiled into the binary; `PRAGMA user_version` records how far a file has come.
const MIGRATION_STEPS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/0001_init.sql")),
    M::up(include_str!("../../migrations/0002_ids_and_failures.sql")).foreign_key_check(),
];
const MIGRATIONS: Migrations<'static> = Migrations::from_slice(MIGRATION_STEPS);

/// Reader threads (each with its own connection); under WAL they read side by side while the
/// writer commits. More than the cores, so a read waiting on the disk does not stall the rest.
const READERS: usize = 4;

/// A failure below the service layer; never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed a statement.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
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
    /// A reader or the writer thread could not run or finish the work (a batch failed as a
    /// whole, a job panicked, or the thread stopped).
    #[error("storage thread: {0}")]
    Worker(String),
    /// Another listo process holds the database file.
    #[error(
        "another listo process is serving this database; one process per SQLite file (several processes need PostgreSQL)"
    )]
    InUse,
    /// Opening the database on the blocking pool panicked or was cancelled.
    #[error("opening task: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The database: reader threads and one writer thread over one SQLite file.
#[derive(Clone)]
pub struct Store {
    readers: readers::Readers,
    writer: writer::Writer,
    /// Held while the store lives: a second process on the same file would keep its own
    /// session cache and rate limits, and answer for tokens this one has revoked.
    _lock: std::sync::Arc<std::fs::File>,
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
        let lock = lock_file(path)?;
        let mut write_conn = open_connection(path)?;
        // Migrations that rebuild a table must not cascade its DROP into the tables that
        // reference it: foreign keys are off while they run, and checked after each.
        write_conn.pragma_update(None, "foreign_keys", false)?;
        MIGRATIONS.to_latest(&mut write_conn)?;
        write_conn.pragma_update(None, "foreign_keys", true)?;
        let read_conns = (0..READERS)
            .map(|_| open_connection(path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            readers: readers::Readers::start(read_conns)?,
            writer: writer::Writer::start(write_conn)?,
            _lock: std::sync::Arc::new(lock),
        })
    }

    /// Runs `f` on a reader thread in a read transaction, so every query inside sees one snapshot.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.readers.read(f).await
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

    /// Whether the database answers on a reader thread and on the writer thread (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|tx| {
            tx.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok::<_, StoreError>(())
        })
        .await?;
        self.write(|_| Ok::<_, StoreError>(())).await
    }
}

/// Takes an exclusive advisory lock (`flock`) on the database file, creating it if need be.
/// SQLite's own locks are `fcntl` locks, which this does not touch; the kernel drops it when the
/// process ends, however it ends.
fn lock_file(path: &Path) -> Result<std::fs::File, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

/// Opens a connection with the pragmas every connection needs; WAL lets readers proceed while
/// the writer commits, FULL sync makes an acknowledged commit survive power loss.
fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_millis(5000))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
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
        self.readers
            .with_connection(|conn| {
                // (busy, wal frames, frames checkpointed); busy = 1 when a reader (Litestream
                // keeps one) held the WAL past the busy timeout: not an error, the WAL stays.
                let busy: i64 =
                    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
                if busy != 0 {
                    tracing::warn!(
                        "WAL checkpoint at shutdown skipped: a reader holds the WAL (Litestream?)"
                    );
                }
                Ok(())
            })
            .await
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
