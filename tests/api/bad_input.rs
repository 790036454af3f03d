//! Bad input gets a 4xx problem+json naming what is wrong — never a 500 — and a real
//! internal failure is a bare 500 `internal` that gives nothing of the database away.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

stories!(sqlite, postgres => [
    malformed_json_is_400_malformed_json,
    a_missing_field_is_422_naming_it,
    a_field_of_the_wrong_type_is_422_naming_it,
    an_unknown_extra_field_is_422_naming_it,
    a_body_that_is_not_a_json_object_is_422_naming_body,
    a_body_over_64_kib_is_413_payload_too_large,
    a_non_ascii_or_overlong_email_is_422_naming_email,
    a_bad_header_or_parameter_value_is_told_what_to_send,
    a_body_that_is_not_declared_json_is_415_unsupported_media_type,
    an_unknown_route_is_a_404_not_found_problem,
    a_wrong_method_is_a_405_method_not_allowed_problem_saying_which_are_allowed,
    a_stored_task_listo_could_not_have_written_is_a_bare_500_not_an_answer,
    an_internal_failure_is_a_bare_500_that_shows_no_database_text,
]);

const JSON: Option<&str> = Some("application/json");

/// The body-taking auth endpoints: every body rule must hold on each.
const BODY_ENDPOINTS: [&str; 3] = ["/v1/auth/register", "/v1/auth/login", "/v1/auth/verify"];

async fn malformed_json_is_400_malformed_json() {
    let app = spawn_app().await;
    for path in BODY_ENDPOINTS {
        for raw in [
            r#"{"email": "#,
            "{email: 1}",
            r#"{"email": "a@b.co"} trailing"#,
            r#"{"email": 5, "password": }"#,
            "\u{feff}{}",
        ] {
            let resp = app.send_raw(Method::POST, path, JSON, raw).await;
            assert_eq!(resp.status(), 400, "POST {path} {raw}");
            assert_problem(resp, 400, "malformed_json").await;
        }
    }
}

async fn a_missing_field_is_422_naming_it() {
    let app = spawn_app().await;
    let cases = [
        (
            "/v1/auth/register",
            json!({"email": "ada@example.com"}),
            "password",
        ),
        ("/v1/auth/register", json!({"password": PASSWORD}), "email"),
        (
            "/v1/auth/login",
            json!({"email": "ada@example.com"}),
            "password",
        ),
        ("/v1/auth/verify", json!({"code": "123456"}), "challenge_id"),
        (
            "/v1/auth/verify",
            json!({"challenge_id": "AAAAAAAAAAAAAAAAAAAAAA"}),
            "code",
        ),
    ];
    for (path, body, field) in cases {
        let resp = app.send(Method::POST, path, Some(body), None).await;
        assert_invalid_field(resp, field).await;
    }
}

async fn a_field_of_the_wrong_type_is_422_naming_it() {
    let app = spawn_app().await;
    let cases = [
        (
            "/v1/auth/register",
            json!({"email": 5, "password": PASSWORD}),
            "email",
        ),
        (
            "/v1/auth/register",
            json!({"email": "ada@example.com", "password": null}),
            "password",
        ),
        (
            "/v1/auth/login",
            json!({"email": ["ada@example.com"], "password": PASSWORD}),
            "email",
        ),
        (
            "/v1/auth/verify",
            json!({"challenge_id": "AAAAAAAAAAAAAAAAAAAAAA", "code": 123456}),
            "code",
        ),
    ];
    for (path, body, field) in cases {
        let resp = app.send(Method::POST, path, Some(body), None).await;
        assert_invalid_field(resp, field).await;
    }
}

async fn an_unknown_extra_field_is_422_naming_it() {
    let app = spawn_app().await;
    let body = json!({"email": "ada@example.com", "password": PASSWORD, "is_admin": true});
    for path in ["/v1/auth/register", "/v1/auth/login"] {
        let resp = app.send(Method::POST, path, Some(body.clone()), None).await;
        assert_invalid_field(resp, "is_admin").await;
    }
    assert_eq!(
        app.count_rows("users").await,
        0,
        "the refused register stored nothing"
    );
}

async fn a_body_that_is_not_a_json_object_is_422_naming_body() {
    let app = spawn_app().await;
    for path in BODY_ENDPOINTS {
        for raw in [
            "",
            "   ",
            "[]",
            r#"["ada@example.com", "password"]"#,
            "42",
            "null",
        ] {
            let resp = app.send_raw(Method::POST, path, JSON, raw).await;
            assert_invalid_field(resp, "body").await;
        }
    }
}

async fn a_body_over_64_kib_is_413_payload_too_large() {
    let app = spawn_app().await;
    let body_of = |padding: usize| {
        json!({"email": "ada@example.com", "password": "p".repeat(padding)}).to_string()
    };

    // Just under the limit the body is read and judged on its content.
    let under = body_of(60 * 1024);
    assert!(under.len() < 64 * 1024);
    let resp = app
        .send_raw(Method::POST, "/v1/auth/register", JSON, under)
        .await;
    assert_invalid_field(resp, "password").await;

    let over = body_of(65 * 1024);
    let resp = app
        .send_raw(Method::POST, "/v1/auth/register", JSON, over)
        .await;
    assert_problem(resp, 413, "payload_too_large").await;

    let huge = body_of(1024 * 1024);
    let resp = app
        .send_raw(Method::POST, "/v1/auth/login", JSON, huge)
        .await;
    assert_problem(resp, 413, "payload_too_large").await;
}

async fn a_non_ascii_or_overlong_email_is_422_naming_email() {
    let app = spawn_app().await;
    let long = format!("{}@example.com", "a".repeat(300 - "@example.com".len()));
    assert_eq!(long.chars().count(), 300);
    for email in ["zoë@example.com", "ada@exämple.com", long.as_str()] {
        assert_invalid_field(app.register(email, PASSWORD).await, "email").await;
        assert_invalid_field(app.login(email, PASSWORD).await, "email").await;
    }
    assert_eq!(app.count_rows("users").await, 0);
}

async fn a_body_that_is_not_declared_json_is_415_unsupported_media_type() {
    let app = spawn_app().await;
    let json_text = json!({"email": "ada@example.com", "password": PASSWORD}).to_string();
    for path in BODY_ENDPOINTS {
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            let resp = app
                .send_raw(Method::POST, path, content_type, json_text.clone())
                .await;
            assert_problem(resp, 415, "unsupported_media_type").await;
        }
    }
    // Declared JSON with a charset parameter is still JSON.
    let resp = app
        .send_raw(
            Method::POST,
            "/v1/auth/register",
            Some("application/json; charset=utf-8"),
            json_text,
        )
        .await;
    assert_eq!(resp.status(), 201);
}

async fn an_unknown_route_is_a_404_not_found_problem() {
    let app = spawn_app().await;
    for path in [
        "/v1/nothing-here",
        "/v2/tasks",
        "/v1/auth/register/extra",
        "/",
    ] {
        let resp = app.send(Method::GET, path, None, None).await;
        assert_problem(resp, 404, "not_found").await;
    }
}

async fn a_wrong_method_is_a_405_method_not_allowed_problem_saying_which_are_allowed() {
    let app = spawn_app().await;
    for (method, path, allowed) in [
        (Method::DELETE, "/v1/auth/login", "POST"),
        (Method::GET, "/v1/auth/register", "POST"),
        (Method::PUT, "/v1/auth/session", "GET"),
        (Method::PUT, "/v1/tasks/7", "GET, PATCH, DELETE"),
        (Method::TRACE, "/v1/tasks", "POST, GET"),
        (Method::GET, "/v1/tasks/sort", "POST"),
    ] {
        let resp = app.send(method.clone(), path, None, None).await;
        assert_eq!(header(&resp, "allow"), allowed, "{method} {path}");
        assert_problem(resp, 405, "method_not_allowed").await;
    }
}

async fn a_stored_task_listo_could_not_have_written_is_a_bare_500_not_an_answer() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let id = app.create_task(&user.token, "fine").await["id"]
        .as_i64()
        .unwrap();
    // Each value breaks one rule the store checks on every read: an impossible date, a text
    // that is only whitespace, an instant before 1970.
    for (column, bad) in [
        ("date", "'2026-02-30'"),
        ("text", "'   '"),
        ("created_at", "-5"),
    ] {
        app.db()
            .execute(&format!(
                "UPDATE tasks SET {column} = {bad} WHERE id = {id}"
            ))
            .await;
        app.assert_reads_fail_bare(&user.token, id, column).await;
        assert!(
            captured_logs().contains(&format!("task {id} {column}")),
            "the corrupt {column} was logged for the operator"
        );
        app.db()
            .execute(&format!(
                "UPDATE tasks SET date = '2026-02-28', text = 'fine', created_at = updated_at \
                 WHERE id = {id}"
            ))
            .await;
        let resp = app
            .send(Method::GET, "/v1/tasks", None, Some(&user.token))
            .await;
        assert_eq!(resp.status(), 200, "mended, the list reads again");
    }
}

async fn an_internal_failure_is_a_bare_500_that_shows_no_database_text() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let resp = app
        .send(Method::GET, "/v1/tasks", None, Some(&user.token))
        .await;
    assert_eq!(
        resp.status(),
        200,
        "the listing works before the table goes"
    );

    app.db().execute("DROP TABLE tasks").await;

    let resp = app
        .send(Method::GET, "/v1/tasks", None, Some(&user.token))
        .await;
    let problem = assert_problem(resp, 500, "internal").await;
    let shown = problem.to_string().to_lowercase();
    for leak in [
        "sqlite",
        "postgres",
        "tasks",
        "no such table",
        "does not exist",
    ] {
        assert!(
            !shown.contains(leak),
            "the 500 body mentions {leak:?}: {problem}"
        );
    }
    assert!(problem.get("errors").is_none(), "{problem}");
    // The cause is not lost: it is logged for the operator.
    assert!(
        captured_logs().contains("no such table: tasks")
            || captured_logs().contains("relation \"tasks\" does not exist"),
        "the internal failure was logged with its cause"
    );
}

/// A header, query or path value the server refuses before the operation runs is answered with
/// what to send, never a parser's words (`verification failed. pattern(…)`, `failed to parse`).
async fn a_bad_header_or_parameter_value_is_told_what_to_send() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let task = app.create_task(&user.token, "a task").await;
    let path = format!("/v1/tasks/{}", task["id"]);
    let with_header = |method: Method, name: &'static str, value: &'static str| {
        app.http
            .request(method, format!("{}{path}", app.base))
            .bearer_auth(&user.token)
            .header(name, value)
            .send()
    };
    let cases = [
        (
            with_header(Method::DELETE, "if-match", "3").await.unwrap(),
            "If-Match",
            "an entity tag in quotes, e.g. \"3\" (the ETag you read), or *",
        ),
        (
            with_header(Method::GET, "if-none-match", "W/3")
                .await
                .unwrap(),
            "If-None-Match",
            "an entity tag in quotes, e.g. \"3\" (the ETag you hold), several separated by commas, or *",
        ),
        (
            app.send(
                Method::POST,
                "/v1/auth/logout?scope=everyone",
                None,
                Some(&user.token),
            )
            .await,
            "scope",
            "one of local, others, global",
        ),
        (
            app.get("/v1/tasks?status=Done", &user.token).await,
            "status",
            "one of Completed, Incomplete",
        ),
        (
            app.get("/v1/tasks/changes?since=yesterday", &user.token)
                .await,
            "since",
            "a position: a next_since or an event id you were given (1 to 18 digits)",
        ),
        (
            app.send(
                Method::DELETE,
                "/v1/auth/sessions/not%20one",
                None,
                Some(&user.token),
            )
            .await,
            "id",
            "a session id from GET /v1/auth/sessions (letters, digits, _ and -)",
        ),
        (
            app.get("/v1/tasks/abc", &user.token).await,
            "id",
            "must be a whole number",
        ),
    ];
    for (resp, field, message) in cases {
        let problem = assert_invalid_field(resp, field).await;
        assert_eq!(problem["errors"][0]["message"], message, "{problem}");
        let text = problem.to_string();
        assert!(
            !text.contains("verification failed") && !text.contains("failed to parse"),
            "{text}"
        );
    }
    let events = app
        .http
        .get(format!("{}/v1/tasks/events", app.base))
        .bearer_auth(&user.token)
        .header("last-event-id", "x1")
        .send()
        .await
        .unwrap();
    let problem = assert_invalid_field(events, "Last-Event-ID").await;
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("a position:"),
        "{problem}"
    );
}
