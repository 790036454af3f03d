//! Reading the whole database for `listo copy`.

use super::SqliteStore;
use crate::store::StoreError;
use crate::store::copy::{
    ChangeRecord, ListChangeRecord, ListRow, SessionRecord, Snapshot, TaskRow, UserRow,
};
use crate::store::rows::StoredChain;
use rusqlite::Connection;

impl SqliteStore {
    /// Every row `listo copy` moves, from one read transaction.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        self.readers
            .with_connection(|conn| {
                conn.execute_batch("BEGIN DEFERRED")?;
                let snapshot = read_all(conn);
                conn.execute_batch("COMMIT")?;
                snapshot
            })
            .await
    }
}

fn read_all(conn: &Connection) -> Result<Snapshot, StoreError> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut snapshot = Snapshot {
        settings: collect(conn, "SELECT key, value FROM settings", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?,
        users: collect(
            conn,
            "SELECT id, email, password_hash, created_at, task_count, change_seq,
                    changes_swept_seq, default_list_id
             FROM users ORDER BY id",
            [],
            |r| {
                Ok(UserRow {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    password_hash: r.get(2)?,
                    created_at: r.get(3)?,
                    task_count: r.get(4)?,
                    change_seq: r.get(5)?,
                    changes_swept_seq: r.get(6)?,
                    default_list_id: r.get(7)?,
                })
            },
        )?,
        lists: collect(
            conn,
            "SELECT id, owner_id, name, is_default, version, created_at, updated_at
             FROM lists ORDER BY id",
            [],
            |r| {
                Ok(ListRow {
                    id: r.get(0)?,
                    owner_id: r.get(1)?,
                    name: r.get(2)?,
                    is_default: r.get(3)?,
                    version: r.get(4)?,
                    created_at: r.get(5)?,
                    updated_at: r.get(6)?,
                })
            },
        )?,
        tasks: collect(
            conn,
            "SELECT id, user_id, date, text, status, sort_key, created_at, updated_at, version,
                    list_id
             FROM tasks ORDER BY list_id, sort_key",
            [],
            |r| {
                Ok(TaskRow {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    date: r.get(2)?,
                    text: r.get(3)?,
                    status: r.get(4)?,
                    sort_key: r.get(5)?,
                    created_at: r.get(6)?,
                    updated_at: r.get(7)?,
                    version: r.get(8)?,
                    list_id: r.get(9)?,
                })
            },
        )?,
        sessions: collect(
            conn,
            "SELECT token_hash, user_id, issued_at, expires_at, revoked_at, public_id,
                    user_agent, address, generation, refresh_hash, parent_hash, rotated_at,
                    parent_rotated_at, refresh_expires_at, max_age_at, last_used_at, grand_hash,
                    pair_for_parent, pair_for_grand, parent_key_wrap
             FROM sessions WHERE COALESCE(refresh_expires_at, expires_at) > ?1",
            [now_ms],
            |r| {
                Ok(SessionRecord {
                    token_hash: r.get(0)?,
                    user_id: r.get(1)?,
                    issued_at: r.get(2)?,
                    expires_at: r.get(3)?,
                    revoked_at: r.get(4)?,
                    public_id: r.get(5)?,
                    user_agent: r.get(6)?,
                    address: r.get(7)?,
                    chain: StoredChain {
                        generation: r.get(8)?,
                        refresh_hash: r.get(9)?,
                        parent_hash: r.get(10)?,
                        rotated_at: r.get(11)?,
                        parent_rotated_at: r.get(12)?,
                        refresh_expires_at: r.get(13)?,
                        max_age_at: r.get(14)?,
                        grand_hash: r.get(16)?,
                        pair_for_parent: r.get(17)?,
                        pair_for_grand: r.get(18)?,
                        parent_key_wrap: r.get(19)?,
                    },
                    last_used_at: r.get(15)?,
                })
            },
        )?,
        changes: collect(
            conn,
            "SELECT user_id, list_id, task_id, seq, deleted, moved, at FROM changes",
            [],
            |r| {
                Ok(ChangeRecord {
                    user_id: r.get(0)?,
                    list_id: r.get(1)?,
                    task_id: r.get(2)?,
                    seq: r.get(3)?,
                    deleted: r.get(4)?,
                    moved: r.get(5)?,
                    at: r.get(6)?,
                })
            },
        )?,
        list_changes: collect(
            conn,
            "SELECT user_id, list_id, seq, deleted, at FROM list_changes",
            [],
            |r| {
                Ok(ListChangeRecord {
                    user_id: r.get(0)?,
                    list_id: r.get(1)?,
                    seq: r.get(2)?,
                    deleted: r.get(3)?,
                    at: r.get(4)?,
                })
            },
        )?,
        ..Snapshot::default()
    };
    // AUTOINCREMENT keeps the highest id ever handed out, deleted rows included.
    for (table, last) in [
        ("users", &mut snapshot.last_user_id),
        ("tasks", &mut snapshot.last_task_id),
        ("lists", &mut snapshot.last_list_id),
    ] {
        let issued: Vec<i64> = collect(
            conn,
            "SELECT seq FROM sqlite_sequence WHERE name = ?1",
            [table],
            |r| r.get(0),
        )?;
        let present: i64 = conn.query_row(
            &format!("SELECT COALESCE(MAX(id), 0) FROM {table}"),
            [],
            |r| r.get(0),
        )?;
        *last = issued.into_iter().fold(present, i64::max);
    }
    Ok(snapshot)
}

fn collect<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(params, row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
