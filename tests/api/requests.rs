//! Every request is logged once, under an id the response carries as `X-Request-Id`.

use crate::support::*;
use reqwest::Method;

stories!(sqlite, postgres => [
    each_response_carries_the_request_id_its_log_line_has,
]);

async fn each_response_carries_the_request_id_its_log_line_has() {
    let app = spawn_app().await;
    let resp = app
        .send(Method::GET, "/v1/tasks/7?secret=hunter2", None, None)
        .await;
    assert_eq!(resp.status(), 401);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16, "{id}");

    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|l| l.contains(&id) && l.contains("request method="))
        .unwrap_or_else(|| panic!("no request log line with id {id}"));
    for part in [
        "method=GET",
        "path=/v1/tasks/7",
        "status=401",
        "latency_ms=",
    ] {
        assert!(line.contains(part), "{part} missing from {line}");
    }
    assert!(
        !line.contains("hunter2"),
        "the query string is not logged: {line}"
    );

    let other = app.send(Method::GET, "/healthz", None, None).await;
    assert_ne!(
        other.headers()["x-request-id"].to_str().unwrap(),
        id,
        "ids differ per request"
    );
}
