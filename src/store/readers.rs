//! Reader threads: a fixed set of threads, each owning one read connection, run read jobs.
//!
//! A fixed set keeps threads, per-thread allocator arenas and SQLite page caches bounded under
//! any load (the blocking pool grows a thread per waiting read), and hands a read to a thread
//! that already holds its connection and prepared statements.

use super::StoreError;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type ReadJob = Box<dyn FnOnce(&mut Connection) + Send>;

/// The handle requests use to queue reads.
#[derive(Clone)]
pub struct Readers {
    jobs: Sender<ReadJob>,
}

impl Readers {
    /// Starts one thread per connection; they end when the last handle is dropped.
    pub fn start(connections: Vec<Connection>) -> Result<Self, StoreError> {
        let (jobs, queue) = channel::<ReadJob>();
        let queue = Arc::new(Mutex::new(queue));
        for (i, conn) in connections.into_iter().enumerate() {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("listo-reader-{i}"))
                .spawn(move || read_loop(conn, &queue))
                .map_err(|e| StoreError::Worker(format!("starting a reader thread: {e}")))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `work` in a read transaction on a reader thread, so every query in it sees one snapshot.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.with_connection(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .map_err(StoreError::from)?;
            let value = work(&tx)?;
            tx.commit().map_err(StoreError::from)?;
            Ok(value)
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
        let job: ReadJob = Box::new(move |conn| {
            let _entered = span.enter();
            let result = catch_unwind(AssertUnwindSafe(|| work(conn)))
                .unwrap_or_else(|_| Err(StoreError::Worker("a read panicked".into()).into()));
            let _ = reply.send(result);
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Worker("the reader threads have stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Worker("a reader thread dropped a read".into()))?
    }
}

fn read_loop(mut conn: Connection, queue: &Mutex<Receiver<ReadJob>>) {
    loop {
        // Held only while waiting for the next job, so one idle thread waits and the rest queue.
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(&mut conn),
            Err(_) => return,
        }
    }
}
