//! Headers every client relies on: nosniff everywhere, no-store on sign-in answers, CORS for
//! the listed browser origins only.

use crate::helpers::*;
use reqwest::Method;

const APP_ORIGIN: &str = "http://127.0.0.1:5173";

#[tokio::test]
async fn every_response_says_nosniff_and_sign_in_answers_are_never_cached() {
    let app = spawn_app().await;
    for path in ["/healthz", "/v1/tasks", "/nowhere", "/openapi.json"] {
        let resp = app.send(Method::GET, path, None, None).await;
        assert_eq!(header(&resp, "x-content-type-options"), "nosniff", "{path}");
    }
    let user = app.signed_in_user().await;
    let (challenge, code) = app.login_and_read_code(&user.email, PASSWORD).await;
    let resp = app.verify(&challenge, &code).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "cache-control"), "no-store", "a token answer");
    let resp = app.login(&user.email, PASSWORD).await;
    assert_eq!(
        header(&resp, "cache-control"),
        "no-store",
        "a challenge answer"
    );
}

#[tokio::test]
async fn a_listed_origin_gets_cors_on_answers_preflights_and_problems() {
    let app = spawn_app_with(|c| c.cors_origins = vec![APP_ORIGIN.into()]).await;
    let preflight = app
        .http
        .request(Method::OPTIONS, format!("{}/v1/tasks", app.base))
        .header("origin", APP_ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        APP_ORIGIN
    );
    let allowed = header(&preflight, "access-control-allow-headers");
    for name in [
        "authorization",
        "content-type",
        "idempotency-key",
        "if-match",
    ] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    assert!(header(&preflight, "access-control-allow-methods").contains("PATCH"));

    // A 401 must reach the page too, or it cannot tell the user to log in again.
    let refused = app
        .http
        .get(format!("{}/v1/tasks", app.base))
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&refused, "access-control-allow-origin"), APP_ORIGIN);
    let exposed = header(&refused, "access-control-expose-headers");
    for name in ["etag", "location", "retry-after"] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
    assert_problem(refused, 401, "session_missing").await;
}

#[tokio::test]
async fn other_origins_and_unconfigured_servers_send_no_cors_headers() {
    let listed = spawn_app_with(|c| c.cors_origins = vec![APP_ORIGIN.into()]).await;
    let unconfigured = spawn_app().await;
    for (app, origin) in [
        (&listed, "http://evil.example"),
        (&unconfigured, APP_ORIGIN),
    ] {
        let preflight = app
            .http
            .request(Method::OPTIONS, format!("{}/v1/tasks", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert!(
            !preflight
                .headers()
                .contains_key("access-control-allow-origin"),
            "{origin}"
        );
        // The request itself is still served (a same-origin page, curl): only browsers refuse.
        let resp = app
            .http
            .post(format!("{}/v1/auth/register", app.base))
            .header("origin", origin)
            .json(&serde_json::json!({"email": "cors@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert!(!resp.headers().contains_key("access-control-allow-origin"));
        assert!(resp.status().is_success(), "{}", resp.status());
    }
}
