//! `listo copy`: moves a SQLite database into an empty PostgreSQL one, rows as they are.
//!
//! Users keep their ids and password hashes, lists their ids and names, tasks their ids, lists,
//! keys and times, live sessions
//! their token hashes; the hashing secret comes along, so every copied token still opens its
//! session. Pending login and reset codes and failure counts are not copied: they live minutes;
//! nor are queued reset emails (`mail_queue`), whose rows belong to those challenges: a reset
//! asked for just before the copy is asked for again. The copy is one PostgreSQL transaction
//! that checks what it wrote before it commits, so a failed copy leaves the target as empty as
//! it found it.

use super::location::PostgresUrl;
use super::rows::StoredChain;
use super::{StoreError, postgres, sqlite};
use std::collections::BTreeMap;
use std::path::Path;

/// Every row that moves, read from the source in one snapshot.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Server-wide settings (the hashing secret), key → value.
    pub settings: Vec<(String, Vec<u8>)>,
    /// Accounts.
    pub users: Vec<UserRow>,
    /// Lists.
    pub lists: Vec<ListRow>,
    /// Tasks, grouped by list and in each list's order.
    pub tasks: Vec<TaskRow>,
    /// Sessions that have not expired (revoked ones too: they must stay revoked).
    pub sessions: Vec<SessionRecord>,
    /// Every feed row, so clients following the feed go on where they were.
    pub changes: Vec<ChangeRecord>,
    /// Every list feed row, likewise.
    pub list_changes: Vec<ListChangeRecord>,
    /// The highest user id ever handed out (deleted ones count: ids are never reused).
    pub last_user_id: i64,
    /// The highest task id ever handed out.
    pub last_task_id: i64,
    /// The highest list id ever handed out.
    pub last_list_id: i64,
}

/// A `lists` row (its counters are made again by the target's triggers as its tasks arrive).
#[derive(Debug, Clone)]
pub struct ListRow {
    /// Id.
    pub id: i64,
    /// Owner.
    pub owner_id: i64,
    /// Name.
    pub name: String,
    /// The owner's default list.
    pub is_default: bool,
    /// Version.
    pub version: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// A `users` row.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Id.
    pub id: i64,
    /// Email.
    pub email: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// Unix ms.
    pub created_at: i64,
    /// Tasks held.
    pub task_count: i64,
    /// The default list.
    pub default_list_id: Option<i64>,
    /// The newest number of the user's change feed.
    pub change_seq: i64,
    /// The newest feed number swept away.
    pub changes_swept_seq: i64,
}

/// A `changes` row: a task's latest change in a list, or its tombstone there.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    /// Whose feed.
    pub user_id: i64,
    /// The list.
    pub list_id: i64,
    /// The task.
    pub task_id: i64,
    /// Its number in the user's feed.
    pub seq: i64,
    /// A tombstone.
    pub deleted: bool,
    /// A tombstone left by a move to another list.
    pub moved: bool,
    /// Unix ms.
    pub at: i64,
}

/// A `list_changes` row: a list's latest change, or its tombstone.
#[derive(Debug, Clone)]
pub struct ListChangeRecord {
    /// Whose feed.
    pub user_id: i64,
    /// The list.
    pub list_id: i64,
    /// Its number in the user's feed.
    pub seq: i64,
    /// A tombstone.
    pub deleted: bool,
    /// Unix ms.
    pub at: i64,
}

/// A `tasks` row.
#[derive(Debug, Clone)]
pub struct TaskRow {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// The list it is in.
    pub list_id: i64,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Text.
    pub text: String,
    /// `Completed` / `Incomplete`.
    pub status: String,
    /// Order key.
    pub sort_key: String,
    /// Version.
    pub version: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// A `sessions` row.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// Keyed hash of the token.
    pub token_hash: Vec<u8>,
    /// Public id.
    pub public_id: String,
    /// `User-Agent` at verify.
    pub user_agent: Option<String>,
    /// Client address at verify.
    pub address: Option<String>,
    /// Owner.
    pub user_id: i64,
    /// Unix ms.
    pub issued_at: i64,
    /// Unix ms.
    pub expires_at: i64,
    /// Unix ms, when logged out.
    pub revoked_at: Option<i64>,
    /// Its refresh-token chain (all `None`/0 for a sign-in without refresh tokens).
    pub chain: StoredChain,
    /// Unix ms: its latest refresh (`None` before any).
    pub last_used_at: Option<i64>,
}

/// What a copy moved, as counted in the target after writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Users.
    pub users: usize,
    /// Lists.
    pub lists: usize,
    /// Tasks.
    pub tasks: usize,
    /// Sessions.
    pub sessions: usize,
}

impl Snapshot {
    /// Each list's task ids in order: what the target must show after the copy.
    pub fn orders(&self) -> BTreeMap<i64, Vec<i64>> {
        let mut orders: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for task in &self.tasks {
            orders.entry(task.list_id).or_default().push(task.id);
        }
        orders
    }

    fn counts(&self) -> Copied {
        Copied {
            users: self.users.len(),
            lists: self.lists.len(),
            tasks: self.tasks.len(),
            sessions: self.sessions.len(),
        }
    }
}

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The source file does not exist.
    #[error("{0}: no SQLite database there")]
    NoSource(String),
    /// The target already holds accounts or tasks.
    #[error(
        "the target database is not empty ({users} users, {tasks} tasks); copy into an empty one"
    )]
    TargetNotEmpty {
        /// Users found.
        users: i64,
        /// Tasks found.
        tasks: i64,
    },
    /// Read back, the target does not match the source.
    #[error("the copy does not match its source ({0}); nothing was written")]
    Mismatch(String),
    /// A database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Copies the SQLite database at `from` into the empty PostgreSQL database at `to`.
pub async fn sqlite_to_postgres(from: &Path, to: &PostgresUrl) -> Result<Copied, CopyError> {
    if !from.is_file() {
        return Err(CopyError::NoSource(from.display().to_string()));
    }
    // Opening takes the file's lock: a listo still serving it would go on writing after the
    // snapshot, so the copy refuses to start until it stops.
    let path = from.to_owned();
    let source =
        tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&path, super::QUEUE_DEPTH))
            .await
            .map_err(StoreError::from)??;
    let snapshot = source.snapshot().await?;
    let target = postgres::PgStore::open(to.expose(), 1, super::QUEUE_DEPTH).await?;
    target.restore(&snapshot).await?;
    Ok(snapshot.counts())
}

/// Compares what the target holds with the snapshot it was written from.
pub(crate) fn check(
    snapshot: &Snapshot,
    found: &Copied,
    orders: &BTreeMap<i64, Vec<i64>>,
) -> Result<(), CopyError> {
    let wanted = snapshot.counts();
    if *found != wanted {
        return Err(CopyError::Mismatch(format!(
            "wrote {wanted:?}, found {found:?}"
        )));
    }
    if *orders != snapshot.orders() {
        return Err(CopyError::Mismatch("a list's task order differs".into()));
    }
    Ok(())
}
