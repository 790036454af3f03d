//! `JsonAnswer`: a JSON answer written straight into bytes by the type itself ([`WriteJson`]).
//!
//! poem-openapi's `Json` first builds a `serde_json::Value` tree (an `IndexMap` per object,
//! every string copied), then serializes and drops it: for a list page of 20 tasks that was 310k
//! of the 815k instructions of the whole request (`bench/instructions.sh`); serde's derive, next,
//! still spent 60k escaping keys and plain values one byte at a time. The document is the same:
//! the schema still comes from the type's `Object` derive, and unit tests hold each type's
//! writing equal, byte for byte, to what poem-openapi writes.

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
    pub fn int(&mut self, key: &'static str, value: i64) -> &mut Self {
        let out = self.key(key);
        if value < 0 {
            out.push(b'-');
        }
        write_digits(out, value.unsigned_abs());
        self
    }

    /// A string.
    pub fn str(&mut self, key: &'static str, value: &str) -> &mut Self {
        let out = self.key(key);
        write_str(out, value);
        self
    }

    /// A string that holds nothing to escape by construction (order keys, dates, cursors,
    /// fixed words), copied without looking: most of a page's strings.
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

    /// An instant, as [`format_instant`] writes it.
    pub fn instant(&mut self, key: &'static str, at: &chrono::DateTime<chrono::Utc>) -> &mut Self {
        let mut buf = [0u8; 29];
        self.plain(key, &format_instant(at, &mut buf))
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

/// An instant as poem-openapi writes one (`DateTime::to_rfc3339`: `+00:00`, and milliseconds
/// unless they are 0), built by hand: chrono's formatter cost about 900 instructions a value.
/// listo stores instants to the millisecond, so no other fraction occurs.
pub fn format_instant<'b>(
    at: &chrono::DateTime<chrono::Utc>,
    buf: &'b mut [u8; 29],
) -> std::borrow::Cow<'b, str> {
    use chrono::Timelike;
    let ms = at.timestamp_millis();
    // Years past 9999, fractions finer than a millisecond and leap seconds are not values
    // listo makes; chrono knows how to write them.
    let nanos = at.time().nanosecond();
    if !(0..=253_402_300_799_999).contains(&ms)
        || !nanos.is_multiple_of(1_000_000)
        || nanos >= 1_000_000_000
    {
        return at.to_rfc3339().into();
    }
    let (days, in_day) = (ms / 86_400_000, ms % 86_400_000);
    let (year, month, day) = civil_from_days(days);
    let secs = (in_day / 1000) as u32;
    let (hour, minute, second, millis) = (
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        (in_day % 1000) as u32,
    );
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut v = value;
        for i in (0..digits).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, hour, 2);
    put(14, minute, 2);
    put(17, second, 2);
    let len = if millis == 0 {
        19
    } else {
        put(20, millis, 3);
        buf[19] = b'.';
        23
    };
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    buf[len..len + 6].copy_from_slice(b"+00:00");
    // Only ASCII digits and separators were written.
    std::str::from_utf8(&buf[..len + 6])
        .unwrap_or_default()
        .into()
}

/// The calendar date `days` after 1970-01-01 (days ≥ 0), by Howard Hinnant's `civil_from_days`:
/// a few dozen instructions where chrono's date arithmetic took several hundred.
fn civil_from_days(days: i64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::format_instant;
    use chrono::{TimeZone, Utc};
    use rand::{RngExt, SeedableRng};

    #[test]
    fn instants_read_as_chrono_writes_them() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut cases: Vec<i64> = vec![0, 1, 999, 1_000, 1_764_063_970_017, 253_402_300_799_999];
        cases.extend((0..10_000).map(|_| rng.random_range(0..253_402_300_799_999)));
        for ms in cases {
            let at = Utc.timestamp_millis_opt(ms).unwrap();
            let mut buf = [0u8; 29];
            assert_eq!(format_instant(&at, &mut buf), at.to_rfc3339(), "{ms}");
        }
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_500))
            .unwrap()
            .and_utc();
        let mut buf = [0u8; 29];
        assert_eq!(format_instant(&leap, &mut buf), leap.to_rfc3339());
        for nanos in [1, 999_999_999, 1_500_000_000] {
            let at = Utc.timestamp_nanos(1_764_063_970_000_000_000 + nanos);
            let mut buf = [0u8; 29];
            assert_eq!(format_instant(&at, &mut buf), at.to_rfc3339(), "{nanos}");
        }
    }
}
