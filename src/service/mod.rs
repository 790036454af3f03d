//! The rules of sign-in and tasks, free of HTTP: handlers call one function here.

mod account;
pub mod auth;
pub mod changes;
mod codes;
mod credentials;
mod health;
pub mod idempotency;
mod limits;
pub mod lists;
pub mod mail_queue;
mod revocations;
mod seal;
mod session;
mod session_cache;
mod sessions;
mod sign_ins;
mod streams;
pub mod sweeper;
pub mod tasks;
mod tickets;

pub use auth::{Auth, ClientAddr, LoginStarted};
pub use changes::{ChangePage, Feed, FeedEvent, SessionEnd};
pub use health::Health;
pub use idempotency::{Idempotent, KeptAnswer, Outcome};
pub use lists::Lists;
pub use session::{Session, SessionIssued};
pub use sessions::{LogoutScope, LogoutTarget, SessionSummary};
pub use tasks::{IfMatch, ListRef, TaskPage, Tasks};
pub use tickets::TicketIssued;

use crate::mail::MailError;
/// What [`ServiceError::Store`] carries, for the HTTP layer to classify (it never imports `store`).
pub use crate::store::StoreError;

/// Everything a service call can refuse or fail with; `api` maps each variant to one problem code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input that is well-formed but not acceptable here (the field is named).
    #[error("{field}: {message}")]
    Invalid {
        /// The request field at fault.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Registration with an email that already has an account.
    #[error("email already registered")]
    EmailTaken,
    /// Unknown email or wrong password (deliberately indistinguishable).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many login or register attempts; try again after this many seconds.
    #[error("rate limited for {retry_after_secs}s")]
    RateLimited {
        /// Seconds until an attempt would be accepted.
        retry_after_secs: u64,
    },
    /// The code email could not be sent, so no challenge was stored.
    #[error("email unavailable: {0}")]
    EmailUnavailable(#[source] MailError),
    /// A wrong code, or a challenge that does not exist (any more).
    #[error("invalid code")]
    InvalidCode {
        /// Wrong codes still allowed for this challenge, when it exists.
        attempts_left: Option<u32>,
    },
    /// The code's life is over.
    #[error("code expired")]
    CodeExpired,
    /// The challenge was burned by too many wrong codes.
    #[error("too many attempts")]
    TooManyAttempts,
    /// A token listo never issued, or one already swept away.
    #[error("session invalid")]
    SessionInvalid,
    /// A refresh token listo never issued, an expired one, or one of a sign-in that ended.
    #[error("refresh token invalid")]
    RefreshInvalid,
    /// A spent refresh token presented again past its grace: taken as stolen, the whole
    /// sign-in ended.
    #[error("refresh token reused")]
    RefreshReused,
    /// A session past its absolute expiry.
    #[error("session expired")]
    SessionExpired,
    /// A session ended by logout.
    #[error("session revoked")]
    SessionRevoked,
    /// The idempotency key was used before with another request (or another operation).
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    /// A request with this idempotency key is still running.
    #[error("idempotency key in progress")]
    IdempotencyInProgress,
    /// No live session with that id belongs to the user.
    #[error("session not found")]
    SessionNotFound,
    /// The task changed since the version the client sent in `If-Match`.
    #[error("precondition failed")]
    PreconditionFailed {
        /// The task as it is now.
        current: Box<crate::domain::Task>,
    },
    /// A change-feed position this user's feed never handed out.
    #[error("unknown feed position")]
    UnknownPosition,
    /// The change-feed position is older than the history kept (a tombstone after it is gone).
    #[error("changes expired")]
    ChangesExpired,
    /// No task with that id belongs to the user.
    #[error("task not found")]
    TaskNotFound,
    /// No list with that id that the user may see.
    #[error("list not found")]
    ListNotFound,
    /// The default list cannot be deleted.
    #[error("the default list cannot be deleted")]
    DefaultList,
    /// The task moved to another list between finding its list and holding it (PostgreSQL,
    /// several writers): nothing was changed, and the write runs again; if it keeps losing the
    /// race it is answered as a transient failure.
    #[error("the task moved to another list meanwhile")]
    Contended,
    /// The list changed since the version the client sent in `If-Match`.
    #[error("list precondition failed")]
    ListPreconditionFailed {
        /// The list as it is now.
        current: Box<crate::domain::List>,
    },
    /// A sort request with duplicate ids or ids that are not the user's.
    #[error("invalid order: {message}")]
    InvalidOrder {
        /// Which ids are wrong and why.
        message: String,
        /// The offending ids.
        ids: Vec<i64>,
    },
    /// The posted ids are not exactly the tasks on that page now.
    #[error("order conflict")]
    OrderConflict {
        /// The ids the page holds now, in order.
        current: Vec<i64>,
    },
    /// The user holds as much of something as the quota allows.
    #[error("quota exceeded: {used} of {limit} {what}")]
    QuotaExceeded {
        /// What ran out, for the message ("tasks").
        what: &'static str,
        /// The quota.
        limit: u64,
        /// How much is in use.
        used: u64,
        /// When part of the quota frees itself (kept answers expire): seconds until then.
        /// `None`: only the user can free it (by deleting).
        retry_after_secs: Option<u64>,
    },
    /// Too many sign-ins are waiting for password checks; try again shortly.
    #[error("password checks busy")]
    Busy,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Password hashing failed.
    #[error("password hashing: {0}")]
    Hashing(String),
}

/// Milliseconds since the Unix epoch, now.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Now, to the millisecond: the precision instants are stored with, so answers match later reads.
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 3)
}
