//! The OpenAPI document as listo publishes it, and the Swagger UI page that shows it.

use super::problem::Code;
use serde_json::{Value, json};

/// The Bearer scheme as the Authorize dialog shows it.
const BEARER: &str = "Paste the `access_token` from `POST /v1/auth/verify` (register, log in, then \
                      verify the emailed code). It is sent as `Authorization: Bearer <access_token>` \
                      and lasts `LISTO_SESSION_TTL` seconds (30 by default).";

/// Request bodies whose fields are "exactly one" or "at least one": (schema, minProperties,
/// maxProperties), as the handlers enforce them.
const BODY_SHAPES: &[(&str, u64, Option<u64>)] =
    &[("TaskPatch", 1, None), ("MoveRequest", 1, Some(1))];

/// poem-openapi's document with what its derive macros cannot say: public operations get
/// `security: []`, so generated clients and linters know they need no token; request bodies
/// refuse unknown fields (`additionalProperties: false`, as the server does) and carry their
/// property counts; tags come in the order of the paths (sign-in first, as a person works, not
/// alphabetically); the Bearer scheme says what to paste; `Problem.code` lists every code.
pub fn finish(generated: &str) -> String {
    let mut doc: Value = match serde_json::from_str(generated) {
        Ok(doc) => doc,
        // poem-openapi writes the document with serde_json; this cannot fail, but if it ever
        // did, the document as generated is still a document.
        Err(_) => return generated.to_owned(),
    };
    order_tags(&mut doc);
    if let Some(bearer) = doc.pointer_mut("/components/securitySchemes/bearer") {
        bearer["description"] = json!(BEARER);
    }
    if let Some(code) = doc.pointer_mut("/components/schemas/Problem/properties/code") {
        code["description"] = json!(every_code());
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for operation in paths
            .values_mut()
            .filter_map(Value::as_object_mut)
            .flat_map(|item| item.values_mut())
            .filter_map(Value::as_object_mut)
        {
            operation.entry("security").or_insert_with(|| json!([]));
        }
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for parameter in paths
            .values_mut()
            .filter_map(Value::as_object_mut)
            .flat_map(|item| item.values_mut())
            .filter_map(|op| op.get_mut("parameters"))
            .filter_map(Value::as_array_mut)
            .flatten()
        {
            unwrap_example(parameter);
        }
    }
    let bodies: Vec<String> = doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(Value::as_object)
        .flat_map(|item| item.values())
        .filter_map(|op| op.pointer("/requestBody/content/application~1json/schema/$ref"))
        .filter_map(Value::as_str)
        .filter_map(|r| r.rsplit('/').next())
        .map(str::to_owned)
        .collect();
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for name in bodies {
            if let Some(schema) = schemas.get_mut(&name).and_then(Value::as_object_mut) {
                schema.insert("additionalProperties".into(), json!(false));
                if let Some((_, min, max)) = BODY_SHAPES.iter().find(|(n, ..)| *n == name) {
                    schema.insert("minProperties".into(), json!(min));
                    if let Some(max) = max {
                        schema.insert("maxProperties".into(), json!(max));
                    }
                }
            }
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| generated.to_owned())
}

/// Tags in the order their first operation comes in `paths` (poem-openapi sorts them by name,
/// which put Account before the sign-in operations of Auth).
fn order_tags(doc: &mut Value) {
    let mut order: Vec<String> = Vec::new();
    let paths = doc.get("paths").and_then(Value::as_object).into_iter();
    for tag in paths
        .flat_map(|paths| paths.values())
        .filter_map(Value::as_object)
        .flat_map(|item| item.values())
        .filter_map(|op| op.get("tags"))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
    {
        if !order.iter().any(|t| t == tag) {
            order.push(tag.to_owned());
        }
    }
    if let Some(tags) = doc.get_mut("tags").and_then(Value::as_array_mut) {
        let rank = |tag: &Value| {
            let name = tag.get("name").and_then(Value::as_str).unwrap_or_default();
            order.iter().position(|t| t == name).unwrap_or(order.len())
        };
        tags.sort_by_key(rank);
    }
}

/// `Problem.code`'s description: every code of the table with its status and meaning, so a
/// client can see them all in one place; the field stays a plain string.
fn every_code() -> String {
    let mut lines: Vec<(String, Vec<u16>, &str)> = Vec::new();
    for code in Code::ALL {
        let entry = code.entry();
        match lines.iter_mut().find(|(c, ..)| c == entry.code) {
            Some((_, statuses, _)) => statuses.push(entry.status),
            None => lines.push((entry.code.to_owned(), vec![entry.status], entry.meaning)),
        }
    }
    let listed: Vec<String> = lines
        .iter()
        .map(|(code, statuses, meaning)| {
            let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
            format!("- `{code}` ({}): {meaning}", statuses.join(", "))
        })
        .collect();
    format!(
        "A stable machine string to switch on. Codes may be added later: treat an unknown one by \
         the HTTP status. Each response lists the codes it may carry. Every code:\n{}",
        listed.join("\n")
    )
}

/// An enum parameter with an example comes out as `allOf: [{$ref}, {example}]`, which generated
/// clients read as an anonymous type: the schema becomes the plain `$ref` again and the example
/// moves to the parameter, where OpenAPI 3.0 keeps parameter examples.
fn unwrap_example(parameter: &mut Value) {
    let Some(schema) = parameter.get("schema") else {
        return;
    };
    let Some([reference, example]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    else {
        return;
    };
    let (Some(reference), Some(example)) = (reference.get("$ref"), example.get("example")) else {
        return;
    };
    let (reference, example) = (reference.clone(), example.clone());
    parameter["schema"] = json!({ "$ref": reference });
    parameter["example"] = example;
}

/// Which methods each path of the document takes, for the `Allow` header of a 405.
pub struct Methods(Vec<(Vec<String>, String)>);

impl Methods {
    /// Reads the paths of a finished document.
    pub fn of(document: &str) -> Self {
        let doc: Value = serde_json::from_str(document).unwrap_or_default();
        let routes = doc
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(path, item)| {
                let segments = path.split('/').map(str::to_owned).collect();
                let methods: Vec<String> = item
                    .as_object()
                    .into_iter()
                    .flat_map(|ops| ops.keys())
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                (segments, methods.join(", "))
            })
            .collect();
        Self(routes)
    }

    /// The methods `path` takes, when it is one of the document's paths (`{id}` matches any
    /// one segment; as in OpenAPI, a literal path wins over a templated one: `/v1/tasks/sort`
    /// is not `/v1/tasks/{id}`).
    pub fn allowed(&self, path: &str) -> Option<&str> {
        self.0
            .iter()
            .filter(|(template, _)| {
                let mut segments = path.split('/');
                template.iter().all(|t| match segments.next() {
                    Some(s) => t == s || (t.starts_with('{') && !s.is_empty()),
                    None => false,
                }) && segments.next().is_none()
            })
            .max_by_key(|(template, _)| template.iter().filter(|t| !t.starts_with('{')).count())
            .map(|(_, methods)| methods.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_match_paths_with_their_parameters() {
        let doc = r#"{"paths": {"/v1/tasks": {"get": {}, "post": {}}, "/v1/tasks/{id}": {"get": {}, "delete": {}}, "/v1/tasks/sort": {"post": {}}}}"#;
        let methods = Methods::of(doc);
        assert_eq!(methods.allowed("/v1/tasks"), Some("GET, POST"));
        assert_eq!(methods.allowed("/v1/tasks/7"), Some("GET, DELETE"));
        assert_eq!(methods.allowed("/v1/tasks/sort"), Some("POST"));
        assert_eq!(methods.allowed("/v1/tasks/7/x"), None);
        assert_eq!(methods.allowed("/v1/tasks/"), None);
        assert_eq!(methods.allowed("/nowhere"), None);
    }

    #[test]
    fn tags_follow_the_paths_and_every_code_is_listed() {
        let generated = r#"{"tags": [{"name": "Account"}, {"name": "Auth"}, {"name": "Tasks"}],
            "paths": {"/r": {"post": {"tags": ["Auth"]}}, "/a": {"get": {"tags": ["Account"]}},
                      "/t": {"get": {"tags": ["Tasks"]}}},
            "components": {"schemas": {"Problem": {"properties": {"code": {"type": "string"}}}}}}"#;
        let doc: Value = serde_json::from_str(&finish(generated)).unwrap();
        let names: Vec<&str> = doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Auth", "Account", "Tasks"]);
        let code = &doc["components"]["schemas"]["Problem"]["properties"]["code"];
        assert_eq!(code["type"], "string");
        let described = code["description"].as_str().unwrap();
        for c in Code::ALL {
            assert!(
                described.contains(&format!("`{}`", c.as_str())),
                "{described}"
            );
        }
        assert!(
            described.contains("`quota_exceeded` (409, 429)"),
            "{described}"
        );
    }

    #[test]
    fn public_operations_say_they_need_no_token() {
        let generated = r#"{"paths": {"/a": {"get": {"security": [{"bearer": []}]}, "post": {}}}}"#;
        let doc: Value = serde_json::from_str(&finish(generated)).unwrap();
        assert_eq!(doc["paths"]["/a"]["post"]["security"], json!([]));
        assert_eq!(
            doc["paths"]["/a"]["get"]["security"],
            json!([{"bearer": []}])
        );
    }
}
