//! The change feed: a client that applies what changed since the position it holds ends with
//! exactly the list `GET /v1/tasks` shows, sees only its own user's changes, and is told 410
//! once deletes it has not seen are no longer kept.

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

stories!(sqlite, postgres => [
    a_client_applying_changes_from_its_position_ends_with_the_list_and_order_get_shows,
    a_sort_or_move_lists_only_the_tasks_whose_position_changed,
    the_feed_never_shows_another_users_changes,
    a_position_the_feed_never_gave_is_refused,
    a_limit_outside_1_to_500_is_refused_naming_limit,
    the_feed_needs_a_session,
    a_position_older_than_the_deletes_kept_is_410_changes_expired,
]);

/// What a client keeps: its copy of the tasks and the position it holds.
#[derive(Default)]
struct Replica {
    tasks: BTreeMap<i64, Value>,
    since: Option<String>,
}

impl Replica {
    /// Reads and applies every change after the position held, `limit` at a time; returns how
    /// many entries it applied.
    async fn sync(&mut self, app: &TestApp, token: &str, limit: u32) -> usize {
        let mut applied = 0;
        loop {
            let query = match &self.since {
                Some(since) => format!("since={since}&limit={limit}"),
                None => format!("limit={limit}"),
            };
            let page = app.changes_page(token, &query).await;
            let changes = page["changes"].as_array().unwrap();
            assert!(changes.len() <= limit as usize);
            let mut last_seq = 0;
            for change in changes {
                let seq = change["seq"].as_i64().unwrap();
                assert!(seq > last_seq, "oldest first: {page}");
                last_seq = seq;
                let id = change["id"].as_i64().unwrap();
                match change["kind"].as_str().unwrap() {
                    "upsert" => {
                        assert_eq!(change["task"]["id"], id);
                        self.tasks.insert(id, change["task"].clone());
                    }
                    "delete" => {
                        assert!(change.get("task").is_none(), "a delete carries no task");
                        self.tasks.remove(&id);
                    }
                    other => panic!("kind {other}"),
                }
            }
            applied += changes.len();
            self.since = Some(page["next_since"].as_str().unwrap().to_owned());
            if !page["has_more"].as_bool().unwrap() {
                return applied;
            }
            assert_eq!(
                changes.len(),
                limit as usize,
                "has_more on a short page: {page}"
            );
        }
    }

    /// The ids in the order `position` gives.
    fn order(&self) -> Vec<i64> {
        let mut tasks: Vec<&Value> = self.tasks.values().collect();
        tasks.sort_by(|a, b| {
            let key = |t: &Value| t["position"].as_str().unwrap().as_bytes().to_vec();
            key(a).cmp(&key(b))
        });
        tasks.iter().map(|t| t["id"].as_i64().unwrap()).collect()
    }
}

/// Every task GET shows, whole, in order.
async fn listed(app: &TestApp, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for page in 1.. {
        let items = app.list(token, page, 100).await["items"]
            .as_array()
            .unwrap()
            .clone();
        if items.is_empty() {
            return all;
        }
        all.extend(items);
    }
    unreachable!()
}

/// The replica holds exactly what GET shows, field for field, in the same order.
async fn assert_replica_matches(app: &TestApp, token: &str, replica: &Replica) {
    let listed = listed(app, token).await;
    let ids: Vec<i64> = listed.iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(replica.order(), ids, "the replica's order is GET's");
    for task in &listed {
        assert_eq!(&replica.tasks[&task["id"].as_i64().unwrap()], task);
    }
}

async fn a_client_applying_changes_from_its_position_ends_with_the_list_and_order_get_shows() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ids = app.create_tasks(&user.token, 6).await;

    // A first sync without `since`: every task as it is now.
    let mut phone = Replica::default();
    assert_eq!(phone.sync(&app, &user.token, 4).await, 6);
    assert_replica_matches(&app, &user.token, &phone).await;

    // Another device creates, edits, deletes, sorts a page and moves a task.
    let new = app.create_tasks(&user.token, 3).await;
    let edited = app
        .send(
            Method::PATCH,
            &format!("/v1/tasks/{}", ids[1]),
            Some(json!({"task": "edited", "status": "Completed"})),
            Some(&user.token),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let deleted = app.delete_task(&user.token, ids[2]).await;
    assert_eq!(deleted.status(), 204);
    let mut page = app.list_page(&user.token, 1, 4).await;
    page.reverse();
    assert_eq!(app.sort_page(&user.token, 1, 4, &page).await.status(), 200);
    let moved = app
        .move_task(&user.token, new[2], json!({"before_id": ids[0]}))
        .await;
    assert_eq!(moved.status(), 200);
    let also_deleted = app.delete_task(&user.token, new[0]).await;
    assert_eq!(also_deleted.status(), 204);

    // Applied two at a time from the position it held, the phone ends where the server is.
    let applied = phone.sync(&app, &user.token, 2).await;
    assert!(applied > 0);
    assert_replica_matches(&app, &user.token, &phone).await;

    // The feed holds one entry per task, so a fresh device reads each task once, deletes too.
    let mut laptop = Replica::default();
    let entries = laptop.sync(&app, &user.token, 500).await;
    assert_eq!(entries, 9, "7 live tasks and 2 tombstones");
    assert_replica_matches(&app, &user.token, &laptop).await;

    // Nothing changed since: an empty page that keeps the position.
    let since = phone.since.clone().unwrap();
    let page = app
        .changes_page(&user.token, &format!("since={since}"))
        .await;
    assert_eq!(page["changes"], json!([]));
    assert_eq!(page["next_since"], since);
    assert_eq!(page["has_more"], false);
}

async fn a_sort_or_move_lists_only_the_tasks_whose_position_changed() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ids = app.create_tasks(&user.token, 5).await;
    let since = app.changes_page(&user.token, "").await["next_since"]
        .as_str()
        .unwrap()
        .to_owned();

    // Swap the first two; the other three keep their places.
    let order = [ids[1], ids[0], ids[2], ids[3], ids[4]];
    assert_eq!(app.sort_page(&user.token, 1, 5, &order).await.status(), 200);
    let page = app
        .changes_page(&user.token, &format!("since={since}"))
        .await;
    let changed: Vec<i64> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    let mut sorted = changed.clone();
    sorted.sort();
    assert_eq!(sorted, vec![ids[0], ids[1]], "{page}");
}

async fn the_feed_never_shows_another_users_changes() {
    let app = spawn_app().await;
    let alice = app.sign_in_as("alice@example.com").await;
    let bob = app.sign_in_as("bob@example.com").await;
    let alices = app.create_tasks(&alice.token, 3).await;
    let bobs = app.create_tasks(&bob.token, 2).await;
    app.delete_task(&alice.token, alices[0]).await;

    let ids = |page: &Value| -> Vec<i64> {
        page["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let bob_sees = app.changes_page(&bob.token, "").await;
    assert_eq!(ids(&bob_sees), bobs);
    let alice_sees = app.changes_page(&alice.token, "").await;
    assert_eq!(ids(&alice_sees), vec![alices[1], alices[2], alices[0]]);

    // Bob's position in Alice's hands shows her feed, not his.
    let since = bob_sees["next_since"].as_str().unwrap();
    let page = app
        .changes_page(&alice.token, &format!("since={since}"))
        .await;
    assert!(ids(&page).iter().all(|id| alices.contains(id)), "{page}");
}

async fn a_position_the_feed_never_gave_is_refused() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    app.create_tasks(&user.token, 2).await;
    // Not a position at all: the field is named.
    for since in ["abc", "-1", "1.5", "1000000000000000000"] {
        let resp = app.changes(&user.token, &format!("since={since}")).await;
        assert_invalid_field(resp, "since").await;
    }
    // A number this user's feed never reached.
    let resp = app.changes(&user.token, "since=99").await;
    let problem = assert_problem(resp, 422, "invalid_cursor").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("ahead"),
        "{problem}"
    );
}

async fn a_limit_outside_1_to_500_is_refused_naming_limit() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    for limit in ["0", "501", "many"] {
        let resp = app.changes(&user.token, &format!("limit={limit}")).await;
        assert_invalid_field(resp, "limit").await;
    }
    let page = app.changes_page(&user.token, "limit=500").await;
    assert_eq!(page["changes"], json!([]));
}

async fn the_feed_needs_a_session() {
    let app = spawn_app().await;
    let resp = app.send(Method::GET, "/v1/tasks/changes", None, None).await;
    assert_problem(resp, 401, "session_missing").await;
}

async fn a_position_older_than_the_deletes_kept_is_410_changes_expired() {
    let mut app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ids = app.create_tasks(&user.token, 3).await;
    let before_delete = app.changes_page(&user.token, "").await["next_since"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete_task(&user.token, ids[0]).await;
    let after_delete = app
        .changes_page(&user.token, &format!("since={before_delete}"))
        .await["next_since"]
        .as_str()
        .unwrap()
        .to_owned();

    // The delete happened 31 days (2,678,400,000 ms) ago; the sweeper runs as the server starts.
    app.db()
        .execute("UPDATE changes SET at = at - 2678400000 WHERE deleted = (1 = 1)")
        .await;
    app.restart().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let resp = app
            .changes(&user.token, &format!("since={before_delete}"))
            .await;
        if resp.status() == 410 {
            let problem = assert_problem(resp, 410, "changes_expired").await;
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap()
                    .contains("without since")
            );
            break;
        }
        assert_eq!(resp.status(), 200);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the tombstone was never swept"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.count_rows("changes").await, 2);

    // A client that saw the delete goes on; a fresh sync lists the live tasks.
    let page = app
        .changes_page(&user.token, &format!("since={after_delete}"))
        .await;
    assert_eq!(page["changes"], json!([]));
    let fresh = app.changes_page(&user.token, "").await;
    assert_eq!(fresh["changes"].as_array().unwrap().len(), 2);
}
