//! Reader threads: a fixed set of threads, each owning one read connection, run read jobs.
//!
//! A fixed set keeps threads, per-thread allocator arenas and SQLite page caches bounded under
//! any load, and hands a read to a thread that already holds its connection and prepared
//! statements.

use super::{StoreError, Tx, Work, run_on};
use crate::workers::{Refused, WorkerPool};
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use tokio::sync::oneshot;

/// The handle requests use to queue reads.
#[derive(Clone)]
pub struct Readers {
    pool: WorkerPool<Connection>,
}

impl Readers {
    /// Starts one thread per connection, with room for `depth` reads waiting for one; they end
    /// when the last handle is dropped.
    pub fn start(connections: Vec<Connection>, depth: usize) -> Self {
        Self {
            pool: WorkerPool::start("reader", connections, depth),
        }
    }

    /// Runs `work` in a read transaction on a reader thread, so every query in it sees one snapshot.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut dyn Tx) -> Work<'t, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.with_connection(move |conn| {
            // Cached statements: `execute_batch` parsed both again on every read (5.5k
            // instructions of a list request).
            let run = |conn: &Connection, sql: &str| {
                conn.prepare_cached(sql)
                    .and_then(|mut s| s.execute([]))
                    .map_err(StoreError::from)
            };
            run(conn, "BEGIN DEFERRED")?;
            let (result, announced) = run_on(conn, work);
            debug_assert!(announced.is_empty(), "a read announced a change");
            // A read changes nothing: ending it either way only releases the snapshot.
            run(conn, "COMMIT")?;
            result
        })
        .await
    }

    /// Runs `work` on a reader thread's connection, outside any transaction.
    pub async fn with_connection<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let span = tracing::Span::current();
        self.pool
            .submit(Box::new(move |conn: &mut Connection| {
                // A caller that gave up (its client went away) no longer waits: skip its read.
                if reply.is_closed() {
                    return;
                }
                let _entered = span.enter();
                let result = catch_unwind(AssertUnwindSafe(|| work(conn))).unwrap_or_else(|_| {
                    // A panic may have left the snapshot open; end it so the next read is fresh.
                    let _ = conn.execute_batch("ROLLBACK");
                    Err(StoreError::worker("a read panicked").into())
                });
                let _ = reply.send(result);
            }))
            .map_err(|e| match e {
                Refused::Full { capacity, .. } => StoreError::busy("read", capacity),
                e @ Refused::Stopped(_) => StoreError::worker(e),
            })?;
        answer
            .await
            .map_err(|_| StoreError::worker("a reader thread dropped a read"))?
    }
}
