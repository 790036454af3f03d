//! `EmailField`: an email address as a body carries it, documented with a pattern that takes
//! every address `Email::parse` takes.

use super::text::{WHITESPACE, wire_text};
use poem_openapi::registry::MetaSchema;
use serde::Deserialize;

/// An email address as sent, not yet checked: `Email::parse` trims it, lower-cases it and names
/// the field when it refuses. The pattern is what `Email::parse` takes, never less: whitespace
/// around, dot-separated atoms (any number, each at most 64) before the `@`, two or more domain labels of 1 to 63
/// letters, digits and inner hyphens. The lengths it cannot count across atoms (254 in all, 64
/// before the `@`, after trimming) are said in the field's description instead.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct EmailField(pub String);

/// An atom before the `@` (RFC 5322 `atext`): at most 64, as the whole part before the `@` is.
const ATOM: &str = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}";
/// One domain label.
const LABEL: &str = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

wire_text!(EmailField, "string_email", || MetaSchema {
    pattern: Some(format!(
        r"^{WHITESPACE}*{ATOM}(\.{ATOM})*@{LABEL}(\.{LABEL})+{WHITESPACE}*$"
    )),
    example: Some("ada@example.com".into()),
    ..MetaSchema::new("string")
});
