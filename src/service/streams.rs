//! How many live event streams each user holds open in this process: past the cap, the
//! user's oldest stream is told to end (`stream_replaced`), so one token cannot hold every
//! connection slot while other users time out. The newest wins, and a client told its stream
//! was replaced does not reconnect, so two tabs cannot evict each other in a loop.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// Each user's open streams, oldest first: a stream's number and how to tell it to end.
type Open = HashMap<i64, VecDeque<(u64, Arc<Notify>)>>;

/// The open streams of every user here, oldest first.
pub(super) struct StreamSlots {
    cap: Option<u32>,
    users: Mutex<Open>,
    next: AtomicU64,
}

/// One open stream's place; dropping it frees the place.
pub(super) struct Slot {
    slots: Arc<StreamSlots>,
    user_id: i64,
    number: u64,
    replaced: Arc<Notify>,
}

impl StreamSlots {
    /// At most `cap` streams per user (`None`: no limit).
    pub(super) fn new(cap: Option<u32>) -> Arc<Self> {
        Arc::new(Self {
            cap,
            users: Mutex::default(),
            next: AtomicU64::new(0),
        })
    }

    /// A place for a new stream of the user; past the cap, the user's oldest is told to end.
    pub(super) fn take(self: &Arc<Self>, user_id: i64) -> Slot {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let replaced = Arc::new(Notify::new());
        let mut users = self.users();
        let open = users.entry(user_id).or_default();
        open.push_back((number, Arc::clone(&replaced)));
        if let Some(cap) = self.cap {
            while open.len() > cap as usize {
                if let Some((_, oldest)) = open.pop_front() {
                    // A permit is kept if that stream is not waiting right now.
                    oldest.notify_one();
                }
            }
        }
        Slot {
            slots: Arc::clone(self),
            user_id,
            number,
            replaced,
        }
    }

    /// Streams the user holds open here.
    #[cfg(test)]
    fn open(&self, user_id: i64) -> usize {
        self.users().get(&user_id).map_or(0, VecDeque::len)
    }

    fn users(&self) -> MutexGuard<'_, Open> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Slot {
    /// Resolves once a newer stream of the same user has taken this one's place.
    pub(super) async fn replaced(&self) {
        self.replaced.notified().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut users = self.slots.users();
        if let Some(open) = users.get_mut(&self.user_id) {
            open.retain(|(n, _)| *n != self.number);
            if open.is_empty() {
                users.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn past_the_cap_the_oldest_stream_of_that_user_is_replaced() {
        let slots = StreamSlots::new(Some(2));
        let first = slots.take(1);
        let second = slots.take(1);
        let other_user = slots.take(2);
        let third = slots.take(1);
        assert_eq!(slots.open(1), 2);
        let soon = Duration::from_millis(50);
        tokio::time::timeout(soon, first.replaced())
            .await
            .expect("the oldest is told");
        for untouched in [&second, &third, &other_user] {
            assert!(
                tokio::time::timeout(soon, untouched.replaced())
                    .await
                    .is_err()
            );
        }
        drop((first, second, third));
        assert_eq!(slots.open(1), 0);
        assert_eq!(slots.open(2), 1);
    }
}
