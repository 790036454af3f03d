//! Listing page by page: page numbers, `next_cursor`, and every page value or cursor refused.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

stories!(sqlite, postgres => [
    bad_page_values_are_422_naming_the_parameter,
    pages_split_the_list_in_order_and_a_page_past_the_end_is_empty,
    a_page_by_number_offers_next_cursor_exactly_when_tasks_follow_it,
    next_cursor_walks_the_same_pages_as_page_numbers,
    a_forged_cursor_is_422_invalid_cursor_and_a_cursor_with_page_is_refused,
]);

async fn bad_page_values_are_422_naming_the_parameter() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    app.create_tasks(&user.token, 2).await;

    let cases = [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page=99999999999999999999", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=1000", "per_page"),
        ("per_page=abc", "per_page"),
        ("page=1&per_page=-5", "per_page"),
    ];
    for (query, field) in cases {
        let resp = app
            .send(
                Method::GET,
                &format!("/v1/tasks?{query}"),
                None,
                Some(&user.token),
            )
            .await;
        assert_invalid_field(resp, field).await;
        let resp = app
            .send(
                Method::POST,
                &format!("/v1/tasks/sort?{query}"),
                Some(json!({"task_ids": []})),
                Some(&user.token),
            )
            .await;
        assert_invalid_field(resp, field).await;
    }
    // The edges are allowed.
    for query in [
        "page=1&per_page=1",
        "page=1&per_page=100",
        "page=4294967295",
    ] {
        let resp = app
            .send(
                Method::GET,
                &format!("/v1/tasks?{query}"),
                None,
                Some(&user.token),
            )
            .await;
        assert_eq!(resp.status(), 200, "GET /v1/tasks?{query}");
    }
}

async fn pages_split_the_list_in_order_and_a_page_past_the_end_is_empty() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;

    // A new user has nothing, and no pages.
    let empty = app.list(&user.token, 1, 10).await;
    assert_eq!(
        empty,
        json!({"items": [], "page": 1, "per_page": 10, "total_items": 0, "total_pages": 0})
    );

    let ids = app.create_tasks(&user.token, 25).await;

    let mut seen = Vec::new();
    for (page, len) in [(1, 10), (2, 10), (3, 5)] {
        let envelope = app.list(&user.token, page, 10).await;
        assert_eq!(envelope["page"], page);
        assert_eq!(envelope["per_page"], 10);
        assert_eq!(envelope["total_items"], 25);
        assert_eq!(envelope["total_pages"], 3);
        let page_ids = ids_of(&envelope);
        assert_eq!(page_ids.len(), len, "page {page}");
        seen.extend(page_ids);
    }
    assert_eq!(seen, ids, "pages hold the tasks in creation order");

    for page in [4, 1000] {
        let past = app.list(&user.token, page, 10).await;
        assert_eq!(
            past,
            json!({"items": [], "page": page, "per_page": 10, "total_items": 25, "total_pages": 3})
        );
    }

    // Defaults: page 1, 20 per page.
    let resp = app
        .send(Method::GET, "/v1/tasks", None, Some(&user.token))
        .await;
    assert_eq!(resp.status(), 200);
    let first = body(resp).await;
    assert_eq!(first["page"], 1);
    assert_eq!(first["per_page"], 20);
    assert_eq!(first["total_pages"], 2);
    assert_eq!(ids_of(&first), ids[..20]);
    let resp = app
        .send(Method::GET, "/v1/tasks?page=2", None, Some(&user.token))
        .await;
    let second = body(resp).await;
    assert_eq!(second["per_page"], 20);
    assert_eq!(ids_of(&second), ids[20..]);

    let all = app.list(&user.token, 1, 100).await;
    assert_eq!(all["total_pages"], 1);
    assert_eq!(ids_of(&all), ids);
    let ones = app.list(&user.token, 25, 1).await;
    assert_eq!(ones["total_pages"], 25);
    assert_eq!(ids_of(&ones), [ids[24]]);

    // Items are whole tasks.
    assert_eq!(first["items"][0], app.task(&user.token, ids[0]).await);

    // Deleting one shifts the later pages up by one.
    let resp = app.delete_task(&user.token, ids[0]).await;
    assert_eq!(resp.status(), 204);
    let page3 = app.list(&user.token, 3, 10).await;
    assert_eq!(page3["total_items"], 24);
    assert_eq!(ids_of(&page3), ids[21..]);
}

async fn a_page_by_number_offers_next_cursor_exactly_when_tasks_follow_it() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let ids = app.create_tasks(token, 20).await;
    for (page, per_page, follows) in [(1, 10, true), (2, 10, false), (1, 20, false), (1, 19, true)]
    {
        let envelope = app.list(token, page, per_page).await;
        assert_eq!(
            envelope.get("next_cursor").is_some(),
            follows,
            "page {page} of {per_page}: {envelope}"
        );
    }
    let past_the_end = app.list(token, 3, 10).await;
    assert_eq!(ids_of(&past_the_end), Vec::<i64>::new());
    assert_eq!(past_the_end["total_items"], 20);
    assert!(past_the_end.get("next_cursor").is_none());

    // The page that follows a cursor knows it the same way: one task after page 2 of 19 is there.
    let cursor = app.list(token, 1, 19).await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app.get(&format!("/v1/tasks?cursor={cursor}"), token).await;
    let last = body(resp).await;
    assert_eq!(ids_of(&last), ids[19..].to_vec());
    assert!(last.get("next_cursor").is_none(), "{last}");
}

async fn next_cursor_walks_the_same_pages_as_page_numbers() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let ids = app.create_tasks(token, 25).await;

    let mut walked = Vec::new();
    let mut page = app.list(token, 1, 10).await;
    for number in 1..=3 {
        assert_eq!(page["page"], number);
        assert_eq!(page["per_page"], 10);
        assert_eq!(page["total_items"], 25);
        assert_eq!(
            ids_of(&page),
            app.list_page(token, number, 10).await,
            "page {number}"
        );
        walked.extend(ids_of(&page));
        let Some(cursor) = page["next_cursor"].as_str().map(str::to_owned) else {
            break;
        };
        let resp = app
            .get(&format!("/v1/tasks?per_page=10&cursor={cursor}"), token)
            .await;
        assert_eq!(resp.status(), 200);
        page = body(resp).await;
    }
    assert_eq!(walked, ids, "the cursor walk saw every task once, in order");
    assert!(
        page.get("next_cursor").is_none(),
        "the last page has no next_cursor: {page}"
    );

    // A cursor keeps its place when tasks before it move: it points after a task, not at a count.
    let first_page_cursor = app.list(token, 1, 10).await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app.move_task(token, ids[0], json!({"to": "end"})).await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .get(&format!("/v1/tasks?cursor={first_page_cursor}"), token)
        .await;
    assert_eq!(ids_of(&body(resp).await), ids[10..20].to_vec());
}

async fn a_forged_cursor_is_422_invalid_cursor_and_a_cursor_with_page_is_refused() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    app.create_tasks(token, 3).await;
    let cursor = app.list(token, 1, 2).await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    let resp = app.get("/v1/tasks?cursor=not-a-cursor", token).await;
    assert_problem(resp, 422, "invalid_cursor").await;
    let resp = app
        .get(&format!("/v1/tasks?page=2&cursor={cursor}"), token)
        .await;
    assert_invalid_field(resp, "cursor").await;
    let resp = app
        .get(&format!("/v1/tasks?per_page=5&cursor={cursor}"), token)
        .await;
    assert_invalid_field(resp, "per_page").await;
}
