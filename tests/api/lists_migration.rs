//! The lists migration (0013) on a file the previous release left: every task joins its owner's
//! default list with its id, order, version and feed position kept, the id sequence goes on
//! past every id ever handed out, and the feed's triggers and counters work after it.

use crate::support::*;
use reqwest::Method;
use rusqlite::Connection;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

stories!(sqlite => [
    a_file_written_by_the_previous_release_upgrades_with_every_task_in_the_default_list,
]);

/// The schema the previous release ran on: migrations 0001 to 0012, in order.
const PREVIOUS_RELEASE: [&str; 12] = [
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_ids_and_failures.sql"),
    include_str!("../../migrations/sqlite/0003_accounts.sql"),
    include_str!("../../migrations/sqlite/0004_task_versions.sql"),
    include_str!("../../migrations/sqlite/0005_filters.sql"),
    include_str!("../../migrations/sqlite/0006_idempotency.sql"),
    include_str!("../../migrations/sqlite/0007_changes.sql"),
    include_str!("../../migrations/sqlite/0008_change_trigger_of_version.sql"),
    include_str!("../../migrations/sqlite/0009_mail_queue.sql"),
    include_str!("../../migrations/sqlite/0010_idempotency_compressed.sql"),
    include_str!("../../migrations/sqlite/0011_sign_ins.sql"),
    include_str!("../../migrations/sqlite/0012_event_tickets.sql"),
];

const ALICE: &str = "alice@example.com";
const ALICE_ID: i64 = 3;
const BOB: &str = "bob@example.com";
const BOB_ID: i64 = 5;

/// What the old file held, read back from it before the upgrade.
struct OldFile {
    /// Each user's `change_seq`: the position a client that saw everything holds.
    alice_seq: i64,
    bob_seq: i64,
    /// Alice's `change_seq` after the highest task was deleted, before the middle one was.
    before_middle_delete: i64,
    /// Task ids in each user's stored order.
    alice_order: Vec<i64>,
    bob_order: Vec<i64>,
    /// Alice's completed tasks, in her order.
    alice_completed: Vec<i64>,
    /// `sqlite_sequence` for tasks: the highest id ever handed out.
    task_seq: i64,
    /// Every task's version.
    versions: BTreeMap<i64, i64>,
    /// Alice's feed: task id → (seq, deleted).
    alice_feed: BTreeMap<i64, (i64, bool)>,
    /// The deleted tasks: the highest id, and one in the middle.
    highest: i64,
    middle: i64,
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
fn write_previous_release_database(path: &Path, carrier: &Path) -> OldFile {
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

/// The whole of a feed (`/v1/tasks/changes` or `/v1/changes`) after `since` (from the start
/// when `None`), read 500 at a time: its entries, oldest first.
async fn feed(app: &TestApp, token: &str, path: &str, since: Option<i64>) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut since = since.map(|s| s.to_string());
    loop {
        let query = match &since {
            Some(s) => format!("{path}?limit=500&since={s}"),
            None => format!("{path}?limit=500"),
        };
        let resp = app.get(&query, token).await;
        assert_eq!(resp.status(), 200, "GET {query}");
        let page = body(resp).await;
        entries.extend(page["changes"].as_array().unwrap().iter().cloned());
        if page["has_more"] != true {
            return entries;
        }
        since = Some(page["next_since"].as_str().unwrap().to_owned());
    }
}

/// `(kind, id)` of each entry, in order.
fn kinds_and_ids(entries: &[Value]) -> Vec<(String, i64)> {
    entries
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["id"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The caller's lists, as `GET /v1/lists` shows them.
async fn lists(app: &TestApp, token: &str) -> Vec<Value> {
    let resp = app.get("/v1/lists", token).await;
    assert_eq!(resp.status(), 200, "GET /v1/lists");
    body(resp).await["items"].as_array().unwrap().clone()
}

/// `GET /v1/tasks?status=Completed`: the ids in order and the total.
async fn completed(app: &TestApp, token: &str) -> (Vec<i64>, u64) {
    let resp = app
        .get("/v1/tasks?status=Completed&per_page=100", token)
        .await;
    assert_eq!(resp.status(), 200);
    let page = body(resp).await;
    (ids_of(&page), page["total_items"].as_u64().unwrap())
}

async fn a_file_written_by_the_previous_release_upgrades_with_every_task_in_the_default_list() {
    let mut app = spawn_app().await;
    // A sign-in listo stores as the previous release did (0013 leaves `sessions` as it was):
    // its row is moved into the old file as Alice's, to be used after the upgrade.
    let carried = app.sign_in_as("carrier@example.com").await;
    app.stop().await;
    let staging = app.db_path().with_file_name("previous-release.db");
    let old = write_previous_release_database(&staging, app.db_path());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", app.db_path().display()));
    }
    std::fs::rename(&staging, app.db_path()).unwrap();
    app.restart().await;
    assert_eq!(
        app.db().integer("PRAGMA user_version").await,
        13,
        "migrated"
    );

    // The sign-in from before the upgrade still works, as Alice's.
    let resp = app.get("/v1/auth/session", &carried.token).await;
    assert_eq!(resp.status(), 200, "a sign-in from before the upgrade");
    let session = body(resp).await;
    assert_eq!(session["user"]["id"], ALICE_ID);
    assert_eq!(session["user"]["email"], ALICE);
    // And a fresh one, through the emailed code.
    let alice = app.sign_in_again(ALICE).await.token;

    // One list, the default, holding every task.
    let mine = lists(&app, &alice).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    let list = &mine[0];
    assert_eq!(list["default"], true);
    assert_eq!(list["name"], "Tasks");
    assert_eq!(list["role"], "owner");
    assert_eq!(list["version"], 1);
    assert_eq!(list["task_count"], old.alice_order.len());
    assert_eq!(list["owner"], json!({"id": ALICE_ID, "email": ALICE}));
    let list_id = list["id"].as_i64().unwrap();
    assert_eq!(
        lists(&app, &carried.token).await,
        mine,
        "the carried sign-in"
    );

    // The same tasks in the same order, each in the default list with its version kept.
    assert_eq!(app.list_all(&alice).await, old.alice_order);
    let page = app.list(&alice, 1, 100).await;
    for task in page["items"].as_array().unwrap() {
        let id = task["id"].as_i64().unwrap();
        assert_eq!(task["list_id"], list_id, "task {id}");
        assert_eq!(task["version"], old.versions[&id], "task {id}");
    }
    assert_eq!(app.task(&alice, 5).await["task"], "task 5, edited twice");
    // The completed counter moved to the list.
    let (done, total) = completed(&app, &alice).await;
    assert_eq!(done, old.alice_completed);
    assert_eq!(total, old.alice_completed.len() as u64);

    // The default list's feed: every old position kept, the list's own entry not in it.
    let tasks_feed = feed(&app, &alice, "/v1/tasks/changes", None).await;
    let positions: BTreeMap<i64, (i64, bool)> = tasks_feed
        .iter()
        .map(|e| {
            let id = e["id"].as_i64().unwrap();
            (id, (e["seq"].as_i64().unwrap(), e["kind"] == "delete"))
        })
        .collect();
    assert_eq!(positions, old.alice_feed, "{tasks_feed:?}");

    // Everything: the default list once, after what was there, then the tasks with their list.
    let everything = feed(&app, &alice, "/v1/changes", None).await;
    let list_entries: Vec<&Value> = everything
        .iter()
        .filter(|e| e["kind"] == "list_upsert")
        .collect();
    assert_eq!(list_entries.len(), 1, "{everything:?}");
    assert_eq!(list_entries[0]["id"], list_id);
    assert_eq!(list_entries[0]["seq"], old.alice_seq + 1);
    assert_eq!(list_entries[0]["list"]["default"], true);
    let upserts: BTreeSet<i64> = everything
        .iter()
        .filter(|e| e["kind"] == "upsert")
        .map(|e| {
            assert_eq!(e["list_id"], list_id, "{e}");
            assert_eq!(e["task"]["list_id"], list_id, "{e}");
            e["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(upserts, old.alice_order.iter().copied().collect());
    let deletes: BTreeSet<i64> = everything
        .iter()
        .filter(|e| e["kind"] == "delete")
        .map(|e| {
            assert_eq!(e["list_id"], list_id, "{e}");
            e["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(deletes, BTreeSet::from([old.middle, old.highest]));
    assert_eq!(everything.len(), 1 + upserts.len() + deletes.len());

    // A new task goes past every id ever handed out, and is all that changed since the old end.
    let new = app.create_task(&alice, "after the upgrade").await;
    let new_id = new["id"].as_i64().unwrap();
    assert!(new_id > old.task_seq, "id {new_id} reuses one handed out");
    assert_eq!(new["list_id"], list_id);
    let after_old_end = feed(&app, &alice, "/v1/tasks/changes", Some(old.alice_seq)).await;
    assert_eq!(
        kinds_and_ids(&after_old_end),
        [("upsert".to_owned(), new_id)]
    );
    assert_eq!(after_old_end[0]["seq"], old.alice_seq + 2);
    // A client from before the middle delete sees it, and the edits after.
    let behind = feed(
        &app,
        &alice,
        "/v1/tasks/changes",
        Some(old.before_middle_delete),
    )
    .await;
    assert_eq!(
        kinds_and_ids(&behind),
        [
            ("delete".to_owned(), old.middle),
            ("upsert".to_owned(), 5),
            ("upsert".to_owned(), 1),
            ("upsert".to_owned(), new_id),
        ]
    );

    // Bob sees his list and his tasks only; his old position is his feed's end.
    let bob = app.sign_in_again(BOB).await.token;
    let his = lists(&app, &bob).await;
    assert_eq!(his.len(), 1, "{his:?}");
    assert_eq!(his[0]["owner"], json!({"id": BOB_ID, "email": BOB}));
    assert_eq!(his[0]["default"], true);
    assert_eq!(his[0]["task_count"], old.bob_order.len());
    let his_list = his[0]["id"].as_i64().unwrap();
    assert_ne!(his_list, list_id);
    assert_eq!(app.list_all(&bob).await, old.bob_order);
    for task in app.list(&bob, 1, 100).await["items"].as_array().unwrap() {
        assert_eq!(task["list_id"], his_list);
    }
    assert!(
        feed(&app, &bob, "/v1/tasks/changes", Some(old.bob_seq))
            .await
            .is_empty()
    );
    let his_everything = feed(&app, &bob, "/v1/changes", None).await;
    assert_eq!(
        kinds_and_ids(&his_everything),
        [
            ("upsert".to_owned(), 4),
            ("upsert".to_owned(), 7),
            ("list_upsert".to_owned(), his_list),
        ]
    );
    for id in &old.bob_order {
        let resp = app.get(&format!("/v1/tasks/{id}"), &alice).await;
        assert_problem(resp, 404, "task_not_found").await;
    }

    // The triggers were made again: a completion moves the list's completed count, a delete is
    // in the feed and takes the task off both counts.
    let end = old.alice_seq + 2;
    let resp = app
        .patch_task(&alice, 5, json!({"status": "Completed"}))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await["version"], old.versions[&5] + 1);
    let (_, total) = completed(&app, &alice).await;
    assert_eq!(total, old.alice_completed.len() as u64 + 1);
    assert_eq!(app.delete_task(&alice, 2).await.status(), 204);
    let (done, total) = completed(&app, &alice).await;
    assert_eq!(done, [6, 1, 5]);
    assert_eq!(total, 3);
    assert_eq!(
        kinds_and_ids(&feed(&app, &alice, "/v1/tasks/changes", Some(end)).await),
        [("upsert".to_owned(), 5), ("delete".to_owned(), 2)]
    );
    let mine = lists(&app, &alice).await;
    assert_eq!(
        mine[0]["task_count"],
        old.alice_order.len(),
        "one added, one deleted"
    );
    assert_eq!(app.list_all(&alice).await, [6, 1, 8, 5, new_id]);
    assert!(
        feed(&app, &bob, "/v1/changes", Some(old.bob_seq + 1))
            .await
            .is_empty(),
        "Alice's writes are not in Bob's feed"
    );

    // Nothing dangles, and the carried sign-in refreshes.
    assert_eq!(
        app.db()
            .integer("SELECT count(*) FROM pragma_foreign_key_check")
            .await,
        0
    );
    let resp = app.refresh(carried.refresh.as_deref().unwrap()).await;
    assert_eq!(resp.status(), 200, "the carried sign-in refreshes");
    let refreshed = body(resp).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app
        .send(Method::GET, "/v1/auth/session", None, Some(&refreshed))
        .await;
    assert_eq!(body(resp).await["user"]["email"], ALICE);
}
