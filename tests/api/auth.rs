//! Sign-in: register, password + emailed code, sessions, logout — and every auth error code.

use crate::support::*;
use reqwest::Method;
use std::time::Duration;

stories!(sqlite, postgres => [
    full_sign_in_flow_reads_the_code_from_the_email,
    a_session_expires_after_the_configured_ttl,
    register_refuses_bad_fields_and_names_each_one,
    register_twice_is_email_taken_whatever_the_case,
    unknown_email_and_wrong_password_get_the_same_answer,
    login_is_email_unavailable_when_smtp_cannot_be_reached_and_stores_no_challenge,
    wrong_codes_count_down_and_the_fifth_burns_the_challenge,
    a_code_past_its_life_is_code_expired,
    a_code_works_once,
    an_unknown_challenge_is_invalid_code_and_a_malformed_code_is_refused,
    no_authorization_header_is_session_missing,
    a_token_listo_never_issued_is_session_invalid,
    an_authorization_header_that_is_not_a_bearer_token_is_session_invalid,
    a_logged_out_token_is_session_revoked,
    an_expired_token_is_session_expired_on_every_session_endpoint,
    secrets_never_reach_the_logs,
    the_sweeper_deletes_long_expired_challenges_and_keeps_the_rest,
    the_sweeper_keeps_a_just_expired_session_so_it_still_reads_as_expired,
    a_session_survives_a_restart_and_logout_still_kills_it,
]);

async fn full_sign_in_flow_reads_the_code_from_the_email() {
    let app = spawn_app().await;

    let resp = app.register("Ada@Example.com", PASSWORD).await;
    assert_eq!(resp.status(), 201);
    let account = body(resp).await;
    assert_eq!(account["email"], "ada@example.com");
    assert!(account["id"].as_i64().is_some());

    let (challenge, code) = app.login_and_read_code("ada@example.com", PASSWORD).await;
    let mail = app.smtp.latest_to("ada@example.com").await;
    assert!(
        mail.data.contains("Subject: Your listo sign-in code"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("valid for 5 minutes"));

    let resp = app.verify(&challenge, &code).await;
    assert_eq!(resp.status(), 200);
    let issued = body(resp).await;
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["expires_in"], 30);
    let token = issued["access_token"].as_str().unwrap();
    assert_eq!(token.len(), 43);

    let resp = app
        .send(Method::GET, "/v1/auth/session", None, Some(token))
        .await;
    assert_eq!(resp.status(), 200);
    let session = body(resp).await;
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert_eq!(session["user"]["id"], account["id"]);
    assert_eq!(session["expires_at"], issued["expires_at"]);

    app.logged_out(token).await;

    let resp = app
        .send(Method::GET, "/v1/auth/session", None, Some(token))
        .await;
    let www = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_problem(resp, 401, "session_revoked").await;
    assert!(
        www.starts_with("Bearer ") && www.contains("error=\"invalid_token\""),
        "{www}"
    );
}

async fn a_session_expires_after_the_configured_ttl() {
    let app = spawn_app_with(|c| c.session_ttl = Duration::from_millis(1000)).await;
    let user = app.signed_in_user().await;
    let resp = app
        .send(Method::GET, "/v1/auth/session", None, Some(&user.token))
        .await;
    assert_eq!(resp.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resp = app
        .send(Method::GET, "/v1/auth/session", None, Some(&user.token))
        .await;
    let problem = assert_problem(resp, 401, "session_expired").await;
    assert_eq!(
        problem["detail"],
        "Your access token expired; trade your refresh token at /v1/auth/refresh, or log in again."
    );
}

// ---------------------------------------------------------------- helpers for this file

/// The endpoints that need a session and take no body: every session error must show on both.
const SESSION_ENDPOINTS: [(Method, &str); 2] = [
    (Method::GET, "/v1/auth/session"),
    (Method::POST, "/v1/auth/logout"),
];

/// Asserts a 401 session problem whose `WWW-Authenticate` is an RFC 6750 `invalid_token` challenge.
async fn assert_session_problem(resp: reqwest::Response, code: &str) -> serde_json::Value {
    let www = header(&resp, "www-authenticate");
    let problem = assert_problem(resp, 401, code).await;
    assert!(
        www.starts_with("Bearer ") && www.contains("error=\"invalid_token\""),
        "{code}: WWW-Authenticate was {www}"
    );
    problem
}

// ---------------------------------------------------------------- register

async fn register_refuses_bad_fields_and_names_each_one() {
    let app = spawn_app().await;

    let problem = assert_invalid_field(app.register("not-an-email", PASSWORD).await, "email").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");

    let problem =
        assert_invalid_field(app.register("ada@example.com", "short").await, "password").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");

    let resp = app.register("not-an-email", "short").await;
    let problem = assert_invalid_field(resp, "email").await;
    let fields = refused_fields(&problem);
    assert_eq!(fields, ["email", "password"], "{problem}");

    assert_eq!(
        app.count_rows("users").await,
        0,
        "a refused registration stored nothing"
    );
}

async fn register_twice_is_email_taken_whatever_the_case() {
    let app = spawn_app().await;
    assert_eq!(app.register("ada@x.com", PASSWORD).await.status(), 201);

    assert_problem(
        app.register("ada@x.com", PASSWORD).await,
        409,
        "email_taken",
    )
    .await;
    assert_problem(
        app.register("Ada@x.com", "another password").await,
        409,
        "email_taken",
    )
    .await;
    assert_problem(
        app.register(" ADA@X.COM ", PASSWORD).await,
        409,
        "email_taken",
    )
    .await;

    assert_eq!(app.count_rows("users").await, 1);
}

// ---------------------------------------------------------------- login

async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("ada@example.com", PASSWORD).await.status(),
        201
    );

    let unknown = app.login("nobody@example.com", PASSWORD).await;
    let unknown_status = unknown.status();
    let unknown = assert_problem(unknown, 401, "invalid_credentials").await;

    let wrong = app.login("ada@example.com", "not the password").await;
    assert_eq!(wrong.status(), unknown_status);
    let wrong = assert_problem(wrong, 401, "invalid_credentials").await;

    assert_eq!(unknown, wrong, "the two refusals must be indistinguishable");
    assert!(app.smtp.messages().is_empty(), "no code was emailed");
    assert_eq!(app.count_rows("challenges").await, 0);
}

async fn login_is_email_unavailable_when_smtp_cannot_be_reached_and_stores_no_challenge() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let app = spawn_app_with(|c| {
        c.mail = listo::mail::MailConfig::Smtp(format!("smtp://127.0.0.1:{closed_port}").into())
    })
    .await;
    assert_eq!(
        app.register("ada@example.com", PASSWORD).await.status(),
        201
    );

    let problem = assert_problem(
        app.login("ada@example.com", PASSWORD).await,
        503,
        "email_unavailable",
    )
    .await;
    assert!(
        !problem.to_string().contains(&closed_port.to_string()),
        "the answer names no mail server detail: {problem}"
    );
    assert_eq!(
        app.count_rows("challenges").await,
        0,
        "a challenge whose code never left must not exist"
    );
}

// ---------------------------------------------------------------- verify

async fn wrong_codes_count_down_and_the_fifth_burns_the_challenge() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("ada@example.com", PASSWORD).await.status(),
        201
    );
    let (challenge, code) = app.login_and_read_code("ada@example.com", PASSWORD).await;
    let wrong = other_code(&code);

    for left in [4, 3, 2, 1] {
        let problem =
            assert_problem(app.verify(&challenge, &wrong).await, 401, "invalid_code").await;
        assert_eq!(problem["attempts_left"], left, "{problem}");
    }
    assert_problem(
        app.verify(&challenge, &wrong).await,
        429,
        "too_many_attempts",
    )
    .await;

    // Burned: the right code no longer opens a session either.
    assert_problem(
        app.verify(&challenge, &code).await,
        429,
        "too_many_attempts",
    )
    .await;
    assert_eq!(app.count_rows("sessions").await, 0);
}

async fn a_code_past_its_life_is_code_expired() {
    let app = spawn_app_with(|c| c.otp_ttl = Duration::from_secs(1)).await;
    assert_eq!(
        app.register("ada@example.com", PASSWORD).await.status(),
        201
    );
    let (challenge, code) = app.login_and_read_code("ada@example.com", PASSWORD).await;

    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_problem(app.verify(&challenge, &code).await, 401, "code_expired").await;
    assert_eq!(app.count_rows("sessions").await, 0);
}

async fn a_code_works_once() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("ada@example.com", PASSWORD).await.status(),
        201
    );
    let (challenge, code) = app.login_and_read_code("ada@example.com", PASSWORD).await;

    assert_eq!(app.verify(&challenge, &code).await.status(), 200);
    assert_problem(app.verify(&challenge, &code).await, 401, "invalid_code").await;
    assert_eq!(app.count_rows("sessions").await, 1);
}

async fn an_unknown_challenge_is_invalid_code_and_a_malformed_code_is_refused() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("ada@example.com", PASSWORD).await.status(),
        201
    );
    let (challenge, code) = app.login_and_read_code("ada@example.com", PASSWORD).await;

    let unknown = "AAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(
        unknown.len(),
        challenge.len(),
        "same shape as a real challenge id"
    );
    let problem = assert_problem(app.verify(unknown, "123456").await, 401, "invalid_code").await;
    assert!(
        problem.get("attempts_left").is_none(),
        "no count for a challenge that does not exist: {problem}"
    );

    assert_invalid_field(app.verify(&challenge, "12ab56").await, "code").await;
    assert_invalid_field(app.verify("short", "123456").await, "challenge_id").await;

    // None of these refusals cost the real challenge an attempt.
    let resp = app.verify(&challenge, &other_code(&code)).await;
    let problem = assert_problem(resp, 401, "invalid_code").await;
    assert_eq!(problem["attempts_left"], 4, "{problem}");
}

// ---------------------------------------------------------------- sessions

async fn no_authorization_header_is_session_missing() {
    let app = spawn_app().await;
    for (method, path) in SESSION_ENDPOINTS {
        let resp = app.send(method, path, None, None).await;
        let www = header(&resp, "www-authenticate");
        assert!(
            www.starts_with("Bearer"),
            "{path}: WWW-Authenticate was {www}"
        );
        assert_problem(resp, 401, "session_missing").await;
    }
}

async fn a_token_listo_never_issued_is_session_invalid() {
    let app = spawn_app().await;
    let never_issued = "A".repeat(43);
    for (method, path) in SESSION_ENDPOINTS {
        for token in ["garbage", "not a token at all", never_issued.as_str()] {
            let resp = app.send(method.clone(), path, None, Some(token)).await;
            assert_session_problem(resp, "session_invalid").await;
        }
    }
}

async fn an_authorization_header_that_is_not_a_bearer_token_is_session_invalid() {
    let app = spawn_app().await;
    for (method, path) in SESSION_ENDPOINTS {
        for header in ["Basic YTpi", "Bearer", "Token abc", "bearer"] {
            let resp = app
                .http
                .request(method.clone(), format!("{}{path}", app.base))
                .header("authorization", header)
                .send()
                .await
                .unwrap();
            assert_session_problem(resp, "session_invalid").await;
        }
    }
}

async fn a_logged_out_token_is_session_revoked() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let resp = app
        .send(Method::GET, "/v1/auth/session", None, Some(&user.token))
        .await;
    assert_eq!(body(resp).await["user"]["email"], user.email.as_str());
    app.logged_out(&user.token).await;

    for (method, path) in SESSION_ENDPOINTS {
        let resp = app.send(method, path, None, Some(&user.token)).await;
        assert_session_problem(resp, "session_revoked").await;
    }
}

async fn an_expired_token_is_session_expired_on_every_session_endpoint() {
    let app = spawn_app_with(|c| c.session_ttl = Duration::from_secs(1)).await;
    let user = app.signed_in_user().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;

    for (method, path) in SESSION_ENDPOINTS {
        let resp = app.send(method, path, None, Some(&user.token)).await;
        let problem = assert_session_problem(resp, "session_expired").await;
        assert_eq!(
            problem["detail"],
            "Your access token expired; trade your refresh token at /v1/auth/refresh, or log in again."
        );
    }
}

// ---------------------------------------------------------------- logs

async fn secrets_never_reach_the_logs() {
    let app = spawn_app().await;
    let email = "log-check@example.com";
    let password = "leak-canary password 7f3a9c";
    assert_eq!(app.register(email, password).await.status(), 201);
    let (challenge, code) = app.login_and_read_code(email, password).await;
    let token = app.verified_token(&challenge, &code).await;
    let resp = app
        .send(Method::GET, "/v1/auth/session", None, Some(&token))
        .await;
    assert_eq!(resp.status(), 200);
    app.logged_out(&token).await;

    let logs = captured_logs();
    assert!(
        logs.contains("path=/v1/auth/verify") && logs.contains("session opened"),
        "the capture holds this flow's log lines"
    );
    for (what, secret) in [
        ("password", password),
        ("access token", token.as_str()),
        ("emailed code", code.as_str()),
    ] {
        if let Some(line) = line_logging(&logs, secret) {
            panic!("the {what} was logged: {line}");
        }
    }
}

// ---------------------------------------------------------------- the sweeper

async fn the_sweeper_deletes_long_expired_challenges_and_keeps_the_rest() {
    let mut app = spawn_app().await;
    for who in ["old", "recent", "new"] {
        let resp = app.register(&format!("{who}@example.com"), PASSWORD).await;
        assert_eq!(resp.status(), 201);
    }
    let (old_challenge, old_code) = app.login_and_read_code("old@example.com", PASSWORD).await;
    let (recent_challenge, recent_code) = app
        .login_and_read_code("recent@example.com", PASSWORD)
        .await;
    let (new_challenge, new_code) = app.login_and_read_code("new@example.com", PASSWORD).await;
    // Age two of them: one expired two hours ago, one a second ago.
    let now_ms = chrono::Utc::now().timestamp_millis();
    for (id, expired_ms_ago) in [(&old_challenge, 2 * 3600 * 1000), (&recent_challenge, 1000)] {
        let expires_at = now_ms - expired_ms_ago;
        app.db()
            .execute(&format!(
                "UPDATE challenges SET expires_at = {expires_at} WHERE id = '{id}'"
            ))
            .await;
    }

    app.stop().await;
    let store = listo::store::Store::open(&app.config().database, 1)
        .await
        .unwrap();
    let swept = listo::service::sweeper::sweep_once(&store).await.unwrap();
    assert_eq!(swept, 1);
    drop(store);
    app.restart().await;

    let left: std::collections::BTreeSet<String> = app
        .db()
        .texts("SELECT id FROM challenges")
        .await
        .into_iter()
        .collect();
    assert_eq!(
        left,
        [recent_challenge.clone(), new_challenge.clone()].into(),
        "only the long-expired challenge went"
    );

    // The swept one is gone; the just-expired one still says so; the live one still works.
    assert_problem(
        app.verify(&old_challenge, &old_code).await,
        401,
        "invalid_code",
    )
    .await;
    assert_problem(
        app.verify(&recent_challenge, &recent_code).await,
        401,
        "code_expired",
    )
    .await;
    assert_eq!(app.verify(&new_challenge, &new_code).await.status(), 200);
}

async fn the_sweeper_keeps_a_just_expired_session_so_it_still_reads_as_expired() {
    let mut app = spawn_app_with(|c| c.session_ttl = Duration::from_secs(1)).await;
    let user = app.signed_in_user().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;

    app.stop().await;
    let store = listo::store::Store::open(&app.config().database, 1)
        .await
        .unwrap();
    listo::service::sweeper::sweep_once(&store).await.unwrap();
    drop(store);
    app.restart().await;

    assert_eq!(app.count_rows("sessions").await, 1);
    let resp = app
        .send(Method::GET, "/v1/auth/session", None, Some(&user.token))
        .await;
    assert_session_problem(resp, "session_expired").await;
}

async fn a_session_survives_a_restart_and_logout_still_kills_it() {
    let mut second = spawn_app().await;
    let user = second.signed_in_user().await;
    // The restarted server starts with nothing in memory: the token is found in the database,
    // and the secret that hashes it was kept there too.
    second.restart().await;
    let resp = second
        .send(Method::GET, "/v1/auth/session", None, Some(&user.token))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await["user"]["email"], user.email);

    second.logged_out(&user.token).await;
    let resp = second
        .send(Method::GET, "/v1/auth/session", None, Some(&user.token))
        .await;
    assert_problem(resp, 401, "session_revoked").await;
}
