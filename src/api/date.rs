//! `DateText`: a `YYYY-MM-DD` date as the wire carries it, documented as `format: date`.
//!
//! The text is kept as sent and checked by `TaskDate::parse`, whose messages name the field;
//! chrono's own parsing would accept other spellings (`2026-3-1`) and word its errors for Rust.

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

/// A date written `YYYY-MM-DD`, not yet checked to be a real one.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct DateText(pub String);

impl Type for DateText {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$".into()),
            ..MetaSchema::new_with_format("string", "date")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for DateText {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

impl ParseFromJSON for DateText {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        String::parse_from_json(value)
            .map(DateText)
            .map_err(ParseError::propagate)
    }
}

impl poem_openapi::types::ParseFromParameter for DateText {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(DateText(value.to_owned()))
    }
}
