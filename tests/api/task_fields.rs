//! A task's fields as a client sends them: dates, text, status, the fields a create needs and
//! the id in the path, each refused with 422 naming the field and saying what to send.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

stories!(sqlite, postgres => [
    bad_dates_are_422_naming_date_on_create_and_patch,
    task_text_must_be_1_to_1000_characters_after_trimming,
    status_must_be_completed_or_incomplete_exactly,
    create_needs_every_field_and_no_other,
    a_task_id_that_is_not_a_number_is_422_naming_id,
]);

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
        let resp = app
            .post_task(
                &user.token,
                json!({"date": date, "task": "Swimming", "status": "Incomplete"}),
            )
            .await;
        let problem = assert_invalid_field(resp, "date").await;
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
        assert_invalid_field(
            app.patch_task(&user.token, id, json!({"date": date})).await,
            "date",
        )
        .await;
    }
    assert_eq!(
        app.count_rows("tasks").await,
        1,
        "no refused task was stored"
    );
    assert_eq!(app.task(&user.token, id).await, task);
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
        let resp = app
            .post_task(
                &user.token,
                json!({"date": TASK_DATE, "task": text, "status": "Incomplete"}),
            )
            .await;
        let problem = assert_invalid_field(resp, "task").await;
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
        assert_invalid_field(
            app.patch_task(&user.token, id, json!({"task": text})).await,
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
        let resp = app.patch_task(&user.token, id, json!({"task": text})).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(body(resp).await["task"], text.trim());
    }
    assert!(
        app.stored_texts()
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
        let resp = app
            .post_task(
                &user.token,
                json!({"date": TASK_DATE, "task": "Swimming", "status": status}),
            )
            .await;
        assert_invalid_field(resp, "status").await;
        assert_invalid_field(
            app.patch_task(&user.token, id, json!({"status": status}))
                .await,
            "status",
        )
        .await;
    }
    assert_eq!(app.count_rows("tasks").await, 1);
    assert_eq!(app.task(&user.token, id).await, task);
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
        assert_invalid_field(app.post_task(&user.token, sent).await, field).await;
    }
    // Two bad fields are both named.
    let resp = app
        .post_task(
            &user.token,
            json!({"date": "tomorrow", "task": " ", "status": "Incomplete"}),
        )
        .await;
    let problem = assert_invalid_field(resp, "date").await;
    let fields = refused_fields(&problem);
    assert_eq!(fields, ["date", "task"], "{problem}");
    assert_eq!(app.count_rows("tasks").await, 0);
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
