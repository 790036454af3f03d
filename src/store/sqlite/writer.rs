//! Group commit: one thread owns the write connection and commits every write waiting at that
//! moment in a single transaction, so many requests share one fsync.
//!
//! Each job runs inside its own SAVEPOINT, so a job that fails is rolled back alone and its error
//! stays its own; every job is answered only after the shared COMMIT reached the disk, and its
//! signals are sent then too. Each batch's outcome is remembered for readiness
//! ([`WriteHealth`]): a commit that wrote something, or a failure that passes.

use super::{StoreError, Tx, Work, run_on};
use crate::store::{Signal, Signals, WriteHealth};
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use tokio::sync::oneshot;

/// Jobs one transaction may gather; bounds the time the first waiter waits for the last.
const MAX_BATCH: usize = 512;

/// A write waiting for the writer thread.
trait Job: Send {
    /// Runs the work inside the open transaction; `true` if it succeeded and should be kept.
    fn run(&mut self, conn: &mut Connection) -> bool;
    /// Answers the caller once the batch committed (or failed as a whole), and sends the
    /// signals of a job that committed.
    fn finish(self: Box<Self>, commit: Result<(), &StoreError>, signals: &Signals);
}

struct TypedJob<F, T, E> {
    work: Option<F>,
    outcome: Option<Result<T, E>>,
    announced: Vec<(i64, Signal)>,
    reply: oneshot::Sender<Result<T, E>>,
    span: tracing::Span,
}

impl<F, T, E> Job for TypedJob<F, T, E>
where
    F: for<'t> FnOnce(&'t mut dyn Tx) -> Work<'t, T, E> + Send,
    T: Send,
    E: From<StoreError> + Send,
{
    fn run(&mut self, conn: &mut Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let _entered = self.span.enter();
        let (outcome, announced) = catch_unwind(AssertUnwindSafe(|| run_on(conn, work)))
            .unwrap_or_else(|_| {
                let panicked = StoreError::worker("a write panicked");
                (Err(panicked.into()), Vec::new())
            });
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        self.announced = announced;
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), &StoreError>, signals: &Signals) {
        if commit.is_ok() && matches!(self.outcome, Some(Ok(_))) {
            for (user_id, signal) in &self.announced {
                signals.send(*user_id, *signal);
            }
        }
        let result = match (commit, self.outcome) {
            // A job that failed was rolled back on its own; its error is its answer either way.
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(value))) => Ok(value),
            // The batch's failure is every job's; its class (a full disk is transient) travels.
            (Err(e), _) => Err(e.shared().into()),
            (Ok(()), None) => Err(StoreError::worker("write was never run").into()),
        };
        // The caller may have gone away (client disconnected); the write stands regardless.
        let _ = self.reply.send(result);
    }
}

/// The handle requests use to queue writes.
#[derive(Clone)]
pub struct Writer {
    jobs: SyncSender<Box<dyn Job>>,
    /// Writes that may wait for the writer thread (beside the batch it runs).
    depth: usize,
}

impl Writer {
    /// Starts the writer thread on `conn`, with room for `depth` writes waiting for it; it
    /// ends when the last handle is dropped.
    pub fn start(
        conn: Connection,
        signals: Signals,
        health: WriteHealth,
        depth: usize,
    ) -> Result<Self, StoreError> {
        let depth = depth.max(1);
        let (jobs, queue) = sync_channel(depth);
        std::thread::Builder::new()
            .name("listo-writer".into())
            .spawn(move || write_loop(conn, queue, signals, health))
            .map_err(|e| StoreError::worker(format!("starting the writer thread: {e}")))?;
        Ok(Self { jobs, depth })
    }

    /// Queues `work` and waits until it is committed (or refused); refused at once, with nothing
    /// run, when `depth` writes already wait.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut dyn Tx) -> Work<'t, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = TypedJob {
            work: Some(work),
            outcome: None,
            announced: Vec::new(),
            reply,
            span: tracing::Span::current(),
        };
        self.jobs.try_send(Box::new(job)).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::busy("write", self.depth),
            TrySendError::Disconnected(_) => StoreError::worker("the writer thread has stopped"),
        })?;
        answer
            .await
            .map_err(|_| StoreError::worker("the writer thread dropped a write"))?
    }
}

fn write_loop(
    mut conn: Connection,
    queue: Receiver<Box<dyn Job>>,
    signals: Signals,
    health: WriteHealth,
) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = run_batch(&mut conn, &mut batch);
        match &committed {
            // A batch whose jobs all failed on their own commits nothing: it proves nothing.
            Ok(wrote) => {
                if *wrote {
                    health.committed();
                }
            }
            Err(e) => {
                if e.is_transient() {
                    health.failed();
                }
                tracing::error!(error = %e, jobs = batch.len(), "write batch failed");
            }
        }
        for job in batch {
            job.finish(committed.as_ref().map(|_| ()), &signals);
        }
    }
}

/// Runs the batch in one transaction; `Ok(true)` when its commit wrote rows.
fn run_batch(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> Result<bool, StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let outcome = run_jobs(conn, batch).and_then(|wrote| {
        conn.execute_batch("COMMIT")?;
        Ok(wrote)
    });
    if outcome.is_err() && !conn.is_autocommit() {
        // Nothing of a failed batch may stay: the next batch starts clean.
        let _ = conn.execute_batch("ROLLBACK");
    }
    outcome
}

/// Runs each job in its own savepoint; `Ok(true)` when a job that is kept changed rows.
fn run_jobs(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> Result<bool, StoreError> {
    let mut wrote = false;
    for job in batch.iter_mut() {
        conn.execute_batch("SAVEPOINT job")?;
        let before = conn.total_changes();
        if job.run(conn) {
            wrote |= conn.total_changes() > before;
            conn.execute_batch("RELEASE job")?;
        } else if conn.is_autocommit() {
            // SQLite rolled the whole transaction back under the failed job: it does so only
            // for a full disk, an I/O error, a lock or memory it could not get, all of which
            // pass. The jobs before it are gone with it.
            return Err(StoreError::unavailable(
                "SQLite rolled back the batch after a write failed (disk full or I/O error)",
            ));
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
        }
    }
    Ok(wrote)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A job that runs `sql` on the batch's connection, keeping its own error.
    struct Sql(&'static str, Arc<Mutex<Option<StoreError>>>);

    impl Job for Sql {
        fn run(&mut self, conn: &mut Connection) -> bool {
            let outcome = conn.execute_batch(self.0);
            let ok = outcome.is_ok();
            *self.1.lock().unwrap() = outcome.err().map(StoreError::from);
            ok
        }
        fn finish(self: Box<Self>, _: Result<(), &StoreError>, _: &Signals) {}
    }

    #[test]
    fn a_batch_sqlite_rolled_back_under_a_full_disk_is_transient() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::open_connection(&dir.path().join("t.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (v BLOB)").unwrap();
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        // The file may not grow past two more pages: a bigger write is a full disk
        // (SQLITE_FULL) in the middle of its statement, not at COMMIT.
        conn.pragma_update(None, "max_page_count", pages + 2)
            .unwrap();
        let (small, big) = (Arc::default(), Arc::default());
        let mut batch: Vec<Box<dyn Job>> = vec![
            Box::new(Sql("INSERT INTO t VALUES (x'00')", Arc::clone(&small))),
            Box::new(Sql(
                "INSERT INTO t VALUES (zeroblob(100000))",
                Arc::clone(&big),
            )),
        ];
        let outcome = run_batch(&mut conn, &mut batch);
        // SQLite rolled the whole transaction back, the first job's row with it: the batch
        // failed, and that passes (503), as does the failing job's own error.
        let err = outcome.expect_err("the batch failed");
        assert!(err.is_transient(), "{err}");
        let own = big.lock().unwrap().take().expect("the big job failed");
        assert!(own.is_transient(), "{own}");
        assert!(small.lock().unwrap().is_none());
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
    }
}
