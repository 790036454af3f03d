//! The lists migration (0013) on a file the previous release left: every task joins its owner's
//! default list with its id, order, version and feed position kept, the id sequence goes on
//! past every id ever handed out, and the feed's triggers and counters work after it.

use crate::support::previous_release::*;
use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

stories!(sqlite => [
    a_file_written_by_the_previous_release_upgrades_with_every_task_in_the_default_list,
]);

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
