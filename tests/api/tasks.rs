//! Tasks: create, read, edit, delete — each user sees only their own — and an expired session
//! on every task endpoint (fields: `task_fields.rs`; listing: `pages.rs`).

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
    an_expired_session_is_401_session_expired_on_every_task_endpoint_whatever_else_is_wrong,
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

/// A PATCH that changes exactly `changes` and nothing else, as read back through GET.
async fn assert_patch_changes_only(app: &TestApp, token: &str, before: &Value, changes: Value) {
    let id = before["id"].as_i64().unwrap();
    tick().await;
    let resp = app.patch_task(token, id, changes.clone()).await;
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
        app.task(token, id).await,
        after,
        "GET shows the PATCHed task"
    );
}

// ---------------------------------------------------------------- create and read

async fn create_answers_201_with_location_and_the_trimmed_task() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;

    let resp = app.post_task(&user.token,
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
            "list_id",
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

    let completed = app
        .post_task(
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
    let now = app.task(&user.token, id).await;
    assert_patch_changes_only(&app, &user.token, &now, json!({"task": "  Run 5 km  "})).await;
    let now = app.task(&user.token, id).await;
    assert_patch_changes_only(&app, &user.token, &now, json!({"status": "Completed"})).await;
    let now = app.task(&user.token, id).await;
    assert_patch_changes_only(
        &app,
        &user.token,
        &now,
        json!({"date": "2027-01-01", "task": "Read a book", "status": "Incomplete"}),
    )
    .await;

    let last = app.task(&user.token, id).await;
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
        let problem = assert_invalid_field(
            app.patch_task(&user.token, id, changes.clone()).await,
            field,
        )
        .await;
        assert_eq!(
            problem["errors"].as_array().unwrap().len(),
            1,
            "PATCH {changes}: {problem}"
        );
    }
    assert_eq!(
        app.task(&user.token, id).await,
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
    let resp = app
        .patch_task(&user.token, gone, json!({"status": "Completed"}))
        .await;
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
    let before = app.task(&ada.token, target).await;
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
    assert_eq!(app.task(&ada.token, target).await, before);
    assert_eq!(app.list_all(&ada.token).await, ada_ids);
    assert_eq!(app.sort_keys().await, keys_before);
    assert_eq!(app.task(&bob.token, bob_id).await, bob_task);
}

// ---------------------------------------------------------------- bad input

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
    assert_eq!(app.stored_texts().await, ["Swimming"]);
}

// ---------------------------------------------------------------- paging
