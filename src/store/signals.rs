//! Wake-ups for live streams: whose tasks changed, whose sessions ended, and the server closing.
//!
//! A signal says only *that* something happened to a user; a stream that wakes reads what from
//! the database (the change feed, its session), so a signal lost or doubled costs a read, never
//! a change. Engines send them once a write commits: SQLite's writer thread itself, PostgreSQL
//! through `NOTIFY`, which reaches every process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::watch;

/// What happened to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Their tasks changed: the feed has new entries.
    TasksChanged,
    /// One or more of their sessions ended (logout, password change, account deleted).
    SessionsEnded,
}

/// Everything a subscriber has been told so far; the counters only grow, so a subscriber that
/// slept through several signals still sees that something happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pulse {
    /// Signals that the user's tasks changed.
    pub tasks: u64,
    /// Signals that sessions of the user ended.
    pub sessions: u64,
    /// The server is shutting down: streams end.
    pub closing: bool,
}

/// One process's subscribers, by user. Cheap to clone: clones share them.
#[derive(Clone, Default)]
pub struct Signals {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    users: Mutex<HashMap<i64, watch::Sender<Pulse>>>,
    closing: std::sync::atomic::AtomicBool,
}

impl Signals {
    /// Starts listening for the user's signals.
    pub fn subscribe(&self, user_id: i64) -> Subscription {
        let mut users = self.users();
        let rx = users
            .entry(user_id)
            .or_insert_with(|| {
                watch::Sender::new(Pulse {
                    closing: self.inner.closing.load(std::sync::atomic::Ordering::SeqCst),
                    ..Pulse::default()
                })
            })
            .subscribe();
        Subscription {
            user_id,
            rx,
            signals: self.clone(),
        }
    }

    /// Wakes the user's subscribers in this process.
    pub fn send(&self, user_id: i64, signal: Signal) {
        if let Some(sender) = self.users().get(&user_id) {
            sender.send_modify(|pulse| match signal {
                Signal::TasksChanged => pulse.tasks += 1,
                Signal::SessionsEnded => pulse.sessions += 1,
            });
        }
    }

    /// Wakes every subscriber as if everything had happened: after signals may have been
    /// missed (a lost connection to the database), each re-reads what it follows.
    pub fn wake_all(&self) {
        for sender in self.users().values() {
            sender.send_modify(|pulse| {
                pulse.tasks += 1;
                pulse.sessions += 1;
            });
        }
    }

    /// Tells every subscriber, now and later, that the server is closing.
    pub fn close(&self) {
        self.inner
            .closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for sender in self.users().values() {
            sender.send_modify(|pulse| pulse.closing = true);
        }
    }

    /// Users with at least one subscriber in this process.
    #[cfg(test)]
    fn followed_users(&self) -> usize {
        self.users().len()
    }

    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<i64, watch::Sender<Pulse>>> {
        // The map stays consistent whatever panicked while holding it.
        self.inner
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A subscriber: one user's signals, until dropped.
pub struct Subscription {
    user_id: i64,
    rx: watch::Receiver<Pulse>,
    signals: Signals,
}

impl Subscription {
    /// Waits for the next signal and returns everything told so far.
    pub async fn next(&mut self) -> Pulse {
        // The sender lives in the map while this receiver does, so it cannot close.
        let _ = self.rx.changed().await;
        *self.rx.borrow_and_update()
    }

    /// Everything told so far, without waiting.
    pub fn current(&mut self) -> Pulse {
        *self.rx.borrow_and_update()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut users = self.signals.users();
        // This receiver is still alive here: one left means it was the last.
        if users
            .get(&self.user_id)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            users.remove(&self.user_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Signal, Signals};

    #[tokio::test]
    async fn a_subscriber_hears_its_user_only_and_leaves_no_trace() {
        let signals = Signals::default();
        let mut alice = signals.subscribe(1);
        let bob = signals.subscribe(2);
        signals.send(2, Signal::TasksChanged);
        signals.send(1, Signal::SessionsEnded);
        let pulse = alice.next().await;
        assert_eq!((pulse.tasks, pulse.sessions), (0, 1));
        drop(bob);
        assert_eq!(signals.followed_users(), 1);
        drop(alice);
        assert_eq!(signals.followed_users(), 0);
    }

    #[tokio::test]
    async fn closing_reaches_subscribers_made_after_it() {
        let signals = Signals::default();
        signals.close();
        let mut late = signals.subscribe(7);
        assert!(late.current().closing);
    }
}
