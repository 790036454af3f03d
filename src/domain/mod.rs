//! Domain values: each can only be built valid, so code below `api` never re-checks input.

mod change;
mod code;
mod cursor;
mod device;
mod digits;
mod email;
mod filter;
mod idempotency_key;
mod list;
mod page;
mod password;
mod placement;
mod sort_key;
mod task;
mod ticket;
mod timestamp;
mod token;

pub use change::{Change, ChangeSeq, Entry, FeedScope};
pub use code::OtpCode;
pub use cursor::PageCursor;
pub use device::Device;
pub use email::Email;
pub use filter::TaskFilter;
pub use idempotency_key::IdempotencyKey;
pub use list::{DEFAULT_LIST_NAME, List, ListName, MAX_LIST_NAME_CHARS, Owner};
pub use page::{MAX_PER_PAGE, PageRequest};
pub use password::Password;
pub use placement::Placement;
pub use sort_key::SortKey;
pub use task::{Task, TaskChanges, TaskDate, TaskStatus, TaskText};
pub use ticket::EventTicket;
pub use timestamp::Timestamp;
pub use token::{ChallengeId, RefreshToken, SessionId, SessionToken};

/// Why a value was refused, in words a client can act on (the caller names the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
