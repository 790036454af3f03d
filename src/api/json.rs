//! `JsonBody<T>`: a JSON request body whose errors name the field at fault.
//!
//! poem-openapi's own `Json<T>` reports schema mismatches as one string without the field;
//! this payload keeps the same OpenAPI schema but deserializes with serde, tracking the path.

use super::problem::{ApiError, Code};
use poem::{Request, RequestBody};
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::de::DeserializeOwned;

/// Bodies above this size are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body parsed into `T`.
pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: DeserializeOwned + Send> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = body.take()?.into_bytes_limit(MAX_BODY_BYTES).await?;
        parse(&bytes).map(JsonBody).map_err(poem::Error::from)
    }
}

impl_apirequest_for_payload!(JsonBody<T>, T: DeserializeOwned + Type + Send);

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_none() {
        return Err(ApiError::field("body", "a JSON object is required"));
    }
    // A body that is not JSON at all is a 400, whatever its fields would have said: check the
    // syntax of the whole body before judging any field (trailing text is found only here).
    if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(malformed(&err));
    }
    // Every listo body is an object; saying so beats serde's view of an array as a tuple.
    if first != Some(&b'{') {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                ApiError::field(field_name(&path, &message), message)
            }
            // The syntax passed above, so this is serde_json refusing a well-formed value where a
            // string enum goes (`"status": true`, `"to": null`): the field is wrong, not the JSON.
            serde_json::error::Category::Syntax => ApiError::field(
                field_name(&path, ""),
                "has a value of the wrong type or an invalid string escape; see the schema in /docs",
            ),
            _ => malformed(&inner),
        }
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(err: &serde_json::Error) -> ApiError {
    ApiError::new(
        Code::MalformedJson,
        format!("The body is not valid JSON ({err})."),
    )
}

/// serde reports a missing field at its parent's path, naming it only in the message.
fn field_name(path: &str, message: &str) -> String {
    let parent = if path == "." { "" } else { path };
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (missing, parent) {
        (Some(name), "") => name.to_owned(),
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, "") => "body".to_owned(),
        (None, parent) => parent.to_owned(),
    }
}

fn strip_position(message: &str) -> String {
    match message.rsplit_once(" at line ") {
        Some((head, _)) => head.to_owned(),
        None => message.to_owned(),
    }
}

/// For optional fields that may be left out but never sent as `null` (PATCH semantics).
pub fn present<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(de).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        email: String,
        ids: Vec<i64>,
    }

    fn field_of(body: &str) -> (u16, String) {
        let err = parse::<Sample>(body.as_bytes()).unwrap_err();
        let p = err.problem().clone();
        let field = p.errors.map(|e| e[0].field.clone()).unwrap_or_default();
        (p.status, field)
    }

    #[test]
    fn names_the_field() {
        assert_eq!(field_of(r#"{"ids": []}"#), (422, "email".into()));
        assert_eq!(
            field_of(r#"{"email": 5, "ids": []}"#),
            (422, "email".into())
        );
        assert_eq!(
            field_of(r#"{"email": "a", "ids": [1, "x"]}"#),
            (422, "ids[1]".into())
        );
        assert_eq!(
            field_of(r#"{"email": "a", "ids": [], "extra": 1}"#),
            (422, "extra".into())
        );
        assert_eq!(field_of(r#"[1]"#), (422, "body".into()));
        assert_eq!(field_of(""), (422, "body".into()));
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    enum Kind {
        On,
        Off,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct WithEnum {
        kind: Kind,
    }

    #[test]
    fn a_well_formed_value_of_the_wrong_type_for_an_enum_is_422_naming_it() {
        for body in [r#"{"kind": true}"#, r#"{"kind": null}"#, r#"{"kind": 1}"#] {
            let p = parse::<WithEnum>(body.as_bytes())
                .unwrap_err()
                .problem()
                .clone();
            let field = p.errors.map(|e| e[0].field.clone()).unwrap_or_default();
            assert_eq!((p.status, field.as_str()), (422, "kind"), "{body}");
        }
    }

    #[test]
    fn syntax_errors_are_400() {
        assert_eq!(field_of(r#"{"email": "#).0, 400);
        assert_eq!(field_of(r#"{"email": "a", "ids": []} trailing"#).0, 400);
        // Syntax wins over content: a missing field does not hide the trailing text.
        assert_eq!(field_of(r#"{"email": "a"} trailing"#).0, 400);
        assert_eq!(field_of(r#"{"email": 5, "ids": [} "#).0, 400);
    }
}
