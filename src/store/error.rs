//! The store's one error type, the same whichever engine holds the data.
//!
//! A [`StoreError`] carries what callers decide on — its [`Class`] — and a log-safe message
//! (table and constraint names, never row values or passwords). Each engine turns its own
//! errors into one, classifying its own error codes: SQLite's result codes in
//! `sqlite/mod.rs`, PostgreSQL's SQLSTATEs and pool errors in `postgres/error.rs`.

/// What kind of failure a [`StoreError`] is: the API answers from this alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// It passes by itself: a full disk, an I/O error, a database busy or locked past its
    /// timeout, a PostgreSQL server unreachable, restarting or shutting down, a serialization
    /// failure (503 `unavailable`, nothing was changed).
    Transient,
    /// The commit was sent but its answer was lost (the connection dropped): the change may or
    /// may not be stored. Passes too (503 `unavailable`, saying so).
    CommitUnknown,
    /// Too many requests are already waiting for the database: this one was turned away before
    /// it ran (503 `busy`).
    Busy,
    /// Another listo process holds the SQLite file (start-up only).
    InUse,
    /// The schema could not be brought up to date (start-up only).
    Migration,
    /// A bug: a stored value listo never writes, a statement the database refused, a storage
    /// thread that stopped or panicked, a set-up that cannot work (500 `internal`).
    Internal,
}

/// A failure below the service layer; its message is for logs, never shown to clients.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    class: Class,
    message: String,
}

impl StoreError {
    /// A failure of this class, described by `message` (log-safe).
    pub fn new(class: Class, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }

    /// A failure that passes, whose original error could not travel (a group commit answers
    /// many jobs).
    pub fn unavailable(why: impl std::fmt::Display) -> Self {
        Self::new(Class::Transient, format!("unavailable: {why}"))
    }

    /// The commit was sent but its answer was lost.
    pub fn commit_unknown(why: impl std::fmt::Display) -> Self {
        Self::new(
            Class::CommitUnknown,
            format!("commit outcome unknown: {why}"),
        )
    }

    /// The queue in front of the database (`which`) is full.
    pub fn busy(which: &str, depth: usize) -> Self {
        Self::new(
            Class::Busy,
            format!("the {which} queue is full ({depth} waiting); request turned away"),
        )
    }

    /// A stored value is not one listo writes.
    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::new(Class::Internal, format!("corrupt row: {what}"))
    }

    /// A storage thread could not run or finish the work (a batch failed as a whole, a job
    /// panicked, or the thread stopped).
    pub fn worker(why: impl std::fmt::Display) -> Self {
        Self::new(Class::Internal, format!("storage thread: {why}"))
    }

    /// The schema could not be brought up to date.
    pub fn migration(why: impl std::fmt::Display) -> Self {
        Self::new(Class::Migration, format!("migration: {why}"))
    }

    /// Another listo process holds the database file.
    pub fn in_use() -> Self {
        Self::new(
            Class::InUse,
            "another listo process is serving this database; one process per SQLite file (several processes need PostgreSQL)",
        )
    }

    /// A file or folder of the database could not be made or opened.
    pub fn io(path: &std::path::Path, source: &std::io::Error) -> Self {
        Self::new(
            Class::Internal,
            format!("creating {}: {source}", path.display()),
        )
    }

    /// What kind of failure this is.
    pub fn class(&self) -> Class {
        self.class
    }

    /// Whether this failure passes by itself (503 `unavailable`, retry later) rather than being
    /// a bug (500).
    pub fn is_transient(&self) -> bool {
        matches!(self.class, Class::Transient | Class::CommitUnknown)
    }

    /// Whether a write that failed this way may still have been stored.
    pub fn maybe_committed(&self) -> bool {
        self.class == Class::CommitUnknown
    }

    /// Whether the request was turned away because too many were waiting (503 `busy`).
    pub fn is_busy(&self) -> bool {
        self.class == Class::Busy
    }

    /// This failure, for answering several callers at once (a group commit's batch): a failure
    /// that passes stays one, but no longer claims the commit may have been applied (a batch
    /// that failed was rolled back); anything else is the storage thread's.
    pub fn shared(&self) -> StoreError {
        if self.is_transient() {
            StoreError::unavailable(self)
        } else {
            StoreError::worker(self)
        }
    }
}

impl From<tokio::task::JoinError> for StoreError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::new(Class::Internal, format!("opening task: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_answers_its_questions() {
        let cases = [
            (StoreError::unavailable("disk full"), true, false, false),
            (StoreError::commit_unknown("dropped"), true, true, false),
            (StoreError::busy("write", 8), false, false, true),
            (StoreError::in_use(), false, false, false),
            (StoreError::migration("x"), false, false, false),
            (StoreError::corrupt("x"), false, false, false),
        ];
        for (e, transient, maybe, busy) in cases {
            assert_eq!(e.is_transient(), transient, "{e}");
            assert_eq!(e.maybe_committed(), maybe, "{e}");
            assert_eq!(e.is_busy(), busy, "{e}");
        }
    }

    #[test]
    fn a_shared_failure_keeps_its_class_and_its_words() {
        let disk = StoreError::unavailable("database or disk is full").shared();
        assert_eq!(disk.class(), Class::Transient);
        assert_eq!(
            disk.to_string(),
            "unavailable: unavailable: database or disk is full"
        );
        let bug = StoreError::corrupt("x").shared();
        assert_eq!(bug.class(), Class::Internal);
        assert_eq!(bug.to_string(), "storage thread: corrupt row: x");
    }
}
