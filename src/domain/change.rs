use super::{Invalid, List, Task};

/// One entry of a user's change feed: the latest change of one task or list.
#[derive(Debug, Clone)]
pub struct Change {
    /// Its place in the user's feed: every change takes the next number, in commit order.
    pub seq: ChangeSeq,
    /// What changed.
    pub entry: Entry,
}

/// What a feed entry is about.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A task, in the list `list_id`.
    Task {
        /// The task's id.
        id: i64,
        /// The list the entry belongs to (where the task is, or was when it left or went).
        list_id: i64,
        /// The task as it is now; `None` when it was deleted (or, in one list's feed, moved
        /// out of that list).
        task: Option<Task>,
    },
    /// A list itself.
    List {
        /// The list's id.
        id: i64,
        /// The list as it is now; `None` when it was deleted (with all its tasks).
        list: Option<List>,
    },
}

/// Which of a user's feed entries a reader follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedScope {
    /// The tasks of one list only, a task moved out of it reading as deleted
    /// (`/v1/tasks/changes`: the default list).
    List(i64),
    /// Everything the user sees: tasks of every list and the lists themselves
    /// (`/v1/changes`).
    Everything,
}

/// A position in a user's change feed: the number of the last change a client holds (`since`,
/// `next_since`, an event's `id`). 0 is before the first change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ChangeSeq(i64);

impl ChangeSeq {
    /// Before every change.
    pub const START: Self = Self(0);

    /// A position listo handed out: decimal digits only, as `next_since` and event ids carry it.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid =
            || Invalid("is not a position from this feed (next_since or an event id)".into());
        if raw.is_empty() || raw.len() > 18 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        raw.parse().map(Self).map_err(|_| invalid())
    }

    /// A stored number.
    pub fn from_stored(seq: i64) -> Self {
        Self(seq)
    }

    /// The number.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for ChangeSeq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::ChangeSeq;

    #[test]
    fn positions_read_back_what_they_print() {
        for n in [0, 1, 42, 999_999_999_999_999_999] {
            let seq = ChangeSeq::from_stored(n);
            assert_eq!(ChangeSeq::parse(&seq.to_string()), Ok(seq));
        }
    }

    #[test]
    fn anything_but_digits_is_refused() {
        for raw in [
            "",
            "-1",
            "+1",
            "1.5",
            " 1",
            "1 ",
            "abc",
            "0x10",
            "1000000000000000000",
        ] {
            assert!(ChangeSeq::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }
}
