//! An account's life after sign-up: change the password, reset a forgotten one by email, see
//! and end sessions, log out by scope, delete the account.

use crate::support::*;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use std::time::Duration;

stories!(sqlite, postgres => [
    a_password_change_ends_the_other_sessions_keeps_this_one_and_retires_the_old_password,
    a_wrong_current_password_is_401_and_changes_nothing,
    a_reset_code_from_the_email_sets_a_new_password_and_ends_every_session,
    a_reset_for_an_unknown_email_answers_the_same_and_sends_nothing,
    a_code_works_only_where_it_belongs,
    reset_codes_burn_after_five_wrong_tries_and_a_newer_request_ends_the_older,
    reset_requests_are_limited_the_same_for_known_and_unknown_emails,
    a_bad_reset_body_is_422_naming_each_field,
    the_session_list_shows_each_device_marks_this_one_and_never_shows_a_token,
    ending_a_session_by_id_revokes_that_one_only_and_another_users_id_is_404,
    each_logout_scope_ends_what_it_names,
    deleting_the_account_removes_its_tasks_kills_its_token_and_frees_the_email,
    the_account_flows_log_no_password_code_or_token,
]);

const NEW_PASSWORD: &str = "a brand new passphrase";

impl TestApp {
    /// `POST /v1/auth/password`.
    async fn change_password(&self, token: &str, current: &str, new: &str) -> Response {
        let body = json!({"current_password": current, "new_password": new});
        self.send(Method::POST, "/v1/auth/password", Some(body), Some(token))
            .await
    }

    /// `GET /v1/auth/sessions`, asserting 200; returns the items.
    async fn session_list(&self, token: &str) -> Vec<Value> {
        let resp = self.get("/v1/auth/sessions", token).await;
        assert_eq!(resp.status(), 200);
        body(resp).await["items"].as_array().unwrap().clone()
    }

    /// `POST /v1/auth/logout?scope=…` (no scope: the default).
    async fn logout_scope(&self, token: &str, scope: Option<&str>) -> Response {
        let path = match scope {
            Some(scope) => format!("/v1/auth/logout?scope={scope}"),
            None => "/v1/auth/logout".into(),
        };
        self.send(Method::POST, &path, None, Some(token)).await
    }

    /// Logs `email` in again (it exists) and verifies from a client calling itself `agent`.
    async fn another_device(&self, email: &str, password: &str, agent: &str) -> String {
        let (challenge, code) = self.login_and_read_code(email, password).await;
        let resp = self
            .http
            .post(format!("{}/v1/auth/verify", self.base))
            .header("user-agent", agent)
            .json(&json!({"challenge_id": challenge, "code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        body(resp).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The status `GET /v1/auth/session` answers for `token`, with its problem code if any.
    async fn session_state(&self, token: &str) -> (u16, Option<String>) {
        let resp = self.get("/v1/auth/session", token).await;
        let status = resp.status().as_u16();
        if status == 200 {
            return (status, None);
        }
        (status, body(resp).await["code"].as_str().map(str::to_owned))
    }
}

/// Asserts that `token` now answers 401 `session_revoked`.
async fn assert_revoked(app: &TestApp, token: &str) {
    assert_eq!(
        app.session_state(token).await,
        (401, Some("session_revoked".into()))
    );
}

/// Asserts that `token` still opens its session.
async fn assert_live(app: &TestApp, token: &str) {
    assert_eq!(app.session_state(token).await, (200, None));
}

// ---------------------------------------------------------------- changing the password

async fn a_password_change_ends_the_other_sessions_keeps_this_one_and_retires_the_old_password() {
    let app = spawn_app().await;
    let laptop = app.sign_in_as("ada@example.com").await;
    let phone = app
        .another_device("ada@example.com", PASSWORD, "phone")
        .await;

    let resp = app
        .change_password(&laptop.token, PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(resp.status(), 204);

    assert_live(&app, &laptop.token).await;
    assert_revoked(&app, &phone).await;
    assert_problem(
        app.login("ada@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    let (challenge, code) = app
        .login_and_read_code("ada@example.com", NEW_PASSWORD)
        .await;
    assert_eq!(app.verify(&challenge, &code).await.status(), 200);
}

async fn a_wrong_current_password_is_401_and_changes_nothing() {
    let app = spawn_app().await;
    let user = app.sign_in_as("bob@example.com").await;
    let phone = app
        .another_device("bob@example.com", PASSWORD, "phone")
        .await;
    let resp = app
        .change_password(&user.token, "not the password", NEW_PASSWORD)
        .await;
    assert_problem(resp, 401, "invalid_credentials").await;
    assert_live(&app, &phone).await;
    assert_problem(
        app.login("bob@example.com", NEW_PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;

    // Both fields are checked, and both named.
    let resp = app.change_password(&user.token, "short", "short").await;
    let problem = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(
        refused_fields(&problem),
        ["current_password", "new_password"]
    );
}

// ---------------------------------------------------------------- resetting a forgotten password

async fn a_reset_code_from_the_email_sets_a_new_password_and_ends_every_session() {
    let app = spawn_app().await;
    let laptop = app.sign_in_as("cy@example.com").await;
    let phone = app
        .another_device("cy@example.com", PASSWORD, "phone")
        .await;

    let (challenge, code) = app.reset_code("cy@example.com").await;
    let mail = app.smtp.latest_to("cy@example.com").await;
    for says in [
        "password reset code",
        "valid for 5 minutes",
        "If you did not ask to reset your password",
    ] {
        assert!(
            mail.data.contains(says),
            "the email says {says:?}: {}",
            mail.data
        );
    }

    let resp = app.confirm_reset(&challenge, &code, NEW_PASSWORD).await;
    assert_eq!(resp.status(), 204);
    assert_revoked(&app, &laptop.token).await;
    assert_revoked(&app, &phone).await;
    assert_problem(
        app.login("cy@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    let (login, login_code) = app
        .login_and_read_code("cy@example.com", NEW_PASSWORD)
        .await;
    assert_eq!(app.verify(&login, &login_code).await.status(), 200);

    // A code works once.
    let again = app
        .confirm_reset(&challenge, &code, "yet another password")
        .await;
    assert_problem(again, 401, "invalid_code").await;
}

async fn a_reset_for_an_unknown_email_answers_the_same_and_sends_nothing() {
    let app = spawn_app().await;
    app.sign_in_as("dee@example.com").await;
    let sent_before = app.smtp.messages().len();

    let known = app.request_reset("dee@example.com").await;
    let unknown = app.request_reset("nobody@example.com").await;
    assert_eq!(known.status(), 202);
    assert_eq!(unknown.status(), 202);
    assert_eq!(header(&known, "cache-control"), "no-store");
    assert_eq!(header(&unknown, "cache-control"), "no-store");
    let (known, unknown) = (body(known).await, body(unknown).await);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&known), keys(&unknown));
    assert_eq!(known["detail"], unknown["detail"]);
    for answer in [&known, &unknown] {
        let id = answer["challenge_id"].as_str().unwrap();
        assert_eq!(id.len(), 22, "{answer}");
    }

    // Only the account's email went out (it follows the answer), and nothing follows later.
    app.smtp
        .arriving_to("dee@example.com", sent_before, Duration::from_secs(5))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent: Vec<Vec<String>> = app.smtp.messages()[sent_before..]
        .iter()
        .map(|m| m.to.clone())
        .collect();
    assert_eq!(sent, [vec!["dee@example.com".to_owned()]]);

    // Its challenge behaves like a real one: a wrong code costs an attempt, and none works.
    let fake = unknown["challenge_id"].as_str().unwrap();
    let resp = app.confirm_reset(fake, "123456", NEW_PASSWORD).await;
    let problem = assert_problem(resp, 401, "invalid_code").await;
    assert_eq!(problem["attempts_left"], 4);
}

async fn a_code_works_only_where_it_belongs() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("eve@example.com", PASSWORD).await.status(),
        201
    );
    let (reset, reset_code) = app.reset_code("eve@example.com").await;
    let (login, login_code) = app.login_and_read_code("eve@example.com", PASSWORD).await;

    assert_problem(app.verify(&reset, &reset_code).await, 401, "invalid_code").await;
    let resp = app.confirm_reset(&login, &login_code, NEW_PASSWORD).await;
    assert_problem(resp, 401, "invalid_code").await;

    // Each still works where it belongs.
    assert_eq!(app.verify(&login, &login_code).await.status(), 200);
    let resp = app.confirm_reset(&reset, &reset_code, NEW_PASSWORD).await;
    assert_eq!(resp.status(), 204);
}

async fn reset_codes_burn_after_five_wrong_tries_and_a_newer_request_ends_the_older() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("fay@example.com", PASSWORD).await.status(),
        201
    );
    let (first, first_code) = app.reset_code("fay@example.com").await;
    let (second, second_code) = app.reset_code("fay@example.com").await;
    let resp = app.confirm_reset(&first, &first_code, NEW_PASSWORD).await;
    assert_problem(resp, 401, "code_expired").await;

    let wrong = other_code(&second_code);
    for left in (1..=4).rev() {
        let resp = app.confirm_reset(&second, &wrong, NEW_PASSWORD).await;
        let problem = assert_problem(resp, 401, "invalid_code").await;
        assert_eq!(problem["attempts_left"], left);
    }
    let resp = app.confirm_reset(&second, &wrong, NEW_PASSWORD).await;
    assert_problem(resp, 429, "too_many_attempts").await;
    let resp = app.confirm_reset(&second, &second_code, NEW_PASSWORD).await;
    assert_problem(resp, 429, "too_many_attempts").await;
    // The password never changed.
    assert_eq!(app.login("fay@example.com", PASSWORD).await.status(), 202);
}

async fn reset_requests_are_limited_the_same_for_known_and_unknown_emails() {
    let app = spawn_app_with(|c| c.limits.resets_per_hour = 2).await;
    assert_eq!(
        app.register("gus@example.com", PASSWORD).await.status(),
        201
    );
    for email in ["gus@example.com", "ghost@example.com"] {
        for _ in 0..2 {
            assert_eq!(app.request_reset(email).await.status(), 202, "{email}");
        }
        let resp = app.request_reset(email).await;
        let retry_after: u64 = header(&resp, "retry-after").parse().unwrap();
        assert!((1..=3600).contains(&retry_after), "{retry_after}");
        assert_problem(resp, 429, "rate_limited").await;
    }
}

async fn a_bad_reset_body_is_422_naming_each_field() {
    let app = spawn_app().await;
    let resp = app.request_reset("not an email").await;
    assert_invalid_field(resp, "email").await;
    let resp = app.confirm_reset("short", "12", "tiny").await;
    let problem = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(
        refused_fields(&problem),
        ["challenge_id", "code", "new_password"]
    );
}

// ---------------------------------------------------------------- sessions

async fn the_session_list_shows_each_device_marks_this_one_and_never_shows_a_token() {
    let app = spawn_app().await;
    let laptop = app.sign_in_as("hal@example.com").await;
    let phone = app
        .another_device("hal@example.com", PASSWORD, "listo-phone/1.0 (test)")
        .await;

    let items = app.session_list(&phone).await;
    assert_eq!(items.len(), 2, "{items:?}");
    let current: Vec<&Value> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "listo-phone/1.0 (test)");
    for session in &items {
        let id = session["id"].as_str().unwrap();
        assert!(!id.is_empty());
        for token in [&laptop.token, &phone] {
            assert!(!token.contains(id) && !id.contains(token.as_str()));
        }
        assert_eq!(session["address"], "127.0.0.1");
        assert!(session["expires_in"].as_i64().unwrap() > 0);
    }
    let text = serde_json::to_string(&items).unwrap();
    assert!(!text.contains(&laptop.token) && !text.contains(&phone));
    // The list is the caller's own: another user sees only theirs.
    let other = app.signed_in_user().await;
    assert_eq!(app.session_list(&other.token).await.len(), 1);
}

async fn ending_a_session_by_id_revokes_that_one_only_and_another_users_id_is_404() {
    let app = spawn_app().await;
    let laptop = app.sign_in_as("ivy@example.com").await;
    let phone = app
        .another_device("ivy@example.com", PASSWORD, "phone")
        .await;
    let items = app.session_list(&laptop.token).await;
    let phone_id = items.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Someone else cannot end it, nor learn that it exists.
    let stranger = app.signed_in_user().await;
    let path = format!("/v1/auth/sessions/{phone_id}");
    let resp = app
        .send(Method::DELETE, &path, None, Some(&stranger.token))
        .await;
    assert_problem(resp, 404, "session_not_found").await;
    assert_live(&app, &phone).await;

    let resp = app
        .send(Method::DELETE, &path, None, Some(&laptop.token))
        .await;
    assert_eq!(resp.status(), 204);
    assert_revoked(&app, &phone).await;
    assert_live(&app, &laptop.token).await;
    assert_eq!(app.session_list(&laptop.token).await.len(), 1);

    // Ended once, it is no longer a live session.
    let resp = app
        .send(Method::DELETE, &path, None, Some(&laptop.token))
        .await;
    assert_problem(resp, 404, "session_not_found").await;
    let resp = app
        .send(
            Method::DELETE,
            "/v1/auth/sessions/not*an*id",
            None,
            Some(&laptop.token),
        )
        .await;
    assert_invalid_field(resp, "id").await;
}

async fn each_logout_scope_ends_what_it_names() {
    // Six sign-ins (argon2 each) before the last check: on a loaded machine that passed the
    // 30 s default, and an expired token answered 401 where a logout was expected.
    let app = spawn_app_with(|c| c.session_ttl = Duration::from_secs(3600)).await;
    let a = app.sign_in_as("jo@example.com").await.token;
    let b = app.another_device("jo@example.com", PASSWORD, "b").await;
    let c = app.another_device("jo@example.com", PASSWORD, "c").await;
    let bystander = app.signed_in_user().await;

    // local, the default: this session only.
    assert_eq!(app.logout_scope(&c, None).await.status(), 204);
    assert_revoked(&app, &c).await;
    assert_live(&app, &a).await;

    let d = app.another_device("jo@example.com", PASSWORD, "d").await;
    assert_eq!(app.logout_scope(&d, Some("local")).await.status(), 204);
    assert_revoked(&app, &d).await;

    // others: every session but this one.
    let e = app.another_device("jo@example.com", PASSWORD, "e").await;
    assert_eq!(app.logout_scope(&a, Some("others")).await.status(), 204);
    assert_live(&app, &a).await;
    assert_revoked(&app, &b).await;
    assert_revoked(&app, &e).await;

    // global: all of them, this one too; another user's session is untouched.
    let f = app.another_device("jo@example.com", PASSWORD, "f").await;
    assert_eq!(app.logout_scope(&f, Some("global")).await.status(), 204);
    assert_revoked(&app, &a).await;
    assert_revoked(&app, &f).await;
    assert_live(&app, &bystander.token).await;

    let resp = app.logout_scope(&bystander.token, Some("everyone")).await;
    assert_invalid_field(resp, "scope").await;
    assert_live(&app, &bystander.token).await;
}

// ---------------------------------------------------------------- deleting the account

async fn deleting_the_account_removes_its_tasks_kills_its_token_and_frees_the_email() {
    let app = spawn_app().await;
    let user = app.sign_in_as("kim@example.com").await;
    app.create_tasks(&user.token, 3).await;
    let other = app.signed_in_user().await;
    let kept = app.create_tasks(&other.token, 2).await;

    let delete = |password: &'static str| {
        let token = user.token.clone();
        let app = &app;
        async move {
            app.send(
                Method::DELETE,
                "/v1/auth/account",
                Some(json!({ "password": password })),
                Some(&token),
            )
            .await
        }
    };
    assert_problem(delete("not the password").await, 401, "invalid_credentials").await;
    assert_live(&app, &user.token).await;

    assert_eq!(delete(PASSWORD).await.status(), 204);
    let (status, _) = app.session_state(&user.token).await;
    assert_eq!(status, 401, "the token died with the account");
    assert_eq!(
        app.count_rows("tasks").await,
        2,
        "only the other user's tasks are left"
    );
    assert_eq!(app.list_all(&other.token).await, kept);

    // The email registers afresh, with an empty list.
    let again = app.sign_in_as("kim@example.com").await;
    assert!(app.list_all(&again.token).await.is_empty());
}

// ---------------------------------------------------------------- secrets

async fn the_account_flows_log_no_password_code_or_token() {
    let app = spawn_app().await;
    let email = "leak-check-account@example.com";
    let first = "leak-canary first b41c0d";
    let second = "leak-canary second 9e2f77";
    let third = "leak-canary third 5a6b7c";
    assert_eq!(app.register(email, first).await.status(), 201);
    let (challenge, code) = app.login_and_read_code(email, first).await;
    let token = app.verified_token(&challenge, &code).await;
    assert_eq!(
        app.change_password(&token, first, second).await.status(),
        204
    );
    let ids: Vec<String> = app
        .session_list(&token)
        .await
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let (reset, reset_code) = app.reset_code(email).await;
    assert_eq!(
        app.confirm_reset(&reset, &reset_code, third).await.status(),
        204
    );
    let (challenge, code2) = app.login_and_read_code(email, third).await;
    let token2 = app.verified_token(&challenge, &code2).await;
    let resp = app
        .send(
            Method::DELETE,
            "/v1/auth/account",
            Some(json!({ "password": third })),
            Some(&token2),
        )
        .await;
    assert_eq!(resp.status(), 204);

    let logs = captured_logs();
    assert!(
        logs.contains("password reset"),
        "the capture holds this flow's lines"
    );
    for (what, secret) in [
        ("first password", first),
        ("second password", second),
        ("third password", third),
        ("login code", code.as_str()),
        ("reset code", reset_code.as_str()),
        ("second login code", code2.as_str()),
        ("access token", token.as_str()),
        ("second access token", token2.as_str()),
    ] {
        if let Some(line) = line_logging(&logs, secret) {
            panic!("the {what} was logged: {line}");
        }
    }
    // Session ids are public but say where someone signed in from: not logged either.
    for id in ids {
        assert!(!logs.contains(&id), "a session id was logged");
    }
}
