//! The committed `openapi.json` is the spec the code produces, and the docs are served.

use crate::support::*;
use regex::Regex;
use reqwest::Method;
use serde_json::{Value, json};

stories!(sqlite, postgres => [
    the_server_serves_the_spec_and_swagger_ui,
    the_document_takes_every_email_and_text_the_server_takes,
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
                    || path.starts_with("/v1/lists")
                    || path == "/v1/changes"
                    || path == "/v1/events"
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
                // A cursor is made by listo; the conditional and retry headers have none on
                // purpose: Swagger UI would send an example as if the user had typed it.
                let unexampled = ["cursor", "Idempotency-Key", "If-Match", "If-None-Match"];
                if !unexampled.contains(&param["name"].as_str().unwrap()) {
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
        operations, 34,
        "6 auth + 6 account + 10 task + 5 list + 3 list-task + 2 feed + 2 probe operations"
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

/// The document's rules are never narrower than the server's: emails the server registers and
/// texts it takes (it trims both) match the patterns the served document states, compiled as a
/// generated client would.
async fn the_document_takes_every_email_and_text_the_server_takes() {
    let app = spawn_app().await;
    let served = app.send(Method::GET, "/openapi.json", None, None).await;
    let doc: Value = served.json().await.unwrap();
    let pattern = |schema: &str, field: &str| {
        let property = &doc["components"]["schemas"][schema]["properties"][field];
        let text = property["pattern"].as_str().unwrap_or_else(|| {
            panic!("{schema}.{field} states a pattern: {property}");
        });
        Regex::new(text).unwrap_or_else(|e| panic!("{schema}.{field}: {e}"))
    };

    let emails = [
        pattern("Credentials", "email"),
        pattern("ResetRequest", "email"),
    ];
    for (i, raw) in [
        "first.middle.last.name@example.com",
        "  Ada.Lovelace+lists@Mail.Example.COM ",
        "o'brien_{x}@sub-1.example.ie",
        "a.b.c.d.e.f@a.b.c.d",
    ]
    .into_iter()
    .enumerate()
    {
        let resp = app.register(raw, "correct horse battery").await;
        assert_eq!(resp.status(), 201, "{raw:?} registers (#{i})");
        for email in &emails {
            assert!(email.is_match(raw), "the document refuses {raw:?}: {email}");
        }
    }
    for refused in ["a..b@example.com", "a@localhost", "zoë@example.com"] {
        assert_eq!(
            app.register(refused, "correct horse battery")
                .await
                .status(),
            422
        );
        assert!(
            !emails[0].is_match(refused),
            "{refused:?} is not an address"
        );
    }

    let user = app.signed_in_user().await;
    let texts = [pattern("NewTask", "task"), pattern("TaskPatch", "task")];
    let long = format!("  {}  ", "x".repeat(1000));
    for raw in [
        "  Swim  ",
        "\tRead\n",
        "Line one\nline two",
        "\u{3000}café ☕\u{a0}",
        long.as_str(),
    ] {
        let created = app
            .post_task(
                &user.token,
                json!({"date": "2026-03-01", "task": raw, "status": "Incomplete"}),
            )
            .await;
        assert_eq!(created.status(), 201, "{raw:?} is taken");
        let task = body(created).await;
        assert_eq!(task["task"], raw.trim());
        let edited = app
            .patch_task(
                &user.token,
                task["id"].as_i64().unwrap(),
                json!({"task": raw}),
            )
            .await;
        assert_eq!(edited.status(), 200, "{raw:?} is taken by PATCH");
        for text in &texts {
            assert!(text.is_match(raw), "the document refuses {raw:?}");
        }
    }
    for refused in ["   ", "a\u{7}b"] {
        assert!(!texts[0].is_match(refused), "{refused:?} is not a text");
    }
}

#[test]
fn get_task_declares_its_304_and_tags_begin_with_sign_in() {
    let spec: Value = serde_json::from_str(&listo::api::spec()).unwrap();
    let get = &spec["paths"]["/v1/tasks/{id}"]["get"];
    assert!(get["responses"]["304"].is_object(), "{}", get["responses"]);
    let paths: Vec<&str> = spec["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        paths[..3],
        ["/v1/auth/register", "/v1/auth/login", "/v1/auth/verify"]
    );
    assert_eq!(spec["tags"][0]["name"], "Auth", "{}", spec["tags"]);
    let bearer = spec["components"]["securitySchemes"]["bearer"]["description"]
        .as_str()
        .unwrap();
    assert!(bearer.contains("access_token") && bearer.contains("/v1/auth/verify"));
    let about = spec["info"]["description"].as_str().unwrap();
    for words in ["LISTO_OUTBOX", "LISTO_SESSION_TTL", "30"] {
        assert!(about.contains(words), "{about}");
    }
    let code = &spec["components"]["schemas"]["Problem"]["properties"]["code"];
    assert_eq!(code["type"], "string");
    assert!(code["enum"].is_null(), "code stays a plain string");
    for listed in [
        "session_expired",
        "precondition_failed",
        "not_ready",
        "busy",
    ] {
        assert!(
            code["description"].as_str().unwrap().contains(listed),
            "{code}"
        );
    }
}
