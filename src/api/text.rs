//! Strings the wire carries as sent, for a domain type to check later, each documented with its
//! own schema: [`wire_text!`] writes what poem-openapi asks of such a type, once. [`WHITESPACE`]
//! is what the domain's `trim()` takes off, for the patterns of values sent with spaces around.

/// A pattern class of what `str::trim` removes (Unicode `White_Space`), written so ECMA-262 (the
/// document's pattern dialect) and the `regex` crate read it alike: a documented pattern that
/// allows these around a value never refuses one the server trims and takes.
pub const WHITESPACE: &str = r"[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

/// `wire_text!(DateText, "string_date", || schema)`: `DateText(pub String)` becomes a string
/// parameter or field documented with that inline schema, read and written as the plain string.
macro_rules! wire_text {
    ($ty:ident, $name:literal, $schema:expr) => {
        impl poem_openapi::types::Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                poem_openapi::registry::MetaSchemaRef::Inline(Box::new($schema()))
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl poem_openapi::types::ToJSON for $ty {
            fn to_json(&self) -> Option<serde_json::Value> {
                Some(serde_json::Value::String(self.0.clone()))
            }
        }

        impl poem_openapi::types::ParseFromJSON for $ty {
            fn parse_from_json(
                value: Option<serde_json::Value>,
            ) -> poem_openapi::types::ParseResult<Self> {
                <String as poem_openapi::types::ParseFromJSON>::parse_from_json(value)
                    .map($ty)
                    .map_err(poem_openapi::types::ParseError::propagate)
            }
        }
    };
}
pub(crate) use wire_text;
