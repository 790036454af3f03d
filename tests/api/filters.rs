//! Filtered lists: by status and by date range, combined, in the owner's order, with the
//! totals of the filtered list and cursors that carry their filter.

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};

stories!(sqlite, postgres => [
    filters_combine_and_page_in_the_owners_order_with_the_filtered_totals,
    a_cursor_is_good_only_with_the_filters_it_was_made_with,
    bad_filters_are_422_naming_the_filter_and_sort_takes_none,
]);

/// Creates a task for `date` with `status`; returns its id.
async fn task_on(app: &TestApp, token: &str, date: &str, status: &str) -> i64 {
    let resp = app
        .send(
            Method::POST,
            "/v1/tasks",
            Some(json!({"date": date, "task": format!("on {date}"), "status": status})),
            Some(token),
        )
        .await;
    assert_eq!(resp.status(), 201);
    body(resp).await["id"].as_i64().unwrap()
}

/// Every page of `query` (plus `per_page`), walked by page number: the ids and the totals.
async fn walk(app: &TestApp, token: &str, query: &str, per_page: u32) -> (Vec<i64>, Value) {
    let mut ids = Vec::new();
    let mut first = Value::Null;
    for page in 1.. {
        let resp = app
            .get(
                &format!("/v1/tasks?{query}&page={page}&per_page={per_page}"),
                token,
            )
            .await;
        assert_eq!(resp.status(), 200, "{query} page {page}");
        let envelope = body(resp).await;
        if page == 1 {
            first = envelope.clone();
        }
        let items = ids_of(&envelope);
        if items.is_empty() {
            return (ids, first);
        }
        ids.extend(items);
    }
    unreachable!()
}

/// The same, walked by `next_cursor`.
async fn walk_by_cursor(app: &TestApp, token: &str, query: &str, per_page: u32) -> Vec<i64> {
    let mut path = format!("/v1/tasks?{query}&per_page={per_page}");
    let mut ids = Vec::new();
    loop {
        let resp = app.get(&path, token).await;
        assert_eq!(resp.status(), 200, "{path}");
        let envelope = body(resp).await;
        ids.extend(ids_of(&envelope));
        match envelope["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/tasks?{query}&per_page={per_page}&cursor={cursor}"),
            None => return ids,
        }
    }
}

async fn filters_combine_and_page_in_the_owners_order_with_the_filtered_totals() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let plan = [
        ("2026-01-05", "Completed"),
        ("2026-01-10", "Incomplete"),
        ("2026-02-01", "Completed"),
        ("2026-01-20", "Completed"),
        ("2025-12-31", "Incomplete"),
        ("2026-01-10", "Completed"),
        ("2026-03-01", "Incomplete"),
    ];
    let mut ids = Vec::new();
    for (date, status) in plan {
        ids.push(task_on(&app, token, date, status).await);
    }
    // The owner's order is not creation order.
    assert_eq!(
        app.move_task(token, ids[5], json!({"to": "start"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.move_task(token, ids[0], json!({"to": "end"}))
            .await
            .status(),
        200
    );
    // A status change moves a task between the filtered lists.
    let resp = app
        .send(
            Method::PATCH,
            &format!("/v1/tasks/{}", ids[1]),
            Some(json!({"status": "Completed"})),
            Some(token),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let order = app.list_all(token).await;
    let kept = |keep: &dyn Fn(usize) -> bool| -> Vec<i64> {
        order
            .iter()
            .copied()
            .filter(|id| keep(ids.iter().position(|x| x == id).unwrap()))
            .collect()
    };
    let done = |i: usize| plan[i].1 == "Completed" || i == 1;
    let in_january = |i: usize| ("2026-01-01".."2026-02-01").contains(&plan[i].0);

    for (query, expected) in [
        ("status=Completed", kept(&done)),
        ("status=Incomplete", kept(&|i| !done(i))),
        ("date_from=2026-01-01&date_to=2026-01-31", kept(&in_january)),
        (
            "status=Completed&date_from=2026-01-01&date_to=2026-01-31",
            kept(&|i| done(i) && in_january(i)),
        ),
        ("date_from=2026-01-10", kept(&|i| plan[i].0 >= "2026-01-10")),
        ("date_to=2026-01-10", kept(&|i| plan[i].0 <= "2026-01-10")),
        (
            "date_from=2026-01-10&date_to=2026-01-10",
            kept(&|i| plan[i].0 == "2026-01-10"),
        ),
        ("date_from=2030-01-01", vec![]),
    ] {
        let (paged, first) = walk(&app, token, query, 2).await;
        assert_eq!(paged, expected, "{query}, by page");
        assert_eq!(first["total_items"], expected.len(), "{query}: total_items");
        assert_eq!(
            first["total_pages"],
            expected.len().div_ceil(2),
            "{query}: total_pages"
        );
        assert_eq!(
            walk_by_cursor(&app, token, query, 2).await,
            expected,
            "{query}, by cursor"
        );
    }
    // Deleting a completed task updates the filtered total.
    let resp = app.delete_task(token, ids[2]).await;
    assert_eq!(resp.status(), 204);
    let page = app.list(token, 1, 20).await;
    let (_, first) = walk(&app, token, "status=Completed", 20).await;
    assert_eq!(first["total_items"], kept(&done).len() - 1);
    assert_eq!(page["total_items"], ids.len() - 1);
}

async fn a_cursor_is_good_only_with_the_filters_it_was_made_with() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    for _ in 0..3 {
        task_on(&app, token, "2026-05-01", "Completed").await;
    }
    let page = body(
        app.get("/v1/tasks?status=Completed&per_page=2", token)
            .await,
    )
    .await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();

    let same = app
        .get(
            &format!("/v1/tasks?status=Completed&per_page=2&cursor={cursor}"),
            token,
        )
        .await;
    assert_eq!(same.status(), 200);
    for other in [
        "",
        "status=Incomplete&",
        "status=Completed&date_to=2026-05-01&",
    ] {
        let resp = app
            .get(
                &format!("/v1/tasks?{other}per_page=2&cursor={cursor}"),
                token,
            )
            .await;
        assert_problem(resp, 422, "invalid_cursor").await;
    }
}

async fn bad_filters_are_422_naming_the_filter_and_sort_takes_none() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let id = task_on(&app, token, "2026-05-01", "Incomplete").await;
    for (query, field) in [
        ("status=Done", "status"),
        ("date_from=2026-02-30", "date_from"),
        ("date_to=tomorrow", "date_to"),
        ("date_from=2026-03-02&date_to=2026-03-01", "date_from"),
    ] {
        let resp = app.get(&format!("/v1/tasks?{query}"), token).await;
        assert_invalid_field(resp, field).await;
    }
    for filter in [
        "status=Incomplete",
        "date_from=2026-01-01",
        "date_to=2026-12-31",
    ] {
        let resp = app
            .send(
                Method::POST,
                &format!("/v1/tasks/sort?page=1&{filter}"),
                Some(json!({"task_ids": [id]})),
                Some(token),
            )
            .await;
        let field = filter.split('=').next().unwrap();
        assert_invalid_field(resp, field).await;
    }
    assert_eq!(app.sort_page(token, 1, 20, &[id]).await.status(), 200);
}
