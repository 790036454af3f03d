//! A SQLite file as the release before lists left it (migrations 0001..=0012), written with
//! rusqlite, for the story that upgrades it (`lists_migration.rs`).

use crate::support::PASSWORD;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;

/// The schema the previous release ran on: migrations 0001 to 0012, in order.
pub const PREVIOUS_RELEASE: [&str; 12] = [
    include_str!("../../../migrations/sqlite/0001_init.sql"),
    include_str!("../../../migrations/sqlite/0002_ids_and_failures.sql"),
    include_str!("../../../migrations/sqlite/0003_accounts.sql"),
    include_str!("../../../migrations/sqlite/0004_task_versions.sql"),
    include_str!("../../../migrations/sqlite/0005_filters.sql"),
    include_str!("../../../migrations/sqlite/0006_idempotency.sql"),
    include_str!("../../../migrations/sqlite/0007_changes.sql"),
    include_str!("../../../migrations/sqlite/0008_change_trigger_of_version.sql"),
    include_str!("../../../migrations/sqlite/0009_mail_queue.sql"),
    include_str!("../../../migrations/sqlite/0010_idempotency_compressed.sql"),
    include_str!("../../../migrations/sqlite/0011_sign_ins.sql"),
    include_str!("../../../migrations/sqlite/0012_event_tickets.sql"),
];

pub const ALICE: &str = "alice@example.com";
pub const ALICE_ID: i64 = 3;
pub const BOB: &str = "bob@example.com";
pub const BOB_ID: i64 = 5;

/// What the old file held, read back from it before the upgrade.
pub struct OldFile {
    /// Each user's `change_seq`: the position a client that saw everything holds.
    pub alice_seq: i64,
    pub bob_seq: i64,
    /// Alice's `change_seq` after the highest task was deleted, before the middle one was.
    pub before_middle_delete: i64,
    /// Task ids in each user's stored order.
    pub alice_order: Vec<i64>,
    pub bob_order: Vec<i64>,
    /// Alice's completed tasks, in her order.
    pub alice_completed: Vec<i64>,
    /// `sqlite_sequence` for tasks: the highest id ever handed out.
    pub task_seq: i64,
    /// Every task's version.
    pub versions: BTreeMap<i64, i64>,
    /// Alice's feed: task id → (seq, deleted).
    pub alice_feed: BTreeMap<i64, (i64, bool)>,
    /// The deleted tasks: the highest id, and one in the middle.
    pub highest: i64,
    pub middle: i64,
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since_epoch.as_millis()).unwrap()
}

fn integer(db: &Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn ids(db: &Connection, sql: &str) -> Vec<i64> {
    let mut stmt = db.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Writes, at `path`, a database as the previous release left it: migrations 0001..=0012 run
/// as listo runs them (foreign keys off), `user_version` 12, then two users and their tasks
/// written through SQL the old schema allows, its triggers numbering the feed and counting the
/// completed tasks. The sign-in secret and one live sign-in of `carrier`'s (a file listo wrote,
/// schema unchanged by 0013) are copied in, the sign-in made Alice's.
pub fn write_previous_release_database(path: &Path, carrier: &Path) -> OldFile {
    use argon2::password_hash::PasswordHasher as _;
    let db = Connection::open(path).unwrap();
    db.pragma_update(None, "foreign_keys", false).unwrap();
    for sql in PREVIOUS_RELEASE {
        db.execute_batch(sql).unwrap();
    }
    db.pragma_update(None, "user_version", 12).unwrap();
    db.pragma_update(None, "foreign_keys", true).unwrap();

    let hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    let start = now_ms() - 3_600_000;
    db.execute(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES (?1, ?2, ?5, ?6),
                                                                      (?3, ?4, ?5, ?6)",
        rusqlite::params![ALICE_ID, ALICE, BOB_ID, BOB, hash, start],
    )
    .unwrap();

    // Ids 1..=9 in this order of inserts: Alice 1, 2, 3, 5, 6, 8, 9; Bob 4, 7.
    let owners = [
        ALICE_ID, ALICE_ID, ALICE_ID, BOB_ID, ALICE_ID, ALICE_ID, BOB_ID, ALICE_ID, ALICE_ID,
    ];
    // Stored orders that differ from id order.
    let alice_positions = [6, 1, 9, 3, 8, 2, 5];
    let bob_positions = [7, 4];
    let completed = [2, 6, 9];
    let alice_keys = listo::domain::SortKey::spread(alice_positions.len());
    let bob_keys = listo::domain::SortKey::spread(bob_positions.len());
    let key_of = |id: i64| -> String {
        let (positions, keys): (&[i64], _) = if owners[id as usize - 1] == ALICE_ID {
            (&alice_positions, &alice_keys)
        } else {
            (&bob_positions, &bob_keys)
        };
        let at = positions.iter().position(|&p| p == id).unwrap();
        keys[at].as_str().to_owned()
    };
    for (n, owner) in owners.iter().enumerate() {
        let id = n as i64 + 1;
        let at = start + id * 1000;
        let status = if completed.contains(&id) {
            "Completed"
        } else {
            "Incomplete"
        };
        db.execute(
            "INSERT INTO tasks (user_id, date, text, status, sort_key, created_at, updated_at)
             VALUES (?1, '2026-03-01', ?2, ?3, ?4, ?5, ?5)",
            rusqlite::params![owner, format!("task {id}"), status, key_of(id), at],
        )
        .unwrap();
        assert_eq!(db.last_insert_rowid(), id, "ids handed out in insert order");
    }

    // The highest id goes (a completed one), then one in the middle; then edits, each a new
    // version the old trigger renumbers in the feed.
    let (highest, middle) = (9, 3);
    db.execute("DELETE FROM tasks WHERE id = ?1", [highest])
        .unwrap();
    let before_middle_delete = integer(
        &db,
        &format!("SELECT change_seq FROM users WHERE id = {ALICE_ID}"),
    );
    db.execute("DELETE FROM tasks WHERE id = ?1", [middle])
        .unwrap();
    let edited = start + 20_000;
    for (sql, at) in [
        (
            "UPDATE tasks SET text = 'task 5, edited', version = version + 1, updated_at = ?1
             WHERE id = 5",
            edited,
        ),
        (
            "UPDATE tasks SET text = 'task 5, edited twice', version = version + 1,
                              updated_at = ?1
             WHERE id = 5",
            edited + 1000,
        ),
        (
            "UPDATE tasks SET status = 'Completed', version = version + 1, updated_at = ?1
             WHERE id = 1",
            edited + 2000,
        ),
    ] {
        db.execute(sql, [at]).unwrap();
    }
    // The old release kept `task_count` in its code, not by trigger.
    db.execute_batch(
        "UPDATE users SET task_count = (SELECT count(*) FROM tasks t WHERE t.user_id = users.id)",
    )
    .unwrap();

    // A sign-in that lasts across the upgrade: the secret its token is hashed with, and its row.
    db.execute("ATTACH DATABASE ?1 AS carrier", [carrier.to_str().unwrap()])
        .unwrap();
    db.execute_batch(
        "INSERT INTO settings (key, value)
             SELECT key, value FROM carrier.settings WHERE key = 'hash_secret'",
    )
    .unwrap();
    let columns: Vec<String> = {
        let mut stmt = db
            .prepare("SELECT name FROM pragma_table_info('sessions', 'main')")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let picked: Vec<String> = columns
        .iter()
        .map(|c| {
            if c == "user_id" {
                ALICE_ID.to_string()
            } else {
                c.clone()
            }
        })
        .collect();
    let copied = db
        .execute(
            &format!(
                "INSERT INTO main.sessions ({}) SELECT {} FROM carrier.sessions",
                columns.join(", "),
                picked.join(", ")
            ),
            [],
        )
        .unwrap();
    assert_eq!(copied, 1, "the carrier's one sign-in");
    db.execute_batch("DETACH DATABASE carrier").unwrap();
    assert_eq!(
        integer(&db, "SELECT count(*) FROM pragma_foreign_key_check"),
        0
    );

    let seq_of = |user: i64| {
        integer(
            &db,
            &format!("SELECT change_seq FROM users WHERE id = {user}"),
        )
    };
    let order_of = |user: i64| {
        ids(
            &db,
            &format!("SELECT id FROM tasks WHERE user_id = {user} ORDER BY sort_key"),
        )
    };
    let versions = {
        let mut stmt = db.prepare("SELECT id, version FROM tasks").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let alice_feed = {
        let mut stmt = db
            .prepare("SELECT task_id, seq, deleted FROM changes WHERE user_id = ?1")
            .unwrap();
        stmt.query_map([ALICE_ID], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let old = OldFile {
        alice_seq: seq_of(ALICE_ID),
        bob_seq: seq_of(BOB_ID),
        before_middle_delete,
        alice_order: order_of(ALICE_ID),
        bob_order: order_of(BOB_ID),
        alice_completed: ids(
            &db,
            &format!(
                "SELECT id FROM tasks WHERE user_id = {ALICE_ID} AND status = 'Completed'
                 ORDER BY sort_key"
            ),
        ),
        task_seq: integer(&db, "SELECT seq FROM sqlite_sequence WHERE name = 'tasks'"),
        versions,
        alice_feed,
        highest,
        middle,
    };

    // The old file is what the story needs.
    assert_eq!(old.alice_order, [6, 1, 8, 2, 5]);
    assert_eq!(old.bob_order, [7, 4]);
    assert_eq!(old.alice_completed, [6, 1, 2]);
    assert_eq!(
        (old.alice_seq, old.bob_seq),
        (12, 2),
        "7 inserts, 2 deletes, 3 edits"
    );
    assert_eq!(old.task_seq, 9);
    assert_eq!(integer(&db, "SELECT max(id) FROM tasks"), 8);
    assert_eq!(
        integer(
            &db,
            &format!("SELECT completed_count FROM users WHERE id = {ALICE_ID}")
        ),
        3
    );
    assert_eq!(old.alice_feed[&highest], (before_middle_delete, true));
    assert_eq!(old.alice_feed[&middle], (before_middle_delete + 1, true));
    old
}
