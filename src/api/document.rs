//! The OpenAPI document as listo publishes it, and the Swagger UI page that shows it.

use serde_json::{Value, json};

/// poem-openapi's document with what its derive macros cannot say: public operations get
/// `security: []`, so generated clients and linters know they need no token.
pub fn finish(generated: &str) -> String {
    let mut doc: Value = match serde_json::from_str(generated) {
        Ok(doc) => doc,
        // poem-openapi writes the document with serde_json; this cannot fail, but if it ever
        // did, the document as generated is still a document.
        Err(_) => return generated.to_owned(),
    };
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
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| generated.to_owned())
}

/// poem-openapi's Swagger UI page, showing `document` instead of the document it generated.
pub fn swagger_ui(page: &str, generated: &str, document: &str) -> String {
    page.replacen(generated, document, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

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
