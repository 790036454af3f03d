//! The two feeds once there are lists: `/v1/tasks/changes` (and its stream) stays exactly the
//! default list, as `GET /v1/tasks` shows it; `/v1/changes` and `/v1/events` cover everything
//! the caller sees, numbered with the same positions, a deleted list being one entry.

use crate::support::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

stories!(sqlite, postgres => [
    the_default_lists_feed_shows_a_task_moved_out_as_deleted_and_back_in_as_upserted,
    a_client_applying_the_feed_of_everything_ends_with_every_list_and_task_get_shows,
    a_deleted_list_of_1000_tasks_is_one_list_removed_entry,
    positions_are_one_numbering_across_both_feeds,
    the_stream_of_everything_carries_list_and_task_events,
]);

/// The `(kind, id)` of each entry.
fn kinds(entries: &[Value]) -> Vec<(String, i64)> {
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

fn entry(kind: &str, id: i64) -> (String, i64) {
    (kind.to_owned(), id)
}

async fn the_default_lists_feed_shows_a_task_moved_out_as_deleted_and_back_in_as_upserted() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let default = app.default_list(token).await;
    let ids = app.create_tasks(token, 2).await;
    let list = app.create_list(token, "Elsewhere").await["id"]
        .as_i64()
        .unwrap();
    let since = app.changes_page(token, "").await["next_since"]
        .as_str()
        .unwrap()
        .to_owned();
    let away = app
        .create_task_in(token, list, "never in the default list")
        .await;

    assert_eq!(
        app.patch_task(token, ids[0], json!({"list_id": list}))
            .await
            .status(),
        200
    );
    let page = app.changes_page(token, &format!("since={since}")).await;
    let seen = kinds(page["changes"].as_array().unwrap());
    assert_eq!(
        seen,
        [entry("delete", ids[0])],
        "only the default list, and the move out"
    );
    let since = page["next_since"].as_str().unwrap().to_owned();

    assert_eq!(
        app.patch_task(token, ids[0], json!({"list_id": default}))
            .await
            .status(),
        200
    );
    let page = app.changes_page(token, &format!("since={since}")).await;
    let changes = page["changes"].as_array().unwrap();
    assert_eq!(kinds(changes), [entry("upsert", ids[0])]);
    assert_eq!(changes[0]["task"]["list_id"], default);
    // From the start, the default list's feed is exactly what GET /v1/tasks shows.
    let fresh = app.changes_page(token, "").await;
    let live: Vec<i64> = fresh["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "upsert")
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(live, [ids[1], ids[0]]);
    assert!(!live.contains(&away["id"].as_i64().unwrap()));
}

/// What a client of `/v1/changes` keeps: lists by id, tasks by id.
#[derive(Default)]
struct Everything {
    lists: BTreeMap<i64, Value>,
    tasks: BTreeMap<i64, Value>,
    since: Option<String>,
}

impl Everything {
    async fn sync(&mut self, app: &TestApp, token: &str) {
        let (entries, since) = app.feed_after(token, self.since.as_deref()).await;
        for e in entries {
            let id = e["id"].as_i64().unwrap();
            match e["kind"].as_str().unwrap() {
                "upsert" => {
                    assert_eq!(e["list_id"], e["task"]["list_id"]);
                    self.tasks.insert(id, e["task"].clone());
                }
                "delete" => {
                    self.tasks.remove(&id);
                }
                "list_upsert" => {
                    self.lists.insert(id, e["list"].clone());
                }
                "list_removed" => {
                    self.lists.remove(&id);
                    self.tasks.retain(|_, t| t["list_id"] != id);
                }
                // Kinds may be added: a client skips what it does not know.
                _ => {}
            }
        }
        self.since = Some(since);
    }

    /// Each list's name and its tasks' ids in order, as the client holds them.
    fn view(&self) -> BTreeMap<i64, (String, Vec<i64>)> {
        self.lists
            .iter()
            .map(|(id, list)| {
                let mut tasks: Vec<&Value> = self
                    .tasks
                    .values()
                    .filter(|t| t["list_id"] == *id)
                    .collect();
                tasks.sort_by_key(|t| t["position"].as_str().unwrap().to_owned());
                let ids = tasks.iter().map(|t| t["id"].as_i64().unwrap()).collect();
                (*id, (list["name"].as_str().unwrap().to_owned(), ids))
            })
            .collect()
    }
}

/// Each list's name and task ids as GET shows them.
async fn as_get_shows(app: &TestApp, token: &str) -> BTreeMap<i64, (String, Vec<i64>)> {
    let mut all = BTreeMap::new();
    for list in app.lists(token).await {
        let id = list["id"].as_i64().unwrap();
        let ids = app.page_in(token, id, 1, 100).await;
        all.insert(id, (list["name"].as_str().unwrap().to_owned(), ids));
    }
    all
}

async fn a_client_applying_the_feed_of_everything_ends_with_every_list_and_task_get_shows() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let mut client = Everything::default();
    let default = app.default_list(token).await;
    let mine = app.create_tasks(token, 3).await;
    client.sync(&app, token).await;
    assert_eq!(client.view(), as_get_shows(&app, token).await);

    let a = app.create_list(token, "A").await["id"].as_i64().unwrap();
    let b = app.create_list(token, "B").await["id"].as_i64().unwrap();
    let in_a = app.create_tasks_in(token, a, 3).await;
    let in_b = app.create_tasks_in(token, b, 2).await;
    app.patch_task(token, mine[1], json!({"list_id": a})).await;
    app.patch_task(token, in_a[0], json!({"list_id": default}))
        .await;
    app.patch_task(token, in_a[0], json!({"list_id": b})).await;
    app.sort_in(token, a, 1, 10, &[in_a[2], mine[1], in_a[1]])
        .await;
    app.patch_list(token, b, json!({"name": "B2"}), None).await;
    app.delete_task(token, in_b[0]).await;
    app.move_task(token, mine[2], json!({"to": "start"})).await;
    client.sync(&app, token).await;
    assert_eq!(client.view(), as_get_shows(&app, token).await);

    app.delete_list(token, a, None).await;
    let c = app.create_list(token, "C").await["id"].as_i64().unwrap();
    app.create_task_in(token, c, "in c").await;
    client.sync(&app, token).await;
    let shown = as_get_shows(&app, token).await;
    assert_eq!(client.view(), shown);
    assert_eq!(shown.len(), 3);
    // And a client starting afresh gets there too.
    let mut fresh = Everything::default();
    fresh.sync(&app, token).await;
    assert_eq!(fresh.view(), shown);
}

async fn a_deleted_list_of_1000_tasks_is_one_list_removed_entry() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let list = app.create_list(token, "Big").await["id"].as_i64().unwrap();
    app.create_tasks_in(token, list, 1000).await;
    let (entries, since) = app.feed_after(token, None).await;
    assert_eq!(
        entries.len(),
        1 + 1 + 1000,
        "the default list, Big, its tasks"
    );

    assert_eq!(app.delete_list(token, list, None).await.status(), 204);
    let (after, _) = app.feed_after(token, Some(&since)).await;
    assert_eq!(
        kinds(&after),
        [entry("list_removed", list)],
        "one entry, no tombstone per task"
    );
    assert!(after[0].get("list").is_none());
    // From the start, nothing of it is left but that one entry.
    let (all, _) = app.feed_after(token, None).await;
    assert_eq!(all.len(), 2);
    assert_eq!(kinds(&all)[1], entry("list_removed", list));
    // The default list's feed never heard of it.
    assert_eq!(app.changes_page(token, "").await["changes"], json!([]));
}

async fn positions_are_one_numbering_across_both_feeds() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    app.create_tasks(token, 2).await;
    let held = app.changes_page(token, "").await["next_since"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = app.create_list(token, "Later").await["id"]
        .as_i64()
        .unwrap();
    let task = app.create_task(token, "later").await["id"]
        .as_i64()
        .unwrap();
    // A position the default list's feed gave is a position in the feed of everything.
    let (after, _) = app.feed_after(token, Some(&held)).await;
    assert_eq!(
        kinds(&after),
        [entry("list_upsert", list), entry("upsert", task)]
    );
    let seqs: Vec<i64> = after.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs[0] > held.parse::<i64>().unwrap() && seqs[1] > seqs[0]);
    let resp = app.get("/v1/changes?since=999999", token).await;
    assert_problem(resp, 422, "invalid_cursor").await;
    let resp = app.get("/v1/changes?limit=501", token).await;
    assert_invalid_field(resp, "limit").await;
    let resp = app
        .send(reqwest::Method::GET, "/v1/changes", None, None)
        .await;
    assert_problem(resp, 401, "session_missing").await;
}

async fn the_stream_of_everything_carries_list_and_task_events() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let default = app.default_list(token).await;
    let mut stream = app.follow_all(token, None).await;
    let mut old = app.follow(token, None).await;

    let list = app.create_list(token, "Live").await["id"].as_i64().unwrap();
    let task = app.create_task_in(token, list, "live").await["id"]
        .as_i64()
        .unwrap();
    app.patch_task(token, task, json!({"list_id": default}))
        .await;
    app.delete_list(token, list, None).await;

    let events = stream.events(4).await;
    let seen: Vec<(String, i64)> = events
        .iter()
        .map(|e| (e.event.clone(), e.json()["id"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            entry("list_upsert", list),
            entry("upsert", task),
            entry("upsert", task),
            entry("list_removed", list)
        ]
    );
    assert_eq!(events[2].json()["list_id"], default);
    for e in &events {
        assert_eq!(e.id.as_deref(), Some(e.json()["seq"].to_string().as_str()));
    }
    // The default list's stream hears only the task arriving in it.
    let event = old.next_event(Duration::from_secs(10)).await;
    assert_eq!(
        (event.event.as_str(), event.json()["id"].as_i64()),
        ("upsert", Some(task))
    );
    assert!(old.quiet_for(Duration::from_millis(500)).await);

    // Resuming after the second event replays the rest.
    let mut resumed = app.follow_all(token, events[1].id.as_deref()).await;
    let again: Vec<String> = resumed
        .events(2)
        .await
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(again, ["upsert", "list_removed"]);
}
