//! `DateText`: a `YYYY-MM-DD` date as the wire carries it, documented as `format: date`.
//!
//! The text is kept as sent and checked by `TaskDate::parse`, whose messages name the field;
//! chrono's own parsing would accept other spellings (`2026-3-1`) and word its errors for Rust.

use super::text::wire_text;
use poem_openapi::registry::MetaSchema;
use poem_openapi::types::ParseResult;
use serde::Deserialize;

/// A date written `YYYY-MM-DD`, not yet checked to be a real one.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct DateText(pub String);

wire_text!(DateText, "string_date", || MetaSchema {
    pattern: Some(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$".into()),
    ..MetaSchema::new_with_format("string", "date")
});

impl poem_openapi::types::ParseFromParameter for DateText {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(DateText(value.to_owned()))
    }
}
