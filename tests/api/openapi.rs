//! The committed `openapi.json` is the spec the code produces, and the docs are served.

use crate::support::*;
use reqwest::Method;
use serde_json::Value;

stories!(sqlite, postgres => [
    the_server_serves_the_spec_and_swagger_ui,
]);

fn committed() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"))
        .expect("openapi.json at the root")
}

#[test]
fn committed_spec_matches_the_code() {
    assert!(
        committed().trim_end() == listo::api::spec().trim_end(),
        "openapi.json is stale: regenerate it with `cargo run -- openapi > openapi.json`"
    );
}

async fn the_server_serves_the_spec_and_swagger_ui() {
    let app = spawn_app().await;
    let served = app.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(served.status(), 200);
    let served: Value = served.json().await.unwrap();
    let produced: Value = serde_json::from_str(&listo::api::spec()).unwrap();
    assert_eq!(served, produced);

    let docs = app.send(Method::GET, "/docs", None, None).await;
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger"), "Swagger UI page");
}

#[test]
fn every_operation_declares_its_errors_as_problem_json() {
    let spec: Value = serde_json::from_str(&listo::api::spec()).unwrap();
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            let security = op["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path} says what security it needs"));
            let secured = !security.is_empty();
            assert_eq!(
                secured,
                path.starts_with("/v1/tasks")
                    || path == "/v1/auth/logout"
                    || path == "/v1/auth/session"
                    || path == "/v1/auth/password"
                    || path.starts_with("/v1/auth/sessions")
                    || path == "/v1/auth/account",
                "{method} {path}: only signed-in operations need the bearer scheme"
            );
            assert!(
                op["description"].as_str().is_some_and(|d| d.len() > 20),
                "{method} {path} has a description for people"
            );
            if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema/$ref") {
                let name = schema.as_str().unwrap().rsplit('/').next().unwrap();
                assert!(
                    spec["components"]["schemas"][name]["example"].is_object(),
                    "{method} {path}: the body {name} has an example"
                );
            }
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["name"] != "cursor" {
                    assert!(
                        !param["schema"]["example"].is_null() || !param["example"].is_null(),
                        "{method} {path}: parameter {} has an example",
                        param["name"]
                    );
                }
            }
            if path.starts_with("/v1/") {
                assert!(
                    responses.contains_key("500"),
                    "{method} {path} declares 500"
                );
            }
            if secured {
                let unauthorized = &responses["401"];
                assert!(
                    unauthorized["content"]["application/problem+json"].is_object(),
                    "{method} {path}: 401 is problem+json"
                );
                assert!(
                    unauthorized["headers"]["WWW-Authenticate"].is_object(),
                    "{method} {path}"
                );
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"]["schema"]["$ref"]
                            .as_str()
                            .is_some_and(|r| r.ends_with("/Problem")),
                        "{method} {path} {status} is a Problem"
                    );
                }
            }
        }
    }
    assert_eq!(
        operations, 23,
        "6 auth + 6 account + 9 task + 2 probe operations"
    );
}

#[test]
fn the_document_has_no_all_of_wrappers_and_says_where_to_send_requests() {
    // openapi-python-client drops every model holding an `allOf` around a `$ref`.
    let text = listo::api::spec();
    assert!(!text.contains("allOf"), "no allOf wrappers");
    let spec: Value = serde_json::from_str(&text).unwrap();
    assert!(!spec["servers"].as_array().unwrap().is_empty());
    assert_eq!(spec["info"]["license"]["name"], "MIT");
}
