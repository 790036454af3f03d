//! A fixed set of named threads, each owning some state, running jobs from one queue.
//!
//! The SQLite readers (each thread owns a connection) and the password hashers (each owns
//! argon2's 19 MiB working block) both need this: a fixed set keeps threads, allocator arenas
//! and per-thread caches bounded under any load, where the blocking pool would grow a thread
//! (and keep its memory) per waiting job.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

/// One piece of work for a thread of the pool, given that thread's state.
pub type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

/// The handle that queues jobs; the threads end when the last handle is dropped.
pub struct WorkerPool<S> {
    jobs: Sender<Job<S>>,
    name: &'static str,
    /// Jobs that may wait while every thread is busy.
    capacity: usize,
    /// Jobs queued or running, at most `threads + capacity`.
    in_flight: Arc<AtomicUsize>,
    limit: usize,
}

impl<S> Clone for WorkerPool<S> {
    fn clone(&self) -> Self {
        Self {
            jobs: self.jobs.clone(),
            name: self.name,
            capacity: self.capacity,
            in_flight: self.in_flight.clone(),
            limit: self.limit,
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
    /// waiting while every thread is busy (at least one): jobs queued or running are counted,
    /// so a job handed to an idle thread never takes a waiting job's room. A thread that cannot
    /// start is logged and the pool runs with the rest; with none, every job answers
    /// [`Refused::Stopped`].
    pub fn start(name: &'static str, states: Vec<S>, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let limit = states.len() + capacity;
        let (jobs, queue) = channel::<Job<S>>();
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
            in_flight: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// Queues `job` for the next free thread, or refuses it at once when the queue is full.
    pub fn submit(&self, job: Job<S>) -> Result<(), Refused> {
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= self.limit {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(Refused::Full {
                name: self.name,
                capacity: self.capacity,
            });
        }
        let in_flight = self.in_flight.clone();
        let counted: Job<S> = Box::new(move |state: &mut S| {
            // Counted out even if the job panics (the thread then ends; the rest go on).
            let _done = CountedOut(in_flight);
            job(state);
        });
        self.jobs.send(counted).map_err(|_| {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            Refused::Stopped(self.name)
        })
    }
}

/// Counts a job out of its pool's in-flight jobs when dropped.
struct CountedOut(Arc<AtomicUsize>);

impl Drop for CountedOut {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
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
