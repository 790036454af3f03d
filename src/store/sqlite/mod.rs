//! The SQLite engine: one file, reader threads and one group-commit writer thread.
//!
//! SQLite calls block, so none runs on the async workers: a closure's work runs on a reader
//! thread or the writer thread. There its future is polled once: every operation of
//! [`SqliteTx`] finishes synchronously, so the whole closure does too (see [`run_ready`]).

mod challenges;
mod changes;
mod copy;
mod failures;
mod idempotency;
mod lists;
mod mail_queue;
mod readers;
mod sessions;
mod settings;
mod tasks;
mod tickets;
mod users;
mod writer;

use super::{Class, SessionRow, Signal, Signals, StoreError, Tx, Work, WriteHealth};
use crate::domain::{SortKey, Task, TaskFilter};
use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};
use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Migrations are compiled into the binary; `PRAGMA user_version` records how far a file has come.
/// A migration file of `migrations/sqlite/`, compiled in.
macro_rules! sql {
    ($file:literal) => {
        include_str!(concat!("../../../migrations/sqlite/", $file))
    };
}

const MIGRATION_STEPS: &[M<'static>] = &[
    M::up(sql!("0001_init.sql")),
    M::up(sql!("0002_ids_and_failures.sql")).foreign_key_check(),
    M::up(sql!("0003_accounts.sql")).foreign_key_check(),
    M::up(sql!("0004_task_versions.sql")),
    M::up(sql!("0005_filters.sql")),
    M::up(sql!("0006_idempotency.sql")),
    M::up(sql!("0007_changes.sql")),
    M::up(sql!("0008_change_trigger_of_version.sql")),
    M::up(sql!("0009_mail_queue.sql")),
    M::up(sql!("0010_idempotency_compressed.sql")),
    M::up(sql!("0011_sign_ins.sql")),
    M::up(sql!("0012_event_tickets.sql")),
    M::up(sql!("0013_lists.sql")).foreign_key_check(),
];
const MIGRATIONS: Migrations<'static> = Migrations::from_slice(MIGRATION_STEPS);

/// Reader threads (each with its own connection); under WAL they read side by side while the
/// writer commits. More than the cores, so a read waiting on the disk does not stall the rest.
const READERS: usize = 4;

/// One transaction on a SQLite connection; the thread that owns the connection runs it.
pub struct SqliteTx<'c> {
    conn: &'c mut Connection,
    /// Signals to send once the transaction commits (writes only).
    announced: Vec<(i64, Signal)>,
}

impl SqliteTx<'_> {
    /// The connection, for statements.
    fn conn(&self) -> &Connection {
        self.conn
    }
}

/// Runs a closure's work to completion on this thread. Every [`SqliteTx`] operation is
/// synchronous, so the future is ready at its first poll; one that is not awaited something
/// other than the store, which cannot finish here.
fn run_ready<T, E: From<StoreError>>(work: Work<'_, T, E>) -> Result<T, E> {
    let mut work = pin!(work);
    match work.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(StoreError::worker(
            "a SQLite transaction awaited something other than the store",
        )
        .into()),
    }
}

/// Runs `work` on `conn`, which the caller has put inside a transaction; returns its outcome and
/// the signals it announced.
fn run_on<T, E, F>(conn: &mut Connection, work: F) -> (Result<T, E>, Vec<(i64, Signal)>)
where
    F: for<'t> FnOnce(&'t mut dyn Tx) -> Work<'t, T, E>,
    E: From<StoreError>,
{
    let mut tx = SqliteTx {
        conn,
        announced: Vec::new(),
    };
    let outcome = run_ready(work(&mut tx));
    (outcome, tx.announced)
}

/// The SQLite database: reader threads and one writer thread over one file.
#[derive(Clone)]
pub struct SqliteStore {
    readers: readers::Readers,
    writer: writer::Writer,
    signals: Signals,
    /// The outcome of the writer's latest batches.
    health: WriteHealth,
    /// Held while the store lives: a second process on the same file would keep its own
    /// session cache and rate limits, and answer for tokens this one has revoked.
    _lock: std::sync::Arc<std::fs::File>,
}

impl SqliteStore {
    /// Opens (creating file and folders if needed) and migrates the database; at most
    /// `queue_depth` reads, and as many writes, wait for a thread.
    pub fn open(path: &Path, queue_depth: usize) -> Result<Self, StoreError> {
        // Folders created here, and the file's name once it exists, are fsynced: SQLite syncs
        // the file's contents but only its journal's name (see `crate::durable`).
        let dir = crate::durable::parent_or_current(path);
        crate::durable::create_dir_all_durable(dir)
            .map_err(|source| StoreError::io(dir, &source))?;
        let new_file = !path
            .try_exists()
            .map_err(|source| StoreError::io(path, &source))?;
        let lock = lock_file(path)?;
        let mut write_conn = open_connection(path)?;
        // Migrations that rebuild a table must not cascade its DROP into the tables that
        // reference it: foreign keys are off while they run, and checked after each.
        write_conn.pragma_update(None, "foreign_keys", false)?;
        MIGRATIONS.to_latest(&mut write_conn)?;
        write_conn.pragma_update(None, "foreign_keys", true)?;
        if new_file {
            crate::durable::sync_dir(dir).map_err(|source| StoreError::io(dir, &source))?;
        }
        let read_conns = (0..READERS)
            .map(|_| open_connection(path))
            .collect::<Result<Vec<_>, _>>()?;
        let signals = Signals::default();
        let health = WriteHealth::default();
        Ok(Self {
            readers: readers::Readers::start(read_conns, queue_depth),
            writer: writer::Writer::start(
                write_conn,
                signals.clone(),
                health.clone(),
                queue_depth,
            )?,
            signals,
            health,
            _lock: std::sync::Arc::new(lock),
        })
    }

    /// Runs `work` on a reader thread in a read transaction (one snapshot).
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut dyn Tx) -> Work<'t, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.readers.read(work).await
    }

    /// Runs `work` on the writer thread inside a `BEGIN IMMEDIATE` transaction shared with the
    /// other writes waiting at that moment (group commit).
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut dyn Tx) -> Work<'t, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.writer.write(work).await
    }

    /// The session stored for this token hash: one statement on a reader.
    pub async fn session(&self, token_hash: [u8; 32]) -> Result<Option<SessionRow>, StoreError> {
        self.read(move |tx| Box::pin(async move { tx.session(&token_hash).await }))
            .await
    }

    /// The user's task with this id: one statement on a reader.
    pub async fn task(&self, user_id: i64, id: i64) -> Result<Option<Task>, StoreError> {
        self.read(move |tx| Box::pin(async move { tx.task(user_id, id).await }))
            .await
    }

    /// A page after `key` with the filtered total: the count and the page, two statements in
    /// one read transaction (one snapshot).
    pub async fn tasks_after(
        &self,
        list_id: i64,
        key: Option<SortKey>,
        limit: u32,
        filter: TaskFilter,
    ) -> Result<(u64, Vec<Task>), StoreError> {
        self.read(move |tx| {
            Box::pin(async move { tx.tasks_after(list_id, key.as_ref(), limit, &filter).await })
        })
        .await
    }

    /// When the next queued email is due: one statement on a reader.
    pub async fn next_mail_due(&self) -> Result<Option<i64>, StoreError> {
        self.read(|tx| Box::pin(async move { tx.next_mail_due().await }))
            .await
    }

    /// Where committed writes announce themselves.
    pub fn signals(&self) -> &Signals {
        &self.signals
    }

    /// The outcome of the writer's latest batches (for readiness).
    pub fn write_health(&self) -> &WriteHealth {
        &self.health
    }

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

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        let class = if transient(&e) {
            Class::Transient
        } else {
            Class::Internal
        };
        StoreError::new(class, format!("sqlite: {e}"))
    }
}

impl From<rusqlite_migration::Error> for StoreError {
    fn from(e: rusqlite_migration::Error) -> Self {
        StoreError::migration(e)
    }
}

/// SQLite result codes that pass: a full disk, an I/O error, the database busy or locked past
/// its timeout, memory it could not get, a file it could not open or lock.
fn transient(e: &rusqlite::Error) -> bool {
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

/// Takes an exclusive advisory lock (`flock`) on the database file, creating it if need be.
/// SQLite's own locks are `fcntl` locks, which this does not touch; the kernel drops it when the
/// process ends, however it ends.
fn lock_file(path: &Path) -> Result<std::fs::File, StoreError> {
    let io = |source| StoreError::io(path, &source);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::in_use()),
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
    // Plans never depend on bound values: without it a statement with `LIMIT ?` is parsed and
    // planned again whenever the value changes (measured: 104k of the 815k instructions of a
    // list request went to re-preparing its page query).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

/// Copies the live database at `source` into a new file at `dest` through SQLite's online
/// backup API: consistent even while a server writes to `source`. The copy appears under its
/// final name only once complete.
pub fn backup(source: &Path, dest: &Path) -> Result<(), StoreError> {
    if !source.exists() {
        return Err(StoreError::io(
            source,
            &std::io::Error::new(std::io::ErrorKind::NotFound, "no database file here"),
        ));
    }
    let io = |source| StoreError::io(dest, &source);
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
