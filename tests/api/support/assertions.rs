//! Reading answers and asserting on them: bodies, problems, headers, page envelopes.

use crate::support::TestApp;
use reqwest::Response;
use serde_json::Value;

/// A well-formed 6-digit code that is not `code`.
pub fn other_code(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

/// The JSON body of a response.
pub async fn body(resp: Response) -> Value {
    resp.json().await.expect("a JSON body")
}

/// Asserts a problem+json answer with this status and code; returns the body.
pub async fn assert_problem(resp: Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status for expected {code}");
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let problem = body(resp).await;
    assert_eq!(problem["code"], code, "{problem}");
    assert_eq!(problem["status"], status);
    assert_eq!(problem["type"], "about:blank");
    assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    problem
}

/// The `field` of each entry in a problem's `errors`, in order.
pub fn refused_fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .expect("errors list")
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect()
}

/// Asserts a 422 `validation_failed` naming `field`.
pub async fn assert_invalid_field(resp: Response, field: &str) -> Value {
    let problem = assert_problem(resp, 422, "validation_failed").await;
    let fields = refused_fields(&problem);
    assert!(fields.contains(&field), "expected {field} among {fields:?}");
    problem
}

/// A response header as text; panics when it is absent.
pub fn header(resp: &Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header; headers: {:?}", resp.headers()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The ids of a page envelope's items, in order.
pub fn ids_of(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page envelope: {page}"))
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

impl TestApp {
    /// Asserts that the list and task `id` both answer a bare 500 (no `errors`, nothing of the
    /// stored row): what a read of a row listo could not have written gets. `what` names it.
    pub async fn assert_reads_fail_bare(&self, token: &str, id: i64, what: &str) {
        for path in ["/v1/tasks".to_owned(), format!("/v1/tasks/{id}")] {
            let resp = self.get(&path, token).await;
            let problem = assert_problem(resp, 500, "internal").await;
            assert!(problem.get("errors").is_none(), "{what}, {path}: {problem}");
        }
    }
}
