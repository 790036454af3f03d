//! Tasks: create, read, edit, delete, list — each user sees only their own — and every way a
//! request can be refused (always a 4xx problem naming what is wrong, never a 500).

use crate::support::*;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

stories!(sqlite, postgres => [
    create_answers_201_with_location_and_the_trimmed_task,
    patch_changes_only_the_fields_sent_and_moves_updated_at_forward,
    patch_refuses_an_empty_body_an_unknown_field_and_null_naming_the_field,
    delete_is_204_then_the_task_is_gone_for_every_endpoint,
    another_users_tasks_are_404_to_them_and_never_change,
    bad_dates_are_422_naming_date_on_create_and_patch,
    task_text_must_be_1_to_1000_characters_after_trimming,
    status_must_be_completed_or_incomplete_exactly,
    create_needs_every_field_and_no_other,
    bad_page_values_are_422_naming_the_parameter,
    a_task_id_that_is_not_a_number_is_422_naming_id,
    an_expired_session_is_401_session_expired_on_every_task_endpoint_whatever_else_is_wrong,
    pages_split_the_list_in_order_and_a_page_past_the_end_is_empty,
    a_page_by_number_offers_next_cursor_exactly_when_tasks_follow_it,
    next_cursor_walks_the_same_pages_as_page_numbers,
    a_forged_cursor_is_422_invalid_cursor_and_a_cursor_with_page_is_refused,
]);

// ---------------------------------------------------------------- helpers for this file

/// A timestamp field of a task.
fn at(task: &Value, field: &str) -> DateTime<Utc> {
    let raw = task[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string: {task}"));
    DateTime::parse_from_rfc3339(raw)
        .unwrap_or_else(|e| panic!("{field} {raw:?} is RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// Lets the clock move on, so a later write gets a later `updated_at` (stored in milliseconds).
async fn tick() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

/// `GET /v1/tasks/{id}`, asserting 200.
async fn get_task(app: &TestApp, token: &str, id: i64) -> Value {
    let resp = app
        .send(Method::GET, &format!("/v1/tasks/{id}"), None, Some(token))
        .await;
    assert_eq!(resp.status(), 200, "GET task {id}");
    body(resp).await
}

/// `PATCH /v1/tasks/{id}` with `changes`.
async fn patch(app: &TestApp, token: &str, id: i64, changes: Value) -> reqwest::Response {
    app.send(
        Method::PATCH,
        &format!("/v1/tasks/{id}"),
        Some(changes),
        Some(token),
    )
    .await
}

/// `POST /v1/tasks` with `body`.
async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.send(Method::POST, "/v1/tasks", Some(body), Some(token))
        .await
}

/// The stored text of every task, straight from the database.
async fn stored_texts(app: &TestApp) -> Vec<String> {
    app.db().texts("SELECT text FROM tasks ORDER BY id").await
}

/// A PATCH that changes exactly `changes` and nothing else, as read back through GET.
async fn assert_patch_changes_only(app: &TestApp, token: &str, before: &Value, changes: Value) {
    let id = before["id"].as_i64().unwrap();
    tick().await;
    let resp = patch(app, token, id, changes.clone()).await;
    assert_eq!(resp.status(), 200, "PATCH {changes}");
    let after = body(resp).await;

    let mut expected = before.clone();
    for (field, value) in changes.as_object().unwrap() {
        let value = match value.as_str() {
            Some(text) => json!(text.trim()),
            None => value.clone(),
        };
        expected[field] = value;
    }
    expected["updated_at"] = after["updated_at"].clone();
    expected["version"] = json!(before["version"].as_i64().unwrap() + 1);
    assert_eq!(after, expected, "PATCH {changes} changed only those fields");
    assert_eq!(after["created_at"], before["created_at"]);
    assert!(
        at(&after, "updated_at") > at(before, "updated_at"),
        "updated_at moved forward: {} -> {}",
        before["updated_at"],
        after["updated_at"]
    );
    assert_eq!(
        get_task(app, token, id).await,
        after,
        "GET shows the PATCHed task"
    );
}

// ---------------------------------------------------------------- create and read

async fn create_answers_201_with_location_and_the_trimmed_task() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;

    let resp = create(
        &app,
        &user.token,
        json!({"date": "2026-02-03", "task": "  Swimming for one hour \n\t", "status": "Incomplete"}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let location = header(&resp, "location");
    let task = body(resp).await;

    let id = task["id"].as_i64().expect("a numeric id");
    assert_eq!(location, format!("/v1/tasks/{id}"));
    let mut fields: Vec<&str> = task
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "created_at",
            "date",
            "id",
            "position",
            "status",
            "task",
            "updated_at",
            "version"
        ],
        "{task}"
    );
    assert_eq!(task["date"], "2026-02-03");
    assert_eq!(task["task"], "Swimming for one hour");
    assert_eq!(task["status"], "Incomplete");
    let created = at(&task, "created_at");
    assert_eq!(at(&task, "updated_at"), created);
    let age = Utc::now() - created;
    assert!(
        age >= chrono::TimeDelta::zero() && age < chrono::TimeDelta::seconds(60),
        "created_at is now: {created}"
    );

    // The Location leads to the same task.
    let resp = app
        .send(Method::GET, &location, None, Some(&user.token))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await, task);

    let completed = create(
        &app,
        &user.token,
        json!({"date": "2028-02-29", "task": "Leap day", "status": "Completed"}),
    )
    .await;
    assert_eq!(completed.status(), 201);
    let completed = body(completed).await;
    assert_eq!(completed["status"], "Completed");
    assert_eq!(completed["date"], "2028-02-29");
    assert_ne!(completed["id"], task["id"]);
}

// ---------------------------------------------------------------- edit

async fn patch_changes_only_the_fields_sent_and_moves_updated_at_forward() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let original = app.create_task(&user.token, "Swimming for one hour").await;
    let id = original["id"].as_i64().unwrap();

    assert_patch_changes_only(&app, &user.token, &original, json!({"date": "2026-12-31"})).await;
    let now = get_task(&app, &user.token, id).await;
    assert_patch_changes_only(&app, &user.token, &now, json!({"task": "  Run 5 km  "})).await;
    let now = get_task(&app, &user.token, id).await;
    assert_patch_changes_only(&app, &user.token, &now, json!({"status": "Completed"})).await;
    let now = get_task(&app, &user.token, id).await;
    assert_patch_changes_only(
        &app,
        &user.token,
        &now,
        json!({"date": "2027-01-01", "task": "Read a book", "status": "Incomplete"}),
    )
    .await;

    let last = get_task(&app, &user.token, id).await;
    assert_eq!(last["date"], "2027-01-01");
    assert_eq!(last["task"], "Read a book");
    assert_eq!(last["status"], "Incomplete");
    assert_eq!(last["created_at"], original["created_at"]);
}

async fn patch_refuses_an_empty_body_an_unknown_field_and_null_naming_the_field() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let task = app.create_task(&user.token, "Swimming for one hour").await;
    let id = task["id"].as_i64().unwrap();

    let cases = [
        (json!({}), "body"),
        (json!({"priority": 1}), "priority"),
        (json!({"task": "Run", "priority": 1}), "priority"),
        (json!({"date": null}), "date"),
        (json!({"task": null}), "task"),
        (json!({"status": null}), "status"),
        (json!({"date": 20260203}), "date"),
    ];
    for (changes, field) in cases {
        let problem =
            assert_invalid_field(patch(&app, &user.token, id, changes.clone()).await, field).await;
        assert_eq!(
            problem["errors"].as_array().unwrap().len(),
            1,
            "PATCH {changes}: {problem}"
        );
    }
    assert_eq!(
        get_task(&app, &user.token, id).await,
        task,
        "no refused PATCH changed the task"
    );
}

// ---------------------------------------------------------------- delete

async fn delete_is_204_then_the_task_is_gone_for_every_endpoint() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ids = app.create_tasks(&user.token, 3).await;
    let gone = ids[1];
    let path = format!("/v1/tasks/{gone}");

    let resp = app
        .send(Method::DELETE, &path, None, Some(&user.token))
        .await;
    assert_eq!(resp.status(), 204);
    assert!(resp.bytes().await.unwrap().is_empty(), "204 has no body");

    let resp = app.send(Method::GET, &path, None, Some(&user.token)).await;
    assert_problem(resp, 404, "task_not_found").await;
    let resp = app
        .send(Method::DELETE, &path, None, Some(&user.token))
        .await;
    assert_problem(resp, 404, "task_not_found").await;
    let resp = patch(&app, &user.token, gone, json!({"status": "Completed"})).await;
    assert_problem(resp, 404, "task_not_found").await;
    let resp = app
        .move_task(&user.token, gone, json!({"to": "start"}))
        .await;
    assert_problem(resp, 404, "task_not_found").await;

    let page = app.list(&user.token, 1, 20).await;
    assert_eq!(ids_of(&page), [ids[0], ids[2]]);
    assert_eq!(page["total_items"], 2);
    assert_eq!(app.count_rows("tasks").await, 2);
}

// ---------------------------------------------------------------- two users

async fn another_users_tasks_are_404_to_them_and_never_change() {
    let app = spawn_app().await;
    let ada = app.signed_in_user().await;
    let bob = app.signed_in_user().await;
    let ada_ids = app.create_tasks(&ada.token, 3).await;
    let bob_task = app.create_task(&bob.token, "Bob's own").await;
    let bob_id = bob_task["id"].as_i64().unwrap();
    let target = ada_ids[0];
    let before = get_task(&app, &ada.token, target).await;
    let keys_before = app.sort_keys().await;
    let missing = ada_ids.iter().chain([&bob_id]).max().unwrap() + 1000;

    // What Bob hears about Ada's task is exactly what he hears about a task that does not exist.
    let path = format!("/v1/tasks/{target}");
    let nowhere = format!("/v1/tasks/{missing}");
    for (method, body_) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"task": "Bob was here"}))),
        (Method::DELETE, None),
    ] {
        let resp = app
            .send(method.clone(), &path, body_.clone(), Some(&bob.token))
            .await;
        let problem = assert_problem(resp, 404, "task_not_found").await;
        let resp = app
            .send(method.clone(), &nowhere, body_, Some(&bob.token))
            .await;
        let unknown = assert_problem(resp, 404, "task_not_found").await;
        assert_eq!(problem, unknown, "{method} on someone else's task");
    }
    for target_body in [json!({"to": "start"}), json!({"after_id": bob_id})] {
        let resp = app.move_task(&bob.token, target, target_body).await;
        assert_problem(resp, 404, "task_not_found").await;
    }
    // Bob cannot use Ada's task as an anchor for his own either.
    let resp = app
        .move_task(&bob.token, bob_id, json!({"before_id": target}))
        .await;
    assert_invalid_field(resp, "before_id").await;

    // Bob's list is his alone.
    let page = app.list(&bob.token, 1, 20).await;
    assert_eq!(ids_of(&page), [bob_id]);
    assert_eq!(page["total_items"], 1);
    assert_eq!(page["total_pages"], 1);

    // Sorting with Ada's ids names them.
    let resp = app.sort_page(&bob.token, 1, 20, &ada_ids).await;
    let problem = assert_problem(resp, 422, "invalid_order").await;
    assert_eq!(problem["task_ids"], json!(ada_ids), "{problem}");
    let resp = app.sort_page(&bob.token, 1, 20, &[target, bob_id]).await;
    let problem = assert_problem(resp, 422, "invalid_order").await;
    assert_eq!(problem["task_ids"], json!([target]), "{problem}");

    // Ada's task, her order and every key are as they were.
    assert_eq!(get_task(&app, &ada.token, target).await, before);
    assert_eq!(app.list_all(&ada.token).await, ada_ids);
    assert_eq!(app.sort_keys().await, keys_before);
    assert_eq!(get_task(&app, &bob.token, bob_id).await, bob_task);
}

// ---------------------------------------------------------------- bad input

async fn bad_dates_are_422_naming_date_on_create_and_patch() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let task = app.create_task(&user.token, "Swimming").await;
    let id = task["id"].as_i64().unwrap();

    for date in [
        "2026-02-30",
        "tomorrow",
        "2026-2-3",
        "2026-02-03T00:00:00Z",
        "03/02/2026",
        "0000-01-01",
        "",
    ] {
        let resp = create(
            &app,
            &user.token,
            json!({"date": date, "task": "Swimming", "status": "Incomplete"}),
        )
        .await;
        let problem = assert_invalid_field(resp, "date").await;
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
        assert_invalid_field(
            patch(&app, &user.token, id, json!({"date": date})).await,
            "date",
        )
        .await;
    }
    assert_eq!(
        app.count_rows("tasks").await,
        1,
        "no refused task was stored"
    );
    assert_eq!(get_task(&app, &user.token, id).await, task);
}

async fn task_text_must_be_1_to_1000_characters_after_trimming() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let kept = app.create_task(&user.token, "Swimming").await;
    let id = kept["id"].as_i64().unwrap();

    let too_long = "a".repeat(1001);
    let too_long_wide = "é".repeat(1001);
    for text in [
        "",
        "   ",
        " \n\t ",
        too_long.as_str(),
        too_long_wide.as_str(),
    ] {
        let resp = create(
            &app,
            &user.token,
            json!({"date": TASK_DATE, "task": text, "status": "Incomplete"}),
        )
        .await;
        let problem = assert_invalid_field(resp, "task").await;
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
        assert_invalid_field(
            patch(&app, &user.token, id, json!({"task": text})).await,
            "task",
        )
        .await;
    }
    assert_eq!(
        app.count_rows("tasks").await,
        1,
        "no refused task was stored"
    );

    // Exactly 1000 characters is fine, counted as characters (not bytes) and after trimming.
    for text in [
        "a".repeat(1000),
        "é".repeat(1000),
        format!("   {}   ", "b".repeat(1000)),
    ] {
        let task = app.create_task(&user.token, &text).await;
        assert_eq!(task["task"], text.trim());
        assert_eq!(task["task"].as_str().unwrap().chars().count(), 1000);
        let resp = patch(&app, &user.token, id, json!({"task": text})).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(body(resp).await["task"], text.trim());
    }
    assert!(
        stored_texts(&app)
            .await
            .iter()
            .all(|t| t.chars().count() <= 1000 && t.trim() == t)
    );
}

async fn status_must_be_completed_or_incomplete_exactly() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let task = app.create_task(&user.token, "Swimming").await;
    let id = task["id"].as_i64().unwrap();

    for status in [
        json!("Done"),
        json!("completed"),
        json!("INCOMPLETE"),
        json!(true),
        json!(null),
        json!(1),
    ] {
        let resp = create(
            &app,
            &user.token,
            json!({"date": TASK_DATE, "task": "Swimming", "status": status}),
        )
        .await;
        assert_invalid_field(resp, "status").await;
        assert_invalid_field(
            patch(&app, &user.token, id, json!({"status": status})).await,
            "status",
        )
        .await;
    }
    assert_eq!(app.count_rows("tasks").await, 1);
    assert_eq!(get_task(&app, &user.token, id).await, task);
}

async fn create_needs_every_field_and_no_other() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let cases = [
        (json!({"task": "Swimming", "status": "Incomplete"}), "date"),
        (json!({"date": TASK_DATE, "status": "Incomplete"}), "task"),
        (json!({"date": TASK_DATE, "task": "Swimming"}), "status"),
        (
            json!({"date": TASK_DATE, "task": null, "status": "Incomplete"}),
            "task",
        ),
        (
            json!({"date": TASK_DATE, "task": "Swimming", "status": "Incomplete", "id": 7}),
            "id",
        ),
    ];
    for (sent, field) in cases {
        assert_invalid_field(create(&app, &user.token, sent).await, field).await;
    }
    // Two bad fields are both named.
    let resp = create(
        &app,
        &user.token,
        json!({"date": "tomorrow", "task": " ", "status": "Incomplete"}),
    )
    .await;
    let problem = assert_invalid_field(resp, "date").await;
    let fields = refused_fields(&problem);
    assert_eq!(fields, ["date", "task"], "{problem}");
    assert_eq!(app.count_rows("tasks").await, 0);
}

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

async fn a_task_id_that_is_not_a_number_is_422_naming_id() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    for id in ["abc", "1.5", "99999999999999999999", "1e3"] {
        let path = format!("/v1/tasks/{id}");
        for (method, path, sent) in [
            (Method::GET, path.clone(), None),
            (Method::PATCH, path.clone(), Some(json!({"task": "Run"}))),
            (Method::DELETE, path.clone(), None),
            (
                Method::POST,
                format!("{path}/move"),
                Some(json!({"to": "start"})),
            ),
        ] {
            let resp = app
                .send(method.clone(), &path, sent, Some(&user.token))
                .await;
            assert_eq!(resp.status(), 422, "{method} {path}");
            assert_invalid_field(resp, "id").await;
        }
    }
}

async fn an_expired_session_is_401_session_expired_on_every_task_endpoint_whatever_else_is_wrong() {
    let app = spawn_app_with(|c| c.session_ttl = Duration::from_millis(1000)).await;
    let user = app.signed_in_user().await;
    let task = app.create_task(&user.token, "Swimming").await;
    let id = task["id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let one = format!("/v1/tasks/{id}");
    let moving = format!("/v1/tasks/{id}/move");
    let good_task = json!({"date": TASK_DATE, "task": "Run", "status": "Completed"});
    let requests: Vec<(Method, String, Option<Value>)> = vec![
        // Well-formed requests.
        (Method::POST, "/v1/tasks".into(), Some(good_task)),
        (Method::GET, "/v1/tasks".into(), None),
        (Method::GET, one.clone(), None),
        (Method::PATCH, one.clone(), Some(json!({"task": "Run"}))),
        (Method::DELETE, one.clone(), None),
        (
            Method::POST,
            "/v1/tasks/sort?page=1&per_page=10".into(),
            Some(json!({"task_ids": [id]})),
        ),
        (Method::POST, moving.clone(), Some(json!({"to": "end"}))),
        // The same endpoints with the rest of the request wrong too.
        (Method::POST, "/v1/tasks".into(), Some(json!({}))),
        (
            Method::POST,
            "/v1/tasks".into(),
            Some(json!({"date": "tomorrow", "task": "", "status": "Done"})),
        ),
        (Method::GET, "/v1/tasks?page=0&per_page=1000".into(), None),
        (Method::GET, "/v1/tasks?page=abc".into(), None),
        (Method::GET, "/v1/tasks/abc".into(), None),
        (Method::GET, "/v1/tasks/999999".into(), None),
        (Method::PATCH, one.clone(), Some(json!({}))),
        (
            Method::PATCH,
            "/v1/tasks/abc".into(),
            Some(json!({"date": null})),
        ),
        (Method::DELETE, "/v1/tasks/abc".into(), None),
        (Method::DELETE, "/v1/tasks/999999".into(), None),
        (
            Method::POST,
            "/v1/tasks/sort?page=0".into(),
            Some(json!({"task_ids": [id, id]})),
        ),
        (Method::POST, "/v1/tasks/sort".into(), Some(json!({}))),
        (Method::POST, moving.clone(), Some(json!({}))),
        (Method::POST, moving, Some(json!({"before_id": id}))),
        (
            Method::POST,
            "/v1/tasks/abc/move".into(),
            Some(json!({"to": "middle"})),
        ),
    ];
    for (method, path, sent) in requests {
        let resp = app
            .send(method.clone(), &path, sent.clone(), Some(&user.token))
            .await;
        let www = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let status = resp.status();
        let problem = body(resp).await;
        assert_eq!(
            (status.as_u16(), problem["code"].as_str()),
            (401, Some("session_expired")),
            "{method} {path} {sent:?}: {problem}"
        );
        let www = www.unwrap_or_default();
        assert!(
            www.starts_with("Bearer ") && www.contains("error=\"invalid_token\""),
            "{method} {path}: WWW-Authenticate was {www:?}"
        );
    }

    // Bodies that are not even JSON, or not declared as JSON, lose to the session check as well.
    for (content_type, raw) in [
        (Some("application/json"), "{\"date\": "),
        (Some("text/plain"), "hello"),
        (None, ""),
    ] {
        for path in [
            "/v1/tasks",
            "/v1/tasks/sort",
            &format!("/v1/tasks/{id}/move"),
        ] {
            let resp = app
                .http
                .post(format!("{}{path}", app.base))
                .bearer_auth(&user.token)
                .header(
                    "content-type",
                    content_type.unwrap_or("application/octet-stream"),
                )
                .body(raw)
                .send()
                .await
                .unwrap();
            assert_problem(resp, 401, "session_expired").await;
        }
    }

    // Nothing was touched.
    assert_eq!(app.count_rows("tasks").await, 1);
    assert_eq!(stored_texts(&app).await, ["Swimming"]);
}

// ---------------------------------------------------------------- paging

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
    assert_eq!(first["items"][0], get_task(&app, &user.token, ids[0]).await);

    // Deleting one shifts the later pages up by one.
    let resp = app
        .send(
            Method::DELETE,
            &format!("/v1/tasks/{}", ids[0]),
            None,
            Some(&user.token),
        )
        .await;
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
