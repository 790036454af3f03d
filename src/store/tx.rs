//! The store interface: what one transaction can do, engine by engine the same.
//!
//! Every method takes `&mut self`: a transaction is used by one caller at a time, and an engine's
//! transaction need not be shareable between threads to be sent to one.

use super::StoreError;
use super::rows::{
    Challenge, Device, IdempotencyRecord, LiveSession, Purpose, RefreshState, Revoked, SessionRow,
    Side, SignInRow, StoredResponse, User,
};
use super::signals::Signal;
use crate::domain::{
    Change, ChangeSeq, FeedScope, List, ListName, SortKey, Task, TaskChanges, TaskDate, TaskFilter,
    TaskStatus, TaskText,
};
use async_trait::async_trait;

/// One transaction on either engine: everything the service layer may ask of storage.
pub trait Tx:
    Users
    + Challenges
    + Sessions
    + Failures
    + Settings
    + ListRows
    + TaskRows
    + Idempotency
    + Changes
    + MailQueue
    + Tickets
{
}

impl<T> Tx for T where
    T: Users
        + Challenges
        + Sessions
        + Failures
        + Settings
        + ListRows
        + TaskRows
        + Idempotency
        + Changes
        + MailQueue
        + Tickets
{
}

/// Accounts.
#[async_trait]
pub trait Users: Send {
    /// Inserts an account, or returns `None` when the email is already registered.
    async fn insert_user(
        &mut self,
        email: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError>;
    /// The account with this email, if any.
    async fn user_by_email(&mut self, email: &str) -> Result<Option<User>, StoreError>;
    /// The account with this id, if any.
    async fn user_by_id(&mut self, id: i64) -> Result<Option<User>, StoreError>;
    /// Replaces the user's password hash.
    async fn set_password(&mut self, user_id: i64, password_hash: &str) -> Result<(), StoreError>;
    /// Deletes the account with everything it owns (tasks, sessions, challenges); `false` when
    /// there was none.
    async fn delete_user(&mut self, user_id: i64) -> Result<bool, StoreError>;
}

/// Logins waiting for their emailed code.
#[async_trait]
pub trait Challenges: Send {
    /// Stores a new challenge.
    async fn insert_challenge(&mut self, id: &str, challenge: &Challenge)
    -> Result<(), StoreError>;
    /// The challenge with this id, held until the transaction ends (two verifies of one
    /// challenge take turns, on any process).
    async fn challenge(&mut self, id: &str) -> Result<Option<Challenge>, StoreError>;
    /// Records how many wrong codes remain.
    async fn set_attempts_left(&mut self, id: &str, attempts_left: u32) -> Result<(), StoreError>;
    /// Ends the user's live challenges for `purpose` (every purpose when `None`): their codes
    /// answer `code_expired` from now on.
    async fn end_challenges_of(
        &mut self,
        user_id: i64,
        purpose: Option<Purpose>,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Removes a challenge (used: a code works once).
    async fn delete_challenge(&mut self, id: &str) -> Result<(), StoreError>;
    /// Deletes challenges that expired before `before_ms`; returns how many.
    async fn delete_expired_challenges(&mut self, before_ms: i64) -> Result<usize, StoreError>;
}

/// Sessions, stored as keyed hashes of their tokens.
#[async_trait]
pub trait Sessions: Send {
    /// Stores a new session (its `email` is the user's and is not stored again).
    async fn insert_session(
        &mut self,
        token_hash: &[u8; 32],
        row: &SessionRow,
        device: &Device,
    ) -> Result<(), StoreError>;
    /// The session with this token hash, with its user's email.
    async fn session(&mut self, token_hash: &[u8; 32]) -> Result<Option<SessionRow>, StoreError>;
    /// Marks a session logged out; the row stays until it expires so a reuse reads as revoked.
    async fn revoke_session(
        &mut self,
        token_hash: &[u8; 32],
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// The user's sessions neither revoked nor expired at `now_ms`, oldest first.
    async fn live_sessions(
        &mut self,
        user_id: i64,
        now_ms: i64,
    ) -> Result<Vec<LiveSession>, StoreError>;
    /// Revokes the user's live session with this public id; `None` when there is none.
    async fn revoke_session_by_id(
        &mut self,
        user_id: i64,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<Revoked>, StoreError>;
    /// Revokes every session of the user live at `now_ms` and opened by then, but `except`
    /// (a revocation stored late ends none opened after it was asked); returns those it revoked.
    async fn revoke_sessions_of(
        &mut self,
        user_id: i64,
        except: Option<&[u8; 32]>,
        now_ms: i64,
    ) -> Result<Vec<Revoked>, StoreError>;
    /// Deletes sign-ins that ended before `before_ms`; returns how many.
    async fn delete_expired_sessions(&mut self, before_ms: i64) -> Result<usize, StoreError>;
    /// The sign-in with this public id; `for_update` (writes only) holds its row until commit
    /// on engines where several writers may race.
    async fn sign_in(
        &mut self,
        id: &str,
        for_update: bool,
    ) -> Result<Option<SignInRow>, StoreError>;
    /// Gives the sign-in a new current access token (`token_hash`, expiring at
    /// `expires_at_ms`) and refresh state, used at `now_ms`.
    async fn set_sign_in_tokens(
        &mut self,
        id: &str,
        token_hash: &[u8; 32],
        expires_at_ms: i64,
        refresh: &RefreshState,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Records that the sign-in was used to get its tokens again at `now_ms`.
    async fn touch_sign_in(&mut self, id: &str, now_ms: i64) -> Result<(), StoreError>;
}

/// Event tickets: one-use keys a browser's `EventSource` opens a stream with, each bound to
/// a sign-in (its public id) and stored as a keyed hash.
#[async_trait]
pub trait Tickets: Send {
    /// Stores a ticket of the sign-in `sign_in`, then drops that sign-in's oldest tickets past
    /// the newest `keep`.
    async fn insert_ticket(
        &mut self,
        ticket_hash: &[u8; 32],
        sign_in: &str,
        expires_at_ms: i64,
        keep: u32,
    ) -> Result<(), StoreError>;
    /// Deletes the ticket with this hash in one statement (of two takers at once, one gets
    /// it) and returns its sign-in's public id and its expiry.
    async fn take_ticket(
        &mut self,
        ticket_hash: &[u8; 32],
    ) -> Result<Option<(String, i64)>, StoreError>;
    /// Deletes tickets that expired before `before_ms`; returns how many.
    async fn delete_expired_tickets(&mut self, before_ms: i64) -> Result<usize, StoreError>;
}

/// Failed sign-ins and wrong codes, counted over sliding windows.
#[async_trait]
pub trait Failures: Send {
    /// Records one failure under each `(scope, key)`.
    async fn record_failures(
        &mut self,
        keys: &[(&str, &str)],
        at_ms: i64,
    ) -> Result<(), StoreError>;
    /// When `limit` or more failures fall after `since_ms`: the time of the one that has to
    /// leave the window before another attempt fits (the `limit`-th newest).
    async fn failure_limit_reached_at(
        &mut self,
        scope: &str,
        key: &str,
        since_ms: i64,
        limit: u32,
    ) -> Result<Option<i64>, StoreError>;
    /// Deletes failures older than `before_ms`; returns how many.
    async fn delete_failures_before(&mut self, before_ms: i64) -> Result<usize, StoreError>;
}

/// Idempotency keys: what a retried write answers.
#[async_trait]
pub trait Idempotency: Send {
    /// The record of the user's key, held until the transaction ends.
    async fn idempotency_record(
        &mut self,
        user_id: i64,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Takes the key for a run (`claim`), replacing a stalled run's hold.
    async fn claim_idempotency(
        &mut self,
        user_id: i64,
        key: &str,
        fingerprint: &[u8; 32],
        claim: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Stores the response of the run that holds the key, compressed, and counts its bytes in
    /// the user's total.
    async fn complete_idempotency(
        &mut self,
        user_id: i64,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError>;
    /// Lets go of a key whose run failed, if `claim` still holds it and it has no response.
    async fn release_idempotency(
        &mut self,
        user_id: i64,
        key: &str,
        claim: &str,
    ) -> Result<(), StoreError>;
    /// Deletes keys taken before `before_ms`; returns how many.
    async fn delete_idempotency_before(&mut self, before_ms: i64) -> Result<usize, StoreError>;
    /// Bytes the user's kept answers take as stored, leaving out those taken before
    /// `expired_before_ms` (past their day, not yet swept).
    async fn kept_answer_bytes(
        &mut self,
        user_id: i64,
        expired_before_ms: i64,
    ) -> Result<u64, StoreError>;
    /// When the user's oldest answer still kept (taken at or after `expired_before_ms`) was
    /// taken, in Unix ms.
    async fn oldest_kept_answer(
        &mut self,
        user_id: i64,
        expired_before_ms: i64,
    ) -> Result<Option<i64>, StoreError>;
}

/// Server-wide settings.
#[async_trait]
pub trait Settings: Send {
    /// The stored hashing secret; `candidate` becomes it when none is stored yet (the first
    /// process to store one wins, and every process reads the same).
    async fn secret_or_insert(&mut self, candidate: [u8; 32]) -> Result<[u8; 32], StoreError>;
    /// Rewrites the readiness probe's one row with `now_ms`: a real, durable write.
    async fn touch_probe(&mut self, now_ms: i64) -> Result<(), StoreError>;
}

/// Lists, each owned by one user. Every statement is scoped by the owner: another user's list
/// id reaches no row.
#[async_trait]
pub trait ListRows: Send {
    /// Makes a list of `owner` (the default one when `is_default`: the account's first).
    async fn insert_list(
        &mut self,
        owner: i64,
        name: &ListName,
        is_default: bool,
        now_ms: i64,
    ) -> Result<List, StoreError>;
    /// The user's list with this id.
    async fn list(&mut self, user_id: i64, id: i64) -> Result<Option<List>, StoreError>;
    /// Every list of the user: the default first, then by creation.
    async fn lists(&mut self, user_id: i64) -> Result<Vec<List>, StoreError>;
    /// Renames the user's list (one more version); `None` when there is no such list.
    async fn rename_list(
        &mut self,
        user_id: i64,
        id: i64,
        name: &ListName,
        now_ms: i64,
    ) -> Result<Option<List>, StoreError>;
    /// Deletes one of the user's lists that is not the default, with its tasks (uncounted
    /// from the owner's total); `false` when there was none.
    async fn delete_list(&mut self, user_id: i64, id: i64) -> Result<bool, StoreError>;
    /// How many lists the user owns.
    async fn count_lists(&mut self, user_id: i64) -> Result<u64, StoreError>;
    /// How many tasks the user's lists hold between them (what the task quota counts).
    async fn owned_tasks(&mut self, user_id: i64) -> Result<u64, StoreError>;
}

/// Tasks and the order keys that place each in its list. A task read, changed or deleted by
/// id is scoped by its owner (`user_id`); everything about an order is scoped by the list, which
/// the service has found the caller may use.
#[async_trait]
pub trait TaskRows: Send {
    /// Holds the list until the transaction ends: writers to one list take turns (on every
    /// process), so two of them never compute keys from the same old order.
    async fn hold_list(&mut self, list_id: i64) -> Result<(), StoreError>;
    /// Inserts a task of `owner` into `list_id` at `key` and counts it.
    async fn insert_task(
        &mut self,
        owner: i64,
        list_id: i64,
        new: NewTask<'_>,
        now_ms: i64,
    ) -> Result<Task, StoreError>;
    /// The user's task with this id.
    async fn task(&mut self, user_id: i64, id: i64) -> Result<Option<Task>, StoreError>;
    /// Applies the present fields of `changes`, and moves the task to another list at a key
    /// when `to` is set; `None` when the user has no such task.
    async fn update_task(
        &mut self,
        user_id: i64,
        id: i64,
        changes: &TaskChanges,
        to: Option<(i64, &SortKey)>,
        now_ms: i64,
    ) -> Result<Option<Task>, StoreError>;
    /// Deletes the user's task and uncounts it; `false` when there was none.
    async fn delete_task(&mut self, user_id: i64, id: i64) -> Result<bool, StoreError>;
    /// How many of the list's tasks `filter` lets through, and up to `limit` of them in the
    /// list's order after `key` (from the start when `None`): a range read of an index in that
    /// order, the same cost at any depth. One statement on PostgreSQL, so a page needs no
    /// transaction there ([`crate::store::Store::tasks_after`]).
    async fn tasks_after(
        &mut self,
        list_id: i64,
        key: Option<&SortKey>,
        limit: u32,
        filter: &TaskFilter,
    ) -> Result<(u64, Vec<Task>), StoreError>;
    /// How many of the list's tasks `filter` lets through: counters for everything and for a
    /// status alone, an index range for dates.
    async fn count_tasks(&mut self, list_id: i64, filter: &TaskFilter) -> Result<u64, StoreError>;
    /// The ids and keys of the `limit` tasks after the first `offset` in the list's order.
    async fn page_keys(
        &mut self,
        list_id: i64,
        offset: i64,
        limit: u32,
    ) -> Result<Vec<(i64, SortKey)>, StoreError>;
    /// The key of the task at position `offset` (0-based) in the list's order of the tasks
    /// `filter` lets through.
    async fn key_at(
        &mut self,
        list_id: i64,
        offset: i64,
        filter: &TaskFilter,
    ) -> Result<Option<SortKey>, StoreError>;
    /// The key of one of the list's tasks.
    async fn key_of(&mut self, list_id: i64, id: i64) -> Result<Option<SortKey>, StoreError>;
    /// The nearest key on `side` of `key` (of the whole list when `None`), ignoring task `skip`
    /// so a task being moved is not its own neighbour.
    async fn neighbour(
        &mut self,
        list_id: i64,
        key: Option<&SortKey>,
        side: Side,
        skip: i64,
    ) -> Result<Option<SortKey>, StoreError>;
    /// The ids among `ids` that are in the list.
    async fn in_list(&mut self, list_id: i64, ids: &[i64]) -> Result<Vec<i64>, StoreError>;
    /// Gives each listed task of the list its new key (no other task of the list may hold it
    /// after), one more version, and a new `updated_at` when `touched_ms` is set (a change the
    /// user made). List only tasks whose key changes.
    async fn set_keys(
        &mut self,
        list_id: i64,
        keys: &[(i64, SortKey)],
        touched_ms: Option<i64>,
    ) -> Result<(), StoreError>;
    /// The ids of all the list's tasks, in order (for respacing keys).
    async fn order(&mut self, list_id: i64) -> Result<Vec<i64>, StoreError>;
}

/// The change feed, which the database keeps itself (every write to a task records it), and
/// the signals that wake live streams.
#[async_trait]
pub trait Changes: Send {
    /// Up to `limit` of the user's changes in `scope` after `since`, oldest first, each with
    /// its task or list as it is now.
    async fn changes_after(
        &mut self,
        user_id: i64,
        scope: FeedScope,
        since: ChangeSeq,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError>;
    /// The bounds of the user's feed; `None` when there is no such user.
    async fn change_horizon(&mut self, user_id: i64) -> Result<Option<Horizon>, StoreError>;
    /// Deletes tombstones of tasks deleted before `before_ms`, remembering for each user the
    /// newest number that went; returns how many.
    async fn sweep_tombstones(&mut self, before_ms: i64) -> Result<usize, StoreError>;
    /// Wakes the user's live streams, on every process, once this transaction commits (never
    /// when it rolls back).
    async fn announce(&mut self, user_id: i64, signal: Signal) -> Result<(), StoreError>;
}

/// The bounds of a user's change feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon {
    /// The newest change.
    pub latest: ChangeSeq,
    /// The newest change swept away: a client that holds less has missed a delete.
    pub swept: ChangeSeq,
}

/// A task about to be stored.
#[derive(Debug, Clone, Copy)]
pub struct NewTask<'a> {
    /// The day it is for.
    pub date: TaskDate,
    /// What to do.
    pub text: &'a TaskText,
    /// Done or not.
    pub status: TaskStatus,
    /// Its place.
    pub key: &'a SortKey,
}

/// Password-reset emails waiting to be sent, one per reset challenge. No code is kept: the
/// sender derives it again from the server secret and the challenge id.
#[async_trait]
pub trait MailQueue: Send {
    /// Queues the email of challenge `challenge_id`, due at `now_ms`.
    async fn queue_mail(&mut self, challenge_id: &str, now_ms: i64) -> Result<(), StoreError>;
    /// When the earliest queued email is due (or its lease ends); `None` when none is queued.
    async fn next_mail_due(&mut self) -> Result<Option<i64>, StoreError>;
    /// Takes up to `limit` emails due at `now_ms`, earliest first, skipping any another worker
    /// is taking this moment: each counts one attempt more and is not due again before
    /// `lease_until_ms`, so no other worker (on any process) sends it meanwhile.
    async fn claim_mails(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError>;
    /// Makes a claimed email due again at `due_ms` (after a failed attempt).
    async fn retry_mail(&mut self, challenge_id: &str, due_ms: i64) -> Result<(), StoreError>;
    /// Removes an email from the queue (sent, or dropped).
    async fn delete_mail(&mut self, challenge_id: &str) -> Result<(), StoreError>;
}

/// A queued email just claimed, with its challenge as it is now.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    /// The challenge whose code it carries.
    pub challenge_id: String,
    /// Attempts so far, the one just claimed included.
    pub attempts: u32,
    /// The challenge; `None` if it is gone.
    pub challenge: Option<Challenge>,
}
