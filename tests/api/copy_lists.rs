//! `listo copy` carries lists: their ids, names, versions and tasks in each list's order, the
//! feed of everything with its numbers, and ids that go on past every one handed out.

use crate::support::postgres::fresh_database;
use crate::support::*;
use listo::store::Location;
use serde_json::json;

stories!(postgres => [
    a_copied_database_serves_the_same_lists_their_orders_and_feed,
]);

async fn a_copied_database_serves_the_same_lists_their_orders_and_feed() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("listo.db");
    let sqlite = Location::Sqlite(file.clone());
    let long = std::time::Duration::from_secs(600);
    let mut source = spawn_app_with(|c| {
        c.database = sqlite.clone();
        c.session_ttl = long;
    })
    .await;
    let user = source.sign_in_as("lists@example.com").await;
    let token = user.token.as_str();
    let default = source.default_list(token).await;
    let mine = source.create_tasks(token, 3).await;
    let work = source.create_list(token, "Work").await["id"]
        .as_i64()
        .unwrap();
    let at_work = source.create_tasks_in(token, work, 4).await;
    let gone = source.create_list(token, "Gone").await["id"]
        .as_i64()
        .unwrap();
    source.create_tasks_in(token, gone, 2).await;
    // History: a rename, a move across, a sort, a deleted list (the newest list id).
    source
        .patch_list(token, work, json!({"name": "Office"}), None)
        .await;
    source
        .patch_task(token, mine[0], json!({"list_id": work}))
        .await;
    source
        .sort_in(
            token,
            work,
            1,
            10,
            &[at_work[3], at_work[2], at_work[1], at_work[0], mine[0]],
        )
        .await;
    assert_eq!(source.delete_list(token, gone, None).await.status(), 204);
    let lists = source.lists(token).await;
    let orders = [
        source.page_in(token, default, 1, 100).await,
        source.page_in(token, work, 1, 100).await,
    ];
    let (feed, position) = source.feed_after(token, None).await;
    let tasks_feed = source.changes_page(token, "limit=500").await;
    source.stop().await;

    let target = fresh_database();
    let copied = std::process::Command::new(env!("CARGO_BIN_EXE_listo"))
        .args(["copy", "--from"])
        .arg(&file)
        .args(["--to", &target])
        .env_clear()
        .output()
        .expect("listo runs");
    let said = String::from_utf8_lossy(&copied.stdout);
    assert!(copied.status.success(), "{copied:?}");
    assert!(said.contains("(2 lists)"), "{said}");

    let postgres = Location::parse(&target).unwrap();
    let app = spawn_app_with(|c| {
        c.database = postgres.clone();
        c.session_ttl = long;
    })
    .await;
    assert_eq!(
        app.lists(token).await,
        lists,
        "ids, names, versions, counts"
    );
    assert_eq!(app.page_in(token, default, 1, 100).await, orders[0]);
    assert_eq!(app.page_in(token, work, 1, 100).await, orders[1]);
    assert_eq!(app.feed_after(token, None).await, (feed, position.clone()));
    assert_eq!(app.changes_page(token, "limit=500").await, tasks_feed);
    // Counters were made again as the tasks arrived: filters total right.
    let open = body(app.list_tasks_in(token, work, "status=Incomplete").await).await;
    assert_eq!(open["total_items"], 5);

    // Ids go on past every one handed out, the deleted list's included; the feed goes on.
    let next = app.create_list(token, "After").await["id"]
        .as_i64()
        .unwrap();
    assert!(next > gone, "list id {next} reused one at or below {gone}");
    let (after, _) = app.feed_after(token, Some(&position)).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["kind"], "list_upsert");
    assert_eq!(
        after[0]["seq"].as_i64().unwrap(),
        position.parse::<i64>().unwrap() + 1
    );
}
