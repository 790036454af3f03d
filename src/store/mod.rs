//! Storage: the one interface the service layer talks to, and one implementation per engine.
//!
//! The service hands a closure to [`Store::read`] or [`Store::write`]; the closure receives one
//! transaction as `&mut dyn Tx` and composes its operations ([`Tx`] and the traits it gathers:
//! the only SQL in listo lives behind them). The service never learns which engine it has:
//! - [`sqlite`]: the embedded default, one file, reader threads and a group-commit writer;
//! - [`postgres`]: for several listo processes on one database server.

mod answers;
pub mod copy;
mod error;
mod feed_sql;
mod filter_sql;
mod health;
mod location;
pub mod postgres;
mod rows;
mod signals;
pub mod sqlite;
mod tx;

pub use error::{Class, StoreError};
pub use health::{FAILURE_HOLD, FRESH, Verdict, WriteHealth};
pub use location::{Location, PostgresUrl};
pub use rows::{
    Challenge, IdempotencyRecord, LiveSession, Purpose, RefreshState, Revoked, SessionRow, Side,
    SignInRow, StoredResponse, User, from_millis, to_millis,
};
pub use signals::{Pulse, Signal, Signals, Subscription};
pub use tx::{
    Challenges, Changes, Failures, Horizon, Idempotency, ListRows, NewTask, Sessions, Settings,
    TaskRows, Tx, Users,
};
pub use tx::{MailQueue, QueuedMail, Tickets};

use crate::domain::{SortKey, Task, TaskFilter};
use std::future::Future;
use std::pin::Pin;

/// Requests that may wait in each queue in front of the database when `LISTO_DATABASE_QUEUE`
/// is unset; past it a request answers 503 `busy` at once instead of queueing without end.
///
/// Reasoned from the measured service times (BENCHMARKS.md, 2 cores): the slowest read
/// measured, a page 4000 by number at 100,000 tasks, takes 2.2 ms; 1,024 of them queued ahead
/// on four reader threads over two cores are about 1.1 s of work, the `Retry-After` a `busy`
/// answer gives. Page-1 reads (16,000/s) drain the same queue in 0.06 s. Writes commit in
/// groups at 4,900-9,300 requests/s (creates, sorts): 1,024 queued are 0.1-0.2 s of work. On
/// PostgreSQL 1,024 waiters for 16 connections at 1-4 ms per request are 0.06-0.25 s.
/// Each waiting request holds little (its closure: ids, a task's text) but also its
/// connection; the bound keeps a stalled disk from gathering every connection's request.
pub const QUEUE_DEPTH: usize = 1024;

/// What a closure given to [`Store::read`] or [`Store::write`] returns: its work on the
/// transaction, as a future that borrows it.
pub type Work<'t, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>;

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
    /// Opens (creating and migrating as needed) the database at `location`, with the default
    /// queue depth ([`QUEUE_DEPTH`]).
    pub async fn open(location: &Location, pool_size: usize) -> Result<Self, StoreError> {
        Self::open_queued(location, pool_size, QUEUE_DEPTH).await
    }

    /// Opens the database at `location`; at most `queue_depth` requests wait in each queue in
    /// front of it (SQLite: reads, writes; PostgreSQL: a pooled connection), and one more is
    /// turned away at once as [`Class::Busy`].
    pub async fn open_queued(
        location: &Location,
        pool_size: usize,
        queue_depth: usize,
    ) -> Result<Self, StoreError> {
        let queue_depth = queue_depth.max(1);
        let engine = match location {
            Location::Sqlite(path) => {
                let path = path.clone();
                let store = tokio::task::spawn_blocking(move || {
                    sqlite::SqliteStore::open(&path, queue_depth)
                })
                .await??;
                Engine::Sqlite(store)
            }
            Location::Postgres(url) => Engine::Postgres(
                postgres::PgStore::open(url.expose(), pool_size, queue_depth).await?,
            ),
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

    /// The session stored for this token hash. One statement: on PostgreSQL it runs straight
    /// on a pooled connection, one round trip where a transaction takes three.
    pub async fn session(&self, token_hash: [u8; 32]) -> Result<Option<SessionRow>, StoreError> {
        match &self.engine {
            Engine::Sqlite(s) => s.session(token_hash).await,
            Engine::Postgres(p) => p.session(token_hash).await,
        }
    }

    /// The user's task with this id, in one statement.
    pub async fn task(&self, user_id: i64, id: i64) -> Result<Option<Task>, StoreError> {
        match &self.engine {
            Engine::Sqlite(s) => s.task(user_id, id).await,
            Engine::Postgres(p) => p.task(user_id, id).await,
        }
    }

    /// [`TaskRows::tasks_after`] as one read of its own: how many of the list's tasks `filter`
    /// lets through, and up to `limit` of them after `key`, from one snapshot (one statement on
    /// PostgreSQL, the count and the page in one read transaction on SQLite).
    pub async fn tasks_after(
        &self,
        list_id: i64,
        key: Option<SortKey>,
        limit: u32,
        filter: TaskFilter,
    ) -> Result<(u64, Vec<Task>), StoreError> {
        match &self.engine {
            Engine::Sqlite(s) => s.tasks_after(list_id, key, limit, filter).await,
            Engine::Postgres(p) => p.tasks_after(list_id, key, limit, filter).await,
        }
    }

    /// When the next queued email is due (`None`: the queue is empty), in one statement.
    pub async fn next_mail_due(&self) -> Result<Option<i64>, StoreError> {
        match &self.engine {
            Engine::Sqlite(s) => s.next_mail_due().await,
            Engine::Postgres(p) => p.next_mail_due().await,
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
                return Err(StoreError::unavailable(format!(
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
