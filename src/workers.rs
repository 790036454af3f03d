//! A fixed set of named threads, each owning some state, running jobs from one queue.
//!
//! The SQLite readers (each thread owns a connection) and the password hashers (each owns
//! argon2's 19 MiB working block) both need this: a fixed set keeps threads, allocator arenas
//! and per-thread caches bounded under any load, where the blocking pool would grow a thread
//! (and keep its memory) per waiting job.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

/// One piece of work for a thread of the pool, given that thread's state.
pub type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

/// The handle that queues jobs; the threads end when the last handle is dropped.
pub struct WorkerPool<S> {
    jobs: SyncSender<Job<S>>,
    name: &'static str,
    capacity: usize,
}

impl<S> Clone for WorkerPool<S> {
    fn clone(&self) -> Self {
        Self {
            jobs: self.jobs.clone(),
            name: self.name,
            capacity: self.capacity,
        }
    }
}

/// Why a job was not queued.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// As many jobs as the queue holds are already waiting for a thread.
    #[error("the {name} queue is full ({capacity} waiting)")]
    Full {
        /// The pool's name.
        name: &'static str,
        /// How many jobs its queue holds.
        capacity: usize,
    },
    /// The pool's threads have all stopped (or none could start).
    #[error("the {0} threads have stopped")]
    Stopped(&'static str),
}

impl<S: Send + 'static> WorkerPool<S> {
    /// Starts one thread per state, named `listo-{name}-{i}`, with room for `capacity` jobs
    /// waiting for a free thread (at least one). A thread that cannot start is logged and the
    /// pool runs with the rest; with none, every job answers [`Refused::Stopped`].
    pub fn start(name: &'static str, states: Vec<S>, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (jobs, queue) = sync_channel::<Job<S>>(capacity);
        let queue = Arc::new(Mutex::new(queue));
        for (i, state) in states.into_iter().enumerate() {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("listo-{name}-{i}"))
                .spawn(move || work_loop(state, &queue));
            if let Err(e) = spawned {
                tracing::error!(error = %e, pool = name, "could not start a worker thread");
            }
        }
        Self {
            jobs,
            name,
            capacity,
        }
    }

    /// Queues `job` for the next free thread, or refuses it at once when the queue is full.
    pub fn submit(&self, job: Job<S>) -> Result<(), Refused> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => Refused::Full {
                name: self.name,
                capacity: self.capacity,
            },
            TrySendError::Disconnected(_) => Refused::Stopped(self.name),
        })
    }
}

fn work_loop<S>(mut state: S, queue: &Mutex<Receiver<Job<S>>>) {
    loop {
        // Held only while waiting for the next job, so one idle thread waits and the rest queue.
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(&mut state),
            Err(_) => return,
        }
    }
}
