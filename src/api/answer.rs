//! `JsonAnswer`: a JSON answer written straight into bytes by the type itself ([`WriteJson`]).
//!
//! poem-openapi's `Json` first builds a `serde_json::Value` tree (an `IndexMap` per object,
//! every string copied), then serializes and drops it: for a list page of 20 tasks that was 310k
//! of the 815k instructions of the whole request (`bench/instructions.sh`); serde's derive, next,
//! still spent 60k escaping keys and plain values one byte at a time. The document is the same:
//! the schema still comes from the type's `Object` derive, and unit tests hold each type's
//! writing equal, byte for byte, to what poem-openapi writes.

use crate::domain::Timestamp;
use chrono::{DateTime, Utc};
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;

/// A value that writes itself as JSON, exactly as its `Object` derive would.
pub trait WriteJson {
    /// Appends the JSON text to `out`.
    fn write_json(&self, out: &mut Vec<u8>);

    /// The JSON text.
    fn json_text(&self) -> String {
        let mut out = Vec::with_capacity(256);
        self.write_json(&mut out);
        // Only valid UTF-8 is ever written: `str`s whole, and ASCII.
        String::from_utf8(out).unwrap_or_default()
    }
}

impl<T: WriteJson> WriteJson for Vec<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_array(out, self, |out, item| item.write_json(out));
    }
}

/// A JSON array of `items`, each written by `write`.
pub fn write_array<I>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = I>,
    mut write: impl FnMut(&mut Vec<u8>, I),
) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// Writes one JSON object's members in order.
pub struct Members<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Members<'o> {
    /// Opens the object.
    pub fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    /// The member's name (a plain identifier: nothing to escape).
    // Inlined so each member's name is a constant: its copy becomes a few stores, not a
    // call to memcpy (several per member, 180 members a page).
    #[inline(always)]
    fn key(&mut self, key: &'static str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// A whole number.
    #[inline(always)]
    pub fn int(&mut self, key: &'static str, value: i64) -> &mut Self {
        let out = self.key(key);
        if value < 0 {
            out.push(b'-');
        }
        write_digits(out, value.unsigned_abs());
        self
    }

    /// A string.
    #[inline(always)]
    pub fn str(&mut self, key: &'static str, value: &str) -> &mut Self {
        let out = self.key(key);
        write_str(out, value);
        self
    }

    /// A string that holds nothing to escape by construction (order keys, dates, cursors,
    /// fixed words), copied without looking: most of a page's strings.
    #[inline(always)]
    pub fn plain(&mut self, key: &'static str, value: &str) -> &mut Self {
        debug_assert!(needs_no_escape(value), "{value:?} needs escaping");
        let out = self.key(key);
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
        self
    }

    /// `true` or `false`.
    pub fn bool(&mut self, key: &'static str, value: bool) -> &mut Self {
        let out = self.key(key);
        out.extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// An instant, as poem-openapi writes a `DateTime` (RFC 3339, `+00:00`).
    #[inline(always)]
    pub fn instant(&mut self, key: &'static str, at: Timestamp) -> &mut Self {
        let mut buf = [0u8; 29];
        let out = self.key(key);
        out.push(b'"');
        out.extend_from_slice(at.write_rfc3339(&mut buf));
        out.push(b'"');
        self
    }

    /// An instant held as chrono's `DateTime`: as [`Members::instant`] writes it when it is one
    /// listo stores (whole milliseconds, 1970..=9999), else as chrono writes it.
    pub fn datetime(&mut self, key: &'static str, at: &DateTime<Utc>) -> &mut Self {
        match Timestamp::from_millis(at.timestamp_millis()) {
            Ok(t) if t.to_datetime() == *at => self.instant(key, t),
            _ => self.plain(key, &at.to_rfc3339()),
        }
    }

    /// Any value that writes itself.
    pub fn value(&mut self, key: &'static str, value: &impl WriteJson) -> &mut Self {
        let out = self.key(key);
        value.write_json(out);
        self
    }

    /// Closes the object.
    pub fn close(&mut self) {
        self.out.push(b'}');
    }
}

/// Whether JSON writes `value` as it is (serde_json escapes quotes, backslashes and control
/// characters, nothing else).
fn needs_no_escape(value: &str) -> bool {
    value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// The decimal digits of `n`.
fn write_digits(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
}

/// A JSON string: copied whole when nothing in it needs escaping (most text), else escaped by
/// serde_json as poem-openapi's answers are (quotes, backslashes and control characters only).
fn write_str(out: &mut Vec<u8>, value: &str) {
    if needs_no_escape(value) {
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
    }
}

/// A 200 JSON answer (or the payload of another status in a response enum).
pub struct JsonAnswer<T>(pub T);

/// What every JSON answer says it is (as poem-openapi's `Json` does).
const JSON: &str = "application/json; charset=utf-8";

impl<T: Type> Payload for JsonAnswer<T> {
    const CONTENT_TYPE: &'static str = JSON;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: WriteJson + Send> IntoResponse for JsonAnswer<T> {
    fn into_response(self) -> Response {
        // A page of 20 tasks is about 4 KiB: one allocation, no regrowing.
        let mut body = Vec::with_capacity(4096);
        self.0.write_json(&mut body);
        Response::builder().content_type(JSON).body(body)
    }
}

impl<T: Type + WriteJson + Send> ApiResponse for JsonAnswer<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: JSON,
                    schema: T::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}
