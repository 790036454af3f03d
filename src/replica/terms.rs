//! What the lease and its two backends (S3 objects, a file lock) share: the names they write
//! beside the replica, what `acquire` finds and what can fail. Its own module so the backends
//! need nothing from `lease.rs`, which uses them.

use super::holder::LeaseHolder;
use super::s3::S3Error;
use std::path::PathBuf;
use std::time::Duration;

/// The lease object's name beside the replica.
pub const OBJECT_NAME: &str = "listo-lease.json";
/// The object the start-up check writes with failing conditions, beside the lease.
pub const PROBE_NAME: &str = "listo-lease-probe.json";
/// The lock file's name in a file replica's folder.
pub const LOCK_FILE: &str = "listo-lease.lock";

/// Why the lease could not be read, taken, renewed or released.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// A setting is wrong; the message names the variable.
    #[error("{variable}: {why}")]
    Setting {
        /// The environment variable to look at.
        variable: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// The store did not answer, or not in time.
    #[error(transparent)]
    Store(#[from] S3Error),
    /// The store answered something the lease does not expect.
    #[error("the object store answered {status} to the lease's {operation}")]
    Status {
        /// What was tried (create, read, take over, renew, release).
        operation: &'static str,
        /// The HTTP status.
        status: u16,
    },
    /// The store does not support conditional writes (`If-None-Match` / `If-Match`).
    #[error(
        "the object store does not honour conditional writes (If-None-Match / If-Match: it answered {0} to a write whose condition failed), so it cannot hold the lease that keeps one writer per replica; use AWS S3 or Cloudflare R2"
    )]
    Unsupported(u16),
    /// Another process holds the lease now: ours has lapsed.
    #[error("the lease was lost: another process holds it")]
    Lost,
    /// Renewed or released without being held.
    #[error("the lease is not held")]
    NotHeld,
    /// Two writers raced (S3 409 ConditionalRequestConflict); trying again is right.
    #[error("a conflicting write raced the lease's {0}; try again")]
    Conflict(&'static str),
    /// The lock file or the holder file could not be used.
    #[error("lease file in {dir}: {source}")]
    File {
        /// The replica folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What `acquire` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// This process holds the lease now.
    Held,
    /// Another process holds it; try again later.
    HeldByOther {
        /// Who, when the lease says so.
        holder: Option<LeaseHolder>,
        /// When it lapses unless renewed (by the store's clock); `None` for a file lock, which
        /// lasts as long as its holder lives.
        expires_in: Option<Duration>,
    },
}
